/**
 * A profile made real: its plugins instantiated (once each, shared by the extension points they
 * serve) and checked, as kube-scheduler's `frameworkImpl` is built from a `KubeSchedulerProfile`;
 * and `compile`, which runs every filter's PreFilter for a pod class and gives back one object
 * answering "does this pod fit node i?" for every code path: the per-pod cycle, batch placement,
 * the kube-scheduler baseline of the benchmark, preemption and explanations.
 */
import type { ClusterState, Session } from './cluster.js';
import type { PodClass } from './pod-class.js';
import { Status } from './status.js';
import type { FilterPlugin, NodeFilter, Plugin, Profile, Registry, ResourceRequest, ScorePlugin } from './types.js';

/** Thrown when a profile is invalid: an unknown plugin, a plugin at the wrong extension point, a bad weight or argument. */
export class SchedulerConfigError extends Error {
  readonly code = 'InvalidSchedulerConfig';
  constructor(message: string) {
    super(message);
    this.name = 'SchedulerConfigError';
  }
}

export interface WeightedScorePlugin {
  readonly plugin: ScorePlugin;
  readonly weight: number;
}

/** A filter of a compiled pod, with the plugin it came from and that plugin's position in the profile. */
export interface CompiledFilter {
  readonly plugin: string;
  readonly position: number;
  readonly filter: NodeFilter;
}

const UNKNOWN = -2;
const PASS = -1;

/**
 * A pod class's filters compiled against the cluster (one PreFilter pass). Exactly one of three
 * holds: `error` (a plugin failed: the attempt is a SchedulerError), `rejectedAll` (a PreFilter
 * rejected every node), or the filters are ready for `fits`.
 *
 * Filters whose scope is `class` are evaluated on the first node of each node class met and the
 * answer reused for the class; so for most pods the per-node work is one array read plus the
 * per-node filters (resources, ports, inter-pod constraints).
 */
export class CompiledPod {
  readonly pod: PodClass;
  readonly filters: readonly CompiledFilter[];
  readonly rejectedAll: { plugin: string; status: Status } | undefined;
  readonly error: string | undefined;
  /** NodeResourcesFit's request, when it is among the filters. */
  readonly request: ResourceRequest | undefined;
  /** True if a per-node filter other than NodeResourcesFit is present (ports, inter-pod rules, spread). */
  readonly hasDynamicConstraints: boolean;
  private readonly cluster: ClusterState;
  /**
   * Per node class: PASS, UNKNOWN, or the profile position of the first class-scope filter that
   * fails. Shared by the pods of a session with the same static key (their class-scope filters
   * are the same by contract), so it is worked out once per node class for all of them.
   */
  private readonly verdict: Int16Array;
  private readonly classFilters: CompiledFilter[] = [];
  private readonly nodeFilters: NodeFilter[] = [];

  constructor(pod: PodClass, cluster: ClusterState, filters: CompiledFilter[], verdict: Int16Array, rejectedAll?: { plugin: string; status: Status }, error?: string) {
    this.pod = pod;
    this.cluster = cluster;
    this.filters = filters;
    this.rejectedAll = rejectedAll;
    this.error = error;
    this.verdict = verdict;
    let request: ResourceRequest | undefined;
    let dynamic = false;
    filters.forEach((f) => {
      if (f.filter.scope === 'class') this.classFilters.push(f);
      else {
        this.nodeFilters.push(f.filter);
        if (f.filter.request) request = f.filter.request;
        else dynamic = true;
      }
    });
    this.request = request;
    this.hasDynamicConstraints = dynamic;
  }

  /** True if the pod could be placed at all (no error, no PreFilter rejection). */
  get usable(): boolean {
    return !this.error && !this.rejectedAll;
  }

  /** The class-scope verdict for node class `c`, worked out on node `i` of the class if not yet known. */
  classVerdict(c: number, i: number): number {
    let v = this.verdict[c]!;
    if (v !== UNKNOWN) return v;
    v = PASS;
    for (const f of this.classFilters) {
      if (!f.filter.fits(i)) {
        v = f.position;
        break;
      }
    }
    this.verdict[c] = v;
    return v;
  }

  /** True if every class-scope filter passes nodes of class `c` (evaluated on node `i`). */
  classPasses(c: number, i: number): boolean {
    return this.classVerdict(c, i) === PASS;
  }

  /** True if node slot `i` passes every filter. The hot path of every placement. */
  fits(i: number): boolean {
    const c = this.cluster.nodeClassOf[i]!;
    let v = this.verdict[c]!;
    if (v === UNKNOWN) v = this.classVerdict(c, i);
    if (v !== PASS) return false;
    const nf = this.nodeFilters;
    for (let k = 0; k < nf.length; k++) if (!nf[k]!.fits(i)) return false;
    return true;
  }

  /**
   * True if the class-scope filters pass every node class of the cluster (each evaluated once, on
   * its representative node): `fits(i)` is then `fitsNodeScope(i)` on every node.
   */
  passesEveryNodeClass(): boolean {
    const reps = this.cluster.nodeClassRepresentatives();
    for (let c = 0; c < reps.length; c++) if (reps[c]! >= 0 && !this.classPasses(c, reps[c]!)) return false;
    return true;
  }

  /**
   * The per-node filters alone (resources, ports, inter-pod rules, spread), as one function: what
   * `fits` comes to where the class-scope filters are known to pass (`passesEveryNodeClass`). With
   * the usual single per-node filter, that filter itself.
   */
  get fitsNodeScope(): (i: number) => boolean {
    const nf = this.nodeFilters;
    if (nf.length === 1) return nf[0]!.fits;
    return (i) => {
      for (let k = 0; k < nf.length; k++) if (!nf[k]!.fits(i)) return false;
      return true;
    };
  }

  /** True if node `i` passes every filter other than NodeResourcesFit. */
  fitsIgnoringResources(i: number): boolean {
    if (!this.classPasses(this.cluster.nodeClassOf[i]!, i)) return false;
    for (const f of this.nodeFilters) if (!f.request && !f.fits(i)) return false;
    return true;
  }

  /**
   * The first filter, in profile order, that rejects node `i`, with its Status; undefined if the
   * node fits. A node counts only its first failing filter, as in kube-scheduler.
   */
  firstFailure(i: number): { plugin: string; status: Status } | undefined {
    const v = this.classVerdict(this.cluster.nodeClassOf[i]!, i);
    for (const f of this.filters) {
      if (f.filter.scope === 'class') {
        if (f.position === v) return { plugin: f.plugin, status: f.filter.status(i) };
      } else if (!f.filter.fits(i)) return { plugin: f.plugin, status: f.filter.status(i) };
    }
    return undefined;
  }
}

/** What a session remembers per static key: class-scope verdicts, and static-only plugins' compiled filters. */
interface StaticMemo {
  verdict: Int16Array;
  results: (NodeFilter | Status | null | undefined)[];
}

export class Framework {
  readonly schedulerName: string;
  readonly filterPlugins: readonly FilterPlugin[];
  readonly scorePlugins: readonly WeightedScorePlugin[];
  /** Whether pods that fit nowhere may preempt lower-priority pods. */
  readonly preemption: boolean;
  /** True when every score plugin either packs (MostAllocated) or may be neutral: batch placement can serve the profile. */
  readonly packingProfile: boolean;
  /** True if a plugin reads pods' owners (Plugin.readsOwners). */
  readonly readsOwners: boolean;

  /** Throws SchedulerConfigError. */
  constructor(profile: Profile, registry: Registry) {
    if (!profile.schedulerName) throw new SchedulerConfigError('a profile needs a schedulerName');
    this.schedulerName = profile.schedulerName;
    const where = `profile "${profile.schedulerName}"`;
    const instances = new Map<string, Plugin>();
    const instance = (name: string): Plugin => {
      let p = instances.get(name);
      if (p) return p;
      const factory = registry.get(name);
      if (!factory) throw new SchedulerConfigError(`${where}: unknown plugin "${name}"`);
      try {
        p = factory(profile.pluginArgs?.[name]);
      } catch (e) {
        throw new SchedulerConfigError(`${where}: plugin "${name}": ${(e as Error).message}`);
      }
      instances.set(name, p);
      return p;
    };

    const filters: FilterPlugin[] = [];
    for (const name of profile.filters) {
      const p = instance(name);
      if (!isFilterPlugin(p)) throw new SchedulerConfigError(`${where}: plugin "${name}" is not a filter plugin`);
      if (filters.includes(p)) throw new SchedulerConfigError(`${where}: filter plugin "${name}" listed twice`);
      filters.push(p);
    }
    const scores: WeightedScorePlugin[] = [];
    for (const { name, weight } of profile.scores) {
      const p = instance(name);
      if (!isScorePlugin(p)) throw new SchedulerConfigError(`${where}: plugin "${name}" is not a score plugin`);
      if (scores.some((s) => s.plugin === p)) throw new SchedulerConfigError(`${where}: score plugin "${name}" listed twice`);
      if (!Number.isInteger(weight) || weight <= 0) throw new SchedulerConfigError(`${where}: score plugin "${name}" needs a positive integer weight, got ${weight}`);
      scores.push({ plugin: p, weight });
    }
    this.filterPlugins = filters;
    this.scorePlugins = scores;
    this.preemption = profile.preemption ?? true;
    this.packingProfile = scores.every((s) => s.plugin.packing || typeof s.plugin.neutral === 'function');
    this.readsOwners = [...instances.values()].some((p) => p.readsOwners === true);
  }

  /** Runs every filter's PreFilter for `pod` (see CompiledPod). Watchers go on `session`. */
  compile(pod: PodClass, cluster: ClusterState, session: Session): CompiledPod {
    const filters: CompiledFilter[] = [];
    let memo = session.memo.get(this) as Map<string, StaticMemo> | undefined;
    if (!memo) session.memo.set(this, (memo = new Map()));
    let stat = memo.get(pod.staticKey);
    if (!stat || stat.verdict.length < cluster.nodeClassIdLimit) {
      stat = { verdict: new Int16Array(cluster.nodeClassIdLimit).fill(UNKNOWN), results: new Array<NodeFilter | Status | null | undefined>(this.filterPlugins.length) };
      memo.set(pod.staticKey, stat);
    }
    const verdict = stat.verdict;
    const plugins = this.filterPlugins;
    for (let position = 0; position < plugins.length; position++) {
      const p = plugins[position]!;
      let r: NodeFilter | Status | null | undefined = p.staticOnly ? stat.results[position] : undefined;
      if (r === undefined) {
        try {
          r = p.compileFilter(pod, cluster, session);
        } catch (e) {
          r = Status.error(e);
        }
        if (p.staticOnly) stat.results[position] = r;
      }
      if (r === null) continue;
      if (r instanceof Status) {
        if (r.isRejected()) return new CompiledPod(pod, cluster, filters, verdict, { plugin: p.name, status: r });
        if (r.isSkip() || r.isSuccess()) continue;
        return new CompiledPod(pod, cluster, filters, verdict, undefined, `running PreFilter plugin "${p.name}": ${r.message()}`);
      }
      filters.push({ plugin: p.name, position, filter: r });
    }
    return new CompiledPod(pod, cluster, filters, verdict);
  }

  /**
   * True if batch placement may place pods of `pod` by packing alone: every score plugin of the
   * profile either packs or has no preference among nodes for this pod.
   */
  packsByResourcesAlone(pod: PodClass, cluster: ClusterState): boolean {
    for (const { plugin } of this.scorePlugins) {
      if (plugin.packing) continue;
      if (!plugin.neutral || !plugin.neutral(pod, cluster)) return false;
    }
    return true;
  }
}

function isFilterPlugin(p: Plugin): p is FilterPlugin {
  return typeof (p as FilterPlugin).compileFilter === 'function';
}

function isScorePlugin(p: Plugin): p is ScorePlugin {
  return typeof (p as ScorePlugin).compileScore === 'function';
}
