import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.js';
import { runCli } from '../cli/program.js';
import type { IO } from '../cli/types.js';
import { RealClock } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import { renderKubeconfig } from '../client/kubeconfig.js';
import type { AutoScalingGroup } from '../cloud/types.js';
import { createControlPlane } from '../controlplane/index.js';
import { eventually } from '../testing/api.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import { ClusterConfigKind } from './eksctl.js';
import { NodegroupKind, type Nodegroup } from './nodegroup.js';
import { EksKinds, type FargateProfile } from './types.js';

// The eks component and the garbage collector only: the groups are checked as objects (the cloud's
// Auto Scaling controller, which launches their instances, has its own tests).
const cp = await createControlPlane({ backend: new MemoryBackend(), clock: new RealClock(), components: ['eks', 'controllers'] });
const app = cp.api.http();
const url = await app.listen({ port: 0, host: '127.0.0.1' });
await cp.start();
const dir = mkdtempSync(join(tmpdir(), 'berth-eksctl-'));
writeFileSync(join(dir, 'kubeconfig'), renderKubeconfig(url));
t.teardown(async () => {
  await app.close();
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function berth(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: IO = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stdin: async () => '', env: { KUBECONFIG: join(dir, 'kubeconfig'), HOME: dir }, now: () => Date.now() };
  return { code: await runCli(argv, io), stdout, stderr };
}

const asg = (name: string) => cp.client.tryGet<AutoScalingGroup>(Kinds.AutoScalingGroup, name);
/** The Auto Scaling group behind a managed node group (`eks-<nodegroup>-<uuid>`). */
const mngAsg = async (nodegroup: string) => (await cp.client.list<AutoScalingGroup>(Kinds.AutoScalingGroup, { labelSelector: `eks.berth.dev/nodegroup=${nodegroup}` })).items[0];

t.test('the corpus eksctl file creates its managed node groups as EKS Nodegroups, each backed by an Auto Scaling group', async (t) => {
  const r = await berth(['apply', '-f', '/work/shared/corpus/eksctl/15-managed-nodes.yaml']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /clusterconfig.eksctl.io\/cluster-15 created/);
  const ng = await eventually(() => cp.client.tryGet<Nodegroup>(NodegroupKind, 'managed-ng-public'), 'the public node group');
  t.same(ng.spec.scalingConfig, { minSize: 2, maxSize: 4, desiredSize: 3 });
  t.equal(ng.spec.clusterName, 'cluster-15');
  t.equal(ng.metadata.ownerReferences?.[0]?.kind, 'ClusterConfig');
  const pub = await eventually(() => mngAsg('managed-ng-public'), 'the public group');
  t.equal(pub.metadata.name, `eks-managed-ng-public-${ng.metadata.uid}`);
  t.same(
    { min: pub.spec.minSize, desired: pub.spec.desiredCapacity, max: pub.spec.maxSize, type: pub.spec.launchTemplate.instanceType, zones: pub.spec.availabilityZones },
    { min: 2, desired: 3, max: 4, type: 'm5.large', zones: ['us-east-1a', 'us-east-1b'] },
  );
  t.same(pub.spec.launchTemplate.nodeLabels, { role: 'worker', 'eks.amazonaws.com/nodegroup': 'managed-ng-public', 'eks.amazonaws.com/capacityType': 'ON_DEMAND', 'eks.amazonaws.com/nodegroup-image': ng.spec.amiType ?? 'AL2023_x86_64_STANDARD' });
  t.same(pub.spec.launchTemplate.nodeTaints, [
    { key: 'key1', value: 'value1', effect: 'NoSchedule' },
    { key: 'key2', effect: 'NoExecute' },
  ]);
  t.equal(pub.spec.tags?.['nodegroup-role'], 'worker');
  t.equal(pub.spec.mixedInstancesPolicy, undefined, 'one type On-Demand: no mixed instances policy');
  // Groups with no sizes get eksctl's defaults: 2 desired, min = max = 2.
  for (const name of ['managed-ng-private', 'custom-ami', 'custom-launch-template']) {
    const g = await eventually(() => mngAsg(name), name);
    t.same([g.spec.minSize, g.spec.desiredCapacity, g.spec.maxSize, g.spec.launchTemplate.instanceType], [2, 2, 2, 'm5.large'], name);
    t.equal(g.metadata.ownerReferences?.[0]?.kind, 'Nodegroup');
  }
});

const SPOT_AND_FARGATE = `apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: mixed
  region: us-east-1
managedNodeGroups:
  - name: spot
    instanceTypes: [m5.large, m5a.large, m6i.large]
    spot: true
    minSize: 0
    maxSize: 10
    desiredCapacity: 1
    labels: {lifecycle: spot}
nodeGroups:
  - name: legacy
    instanceType: c5.xlarge
    desiredCapacity: 1
    maxSize: 3
    taints:
      dedicated: "batch:NoSchedule"
fargateProfiles:
  - name: fp-default
    selectors:
      - namespace: default
      - namespace: prod
        labels: {fargate: "true"}
`;

t.test('Spot managed groups, unmanaged groups with map taints, and Fargate profiles; deleting the file deletes them', async (t) => {
  writeFileSync(join(dir, 'mixed.yaml'), SPOT_AND_FARGATE);
  const r = await berth(['apply', '-f', join(dir, 'mixed.yaml')]);
  t.equal(r.code, 0, r.stderr);
  const spot = await eventually(() => mngAsg('spot'), 'the spot group');
  t.equal(spot.spec.capacityRebalance, true, 'Spot managed node groups rebalance capacity, as EKS sets them up');
  t.same([spot.spec.minSize, spot.spec.desiredCapacity, spot.spec.maxSize], [0, 1, 10]);
  t.same(spot.spec.mixedInstancesPolicy?.launchTemplate?.overrides, [{ instanceType: 'm5.large' }, { instanceType: 'm5a.large' }, { instanceType: 'm6i.large' }]);
  t.equal(spot.spec.mixedInstancesPolicy?.instancesDistribution?.onDemandPercentageAboveBaseCapacity, 0);
  t.equal(spot.spec.mixedInstancesPolicy?.instancesDistribution?.spotAllocationStrategy, 'price-capacity-optimized');
  t.equal(spot.spec.launchTemplate.nodeLabels?.['eks.amazonaws.com/capacityType'], 'SPOT');
  t.same(spot.spec.availabilityZones, ['us-east-1a', 'us-east-1b', 'us-east-1c']);
  const legacy = await eventually(() => asg('eks-mixed-legacy'), 'the unmanaged group');
  t.same([legacy.spec.minSize, legacy.spec.desiredCapacity, legacy.spec.maxSize, legacy.spec.launchTemplate.instanceType], [1, 1, 3, 'c5.xlarge']);
  t.same(legacy.spec.launchTemplate.nodeTaints, [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }]);
  t.equal(legacy.spec.launchTemplate.nodeLabels?.['alpha.eksctl.io/nodegroup-name'], 'legacy');
  const fp = await eventually(() => cp.client.tryGet<FargateProfile>(EksKinds.FargateProfile, 'fp-default'), 'the Fargate profile');
  t.same(fp.spec.selectors, [{ namespace: 'default' }, { namespace: 'prod', labels: { fargate: 'true' } }]);

  // Re-applying unchanged changes nothing; deleting the ClusterConfig deletes what it made.
  const again = await berth(['apply', '-f', join(dir, 'mixed.yaml')]);
  t.match(again.stdout, /unchanged/);
  const del = await berth(['delete', '-f', join(dir, 'mixed.yaml')]);
  t.equal(del.code, 0, del.stderr);
  await eventually(async () => !(await mngAsg('spot')) && !(await asg('eks-mixed-legacy')) && !(await cp.client.tryGet(NodegroupKind, 'spot')) && !(await cp.client.tryGet(EksKinds.FargateProfile, 'fp-default')), 'the groups and the profile to be deleted');
  t.pass('deleted with their ClusterConfig');
});

t.test('a bad ClusterConfig is refused with the field named, and nothing is created', async (t) => {
  const bad = SPOT_AND_FARGATE.replace('name: mixed', 'name: bad').replace('desiredCapacity: 1\n    labels', 'desiredCapacity: 20\n    labels').replace('      - namespace: default\n', '      - namespace: Bad_NS\n');
  writeFileSync(join(dir, 'bad.yaml'), bad);
  const r = await berth(['apply', '-f', join(dir, 'bad.yaml')]);
  t.not(r.code, 0);
  t.match(r.stderr, /managedNodeGroups\[0\]\.desiredCapacity: Invalid value: 20: must be between minSize \(0\) and maxSize \(10\)/);
  t.match(r.stderr, /fargateProfiles\[0\]\.selectors\[0\]\.namespace/);
  t.notOk(await cp.client.tryGet(ClusterConfigKind, 'bad'));
  t.notOk(await cp.client.tryGet(NodegroupKind, 'spot'));
});
