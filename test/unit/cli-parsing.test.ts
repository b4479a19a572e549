import { describe, it, expect, afterEach } from 'vitest';
import { Command } from 'commander';
import { driverFromArgv, flagOption, registerCreate } from '../../src/commands/create-options.js';
import { attrName, driverFlagValues } from '../../src/commands/driver-flags.js';
import { genericPlugin } from '../../drivers/generic/plugin.js';
import { parseFilters, formatTable, type MachineRow } from '../../src/commands/ls.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

function parseCreate(argv: string[]): Record<string, unknown> {
  const program = new Command('swarmup').exitOverride();
  registerCreate(program, argv);
  let opts: Record<string, unknown> = {};
  const create = program.commands.find((c) => c.name() === 'create')!;
  create.exitOverride().action((_n: string, o: Record<string, unknown>) => {
    opts = o;
  });
  program.parse(argv, { from: 'user' });
  return opts;
}

describe('driver flags', () => {
  it('finds the driver before parsing, in all its spellings', () => {
    expect(driverFromArgv(['create', '--driver', 'generic', 'x'])).toBe('generic');
    expect(driverFromArgv(['create', '-d', 'generic'])).toBe('generic');
    expect(driverFromArgv(['create', '--driver=generic'])).toBe('generic');
    expect(driverFromArgv(['ssh', 'x', '--', '--driver', 'y'])).toBeUndefined();
    process.env.MACHINE_DRIVER = 'generic';
    expect(driverFromArgv(['create'])).toBe('generic');
  });

  it('a list flag without a default (cluster up leaves defaults to the merge) collects repeated values', () => {
    const cmd = new Command('x').exitOverride();
    cmd.addOption(flagOption({ name: 'x-labels', type: 'list', description: 'labels' }, false));
    cmd.parse(['--x-labels', 'a=1', '--x-labels', 'b=2'], { from: 'user' });
    expect(cmd.opts().xLabels).toEqual(['a=1', 'b=2']);
  });

  it('maps --generic-* flags and their defaults', () => {
    expect(attrName('generic-ip-address')).toBe('genericIpAddress');
    const o = parseCreate([
      'create',
      '--driver',
      'generic',
      '--generic-ip-address',
      '10.1.2.3',
      '--generic-ssh-port',
      '2222',
      'n1',
    ]);
    const v = driverFlagValues(genericPlugin, o);
    expect(v['generic-ip-address']).toBe('10.1.2.3');
    expect(v['generic-ssh-port']).toBe(2222);
    expect(v['generic-ssh-user']).toBe('root');
    expect(v['generic-engine-port']).toBe(2376);
  });

  it('reads flags from their environment variables, and a flag beats the variable', () => {
    process.env.GENERIC_IP_ADDRESS = '10.9.9.9';
    process.env.GENERIC_SSH_USER = 'admin';
    const o = parseCreate(['create', '--driver', 'generic', '--generic-ssh-user', 'ops', 'n1']);
    const v = driverFlagValues(genericPlugin, o);
    expect(v['generic-ip-address']).toBe('10.9.9.9');
    expect(v['generic-ssh-user']).toBe('ops');
  });

  it('collects repeatable engine flags and rejects a non-numeric port', () => {
    const o = parseCreate([
      'create',
      '--driver',
      'generic',
      '--engine-label',
      'a=1',
      '--engine-label',
      'b=2',
      '--tls-san',
      'x.example',
    ]);
    expect(o.engineLabel).toEqual(['a=1', 'b=2']);
    expect(o.tlsSan).toEqual(['x.example']);
    expect(() => parseCreate(['create', '--driver', 'generic', '--generic-ssh-port', 'abc'])).toThrow(
      /whole number/,
    );
  });
});

describe('ls filters and table', () => {
  const row = (o: Partial<MachineRow>): MachineRow => ({
    Name: 'a',
    Active: '-',
    ActiveHost: false,
    DriverName: 'generic',
    State: 'Running',
    URL: '',
    Swarm: '',
    DockerVersion: 'v20.10.24',
    Error: '',
    ResponseTime: '',
    Labels: [],
    ...o,
  });
  const rows = [
    row({ Name: 'web-1' }),
    row({ Name: 'web-2', State: 'Stopped' }),
    row({ Name: 'db', DriverName: 'google', Labels: ['tier=db'] }),
  ];
  it('ORs repeats of a key and ANDs different keys', () => {
    const names = (f: string[]) => rows.filter(parseFilters(f)).map((r) => r.Name);
    expect(names(['state=Running'])).toEqual(['web-1', 'db']);
    expect(names(['state=running', 'state=stopped'])).toEqual(['web-1', 'web-2', 'db']);
    expect(names(['name=^web', 'state=Running'])).toEqual(['web-1']);
    expect(names(['driver=google'])).toEqual(['db']);
    expect(names(['label=tier=db'])).toEqual(['db']);
    expect(() => parseFilters(['colour=red'])).toThrow(/invalid filter/);
  });
  it('prints docker-machine columns', () => {
    const t = formatTable(rows.slice(0, 1)).split('\n');
    expect(t[0]).toMatch(/^NAME\s+ACTIVE\s+DRIVER\s+STATE\s+URL\s+SWARM\s+DOCKER\s+ERRORS$/);
    expect(t[1]).toMatch(/^web-1\s+-\s+generic\s+Running\s+v20\.10\.24$/);
  });
});
