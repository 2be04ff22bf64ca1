/**
 * ImageLocality (kube-scheduler's pkg/scheduler/framework/plugins/imagelocality): favours nodes
 * that already have the pod's container images (`node.status.images`), so the pod starts without
 * a pull. A Score plugin only.
 *
 * For each container and init container whose image (normalized: `:latest` added when there is no
 * tag) a node lists, the node adds `sizeBytes × (nodes listing the image / all nodes)` — an image
 * present everywhere counts fully, one on a single node of many hardly at all, so pods are not
 * herded onto the few nodes that happen to have it. The sum is clamped to
 * [23 MiB, 1000 MiB × containers] and scaled linearly onto 0..100 (`calculatePriority`):
 * `100 × (sum − 23 MiB) / (1000 MiB × containers − 23 MiB)`, integer division. No NormalizeScore.
 *
 * In kube-scheduler's default profile at weight 1 (`kubeSchedulerProfile`). berth's packing
 * profile leaves it out: a pod whose image some node has would otherwise be placed one pod at a
 * time by the full cycle instead of packed as a batch, for a preference worth at most 100 points
 * at weight 1 next to the others' hundreds; packing decides, and the agent's pull time is the cost.
 */
import type { Container, Node } from '../../api/types.js';
import type { ClusterState } from '../framework/cluster.js';
import type { PodClass } from '../framework/pod-class.js';
import { MAX_NODE_SCORE, type NodeScorer, type ScorePlugin } from '../framework/types.js';

const MB = 1024 * 1024;
/** kube-scheduler's `minThreshold`: sums below it score 0. */
export const MIN_THRESHOLD = 23 * MB;
/** kube-scheduler's `maxContainerThreshold`: per container, sums above it score 100. */
export const MAX_CONTAINER_THRESHOLD = 1000 * MB;

/** One entry of `node.status.images` (`v1.ContainerImage`). */
export interface ContainerImage {
  names?: string[];
  sizeBytes?: number;
}

/** kube-scheduler's `normalizedImageName`: `name:latest` when the reference has no tag (or digest) after its last `/`. */
export function normalizedImageName(name: string): string {
  if (name.lastIndexOf(':') <= name.lastIndexOf('/')) return `${name}:latest`;
  return name;
}

/** kube-scheduler's `calculatePriority`: the clamped sum scaled onto 0..MAX_NODE_SCORE. */
export function imageScore(sumScores: number, numContainers: number): number {
  const max = MAX_CONTAINER_THRESHOLD * numContainers;
  const s = Math.min(Math.max(sumScores, MIN_THRESHOLD), max);
  return Math.trunc((MAX_NODE_SCORE * (s - MIN_THRESHOLD)) / (max - MIN_THRESHOLD));
}

/** Per image name: its size on each node that lists it (slot → bytes). */
type ImageIndex = Map<string, Map<number, number>>;

function imagesOf(node: Node | undefined): ContainerImage[] {
  const list = node?.status?.images;
  return Array.isArray(list) ? (list as ContainerImage[]) : [];
}

export class ImageLocality implements ScorePlugin {
  static readonly name = 'ImageLocality';
  readonly name = ImageLocality.name;
  /** The image index of each cluster state, rebuilt when its nodes change (`ClusterState.version`). */
  private readonly indexes = new WeakMap<ClusterState, { version: number; index: ImageIndex }>();

  private index(cluster: ClusterState): ImageIndex {
    const known = this.indexes.get(cluster);
    if (known && known.version === cluster.version) return known.index;
    const index: ImageIndex = new Map();
    for (const i of cluster.order) {
      for (const img of imagesOf(cluster.nodes[i])) {
        for (const name of img.names ?? []) {
          let m = index.get(name);
          if (!m) index.set(name, (m = new Map()));
          m.set(i, img.sizeBytes ?? 0);
        }
      }
    }
    this.indexes.set(cluster, { version: cluster.version, index });
    return index;
  }

  /** Skipped for a pod whose images no node lists. */
  compileScore(pod: PodClass, cluster: ClusterState): NodeScorer | null {
    const containers: Container[] = [...(pod.pod.spec.initContainers ?? []), ...(pod.pod.spec.containers ?? [])];
    const index = this.index(cluster);
    const total = cluster.nodeCount;
    const present = containers.map((c) => (c.image ? index.get(normalizedImageName(c.image)) : undefined)).filter((m): m is Map<number, number> => m !== undefined);
    if (present.length === 0 || total === 0) return null;
    const n = containers.length;
    return {
      score: (i) => {
        let sum = 0;
        for (const m of present) {
          const size = m.get(i);
          // scaledImageScore: int64(float64(size) × numNodes / totalNumNodes).
          if (size !== undefined) sum += Math.trunc(size * (m.size / total));
        }
        return imageScore(sum, n);
      },
    };
  }

  /** Neutral when no node lists any of the pod's images. */
  neutral(pod: PodClass, cluster: ClusterState): boolean {
    const index = this.index(cluster);
    for (const c of [...(pod.pod.spec.initContainers ?? []), ...(pod.pod.spec.containers ?? [])]) if (c.image && index.has(normalizedImageName(c.image))) return false;
    return true;
  }
}
