/** Progress and diagnostics go to stderr so that stdout stays clean for `eval` and pipes. */
let debugOn = process.env.SWARMUP_DEBUG === '1';

export function setDebug(on: boolean): void {
  debugOn = on;
}

export function info(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

export function debug(msg: string): void {
  if (debugOn) process.stderr.write(`[debug] ${msg}\n`);
}

export type Logger = (msg: string) => void;
