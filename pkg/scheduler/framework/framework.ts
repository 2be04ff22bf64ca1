/**
 * A profile made real: its plugins instantiated (once each, shared by the extension points they
 * serve) and checked, as kube-scheduler's `frameworkImpl` is built from a `KubeSchedulerProfile`.
 */
import type { FilterPlugin, Plugin, Profile, Registry, ScorePlugin } from './types.js';

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

export class Framework {
  readonly schedulerName: string;
  readonly filterPlugins: readonly FilterPlugin[];
  readonly scorePlugins: readonly WeightedScorePlugin[];

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
  }
}

function isFilterPlugin(p: Plugin): p is FilterPlugin {
  return typeof (p as FilterPlugin).filter === 'function';
}

function isScorePlugin(p: Plugin): p is ScorePlugin {
  return typeof (p as ScorePlugin).score === 'function';
}
