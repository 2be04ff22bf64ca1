/**
 * A function's code from a file or a folder on the server's machine (issue 10: "code from a
 * file, a folder or inline"), run in a real worker process: the handler's module path is relative
 * to the folder (or the file's own folder), sibling modules load, a changed file is a new
 * CodeSha256, and unreadable code or a handler naming another module is refused saying where.
 * Also: a Function's memory and timeout are held to Lambda's quotas (128–10,240 MB, ≤ 900 s).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ScaledClock } from '../../clock/clock.js';
import { MemoryBackend } from '../../storage/memory/memory.js';
import { SqsEngine } from '../sqs/engine.js';
import { CodeStore } from './code.js';
import { LambdaEngine } from './engine.js';
import { validateFunction, type LambdaFunction } from './types.js';

function setup() {
  const clock = new ScaledClock(1);
  const backend = new MemoryBackend();
  const sqs = new SqsEngine({ backend, clock });
  const code = new CodeStore(backend);
  const lambda = new LambdaEngine({ backend, clock, sqs, code, idleTimeoutMs: 60_000 });
  const dir = mkdtempSync(join(tmpdir(), 'berth-code-test-'));
  t.teardown(() => {
    lambda.close();
    sqs.close();
    code.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  let uid = 0;
  const fn = (name: string, spec: Partial<LambdaFunction['spec']>): LambdaFunction => {
    const f: LambdaFunction = { apiVersion: 'lambda.berth.dev/v1', kind: 'Function', metadata: { name, uid: `uid-${++uid}` }, spec: { handler: 'index.handler', code: {}, memorySize: 128, timeout: 10, ...spec } };
    lambda.upsertFunction(f);
    return f;
  };
  return { lambda, code, dir, fn };
}

t.test('a folder: the handler path is relative to it and its sibling modules load', async (t) => {
  const { lambda, code, dir, fn } = setup();
  const root = join(dir, 'pkg');
  mkdirSync(join(root, 'lib'), { recursive: true });
  writeFileSync(join(root, 'shared.js'), 'exports.double = (n) => 2 * n;\n');
  writeFileSync(join(root, 'lib', 'app.js'), 'const { double } = require("../shared.js");\nexports.run = async (e) => ({ doubled: double(e.n), where: __filename });\n');
  fn('folder', { handler: 'lib/app.run', code: { folder: root } });
  const r = await lambda.invoke('folder', { n: 21 });
  t.equal(r.status, 'ok', r.payload);
  t.same(JSON.parse(r.payload), { doubled: 42, where: join(root, 'lib', 'app.js') }, 'lib/app.js of the folder ran, requiring ../shared.js');
  const first = await code.load({ folder: root });
  t.equal(first.dir, root);
  t.equal(first.size, Buffer.byteLength('exports.double = (n) => 2 * n;\n') + Buffer.byteLength('const { double } = require("../shared.js");\nexports.run = async (e) => ({ doubled: double(e.n), where: __filename });\n'), 'the size is every file of the folder');
  writeFileSync(join(root, 'shared.js'), 'exports.double = (n) => 3 * n;\n');
  t.not((await code.load({ folder: root })).sha256, first.sha256, 'a changed file in the folder is a new CodeSha256');
});

t.test('a file: loaded from its own folder, as an ES module when it is .mjs', async (t) => {
  const { lambda, dir, fn } = setup();
  const file = join(dir, 'greet.mjs');
  writeFileSync(file, 'export const handler = async (e) => `hello ${e.name}`;\n');
  fn('file', { handler: 'greet.handler', code: { file } });
  const r = await lambda.invoke('file', { name: 'berth' });
  t.equal(r.status, 'ok', r.payload);
  t.equal(JSON.parse(r.payload), 'hello berth');
});

t.test('code that cannot be read fails the invocation saying which path', async (t) => {
  const { lambda, dir, fn } = setup();
  const path = join(dir, 'nothere.js');
  fn('gone', { handler: 'nothere.handler', code: { file: path } });
  const r = await lambda.invoke('gone', {});
  t.equal(r.functionError, 'Unhandled');
  t.match(JSON.parse(r.payload), { errorType: 'Runtime.ImportModuleError', errorMessage: `cannot read the function's code file ${path}: ENOENT` });
  fn('nofolder', { code: { folder: join(dir, 'missing') } });
  const f = await lambda.invoke('nofolder', {});
  t.match(JSON.parse(f.payload), { errorType: 'Runtime.ImportModuleError', errorMessage: `cannot read the function's code folder ${join(dir, 'missing')}: ENOENT` });
});

t.test('validation: absolute paths, a .js file, the handler naming the file', async (t) => {
  const f = (code: LambdaFunction['spec']['code'], handler = 'app.handler'): string[] =>
    validateFunction({ apiVersion: 'lambda.berth.dev/v1', kind: 'Function', metadata: { name: 'v' }, spec: { handler, code, memorySize: 128, timeout: 3 } } as LambdaFunction).map((e) => `${e.field}: ${e.detail}`);
  t.same(f({ file: '/srv/app.js' }), []);
  t.match(f({ file: 'app.js' }), [/^spec\.code\.file: .*must be an absolute path/]);
  t.match(f({ folder: 'src' }), [/^spec\.code\.folder: .*must be an absolute path/]);
  t.match(f({ file: '/srv/app.txt' }), [/^spec\.code\.file: .*must be a \.js, \.mjs or \.cjs file/]);
  t.match(f({ file: '/srv/main.js' }), [/^spec\.handler: .*the module of the handler must be the file's name: main\.handler/]);
  t.match(f({ file: '/srv/app.js', folder: '/srv' }), [/^spec\.code: .*give exactly one of inline, file, folder or zipSha256/]);
});

t.test("memory 128–10,240 MB and timeout 1–900 s, Lambda's quotas", async (t) => {
  const f = (memorySize: number, timeout: number): string[] =>
    validateFunction({ apiVersion: 'lambda.berth.dev/v1', kind: 'Function', metadata: { name: 'v' }, spec: { handler: 'index.handler', code: { inline: 'exports.handler = async () => 1;' }, memorySize, timeout } } as LambdaFunction).map((e) => `${e.field}: ${e.detail}`);
  t.same(f(128, 1), []);
  t.same(f(10_240, 900), []);
  t.match(f(127, 3), [/^spec\.memorySize: .*127.*must be an integer from 128 to 10240/]);
  t.match(f(10_241, 3), [/^spec\.memorySize: .*10241/]);
  t.match(f(128, 901), [/^spec\.timeout: .*901.*must be an integer from 1 to 900/]);
  t.match(f(128, 0), [/^spec\.timeout: .*0/]);
});
