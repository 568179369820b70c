import {
  createScheduler,
  type RunResult,
  type SchedulerOptions,
  type TaskError,
} from '@hmmsim/kernel';
import type { AccessLog } from './access-log.ts';
import type { Chooser } from './chooser.ts';
import { errorText, InvariantStop, PruneStop, ScenarioError } from './errors.ts';
import { failureText, Harness } from './harness.ts';
import type { Failure, ScheduleOutcome } from './outcome.ts';
import type { Scenario } from './scenario.ts';
import { formatSchedule, trimDefaults } from './schedule-string.ts';

/** Scheduler steps per schedule when the scenario sets no maxSteps. */
export const DEFAULT_MAX_STEPS = 10_000;

/** Options of runSchedule(). */
export interface RunOptions<S> {
  /** Record trace events (after setup) into the outcome. */
  readonly trace?: boolean | undefined;
  /** Cut the run at a decision this many steps in (the minimiser's pruning). */
  readonly pruneAtSteps?: number | undefined;
  /** Called with the final state and outcome of every run that was not cut. */
  readonly onSchedule?: ((state: S, outcome: ScheduleOutcome) => void) | undefined;
  /** Record the tasks' shared accesses and the decisions here (partial-order reduction). */
  readonly accessLog?: AccessLog | undefined;
}

/** One run's outcome, plus how it ended. */
export interface RunRecord extends ScheduleOutcome {
  /** Cut by pruning (then `failure` is undefined and onSchedule was not called). */
  readonly pruned: boolean;
  /** Ended at a decision (invariant failure or pruning) rather than at the end of the run. */
  readonly cut: boolean;
  /** Decisions inside tasks with two or more tasks runnable (see Harness.interleavings). */
  readonly interleavings: number;
}

/**
 * The ScenarioError for a run whose tasks stepped on another scheduler than the one given to
 * setup. Mirrors: model-only.
 */
export function foreignSchedulerError(scenario: string, result: RunResult): ScenarioError {
  return new ScenarioError(
    `scenario '${scenario}': ${result.foreignSteps} scheduling point(s) of the tasks ran on a scheduler other than ` +
      `the explorer's (first: ${result.foreignFirst ?? '?'}), so those steps can never interleave and every ` +
      'schedule would look clean. Likely cause: setup() built the machine without the scheduler it was given; ' +
      'fix: createMachine({ ..., sched }) with the `sched` argument of setup(sched).',
  );
}

/** 'task 'T1' threw KernelBugError: ...' for each error, joined. */
function taskErrorText(errors: readonly TaskError[]): string {
  return errors.map((e) => `task '${e.taskName}' threw ${errorText(e.error)}`).join('; ');
}

/** The failure a finished run ended with, if any (errors, deadlock, step limit, checks). */
function endFailure<S>(
  scenario: Scenario<S>,
  state: S,
  result: RunResult,
  harness: Harness<S>,
): Failure | undefined {
  if (result.errors.length > 0) {
    return { kind: 'task-error', message: taskErrorText(result.errors) };
  }
  if (result.deadlock !== undefined) return { kind: 'deadlock', message: result.deadlock.message };
  if (result.stepLimitReached) {
    const limit = scenario.maxSteps ?? DEFAULT_MAX_STEPS;
    return {
      kind: 'step-limit',
      message: `the run exceeded ${limit} scheduler steps: a livelock, or a busy-wait that needs another task to run (a higher preemption bound)`,
    };
  }
  try {
    harness.checkInvariant();
  } catch (error) {
    return { kind: 'invariant', message: failureText(error) };
  }
  try {
    scenario.finalCheck?.(state);
  } catch (error) {
    return { kind: 'final-check', message: failureText(error) };
  }
  return undefined;
}

/**
 * Virtual nanoseconds per scheduling point when the scenario sets no nsPerStep: none. Time then
 * moves only when a timer fires, so a step that reads the clock depends on timer firings only,
 * not on every other step (see Clock).
 */
export const DEFAULT_NS_PER_STEP = 0;

/** Scheduler options for a scenario and a harness. */
function schedulerOptions<S>(scenario: Scenario<S>, harness: Harness<S>): SchedulerOptions {
  const maxSteps = scenario.maxSteps ?? DEFAULT_MAX_STEPS;
  return { policy: harness, maxSteps, nsPerStep: scenario.nsPerStep ?? DEFAULT_NS_PER_STEP };
}

/**
 * Build the scenario afresh on a new scheduler and run its tasks once, the chooser deciding
 * every decision; returns the failure (if any), the schedule and its cost. Errors of the
 * chooser itself (schedule mismatch, non-determinism) and of setup are thrown.
 * Mirrors: model-only (one execution of a stateless model checker).
 */
export async function runSchedule<S>(
  scenario: Scenario<S>,
  chooser: Chooser,
  opts: RunOptions<S> = {},
): Promise<RunRecord> {
  const harness = new Harness(
    scenario,
    chooser,
    opts.pruneAtSteps ?? Number.POSITIVE_INFINITY,
    opts.accessLog,
  );
  const sched = createScheduler(schedulerOptions(scenario, harness));
  const built = scenario.setup(sched);
  const state = built instanceof Promise ? await built : built;
  harness.state = state;
  for (const task of scenario.tasks) sched.spawn(task.name, () => task.run(state, sched));
  if (opts.trace === true) sched.trace.enabled = true;
  harness.baseStep = sched.step;
  let failure: Failure | undefined;
  let pruned = false;
  let cut = false;
  try {
    const result = await sched.run();
    if (result.foreignSteps > 0) throw foreignSchedulerError(scenario.name, result);
    failure = endFailure(scenario, state, result, harness);
  } catch (error) {
    if (error instanceof InvariantStop) failure = { kind: 'invariant', message: error.message };
    else if (error instanceof PruneStop) pruned = true;
    else throw error;
    cut = true;
  }
  const outcome: RunRecord = {
    failure,
    codes: harness.codes,
    schedule: formatSchedule(trimDefaults(harness.codes, harness.defaults)),
    preemptions: harness.preemptions,
    steps: sched.step - harness.baseStep,
    trace:
      opts.trace === true
        ? { events: sched.trace.events, preemptSteps: harness.preemptSteps, failure }
        : undefined,
    pruned,
    cut,
    interleavings: harness.interleavings,
  };
  if (!pruned) opts.onSchedule?.(state, outcome);
  return outcome;
}
