/**
 * ECS's cluster query language, the expressions of `memberOf` placement constraints
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-query-language.html):
 *
 * ```
 * expression  := or
 * or          := and (("or" | "||") and)*
 * and         := unary (("and" | "&&") unary)*
 * unary       := ("not" | "!") unary | "(" expression ")" | comparison
 * comparison  := subject operator [argument]
 * subject     := attribute:<name> | ec2InstanceId | task:group | runningTasksCount | registeredAt
 *                | agentConnected | agentVersion
 * operator    := == equals | != not_equals | > greater_than | >= greater_than_equal | < less_than
 *                | <= less_than_equal | exists | !exists not_exists | in | !in not_in
 *                | =~ matches | !~ not_matches
 * argument    := value | "[" value ("," value)* "]"   (a list for in / not_in, nothing for exists)
 * value       := word | 'quoted' | "quoted"
 * ```
 *
 * `matches` takes a Java regular expression (java.util.regex.Pattern); berth runs it as a
 * JavaScript RegExp that must match the whole value (Java's `Pattern.matches`), which agrees for
 * the patterns ECS examples use (`t2.*`, `g2.*`). A single comparison has no parentheses;
 * parentheses group compound expressions, and a regular expression's own parentheses are kept
 * when balanced (`=~ (t2|t3).*`).
 *
 * Semantics berth chose where the page is silent: a subject an instance does not have (an
 * attribute it lacks) satisfies only `!exists` (so `attribute:stack != prod` selects instances
 * that have `stack`, as the page's list-container-instances example says); `task:group` is the
 * set of groups of the tasks on the instance — `==`, `in` and `=~` hold if any task's group
 * matches, their negations if none does, and `exists` if the instance runs any task; `>`, `<`…
 * compare numbers numerically, dates (registeredAt) as instants, dotted versions (agentVersion)
 * part by part.
 */

/** A malformed expression: `position` is the 0-based offset in `expression` where parsing failed. */
export class QueryLanguageError extends Error {
  override name = 'QueryLanguageError';
  constructor(
    readonly expression: string,
    readonly position: number,
    detail: string,
  ) {
    super(`invalid cluster query expression "${expression}": ${detail} at position ${position}`);
  }
}

export type Operator = '==' | '!=' | '>' | '>=' | '<' | '<=' | 'exists' | '!exists' | 'in' | '!in' | '=~' | '!~';

/** The subjects ECS documents. `attribute` carries the attribute's name. */
export type Subject = { kind: 'attribute'; name: string } | { kind: 'ec2InstanceId' | 'task:group' | 'runningTasksCount' | 'registeredAt' | 'agentConnected' | 'agentVersion' };

export type Expr =
  | { op: 'and' | 'or'; left: Expr; right: Expr }
  | { op: 'not'; expr: Expr }
  | { op: 'cmp'; subject: Subject; operator: Operator; values: string[]; regex?: RegExp };

const OPERATOR_WORDS: Record<string, Operator> = {
  equals: '==',
  not_equals: '!=',
  greater_than: '>',
  greater_than_equal: '>=',
  less_than: '<',
  less_than_equal: '<=',
  exists: 'exists',
  not_exists: '!exists',
  in: 'in',
  not_in: '!in',
  matches: '=~',
  not_matches: '!~',
};
// Longest first, so `>=` wins over `>` and `!exists` over `!=`… (none is a prefix of a longer one's use).
const OPERATOR_SYMBOLS: [string, Operator][] = [
  ['!exists', '!exists'],
  ['!in', '!in'],
  ['==', '=='],
  ['!=', '!='],
  ['>=', '>='],
  ['<=', '<='],
  ['=~', '=~'],
  ['!~', '!~'],
  ['>', '>'],
  ['<', '<'],
];
const SUBJECTS = new Set(['ec2InstanceId', 'task:group', 'runningTasksCount', 'registeredAt', 'agentConnected', 'agentVersion']);
/** Characters that end a word: white space, brackets, parentheses, commas, quotes and operator symbols. */
const DELIMITERS = new Set([' ', '\t', '\n', '\r', '(', ')', '[', ']', ',', "'", '"', '=', '!', '<', '>', '&', '|']);

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(detail: string, at = this.pos): never {
    throw new QueryLanguageError(this.src, at, detail);
  }

  skip(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  peekWord(): string {
    this.skip();
    let end = this.pos;
    while (end < this.src.length && !DELIMITERS.has(this.src[end]!)) end++;
    return this.src.slice(this.pos, end);
  }

  /** Consumes `s` (a symbol, or a keyword that must end at a delimiter) if it comes next. */
  eat(s: string, keyword = false): boolean {
    this.skip();
    if (!this.src.startsWith(s, this.pos)) return false;
    if (keyword) {
      const next = this.src[this.pos + s.length];
      if (next !== undefined && !DELIMITERS.has(next)) return false;
    }
    this.pos += s.length;
    return true;
  }

  parse(): Expr {
    this.skip();
    if (this.pos >= this.src.length) this.fail('the expression is empty');
    const e = this.or();
    this.skip();
    if (this.pos < this.src.length) this.fail(`unexpected "${this.src.slice(this.pos, this.pos + 12)}" (expected "and", "or" or the end)`);
    return e;
  }

  or(): Expr {
    let left = this.and();
    while (this.eat('||') || this.eat('or', true)) left = { op: 'or', left, right: this.and() };
    return left;
  }

  and(): Expr {
    let left = this.unary();
    while (this.eat('&&') || this.eat('and', true)) left = { op: 'and', left, right: this.unary() };
    return left;
  }

  unary(): Expr {
    this.skip();
    if (this.eat('not', true) || (this.src[this.pos] === '!' && this.src[this.pos + 1] !== '=' && this.src[this.pos + 1] !== '~' && this.eat('!'))) return { op: 'not', expr: this.unary() };
    if (this.eat('(')) {
      const e = this.or();
      if (!this.eat(')')) this.fail('expected ")"');
      return e;
    }
    return this.comparison();
  }

  comparison(): Expr {
    this.skip();
    const at = this.pos;
    if (this.pos >= this.src.length) this.fail('expected a subject (attribute:<name>, ec2InstanceId, task:group, …)');
    const word = this.peekWord();
    if (!word) this.fail(`expected a subject, found "${this.src[this.pos]}"`);
    let subject: Subject;
    if (word.startsWith('attribute:')) {
      const name = word.slice('attribute:'.length);
      if (!name) this.fail('"attribute:" needs an attribute name', at);
      subject = { kind: 'attribute', name };
    } else if (SUBJECTS.has(word)) subject = { kind: word as Exclude<Subject['kind'], 'attribute'> };
    else this.fail(`unknown subject "${word}" (expected attribute:<name>, ec2InstanceId, task:group, runningTasksCount, registeredAt, agentConnected or agentVersion)`, at);
    this.pos += word.length;
    const operator = this.operator(word);
    if (operator === 'exists' || operator === '!exists') return { op: 'cmp', subject, operator, values: [] };
    if (operator === 'in' || operator === '!in') return { op: 'cmp', subject, operator, values: this.list() };
    if (operator === '=~' || operator === '!~') {
      this.skip();
      const start = this.pos;
      const pattern = this.regexArgument();
      let regex: RegExp;
      try {
        regex = new RegExp(`^(?:${pattern})$`);
      } catch (e) {
        this.fail(`invalid regular expression "${pattern}": ${(e as Error).message}`, start);
      }
      return { op: 'cmp', subject, operator, values: [pattern], regex };
    }
    return { op: 'cmp', subject, operator, values: [this.value()] };
  }

  operator(subject: string): Operator {
    this.skip();
    for (const [sym, op] of OPERATOR_SYMBOLS) if (this.src.startsWith(sym, this.pos) && (/[a-z]$/.test(sym) ? !this.continuesWord(sym.length) : true)) {
      this.pos += sym.length;
      return op;
    }
    const w = this.peekWord();
    const op = OPERATOR_WORDS[w];
    if (!op) this.fail(w ? `unknown operator "${w}" after "${subject}"` : `expected an operator after "${subject}"`);
    this.pos += w.length;
    return op;
  }

  private continuesWord(len: number): boolean {
    const next = this.src[this.pos + len];
    return next !== undefined && !DELIMITERS.has(next);
  }

  value(): string {
    this.skip();
    const c = this.src[this.pos];
    if (c === "'" || c === '"') {
      const end = this.src.indexOf(c, this.pos + 1);
      if (end < 0) this.fail(`unterminated quoted value (no closing ${c})`);
      const v = this.src.slice(this.pos + 1, end);
      this.pos = end + 1;
      return v;
    }
    const w = this.peekWord();
    if (!w) this.fail(this.pos >= this.src.length ? 'expected a value, found the end of the expression' : `expected a value, found "${c}"`);
    this.pos += w.length;
    return w;
  }

  list(): string[] {
    if (!this.eat('[')) this.fail('expected "[" starting an argument list ([value1, value2, …])');
    const out: string[] = [this.value()];
    while (this.eat(',')) out.push(this.value());
    if (!this.eat(']')) this.fail('expected "," or "]" in the argument list');
    return out;
  }

  /** A regular expression: up to white space or an unbalanced ")" (quotes allowed around it). */
  regexArgument(): string {
    this.skip();
    const c = this.src[this.pos];
    if (c === "'" || c === '"') return this.value();
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos]!;
      if (/\s/.test(ch)) break;
      if (ch === '\\') {
        this.pos += 2;
        continue;
      }
      if (ch === '(') depth++;
      else if (ch === ')') {
        if (depth === 0) break;
        depth--;
      }
      this.pos++;
    }
    if (this.pos === start) this.fail('expected a regular expression');
    return this.src.slice(start, this.pos);
  }
}

/** Parses an expression. Throws QueryLanguageError naming the position of the first mistake. */
export function parseQuery(expression: string): Expr {
  return new Parser(expression).parse();
}

/** What an expression is evaluated against: one container instance. */
export interface QueryTarget {
  /** ECS attributes (`ecs.instance-type` → `m5.large`, custom ones too). */
  attributes: Readonly<Record<string, string>>;
  ec2InstanceId?: string;
  /** Groups of the tasks on the instance (unsanitized, `service:web`). */
  taskGroups: ReadonlySet<string>;
  runningTasksCount: number;
  /** RFC 3339. */
  registeredAt?: string;
  agentConnected: boolean;
  agentVersion?: string;
}

/** True if the expression reads only attributes (so its answer is the same for nodes with the same labels). */
export function attributesOnly(e: Expr): boolean {
  switch (e.op) {
    case 'and':
    case 'or':
      return attributesOnly(e.left) && attributesOnly(e.right);
    case 'not':
      return attributesOnly(e.expr);
    default:
      return e.subject.kind === 'attribute';
  }
}

/** Evaluates a parsed expression against an instance. */
export function evaluate(e: Expr, t: QueryTarget): boolean {
  switch (e.op) {
    case 'and':
      return evaluate(e.left, t) && evaluate(e.right, t);
    case 'or':
      return evaluate(e.left, t) || evaluate(e.right, t);
    case 'not':
      return !evaluate(e.expr, t);
    default:
      return compare(e, t);
  }
}

function compare(e: Extract<Expr, { op: 'cmp' }>, t: QueryTarget): boolean {
  const s = e.subject;
  if (s.kind === 'task:group') {
    const groups = [...t.taskGroups];
    const any = (pred: (g: string) => boolean): boolean => groups.some(pred);
    switch (e.operator) {
      case 'exists':
        return groups.length > 0;
      case '!exists':
        return groups.length === 0;
      case '==':
        return any((g) => g === e.values[0]);
      case '!=':
        return !any((g) => g === e.values[0]);
      case 'in':
        return any((g) => e.values.includes(g));
      case '!in':
        return !any((g) => e.values.includes(g));
      case '=~':
        return any((g) => e.regex!.test(g));
      case '!~':
        return !any((g) => e.regex!.test(g));
      default:
        return any((g) => ordered(e.operator, g, e.values[0]!));
    }
  }
  let v: string | undefined;
  switch (s.kind) {
    case 'attribute':
      v = t.attributes[s.name];
      break;
    case 'ec2InstanceId':
      v = t.ec2InstanceId;
      break;
    case 'runningTasksCount':
      v = String(t.runningTasksCount);
      break;
    case 'registeredAt':
      v = t.registeredAt;
      break;
    case 'agentConnected':
      v = String(t.agentConnected);
      break;
    case 'agentVersion':
      v = t.agentVersion;
      break;
  }
  if (e.operator === 'exists') return v !== undefined;
  if (e.operator === '!exists') return v === undefined;
  if (v === undefined) return false;
  switch (e.operator) {
    case '==':
      return v === e.values[0];
    case '!=':
      return v !== e.values[0];
    case 'in':
      return e.values.includes(v);
    case '!in':
      return !e.values.includes(v);
    case '=~':
      return e.regex!.test(v);
    case '!~':
      return !e.regex!.test(v);
    default:
      return ordered(e.operator, v, e.values[0]!);
  }
}

/** `a op b` for >, >=, <, <=: numbers numerically, dates as instants, dotted versions part by part, else as strings. */
function ordered(op: Operator, a: string, b: string): boolean {
  const c = order(a, b);
  switch (op) {
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    case '<':
      return c < 0;
    default:
      return c <= 0;
  }
}

const NUMBER = /^-?\d+(\.\d+)?$/;
const VERSION = /^v?\d+(\.\d+)+$/;
const DATE = /^\d{4}-\d{2}-\d{2}(T.*)?$/;

function order(a: string, b: string): number {
  if (VERSION.test(a) && VERSION.test(b) && (a.split('.').length > 2 || b.split('.').length > 2)) {
    const pa = a.replace(/^v/, '').split('.').map(Number);
    const pb = b.replace(/^v/, '').split('.').map(Number);
    for (let k = 0; k < Math.max(pa.length, pb.length); k++) {
      const d = (pa[k] ?? 0) - (pb[k] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  }
  if (NUMBER.test(a) && NUMBER.test(b)) return Number(a) - Number(b);
  if (DATE.test(a) && DATE.test(b)) {
    const da = Date.parse(/T/.test(a) && !/(Z|[+-]\d\d:\d\d)$/.test(a) ? `${a}Z` : a);
    const db = Date.parse(/T/.test(b) && !/(Z|[+-]\d\d:\d\d)$/.test(b) ? `${b}Z` : b);
    if (Number.isFinite(da) && Number.isFinite(db)) return da - db;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
