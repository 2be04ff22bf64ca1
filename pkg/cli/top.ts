/**
 * `berth top pods` and `berth top nodes`: resource usage from metrics.k8s.io, as `kubectl top`
 * prints it (CPU in millicores, memory in Mi; nodes with their share of allocatable), and for
 * pods that are load balancer targets, their traffic from the target groups' status: requests
 * served, requests open now, and p99 latency.
 */
import type { KubeObject, Node } from '../api/types.js';
import { Kinds } from '../client/client.js';
import type { Session } from './session.js';
import { GET_TABS, TabWriter } from './tabwriter.js';
import type { IO } from './types.js';

export interface TopOptions {
  allNamespaces?: boolean;
  selector?: string;
  /** Sort by `cpu` or `memory` (kubectl's --sort-by). */
  sortBy?: string;
}

interface Usage {
  cpu: string;
  memory: string;
}

/** Millicores of a cpu quantity from metrics.k8s.io (`250m`, `1`, `12345n`). */
function millicores(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(n|u|m)?$/.exec(q);
  if (!m) return 0;
  const v = Number(m[1]);
  return m[2] === 'n' ? v / 1e6 : m[2] === 'u' ? v / 1e3 : m[2] === 'm' ? v : v * 1000;
}

/** Bytes of a memory quantity (`65536Ki`, `64Mi`, `1Gi`, `1000`). */
function bytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) return 0;
  const mult: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? mult[m[2]]! : 1);
}

const mi = (b: number): string => `${Math.round(b / 1024 ** 2)}Mi`;
const mc = (c: number): string => `${Math.round(c)}m`;

export async function runTopPods(s: Session, io: IO, opts: TopOptions): Promise<void> {
  const ns = opts.allNamespaces ? undefined : s.namespace;
  const list = await s.client.list<KubeObject & { containers: { name: string; usage: Usage }[] }>({ apiVersion: 'metrics.k8s.io/v1beta1', kind: 'PodMetrics' }, { ...(ns ? { namespace: ns } : {}), ...(opts.selector ? { labelSelector: opts.selector } : {}) });
  if (!list.items.length) {
    io.stderr(ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
    return;
  }
  // Traffic per pod from the target groups that have it as a target.
  const traffic = new Map<string, { requests: number; active: number; p99: number }>();
  try {
    const tgs = await s.client.list<KubeObject & { status?: { targets?: { pod?: string; requestCount?: number; activeConnections?: number; latencyMs?: { p99: number } }[] } }>({ apiVersion: 'elb.berth.dev/v1', kind: 'TargetGroup' }, ns ? { namespace: ns } : {});
    for (const tg of tgs.items) {
      for (const t of tg.status?.targets ?? []) {
        if (!t.pod) continue;
        const k = `${tg.metadata.namespace}/${t.pod}`;
        const cur = traffic.get(k) ?? { requests: 0, active: 0, p99: 0 };
        cur.requests += t.requestCount ?? 0;
        cur.active += t.activeConnections ?? 0;
        cur.p99 = Math.max(cur.p99, t.latencyMs?.p99 ?? 0);
        traffic.set(k, cur);
      }
    }
  } catch {
    // No load balancers served: no traffic columns.
  }
  const rows = list.items.map((p) => {
    const cpu = p.containers.reduce((a, c) => a + millicores(c.usage.cpu), 0);
    const mem = p.containers.reduce((a, c) => a + bytes(c.usage.memory), 0);
    return { ns: p.metadata.namespace!, name: p.metadata.name!, cpu, mem, t: traffic.get(`${p.metadata.namespace}/${p.metadata.name}`) };
  });
  if (opts.sortBy === 'cpu') rows.sort((a, b) => b.cpu - a.cpu);
  else if (opts.sortBy === 'memory') rows.sort((a, b) => b.mem - a.mem);
  const withTraffic = rows.some((r) => r.t);
  const tw = new TabWriter(GET_TABS);
  tw.write(`${opts.allNamespaces ? 'NAMESPACE\t' : ''}NAME\tCPU(cores)\tMEMORY(bytes)${withTraffic ? '\tREQUESTS\tACTIVE\tP99' : ''}\n`);
  for (const r of rows) {
    const extra = withTraffic ? (r.t ? `\t${r.t.requests}\t${r.t.active}\t${r.t.p99}ms` : '\t-\t-\t-') : '';
    tw.write(`${opts.allNamespaces ? `${r.ns}\t` : ''}${r.name}\t${mc(r.cpu)}\t${mi(r.mem)}${extra}\n`);
  }
  io.stdout(tw.flush());
}

export async function runTopNodes(s: Session, io: IO, opts: TopOptions): Promise<void> {
  const list = await s.client.list<KubeObject & { usage: Usage }>({ apiVersion: 'metrics.k8s.io/v1beta1', kind: 'NodeMetrics' }, opts.selector ? { labelSelector: opts.selector } : {});
  const nodes = new Map((await s.client.list<Node>(Kinds.Node)).items.map((n) => [n.metadata.name!, n]));
  if (!list.items.length) {
    io.stderr('No resources found\n');
    return;
  }
  const rows = list.items.map((m) => {
    const n = nodes.get(m.metadata.name!);
    const alloc = (n?.status?.allocatable ?? {}) as Record<string, string>;
    const cpu = millicores(m.usage.cpu);
    const mem = bytes(m.usage.memory);
    const acpu = alloc.cpu ? millicores(String(alloc.cpu)) : 0;
    const amem = alloc.memory ? bytes(String(alloc.memory)) : 0;
    return { name: m.metadata.name!, cpu, mem, cpuPct: acpu ? Math.round((cpu * 100) / acpu) : 0, memPct: amem ? Math.round((mem * 100) / amem) : 0 };
  });
  if (opts.sortBy === 'cpu') rows.sort((a, b) => b.cpu - a.cpu);
  else if (opts.sortBy === 'memory') rows.sort((a, b) => b.mem - a.mem);
  const tw = new TabWriter(GET_TABS);
  tw.write('NAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)\n');
  for (const r of rows) tw.write(`${r.name}\t${mc(r.cpu)}\t${r.cpuPct}%\t${mi(r.mem)}\t${r.memPct}%\n`);
  io.stdout(tw.flush());
}

