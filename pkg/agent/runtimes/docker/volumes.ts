/**
 * Pod volumes for Docker containers, laid out as the kubelet lays them out
 * (`<root>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>`) and bind-mounted into each
 * container at its `volumeMounts`:
 *
 * - `emptyDir`: a directory that lives as long as the pod (its `sizeLimit` and `medium: Memory`
 *   are not enforced: it is a directory on the host's disk);
 * - `configMap`, `secret`, `downwardAPI`, and `projected` of those: files written from the
 *   objects (all keys, or `items`, with `defaultMode`/`mode`), rewritten on every sync so edits
 *   reach running containers, mounted read-only as on Kubernetes;
 * - `hostPath`: the host's own path, with the `type` checks (`DirectoryOrCreate` creates it).
 *
 * Any other kind (persistentVolumeClaim, csi, nfs, a projected serviceAccountToken…) fails to
 * mount with a clear message; the pod stays ContainerCreating, as a kubelet keeps retrying.
 */
import type Dockerode from 'dockerode';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import type { Container, Pod } from '../../../api/types.js';
import { fieldValue, resourceFieldValue, type ConfigLookup } from './spec.js';

/**
 * Thrown when a volume cannot be set up (a missing ConfigMap or Secret, an unsupported kind, a
 * failed hostPath check); `message` is the kubelet's FailedMount wording.
 */
export class VolumeError extends Error {
  readonly code = 'FailedMount';
  constructor(volume: string, why: string) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${why}`);
    this.name = 'VolumeError';
  }
}

/** A prepared volume: where it is on the host, and whether containers may only read it. */
export interface HostVolume {
  path: string;
  readOnly: boolean;
}

interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}
interface DownwardItem {
  path: string;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: string };
  mode?: number;
}
interface VolumeSource {
  name: string;
  emptyDir?: Record<string, unknown>;
  hostPath?: { path: string; type?: string };
  configMap?: { name?: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  secret?: { secretName?: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  downwardAPI?: { items?: DownwardItem[]; defaultMode?: number };
  projected?: { sources?: Record<string, unknown>[]; defaultMode?: number };
  [kind: string]: unknown;
}

/** Default file mode of configMap, secret, downwardAPI and projected files (0644). */
const DEFAULT_MODE = 0o644;

/** The directory of a pod's volumes. */
export function podDir(root: string, uid: string): string {
  return join(root, 'pods', uid);
}

/** A relative path inside a volume, refusing `..` and absolute paths (the API server's validation does too). */
function inside(dir: string, path: string, volume: string): string {
  const full = normalize(join(dir, path));
  const rel = relative(dir, full);
  if (!rel || rel.startsWith('..') || path.startsWith('/')) throw new VolumeError(volume, `invalid path "${path}": must be relative and stay inside the volume`);
  return full;
}

/**
 * Writes `files` (relative path → content, mode) into `dir`, replacing each file atomically and
 * removing top-level entries that are no longer wanted.
 */
async function writeFiles(dir: string, files: Map<string, { content: string; mode: number }>, volume: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const keep = new Set<string>();
  for (const [path, f] of files) {
    const full = inside(dir, path, volume);
    keep.add(relative(dir, full).split('/')[0]!);
    await mkdir(dirname(full), { recursive: true });
    const tmp = `${full}.berth-tmp`;
    await writeFile(tmp, f.content, { mode: f.mode });
    await chmod(tmp, f.mode);
    await rename(tmp, full);
  }
  for (const e of await readdir(dir)) if (!keep.has(e)) await rm(join(dir, e), { recursive: true, force: true });
}

/** The files of a configMap or secret source: every key, or the listed items (a missing item key fails unless optional). */
function keyFiles(data: Record<string, string>, items: KeyToPath[] | undefined, mode: number, what: string, volume: string, optional: boolean): Map<string, { content: string; mode: number }> {
  const out = new Map<string, { content: string; mode: number }>();
  if (!items?.length) {
    for (const [k, v] of Object.entries(data)) out.set(k, { content: v, mode });
    return out;
  }
  for (const it of items) {
    if (!(it.key in data)) {
      if (optional) continue;
      throw new VolumeError(volume, what === 'configmap' ? `configmap references non-existent config key: ${it.key}` : `references non-existent secret key: ${it.key}`);
    }
    out.set(it.path, { content: data[it.key]!, mode: it.mode ?? mode });
  }
  return out;
}

export interface PrepareOptions {
  /** The runtime's data directory. */
  root: string;
  lookup: ConfigLookup;
  hostIP: string | undefined;
  allocatable?: Record<string, string | number>;
}

/**
 * Sets up every volume of the pod on the host and returns them by name. Throws VolumeError for
 * the first that cannot be set up.
 */
export async function prepareVolumes(pod: Pod, opts: PrepareOptions): Promise<Map<string, HostVolume>> {
  const ns = pod.metadata.namespace ?? 'default';
  const base = join(podDir(opts.root, pod.metadata.uid!), 'volumes');
  const out = new Map<string, HostVolume>();
  const dataOf = async (kind: 'ConfigMap' | 'Secret', name: string, volume: string, optional: boolean): Promise<Record<string, string> | undefined> => {
    const data = await opts.lookup(kind, ns, name);
    if (!data && !optional) throw new VolumeError(volume, `${kind.toLowerCase()} "${name}" not found`);
    return data;
  };
  const downward = (items: DownwardItem[] | undefined, mode: number): Map<string, { content: string; mode: number }> => {
    const files = new Map<string, { content: string; mode: number }>();
    for (const it of items ?? []) {
      const content = it.fieldRef ? fieldValue(pod, it.fieldRef.fieldPath, opts.hostIP) : it.resourceFieldRef ? resourceFieldValue(pod, it.resourceFieldRef, pod.spec.containers[0]!, opts.allocatable) : '';
      files.set(it.path, { content, mode: it.mode ?? mode });
    }
    return files;
  };
  for (const v of ((pod.spec.volumes as VolumeSource[] | undefined) ?? [])) {
    if (v.emptyDir) {
      const path = join(base, 'kubernetes.io~empty-dir', v.name);
      await mkdir(path, { recursive: true, mode: 0o777 });
      await chmod(path, 0o777);
      out.set(v.name, { path, readOnly: false });
    } else if (v.configMap || v.secret) {
      const isCm = !!v.configMap;
      const src = (v.configMap ?? v.secret)!;
      const name = (isCm ? v.configMap!.name : v.secret!.secretName) ?? '';
      const path = join(base, isCm ? 'kubernetes.io~configmap' : 'kubernetes.io~secret', v.name);
      const data = (await dataOf(isCm ? 'ConfigMap' : 'Secret', name, v.name, !!src.optional)) ?? {};
      await writeFiles(path, keyFiles(data, src.items, src.defaultMode ?? DEFAULT_MODE, isCm ? 'configmap' : 'secret', v.name, !!src.optional), v.name);
      out.set(v.name, { path, readOnly: true });
    } else if (v.downwardAPI) {
      const path = join(base, 'kubernetes.io~downward-api', v.name);
      await writeFiles(path, downward(v.downwardAPI.items, v.downwardAPI.defaultMode ?? DEFAULT_MODE), v.name);
      out.set(v.name, { path, readOnly: true });
    } else if (v.projected) {
      const mode = v.projected.defaultMode ?? DEFAULT_MODE;
      const files = new Map<string, { content: string; mode: number }>();
      for (const s of v.projected.sources ?? []) {
        const cm = s.configMap as { name?: string; items?: KeyToPath[]; optional?: boolean } | undefined;
        const sec = s.secret as { name?: string; items?: KeyToPath[]; optional?: boolean } | undefined;
        const dw = s.downwardAPI as { items?: DownwardItem[] } | undefined;
        if (cm || sec) {
          const src = (cm ?? sec)!;
          const data = (await dataOf(cm ? 'ConfigMap' : 'Secret', src.name ?? '', v.name, !!src.optional)) ?? {};
          for (const [p, f] of keyFiles(data, src.items, mode, cm ? 'configmap' : 'secret', v.name, !!src.optional)) files.set(p, f);
        } else if (dw) {
          for (const [p, f] of downward(dw.items, mode)) files.set(p, f);
        } else {
          throw new VolumeError(v.name, `projected source ${Object.keys(s).join(', ')} is not supported by the docker runtime (configMap, secret and downwardAPI are)`);
        }
      }
      const path = join(base, 'kubernetes.io~projected', v.name);
      await writeFiles(path, files, v.name);
      out.set(v.name, { path, readOnly: true });
    } else if (v.hostPath) {
      const { path, type = '' } = v.hostPath;
      const st = existsSync(path) ? statSync(path) : undefined;
      if (type === 'DirectoryOrCreate' && !st) await mkdir(path, { recursive: true, mode: 0o755 });
      else if (type === 'FileOrCreate' && !st) {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, '', { mode: 0o644 });
      } else if (type === 'Directory' && !st?.isDirectory()) throw new VolumeError(v.name, `hostPath type check failed: ${path} is not a directory`);
      else if (type === 'File' && !st?.isFile()) throw new VolumeError(v.name, `hostPath type check failed: ${path} is not a file`);
      else if (type === 'Socket' && !st?.isSocket()) throw new VolumeError(v.name, `hostPath type check failed: ${path} is not a socket file`);
      out.set(v.name, { path, readOnly: false });
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw new VolumeError(v.name, `the docker runtime does not support ${kind} volumes (emptyDir, configMap, secret, downwardAPI, projected and hostPath are)`);
    }
  }
  return out;
}

interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

/**
 * The bind mounts of one container from its `volumeMounts`. A `subPath` mounts that entry of
 * the volume (created as a directory in a writable volume when missing). Throws VolumeError for
 * a mount of a volume the pod does not have.
 */
export async function mountsFor(c: Container, volumes: Map<string, HostVolume>): Promise<Dockerode.MountSettings[]> {
  const out: Dockerode.MountSettings[] = [];
  for (const m of (c.volumeMounts as VolumeMount[] | undefined) ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new VolumeError(m.name, `container ${c.name} mounts volume "${m.name}", which the pod does not define`);
    let source = v.path;
    if (m.subPath) {
      source = inside(v.path, m.subPath, m.name);
      if (!existsSync(source)) {
        if (v.readOnly) throw new VolumeError(m.name, `subPath "${m.subPath}" does not exist in the volume`);
        await mkdir(source, { recursive: true, mode: 0o777 });
      }
    }
    out.push({ Type: 'bind', Source: source, Target: m.mountPath, ReadOnly: v.readOnly || !!m.readOnly });
  }
  return out;
}

/** Removes the pod's directory (its volumes) from the host. */
export async function removePodDir(root: string, uid: string): Promise<void> {
  await rm(podDir(root, uid), { recursive: true, force: true });
}
