import t from 'tap';
import { evaluate, parseQuery, QueryLanguageError, type QueryTarget } from './query.js';
import { parseConstraints, parseStrategies } from './spec.js';

const g2 = (over: Partial<QueryTarget> = {}): QueryTarget => ({
  attributes: { 'ecs.instance-type': 'g2.2xlarge', 'ecs.availability-zone': 'us-east-1a', stack: 'prod' },
  ec2InstanceId: 'i-abcd1234',
  taskGroups: new Set(['service:production']),
  runningTasksCount: 1,
  registeredAt: '2018-02-01T10:00:00Z',
  agentConnected: true,
  ...over,
});

const holds = (expr: string, target = g2()): boolean => evaluate(parseQuery(expr), target);

t.test('the examples of the Cluster query language page', async (t) => {
  t.ok(holds('attribute:ecs.instance-type == g2.2xlarge'));
  t.notOk(holds('attribute:ecs.instance-type == t2.small'));
  t.ok(holds('attribute:ecs.availability-zone in [us-east-1a, us-east-1b]'));
  t.notOk(holds('attribute:ecs.availability-zone in [us-east-1c,us-east-1d]'));
  t.ok(holds('attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d'));
  t.ok(holds('task:group == service:production'));
  t.notOk(holds('not(task:group == service:production)'));
  t.ok(holds('not(task:group == database)'));
  t.ok(holds('runningTasksCount == 1'));
  t.ok(holds('agentVersion < 1.14.5', g2({ agentVersion: '1.9.0' })), 'versions compare part by part (1.9.0 < 1.14.5)');
  t.ok(holds('registeredAt < 2018-02-13'));
  t.notOk(holds('registeredAt < 2018-01-13'));
  t.ok(holds("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']"));
});

t.test('operators, their word forms, and absent subjects', async (t) => {
  t.ok(holds('attribute:stack equals prod'));
  t.ok(holds('attribute:stack not_equals dev'));
  t.ok(holds('attribute:stack exists'));
  t.ok(holds('attribute:missing !exists'));
  t.ok(holds('attribute:missing not_exists'));
  t.notOk(holds('attribute:missing != prod'), 'an absent attribute satisfies only !exists');
  t.notOk(holds('attribute:missing !in [a]'));
  t.ok(holds('attribute:stack not_in [dev, test]'));
  t.ok(holds('attribute:stack !in [dev]'));
  t.ok(holds('attribute:ecs.instance-type matches g2\\..*'));
  t.ok(holds('attribute:ecs.instance-type !~ t3.*'));
  t.ok(holds('attribute:ecs.instance-type not_matches t3.*'));
  t.notOk(holds('attribute:ecs.instance-type =~ g2'), 'a pattern must match the whole value (Java Pattern.matches)');
  t.ok(holds('attribute:ecs.instance-type =~ (g2|p3).*'), 'a regular expression keeps its own parentheses');
  t.ok(holds('runningTasksCount > 0 && runningTasksCount >= 1 && runningTasksCount <= 1 && runningTasksCount < 2'));
  t.ok(holds('runningTasksCount greater_than 0 and runningTasksCount less_than_equal 1'));
  t.ok(holds('agentConnected == true'));
  t.ok(holds('task:group exists'));
  t.ok(holds('task:group !exists', g2({ taskGroups: new Set() })));
  t.ok(holds('task:group != database'));
  t.ok(holds('task:group =~ service:.*'));
});

t.test('compound expressions: precedence and parentheses', async (t) => {
  // and binds tighter than or.
  t.ok(holds('attribute:stack == dev and attribute:stack == x or attribute:stack == prod'));
  t.notOk(holds('attribute:stack == dev and (attribute:stack == x or attribute:stack == prod)'));
  t.ok(holds('(attribute:stack == dev || attribute:stack == prod) && attribute:ecs.availability-zone == us-east-1a'));
  t.ok(holds('!(attribute:stack == dev)'));
  t.ok(holds('not not attribute:stack == prod'));
  t.ok(holds('((attribute:stack == prod))'));
  t.ok(holds('(attribute:ecs.instance-type =~ g2.*)'), 'a regular expression ends at the closing parenthesis of the group');
});

t.test('malformed expressions name the position', async (t) => {
  const cases: [string, number, RegExp][] = [
    ['', 0, /the expression is empty/],
    ['attribute:ecs.instance-type', 27, /expected an operator after "attribute:ecs.instance-type"/],
    ['attribute:ecs.instance-type ~= t3.*', 28, /unknown operator "~"/],
    ['instance-type == t3.micro', 0, /unknown subject "instance-type"/],
    ['attribute: == x', 0, /"attribute:" needs an attribute name/],
    ['attribute:a == ', 15, /expected a value, found the end/],
    ['attribute:a in us-east-1a', 15, /expected "\[" starting an argument list/],
    ['attribute:a in [x, y', 20, /expected "," or "\]"/],
    ['(attribute:a == x', 17, /expected "\)"/],
    ['attribute:a == x attribute:b == y', 17, /unexpected "attribute:b " \(expected "and", "or" or the end\)/],
    ['attribute:a == x and', 20, /expected a subject/],
    ["attribute:a == 'x", 15, /unterminated quoted value/],
    ['attribute:a =~ [', 15, /invalid regular expression "\["/],
  ];
  for (const [expr, position, message] of cases) {
    try {
      parseQuery(expr);
      t.fail(`${JSON.stringify(expr)} should not parse`);
    } catch (e) {
      t.ok(e instanceof QueryLanguageError, expr);
      t.equal((e as QueryLanguageError).position, position, `${JSON.stringify(expr)}: position`);
      t.match((e as Error).message, message, `${JSON.stringify(expr)}: message`);
      t.match((e as Error).message, `at position ${position}`);
    }
  }
});

t.test('strategy and constraint annotations', async (t) => {
  t.same(parseStrategies('[{"type":"spread","field":"attribute:ecs.availability-zone"},{"type":"binpack","field":"memory"},{"type":"spread","field":"host"},{"type":"random"}]'), [
    { kind: 'spread-attribute', attribute: 'ecs.availability-zone' },
    { kind: 'binpack', resource: 'memory' },
    { kind: 'spread-instance' },
    { kind: 'random' },
  ]);
  t.same(parseStrategies(undefined), []);
  t.throws(() => parseStrategies('{"type":"random"}'), /must be a JSON array/);
  t.throws(() => parseStrategies('[{"type":"binpack"}]'), /\[0\]\.field: binpack takes "cpu" or "memory"/);
  t.throws(() => parseStrategies('[{"type":"spread"}]'), /\[0\]\.field: spread needs a field/);
  t.throws(() => parseStrategies('[{"type":"pack"}]'), /\[0\]\.type: must be binpack, spread or random/);
  t.throws(() => parseStrategies(JSON.stringify(Array(6).fill({ type: 'random' }))), /6 strategy rules, at most 5/);
  t.throws(() => parseStrategies('[{'), /not valid JSON/);
  const c = parseConstraints('[{"type":"distinctInstance"},{"type":"memberOf","expression":"attribute:ecs.instance-type =~ t3.*"}]');
  t.equal(c.distinctInstance, true);
  t.same(
    c.memberOf.map((m) => m.expression),
    ['attribute:ecs.instance-type =~ t3.*'],
  );
  t.throws(() => parseConstraints('[{"type":"memberOf"}]'), /\[0\]\.expression: memberOf needs a cluster query language expression/);
  t.throws(() => parseConstraints('[{"type":"memberOf","expression":"bad"}]'), /\[0\]\.expression: invalid cluster query expression "bad": unknown subject "bad"/);
  t.throws(() => parseConstraints('[{"type":"sameInstance"}]'), /must be distinctInstance or memberOf/);
});
