/**
 * The kinds the simulated EC2 account serves, registered on the API server by `installCloud`.
 */
import { defineResource, type ResourceInfo } from '../api/resources.js';

export const CLOUD_RESOURCES: ResourceInfo[] = [
  defineResource({ gv: 'ec2.berth.dev/v1', resource: 'instances', kind: 'Instance', ns: false, short: ['inst', 'ec2'], cat: ['berth'], sub: ['status'], fields: ['spec.instanceType', 'status.state', 'spec.availabilityZone'], generation: true }),
  defineResource({ gv: 'ec2.berth.dev/v1', resource: 'instancetypes', kind: 'InstanceType', ns: false, short: ['it'], readOnly: true, verbs: ['get', 'list', 'watch'] }),
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
];
