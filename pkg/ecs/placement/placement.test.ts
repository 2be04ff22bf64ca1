/**
 * ECS placement through berth's scheduler: the default profile's plugins, the per-pod cycle and
 * batch placement, with pods and nodes carrying the contract's labels and annotations. Every
 * expected placement below is worked out by hand from the ECS rules.
 */
import t from 'tap';
import { getCondition } from '../../api/meta.js';
import type { KubeObject, Node, Pod, ResourceList } from '../../api/types.js';
import { Kinds } from '../../client/client.js';
import { VirtualClock } from '../../clock/clock.js';
import { Scheduler } from '../../scheduler/scheduler.js';
import { eventually, startTestApi } from '../../testing/index.js';
import { placeBatch } from '../../scheduler/framework/batch.js';
import { ClusterState } from '../../scheduler/framework/cluster.js';
import { schedulePod } from '../../scheduler/framework/cycle.js';
import { Framework } from '../../scheduler/framework/framework.js';
import { defaultProfile, inTreeRegistry } from '../../scheduler/plugins/registry.js';
import { makeNode, makePod } from '../../testing/builders.js';
import { CLUSTER_LABEL, ecsAttributes, ecsInstanceId, GROUP_KEY, PLACEMENT_CONSTRAINTS_ANNOTATION, PLACEMENT_STRATEGY_ANNOTATION } from './attributes.js';
import { EcsPlacement } from './plugin.js';

const GiB = 2 ** 30;
const CLUSTER = 'prod';

interface NodeSpec {
  name: string;
  id: string;
  zone?: string;
  type?: string;
  cpu?: string;
  memory: string;
}

function ecsNode(n: NodeSpec): Node {
  const node = makeNode(n.name)
    .capacity({ cpu: n.cpu ?? '4', memory: n.memory })
    .label(CLUSTER_LABEL, CLUSTER)
    .label('topology.kubernetes.io/zone', n.zone ?? 'us-east-1a')
    .label('node.kubernetes.io/instance-type', n.type ?? 'm5.xlarge')
    .label('kubernetes.io/arch', 'amd64')
    .label('kubernetes.io/os', 'linux')
    .obj();
  node.spec.providerID = `aws:///${n.zone ?? 'us-east-1a'}/${n.id}`;
  return node;
}

let taskSeq = 0;
/** A task's Pod as pkg/ecs makes it (ECS-CONTRACT.md). */
function task(group: string, req: ResourceList, strategy?: unknown[], constraints?: unknown[], name = `task-${++taskSeq}`): Pod {
  const pod = makePod(name)
    .req(req)
    .label(CLUSTER_LABEL, CLUSTER)
    .label('ecs.berth.dev/task-id', `${taskSeq.toString(16).padStart(32, '0')}`)
    .label(GROUP_KEY, group.replace(/[^A-Za-z0-9_.-]/g, '.'))
    .nodeSelector({ [CLUSTER_LABEL]: CLUSTER })
    .obj();
  pod.metadata.uid = `uid-${name}`;
  pod.metadata.annotations = { [GROUP_KEY]: group };
  if (strategy) pod.metadata.annotations[PLACEMENT_STRATEGY_ANNOTATION] = JSON.stringify(strategy);
  if (constraints) pod.metadata.annotations[PLACEMENT_CONSTRAINTS_ANNOTATION] = JSON.stringify(constraints);
  return pod;
}

/** A cluster state with `nodes`, `existing` pods counted on named nodes, and the default profile. */
function setup(nodes: Node[], existing: [string, Pod][] = []) {
  const cluster = new ClusterState();
  for (const n of nodes) cluster.setNode(n);
  for (const [node, pod] of existing) cluster.addPods(cluster.classes.ref(pod), cluster.indexOf(node), 1);
  const fw = new Framework(defaultProfile(), inTreeRegistry());
  return {
    cluster,
    fw,
    /** The per-pod cycle, one pod after another; returns each pod's node (or the failure message). */
    cycle(pods: Pod[]): string[] {
      return pods.map((p) => {
        const cls = cluster.classes.ref(p);
        const r = schedulePod(fw, cls, cluster);
        if (r.node === undefined) return `unschedulable: ${r.failure!.message}`;
        cluster.addPods(cls, r.node, 1);
        return r.nodeName!;
      });
    },
    /** Batch placement of all `pods` at once; returns each pod's node ('' when left unplaced). */
    batch(pods: Pod[]): string[] {
      const session = cluster.beginSession();
      const items = pods.map((p) => ({ pod: cluster.classes.ref(p), count: 1 }));
      const out = pods.map(() => '');
      try {
        placeBatch(fw, cluster, session, items, {
          place(item, node, k) {
            cluster.addPods(items[item]!.pod, node, k);
            out[item] = cluster.names[node]!;
          },
        });
      } finally {
        cluster.endSession();
      }
      return out;
    },
  };
}

const tally = (names: string[]): Record<string, number> => names.reduce<Record<string, number>>((m, n) => ((m[n] = (m[n] ?? 0) + 1), m), {});

t.test('ecsAttributes and ecsInstanceId read the contract labels', async (t) => {
  const n = ecsNode({ name: 'ip-10-0-1-5', id: 'i-0abc', zone: 'us-east-1b', type: 't3.large', memory: '8Gi' });
  n.metadata.labels!['attribute.ecs.berth.dev/stack'] = 'prod';
  n.metadata.annotations = { 'ecs.berth.dev/ami-id': 'ami-1234abcd' };
  t.same(ecsAttributes(n), {
    'ecs.instance-type': 't3.large',
    'ecs.availability-zone': 'us-east-1b',
    'ecs.cpu-architecture': 'x86_64',
    'ecs.os-type': 'linux',
    'ecs.ami-id': 'ami-1234abcd',
    stack: 'prod',
  });
  t.equal(ecsInstanceId(n), 'i-0abc');
  t.equal(ecsInstanceId(makeNode('x').obj()), undefined);
});

// Four instances of the cluster; remaining memory worked out by hand:
//   a: 16 GiB, empty → 16 · b: 8 GiB with 3 GiB used → 5 · c: 4 GiB, empty → 4 · d: 8 GiB with 6 GiB used → 2.
// binpack(memory) puts each 1 GiB task on the instance with the least remaining memory that still
// fits: d, d (2 → 0), then c ×4 (4 → 0), then b ×4 (5 → 1). a stays empty.
// (berth's own MostAllocated would have filled b, 37.5 % used, before c, 0 % used: 5 on b, 3 on c.)
const BINPACK_NODES = (): Node[] => [
  ecsNode({ name: 'a', id: 'i-000a', memory: '16Gi' }),
  ecsNode({ name: 'b', id: 'i-000b', memory: '8Gi' }),
  ecsNode({ name: 'c', id: 'i-000c', memory: '4Gi' }),
  ecsNode({ name: 'd', id: 'i-000d', memory: '8Gi' }),
];
const BINPACK_EXISTING = (): [string, Pod][] => [
  ['b', makePod('other-b').req({ cpu: '100m', memory: '3Gi' }).obj()],
  ['d', makePod('other-d').req({ cpu: '100m', memory: '6Gi' }).obj()],
];
const BINPACK_ORDER = ['d', 'd', 'c', 'c', 'c', 'c', 'b', 'b', 'b', 'b'];

t.test('a service of 10 tasks with binpack on memory fills instances in the order AWS would (per-pod cycle)', async (t) => {
  const s = setup(BINPACK_NODES(), BINPACK_EXISTING());
  const pods = Array.from({ length: 10 }, () => task('service:web', { cpu: '100m', memory: '1Gi' }, [{ type: 'binpack', field: 'memory' }]));
  t.same(s.cycle(pods), BINPACK_ORDER);
});

t.test('the same service placed as one batch gives the same placement', async (t) => {
  const s = setup(BINPACK_NODES(), BINPACK_EXISTING());
  // A large plain pod in the same batch goes first (largest first) and must not disturb ECS's order: 9 GiB fits only on a.
  const big = makePod('big').req({ cpu: '100m', memory: '9Gi' }).obj();
  const pods = Array.from({ length: 10 }, () => task('service:web', { cpu: '100m', memory: '1Gi' }, [{ type: 'binpack', field: 'memory' }]));
  const out = s.batch([big, ...pods]);
  t.equal(out[0], 'a');
  t.same(out.slice(1).sort(), [...BINPACK_ORDER].sort(), 'every task placed');
  t.same(tally(out.slice(1)), { d: 2, c: 4, b: 4 });
  // Without the strategy, berth's own packing (MostAllocated, first fit) places them otherwise: the strategy is what decided.
  const plain = setup(BINPACK_NODES(), BINPACK_EXISTING());
  t.notSame(tally(plain.batch(Array.from({ length: 10 }, () => task('service:web', { cpu: '100m', memory: '1Gi' }))).filter(Boolean)), { d: 2, c: 4, b: 4 });
  const plainCycle = setup(BINPACK_NODES(), BINPACK_EXISTING());
  t.same(tally(plainCycle.cycle(Array.from({ length: 10 }, () => task('service:web', { cpu: '100m', memory: '1Gi' })))), { d: 2, b: 5, c: 3 }, 'MostAllocated fills b (37.5 % used) before c (empty)');
});

t.test('binpack on cpu: the least remaining cpu that still fits', async (t) => {
  // x: 4 cpu with 3.5 used → 0.5 left (too little for 1 cpu); y: 2 cpu empty → 2; z: 4 cpu with 1 used → 3.
  const s = setup(
    [ecsNode({ name: 'x', id: 'i-1', cpu: '4', memory: '16Gi' }), ecsNode({ name: 'y', id: 'i-2', cpu: '2', memory: '16Gi' }), ecsNode({ name: 'z', id: 'i-3', cpu: '4', memory: '16Gi' })],
    [
      ['x', makePod('ox').req({ cpu: '3500m', memory: '1Gi' }).obj()],
      ['z', makePod('oz').req({ cpu: '1', memory: '1Gi' }).obj()],
    ],
  );
  const pods = Array.from({ length: 5 }, () => task('family:batch', { cpu: '1', memory: '256Mi' }, [{ type: 'binpack', field: 'cpu' }]));
  // y (2 → 1 → 0), then z (3 → 2 → 1 → 0).
  t.same(s.cycle(pods), ['y', 'y', 'z', 'z', 'z']);
});

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const zoneNodes = (): Node[] => ZONES.flatMap((z, k) => [ecsNode({ name: `n${k}a`, id: `i-${k}a`, zone: z, memory: '16Gi' }), ecsNode({ name: `n${k}b`, id: `i-${k}b`, zone: z, memory: '16Gi' })]);
const zoneOf = (node: string): string => ZONES[Number(node[1])]!;

t.test('spread on availability zone balances the group across three zones', async (t) => {
  // One task of the service already runs in us-east-1a; another service's tasks do not count.
  const s = setup(zoneNodes(), [
    ['n0a', task('service:web', { cpu: '100m', memory: '256Mi' })],
    ['n1a', task('service:other', { cpu: '100m', memory: '256Mi' })],
    ['n1a', task('service:other', { cpu: '100m', memory: '256Mi' })],
  ]);
  const spread = [{ type: 'spread', field: 'attribute:ecs.availability-zone' }];
  const out = s.batch(Array.from({ length: 8 }, () => task('service:web', { cpu: '100m', memory: '256Mi' }, spread)));
  // 1 + 8 = 9 tasks: three per zone, so 2 new ones in us-east-1a and 3 in each other zone.
  t.same(tally(out.map(zoneOf)), { 'us-east-1a': 2, 'us-east-1b': 3, 'us-east-1c': 3 });
  // The first goes to a zone with none: us-east-1b (its tie with 1c is broken by the other scores, then node name).
  t.equal(zoneOf(out[0]!), 'us-east-1b');
});

t.test('spread on a custom attribute (attribute.ecs.berth.dev/<name> labels), nodes without it counting as one more value', async (t) => {
  const nodes = ['r1a', 'r1b', 'r2a', 'none'].map((n) => {
    const node = ecsNode({ name: n, id: `i-${n}`, memory: '16Gi' });
    if (n !== 'none') node.metadata.labels!['attribute.ecs.berth.dev/rack'] = n.slice(0, 2);
    return node;
  });
  const s = setup(nodes);
  const out = s.cycle(Array.from({ length: 6 }, () => task('service:r', { cpu: '100m', memory: '256Mi' }, [{ type: 'spread', field: 'attribute:rack' }])));
  const rack = (n: string): string => (n === 'none' ? '(none)' : n.slice(0, 2));
  t.same(tally(out.map(rack)), { r1: 2, r2: 2, '(none)': 2 }, 'three values, two tasks each');
});

t.test('spread on instanceId: one task per instance before any gets a second', async (t) => {
  const s = setup(zoneNodes());
  const out = s.cycle(Array.from({ length: 9 }, () => task('service:api', { cpu: '100m', memory: '256Mi' }, [{ type: 'spread', field: 'instanceId' }])));
  t.same(Object.values(tally(out.slice(0, 6))), [1, 1, 1, 1, 1, 1]);
  t.same(Object.values(tally(out)).sort(), [1, 1, 1, 2, 2, 2]);
});

t.test('spread(zone) then binpack(memory): zones balanced, and within a zone the fullest instance first', async (t) => {
  // Two zones; remaining memory by hand: p (1a) 8 GiB, q (1a) 3 GiB; r (1b) 6 GiB, u (1b) 16 GiB.
  const nodes = [
    ecsNode({ name: 'p', id: 'i-p', zone: 'us-east-1a', memory: '8Gi' }),
    ecsNode({ name: 'q', id: 'i-q', zone: 'us-east-1a', memory: '8Gi' }),
    ecsNode({ name: 'r', id: 'i-r', zone: 'us-east-1b', memory: '8Gi' }),
    ecsNode({ name: 'u', id: 'i-u', zone: 'us-east-1b', memory: '16Gi' }),
  ];
  const s = setup(nodes, [
    ['q', makePod('oq').req({ cpu: '100m', memory: '5Gi' }).obj()],
    ['r', makePod('or').req({ cpu: '100m', memory: '2Gi' }).obj()],
  ]);
  const strategy = [
    { type: 'spread', field: 'attribute:ecs.availability-zone' },
    { type: 'binpack', field: 'memory' },
  ];
  const out = s.cycle(Array.from({ length: 8 }, () => task('service:web', { cpu: '100m', memory: '2Gi' }, strategy)));
  // 1: both zones 0 → binpack over all: q (3) → q.  2: 1b has 0 → r (6) before u (16) → r.
  // 3: tie 1/1 → q has 1 left (too little), p 8, r 4, u 16 → r (4).  4: 1a has 1 → p (8) → p.
  // 5: tie 2/2 → r 2, p 6, u 16 → r.  6: 1a → p (6) → p.  7: tie 3/3 → p 4, u 16 → p.  8: 1b (3 vs 4) → u (r is full).
  t.same(out, ['q', 'r', 'r', 'p', 'r', 'p', 'p', 'u']);
});

t.test('distinctInstance never puts two tasks of one group on an instance', async (t) => {
  const nodes = [ecsNode({ name: 'a', id: 'i-a', memory: '16Gi' }), ecsNode({ name: 'b', id: 'i-b', memory: '16Gi' }), ecsNode({ name: 'c', id: 'i-c', memory: '16Gi' })];
  const s = setup(nodes, [['b', task('service:other', { cpu: '100m', memory: '256Mi' })]]);
  const distinct = [{ type: 'distinctInstance' }];
  const out = s.batch(Array.from({ length: 5 }, () => task('service:db', { cpu: '100m', memory: '256Mi' }, undefined, distinct)));
  const placed = out.filter(Boolean);
  t.equal(placed.length, 3, 'three instances, three tasks');
  t.same(placed.sort(), ['a', 'b', 'c'], 'one per instance (another group on b does not count)');
  // The next one fits nowhere, and the message says why, like any other filter.
  const [again] = s.cycle([task('service:db', { cpu: '100m', memory: '256Mi' }, undefined, distinct)]);
  t.equal(again, "unschedulable: 0/3 nodes are available: 3 node(s) didn't match ECS distinctInstance constraint.");
  // A task of another group still goes anywhere.
  t.notMatch(s.cycle([task('service:other2', { cpu: '100m', memory: '256Mi' }, undefined, distinct)])[0]!, /unschedulable/);
});

t.test('memberOf filters by instance type, and its failure reads like other filters', async (t) => {
  const nodes = [
    ...['t1', 't2', 't3'].map((n, k) => ecsNode({ name: n, id: `i-t${k}`, type: 't3.medium', memory: '4Gi' })),
    ...['m1', 'm2', 'm3'].map((n, k) => ecsNode({ name: n, id: `i-m${k}`, type: 'm5.large', memory: '8Gi' })),
  ];
  const s = setup(nodes);
  const member = [{ type: 'memberOf', expression: 'attribute:ecs.instance-type =~ t3.*' }];
  const out = s.batch(Array.from({ length: 6 }, () => task('service:web', { cpu: '100m', memory: '1Gi' }, [{ type: 'spread', field: 'instanceId' }], member)));
  t.same(tally(out), { t1: 2, t2: 2, t3: 2 });
  const [big] = s.cycle([task('service:web', { cpu: '100m', memory: '3Gi' }, undefined, member)]);
  t.equal(big, 'unschedulable: 0/6 nodes are available: 3 Insufficient memory, 3 node(s) didn\'t match ECS memberOf constraint "attribute:ecs.instance-type =~ t3.*".');
  const inZones = s.cycle([task('service:x', { cpu: '100m', memory: '1Gi' }, undefined, [{ type: 'memberOf', expression: 'attribute:ecs.instance-type in [m5.large, m5.xlarge] and not(task:group == service:web)' }])]);
  t.match(inZones[0]!, /^m[123]$/, 'an instance type list with task anti-affinity');
  const affinity = s.cycle([task('service:y', { cpu: '100m', memory: '256Mi' }, undefined, [{ type: 'memberOf', expression: 'task:group == service:web' }])]);
  t.match(affinity[0]!, /^t[123]$/, 'task affinity: only instances running service:web');
});

t.test('a malformed constraint rejects the pod with the annotation and position named', async (t) => {
  const s = setup([ecsNode({ name: 'a', id: 'i-a', memory: '4Gi' })]);
  const [r] = s.cycle([task('service:web', { cpu: '100m' }, undefined, [{ type: 'memberOf', expression: 'attribute:ecs.instance-type ~= t3.*' }])]);
  t.equal(
    r,
    'unschedulable: 0/1 nodes are available: invalid ECS placement: annotation ecs.berth.dev/placement-constraints[0].expression: invalid cluster query expression "attribute:ecs.instance-type ~= t3.*": unknown operator "~" after "attribute:ecs.instance-type" at position 28.',
  );
  const [r2] = s.cycle([task('service:web', { cpu: '100m' }, [{ type: 'binpack', field: 'disk' }])]);
  t.match(r2, /placement-strategy\[0\]\.field: binpack takes "cpu" or "memory", got "disk"/);
});

t.test('random is valid and roughly uniform', async (t) => {
  const nodes = ['a', 'b', 'c', 'd'].map((n) => ecsNode({ name: n, id: `i-${n}`, memory: '64Gi', cpu: '64' }));
  const s = setup(nodes, [['a', makePod('busy').req({ cpu: '32', memory: '32Gi' }).obj()]]);
  const out = s.cycle(Array.from({ length: 400 }, () => task('family:r', { cpu: '10m', memory: '16Mi' }, [{ type: 'random' }])));
  const counts = tally(out);
  t.same(Object.keys(counts).sort(), ['a', 'b', 'c', 'd'], 'every instance used (the fuller one too: no packing preference)');
  for (const [n, k] of Object.entries(counts)) t.ok(k >= 60 && k <= 140, `${n}: ${k} of 400 tasks (expected about 100)`);
  // Random still honours the filters: a task too big for a, b and c (after the others) goes only where it fits.
  const [big] = s.cycle([task('family:r', { cpu: '100m', memory: '62Gi' }, [{ type: 'random' }])]);
  t.not(big, 'a');
  t.notMatch(big!, /unschedulable/);
});

t.test('pods without ECS annotations are untouched: no filter, no score, batch packing as before', async (t) => {
  const s = setup(BINPACK_NODES());
  const plain = s.cluster.classes.intern(makePod('plain').req({ cpu: '1' }).obj());
  const session = s.cluster.beginSession();
  t.notOk(s.fw.compile(plain, s.cluster, session).filters.some((f) => f.plugin === EcsPlacement.name));
  s.cluster.endSession();
  t.ok(s.fw.packsByResourcesAlone(plain, s.cluster), 'batch placement still packs it by resources alone');
  t.ok(new EcsPlacement().neutral(plain));
  const ecs = s.cluster.classes.intern(task('service:web', { cpu: '1' }, [{ type: 'binpack', field: 'memory' }]));
  t.notOk(s.fw.packsByResourcesAlone(ecs, s.cluster), 'an ECS pod with a strategy is placed by the full cycle');
});

t.test('through the running scheduler: a batch of 10 tasks binpacked on memory, and a memberOf failure in the pod condition', async (t) => {
  const clock = new VirtualClock();
  const api = await startTestApi({ clock });
  // Every pending pod goes through batch placement (threshold 2).
  const scheduler = new Scheduler(api.mgr, { batchThreshold: 2 });
  api.mgr.add(scheduler);
  const { client } = api;
  const create = (o: Pod | Node) => {
    const { uid: _uid, ...metadata } = o.metadata;
    return client.create({ ...o, metadata } as KubeObject);
  };
  for (const n of BINPACK_NODES()) await create(n);
  for (const [node, p] of BINPACK_EXISTING()) await create({ ...p, spec: { ...p.spec, nodeName: node } });
  const names = Array.from({ length: 10 }, (_, k) => `web-${k}`);
  await Promise.all(names.map((n) => create(task('service:web', { cpu: '100m', memory: '1Gi' }, [{ type: 'binpack', field: 'memory' }], undefined, n))));
  // Started after the pods exist, so they are all pending at once.
  await api.start();
  t.teardown(() => api.stop());
  const nodes = await eventually(
    async () => {
      const pods = await Promise.all(names.map((n) => client.get<Pod>(Kinds.Pod, n, 'default')));
      return pods.every((p) => p.spec.nodeName) ? pods.map((p) => p.spec.nodeName!) : undefined;
    },
    'all ten bound',
    20_000,
    clock,
  );
  t.same(tally(nodes), { d: 2, c: 4, b: 4 }, 'the order AWS would fill them in: d, then c, then b');
  t.ok(scheduler.stats().batches >= 1, 'placed as a batch');
  await create(task('service:web', { cpu: '100m', memory: '1Gi' }, undefined, [{ type: 'memberOf', expression: 'attribute:ecs.instance-type == t3.micro' }], 'nowhere'));
  const cond = await eventually(async () => getCondition((await client.get<Pod>(Kinds.Pod, 'nowhere', 'default')).status?.conditions, 'PodScheduled'), 'PodScheduled', 20_000, clock);
  t.equal(cond.reason, 'Unschedulable');
  t.match(cond.message, /^0\/4 nodes are available: 4 node\(s\) didn't match ECS memberOf constraint "attribute:ecs.instance-type == t3.micro"\./);
});
