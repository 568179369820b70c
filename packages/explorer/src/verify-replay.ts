import { ScheduleMismatchError } from './errors.ts';
import type { ScheduleOutcome, TraceRecord, Violation } from './outcome.ts';
import { replaySchedule } from './replay.ts';
import type { Scenario } from './scenario.ts';

/** A violation's checked replay: the violation (or the non-determinism found) and its trace. */
export interface VerifiedReplay {
  readonly violation: Violation;
  readonly trace: TraceRecord | undefined;
}

/** 'deadlock after 12 steps with 1 preemption: <message>' */
function summary(kind: string, steps: number, preemptions: number, message: string): string {
  return `${kind} after ${steps} steps with ${preemptions} preemption(s): ${message}`;
}

/** Why `o` differs from `v`, or undefined when it reproduces it. */
function difference(v: Violation, o: ScheduleOutcome): string | undefined {
  const f = o.failure;
  if (
    f !== undefined &&
    f.kind === v.kind &&
    f.message === v.message &&
    o.steps === v.steps &&
    o.preemptions === v.preemptions
  ) {
    return undefined;
  }
  const got = f === undefined ? 'no violation' : summary(f.kind, o.steps, o.preemptions, f.message);
  return `gave ${got}`;
}

/**
 * Replay `v.schedule` with tracing and check it reproduces `v` exactly; a different outcome
 * (or a schedule that no longer fits) is reported as a 'nondeterminism' violation.
 * Mirrors: model-only.
 */
export async function verifyReplay<S>(
  scenario: Scenario<S>,
  v: Violation,
): Promise<VerifiedReplay> {
  if (v.kind === 'nondeterminism') return { violation: v, trace: undefined };
  let why: string | undefined;
  let trace: TraceRecord | undefined;
  try {
    const o = await replaySchedule(scenario, v.schedule, { trace: true });
    why = difference(v, o);
    trace = o.trace;
  } catch (error) {
    if (!(error instanceof ScheduleMismatchError)) throw error;
    why = `did not fit: ${error.message}`;
  }
  if (why === undefined) return { violation: v, trace };
  const message =
    `scenario '${scenario.name}' is not deterministic: replaying schedule '${v.schedule}' ${why}, ` +
    `where the first run gave ${summary(v.kind, v.steps, v.preemptions, v.message)}`;
  return { violation: { ...v, kind: 'nondeterminism', message }, trace };
}
