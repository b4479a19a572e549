import { Command, InvalidArgumentError, Option } from 'commander';
import type { DriverPlugin, FlagSpec } from '../driver/contract.js';
import { numberProblem } from '../driver/flags.js';
import { drivers } from '../driver/registry.js';
import { collect, lazy } from './cli-util.js';
import { CLASSIC_SWARM_SWITCHES, CLASSIC_SWARM_VALUE_FLAGS } from './classic-swarm.js';

/** The driver named on the command line or in the environment, found before commander parses. */
export function driverFromArgv(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '--driver' || a === '-d') return argv[i + 1];
    if (a.startsWith('--driver=')) return a.slice('--driver='.length);
  }
  return process.env.SWARMUP_DRIVER || process.env.MACHINE_DRIVER || undefined;
}

/** commander's attribute name for a flag: `generic-ip-address` → `genericIpAddress`. */
export const attrName = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * A commander option for a driver flag; `withDefault: false` leaves defaults to a later merge. A
 * `repeatable` flag collects its values (one per host of a cluster's inventory), checked later.
 */
export function flagOption(f: FlagSpec, withDefault = true, repeatable?: string): Option {
  const arg = f.type === 'boolean' ? '' : f.type === 'number' ? ' <n>' : ' <value>';
  const what = f.description + (f.required ? ' (required)' : '');
  const o = new Option(`--${f.name}${arg}`, repeatable ? `${what}; ${repeatable}` : what);
  if (f.env) o.env(f.env);
  if (repeatable) {
    o.argParser(collect);
    return o;
  }
  if (f.type === 'number') {
    o.argParser((v: string) => {
      const n = Number(v);
      const why = numberProblem(f, n);
      if (why) throw new InvalidArgumentError(why);
      return n;
    });
  }
  if (f.type === 'list') o.argParser(collect);
  if (withDefault && f.type === 'list') o.default([]);
  if (withDefault && f.default !== undefined && f.type !== 'list') o.default(f.default);
  return o;
}

/** docker-machine's default driver, used when neither --driver nor MACHINE_DRIVER names one. */
export const DEFAULT_DRIVER = 'virtualbox';

export function registerCreate(program: Command, argv: string[]): void {
  // Help without a driver lists every driver; a create without one makes a VirtualBox VM, as docker-machine.
  const help = argv.includes('--help') || argv.includes('-h');
  const chosen = driverFromArgv(argv) ?? (help ? undefined : DEFAULT_DRIVER);
  const plugin = drivers.find((d) => d.name === chosen);
  const cmd = program
    .command('create')
    .description('create a machine and turn it into a Docker host with TLS')
    .argument('[name]', 'machine name (letters, digits, "-" and ".")', 'default')
    .option(
      '-d, --driver <driver>',
      `driver: ${drivers.map((d) => d.name).join(', ')} (default: ${DEFAULT_DRIVER}, or MACHINE_DRIVER)`,
      chosen,
    )
    .action(lazy(() => import('./create.js')));
  addEngineOptions(cmd, true);
  addClassicSwarmOptions(cmd);
  addDriverOptions(cmd, plugin, 'swarmup create', true);
}

/** Swarm classic's flags, hidden: `create` answers each with the swarm-mode way (see classic-swarm.ts). */
function addClassicSwarmOptions(cmd: Command): void {
  for (const f of CLASSIC_SWARM_VALUE_FLAGS) cmd.addOption(new Option(`--${f} <value>`).hideHelp());
  for (const f of CLASSIC_SWARM_SWITCHES) cmd.addOption(new Option(`--${f}`).hideHelp());
}

/** Comma-separated values, as docker-machine's list flags read them from the environment. */
const collectSplit = (v: string, prev: string[] | undefined) => [
  ...(prev ?? []),
  ...v.split(',').filter(Boolean),
];

/**
 * The engine flags shared by `create` and `cluster up`. `create` also reads docker-machine's variables
 * for them (MACHINE_DOCKER_INSTALL_URL, ENGINE_REGISTRY_MIRROR).
 */
export function addEngineOptions(cmd: Command, machineEnv = false): Command {
  const installUrl = new Option(
    '--engine-install-url <url>',
    'script that installs Docker (default: the distribution packages)',
  );
  const mirror = new Option('--engine-registry-mirror <url>', 'registry mirror (repeatable)')
    .argParser(collectSplit)
    .default([]);
  if (machineEnv) {
    installUrl.env('MACHINE_DOCKER_INSTALL_URL');
    mirror.env('ENGINE_REGISTRY_MIRROR');
  }
  return cmd
    .addOption(installUrl)
    .option('--engine-opt <flag=value>', 'dockerd flag, e.g. dns=10.0.0.2 (repeatable)', collect, [])
    .option('--engine-insecure-registry <registry>', 'insecure registry (repeatable)', collect, [])
    .addOption(mirror)
    .option('--engine-label <key=value>', 'engine label (repeatable)', collect, [])
    .option('--engine-storage-driver <driver>', 'storage driver for the engine')
    .option('--engine-env <NAME=value>', 'environment variable for dockerd (repeatable)', collect, [])
    .option('--tls-san <name>', 'extra name or address for the server certificate (repeatable)', collect, []);
}

/**
 * The chosen driver's flags, shown in help; without a chosen driver every driver's flags are accepted
 * (hidden) so that a cluster file can name the driver.
 */
export function addDriverOptions(
  cmd: Command,
  plugin: DriverPlugin | undefined,
  usage: string,
  withDefaults: boolean,
  perHost = false,
): void {
  // A cluster of existing hosts: these flags repeat, the N-th value for the N-th machine.
  const repeat = (p: DriverPlugin, f: FlagSpec): string | undefined => {
    const inv = perHost ? p.inventory : undefined;
    if (!inv) return undefined;
    if ([inv.address, inv.internalAddress].includes(f.name))
      return 'repeat it, one per host (managers first)';
    if ([inv.user, inv.port].includes(f.name)) return 'once for every host, or repeated one per host';
    return undefined;
  };
  if (plugin) {
    for (const f of plugin.flags) cmd.addOption(flagOption(f, withDefaults, repeat(plugin, f)));
    cmd.addHelpText(
      'after',
      `\nThe ${plugin.name} driver: ${plugin.description}. Its flags are listed above.`,
    );
    return;
  }
  for (const d of drivers)
    for (const f of d.flags) cmd.addOption(flagOption(f, withDefaults, repeat(d, f)).hideHelp());
  const list = drivers.map((d) => `  ${d.name.padEnd(12)} ${d.description}`).join('\n');
  cmd.addHelpText('after', `\nDrivers:\n${list}\n\nDriver flags: ${usage} --driver <name> --help`);
}
