/**
 * The kinds the simulated AWS account serves, registered on the API server by `installCloud`:
 * EC2 (instances, the instance-type catalogue, Dedicated Hosts), EC2 Auto Scaling groups, and
 * billing (the usage ledger, Reserved Instances, Savings Plans).
 */
import { defineResource, type ResourceInfo } from '../api/resources.js';

export const CLOUD_RESOURCES: ResourceInfo[] = [
  defineResource({ gv: 'ec2.berth.dev/v1', resource: 'instances', kind: 'Instance', ns: false, short: ['inst', 'ec2'], cat: ['berth'], sub: ['status'], fields: ['spec.instanceType', 'status.state', 'spec.availabilityZone'], generation: true }),
  defineResource({ gv: 'ec2.berth.dev/v1', resource: 'instancetypes', kind: 'InstanceType', ns: false, short: ['it'], readOnly: true, verbs: ['get', 'list', 'watch'] }),
  defineResource({ gv: 'ec2.berth.dev/v1', resource: 'fleets', kind: 'Fleet', ns: false, short: ['ec2fleet'], cat: ['berth'], sub: ['status'], generation: true }),
  defineResource({ gv: 'ec2.berth.dev/v1', resource: 'dedicatedhosts', kind: 'DedicatedHost', ns: false, short: ['dh'], cat: ['berth'], sub: ['status'], fields: ['spec.availabilityZone', 'status.state'], generation: true }),
  defineResource({
    gv: 'autoscaling.berth.dev/v1',
    resource: 'autoscalinggroups',
    kind: 'AutoScalingGroup',
    scale: { specReplicasPath: '.spec.desiredCapacity', statusReplicasPath: '.status.currentCapacity' },
    ns: false,
    short: ['asg'],
    cat: ['berth'],
    sub: ['status', 'scale'],
    generation: true,
  }),
  defineResource({ gv: 'billing.berth.dev/v1', resource: 'usagerecords', kind: 'UsageRecord', ns: false, short: ['usage'], sub: ['status'], fields: ['spec.resourceId', 'spec.purchaseOption'] }),
  defineResource({ gv: 'billing.berth.dev/v1', resource: 'reservedinstances', kind: 'ReservedInstance', ns: false, short: ['ri'], cat: ['berth'], generation: true }),
  defineResource({ gv: 'billing.berth.dev/v1', resource: 'savingsplans', kind: 'SavingsPlan', ns: false, short: ['sp'], cat: ['berth'], generation: true }),
];
