/**
 * A small cluster on a virtual clock for the controller tests: the in-process API server, the
 * chosen built-in controllers, and (when pods must run) the scheduler and the node agent with
 * nodes it serves. `random: () => 0.5` makes every jittered stage delay exactly its base (a pod
 * starts 1 s after it is bound).
 */
import type { Test } from 'tap';
import { NodeAgent } from '../agent/agent.js';
import type { KubeObject, Node, Pod } from '../api/types.js';
import { VirtualClock } from '../clock/clock.js';
import { Kinds } from '../client/client.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { startTestApi, type TestApi } from '../testing/api.js';
import { installControllers } from './index.js';

export const START = Date.UTC(2026, 0, 1);

export interface VirtualCluster extends TestApi {
  clock: VirtualClock;
  agent?: NodeAgent;
  /** Moves cluster time on by `ms`, letting every component catch up at each timer. */
  advance(ms: number): Promise<void>;
  /** Advances in `step` ms increments until `fn` returns a truthy value, at most `maxMs` of cluster time. */
  until<T>(fn: () => T | Promise<T>, what: string, maxMs?: number, step?: number): Promise<NonNullable<T>>;
  pods(namespace?: string, labelSelector?: string): Promise<Pod[]>;
}

export interface VirtualClusterOptions {
  /** Built-in controllers to run (names from BUILTIN_CONTROLLERS; default all). */
  controllers?: string[];
  /** Run the scheduler and node agent (default true). */
  run?: boolean;
  /** Run the scheduler (default: as `run`); tests whose pods name their node need none. */
  scheduler?: boolean;
  /** Nodes to create before starting (each served by the agent). */
  nodes?: Node[];
  /** Seconds between node Lease renewals (default 10). */
  heartbeatSeconds?: number;
  /** Label selector of the nodes the agent serves (default every node); a node it stops serving stops heartbeating. */
  agentNodeSelector?: string;
}

/** A Node the agent serves: 4 cpu, 16Gi, 110 pods, with a pod CIDR and an InternalIP. */
export function simNode(name: string, i = 1, labels: Record<string, string> = {}, taints: Node['spec']['taints'] = undefined): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels } },
    spec: { podCIDR: `10.244.${i}.0/24`, ...(taints ? { taints } : {}) },
    status: {
      capacity: { cpu: '4', memory: '16Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '16Gi', pods: '110' },
      addresses: [{ type: 'InternalIP', address: `10.0.0.${i}` }],
    },
  };
}

export async function virtualCluster(t: Test, opts: VirtualClusterOptions = {}): Promise<VirtualCluster> {
  const clock = new VirtualClock(START);
  const c = await startTestApi({ clock });
  installControllers(c.mgr, opts.controllers);
  let agent: NodeAgent | undefined;
  if (opts.run !== false) {
    if (opts.scheduler !== false) c.mgr.add(new Scheduler(c.mgr));
    agent = new NodeAgent(c.mgr, { random: () => 0.5, events: false, heartbeatSeconds: opts.heartbeatSeconds ?? 10, ...(opts.agentNodeSelector ? { nodeSelector: opts.agentNodeSelector } : {}) });
    c.mgr.add(agent);
    c.api.logs.current = agent;
  }
  for (const n of opts.nodes ?? []) await c.client.create(n as KubeObject);
  await c.start();
  t.teardown(() => c.stop());
  const advance = (ms: number): Promise<void> => clock.advance(ms);
  return {
    ...c,
    clock,
    ...(agent ? { agent } : {}),
    advance,
    async until(fn, what, maxMs = 600_000, step = 500) {
      const deadline = clock.now() + maxMs;
      let last: unknown;
      for (;;) {
        try {
          const v = await fn();
          if (v) return v as NonNullable<typeof v>;
        } catch (e) {
          last = e;
        }
        if (clock.now() >= deadline) throw new Error(`timed out after ${maxMs} ms of cluster time waiting for ${what}${last ? `: ${String(last)}` : ''}`);
        await clock.advance(step);
      }
    },
    async pods(namespace = 'default', labelSelector?: string) {
      return (await c.client.list<Pod>(Kinds.Pod, { namespace, ...(labelSelector ? { labelSelector } : {}) })).items;
    },
  };
}
