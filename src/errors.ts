/** An error meant for the user: printed as one line on stderr, no stack trace, with its exit code. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export const machineNotFound = (name: string) => new UserError(`Docker machine "${name}" does not exist`);
export const machineExists = (name: string) => new UserError(`Docker machine "${name}" already exists`);
export const hostNotRunning = () => new UserError('Host is not running');

/** A message for any error, on one line, without a stack. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
