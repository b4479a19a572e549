/**
 * docker-machine's command lines, parsed as it did: the words after `ssh NAME` (ssh(1) options, `--`,
 * the remote command verbatim), scp operands, and `env` output byte for byte in every shell.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  remoteCommand,
  requireNoSshOptions,
  splitSshArgs,
  splitVerbatim,
} from '../../src/commands/ssh-args.js';
import { opensshArgs } from '../../src/commands/ssh.js';
import { parseScpOperand } from '../../src/commands/scp.js';
import { detectShell, formatEnv, noProxy, styleOf } from '../../src/commands/env-format.js';
import { sshConfigFile } from '../../src/ssh/openssh.js';
import { packPath, unpackRenamed } from '../../src/util/tar.js';
import { UserError } from '../../src/errors.js';

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  return 'no error';
};

describe('ssh NAME ...: what follows the machine name', () => {
  it.each([
    [['df', '-h'], [], ['df', '-h']],
    [['ls', '-la', '/'], [], ['ls', '-la', '/']],
    [
      ['docker', 'swarm', 'join', '--token', 'SWMTKN-1-abc', '10.0.0.2:2377'],
      [],
      ['docker', 'swarm', 'join', '--token', 'SWMTKN-1-abc', '10.0.0.2:2377'],
    ],
    [
      ['docker', 'swarm', 'init', '--listen-addr', '192.168.99.100', '--advertise-addr', '192.168.99.100'],
      [],
      ['docker', 'swarm', 'init', '--listen-addr', '192.168.99.100', '--advertise-addr', '192.168.99.100'],
    ],
    [['ip', '-4', '-o', 'addr', 'show', 'eth1'], [], ['ip', '-4', '-o', 'addr', 'show', 'eth1']],
    [['-C', 'echo', 'foo'], ['-C'], ['echo', 'foo']],
    [['--', 'ls', '-lah', '/'], [], ['ls', '-lah', '/']],
    [['-C', '--', '-weird', 'x'], ['-C'], ['-weird', 'x']],
    [['-L', '8080:localhost:80', '-N'], ['-L', '8080:localhost:80', '-N'], []],
    [['-p2222', '-tt', 'top'], ['-p2222', '-tt'], ['top']],
    [['-o', 'ServerAliveInterval=5', 'uptime'], ['-o', 'ServerAliveInterval=5'], ['uptime']],
    [['-qC', 'true'], ['-qC'], ['true']],
    [[], [], []],
    [['--'], [], []],
  ])('%j → options %j, command %j', (words, options, command) => {
    const r = splitSshArgs(words);
    expect(r.options).toEqual(options);
    expect(r.command).toEqual(command);
  });

  it('knows the letters of every option, with and without a value', () => {
    expect(splitSshArgs(['-tt', '-L', '1:h:2', '-p22', 'x']).letters).toEqual(['t', 't', 'L', 'p']);
  });

  it('refuses what ssh(1) would refuse, in one line with a hint', () => {
    expect(errorOf(() => splitSshArgs(['--help']))).toMatch(
      /^unknown ssh option "--help": options after the machine name are ssh\(1\)'s; put "--" before/,
    );
    expect(errorOf(() => splitSshArgs(['-Z', 'x']))).toMatch(/^unknown ssh option -Z \(in "-Z"\)/);
    expect(errorOf(() => splitSshArgs(['-L']))).toBe('ssh option -L needs a value');
  });

  it('ignores connection-only options where OpenSSH is not used, refuses the others', () => {
    expect(() => requireNoSshOptions(splitSshArgs(['-C', '-q', '-tt', '-o', 'A=b', 'x']), 'z')).not.toThrow();
    expect(errorOf(() => requireNoSshOptions(splitSshArgs(['-C', '-L', '1:h:2']), 'the docker driver'))).toBe(
      'ssh option -L needs the OpenSSH client, which the docker driver',
    );
  });

  it('joins the command with spaces for the remote shell, as ssh(1) does: quotes are that shell’s', () => {
    const viaShell = (words: string[]) => execFileSync('/bin/sh', ['-c', remoteCommand(words)]).toString();
    expect(viaShell(['echo', 'a  b'])).toBe('a b\n');
    expect(viaShell(['echo', '"a  b"'])).toBe('a  b\n');
    expect(viaShell(['echo "a  b"'])).toBe('a  b\n');
    expect(viaShell(['echo', "'it'\\''s'"])).toBe("it's\n");
    expect(viaShell(['echo', 'x;', 'echo', 'y'])).toBe('x\ny\n');
    expect(remoteCommand(['docker', 'swarm', 'join', '--token', 'T', '10.0.0.2:2377'])).toBe(
      'docker swarm join --token T 10.0.0.2:2377',
    );
  });

  it('puts the pinned settings first (OpenSSH keeps the first value), then the user’s options, then the command', () => {
    const t = {
      host: '10.0.0.5',
      port: 2222,
      user: 'docker-user',
      keyPath: '/s/id',
      knownHostsPath: '/s/kh',
    };
    const args = opensshArgs(t, ['-o', 'UserKnownHostsFile=/dev/null', '-C'], ['echo', 'foo']);
    const pinned = args.indexOf('UserKnownHostsFile=/s/kh');
    expect(pinned).toBeGreaterThan(-1);
    expect(pinned).toBeLessThan(args.indexOf('UserKnownHostsFile=/dev/null'));
    expect(args).toContain('StrictHostKeyChecking=yes');
    expect(args.slice(-5)).toEqual(['-C', 'docker-user@10.0.0.5', '--', 'echo', 'foo']);
    expect(args.slice(0, 2)).toEqual(['-F', '/dev/null']);
  });
});

describe('the command line is cut after ssh NAME before any option parsing', () => {
  const node = ['node', '/x/bin/swarmup'];
  it.each([
    [
      ['ssh', 'm', 'df', '-h'],
      ['ssh', 'm'],
      ['df', '-h'],
    ],
    [['ssh', 'm', '--help'], ['ssh', 'm'], ['--help']],
    [['-s', '/store', 'ssh', 'm', '-h'], ['-s', '/store', 'ssh', 'm'], ['-h']],
    [
      ['--native-ssh', 'ssh', 'm', '-C', 'echo', 'foo'],
      ['--native-ssh', 'ssh', 'm'],
      ['-C', 'echo', 'foo'],
    ],
    [['ssh', '-D', 'm', 'x'], ['ssh', '-D', 'm'], ['x']],
    [
      ['ssh', 'm', '--', 'ls'],
      ['ssh', 'm'],
      ['--', 'ls'],
    ],
    [['ssh'], ['ssh'], []],
  ])('%j', (args, parsed, rest) => {
    expect(splitVerbatim([...node, ...args])).toEqual({ argv: [...node, ...parsed], rest });
  });
  it.each([[['ssh', '--help']], [['ls', '-q']], [['scp', 'a:/x', 'b', '-r']], [['--help']]])(
    '%j is left to the parser',
    (args) => {
      expect(splitVerbatim([...node, ...args])).toEqual({ argv: [...node, ...args] });
    },
  );
});

describe('scp operands', () => {
  it.each([
    ['m1:/tmp/f', { machine: 'm1', user: undefined, path: '/tmp/f' }],
    ['docker@m1:/tmp', { machine: 'm1', user: 'docker', path: '/tmp' }],
    ['m1:', { machine: 'm1', user: undefined, path: '' }],
    ['m1:rel/f', { machine: 'm1', user: undefined, path: 'rel/f' }],
    ['localhost:/tmp/x', { path: '/tmp/x' }],
    ['./a:b', { path: './a:b' }],
    ['/abs/c:d', { path: '/abs/c:d' }],
    ['plain.txt', { path: 'plain.txt' }],
  ])('%s', (arg, want) => {
    expect(parseScpOperand(arg)).toEqual(want);
  });

  it('writes one Host block per machine, each with its own port, user, key and pinned host keys', async () => {
    const cfg = await sshConfigFile([
      {
        alias: 'swarmup.a',
        target: { host: '10.0.0.1', port: 22, user: 'root', keyPath: '/s/a/id', knownHostsPath: '/s/a/kh' },
      },
      {
        alias: 'swarmup.b',
        target: {
          host: '127.0.0.1',
          port: 2201,
          user: 'docker',
          keyPath: '/s 100%/b/id',
          knownHostsPath: '/s/b/kh',
        },
      },
    ]);
    try {
      const text = await readFile(cfg.path, 'utf8');
      expect((await stat(cfg.path)).mode & 0o777).toBe(0o600);
      const [a, b] = text.split('\n\n');
      expect(a).toContain('Host swarmup.a\n  HostName 10.0.0.1\n  Port 22\n  User root\n');
      expect(a).toContain('  UserKnownHostsFile "/s/a/kh"\n');
      expect(a).not.toContain('/s/b/kh');
      expect(b).toContain('  Port 2201\n  User docker\n');
      expect(b).toContain('  IdentityFile "/s 100%%/b/id"\n');
      expect(b).toContain('  StrictHostKeyChecking yes\n');
    } finally {
      await cfg.cleanup();
    }
    await expect(stat(cfg.path)).rejects.toThrow();
  });
});

describe('tar through the engine archive API', () => {
  it('packs a tree under another top name and unpacks it renamed, long names and links included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmup-tar-'));
    const src = join(dir, 'src');
    const long = 'n'.repeat(120);
    await mkdir(join(src, 'sub', long), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'alpha\n', { mode: 0o640 });
    await writeFile(join(src, 'sub', long, 'deep.bin'), Buffer.alloc(70_000, 7));
    await symlink('a.txt', join(src, 'link'));
    const out = join(dir, 'out', 'copy');
    await mkdir(join(dir, 'out'));
    await unpackRenamed(packPath(src, 'whatever', true), out);
    expect(await readFile(join(out, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect((await stat(join(out, 'a.txt'))).mode & 0o777).toBe(0o640);
    expect((await readFile(join(out, 'sub', long, 'deep.bin'))).equals(Buffer.alloc(70_000, 7))).toBe(true);
    expect(await readlink(join(out, 'link'))).toBe('a.txt');
    // A single file lands on the target path itself.
    await unpackRenamed(packPath(join(src, 'a.txt'), 'a.txt', false), join(dir, 'renamed.txt'));
    expect(await readFile(join(dir, 'renamed.txt'), 'utf8')).toBe('alpha\n');
  });

  it('refuses a directory without -r, and archive entries that climb out of the target', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmup-tar-'));
    const chunks: Buffer[] = [];
    await expect(
      (async () => {
        for await (const c of packPath(dir, 'd', false)) chunks.push(c as Buffer);
      })(),
    ).rejects.toThrow(/not a regular file \(use -r for directories\)/);
    // A hand-made archive: top/ then top/../../escape
    const tar = Buffer.concat(await collect(packPath(dir, 'top', true)));
    const hdr = Buffer.alloc(512);
    hdr.write('top/../../escape', 0);
    hdr.write('0000644\0', 100);
    hdr.write('0000000\0', 108);
    hdr.write('0000000\0', 116);
    hdr.write('00000000000\0', 124);
    hdr.write('00000000000\0', 136);
    hdr.write('        ', 148);
    hdr.write('0', 156);
    let sum = 0;
    for (const b of hdr) sum += b;
    hdr.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    const crafted = Buffer.concat([tar.subarray(0, 512), hdr, Buffer.alloc(1024)]);
    await expect(unpackRenamed(Readable.from([crafted]), join(dir, 'x'))).rejects.toThrow(
      /refusing the archive entry top\/..\/..\/escape/,
    );
  });
});

async function collect(r: Readable): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return out;
}

describe('env, byte for byte as docker-machine prints it', () => {
  const set: Array<[string, string]> = [
    ['DOCKER_TLS_VERIFY', '1'],
    ['DOCKER_HOST', 'tcp://192.168.99.100:2376'],
    ['DOCKER_CERT_PATH', '/home/u/.swarmup/machines/dev'],
    ['DOCKER_MACHINE_NAME', 'dev'],
  ];
  const unset: Array<[string, undefined]> = set.map(([k]) => [k, undefined]);
  const cmd = 'swarmup env dev';

  it.each([
    [
      'bash',
      'export DOCKER_TLS_VERIFY="1"\nexport DOCKER_HOST="tcp://192.168.99.100:2376"\nexport DOCKER_CERT_PATH="/home/u/.swarmup/machines/dev"\nexport DOCKER_MACHINE_NAME="dev"\n# Run this command to configure your shell: \n# eval $(swarmup env dev)\n',
    ],
    [
      'fish',
      'set -gx DOCKER_TLS_VERIFY "1";\nset -gx DOCKER_HOST "tcp://192.168.99.100:2376";\nset -gx DOCKER_CERT_PATH "/home/u/.swarmup/machines/dev";\nset -gx DOCKER_MACHINE_NAME "dev";\n# Run this command to configure your shell: \n# eval (swarmup env dev)\n',
    ],
    [
      'tcsh',
      'setenv DOCKER_TLS_VERIFY "1";\nsetenv DOCKER_HOST "tcp://192.168.99.100:2376";\nsetenv DOCKER_CERT_PATH "/home/u/.swarmup/machines/dev";\nsetenv DOCKER_MACHINE_NAME "dev";\n: Run this command to configure your shell: \n: eval `swarmup env dev`\n',
    ],
    [
      'powershell',
      '$Env:DOCKER_TLS_VERIFY = "1"\n$Env:DOCKER_HOST = "tcp://192.168.99.100:2376"\n$Env:DOCKER_CERT_PATH = "/home/u/.swarmup/machines/dev"\n$Env:DOCKER_MACHINE_NAME = "dev"\n# Run this command to configure your shell: \n# & swarmup env dev | Invoke-Expression\n',
    ],
    [
      'cmd',
      'SET DOCKER_TLS_VERIFY=1\nSET DOCKER_HOST=tcp://192.168.99.100:2376\nSET DOCKER_CERT_PATH=/home/u/.swarmup/machines/dev\nSET DOCKER_MACHINE_NAME=dev\nREM Run this command to configure your shell: \nREM \t@FOR /f "tokens=*" %i IN (\'swarmup env dev\') DO @%i\n',
    ],
    [
      'emacs',
      '(setenv "DOCKER_TLS_VERIFY" "1")\n(setenv "DOCKER_HOST" "tcp://192.168.99.100:2376")\n(setenv "DOCKER_CERT_PATH" "/home/u/.swarmup/machines/dev")\n(setenv "DOCKER_MACHINE_NAME" "dev")\n;; Run this command to configure your shell: \n;; (with-temp-buffer (shell-command "swarmup env dev" (current-buffer)) (eval-buffer))\n',
    ],
  ])('sets for %s', (shell, want) => {
    expect(formatEnv(shell, set, cmd)).toBe(want);
  });

  it.each([
    [
      'zsh',
      'unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n',
    ],
    [
      'fish',
      'set -e DOCKER_TLS_VERIFY;\nset -e DOCKER_HOST;\nset -e DOCKER_CERT_PATH;\nset -e DOCKER_MACHINE_NAME;\n',
    ],
    [
      'tcsh',
      'unsetenv DOCKER_TLS_VERIFY;\nunsetenv DOCKER_HOST;\nunsetenv DOCKER_CERT_PATH;\nunsetenv DOCKER_MACHINE_NAME;\n',
    ],
    [
      'powershell',
      'Remove-Item Env:\\\\DOCKER_TLS_VERIFY\nRemove-Item Env:\\\\DOCKER_HOST\nRemove-Item Env:\\\\DOCKER_CERT_PATH\nRemove-Item Env:\\\\DOCKER_MACHINE_NAME\n',
    ],
    ['cmd', 'SET DOCKER_TLS_VERIFY=\nSET DOCKER_HOST=\nSET DOCKER_CERT_PATH=\nSET DOCKER_MACHINE_NAME=\n'],
    [
      'emacs',
      '(setenv "DOCKER_TLS_VERIFY" nil)\n(setenv "DOCKER_HOST" nil)\n(setenv "DOCKER_CERT_PATH" nil)\n(setenv "DOCKER_MACHINE_NAME" nil)\n',
    ],
  ])('unsets for %s', (shell, lines) => {
    expect(formatEnv(shell, unset, 'swarmup env -u').startsWith(lines)).toBe(true);
  });

  it('a given shell must be known; a detected one that is not gets the POSIX lines, as docker-machine', () => {
    expect(errorOf(() => styleOf('nushel', true))).toMatch(/^unknown shell "nushel": use one of bash/);
    expect(styleOf('nu', false)).toBe('posix');
    expect(styleOf('pwsh.exe', true)).toBe('powershell');
    expect(detectShell(undefined, { SHELL: '/usr/local/bin/fish' })).toBe('fish');
    expect(detectShell('cmd', { SHELL: '/bin/bash' })).toBe('cmd');
    expect(formatEnv('nu', set, cmd, false)).toBe(formatEnv('bash', set, cmd));
  });

  it('--no-proxy: no_proxy when it is set, else NO_PROXY; the IP added once', () => {
    expect(noProxy('10.0.0.5', {})).toEqual(['NO_PROXY', '10.0.0.5']);
    expect(noProxy('10.0.0.5', { NO_PROXY: 'localhost' })).toEqual(['NO_PROXY', 'localhost,10.0.0.5']);
    expect(noProxy('10.0.0.5', { NO_PROXY: 'localhost,10.0.0.5' })).toEqual([
      'NO_PROXY',
      'localhost,10.0.0.5',
    ]);
    expect(noProxy('10.0.0.5', { no_proxy: '.corp', NO_PROXY: 'x' })).toEqual(['no_proxy', '.corp,10.0.0.5']);
    expect(noProxy('10.0.0.5', { NO_PROXY: '10.0.0.50' })).toEqual(['NO_PROXY', '10.0.0.50,10.0.0.5']);
    expect(noProxy(undefined, { no_proxy: 'x' })[0]).toBe('no_proxy');
  });
});
