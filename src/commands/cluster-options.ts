import { InvalidArgumentError, type Command } from 'commander';
import { drivers } from '../driver/registry.js';
import { collect, lazy } from './cli-util.js';
import { addDriverOptions, addEngineOptions, driverFromArgv } from './create-options.js';

const impl = (name: string) =>
  lazy(async () => ({
    run: (await import('./cluster.js'))[name as 'up'] as (...a: never[]) => Promise<void>,
  }));

const MAX_NODES = '--max-nodes <n>';
const MAX_NODES_HELP =
  'refuse more nodes than this (default 100, or SWARMUP_MAX_NODES): a typo must not fill an engine';
const WAIT_LOCK = '--wait-lock [duration]';
const WAIT_LOCK_HELP =
  'when another swarmup run is changing this cluster, wait for it (up to the duration, default 30m) instead of failing';

export function registerCluster(program: Command, argv: string[]): void {
  const cluster = program
    .command('cluster')
    .description('swarm clusters: up, down, ls, status, scale, env, prune')
    .addHelpText(
      'after',
      '\nExample:\n  swarmup cluster up ci --driver docker --managers 3 --workers 5\n' +
        '  eval "$(swarmup cluster env ci)"; docker node ls\n  swarmup cluster down ci',
    );

  const chosen = driverFromArgv(argv);
  const up = cluster
    .command('up')
    .description(
      'create or converge a cluster: missing machines made, broken ones repaired, healthy ones left alone',
    )
    .argument('[name]', 'cluster name (lowercase letters, digits, "-"); or metadata.name in the file')
    .option('-d, --driver <driver>', `driver: ${drivers.map((d) => d.name).join(', ')}`)
    .option('--managers <n>', 'manager nodes (odd: 1, 3, 5)', toInt)
    .option('--workers <n>', 'worker nodes', toInt)
    .option('--parallel <n>', 'machines created and provisioned at once (default 8)', toInt)
    .option('-f, --file <path>', 'cluster file (YAML, kind: Cluster); "-" reads stdin; flags override it')
    .option('--wait', 'wait until every node is Ready (the default)')
    .option('--no-wait', 'do not wait until every node is Ready')
    .option('--timeout <duration>', 'how long to wait for Ready nodes (s, m, h)', '5m')
    .option('--retain', 'keep the machines of a failed new cluster, for debugging')
    .option(
      '--rebuild-swarm',
      'start a new swarm on a manager and make in it the networks, configs and services the old one ' +
        'holds (for a swarm whose raft cannot be restarted; refused when it holds secrets)',
    )
    .option(
      '--ttl <duration>',
      'mark the cluster to expire after this long ("cluster prune --expired" removes it)',
    )
    .option('--label <key=value>', 'label on every machine and node (repeatable)', collect, [])
    .option(MAX_NODES, MAX_NODES_HELP, toInt)
    .option(WAIT_LOCK, WAIT_LOCK_HELP)
    .option('--json', 'print the result as JSON on stdout')
    .action(impl('up'));
  addEngineOptions(up);
  addDriverOptions(
    up,
    drivers.find((d) => d.name === chosen),
    'swarmup cluster up',
    false,
    true,
  );

  cluster
    .command('down')
    .description(
      'remove every machine, network, volume and cloud resource a cluster owns (found by labels too)',
    )
    .argument('[name]')
    .option('--all', 'every cluster in the store and every cluster the drivers can find by labels')
    .option(WAIT_LOCK, WAIT_LOCK_HELP)
    .option(
      '-d, --driver <driver>',
      'look only with this driver (default: the cluster record, or all drivers)',
    )
    .option('--json', 'print what was removed as JSON')
    .action(impl('down'));

  cluster.command('ls').description('list clusters').option('--json', 'print JSON').action(impl('ls'));

  cluster
    .command('status')
    .description('nodes of a cluster: role, leader, availability, state, engine version')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(impl('status'));

  const scale = cluster
    .command('scale')
    .description('change the number of workers (or managers, kept odd) and converge')
    .argument('<name>')
    .option('--workers <n>', 'worker nodes', toInt)
    .option('--managers <n>', 'manager nodes (odd)', toInt)
    .option(MAX_NODES, MAX_NODES_HELP, toInt)
    .option(WAIT_LOCK, WAIT_LOCK_HELP)
    .option('--json', 'print the result as JSON on stdout')
    .action(impl('scale'));
  // Clusters of existing hosts grow by hosts: each one given here becomes a machine.
  for (const d of drivers.filter((x) => x.inventory))
    scale.option(
      `--${d.inventory!.address} <address>`,
      `${d.name} clusters: a host to add (repeatable; fewer --workers drops the last worker hosts)`,
      collect,
    );

  cluster
    .command('env')
    .description('print the environment that points the docker CLI at a reachable manager')
    .argument('<name>')
    .option('--shell <shell>', 'bash, zsh, fish, tcsh, powershell or cmd (default: detected)')
    .option('-u, --unset', 'print commands that unset the variables')
    .option('--docker-context', 'also create (or update) a docker context named swarmup-<name>')
    .action(impl('env'));

  cluster
    .command('prune')
    .description('remove clusters whose --ttl has passed')
    .option('--expired', 'remove expired clusters (required, so that prune never surprises)')
    .option('--dry-run', 'only list what would be removed')
    .action(impl('prune'));

  program
    .command('image')
    .description('images: swarmup image load --cluster NAME IMAGE...')
    .command('load')
    .description('copy local images into every node of a cluster (no registry needed)')
    .argument('<images...>')
    .requiredOption('--cluster <name>', 'cluster to load the images into')
    .option('--parallel <n>', 'nodes loaded at once', toInt, 4)
    .action(lazy(async () => ({ run: (await import('./image.js')).load })));
}

function toInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}
