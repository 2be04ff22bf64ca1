/**
 * A whole control plane on the memory store and a VirtualClock, driven as `berth simulate` drives
 * it (timers, then settle), for autoscaling tests that look at the cluster between steps.
 */
import { VirtualClock } from '../clock/clock.js';
import { seededRandom } from '../clock/random.js';
import { parseManifest } from '../cli/manifest.js';
import { createControlPlane, type ControlPlane, type ControlPlaneOptions } from '../controlplane/index.js';
import { applyDocs } from '../simulate/apply.js';
import { SIMULATION_AGENT_DEFAULTS, SIMULATION_CLOUD_DEFAULTS, SIMULATION_CONTROLLER_DEFAULTS, SIMULATION_START, streamSeed } from '../simulate/engine.js';
import { ActivityBackend, quiescence } from '../simulate/quiescence.js';
import { MemoryBackend } from '../storage/memory/memory.js';

export interface VirtualCluster {
  cp: ControlPlane;
  clock: VirtualClock;
  t0: number;
  apply(yaml: string): Promise<void>;
  /** Runs every timer up to now + ms, settling after each instant. */
  run(ms: number): Promise<void>;
  /** Runs until `cond` holds (checked after each instant) or `ms` pass; returns the virtual ms it took, or -1. */
  until(cond: () => Promise<boolean> | boolean, ms: number): Promise<number>;
  stop(): Promise<void>;
}

export async function virtualCluster(opts: Partial<ControlPlaneOptions> = {}, seed = 1): Promise<VirtualCluster> {
  const rng = (name: string): (() => number) => seededRandom(streamSeed(seed, name));
  const clock = new VirtualClock(SIMULATION_START);
  const backend = new ActivityBackend(new MemoryBackend());
  const cp = await createControlPlane({
    backend,
    clock,
    random: rng('api'),
    components: ['cloud', 'controllers', 'scheduler', 'agent', 'autoscaling'],
    ...opts,
    cloud: { ...SIMULATION_CLOUD_DEFAULTS, bootDelaySeconds: 60, spotInterruptions: false, ...opts.cloud, random: rng('cloud') },
    agent: { ...SIMULATION_AGENT_DEFAULTS, ...opts.agent, random: rng('agent') },
    controllers: { ...SIMULATION_CONTROLLER_DEFAULTS, ...opts.controllers },
  });
  const settle = quiescence(backend, () => (cp.scheduler ? cp.scheduler.pending().active > 0 : false));
  await cp.start();
  await settle();
  const noSettle = (): Promise<void> => Promise.resolve();
  const step = async (end: number): Promise<void> => {
    const at = Math.min(clock.nextTimerAt() ?? Infinity, end);
    await clock.advanceTo(at, noSettle);
    await settle();
  };
  return {
    cp,
    clock,
    t0: SIMULATION_START,
    async apply(yaml) {
      await applyDocs(cp.client, parseManifest('test.yaml', yaml));
      await settle();
    },
    async run(ms) {
      const end = clock.now() + ms;
      while (clock.now() < end) await step(end);
    },
    async until(cond, ms) {
      const start = clock.now();
      const end = start + ms;
      for (;;) {
        if (await cond()) return clock.now() - start;
        if (clock.now() >= end) return -1;
        await step(end);
      }
    },
    stop: () => cp.stop(),
  };
}

/** An Auto Scaling group the node autoscaler manages (tagged), as YAML. */
export const group = (name: string, type: string, extra = '') => `
apiVersion: autoscaling.berth.dev/v1
kind: AutoScalingGroup
metadata: {name: ${name}}
spec:
  tags: {k8s.io/cluster-autoscaler/enabled: "true"}
  minSize: 1
  maxSize: 50
  launchTemplate: {instanceType: ${type}${extra}}
  availabilityZones: [us-east-1a, us-east-1b]
`;
/** A Deployment of `replicas` pods requesting `cpu` and 1 GiB, as YAML. */
export const deployment = (name: string, replicas: number, cpu: string, podExtra = '') => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}${podExtra}}
    spec:
      containers:
      - {name: c, image: nginx, resources: {requests: {cpu: "${cpu}", memory: 1Gi}}}
`;
