/** A schedule string that does not parse. */
export class ScheduleSyntaxError extends RangeError {
  override readonly name = 'ScheduleSyntaxError';
}

/** A schedule that asks for a choice the run does not offer (or has more decisions than it). */
export class ScheduleMismatchError extends RangeError {
  override readonly name = 'ScheduleMismatchError';
}

/** The same schedule produced a different run: the scenario is not deterministic. */
export class NondeterminismError extends Error {
  override readonly name = 'NondeterminismError';

  constructor(
    message: string,
    /** The schedule (text form) whose replay diverged. */
    readonly schedule: string,
  ) {
    super(message);
  }
}

/**
 * The scenario cannot be explored as written: its tasks ran on another scheduler than the one
 * passed to setup, or no two tasks ever reached a scheduling point together (so every schedule is
 * the same sequential run, and "clean" would mean nothing). The message names the likely cause
 * and the fix.
 */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** Thrown from the policy to end a run whose invariant failed (internal). */
export class InvariantStop extends Error {
  override readonly name = 'InvariantStop';
}

/** Thrown from the policy to cut a run that can no longer beat the best one (internal). */
export class PruneStop extends Error {
  override readonly name = 'PruneStop';
}

/** `error` as one line: 'Name: message' for errors, String() otherwise.
 * Mirrors: model-only.
 */
export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
