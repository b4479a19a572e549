import { UserError } from '../errors.js';

/**
 * `env` output, byte for byte as docker-machine prints it (its env.go template): each variable is
 * prefix + name + delimiter + value + suffix, then a two-line usage hint whose first line ends with a
 * space. Shells are matched by name; a name docker-machine does not know gets the POSIX lines.
 */
type Style = 'posix' | 'fish' | 'tcsh' | 'powershell' | 'cmd' | 'emacs';

const POSIX = ['bash', 'zsh', 'sh', 'dash', 'ksh', 'ash', 'mksh'];
export const SHELLS = [...POSIX, 'fish', 'tcsh', 'csh', 'powershell', 'pwsh', 'cmd', 'emacs'] as const;

/**
 * The style for a shell. A shell given with --shell must be one we know (a typo must not silently
 * print bash lines); one detected from $SHELL that we do not know gets the POSIX lines, as docker-machine.
 */
export function styleOf(shell: string, given: boolean): Style {
  const s = shell.toLowerCase().replace(/\.exe$/, '');
  if (POSIX.includes(s)) return 'posix';
  if (s === 'fish') return 'fish';
  if (s === 'tcsh' || s === 'csh') return 'tcsh';
  if (s === 'powershell' || s === 'pwsh') return 'powershell';
  if (s === 'cmd') return 'cmd';
  if (s === 'emacs') return 'emacs';
  if (!given) return 'posix';
  throw new UserError(`unknown shell "${shell}": use one of bash, zsh, fish, tcsh, powershell, cmd, emacs`);
}

/** The shell to format for: --shell, else $SHELL's name, else bash (powershell on Windows). */
export function detectShell(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  const sh = env.SHELL?.split(/[\\/]/).pop();
  if (sh) return sh;
  return process.platform === 'win32' ? 'powershell' : 'bash';
}

interface Affixes {
  prefix: string;
  delimiter: string;
  suffix: string;
}

const SET: Record<Style, Affixes> = {
  posix: { prefix: 'export ', delimiter: '="', suffix: '"\n' },
  fish: { prefix: 'set -gx ', delimiter: ' "', suffix: '";\n' },
  tcsh: { prefix: 'setenv ', delimiter: ' "', suffix: '";\n' },
  powershell: { prefix: '$Env:', delimiter: ' = "', suffix: '"\n' },
  cmd: { prefix: 'SET ', delimiter: '=', suffix: '\n' },
  emacs: { prefix: '(setenv "', delimiter: '" "', suffix: '")\n' },
};

// docker-machine's PowerShell prefix is a Go raw string with two backslashes, printed as such.
const UNSET: Record<Style, Affixes> = {
  posix: { prefix: 'unset ', delimiter: '', suffix: '\n' },
  fish: { prefix: 'set -e ', delimiter: '', suffix: ';\n' },
  tcsh: { prefix: 'unsetenv ', delimiter: '', suffix: ';\n' },
  powershell: { prefix: 'Remove-Item Env:\\\\', delimiter: '', suffix: '\n' },
  cmd: { prefix: 'SET ', delimiter: '=', suffix: '\n' },
  emacs: { prefix: '(setenv "', delimiter: '" nil', suffix: ')\n' },
};

/** docker-machine's usage hint for the command line that printed the lines. */
export function usageHint(style: Style, commandLine: string): string {
  let comment = '#';
  let cmd: string;
  switch (style) {
    case 'fish':
      cmd = `eval (${commandLine})`;
      break;
    case 'powershell':
      cmd = `& ${commandLine} | Invoke-Expression`;
      break;
    case 'cmd':
      cmd = `\t@FOR /f "tokens=*" %i IN ('${commandLine}') DO @%i`;
      comment = 'REM';
      break;
    case 'emacs':
      cmd = `(with-temp-buffer (shell-command "${commandLine}" (current-buffer)) (eval-buffer))`;
      comment = ';;';
      break;
    case 'tcsh':
      cmd = `eval \`${commandLine}\``;
      comment = ':';
      break;
    default:
      cmd = `eval $(${commandLine})`;
  }
  return `${comment} Run this command to configure your shell: \n${comment} ${cmd}\n`;
}

/**
 * Lines that set (or unset, when a value is undefined) variables in the given shell, plus the usage
 * hint. `given` says whether the shell came from --shell (see styleOf).
 */
export function formatEnv(
  shell: string,
  vars: Array<[string, string | undefined]>,
  commandLine: string,
  given = true,
): string {
  const style = styleOf(shell, given);
  const lines = vars.map(([k, v]) => {
    const a = v === undefined ? UNSET[style] : SET[style];
    return `${a.prefix}${k}${a.delimiter}${v ?? ''}${a.suffix}`;
  });
  return lines.join('') + usageHint(style, commandLine);
}

/**
 * The proxy variable --no-proxy writes, as docker-machine picks it: `no_proxy` when that is set,
 * else `NO_PROXY`; the machine's IP is added to its list once.
 */
export function noProxy(ip: string | undefined, env: NodeJS.ProcessEnv = process.env): [string, string] {
  const lower = env.no_proxy ?? '';
  const [name, current] = lower ? ['no_proxy', lower] : ['NO_PROXY', env.NO_PROXY ?? ''];
  if (ip === undefined) return [name, current];
  const list = current.split(',').filter(Boolean);
  return [name, list.includes(ip) ? current : [...list, ip].join(',')];
}

/** The command line as typed, with swarmup's name first: what the usage hint tells users to eval. */
export function typedCommandLine(argv: readonly string[] = process.argv): string {
  return ['swarmup', ...argv.slice(2)].join(' ');
}
