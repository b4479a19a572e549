/**
 * SIGINT/SIGTERM for long commands: the first signal aborts `signal` (work stops at the next step and
 * what this run made is cleaned up), a second one exits at once with the conventional code
 * (130 for SIGINT, 143 for SIGTERM). `dispose` puts Node's default handling back.
 */
export interface Interrupt {
  signal: AbortSignal;
  /** The signal that arrived, if any. */
  readonly received: NodeJS.Signals | undefined;
  dispose(): void;
}

export const signalExitCode = (sig: NodeJS.Signals | undefined): number =>
  sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : 1;

export function interruptible(onFirst: (sig: NodeJS.Signals) => void): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (received) {
      process.stderr.write(`${sig} again: exiting now, without cleaning up\n`);
      process.exit(signalExitCode(sig));
    }
    received = sig;
    onFirst(sig);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** Throw the abort reason when `signal` was aborted: a cheap check between steps. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('interrupted');
}
