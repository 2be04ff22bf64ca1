import t from 'tap';
import { catalog } from './catalog.js';
import { seededRandom } from './types.js';
import { autoScalingGroupHooks, instanceHooks, unsupportedInstanceType, validateTaints } from './validation.js';

const opts = { catalog: catalog(), region: 'us-east-1' as const, random: seededRandom(1) };

t.test('taints follow core/v1 rules', async (t) => {
  t.same(validateTaints([{ key: 'gpu', value: 'true', effect: 'NoSchedule' }, { key: 'gpu', effect: 'NoExecute' }], 'spec.t'), []);
  t.same(
    validateTaints([{ key: 'a b', effect: 'NoSchedule' }, { key: 'x', value: 'not ok!', effect: 'Never' }, 'oops'], 'spec.t').map((e) => e.field),
    ['spec.t[0].key', 'spec.t[1].value', 'spec.t[1].effect', 'spec.t[2]'],
  );
  t.same(validateTaints({ key: 'x' }, 'spec.t').map((e) => e.detail), ['Invalid value: {"key":"x"}: must be a list of taints']);
  t.same(validateTaints(undefined, 'spec.t'), []);
});

t.test('an unknown instance type names its family’s sizes', async (t) => {
  const e = unsupportedInstanceType('spec.instanceType', 'c5.huge', catalog());
  t.equal(e.type, 'FieldValueNotSupported');
  t.match(e.detail, /^Unsupported value: "c5\.huge": supported values for family c5: "c5\.large", "c5\.xlarge"/);
  t.match(unsupportedInstanceType('spec.instanceType', 42, catalog()).detail, /^Unsupported value: 42: not one of the 260 instance types/);
});

t.test('hooks', async (t) => {
  const inst = instanceHooks(opts);
  const o = { metadata: { name: 'i-x', generateName: 'i-' }, spec: { instanceType: 'm5.large', availabilityZone: 'us-east-1a' } as Record<string, unknown> };
  inst.default!(o);
  t.match(o.metadata.name, /^i-0[0-9a-f]{16}$/);
  t.equal(o.spec.state, 'running');
  t.same(inst.validate!(o), []);
  t.same(inst.validate!({ metadata: { name: 'i-0123456789abcdef0' } }).map((e) => e.field), ['spec']);

  const asg = autoScalingGroupHooks(opts);
  const g = { metadata: { name: 'g' }, spec: { minSize: 2, maxSize: 4, launchTemplate: { instanceType: 'm5.large' }, availabilityZones: ['us-east-1a'] } as Record<string, unknown> };
  asg.default!(g);
  t.equal(g.spec.desiredCapacity, 2);
  t.same(asg.validate!(g), []);
  g.spec.desiredCapacity = '3';
  t.same(asg.validate!(g).map((e) => e.detail), ['Invalid value: "3": must be an integer']);
});
