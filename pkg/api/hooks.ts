/**
 * Per-kind defaulting and validation, as data: the API server looks up a kind's hooks by
 * `group/Kind` (`apps/Deployment`, `/Pod` for the core group) on every create and update.
 * Components add hooks for their own kinds (the cloud adds Instance and AutoScalingGroup).
 */
import { validateCronJob } from './cron.js';
import * as d from './defaults.js';
import type { FieldError } from './errors.js';
import type { KubeObject } from './types.js';
import * as v from './validation.js';

export interface KindHooks {
  /** Fills in defaults, in place. Runs before validation, on create and update. */
  default?(obj: KubeObject): void;
  /** Returns every field error; [] if valid. `old` is set on update. */
  validate?(obj: KubeObject, old?: KubeObject): FieldError[];
}

/** Key of a kind in a hooks map: `apps/Deployment`, `/Pod`. */
export function hooksKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

type Fn<T> = (o: KubeObject) => T;
const as = <T>(f: (o: never) => T): Fn<T> => f as unknown as Fn<T>;

/** Hooks for the built-in Kubernetes kinds. */
export const BUILTIN_HOOKS: Map<string, KindHooks> = new Map<string, KindHooks>([
  ['/Pod', { default: as(d.defaultPod), validate: v.validatePod }],
  ['/Namespace', { default: d.defaultNamespace, validate: v.validateNamespace }],
  ['/Service', { default: d.defaultService, validate: v.validateService }],
  ['/ConfigMap', { validate: v.validateConfigMap }],
  ['/Secret', { default: d.defaultSecret, validate: v.validateSecret }],
  ['/Node', { validate: v.validateNode }],
  ['apps/Deployment', { default: as(d.defaultDeployment), validate: v.validateDeployment }],
  ['apps/ReplicaSet', { default: as(d.defaultReplicaSet), validate: v.validateReplicaSet }],
  ['apps/StatefulSet', { default: d.defaultStatefulSet, validate: v.validateTemplatedWorkload }],
  ['apps/DaemonSet', { default: d.defaultDaemonSet, validate: v.validateTemplatedWorkload }],
  ['batch/Job', { default: d.defaultJob, validate: v.validateJob }],
  ['batch/CronJob', { default: d.defaultCronJob, validate: validateCronJob }],
]);
