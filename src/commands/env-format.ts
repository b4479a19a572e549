import { UserError } from '../errors.js';

export const SHELLS = ['bash', 'zsh', 'sh', 'fish', 'tcsh', 'csh', 'powershell', 'pwsh', 'cmd'] as const;
type Style = 'posix' | 'fish' | 'tcsh' | 'powershell' | 'cmd';

function styleOf(shell: string): Style {
  const s = shell.toLowerCase().replace(/\.exe$/, '');
  if (['bash', 'zsh', 'sh', 'dash', 'ksh', 'ash'].includes(s)) return 'posix';
  if (s === 'fish') return 'fish';
  if (s === 'tcsh' || s === 'csh') return 'tcsh';
  if (s === 'powershell' || s === 'pwsh') return 'powershell';
  if (s === 'cmd') return 'cmd';
  throw new UserError(`unknown shell "${shell}": use one of bash, zsh, fish, tcsh, powershell, cmd`);
}

/** The shell to format for: --shell, else $SHELL's name, else bash (cmd on Windows). */
export function detectShell(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  const sh = env.SHELL?.split(/[\\/]/).pop();
  if (sh) return sh;
  return process.platform === 'win32' ? 'powershell' : 'bash';
}

function setLine(style: Style, k: string, v: string): string {
  switch (style) {
    case 'posix':
      return `export ${k}="${v}"`;
    case 'fish':
      return `set -gx ${k} "${v}";`;
    case 'tcsh':
      return `setenv ${k} "${v}";`;
    case 'powershell':
      return `$Env:${k} = "${v}"`;
    case 'cmd':
      return `SET ${k}=${v}`;
  }
}

function unsetLine(style: Style, k: string): string {
  switch (style) {
    case 'posix':
      return `unset ${k}`;
    case 'fish':
      return `set -e ${k};`;
    case 'tcsh':
      return `unsetenv ${k};`;
    case 'powershell':
      return `Remove-Item Env:\\${k}`;
    case 'cmd':
      return `SET ${k}=`;
  }
}

function usageHint(style: Style, command: string): string {
  switch (style) {
    case 'posix':
      return `# Run this command to configure your shell:\n# eval $(${command})`;
    case 'fish':
      return `# Run this command to configure your shell:\n# eval (${command})`;
    case 'tcsh':
      return `# Run this command to configure your shell:\n# eval \`${command}\``;
    case 'powershell':
      return `# Run this command to configure your shell:\n# & ${command} | Invoke-Expression`;
    case 'cmd':
      return `REM Run this command to configure your shell:\nREM \t@FOR /f "tokens=*" %i IN ('${command}') DO @%i`;
  }
}

/** Lines that set (or unset, when a value is undefined) variables in the given shell, plus the eval hint. */
export function formatEnv(shell: string, vars: Array<[string, string | undefined]>, command: string): string {
  const style = styleOf(shell);
  const lines = vars.map(([k, v]) => (v === undefined ? unsetLine(style, k) : setLine(style, k, v)));
  return `${lines.join('\n')}\n${usageHint(style, command)}\n`;
}
