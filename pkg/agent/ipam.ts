/**
 * Pod IP allocation from a node's `spec.podCIDR`, as the CNI `host-local` IPAM plugin does it on a
 * real node (https://www.cni.dev/plugins/current/ipam/host-local/): the first address after the
 * network address is the bridge gateway, so pods get `.2` up to the last address before the
 * broadcast; allocation goes round-robin from the last address handed out, so an address freed by
 * a pod that went is reused only after the others have been used once.
 */

/** Thrown when a podCIDR cannot be parsed or is not an IPv4 range berth can allocate from. */
export class PodCidrError extends Error {
  readonly code = 'InvalidPodCIDR';
  constructor(cidr: string, why: string) {
    super(`invalid podCIDR "${cidr}": ${why}`);
    this.name = 'PodCidrError';
  }
}

function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Addresses of one node's pod CIDR: which are taken (by pod UID) and which come next. */
export class PodCidrAllocator {
  /** First and last assignable address, as 32-bit integers. */
  readonly first: number;
  readonly last: number;
  private readonly owner = new Map<number, string>();
  private readonly byPod = new Map<string, number>();
  private cursor: number;

  /** Throws PodCidrError for anything but an IPv4 CIDR from /8 to /30. */
  constructor(readonly cidr: string) {
    const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
    const base = m ? parseIPv4(m[1]!) : undefined;
    const bits = m ? Number(m[2]) : NaN;
    if (base === undefined || !(bits >= 8 && bits <= 30)) throw new PodCidrError(cidr, 'want an IPv4 range from /8 to /30');
    const size = 2 ** (32 - bits);
    const network = base - (base % size);
    this.first = network + 2;
    this.last = network + size - 2;
    this.cursor = this.first - 1;
  }

  /** Number of addresses pods can have. */
  get capacity(): number {
    return this.last - this.first + 1;
  }

  get used(): number {
    return this.owner.size;
  }

  /** The address held by a pod, if any. */
  addressOf(podUid: string): string | undefined {
    const n = this.byPod.get(podUid);
    return n === undefined ? undefined : formatIPv4(n);
  }

  /** True if `podUid` holds an address or one is free for it. */
  canAllocate(podUid: string): boolean {
    return this.byPod.has(podUid) || this.owner.size < this.capacity;
  }

  /** The pod's address, taking the next free one if it has none; undefined when the range is full. */
  allocate(podUid: string): string | undefined {
    const held = this.byPod.get(podUid);
    if (held !== undefined) return formatIPv4(held);
    if (this.owner.size >= this.capacity) return undefined;
    let n = this.cursor;
    for (let i = 0; i < this.capacity; i++) {
      n = n >= this.last ? this.first : n + 1;
      if (!this.owner.has(n)) {
        this.take(n, podUid);
        this.cursor = n;
        return formatIPv4(n);
      }
    }
    return undefined;
  }

  /**
   * Records an address a pod already shows in its status (after the agent restarts). Returns false
   * if the address is outside the range or held by another pod.
   */
  adopt(podUid: string, ip: string): boolean {
    const n = parseIPv4(ip);
    if (n === undefined || n < this.first || n > this.last) return false;
    const cur = this.owner.get(n);
    if (cur !== undefined) return cur === podUid;
    const held = this.byPod.get(podUid);
    if (held !== undefined) this.owner.delete(held);
    this.take(n, podUid);
    return true;
  }

  /** Frees the pod's address, if it holds one. */
  release(podUid: string): void {
    const n = this.byPod.get(podUid);
    if (n === undefined) return;
    this.byPod.delete(podUid);
    this.owner.delete(n);
  }

  private take(n: number, podUid: string): void {
    this.owner.set(n, podUid);
    this.byPod.set(podUid, n);
  }
}

/** True if `ip` lies inside the IPv4 `cidr`. */
export function cidrContains(cidr: string, ip: string): boolean {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  const base = m ? parseIPv4(m[1]!) : undefined;
  const n = parseIPv4(ip);
  if (base === undefined || n === undefined) return false;
  const size = 2 ** (32 - Number(m![2]));
  return Math.floor(base / size) === Math.floor(n / size);
}
