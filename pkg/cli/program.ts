/**
 * The `berth` command line (commander): global flags, one subcommand per verb, and the rule that
 * every failure is one clear line on stderr and exit code 1 — never a stack trace, never
 * `process.exit` (so tests run commands in-process and `cmd/berth/main.ts` decides how to exit).
 */
import { Command, CommanderError, Option } from 'commander';
import { runApiResources } from './apiresources.js';
import { runApply } from './apply.js';
import { runDelete } from './delete.js';
import { runDescribe } from './describe/index.js';
import { errorLine, ReportedError } from './errors.js';
import { runCost } from './cost.js';
import { runAllocateHosts, runCreateFleet, runDescribeHosts, runDescribeInstances, runDescribeSpotPriceHistory, runReleaseHosts, runRunInstances, runSendSpotInterruption, runStateChange, type RunInstancesOptions } from './ec2.js';
import { runFleet } from './fleet.js';
import { addEcsCommands } from '../ecs/cli.js';
import { runTopNodes, runTopPods } from './top.js';
import { runGet } from './get.js';
import { runExec } from './exec.js';
import { runImageImport } from './image.js';
import { runLogs } from './logs.js';
import { runScale } from './scale.js';
import { openSession, type GlobalOptions, type Session } from './session.js';
import type { IO } from './types.js';
import { clientVersion, runVersion } from './version.js';

/** The exit code of the last command a program built here ran. */
const exitCodes = new WeakMap<Command, { code: number }>();

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Builds the program. Commands report their own failures on `io.stderr`; the exit code is what
 * `runCli` returns. Commands added to it later (the lead's `server`) inherit the same output and
 * exit handling; errors they throw are reported by `runCli`.
 */
export function buildProgram(io: IO): Command {
  const state = { code: 0 };
  const program = new Command('berth');
  exitCodes.set(program, state);
  program
    .description('berth: a Kubernetes-style orchestrator on simulated AWS compute')
    .version(clientVersion(), '--version', 'print the client version')
    .option('--kubeconfig <path>', 'path to the kubeconfig (default: $KUBECONFIG, then ~/.berth/kubeconfig)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('-n, --namespace <namespace>', "the namespace (default: the context's, then default)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s), outputError: (s, write) => write(s) })
    .showSuggestionAfterError(false);

  /** Runs a command body with a session; reports any failure as one line. */
  const act =
    (body: (s: () => Session, args: string[], opts: Record<string, unknown>) => Promise<void>) =>
    async (...params: unknown[]): Promise<void> => {
      const cmd = params[params.length - 1] as Command;
      const opts = cmd.opts();
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const positional = (params.find((p) => Array.isArray(p)) as string[] | undefined) ?? [];
      let session: Session | undefined;
      const open = (): Session => (session ??= openSession(g, io));
      try {
        await body(open, positional, opts);
      } catch (e) {
        if (!(e instanceof ReportedError)) io.stderr(`${errorLine(e)}\n`);
        state.code = e instanceof ReportedError ? e.exitCode : 1;
      }
    };

  program
    .command('apply')
    .description('apply a configuration to resources from files, directories or stdin')
    .option('-f, --filename <path>', 'a file, directory or - for stdin (repeatable)', collect, [])
    .option('-R, --recursive', 'process directories recursively')
    .addOption(new Option('--dry-run <strategy>', 'none, server or client').choices(['none', 'server', 'client']).default('none'))
    .action(act(async (s, _args, o) => runApply(s(), io, { filename: o.filename as string[], recursive: !!o.recursive, dryRun: o.dryRun as string })));

  program
    .command('get')
    .description('display one or many resources')
    .argument('[resources...]', 'KIND[,KIND...] [NAME...] or KIND/NAME ...')
    .option('-o, --output <format>', 'wide, json, yaml or name')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-l, --selector <selector>', 'label selector')
    .option('--field-selector <selector>', 'field selector')
    .option('--show-labels', 'show all labels as the last column')
    .option('--no-headers', 'leave out the header line of tables')
    .option('--sort-by <jsonpath>', 'order by a field path, e.g. .metadata.creationTimestamp or {.spec.replicas}')
    .option('-w, --watch', 'after listing, watch for changes')
    .option('--min-vcpu <n>', 'instancetypes: at least this many vCPUs')
    .option('--min-memory <quantity>', 'instancetypes: at least this much memory (16Gi)')
    .action(
      act(async (s, args, o) =>
        runGet(s(), io, args, {
          ...(o.minVcpu !== undefined ? { minVcpu: o.minVcpu as string } : {}),
          ...(o.minMemory !== undefined ? { minMemory: o.minMemory as string } : {}),
          ...(o.output !== undefined ? { output: o.output as string } : {}),
          allNamespaces: !!o.allNamespaces,
          ...(o.selector ? { selector: o.selector as string } : {}),
          ...(o.fieldSelector ? { fieldSelector: o.fieldSelector as string } : {}),
          showLabels: !!o.showLabels,
          noHeaders: o.headers === false,
          ...(o.sortBy ? { sortBy: o.sortBy as string } : {}),
          watch: !!o.watch,
        }),
      ),
    );

  program
    .command('describe')
    .description('show details of a resource or group of resources')
    .argument('[resources...]', 'KIND [NAME...] or KIND/NAME ...')
    .option('-l, --selector <selector>', 'label selector')
    .option('-A, --all-namespaces', 'across all namespaces')
    .option('--show-events', 'show events (default)', true)
    .option('--no-show-events', 'do not show events')
    .action(act(async (s, args, o) => runDescribe(s(), io, args, { ...(o.selector ? { selector: o.selector as string } : {}), allNamespaces: !!o.allNamespaces, showEvents: o.showEvents !== false })));

  program
    .command('delete')
    .description('delete resources by file, by name, by label selector, or all of a kind')
    .argument('[resources...]', 'KIND NAME... or KIND/NAME ...')
    .option('-f, --filename <path>', 'a file, directory or - for stdin (repeatable)', collect, [])
    .option('-R, --recursive', 'process directories recursively')
    .option('-l, --selector <selector>', 'label selector')
    .option('--all', 'delete all objects of the kinds given')
    .option('-A, --all-namespaces', 'with -l or --all: across all namespaces')
    .option('--cascade <strategy>', 'background, foreground or orphan', 'background')
    .option('--grace-period <seconds>', 'seconds given to terminate gracefully (-1: the object\'s own)', '-1')
    .option('--force', 'delete immediately (with --grace-period=0)')
    .option('--wait', 'wait until the objects are gone (default)', true)
    .option('--no-wait', 'return as soon as deletion is requested')
    .option('--timeout <duration>', 'how long to wait (0: five minutes)', '0s')
    .option('--ignore-not-found', 'treat "not found" as success')
    .action(
      act(async (s, args, o) => {
        const grace = Number(o.gracePeriod);
        if (!Number.isInteger(grace)) throw new Error(`invalid argument "${String(o.gracePeriod)}" for "--grace-period" flag: must be an integer`);
        await runDelete(s(), io, args, {
          filename: o.filename as string[],
          recursive: !!o.recursive,
          ...(o.selector ? { selector: o.selector as string } : {}),
          all: !!o.all,
          allNamespaces: !!o.allNamespaces,
          cascade: o.cascade as string,
          gracePeriod: grace,
          force: !!o.force,
          wait: o.wait !== false,
          timeout: o.timeout as string,
          ignoreNotFound: !!o.ignoreNotFound,
        });
      }),
    );

  program
    .command('scale')
    .description('set a new size for a Deployment, ReplicaSet, StatefulSet or Auto Scaling group')
    .argument('[resources...]', 'KIND/NAME or KIND NAME')
    .option('--replicas <count>', 'the new number of replicas')
    .option('--current-replicas <count>', 'only scale if the current count is this')
    .action(act(async (s, args, o) => runScale(s(), io, args, { ...(o.replicas !== undefined ? { replicas: o.replicas as string } : {}), ...(o.currentReplicas !== undefined ? { currentReplicas: o.currentReplicas as string } : {}) })));

  program
    .command('logs')
    .description("print a container's log (a pod, or KIND/NAME for one of a workload's pods)")
    .argument('[target...]', 'POD or KIND/NAME')
    .option('-c, --container <name>', 'the container (required when the pod has several)')
    .option('-f, --follow', 'keep printing as the log grows')
    .option('-p, --previous', 'the log of the previous, restarted instance of the container')
    .option('--tail <lines>', 'only the last lines (-1: all)', '-1')
    .option('--timestamps', 'prefix each line with its RFC 3339 time')
    .option('--since <seconds>', 'only lines newer than this many seconds')
    .action(
      act(async (s, args, o) =>
        runLogs(s(), io, args, {
          ...(o.container ? { container: o.container as string } : {}),
          follow: !!o.follow,
          previous: !!o.previous,
          tail: o.tail as string,
          timestamps: !!o.timestamps,
          ...(o.since !== undefined ? { sinceSeconds: String(o.since).replace(/s$/, '') } : {}),
        }),
      ),
    );

  program
    .command('exec')
    .description('run a command in a running container: berth exec POD [-c CONTAINER] [-i] -- COMMAND [ARGS...]')
    .argument('[pod-and-command...]', 'POD, then -- and the command')
    .option('-c, --container <name>', 'the container (default: the default-container annotation, else the first)')
    .option('-i, --stdin', "send berth's standard input to the command")
    .action(act(async (s, args, o) => runExec(s(), io, args, { ...(o.container ? { container: o.container as string } : {}), stdin: !!o.stdin })));

  program
    .command('image')
    .description('images for Docker nodes')
    .command('import')
    .description("import a root filesystem tarball as an image into the server's Docker engine (as docker import)")
    .argument('[name-and-file...]', 'NAME ROOTFS.tar')
    .action(act(async (s, args) => runImageImport(s(), io, args)));

  program
    .command('version')
    .description('print the client and server versions')
    .option('--client', 'the client version only')
    .action(act(async (s, _args, o) => runVersion(io, s, { client: !!o.client })));

  program
    .command('api-resources')
    .description('list the kinds the server serves')
    .option('--namespaced', 'only namespaced kinds')
    .option('--no-namespaced', 'only cluster-wide kinds')
    .action(act(async (s, _args, o) => runApiResources(s(), io, o.namespaced === undefined ? {} : { namespaced: o.namespaced as boolean })));

  const top = program.command('top').description('resource usage of pods or nodes (metrics.k8s.io), and load balancer traffic per pod');
  for (const what of ['pods', 'nodes'] as const) {
    top
      .command(what)
      .alias(what === 'pods' ? 'pod' : 'node')
      .description(what === 'pods' ? 'cpu and memory of each pod; requests, open requests and p99 latency of load balancer targets' : 'cpu and memory of each node, and their share of allocatable')
      .option('-l, --selector <selector>', 'label selector')
      .option('-A, --all-namespaces', 'across all namespaces')
      .option('--sort-by <field>', 'cpu or memory')
      .action(
        act(async (s, _args, o) => {
          const opts = { allNamespaces: !!o.allNamespaces, ...(o.selector ? { selector: o.selector as string } : {}), ...(o.sortBy ? { sortBy: o.sortBy as string } : {}) };
          return what === 'pods' ? runTopPods(s(), io, opts) : runTopNodes(s(), io, opts);
        }),
      );
  }

  program
    .command('fleet')
    .description('the simulated fleet at a glance: nodes, their fill, and what they cost')
    .option('-o, --output <format>', 'json')
    .action(act(async (s, _args, o) => runFleet(s(), io, o.output !== undefined ? { output: o.output as string } : {})));

  const ec2 = program.command('ec2').description('EC2 instance and Dedicated Host verbs, as the AWS CLI names them');
  const ids = (args: string[], o: Record<string, unknown>): string[] => [...args, ...((o.instanceIds as string[] | undefined) ?? [])];
  ec2
    .command('run-instances')
    .description('launch instances (pending, then running after the boot delay)')
    .option('--instance-type <type>', 'the instance type (berth get instancetypes)')
    .option('--count <n>', 'how many', '1')
    .option('--spot', 'Spot Instances (a one-time request)')
    .option('--max-price <usd>', 'with --spot: the most to pay per hour (default: the On-Demand price)')
    .option('--instance-interruption-behavior <b>', 'with --spot: terminate (default) or stop')
    .option('--tenancy <t>', 'default, dedicated or host')
    .option('--host-id <id>', 'with --tenancy host: the Dedicated Host')
    .option('--affinity <a>', 'with --tenancy host: default or host')
    .option('--availability-zone <zone>', 'the zone (default us-east-1a)')
    .option('--placement <spec>', 'AvailabilityZone=…,Tenancy=…,HostId=…,Affinity=… (the AWS CLI shorthand)')
    .option('--image-id <ami>', 'the AMI (informational)')
    .option('-o, --output <format>', 'json')
    .action(act(async (s, _args, o) => runRunInstances(s(), io, o as RunInstancesOptions)));
  for (const verb of ['stop', 'start', 'terminate'] as const) {
    ec2
      .command(`${verb}-instances`)
      .description(`${verb} instances`)
      .argument('[ids...]', 'instance ids')
      .option('--instance-ids <ids...>', 'instance ids')
      .option('-o, --output <format>', 'json')
      .action(act(async (s, args, o) => runStateChange(s(), io, verb, ids(args, o), { ...(o.output !== undefined ? { output: o.output as string } : {}) })));
  }
  ec2
    .command('describe-instances')
    .description('list instances (all, or the ids given)')
    .argument('[ids...]', 'instance ids')
    .option('--instance-ids <ids...>', 'instance ids')
    .option('-o, --output <format>', 'json')
    .action(act(async (s, args, o) => runDescribeInstances(s(), io, ids(args, o), { ...(o.output !== undefined ? { output: o.output as string } : {}) })));
  ec2
    .command('allocate-hosts')
    .description('allocate Dedicated Hosts (billed per host from now until released)')
    .option('--instance-family <family>', 'the family the host runs, any size (m5)')
    .option('--instance-type <type>', 'or one type only (m5.large)')
    .option('--availability-zone <zone>', 'the zone')
    .option('--quantity <n>', 'how many hosts', '1')
    .option('--auto-placement <on|off>', 'on: instances without a host id may be placed there (default off)')
    .option('-o, --output <format>', 'json')
    .action(act(async (s, _args, o) => runAllocateHosts(s(), io, o as Record<string, string>)));
  ec2
    .command('release-hosts')
    .description('release Dedicated Hosts that no instance runs on')
    .argument('[ids...]', 'host ids')
    .option('--host-ids <ids...>', 'host ids')
    .option('-o, --output <format>', 'json')
    .action(act(async (s, args, o) => runReleaseHosts(s(), io, [...args, ...((o.hostIds as string[] | undefined) ?? [])], { ...(o.output !== undefined ? { output: o.output as string } : {}) })));
  ec2
    .command('describe-hosts')
    .description('list Dedicated Hosts')
    .argument('[ids...]', 'host ids')
    .option('-o, --output <format>', 'json')
    .action(act(async (s, args, o) => runDescribeHosts(s(), io, args, { ...(o.output !== undefined ? { output: o.output as string } : {}) })));
  ec2
    .command('describe-spot-price-history')
    .description('Spot prices per type and zone over time (the simulated market)')
    .option('--instance-types <types>', 'comma-separated instance types')
    .option('--availability-zone <zone>', 'one zone (default: all)')
    .option('--start-time <t>', 'RFC 3339, or a duration back from now (default 6h)')
    .option('--end-time <t>', 'RFC 3339 (default now)')
    .option('-o, --output <format>', 'json')
    .action(act(async (s, _args, o) => runDescribeSpotPriceHistory(s(), io, o as Record<string, string>)));
  ec2
    .command('create-fleet')
    .description('an EC2 Fleet across several types, zones and both purchase options (instant: launch once; maintain: keep it)')
    .option('--instance-types <types>', 'comma-separated instance types, in priority order')
    .option('--target-capacity <n>', 'total instances')
    .option('--on-demand-target-capacity <n>', 'of which On-Demand (default 0: the rest is Spot)')
    .option('--type <type>', 'instant (default) or maintain')
    .option('--availability-zones <zones>', 'comma-separated zones (default us-east-1a)')
    .option('--spot-allocation-strategy <s>', 'lowest-price, capacity-optimized or price-capacity-optimized')
    .option('--on-demand-allocation-strategy <s>', 'lowest-price or prioritized')
    .option('--spot-instance-pools <n>', 'with lowest-price: how many of the cheapest pools')
    .option('--spot-max-price <usd>', 'the most to pay for Spot per hour')
    .option('-o, --output <format>', 'json')
    .action(act(async (s, _args, o) => runCreateFleet(s(), io, o as Record<string, string>)));
  ec2
    .command('send-spot-interruption')
    .description('interrupt Spot Instances: the two-minute notice now, as AWS Fault Injection Service does')
    .argument('[ids...]', 'instance ids')
    .option('--instance-ids <ids...>', 'instance ids')
    .action(act(async (s, args, o) => runSendSpotInterruption(s(), io, ids(args, o))));

  // ECS verbs as the AWS CLI names them, with --cli-input-json (pkg/ecs/cli.ts).
  addEcsCommands(program.command('ecs').description('Amazon ECS verbs as the AWS CLI names them: task definitions, clusters, services, tasks, container instances, capacity providers'), act, io);

  program
    .command('cost')
    .description('the bill so far: by purchase option, instance type, Auto Scaling group, namespace, workload and instance')
    .option('--since <time>', 'only since then: a duration back from the cluster\'s now (2h) or a time (RFC 3339)')
    .option('-o, --output <format>', 'json')
    .action(act(async (s, _args, o) => runCost(s(), io, { ...(o.since !== undefined ? { since: o.since as string } : {}), ...(o.output !== undefined ? { output: o.output as string } : {}) })));

  program
    .command('simulate')
    .description('run the whole cluster in virtual time: manifests at time zero, timed events, then cost, nodes, pods and a timeline')
    .option('-f, --filename <path>', 'manifests applied at time zero: a file, directory or - for stdin (repeatable)', collect, [])
    .option('-R, --recursive', 'process directories recursively')
    .option('--duration <duration>', 'how long to simulate, e.g. 30m, 2h, 24h')
    .option('--seed <n>', 'seed of every random choice: the same seed gives the same run', '1')
    .option('--events <file>', 'timed events: a YAML list of {at, action, ...} entries')
    .option('-o, --output <format>', 'json')
    .action(
      act(async (_s, _args, o) => {
        // Loaded on use: the whole control plane runs in this process.
        const { runSimulate } = await import('../simulate/command.js');
        await runSimulate(io, {
          filename: o.filename as string[],
          recursive: !!o.recursive,
          ...(o.duration !== undefined ? { duration: o.duration as string } : {}),
          seed: o.seed as string,
          ...(o.events !== undefined ? { events: o.events as string } : {}),
          ...(o.output !== undefined ? { output: o.output as string } : {}),
        });
      }),
    );

  // The scheduler's commands (pkg/scheduler/cli.ts), loaded on use.
  const bench = program.command('bench').description('benchmarks run in this process');
  bench
    .command('scheduler')
    .description('place generated pods on a generated fleet through the real scheduler code; prints JSON figures')
    .option('--nodes <n>', 'nodes in the fleet', '1000')
    .option('--pods <n>', 'pods to place', '10000')
    .option('--workload <kind>', 'resources or mixed', 'resources')
    .option('--seed <n>', 'seed of the generated cluster and workload', '1')
    .option('--algorithm <name>', 'berth or kube-baseline', 'berth')
    .option('--instance-types <types>', 'comma-separated instance types of the fleet (default: a mix of m6i, c6i, r6i, m7g, c7g, r7g)')
    .option('--fill <share>', "total requests as a share of the fleet's allocatable", '0.85')
    .option('--no-warmup', 'measure a cold process: no warm-up placement (1/20 the size, another seed) first')
    .option('--json <file>', 'also write the result to this file')
    .action(
      act(async (_s, _args, o) => {
        const { runBenchScheduler } = await import('../scheduler/cli.js');
        runBenchScheduler(io, o as Record<string, string | boolean>);
      }),
    );
  // The control plane end to end (pkg/controlplane/bench-e2e.ts), loaded on use.
  bench
    .command('e2e')
    .description('a server with N simulated nodes; one Deployment of R replicas through the HTTP API; time until every pod is bound and Running; prints JSON')
    .option('--nodes <n>', 'simulated nodes', '1000')
    .option('--replicas <n>', 'replicas of the Deployment', '10000')
    .option('--store <store>', 'memory, sqlite (a fresh file) or etcd://host:port[,host:port…]', 'sqlite')
    .option('--time-scale <x>', 'divide the simulated runtime\'s waits (image pull, container start and stop) by this; the control plane runs on the wall clock', '1000')
    .option('--json <file>', 'also write the result to this file')
    .action(
      act(async (_s, _args, o) => {
        const { runBenchE2e } = await import('../controlplane/bench-e2e.js');
        await runBenchE2e({ out: (s) => io.stdout(s) }, o as Record<string, string>);
      }),
    );
  // Karpenter's planner (pkg/karpenter/bench.ts), loaded on use.
  bench
    .command('provisioner')
    .description('plan the cheapest new nodes for generated pending pods over the instance-type catalogue; prints JSON figures')
    .option('--pods <n>', 'pending pods', '10000')
    .option('--instance-types <n>', '"all" (the catalogue) or a number of types (beyond the catalogue: synthetic ones)', 'all')
    .option('--seed <n>', 'seed of the generated pods', '1')
    .option('--json <file>', 'also write the result to this file')
    .action(
      act(async (_s, _args, o) => {
        const { runBenchProvisioner } = await import('../karpenter/bench.js');
        await runBenchProvisioner(io, o as Record<string, string>);
      }),
    );
  program
    .command('explain')
    .description('why a pod is on its node (top nodes with each plugin\'s score), or why it is not scheduled')
    .argument('<args...>', 'pod NAME')
    .option('-o, --output <format>', 'json')
    .action(
      act(async (s, args, o) => {
        const { runExplain } = await import('../scheduler/cli.js');
        await runExplain(s, io, args, o.output as string | undefined);
      }),
    );

  return program;
}

/** Boolean flags that kubectl users write as `--flag=true|false`. */
const BOOLEAN_FLAGS = new Set(['wait', 'show-events', 'namespaced', 'show-labels', 'ignore-not-found', 'all-namespaces', 'recursive', 'force', 'all', 'watch', 'client']);
const NEGATABLE = new Set(['wait', 'show-events', 'namespaced']);

/** `--wait=false` → `--no-wait`, `--show-labels=true` → `--show-labels`, as kubectl accepts them. */
export function normalizeArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    const m = /^--([a-z-]+)=(true|false)$/.exec(a);
    if (m && BOOLEAN_FLAGS.has(m[1]!)) {
      if (m[2] === 'true') out.push(`--${m[1]}`);
      else if (NEGATABLE.has(m[1]!)) out.push(`--no-${m[1]}`);
      continue;
    }
    out.push(a);
  }
  return out;
}

/**
 * Runs one command line (`argv` without the node and script paths) and returns its exit code:
 * 0, or 1 after one clear line on stderr. `program` lets `cmd/berth/main.ts` pass the program it
 * extended (e.g. with `server`).
 */
export async function runCli(argv: string[], io: IO, program: Command = buildProgram(io)): Promise<number> {
  const state = exitCodes.get(program) ?? { code: 0 };
  state.code = 0;
  try {
    await program.parseAsync(normalizeArgs(argv), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (!(e instanceof ReportedError)) io.stderr(`${errorLine(e)}\n`);
    return e instanceof ReportedError ? e.exitCode : 1;
  }
  return state.code;
}
