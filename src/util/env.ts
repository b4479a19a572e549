/** A boolean environment variable as docker-machine read them (Go's ParseBool: 1, t, true, TRUE...). */
export function envBool(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|t|true)$/i.test(env[name] ?? '');
}
