/**
 * Strategic merge patch as kube-apiserver applies it
 * (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md):
 * lists merged by their patch merge keys, and each directive kubectl sends — `$setElementOrder`,
 * `$patch: delete|replace` (on maps and on list elements), `$retainKeys` and
 * `$deleteFromPrimitiveList` — plus the errors for malformed patches; JSON merge patch and JSON
 * Patch for comparison.
 */
import t from 'tap';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, threeWayMergePatch } from './patch.js';

/** A Deployment-shaped object with every kind of list the directives act on. */
const deployment = () => ({
  metadata: { name: 'web', labels: { app: 'web', tier: 'front' }, finalizers: ['a.example.com/x', 'b.example.com/y'] },
  spec: {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      spec: {
        containers: [
          { name: 'web', image: 'nginx:1.27', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80, protocol: 'TCP' }] },
          { name: 'sidecar', image: 'envoy:1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
        tolerations: [{ key: 'k', operator: 'Exists' }],
      },
    },
  },
});

type D = ReturnType<typeof deployment>;
const smp = (patch: unknown): D => applyStrategicMergePatch(deployment(), patch) as D;
const containers = (d: D) => d.spec.template.spec.containers;

t.test('lists merge by their patch merge key; lists without one are replaced; null deletes a field', async (t) => {
  const d = smp({ spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.28', env: [{ name: 'C', value: '3' }] }], tolerations: [{ key: 'other', operator: 'Exists' }] } } }, metadata: { labels: { tier: null } } });
  t.same(containers(d).map((c) => `${c.name}=${c.image}`), ['web=nginx:1.28', 'sidecar=envoy:1'], 'containers merge on name');
  t.same(containers(d)[0]!.env!.map((e) => e.name), ['C', 'A', 'B'], 'env merges on name; a new item not in the original goes first (apimachinery mergeSortedSlice)');
  t.same(containers(d)[0]!.ports, [{ containerPort: 80, protocol: 'TCP' }], 'fields the patch leaves out stay');
  t.same(d.spec.template.spec.tolerations, [{ key: 'other', operator: 'Exists' }], 'tolerations have no merge key: replaced');
  t.same(d.metadata.labels, { app: 'web' }, 'null deletes the label');
  const svc = applyStrategicMergePatch({ spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'https', port: 443 }] } }, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }) as { spec: { ports: object[] } };
  t.same(svc.spec.ports, [{ name: 'http', port: 80, targetPort: 9090 }, { name: 'https', port: 443 }], "a Service's ports merge on port");
  t.same(smp({ metadata: { finalizers: ['c.example.com/z', 'a.example.com/x'] } }).metadata.finalizers, ['c.example.com/z', 'a.example.com/x', 'b.example.com/y'], 'finalizers merge as a set, in the patch order');
  const sa = applyStrategicMergePatch({ secrets: [{ name: 'a' }, { name: 'b' }] }, { secrets: [{ name: 'c' }] }) as { secrets: { name: string }[] };
  t.same(sa.secrets.map((x) => x.name).sort(), ['a', 'b', 'c'], "a ServiceAccount's secrets merge on name");
  const wh = applyStrategicMergePatch({ webhooks: [{ name: 'v.example.com', timeoutSeconds: 10, sideEffects: 'None' }] }, { webhooks: [{ name: 'v.example.com', timeoutSeconds: 5 }] }) as { webhooks: object[] };
  t.same(wh.webhooks, [{ name: 'v.example.com', timeoutSeconds: 5, sideEffects: 'None' }], "a webhook configuration's webhooks merge on name");
});

// The ordering cases of apimachinery's pkg/util/strategicpatch/patch_test.go
// (customStrategicMergePatchTestCaseData, "preserve the order from the patch …").
t.test('the merged list keeps the patch order, server-only items interleaved by their original place', async (t) => {
  const merge = (original: unknown[], patch: unknown[]) => (applyStrategicMergePatch({ spec: { containers: original } }, { spec: { containers: patch } }) as { spec: { containers: unknown[] } }).spec.containers;
  t.same(merge([{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }], [{ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', other: 'x' }]), [{ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', value: 'b', other: 'x' }]);
  t.same(merge([{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }], [{ name: '3', value: 'c' }, { name: '1', value: 'a' }]), [{ name: '2', value: 'b' }, { name: '3', value: 'c' }, { name: '1', value: 'a' }]);
  const ints = (original: string[], patch: string[]) => (applyStrategicMergePatch({ metadata: { finalizers: original } }, { metadata: { finalizers: patch } }) as { metadata: { finalizers: string[] } }).metadata.finalizers;
  t.same(ints(['1', '2', '3'], ['3', '1', '2']), ['3', '1', '2']);
  t.same(ints(['1', '2', '3'], ['3', '1']), ['2', '3', '1']);
  t.same(ints(['1', '2'], ['2', '3']), ['1', '2', '3'], 'unique values when merging');
  t.same(merge([{ name: '1' }, { name: '1' }, { name: '2', value: 'a' }, { name: '3' }, { name: '3' }], [{ name: '1', $patch: 'delete' }, { name: '3', $patch: 'delete' }]), [{ name: '2', value: 'a' }], 'a delete removes duplicate entries too');
  // "$setElementOrder contains item that is not present in the list to be merged"
  const ordered = applyStrategicMergePatch({ spec: { containers: [{ name: '1' }, { name: '3' }] } }, { spec: { '$setElementOrder/containers': [{ name: '3' }, { name: '2' }, { name: '1' }], containers: [{ name: '3', value: '3' }, { name: '1', value: '1' }] } });
  t.same(ordered, { spec: { containers: [{ name: '3', value: '3' }, { name: '1', value: '1' }] } });
});

t.test('$setElementOrder orders the merged list; server-only items keep their place', async (t) => {
  const d = smp({ spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'web' }], containers: [{ name: 'web', image: 'nginx:1.29' }] } } } });
  t.same(containers(d).map((c) => `${c.name}=${c.image}`), ['sidecar=envoy:1', 'web=nginx:1.29']);
  t.notOk(JSON.stringify(d).includes('$setElementOrder'), 'the directive is not stored');
  const added = smp({ spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'init' }, { name: 'web' }], containers: [{ name: 'init', image: 'busybox' }] } } } });
  t.same(containers(added).map((c) => c.name), ['init', 'web', 'sidecar'], 'a new item goes where the order puts it; sidecar (not named) stays after web');
  const env = smp({ spec: { template: { spec: { containers: [{ name: 'web', '$setElementOrder/env': [{ name: 'B' }, { name: 'A' }] }] } } } });
  t.same(containers(env)[0]!.env!.map((e) => e.name), ['B', 'A'], 'nested lists too');
});

t.test('$patch: delete removes a list element or a map; $patch: replace replaces a list or a map', async (t) => {
  t.same(containers(smp({ spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } })).map((c) => c.name), ['web'], 'element deleted by merge key');
  t.same(containers(smp({ spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'A', $patch: 'delete' }] }] } } } }))[0]!.env, [{ name: 'B', value: '2' }], 'nested element deleted');
  t.same(containers(smp({ spec: { template: { spec: { containers: [{ name: 'missing', $patch: 'delete' }] } } } })).length, 2, 'deleting an absent element is a no-op');
  t.same(containers(smp({ spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } } } })), [{ name: 'only', image: 'x' }], 'the list replaced, directive dropped');
  const st = smp({ spec: { strategy: { $patch: 'delete' } } });
  t.notOk('strategy' in st.spec, 'a map deleted');
  t.same(smp({ metadata: { labels: { $patch: 'replace', owner: 'me' } } }).metadata.labels, { owner: 'me' }, 'a map replaced');
  t.throws(() => smp({ spec: { strategy: { $patch: 'bogus' } } }), { code: 400, message: /Unknown patch type: bogus/ });
});

t.test('$retainKeys clears the fields it does not name (kubectl apply switching to Recreate)', async (t) => {
  // What kubectl apply sends when the manifest changes strategy.type from RollingUpdate to Recreate.
  const d = smp({ spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } });
  t.same(d.spec.strategy, { type: 'Recreate' });
  const kept = smp({ spec: { strategy: { $retainKeys: ['type', 'rollingUpdate'], type: 'RollingUpdate' } } });
  t.same(kept.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, 'named fields stay');
  t.throws(() => smp({ spec: { strategy: { $retainKeys: 'type' } } }), { code: 400 });
});

t.test('$deleteFromPrimitiveList removes values from a list of primitives', async (t) => {
  t.same(smp({ metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example.com/x'] } }).metadata.finalizers, ['b.example.com/y']);
  t.same(smp({ metadata: { '$deleteFromPrimitiveList/finalizers': ['nope'] } }).metadata.finalizers, ['a.example.com/x', 'b.example.com/y'], 'absent values are ignored');
  t.throws(() => smp({ metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }), { code: 400 });
});

t.test('malformed patches are refused with the reason', async (t) => {
  t.throws(() => smp({ spec: { template: { spec: { containers: [{ image: 'x' }] } } } }), { code: 400, message: /does not contain declared merge key: name/ });
  t.throws(() => applyStrategicMergePatch({}, [1, 2]), { code: 400, message: /must be a JSON object/ });
  t.throws(() => smp({ spec: { template: { spec: { '$setElementOrder/containers': { name: 'web' } } } } }), { code: 400, message: /must be a list/ });
});

t.test('merge patch replaces lists; JSON Patch applies operations; three-way patch deletes what was dropped', async (t) => {
  const m = applyMergePatch(deployment(), { spec: { template: { spec: { containers: [{ name: 'web', image: 'x' }] } } } }) as D;
  t.same(containers(m), [{ name: 'web', image: 'x' }], 'merge patch replaces the whole list');
  const j = applyJsonPatch(deployment(), [{ op: 'replace', path: '/spec/template/spec/containers/1/image', value: 'envoy:2' }]);
  t.equal(containers(j)[1]!.image, 'envoy:2');
  t.throws(() => applyJsonPatch(deployment(), [{ op: 'test', path: '/metadata/name', value: 'other' }]), { code: 400, message: /testing value \/metadata\/name failed/ });
  t.same(threeWayMergePatch({ data: { a: '1', b: '2' } }, { data: { a: '1' } }, { data: { a: '1', b: '2', c: '3' } }), { data: { b: null } }, 'b was applied before and is gone; c belongs to someone else');
});
