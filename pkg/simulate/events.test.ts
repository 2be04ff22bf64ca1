import t from 'tap';
import { formatDuration, parseDuration } from './duration.js';
import { parseEvents } from './events.js';

t.test('durations', async (t) => {
  const cases: [string, number][] = [
    ['0', 0],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['1d12h', 129_600_000],
    ['250ms', 250],
  ];
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, text);
  for (const bad of ['', '90', '2x', 'h', '-1h', '1h 30m', '2hours']) t.throws(() => parseDuration(bad), { code: 'InvalidDuration' }, bad);
  t.match(() => parseDuration('90'), /./);
  t.throws(() => parseDuration('90'), /has no unit: write it as 90s, 90m or 90h/);
  t.equal(formatDuration(0), '0s');
  t.equal(formatDuration(90_000), '1m30s');
  t.equal(formatDuration(129_600_000), '1d12h');
  t.equal(formatDuration(1_500), '1.5s');
  t.equal(parseDuration(formatDuration(5_400_000)), 5_400_000);
});

const files: Record<string, string> = {
  '/sim/more.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: "1"}\n',
  '/sim/empty.yaml': '# nothing\n',
};
const readFile = (p: string): string => {
  const f = files[p];
  if (f === undefined) throw new Error('ENOENT');
  return f;
};
const parse = (text: string, durationMs = 86_400_000) => parseEvents('/sim/events.yaml', text, { durationMs, readFile });

t.test('the issue’s examples parse, sorted by time (file order among equals)', async (t) => {
  const events = parse(`
- {at: 2h, action: scale, target: deployment/web, namespace: default, replicas: 40}
- {at: 30m, action: apply, file: more.yaml}
- {at: 3h, action: delete, target: deployment/web}
- {at: 5h, action: interrupt-spot, fraction: 0.3}
- {at: 6h, action: fail-instance, count: 1}
- {at: 30m, action: scale, target: asg/general, replicas: 0}
`);
  t.same(
    events.map((e) => [e.at, e.action, e.source.index, e.source.line]),
    [
      [1_800_000, 'apply', 2, 3],
      [1_800_000, 'scale', 6, 7],
      [7_200_000, 'scale', 1, 2],
      [10_800_000, 'delete', 3, 4],
      [18_000_000, 'interrupt-spot', 4, 5],
      [21_600_000, 'fail-instance', 5, 6],
    ],
  );
  t.match(events[2], { action: 'scale', target: 'deployment/web', namespace: 'default', replicas: 40 });
  t.match(events[0], { action: 'apply', file: 'more.yaml' });
  t.equal((events[0] as { docs: unknown[] }).docs.length, 1, 'the apply file is read, relative to the events file');
  t.notOk('namespace' in events[3]!, 'no namespace given: none recorded (the target kind decides)');
  t.match(events[4], { fraction: 0.3 });
  t.match(events[5], { count: 1 });
});

t.test('an empty file is no events', async (t) => {
  t.same(parse(''), []);
  t.same(parse('# only a comment\n'), []);
});

t.test('mistakes are reported with file, line, entry and field', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['not a list', 'at: 2h\naction: scale\n', /^\/sim\/events\.yaml:1: the events file must be a YAML list/],
    ['an entry that is not a map', '- scale web\n', /^\/sim\/events\.yaml:1: event 1: an entry must be a map/],
    ['no action', '- {at: 2h}\n', /^\/sim\/events\.yaml:1: event 1: action: required: one of scale, apply, delete, interrupt-spot, fail-instance, load$/],
    ['unknown action', '- {at: 1h, action: fail-instance, count: 1}\n- {at: 2h,\n   action: resize}\n', /^\/sim\/events\.yaml:3: event 2: action: unknown action "resize"/],
    ['no at', '- {action: fail-instance, count: 1}\n', /^\/sim\/events\.yaml:1: event 1 \(fail-instance\): at: required/],
    ['at without a unit', '- {at: 90, action: fail-instance, count: 1}\n', /event 1 \(fail-instance\): at: 90 is not a duration: write it with a unit/],
    ['bad duration', '- {at: 2hours, action: fail-instance, count: 1}\n', /event 1 \(fail-instance\): at: "2hours" is not a duration/],
    ['after the end', '- {at: 30h, action: fail-instance, count: 1}\n', /event 1 \(fail-instance\): at: 1d6h is after the end of the simulation \(--duration 1d\)/],
    ['typo in a field', '- at: 2h\n  action: scale\n  target: deployment/web\n  replica: 4\n', /^\/sim\/events\.yaml:4: event 1 \(scale\): replica: unknown field for scale: it takes at, action, target, namespace, replicas$/],
    ['no replicas', '- {at: 2h, action: scale, target: deployment/web}\n', /event 1 \(scale\): replicas: required/],
    ['negative replicas', '- {at: 2h, action: scale, target: deployment/web, replicas: -1}\n', /event 1 \(scale\): replicas: must be a whole number ≥ 0, got -1/],
    ['replicas as text', '- {at: 2h, action: scale, target: deployment/web, replicas: forty}\n', /replicas: must be a whole number ≥ 0, got "forty"/],
    ['target without a kind', '- {at: 2h, action: delete, target: web}\n', /event 1 \(delete\): target: "web" must be KIND\/NAME, e.g. deployment\/web/],
    ['bad namespace', '- {at: 2h, action: delete, target: deployment/web, namespace: Prod}\n', /namespace: "Prod" is not a valid namespace name/],
    ['fraction above 1', '- {at: 5h, action: interrupt-spot, fraction: 30}\n', /event 1 \(interrupt-spot\): fraction: must be a number in \(0, 1\], got 30/],
    ['zero count', '- {at: 5h, action: fail-instance, count: 0}\n', /event 1 \(fail-instance\): count: must be a whole number ≥ 1, got 0/],
    ['missing apply file', '- {at: 1h, action: apply, file: nope.yaml}\n', /event 1 \(apply\): file: cannot read "\/sim\/nope\.yaml"/],
    ['apply file with nothing in it', '- {at: 1h, action: apply, file: empty.yaml}\n', /event 1 \(apply\): file: "\/sim\/empty\.yaml" holds no objects/],
    ['YAML syntax', '- {at: 1h, action: apply\n', /^\/sim\/events\.yaml:\d+:\d+: /],
  ];
  for (const [what, text, message] of cases) t.throws(() => parse(text), { name: 'EventsFileError', message }, what);
});
