import { UserError, oneLine } from '../errors.js';
import { mapBounded } from '../util/async.js';
import { checkAborted } from '../util/interrupt.js';

export type Log = (msg: string) => void;

/** One unit of work inside a phase, e.g. creating one machine. */
export interface Step {
  title: string;
  run: (log: Log) => Promise<void>;
}

/** A phase is either one piece of work or a set of steps run in parallel under a bound. */
export interface Phase {
  key: string;
  title: string;
  run?: (log: Log) => Promise<void>;
  steps?: Step[];
  concurrency?: number;
  /** Skip the phase (shown as skipped) when this returns true at the time it would start. */
  skip?: () => boolean;
}

export interface StepFailure {
  step: string;
  error: unknown;
}

/** A phase whose steps failed: names each failed step and why, on one line. */
export class PhaseError extends UserError {
  constructor(
    readonly phase: string,
    readonly failures: StepFailure[],
  ) {
    super(`${phase} failed: ${failures.map((f) => `${f.step}: ${oneLine(f.error)}`).join('; ')}`);
  }
}

export interface PhaseResult {
  /** Milliseconds per phase key. */
  durations: Record<string, number>;
}

/** Plain, timestamped lines: for CI logs and pipes. */
function plainLog(prefix: string): Log {
  return (msg) => process.stderr.write(`${new Date().toISOString()} ${prefix}${msg}\n`);
}

async function runPhase(phase: Phase, log: (step: string) => Log, signal?: AbortSignal): Promise<void> {
  checkAborted(signal);
  if (phase.run) await phase.run(log(''));
  if (!phase.steps) return;
  const failures: StepFailure[] = [];
  await mapBounded(phase.steps, phase.concurrency ?? 8, async (s) => {
    // Interrupted: no new step starts; those under way finish (or stop at their next check).
    if (signal?.aborted) return;
    try {
      await s.run(log(s.title));
    } catch (error) {
      failures.push({ step: s.title, error });
      log(s.title)(`failed: ${oneLine(error)}`);
    }
  });
  checkAborted(signal);
  if (failures.length) throw new PhaseError(phase.title, failures);
}

async function runPlain(phases: Phase[], result: PhaseResult, signal?: AbortSignal): Promise<void> {
  for (const p of phases) {
    checkAborted(signal);
    if (p.skip?.()) continue;
    const t0 = Date.now();
    plainLog('')(`${p.title}...`);
    await runPhase(p, (step) => plainLog(step ? `[${step}] ` : ''), signal);
    result.durations[p.key] = Date.now() - t0;
    plainLog('')(`${p.title}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

async function runListr(phases: Phase[], result: PhaseResult, signal?: AbortSignal): Promise<void> {
  const { Listr } = await import('listr2');
  const tasks = new Listr(
    phases.map((p) => ({
      title: p.title,
      skip: () => p.skip?.() ?? false,
      task: async (_ctx: unknown, task: { output: string; title: string }) => {
        const t0 = Date.now();
        const stepLogs = new Map<string, string>();
        await runPhase(
          p,
          (step) => (msg) => {
            if (step) stepLogs.set(step, msg);
            task.output = step ? [...stepLogs].map(([s, m]) => `${s}: ${m}`).join('\n') : msg;
          },
          signal,
        );
        result.durations[p.key] = Date.now() - t0;
        task.title = `${p.title} (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
      },
    })),
    { rendererOptions: { collapseSubtasks: true, showErrorMessage: false }, exitOnError: true },
  );
  await tasks.run();
}

/**
 * Run phases in order. In a terminal: listr2 progress; otherwise plain timestamped lines on stderr.
 * A phase's step failures are collected and reported together, naming each failed step.
 */
export async function runPhases(
  phases: Phase[],
  opts: { interactive?: boolean; signal?: AbortSignal } = {},
): Promise<PhaseResult> {
  const result: PhaseResult = { durations: {} };
  const interactive = opts.interactive ?? (process.stderr.isTTY === true && !process.env.CI);
  if (interactive) await runListr(phases, result, opts.signal);
  else await runPlain(phases, result, opts.signal);
  return result;
}
