import { Command, Help, Option } from 'commander';
import { UserError, oneLine } from './errors.js';
import { registerCreate } from './commands/create-options.js';
import { collect, lazy } from './commands/cli-util.js';
import { envBool } from './util/env.js';
import { splitVerbatim } from './commands/ssh-args.js';
import { registerCluster } from './commands/cluster-options.js';
import { setDebug } from './util/log.js';
import { swarmupVersion } from './version.js';

/** Global options every command sees. */
export interface GlobalOptions {
  storagePath?: string;
  debug?: boolean;
  nativeSsh?: boolean;
}

const NAME = '[name]';
const NAMES = '[names...]';

/** docker-machine's MACHINE_DEBUG (Go's ParseBool), or swarmup's SWARMUP_DEBUG=1. */
const debugFromEnv = () => process.env.SWARMUP_DEBUG === '1' || envBool('MACHINE_DEBUG');

/**
 * The program. `sshWords` are the words after `ssh NAME`, cut from argv before parsing (splitVerbatim)
 * so that they reach the remote side verbatim.
 */
export function buildProgram(argv: string[], sshWords: string[] = []): Command {
  const program = new Command('swarmup')
    .description('Turn machines into Docker Swarm clusters and wire cloud load balancers to them.')
    .version(swarmupVersion(), '-v, --version', 'print the swarmup version')
    .addOption(
      new Option('-s, --storage-path <path>', 'where machines, keys and certificates are kept').env(
        'SWARMUP_STORAGE_PATH',
      ),
    )
    .option('-D, --debug', 'print debug lines to stderr (or MACHINE_DEBUG=1)')
    .option('--native-ssh', 'use the built-in SSH client for ssh, never OpenSSH (or MACHINE_NATIVE_SSH=1)')
    // docker-machine's: they fetched boot2docker releases and sent crash reports; swarmup does neither.
    .addOption(new Option('--github-api-token <token>').hideHelp())
    .addOption(new Option('--bugsnag-api-token <token>').hideHelp())
    .addOption(new Option('--tls-ca-cert <file>').hideHelp())
    .addOption(new Option('--tls-ca-key <file>').hideHelp())
    .addOption(new Option('--tls-client-cert <file>').hideHelp())
    .addOption(new Option('--tls-client-key <file>').hideHelp())
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
    .hook('preAction', (_program, action) => {
      const g = action.optsWithGlobals();
      setDebug(!!g.debug || debugFromEnv());
      const tls = ['tlsCaCert', 'tlsCaKey', 'tlsClientCert', 'tlsClientKey'].find((k) => g[k] !== undefined);
      if (tls) {
        throw new UserError(
          `--${tls.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is not supported: swarmup keeps one CA and client certificate per store, in its certs/ (use --storage-path to choose the store)`,
        );
      }
    })
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
    .argument(NAMES)
    .option('--shell <shell>', 'bash, zsh, fish, tcsh, powershell, cmd or emacs (default: from $SHELL)')
    .option('-u, --unset', 'print commands that unset the variables (no machine name)')
    .option('--no-proxy', "add the machine's IP to NO_PROXY")
    .addOption(new Option('--swarm').hideHelp())
    .action(lazy(() => import('./commands/env.js')));

  program
    .command('config')
    .description(
      'print the docker CLI flags that connect to a machine; "config init [FILE]" writes a sample cluster file, "config schema" its JSON schema',
    )
    .argument(NAME)
    .argument('[file]', 'with "init": where to write the sample (default: stdout)')
    .option('-d, --driver <driver>', 'with "init": a sample for this driver (generic: a host inventory)')
    .addOption(new Option('--swarm').hideHelp())
    .action(lazy(async () => ({ run: (await import('./commands/info.js')).config })));

  program
    .command('ssh')
    .description('log in to a machine, or run a command on it: swarmup ssh NAME [ssh options] [CMD ARGS...]')
    .argument(NAME)
    .addHelpText(
      'after',
      '\nEverything after NAME goes to the machine as typed: "swarmup ssh web-1 df -h",\n' +
        '"swarmup ssh web-1 docker swarm join --token T 10.0.0.2:2377". Leading options are ssh(1)\'s\n' +
        '("swarmup ssh web-1 -L 8080:localhost:80"); "--" ends them. The words are joined with spaces\n' +
        'for the remote shell, as ssh(1) does: quote what that shell must see as one word.',
    )
    .action(
      lazy(async () => {
        const { ssh } = await import('./commands/ssh.js');
        return { run: (name: string | undefined, _o: unknown, c: Command) => ssh(name, sshWords, c) };
      }),
    );

  program
    .command('scp')
    .description('copy files between machines and this host: swarmup scp [-r] [-d] [-q] SRC DST')
    .argument('<src>', '[user@]machine:path, or a local path')
    .argument('<dst>', '[user@]machine:path, or a local path')
    .option('-r, --recursive', 'copy directories recursively')
    .option('-d, --delta', 'send only the differences (rsync, when this host and the machine have it)')
    .option('-q, --quiet', 'no progress meter, no diagnostics')
    .action(lazy(async () => ({ run: (await import('./commands/scp.js')).scp })));

  program
    .command('mount')
    .description(
      'mount a directory of a machine here with sshfs: swarmup mount [-u] MACHINE:PATH [MOUNTPOINT]',
    )
    .argument('<src>', 'machine:path')
    .argument('[mountpoint]', 'where to mount it (default: the same path)')
    .option('-u, --unmount', 'unmount instead')
    .action(lazy(async () => ({ run: (await import('./commands/mount.js')).mount })));

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
    .option(
      '-f, --force',
      'remove the local record even if removing the machine fails (a warning says what may be left); implies -y',
    )
    .option('-y', 'do not ask for confirmation')
    .action(lazy(() => import('./commands/rm.js')));

  program
    .command('upgrade')
    .description(
      "upgrade machines' Docker Engine (package manager, or the machine's --engine-install-url); certificates and swarm membership kept",
    )
    .argument(NAMES)
    .action(lazy(async () => ({ run: (await import('./commands/upgrade.js')).upgrade })));

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
    .description(
      "keep a load balancer in front of every published port of a swarm's services: --cluster NAME, or --manager MACHINE for a swarm made by hand",
    );
  lb.command('sync')
    .description(
      'plan and apply the load balancer for the swarm as it is now (docker, generic, virtualbox: an haproxy container on this host; google: a GCE network load balancer; aliyunecs: an SLB)',
    )
    .option('--cluster <name>', 'the cluster (made by "cluster up")')
    .option(
      '--manager <machine>',
      'the swarm this machine manages (made by hand with docker swarm init/join)',
    )
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
    .option('--cluster <name>', 'the cluster (made by "cluster up")')
    .option('--manager <machine>', 'the swarm this machine manages (made by hand)')
    .option('--json', 'print JSON')
    .action(lazy(async () => ({ run: (await import('./commands/lb.js')).status })));
  lb.command('rm')
    .description(
      "remove the swarm's load balancer and everything it owns (local: the haproxy container; cloud: its resources; a user's SLB keeps existing without swarmup's listeners)",
    )
    .option('--cluster <name>', 'the cluster (made by "cluster up")')
    .option('--manager <machine>', 'the swarm this machine manages (made by hand)')
    .action(lazy(async () => ({ run: (await import('./commands/lb.js')).rm })));
  registerLbController(lb);

  return program;
}

/** `lb controller ...`: the load balancer kept from inside the cluster (src/lb/controller/). */
function registerLbController(lb: Command): void {
  const ctl = lb
    .command('controller')
    .description(
      'run the load-balancer reconcile inside the swarm (a service on a manager) instead of "lb sync --watch" on this host: GCE and SLB load balancers',
    );
  const run = (verb: 'install' | 'status' | 'rm' | 'build' | 'run') =>
    lazy(async () => ({ run: (await import('./commands/lb-controller.js'))[verb] }));
  ctl
    .command('install')
    .description(
      'create (or update) the service swarmup-lb-controller: 1 replica on a manager, the Docker socket mounted, credentials from the instances (service account, RAM role) or as swarm secrets; waits for its first sync',
    )
    .option('--cluster <name>', 'the cluster (made by "cluster up")')
    .option('--manager <machine>', 'the swarm this machine manages (made by hand)')
    .option(
      '--image <image>',
      'controller image (default: swarmup/lb-controller:<version>; loaded from this host\'s engine when it has it, see "lb controller build")',
    )
    .option(
      '--credentials <kind>',
      "instance (the VMs' service account or RAM role) or secret (a key as swarm secrets); default: instance when every VM has one",
    )
    .option(
      '--google-key-file <file>',
      'service-account key for --credentials secret on GCE (default: GOOGLE_APPLICATION_CREDENTIALS)',
    )
    .option('--resync <seconds>', 'also re-sync every N seconds whatever the events (default 30; 0: never)')
    .option('--no-wait', 'do not wait for the first sync')
    .option('--json', 'print the result as JSON')
    .action(run('install'));
  ctl
    .command('status')
    .description(
      "the controller's service and task, who holds its lease, its last sync, last error and last change",
    )
    .option('--cluster <name>', 'the cluster (made by "cluster up")')
    .option('--manager <machine>', 'the swarm this machine manages (made by hand)')
    .option('--json', 'print JSON')
    .action(run('status'));
  ctl
    .command('rm')
    .description('remove the controller (service, secrets, lease); the load balancer stays for "lb sync"')
    .option('--cluster <name>', 'the cluster (made by "cluster up")')
    .option('--manager <machine>', 'the swarm this machine manages (made by hand)')
    .action(run('rm'));
  ctl
    .command('build')
    .description(
      'build the controller image on the local engine (DOCKER_HOST, unless it names a machine of the store: then the default socket) from this swarmup, its production dependencies and this node binary: no registry or network needed',
    )
    .option(
      '--base <image>',
      'base image with glibc and libstdc++, on the local engine (default: node:20-bookworm-slim)',
    )
    .option('--tag <image>', 'image name (default: swarmup/lb-controller:<version>)')
    .action(run('build'));
  ctl
    .command('run', { hidden: true })
    .description('the controller process (the image entrypoint)')
    .action(run('run'));
}

export async function main(argv: string[]): Promise<void> {
  const { argv: parsed, rest } = splitVerbatim(argv);
  const program = buildProgram(argv, rest);
  try {
    await program.parseAsync(parsed);
  } catch (err) {
    const code = err instanceof UserError ? err.exitCode : 1;
    process.stderr.write(`${err instanceof UserError ? '' : 'Error: '}${oneLine(err)}\n`);
    if (debugFromEnv() || parsed.includes('-D') || parsed.includes('--debug')) {
      process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    }
    process.exitCode = code;
    // Interrupted and cleaned up: work the signal cut short may still hold sockets open; do not wait.
    if (code === 130 || code === 143) process.exit(code);
  }
}
