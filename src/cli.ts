import { Command, Help, Option } from 'commander';
import { UserError, oneLine } from './errors.js';
import { registerCreate } from './commands/create-options.js';
import { collect, lazy } from './commands/cli-util.js';
import { registerCluster } from './commands/cluster-options.js';
import { setDebug } from './util/log.js';
import { swarmupVersion } from './version.js';

/** Global options every command sees. */
export interface GlobalOptions {
  storagePath?: string;
  debug?: boolean;
}

const NAME = '[name]';
const NAMES = '[names...]';

export function buildProgram(argv: string[]): Command {
  const program = new Command('swarmup')
    .description('Turn machines into Docker Swarm clusters and wire cloud load balancers to them.')
    .version(swarmupVersion(), '-v, --version', 'print the swarmup version')
    .addOption(
      new Option('-s, --storage-path <path>', 'where machines, keys and certificates are kept').env(
        'SWARMUP_STORAGE_PATH',
      ),
    )
    .option('-D, --debug', 'print debug lines to stderr')
    // Usage errors stay on one line, the hint included; lists default to none, not "[]".
    .configureOutput({
      outputError: (str, write) => write(`${str.trimEnd()} (run with --help for usage)\n`),
    })
    .configureHelp({
      optionDescription(option) {
        return Help.prototype.optionDescription
          .call(this, option)
          .replace(/ \(default: \[\]\)$/, '')
          .replace(/\(default: \[\], /, '(');
      },
    })
    .hook('preAction', (cmd) => setDebug(!!cmd.optsWithGlobals().debug || process.env.SWARMUP_DEBUG === '1'))
    .addHelpText(
      'after',
      '\nA command without a machine name acts on the machine called "default".\n' +
        'Driver flags: swarmup create --driver <name> --help',
    );

  registerCreate(program, argv);
  registerCluster(program, argv);

  program
    .command('ls')
    .description('list machines with their state, URL and Docker version (queried in parallel)')
    .option('-q, --quiet', 'print only machine names')
    .option(
      '--filter <key=value>',
      'filter: driver, state, name (regex), label; repeat a key to OR it',
      collect,
      [],
    )
    .option('-t, --timeout <seconds>', 'time to wait for each machine to answer', '10')
    .option('-f, --format <template>', 'Go template per machine, e.g. "{{.Name}}\\t{{.URL}}"')
    .option('--json', 'print a JSON array')
    .action(lazy(() => import('./commands/ls.js')));

  program
    .command('inspect')
    .description("print a machine's configuration as JSON")
    .argument(NAME)
    .option('-f, --format <template>', 'Go template, e.g. "{{.Driver.IPAddress}}" or "{{json .HostOptions}}"')
    .action(lazy(() => import('./commands/inspect.js')));

  for (const [verb, desc] of [
    ['ip', 'print the IP address of machines'],
    ['url', 'print the Docker URL of a machine'],
    ['status', 'print the state of a machine'],
  ] as const) {
    program
      .command(verb)
      .description(desc)
      .argument(verb === 'ip' ? NAMES : NAME)
      .action(lazy(async () => ({ run: (await import('./commands/info.js'))[verb] })));
  }

  program
    .command('env')
    .description('print the environment that points the docker CLI at a machine')
    .argument(NAME)
    .option('--shell <shell>', 'bash, zsh, fish, tcsh, powershell or cmd (default: detected)')
    .option('-u, --unset', 'print commands that unset the variables')
    .option('--no-proxy', "add the machine's IP to NO_PROXY")
    .action(lazy(() => import('./commands/env.js')));

  program
    .command('config')
    .description(
      'print the docker CLI flags that connect to a machine; "config init [FILE]" writes a sample cluster file, "config schema" its JSON schema',
    )
    .argument(NAME)
    .argument('[file]', 'with "init": where to write the sample (default: stdout)')
    .option('-d, --driver <driver>', 'with "init": a sample for this driver (generic: a host inventory)')
    .action(lazy(async () => ({ run: (await import('./commands/info.js')).config })));

  program
    .command('ssh')
    .description('log in to a machine, or run a command on it: swarmup ssh NAME -- CMD')
    .argument(NAME)
    .argument('[command...]', 'command to run instead of an interactive shell')
    .action(lazy(async () => ({ run: (await import('./commands/ssh.js')).ssh })));

  program
    .command('scp')
    .description('copy files between machines and this host: swarmup scp [-r] SRC DST (machine:path)')
    .argument('<src>')
    .argument('<dst>')
    .option('-r, --recursive', 'copy directories recursively')
    .option('-q, --quiet', 'no progress meter')
    .action(lazy(async () => ({ run: (await import('./commands/ssh.js')).scp })));

  for (const [verb, desc] of [
    ['start', 'start machines'],
    ['stop', 'stop machines gracefully'],
    ['restart', 'restart machines'],
    ['kill', 'stop machines forcibly'],
  ] as const) {
    program
      .command(verb)
      .description(desc)
      .argument(NAMES)
      .action(
        lazy(async () => {
          const { power } = await import('./commands/power.js');
          return { run: (names: string[], _o: unknown, c: Command) => power(verb, names, c) };
        }),
      );
  }

  program
    .command('rm')
    .description('remove machines: the cloud resource and the local record')
    .argument(NAMES)
    .option('-f, --force', 'remove the local record even if removing the machine fails')
    .option('-y', 'do not ask for confirmation')
    .action(lazy(() => import('./commands/rm.js')));

  program
    .command('provision')
    .description('provision machines again (idempotent: unchanged machines are left alone)')
    .argument(NAMES)
    .action(lazy(async () => ({ run: (await import('./commands/provision.js')).provisionCmd })));

  program
    .command('regenerate-certs')
    .description('make new TLS certificates for machines and restart their engines')
    .argument(NAMES)
    .option('-f, --force', 'do not ask for confirmation')
    .option('--client-certs', 'also make a new CA and client certificate (other machines then need this too)')
    .action(lazy(async () => ({ run: (await import('./commands/provision.js')).regenerateCerts })));

  program
    .command('version')
    .description("print swarmup's version, or a machine's Docker Engine version")
    .argument('[name]')
    .action(lazy(async () => ({ run: (await import('./commands/info.js')).version })));

  program
    .command('active')
    .description('print the machine that DOCKER_HOST points at')
    .option('-t, --timeout <seconds>', 'time to wait for each machine to answer', '10')
    .action(lazy(async () => ({ run: (await import('./commands/ls.js')).active })));

  const lb = program
    .command('lb')
    .description("keep a load balancer in front of every published port of a cluster's swarm services");
  lb.command('sync')
    .description('plan and apply the load balancer for the swarm as it is now (local: an haproxy container)')
    .requiredOption('--cluster <name>', 'the cluster')
    .option('--dry-run', 'print the plan, change nothing')
    .option('--json', 'print the plan as JSON')
    .option('--lb-image <image>', 'haproxy image for the load-balancer container (default: haproxy:lts)')
    .option('--bind <address>', 'address the listeners bind on this host (default: 127.0.0.1)')
    .option('--watch', "keep syncing: follow the swarm's events and re-sync within seconds (Ctrl-C stops)")
    .option(
      '--resync <seconds>',
      'with --watch: also re-sync every N seconds whatever the events (default 30; 0: never)',
    )
    .action(lazy(async () => ({ run: (await import('./commands/lb.js')).sync })));
  lb.command('status')
    .description("show the load balancer's listeners and backends, and whether it matches the swarm")
    .requiredOption('--cluster <name>', 'the cluster')
    .option('--json', 'print JSON')
    .action(lazy(async () => ({ run: (await import('./commands/lb.js')).status })));
  lb.command('rm')
    .description(
      "remove the cluster's load balancer and everything it owns (local: the haproxy container; cloud: its resources)",
    )
    .requiredOption('--cluster <name>', 'the cluster')
    .action(lazy(async () => ({ run: (await import('./commands/lb.js')).rm })));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram(argv);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const code = err instanceof UserError ? err.exitCode : 1;
    process.stderr.write(`${err instanceof UserError ? '' : 'Error: '}${oneLine(err)}\n`);
    if (process.env.SWARMUP_DEBUG === '1' || argv.includes('-D') || argv.includes('--debug')) {
      process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    }
    process.exitCode = code;
  }
}
