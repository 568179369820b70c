import type { Scheduler } from '@hmmsim/kernel';

/** One simulated CPU (or kthread) of a scenario: an async body run as a scheduler task. */
export interface ScenarioTask<S> {
  /** Shown in traces and diagrams ('T1 fault', 'T2 invalidate'). */
  readonly name: string;
  /** The task body; every sleeping primitive it calls goes through `sched`. */
  run(state: S, sched: Scheduler): Promise<void>;
}

/** What exploring a scenario is expected to find (used by listings and self-tests). */
export type ScenarioExpectation = 'violation' | 'pass';

/**
 * A concurrency scenario: fresh state, tasks, and the checks that define "correct". Scenarios
 * are plain values, so any package can export its own; they must be deterministic (the
 * explorer rebuilds state by running `setup` again for every schedule).
 */
export interface Scenario<S = unknown> {
  /** Unique kebab-case name used on the command line ('lost-update'). */
  readonly name: string;
  /** One line: what happens and what can go wrong. */
  readonly description: string;
  /** What exploration with the default bound should report. */
  readonly expect?: ScenarioExpectation | undefined;
  /** Scheduler step limit per schedule (livelock guard); default 10,000. */
  readonly maxSteps?: number | undefined;
  /**
   * 'reported' when every piece of state the tasks share reports its reads and writes to the
   * explorer (noteRead / noteWrite of @hmmsim/kernel: the locks, wait queues and completions of
   * that package and the shared structures of the others do), so that an unbounded search may
   * run one schedule per class of schedules that differ only in the order of independent steps
   * (dynamic partial-order reduction). Leave it unset for state that does not report: a step
   * whose accesses go unreported would be taken as independent of everything.
   */
  readonly accesses?: 'reported' | undefined;
  /**
   * Virtual nanoseconds per scheduling point; default 0 (DEFAULT_NS_PER_STEP): the clock moves
   * only when a timer fires. Set it for a scenario whose code polls a deadline that should pass.
   */
  readonly nsPerStep?: number | undefined;
  /** Build fresh state (machine, mm, drivers) on `sched`; runs as the boot task. */
  setup(sched: Scheduler): S | Promise<S>;
  /** The concurrent tasks, spawned in this order after setup (ids follow setup's own). */
  readonly tasks: readonly ScenarioTask<S>[];
  /**
   * Throws when the state is inconsistent. Checked after setup, after every step of every task
   * (each scheduling point, block and task exit, whether or not another task could run there) and
   * once more at the end — so it must be cheap and must not change the state it reads.
   */
  invariant?(state: S): void;
  /** Throws when the outcome is wrong; checked once after all tasks finished. */
  finalCheck?(state: S): void;
}

/**
 * Identity helper that infers the state type of a scenario literal.
 * Mirrors: model-only (the explorer's unit of work).
 */
export function defineScenario<S>(scenario: Scenario<S>): Scenario<S> {
  return scenario;
}
