/**
 * The simulated account's network: one region, its Availability Zones, a VPC 10.0.0.0/16 with one
 * /20 subnet per zone, private IP addresses and DNS names as EC2 gives them, provider IDs as the
 * AWS cloud provider writes them, and per-node pod CIDRs as kube-controller-manager's node IPAM
 * hands them out. Pure functions; the controllers keep track of what is in use.
 */

/** Regions berth simulates, with their zones and private DNS suffix. */
export const REGIONS = {
  'us-east-1': {
    /** us-east-1 has six Availability Zones. */
    zones: ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e', 'us-east-1f'],
    /** us-east-1's private DNS names end in `ec2.internal`; other regions use `<region>.compute.internal`. */
    dnsSuffix: 'ec2.internal',
  },
} as const;

export type Region = keyof typeof REGIONS;

export const DEFAULT_REGION: Region = 'us-east-1';

/** The VPC's block: 10.0.0.0/16. */
export const VPC_CIDR = '10.0.0.0/16';
/** Each zone's subnet is a /20 of the VPC, in zone order: us-east-1a 10.0.0.0/20, us-east-1b 10.0.16.0/20, … */
export const SUBNET_PREFIX_LENGTH = 20;
/**
 * AWS keeps the first four addresses of every subnet (network, VPC router, DNS, future use) and
 * the last (broadcast) (VPC User Guide, "Subnet CIDR blocks",
 * https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).
 */
export const SUBNET_RESERVED_HEAD = 4;
export const SUBNET_RESERVED_TAIL = 1;
/** Where pod CIDRs come from by default: 10.244.0.0/16, a /24 per node (256 nodes). */
export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';
export const NODE_CIDR_PREFIX_LENGTH = 24;

/** The zones of a region. */
export function regionZones(region: Region = DEFAULT_REGION): readonly string[] {
  return REGIONS[region].zones;
}

/** Thrown for a malformed IPv4 address or CIDR. */
export class CidrError extends Error {
  readonly code = 'InvalidCidr';
  constructor(readonly input: string) {
    super(`not an IPv4 CIDR block: "${input}"`);
    this.name = 'CidrError';
  }
}

/** `10.0.1.23` → 167772439. Throws CidrError. */
export function ipToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new CidrError(ip);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new CidrError(ip);
    n = n * 256 + Number(p);
  }
  return n;
}

export function numberToIp(n: number): string {
  return [Math.floor(n / 2 ** 24) % 256, Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256].join('.');
}

/** A CIDR block as its first address (a number) and its size in addresses. Throws CidrError. */
export function parseCidr(cidr: string): { base: number; size: number; prefix: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 32) throw new CidrError(cidr);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const base = ipToNumber(m[1]!);
  if (base % size !== 0) throw new CidrError(cidr);
  return { base, size, prefix };
}

/** The subnet of a zone (`us-east-1b` → `10.0.16.0/20`), or undefined for a zone not in the region. */
export function zoneSubnet(zone: string, region: Region = DEFAULT_REGION): string | undefined {
  const i = regionZones(region).indexOf(zone);
  if (i < 0) return undefined;
  const vpc = parseCidr(VPC_CIDR);
  const size = 2 ** (32 - SUBNET_PREFIX_LENGTH);
  return `${numberToIp(vpc.base + i * size)}/${SUBNET_PREFIX_LENGTH}`;
}

/**
 * The lowest free address of a zone's subnet, skipping the addresses AWS reserves, or undefined
 * when the subnet is full (EC2's `InsufficientFreeAddressesInSubnet`).
 */
export function allocateIp(zone: string, used: ReadonlySet<string>, region: Region = DEFAULT_REGION): string | undefined {
  const subnet = zoneSubnet(zone, region);
  if (!subnet) return undefined;
  const { base, size } = parseCidr(subnet);
  for (let n = base + SUBNET_RESERVED_HEAD; n < base + size - SUBNET_RESERVED_TAIL; n++) {
    const ip = numberToIp(n);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** EC2's private DNS name (IP-based naming): `10.0.1.23` → `ip-10-0-1-23.ec2.internal` in us-east-1. */
export function privateDnsName(ip: string, region: Region = DEFAULT_REGION): string {
  const suffix = REGIONS[region].dnsSuffix;
  return `ip-${ip.replaceAll('.', '-')}.${suffix}`;
}

/** The Node's `spec.providerID` as the AWS cloud provider writes it: `aws:///us-east-1a/i-0123…`. */
export function providerId(zone: string, instanceId: string): string {
  return `aws:///${zone}/${instanceId}`;
}

/** Zone and instance id from an AWS provider ID, or undefined if it is not one. */
export function parseProviderId(id: string | undefined): { zone: string; instanceId: string } | undefined {
  const m = id ? /^aws:\/\/\/([a-z0-9-]+)\/(i-[0-9a-f]+)$/.exec(id) : null;
  return m ? { zone: m[1]!, instanceId: m[2]! } : undefined;
}

/** The lowest free /24 of the cluster CIDR, or undefined when all are taken. Throws CidrError. */
export function allocatePodCidr(used: ReadonlySet<string>, clusterCidr: string = DEFAULT_CLUSTER_CIDR): string | undefined {
  const { base, size, prefix } = parseCidr(clusterCidr);
  if (prefix > NODE_CIDR_PREFIX_LENGTH) throw new CidrError(clusterCidr);
  const step = 2 ** (32 - NODE_CIDR_PREFIX_LENGTH);
  for (let n = base; n < base + size; n += step) {
    const cidr = `${numberToIp(n)}/${NODE_CIDR_PREFIX_LENGTH}`;
    if (!used.has(cidr)) return cidr;
  }
  return undefined;
}
