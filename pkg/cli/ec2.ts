/**
 * `berth ec2 …`: the EC2 API's instance verbs, as the AWS CLI names them, over berth's Instance
 * and DedicatedHost objects: run-instances, stop-instances, start-instances,
 * terminate-instances, describe-instances, allocate-hosts, release-hosts, describe-hosts,
 * describe-spot-price-history, create-fleet and send-spot-interruption. A table by default; `-o json` gives
 * the AWS CLI's JSON shapes (`Reservations[].Instances[]`, `StoppingInstances[]`, …).
 *
 * State rules are EC2's: stopping a pending or terminated instance, or starting a stopping one,
 * is `IncorrectInstanceState`; stopping a stopped instance or starting a running one changes
 * nothing.
 */
import { isNotFound } from '../api/errors.js';
import type { KubeObject } from '../api/types.js';
import { BillingKinds, type DedicatedHost } from '../cloud/billing-types.js';
import { FleetKind, type Fleet, type FleetSpec } from '../cloud/fleet-controller.js';
import { SEND_SPOT_INTERRUPTION_ANNOTATION, GROUP_NAME_LABEL, type Instance, type OnDemandAllocationStrategy, type SpotAllocationStrategy, type Tenancy } from '../cloud/types.js';
import { STATE_CODES, type InstanceState } from '../cloud/lifecycle.js';
import { Kinds } from '../client/client.js';
import { CliError, ReportedError } from './errors.js';
import { checkOutput } from './get.js';
import type { Session } from './session.js';
import { GET_TABS, TabWriter } from './tabwriter.js';
import type { IO } from './types.js';

/** The account id berth's simulated account reports (`OwnerId`). */
export const OWNER_ID = '000000000000';

const DEFAULT_ZONE = 'us-east-1a';

/** `--placement AvailabilityZone=us-east-1b,Tenancy=dedicated,HostId=h-…` (the AWS CLI's shorthand). Throws CliError. */
export function parsePlacement(text: string | undefined): { availabilityZone?: string; tenancy?: string; hostId?: string; affinity?: string } {
  if (!text) return {};
  const out: Record<string, string> = {};
  const keys: Record<string, string> = { AvailabilityZone: 'availabilityZone', Tenancy: 'tenancy', HostId: 'hostId', Affinity: 'affinity' };
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    const k = keys[part.slice(0, i)];
    if (i < 0 || !k) throw new CliError(`invalid --placement "${part}": use AvailabilityZone=…, Tenancy=default|dedicated|host, HostId=h-… or Affinity=default|host`);
    out[k] = part.slice(i + 1);
  }
  return out;
}

/** An instance as the AWS CLI prints it (`Reservations[].Instances[]`). */
export function awsInstance(i: Instance): Record<string, unknown> {
  const st = i.status ?? {};
  const state = st.state ?? 'pending';
  const tags = i.metadata.labels?.[GROUP_NAME_LABEL] ? [{ Key: 'aws:autoscaling:groupName', Value: i.metadata.labels[GROUP_NAME_LABEL] }] : undefined;
  return {
    InstanceId: i.metadata.name,
    InstanceType: i.spec.instanceType,
    ...(i.spec.imageId ? { ImageId: i.spec.imageId } : {}),
    ...(st.launchTime ? { LaunchTime: st.launchTime } : {}),
    Placement: { AvailabilityZone: i.spec.availabilityZone, Tenancy: i.spec.tenancy ?? 'default', ...(st.hostId ? { HostId: st.hostId } : {}), ...(i.spec.affinity ? { Affinity: i.spec.affinity } : {}) },
    ...(st.privateDnsName ? { PrivateDnsName: st.privateDnsName } : {}),
    ...(st.privateIpAddress ? { PrivateIpAddress: st.privateIpAddress } : {}),
    State: { Code: STATE_CODES[state], Name: state },
    StateTransitionReason: st.stateTransitionReason ?? '',
    ...(st.stateReason ? { StateReason: { Code: st.stateReason.code, Message: st.stateReason.message } } : {}),
    ...(i.spec.instanceMarketOptions?.marketType === 'spot' ? { InstanceLifecycle: 'spot' } : {}),
    ...(tags ? { Tags: tags } : {}),
  };
}

function reservationId(id: string): string {
  return `r-${id.slice(2)}`;
}

function printJson(io: IO, v: unknown): void {
  io.stdout(`${JSON.stringify(v, null, 4)}\n`);
}

function table(io: IO, header: string[], rows: (string | number)[][]): void {
  const tw = new TabWriter(GET_TABS);
  tw.write(`${header.join('\t')}\n`);
  for (const r of rows) tw.write(`${r.join('\t')}\n`);
  io.stdout(tw.flush());
}

function instanceRow(i: Instance): string[] {
  const st = i.status ?? {};
  return [
    i.metadata.name!,
    i.spec.instanceType,
    i.spec.availabilityZone,
    st.state ?? 'pending',
    i.spec.instanceMarketOptions?.marketType === 'spot' ? 'spot' : 'on-demand',
    i.spec.tenancy ?? 'default',
    st.privateIpAddress ?? '<none>',
    st.launchTime ?? '<none>',
  ];
}

const INSTANCE_HEADER = ['INSTANCE-ID', 'INSTANCE-TYPE', 'ZONE', 'STATE', 'LIFECYCLE', 'TENANCY', 'PRIVATE-IP', 'LAUNCH-TIME'];

export interface RunInstancesOptions {
  instanceType?: string;
  count?: string;
  spot?: boolean;
  maxPrice?: string;
  interruptionBehavior?: string;
  tenancy?: string;
  hostId?: string;
  affinity?: string;
  availabilityZone?: string;
  placement?: string;
  imageId?: string;
  output?: string;
}

/** `berth ec2 run-instances --instance-type c5.large --count 2 [--spot] [--tenancy dedicated|host]`. */
export async function runRunInstances(s: Session, io: IO, o: RunInstancesOptions): Promise<void> {
  const output = checkOutput(o.output, ['', 'json']);
  if (!o.instanceType) throw new CliError('required flag --instance-type not given (e.g. --instance-type c5.large; see berth get instancetypes)');
  const count = Number(o.count ?? '1');
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new CliError(`invalid --count "${o.count}": a whole number from 1 to 1000`);
  const p = parsePlacement(o.placement);
  const zone = o.availabilityZone ?? p.availabilityZone ?? DEFAULT_ZONE;
  const tenancy = o.tenancy ?? p.tenancy;
  const hostId = o.hostId ?? p.hostId;
  const affinity = o.affinity ?? p.affinity;
  const spotOptions = { ...(o.maxPrice !== undefined ? { maxPrice: o.maxPrice } : {}), ...(o.interruptionBehavior ? { instanceInterruptionBehavior: o.interruptionBehavior as 'terminate' | 'stop' } : {}) };
  if (!o.spot && Object.keys(spotOptions).length) throw new CliError('--max-price and --instance-interruption-behavior need --spot');
  const created: Instance[] = [];
  for (let n = 0; n < count; n++) {
    const inst: Instance = {
      apiVersion: Kinds.Instance.apiVersion,
      kind: Kinds.Instance.kind,
      metadata: { generateName: 'i-' },
      spec: {
        instanceType: o.instanceType,
        availabilityZone: zone,
        ...(o.imageId ? { imageId: o.imageId } : {}),
        ...(o.spot ? { instanceMarketOptions: { marketType: 'spot' as const, ...(Object.keys(spotOptions).length ? { spotOptions } : {}) } } : {}),
        ...(tenancy ? { tenancy: tenancy as Tenancy } : {}),
        ...(hostId ? { hostId } : {}),
        ...(affinity ? { affinity: affinity as 'default' | 'host' } : {}),
      },
    };
    created.push(await s.client.create<Instance>(inst));
  }
  if (output === 'json') {
    printJson(io, { ReservationId: reservationId(created[0]!.metadata.name!), OwnerId: OWNER_ID, Groups: [], Instances: created.map(awsInstance) });
    return;
  }
  table(io, INSTANCE_HEADER, created.map(instanceRow));
}

type Verb = 'stop' | 'start' | 'terminate';

/** What EC2 answers for a state change asked of an instance in `state`: the state it moves to, or an IncorrectInstanceState error. */
export function stateChange(verb: Verb, id: string, state: InstanceState): { next: InstanceState } | { error: string } {
  const wrong = (what: string): { error: string } => ({ error: `IncorrectInstanceState: The instance '${id}' is not in a state from which it can be ${what}.` });
  switch (verb) {
    case 'stop':
      if (state === 'running') return { next: 'stopping' };
      if (state === 'stopping' || state === 'stopped') return { next: state };
      return wrong('stopped');
    case 'start':
      if (state === 'stopped') return { next: 'pending' };
      if (state === 'pending' || state === 'running') return { next: state };
      return wrong('started');
    case 'terminate':
      return { next: state === 'terminated' ? 'terminated' : 'shutting-down' };
  }
}

const VERB_KEYS: Record<Verb, string> = { stop: 'StoppingInstances', start: 'StartingInstances', terminate: 'TerminatingInstances' };
const DESIRED: Record<Verb, 'stopped' | 'running' | 'terminated'> = { stop: 'stopped', start: 'running', terminate: 'terminated' };

/** `berth ec2 stop-instances|start-instances|terminate-instances ID…`. Every id is checked before any is changed. */
export async function runStateChange(s: Session, io: IO, verb: Verb, ids: string[], opts: { output?: string }): Promise<void> {
  const output = checkOutput(opts.output, ['', 'json']);
  if (!ids.length) throw new CliError(`give the instance ids to ${verb} (berth ec2 ${verb}-instances i-0123… or --instance-ids …)`);
  const plan: { inst: Instance; prev: InstanceState; next: InstanceState }[] = [];
  for (const id of ids) {
    let inst: Instance;
    try {
      inst = await s.client.get<Instance>(Kinds.Instance, id);
    } catch (e) {
      if (isNotFound(e)) throw new CliError(`InvalidInstanceID.NotFound: The instance ID '${id}' does not exist`);
      throw e;
    }
    const prev = inst.status?.state ?? 'pending';
    const r = stateChange(verb, id, prev);
    if ('error' in r) throw new CliError(r.error);
    plan.push({ inst, prev, next: r.next });
  }
  for (const p of plan) {
    if (p.inst.spec.state !== DESIRED[verb]) await s.client.patch(Kinds.Instance, p.inst.metadata.name!, undefined, 'merge', { spec: { state: DESIRED[verb] } });
  }
  if (output === 'json') {
    printJson(io, { [VERB_KEYS[verb]]: plan.map((p) => ({ InstanceId: p.inst.metadata.name, CurrentState: { Code: STATE_CODES[p.next], Name: p.next }, PreviousState: { Code: STATE_CODES[p.prev], Name: p.prev } })) });
    return;
  }
  table(io, ['INSTANCE-ID', 'PREVIOUS-STATE', 'CURRENT-STATE'], plan.map((p) => [p.inst.metadata.name!, p.prev, p.next]));
}

/** `berth ec2 describe-instances [ID…]`. */
export async function runDescribeInstances(s: Session, io: IO, ids: string[], opts: { output?: string }): Promise<void> {
  const output = checkOutput(opts.output, ['', 'json']);
  let items: Instance[];
  if (ids.length) {
    items = [];
    for (const id of ids) {
      const i = await s.client.tryGet<Instance>(Kinds.Instance, id);
      if (!i) throw new CliError(`InvalidInstanceID.NotFound: The instance ID '${id}' does not exist`);
      items.push(i);
    }
  } else {
    items = (await s.client.list<Instance>(Kinds.Instance)).items.sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  }
  if (output === 'json') {
    printJson(io, { Reservations: items.map((i) => ({ ReservationId: reservationId(i.metadata.name!), OwnerId: OWNER_ID, Groups: [], Instances: [awsInstance(i)] })) });
    return;
  }
  if (!items.length) {
    io.stderr('No instances found\n');
    return;
  }
  table(io, INSTANCE_HEADER, items.map(instanceRow));
}

/** `berth ec2 allocate-hosts --instance-family m5 | --instance-type m5.large --availability-zone us-east-1a [--quantity N] [--auto-placement on]`. */
export async function runAllocateHosts(s: Session, io: IO, o: { instanceFamily?: string; instanceType?: string; availabilityZone?: string; quantity?: string; autoPlacement?: string; output?: string }): Promise<void> {
  const output = checkOutput(o.output, ['', 'json']);
  const n = Number(o.quantity ?? '1');
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new CliError(`invalid --quantity "${o.quantity}": a whole number from 1 to 100`);
  if (!o.availabilityZone) throw new CliError('required flag --availability-zone not given (e.g. us-east-1a)');
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const h = await s.client.create<DedicatedHost>({
      apiVersion: BillingKinds.DedicatedHost.apiVersion,
      kind: BillingKinds.DedicatedHost.kind,
      metadata: { generateName: 'h-' },
      spec: { ...(o.instanceFamily ? { instanceFamily: o.instanceFamily } : {}), ...(o.instanceType ? { instanceType: o.instanceType } : {}), availabilityZone: o.availabilityZone, ...(o.autoPlacement ? { autoPlacement: o.autoPlacement as 'on' | 'off' } : {}) },
    });
    ids.push(h.metadata.name!);
  }
  if (output === 'json') printJson(io, { HostIds: ids });
  else io.stdout(ids.map((id) => `${id}\n`).join(''));
}

/** `berth ec2 release-hosts ID…`: refuses hosts with instances on them, as ReleaseHosts does. */
export async function runReleaseHosts(s: Session, io: IO, ids: string[], opts: { output?: string }): Promise<void> {
  const output = checkOutput(opts.output, ['', 'json']);
  if (!ids.length) throw new CliError('give the host ids to release (berth ec2 release-hosts h-0123…)');
  const successful: string[] = [];
  const unsuccessful: { ResourceId: string; Error: { Code: string; Message: string } }[] = [];
  for (const id of ids) {
    const h = await s.client.tryGet<DedicatedHost>(BillingKinds.DedicatedHost, id);
    if (!h) {
      unsuccessful.push({ ResourceId: id, Error: { Code: 'Client.InvalidHostID.NotFound', Message: `The Dedicated Host ID '${id}' does not exist` } });
      continue;
    }
    const placed = h.status?.instances?.length ?? 0;
    if (placed) {
      unsuccessful.push({ ResourceId: id, Error: { Code: 'Client.InvalidHost.Occupied', Message: `Dedicated host ${id} cannot be released as it is occupied by ${placed} instance(s)` } });
      continue;
    }
    await s.client.delete(BillingKinds.DedicatedHost, id);
    successful.push(id);
  }
  if (output === 'json') printJson(io, { Successful: successful, Unsuccessful: unsuccessful });
  else {
    for (const id of successful) io.stdout(`${id} released\n`);
    for (const u of unsuccessful) io.stderr(`error: ${u.Error.Code}: ${u.Error.Message}\n`);
  }
  if (unsuccessful.length) throw new ReportedError(1);
}

/** `berth ec2 describe-hosts [ID…]`. */
export async function runDescribeHosts(s: Session, io: IO, ids: string[], opts: { output?: string }): Promise<void> {
  const output = checkOutput(opts.output, ['', 'json']);
  let hosts = (await s.client.list<DedicatedHost>(BillingKinds.DedicatedHost)).items;
  if (ids.length) hosts = hosts.filter((h) => ids.includes(h.metadata.name!));
  hosts.sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  if (output === 'json') {
    printJson(io, {
      Hosts: hosts.map((h) => ({
        HostId: h.metadata.name,
        AvailabilityZone: h.spec.availabilityZone,
        AutoPlacement: h.spec.autoPlacement ?? 'off',
        State: h.status?.state ?? 'pending',
        AllocationTime: h.status?.allocationTime,
        HostProperties: { InstanceFamily: h.status?.hostProperties?.instanceFamily ?? h.spec.instanceFamily, ...(h.spec.instanceType ? { InstanceType: h.spec.instanceType } : {}), TotalVCpus: h.status?.hostProperties?.totalVCpus },
        AvailableCapacity: { AvailableVCpus: h.status?.availableCapacity?.availableVCpus },
        Instances: (h.status?.instances ?? []).map((i) => ({ InstanceId: i.instanceId, InstanceType: i.instanceType })),
      })),
    });
    return;
  }
  if (!hosts.length) {
    io.stderr('No hosts found\n');
    return;
  }
  table(
    io,
    ['HOST-ID', 'FAMILY', 'ZONE', 'STATE', 'INSTANCES', 'VCPUS-FREE', 'PRICE'],
    hosts.map((h) => [
      h.metadata.name!,
      h.spec.instanceType ?? h.spec.instanceFamily ?? '',
      h.spec.availabilityZone,
      h.status?.state ?? 'pending',
      h.status?.instances?.length ?? 0,
      h.status?.hostProperties ? `${h.status.availableCapacity?.availableVCpus ?? 0}/${h.status.hostProperties.totalVCpus}` : '',
      h.status?.hourlyPrice !== undefined ? `$${h.status.hourlyPrice.toFixed(4)}/h` : '',
    ]),
  );
}

/** `berth ec2 send-spot-interruption ID…`: the two-minute notice now, as AWS FIS sends it. */
export async function runSendSpotInterruption(s: Session, io: IO, ids: string[]): Promise<void> {
  if (!ids.length) throw new CliError('give the Spot Instance ids to interrupt');
  for (const id of ids) {
    const i = await s.client.tryGet<Instance>(Kinds.Instance, id);
    if (!i) throw new CliError(`InvalidInstanceID.NotFound: The instance ID '${id}' does not exist`);
    if (i.spec.instanceMarketOptions?.marketType !== 'spot') throw new CliError(`InvalidParameterValue: ${id} is not a Spot Instance`);
    if (i.status?.state !== 'running') throw new CliError(`IncorrectInstanceState: ${id} is ${i.status?.state ?? 'pending'}, not running`);
  }
  for (const id of ids) {
    await s.client.patch<KubeObject>(Kinds.Instance, id, undefined, 'merge', { metadata: { annotations: { [SEND_SPOT_INTERRUPTION_ANNOTATION]: 'berth ec2 send-spot-interruption' } } });
    io.stdout(`${id}: interruption notice sent (EC2 acts in two minutes)\n`);
  }
}

/** `berth ec2 describe-spot-price-history --instance-types m5.large[,…] [--availability-zone Z] [--start-time T] [--end-time T]`. */
export async function runDescribeSpotPriceHistory(s: Session, io: IO, o: { instanceTypes?: string; availabilityZone?: string; startTime?: string; endTime?: string; output?: string }): Promise<void> {
  const output = checkOutput(o.output, ['', 'json']);
  if (!o.instanceTypes) throw new CliError('required flag --instance-types not given (e.g. --instance-types m5.large,c5.large)');
  const query: Record<string, string> = { instanceTypes: o.instanceTypes, ...(o.availabilityZone ? { availabilityZone: o.availabilityZone } : {}), ...(o.startTime ? { startTime: o.startTime } : {}), ...(o.endTime ? { endTime: o.endTime } : {}) };
  const res = (await s.transport.call('GET', '/ec2/v1/spot-price-history', { query })) as { SpotPriceHistory: { AvailabilityZone: string; InstanceType: string; ProductDescription: string; SpotPrice: string; Timestamp: string }[] };
  if (output === 'json') {
    printJson(io, res);
    return;
  }
  table(io, ['TIMESTAMP', 'INSTANCE-TYPE', 'ZONE', 'SPOT-PRICE'], res.SpotPriceHistory.map((p) => [p.Timestamp, p.InstanceType, p.AvailabilityZone, `$${p.SpotPrice}/h`]));
}

/** `berth ec2 create-fleet --instance-types a,b --target-capacity N [--on-demand-target-capacity M] [--type instant|maintain] …`. */
export async function runCreateFleet(
  s: Session,
  io: IO,
  o: { instanceTypes?: string; targetCapacity?: string; onDemandTargetCapacity?: string; type?: string; availabilityZones?: string; spotAllocationStrategy?: string; onDemandAllocationStrategy?: string; spotInstancePools?: string; spotMaxPrice?: string; output?: string },
): Promise<void> {
  const output = checkOutput(o.output, ['', 'json']);
  if (!o.instanceTypes) throw new CliError('required flag --instance-types not given (e.g. --instance-types m5.large,m5a.large,c5.large)');
  if (o.targetCapacity === undefined) throw new CliError('required flag --target-capacity not given');
  const num = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new CliError(`invalid argument "${v}" for "${flag}" flag: a whole number`);
    return n;
  };
  const type = o.type ?? 'instant';
  const pools = num('--spot-instance-pools', o.spotInstancePools);
  const spec: FleetSpec = {
    type: type as FleetSpec['type'],
    overrides: o.instanceTypes.split(',').filter(Boolean).map((instanceType) => ({ instanceType })),
    availabilityZones: (o.availabilityZones ?? DEFAULT_ZONE).split(',').filter(Boolean),
    targetCapacitySpecification: { totalTargetCapacity: num('--target-capacity', o.targetCapacity)!, onDemandTargetCapacity: num('--on-demand-target-capacity', o.onDemandTargetCapacity) ?? 0 },
    ...(o.spotAllocationStrategy || pools || o.spotMaxPrice ? { spotOptions: { ...(o.spotAllocationStrategy ? { allocationStrategy: o.spotAllocationStrategy as SpotAllocationStrategy } : {}), ...(pools ? { instancePoolsToUseCount: pools } : {}), ...(o.spotMaxPrice ? { maxPrice: o.spotMaxPrice } : {}) } } : {}),
    ...(o.onDemandAllocationStrategy ? { onDemandOptions: { allocationStrategy: o.onDemandAllocationStrategy as OnDemandAllocationStrategy } } : {}),
  };
  const fleet = await s.client.create<Fleet>({ apiVersion: FleetKind.apiVersion, kind: FleetKind.kind, metadata: { generateName: 'fleet-' }, spec });
  const name = fleet.metadata.name!;
  let status = fleet.status;
  if (type === 'instant') {
    // EC2 answers an instant fleet with its instances: wait (briefly, in real time) for the controller.
    const deadline = Date.now() + 15_000;
    while (!status?.instances && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await s.client.get<Fleet>(FleetKind, name)).status;
    }
    if (!status?.instances) throw new CliError(`fleet ${name} was created but launched nothing within 15 s: is the cloud component running? (berth get fleets ${name})`);
  }
  const groups = new Map<string, { Lifecycle: string; InstanceType: string; AvailabilityZone: string; InstanceIds: string[] }>();
  for (const i of status?.instances ?? []) {
    const k = `${i.lifecycle}/${i.instanceType}/${i.availabilityZone}`;
    const g = groups.get(k) ?? { Lifecycle: i.lifecycle, InstanceType: i.instanceType, AvailabilityZone: i.availabilityZone, InstanceIds: [] };
    g.InstanceIds.push(i.instanceId);
    groups.set(k, g);
  }
  if (output === 'json') {
    printJson(io, { FleetId: name, Errors: [], Instances: [...groups.values()].map((g) => ({ LaunchTemplateAndOverrides: { Overrides: { InstanceType: g.InstanceType, AvailabilityZone: g.AvailabilityZone } }, Lifecycle: g.Lifecycle, InstanceIds: g.InstanceIds, InstanceType: g.InstanceType })) });
    return;
  }
  io.stdout(`${name} created (${type})\n`);
  if (groups.size) table(io, ['LIFECYCLE', 'INSTANCE-TYPE', 'ZONE', 'INSTANCES'], [...groups.values()].map((g) => [g.Lifecycle, g.InstanceType, g.AvailabilityZone, g.InstanceIds.join(',')]));
}
