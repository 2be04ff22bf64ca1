/**
 * The simulated runtime's command runner, for `kubectl exec` into a simulated container: a
 * small POSIX-like shell over a read-only view of the container (its environment, hostname and
 * the files Kubernetes puts in every container), with the usual exit codes (0, 1, 127 for a
 * command that does not exist, `exit N`). Nothing runs: the commands are simulated here.
 *
 * Commands: echo, printf (plain), env, printenv, hostname, cat, ls, pwd, whoami, id, date,
 * uname, true, false, exit, sleep, test/[, which, and sh/bash/ash with `-c SCRIPT` or a script on
 * stdin. Scripts know `;`, `&&`, `||`, `|`, newlines, quotes and `$VAR`/`${VAR}`/`$?`.
 */
import type { Container, Pod } from '../../api/types.js';
import type { ExecStreams } from '../../apiserver/app.js';

/** What a simulated container looks like from inside. */
export interface SimContainerView {
  pod: Pod;
  container: Container;
  /** Cluster time now, ms since the epoch (for `date`). */
  now: number;
}

const enc = new TextEncoder();

/** The environment of a container as Kubernetes sets it: PATH, HOSTNAME, the container's `env`, the service variables. */
export function containerEnv(view: SimContainerView): Record<string, string> {
  const { pod, container } = view;
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOSTNAME: pod.metadata.name ?? '',
    HOME: '/root',
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: '443',
    KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
  };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = expandRefs(e.value, env);
    else if (e.valueFrom) {
      const path = (e.valueFrom as { fieldRef?: { fieldPath?: string } }).fieldRef?.fieldPath;
      const v = path ? fieldRef(pod, path) : undefined;
      if (v !== undefined) env[e.name] = v;
    }
  }
  return env;
}

/** `$(VAR)` references in an env value, as the kubelet expands them. */
function expandRefs(v: string, env: Record<string, string>): string {
  return v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string) => env[name] ?? m);
}

function fieldRef(pod: Pod, path: string): string | undefined {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'spec.nodeName':
      return pod.spec.nodeName;
    case 'spec.serviceAccountName':
      return (pod.spec.serviceAccountName as string | undefined) ?? 'default';
    case 'status.podIP':
      return pod.status?.podIP;
    case 'status.hostIP':
      return pod.status?.hostIP;
  }
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] ?? {})[m[2]!];
  return undefined;
}

/** The files every container has (`/etc/hostname`, `/etc/hosts`, `/etc/resolv.conf`, the service account namespace). */
export function containerFiles(view: SimContainerView): Map<string, string> {
  const { pod } = view;
  const name = pod.metadata.name ?? '';
  const ns = pod.metadata.namespace ?? 'default';
  const ip = pod.status?.podIP;
  return new Map([
    ['/etc/hostname', `${name}\n`],
    ['/etc/hosts', `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${ip ? `${ip}\t${name}\n` : ''}`],
    ['/etc/resolv.conf', `search ${ns}.svc.cluster.local svc.cluster.local cluster.local ec2.internal\nnameserver 10.96.0.10\noptions ndots:5\n`],
    ['/etc/os-release', 'NAME="berth simulated container"\nID=berth-sim\n'],
    ['/var/run/secrets/kubernetes.io/serviceaccount/namespace', ns],
  ]);
}

const DIRS = ['/', '/bin', '/dev', '/etc', '/home', '/proc', '/root', '/tmp', '/usr', '/var', '/var/run', '/var/run/secrets', '/var/run/secrets/kubernetes.io', '/var/run/secrets/kubernetes.io/serviceaccount'];

interface Shell {
  view: SimContainerView;
  env: Record<string, string>;
  files: Map<string, string>;
  lastStatus: number;
  signal: AbortSignal;
}

/** Output of one command: what it wrote and its exit code. */
interface Out {
  out: (s: string) => void;
  err: (s: string) => void;
}

class ExitError extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/**
 * Runs `argv` (no shell, as `kubectl exec pod -- argv…` does) in a simulated container; writes
 * to `io` and resolves with the exit code.
 */
export async function runSimCommand(argv: string[], io: ExecStreams, view: SimContainerView, signal: AbortSignal): Promise<number> {
  const sh: Shell = { view, env: containerEnv(view), files: containerFiles(view), lastStatus: 0, signal };
  const out: Out = { out: (s) => io.stdout?.(enc.encode(s)), err: (s) => (io.stderr ?? io.stdout)?.(enc.encode(s)) };
  let stdin: string | undefined;
  const readStdin = async (): Promise<string> => {
    if (stdin !== undefined) return stdin;
    stdin = '';
    if (io.stdin) for await (const chunk of io.stdin) stdin += Buffer.from(chunk).toString('utf8');
    return stdin;
  };
  try {
    return await runArgv(sh, argv, readStdin, out, true);
  } catch (e) {
    if (e instanceof ExitError) return e.code;
    throw e;
  }
}

async function runArgv(sh: Shell, argv: string[], stdin: () => Promise<string>, o: Out, direct: boolean): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return 0;
  const base = cmd.slice(cmd.lastIndexOf('/') + 1);
  switch (base) {
    case 'sh':
    case 'bash':
    case 'ash':
    case 'dash': {
      const c = args.indexOf('-c');
      const script = c >= 0 ? (args[c + 1] ?? '') : await stdin();
      if (c >= 0 && args[c + 1] === undefined) {
        o.err(`${base}: 0: -c requires an argument\n`);
        return 2;
      }
      try {
        return await runScript(sh, script, stdin, o, base);
      } catch (e) {
        if (e instanceof ExitError) return e.code;
        throw e;
      }
    }
    case 'echo': {
      const noNewline = args[0] === '-n';
      o.out(`${(noNewline ? args.slice(1) : args).join(' ')}${noNewline ? '' : '\n'}`);
      return 0;
    }
    case 'printf':
      o.out((args[0] ?? '').replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/%s/g, () => args.splice(1, 1)[0] ?? ''));
      return 0;
    case 'env':
      if (args.length) return runArgv(sh, args, stdin, o, direct);
      o.out(Object.entries(sh.env).map(([k, v]) => `${k}=${v}\n`).join(''));
      return 0;
    case 'printenv': {
      if (!args.length) {
        o.out(Object.entries(sh.env).map(([k, v]) => `${k}=${v}\n`).join(''));
        return 0;
      }
      let code = 0;
      for (const a of args) {
        if (sh.env[a] === undefined) code = 1;
        else o.out(`${sh.env[a]}\n`);
      }
      return code;
    }
    case 'hostname':
      o.out(`${sh.view.pod.metadata.name ?? ''}\n`);
      return 0;
    case 'pwd':
      o.out('/\n');
      return 0;
    case 'whoami':
      o.out('root\n');
      return 0;
    case 'id':
      o.out('uid=0(root) gid=0(root) groups=0(root)\n');
      return 0;
    case 'date':
      o.out(`${new Date(sh.view.now).toUTCString().replace('GMT', 'UTC')}\n`);
      return 0;
    case 'uname':
      o.out(args.includes('-a') ? `Linux ${sh.view.pod.metadata.name ?? ''} 6.1.0-berth #1 SMP x86_64 GNU/Linux\n` : 'Linux\n');
      return 0;
    case 'true':
    case ':':
      return 0;
    case 'false':
      return 1;
    case 'exit':
      throw new ExitError(args[0] === undefined ? sh.lastStatus : Number(args[0]) & 255);
    case 'sleep': {
      const s = Number(args[0]);
      if (!Number.isFinite(s) || s < 0) {
        o.err(`sleep: invalid time interval '${args[0] ?? ''}'\n`);
        return 1;
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(s, 60) * 1000);
        sh.signal.addEventListener('abort', () => (clearTimeout(t), res()), { once: true });
      });
      return 0;
    }
    case 'cat': {
      if (!args.length || args.every((a) => a === '-')) {
        o.out(await stdin());
        return 0;
      }
      let code = 0;
      for (const f of args) {
        const text = sh.files.get(normalize(f));
        if (text !== undefined) o.out(text);
        else {
          o.err(`cat: ${f}: ${DIRS.includes(normalize(f)) ? 'Is a directory' : 'No such file or directory'}\n`);
          code = 1;
        }
      }
      return code;
    }
    case 'ls': {
      const paths = args.filter((a) => !a.startsWith('-'));
      let code = 0;
      for (const p of paths.length ? paths : ['/']) {
        const path = normalize(p);
        if (sh.files.has(path)) {
          o.out(`${p}\n`);
          continue;
        }
        if (!DIRS.includes(path)) {
          o.err(`ls: cannot access '${p}': No such file or directory\n`);
          code = 2;
          continue;
        }
        const prefix = path === '/' ? '/' : `${path}/`;
        const names = new Set<string>();
        for (const x of [...DIRS, ...sh.files.keys()]) if (x !== path && x.startsWith(prefix)) names.add(x.slice(prefix.length).split('/')[0]!);
        o.out([...names].sort().map((n) => `${n}\n`).join(''));
      }
      return code;
    }
    case 'which': {
      let code = 0;
      for (const a of args) {
        if (KNOWN.has(a)) o.out(`/bin/${a}\n`);
        else code = 1;
      }
      return code;
    }
    case 'test':
    case '[':
      return testExpr(sh, base === '[' ? args.slice(0, -1) : args) ? 0 : 1;
  }
  if (direct) {
    o.err(`exec: "${cmd}": executable file not found in $PATH\n`);
    return 127;
  }
  o.err(`sh: 1: ${cmd}: not found\n`);
  return 127;
}

const KNOWN = new Set(['sh', 'bash', 'ash', 'dash', 'echo', 'printf', 'env', 'printenv', 'hostname', 'pwd', 'whoami', 'id', 'date', 'uname', 'true', 'false', 'sleep', 'cat', 'ls', 'which', 'test', '[']);

function normalize(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (!seg || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

function testExpr(sh: Shell, a: string[]): boolean {
  if (a[0] === '!') return !testExpr(sh, a.slice(1));
  if (a.length === 1) return a[0] !== '';
  if (a.length === 2) {
    const p = normalize(a[1]!);
    if (a[0] === '-z') return a[1] === '';
    if (a[0] === '-n') return a[1] !== '';
    if (a[0] === '-f') return sh.files.has(p);
    if (a[0] === '-d') return DIRS.includes(p);
    if (a[0] === '-e') return sh.files.has(p) || DIRS.includes(p);
  }
  if (a.length === 3) {
    const [x, op, y] = a as [string, string, string];
    switch (op) {
      case '=':
      case '==':
        return x === y;
      case '!=':
        return x !== y;
      case '-eq':
        return Number(x) === Number(y);
      case '-ne':
        return Number(x) !== Number(y);
      case '-lt':
        return Number(x) < Number(y);
      case '-gt':
        return Number(x) > Number(y);
    }
  }
  return false;
}

type Token = { word: string } | { op: ';' | '&&' | '||' | '|' };

/** Splits a script into words and operators, expanding variables outside single quotes. */
function tokenize(sh: Shell, script: string, name: string): Token[] {
  const out: Token[] = [];
  let word: string | undefined;
  const push = (): void => {
    if (word !== undefined) out.push({ word });
    word = undefined;
  };
  const expand = (s: string, i: number): [string, number] => {
    const rest = s.slice(i + 1);
    let m = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(rest) ?? /^([A-Za-z_][A-Za-z0-9_]*|\?)/.exec(rest);
    if (!m) return ['$', i + 1];
    const v = m[1] === '?' ? String(sh.lastStatus) : (sh.env[m[1]!] ?? '');
    return [v, i + 1 + m[0].length];
  };
  for (let i = 0; i < script.length; ) {
    const ch = script[i]!;
    if (ch === '#' && word === undefined) {
      while (i < script.length && script[i] !== '\n') i++;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      push();
      i++;
      continue;
    }
    if (ch === '\n' || ch === ';') {
      push();
      out.push({ op: ';' });
      i++;
      continue;
    }
    if (ch === '&' && script[i + 1] === '&') {
      push();
      out.push({ op: '&&' });
      i += 2;
      continue;
    }
    if (ch === '|') {
      push();
      if (script[i + 1] === '|') {
        out.push({ op: '||' });
        i += 2;
      } else {
        out.push({ op: '|' });
        i++;
      }
      continue;
    }
    if (ch === "'") {
      const end = script.indexOf("'", i + 1);
      if (end < 0) throw new SyntaxErr(`${name}: 1: Syntax error: Unterminated quoted string`);
      word = (word ?? '') + script.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      let s = '';
      while (j < script.length && script[j] !== '"') {
        if (script[j] === '\\' && j + 1 < script.length && '"\\$'.includes(script[j + 1]!)) {
          s += script[j + 1];
          j += 2;
        } else if (script[j] === '$') {
          const [v, next] = expand(script, j);
          s += v;
          j = next;
        } else s += script[j++];
      }
      if (j >= script.length) throw new SyntaxErr(`${name}: 1: Syntax error: Unterminated quoted string`);
      word = (word ?? '') + s;
      i = j + 1;
      continue;
    }
    if (ch === '\\' && i + 1 < script.length) {
      word = (word ?? '') + script[i + 1];
      i += 2;
      continue;
    }
    if (ch === '$') {
      const [v, next] = expand(script, i);
      word = (word ?? '') + v;
      i = next;
      continue;
    }
    if (ch === '>' || ch === '<') throw new SyntaxErr(`${name}: 1: cannot ${ch === '>' ? 'create' : 'open'} files: the simulated container's file system is read-only`);
    word = (word ?? '') + ch;
    i++;
  }
  push();
  return out;
}

class SyntaxErr extends Error {}

async function runScript(sh: Shell, script: string, stdin: () => Promise<string>, o: Out, name: string): Promise<number> {
  let tokens: Token[];
  try {
    tokens = tokenize(sh, script, name);
  } catch (e) {
    if (e instanceof SyntaxErr) {
      o.err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  // A list of pipelines joined by ; && ||; a pipeline's stdout feeds the next command's stdin.
  let i = 0;
  let status = 0;
  let skip = false;
  while (i < tokens.length) {
    const pipeline: string[][] = [[]];
    const isSeparator = (t: Token): boolean => 'op' in t && t.op !== '|';
    while (i < tokens.length && !isSeparator(tokens[i]!)) {
      const t = tokens[i++]!;
      if ('op' in t) pipeline.push([]);
      else pipeline.at(-1)!.push(t.word);
    }
    const sep = i < tokens.length ? (tokens[i++] as { op: string }).op : ';';
    if (!skip && pipeline.some((c) => c.length)) {
      let input: (() => Promise<string>) | undefined = stdin;
      for (let p = 0; p < pipeline.length; p++) {
        const last = p === pipeline.length - 1;
        let buf = '';
        const stage: Out = last ? o : { out: (s) => (buf += s), err: o.err };
        status = await runArgv(sh, pipeline[p]!, input, stage, false);
        sh.lastStatus = status;
        const captured = buf;
        input = async () => captured;
      }
    }
    skip = (sep === '&&' && status !== 0) || (sep === '||' && status === 0);
  }
  return status;
}
