/**
 * Small pure helpers of the node agent: a seeded random source, Go's duration format (kubelet
 * event messages print `time.Duration`), stable ids, and image names as container runtimes
 * report them.
 */
import { createHash } from 'node:crypto';
import type { Container, Pod } from '../api/types.js';
import type { StageDelay } from './types.js';

export { seededRandom } from '../clock/random.js';

/** Hex SHA-256 of the parts joined by NUL: stable ids (container ids, image digests, machine ids). */
export function sha256Hex(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

/** A UUID-shaped string (8-4-4-4-12) made from 32 hex digits. */
export function uuidFromHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A duration in ms as Go's `time.Duration.String()` prints it after kubelet truncates it to the
 * millisecond: `0s`, `512ms`, `1.2s`, `1m2.5s`, `1h0m0s`.
 */
export function goDuration(ms: number): string {
  ms = Math.max(0, Math.floor(ms));
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sMs = ms % 60_000;
  const secs = `${Math.floor(sMs / 1000)}${sMs % 1000 ? `.${String(sMs % 1000).padStart(3, '0').replace(/0+$/, '')}` : ''}s`;
  if (h) return `${h}h${m}m${secs}`;
  if (m) return `${m}m${secs}`;
  return secs;
}

/**
 * An image reference as containerd reports it in `containerStatuses[].image`: Docker Hub names get
 * their registry and `library/` (`nginx:1.14.2` → `docker.io/library/nginx:1.14.2`), and an image
 * with neither tag nor digest gets `:latest`.
 */
export function normalizeImage(image: string | undefined): string {
  if (!image) return '';
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  let ref = image;
  if (slash < 0) ref = `docker.io/library/${image}`;
  else if (!(first.includes('.') || first.includes(':') || first === 'localhost')) ref = `docker.io/${image}`;
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  if (!last.includes(':') && !ref.includes('@')) ref += ':latest';
  return ref;
}

/** The image id containerd reports: the repository with a digest (`docker.io/library/nginx@sha256:…`). */
export function imageIdOf(image: string | undefined): string {
  const ref = normalizeImage(image);
  if (!ref) return '';
  if (ref.includes('@')) return ref;
  const repo = ref.slice(0, ref.lastIndexOf(':'));
  return `${repo}@sha256:${sha256Hex('image', ref)}`;
}

/** Quotes words for a shell echo of a command line (`sh -c 'echo hi'`). */
export function shellJoin(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Samples a stage delay: uniform in [ms − jitter, ms + jitter], clamped to [0, maxMs], whole ms. */
export function sampleDelay(d: StageDelay, random: () => number): number {
  const j = d.jitterMs ?? 0;
  let ms = d.ms + (j > 0 ? (2 * random() - 1) * j : 0);
  ms = Math.max(0, ms);
  if (d.maxMs !== undefined) ms = Math.min(ms, Math.max(0, d.maxMs));
  return Math.round(ms);
}

/** The container named `name` in the pod's spec, and whether it is an app container (not init or ephemeral). */
export function findContainer(pod: Pod, name: string): { c: Container; app: boolean } | undefined {
  const app = pod.spec.containers.find((c) => c.name === name);
  if (app) return { c: app, app: true };
  const init = pod.spec.initContainers?.find((c) => c.name === name);
  if (init) return { c: init, app: false };
  const eph = (pod.spec.ephemeralContainers as Container[] | undefined)?.find((c) => c.name === name);
  return eph ? { c: eph, app: false } : undefined;
}
