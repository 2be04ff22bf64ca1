import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { expandPath, findField, ManifestSyntaxError, parseManifest } from './manifest.js';

const CORPUS = '/work/shared/corpus';

function corpusFiles(dir = CORPUS): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...corpusFiles(p));
    else if (/\.(ya?ml|json)$/.test(name)) out.push(p);
  }
  return out;
}

t.test('every corpus file parses', async (t) => {
  const files = corpusFiles();
  t.ok(files.length >= 19, 'the corpus is there');
  for (const f of files) {
    const docs = parseManifest(f, readFileSync(f, 'utf8'));
    t.ok(docs.length >= 1, `${f}: ${docs.length} document(s)`);
    for (const d of docs) t.type(d.obj, 'object');
  }
});

t.test('documents, lines and kinds of the corpus files', async (t) => {
  const kinds = (f: string): string[] => parseManifest(f, readFileSync(join(CORPUS, f), 'utf8')).map((d) => `${d.obj.kind}/${d.obj.metadata?.name}@${d.line}`);
  // A comment-only first document is skipped.
  t.same(kinds('karpenter/general-purpose.yaml'), ['NodePool/general-purpose@3', 'EC2NodeClass/default@33']);
  // No trailing newline; the object starts after the comment block.
  t.same(kinds('k8s-examples/horizontal-pod-autoscaler.yaml'), ['HorizontalPodAutoscaler/gemma-server-hpa@6']);
  // KYAML flow style with trailing commas and an unquoted key with a slash.
  const [pod] = parseManifest('x', readFileSync(join(CORPUS, 'k8s-website/extended-resource-pod.yaml'), 'utf8'));
  t.same((pod!.obj.spec as { containers: { resources: unknown }[] }).containers[0]!.resources, { requests: { 'example.com/dongle': 3 }, limits: { 'example.com/dongle': 3 } });
  t.same(kinds('k8s-website/shirt-resources.yaml'), ['Shirt/example1@2', 'Shirt/example2@14', 'Shirt/example3@26']);
  t.equal(kinds('k8s-examples/guestbook-all-in-one.yaml').length, 6);
  // JSON is YAML too.
  const [task] = parseManifest('t.json', readFileSync(join(CORPUS, 'aws-ecs-task-defs/nginx_fargate.json'), 'utf8'));
  t.equal((task!.obj as unknown as { family: string }).family, 'nginx');
});

t.test('field paths resolve to their lines', async (t) => {
  const text = [
    'apiVersion: apps/v1', // 1
    'kind: Deployment', // 2
    'metadata:', // 3
    '  name: web', // 4
    '  labels:', // 5
    '    app.kubernetes.io/name: web', // 6
    'spec:', // 7
    '  replicas: -1', // 8
    '  template:', // 9
    '    spec:', // 10
    '      containers:', // 11
    '      - name: a', // 12
    '        image: nginx', // 13
    '      - name: b', // 14
    '        resources:', // 15
    '          requests:', // 16
    '            example.com/dongle: x', // 17
  ].join('\n');
  const [doc] = parseManifest('d.yaml', `---\n${text}\n`);
  t.equal(doc!.line, 2, 'the document starts after ---');
  t.equal(doc!.lineOf('spec.replicas'), 9);
  t.equal(doc!.lineOf('spec.template.spec.containers[0].image'), 14);
  t.equal(doc!.lineOf('spec.template.spec.containers[1]'), 15);
  t.equal(doc!.lineOf('spec.template.spec.containers[1].resources.requests.example.com/dongle'), 18, 'a key with dots after a dot');
  t.equal(doc!.lineOf('spec.template.spec.containers[1].resources.requests[example.com/dongle]'), 18, 'a key in brackets');
  t.equal(doc!.lineOf('metadata.labels[app.kubernetes.io/name]'), 7);
  t.equal(doc!.lineOf('spec.template.spec.containers[1].image'), undefined, 'a missing field');
  t.equal(doc!.lineOf('spec.selector'), undefined);
  const flow = parseDocument('{a: {b: [1, {c: 2}]}}');
  t.equal(findField(flow.contents!, 'a.b[1].c'), 13);
});

t.test('a kind: List contributes its items', async (t) => {
  const docs = parseManifest('l.yaml', 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n');
  t.same(
    docs.map((d) => [d.obj.metadata.name, d.line]),
    [
      ['a', 4],
      ['b', 7],
    ],
  );
  t.equal(docs[1]!.lineOf('metadata.name'), 9);
});

t.test('a syntax error names the file, line and column', async (t) => {
  t.throws(() => parseManifest('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {x: [}\n'), {
    name: 'ManifestSyntaxError',
    message: /^bad\.yaml:5:16: Flow sequence in block collection/,
    lineNo: 5,
    col: 16,
  });
  t.throws(() => parseManifest('q.yaml', 'a: "b\n'), ManifestSyntaxError);
  t.throws(() => parseManifest('i.yaml', 'a: b\n  c: d\n'), { message: /^i\.yaml:1:4: / });
});

t.test('directories: manifests in name order, recursing only with -R', async (t) => {
  const dir = t.testdir({ 'b.yaml': '', 'a.yml': '', 'c.json': '', 'notes.txt': '', sub: { 'd.yaml': '' } });
  t.same(
    expandPath(dir, false).map((p) => p.slice(dir.length + 1)),
    ['a.yml', 'b.yaml', 'c.json'],
  );
  t.same(
    expandPath(dir, true).map((p) => p.slice(dir.length + 1)),
    ['a.yml', 'b.yaml', 'c.json', 'sub/d.yaml'],
  );
  t.throws(() => expandPath(join(dir, 'nope'), false), { message: /the path ".*nope" does not exist/ });
});
