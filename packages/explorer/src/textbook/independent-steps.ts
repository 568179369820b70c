import type { SchedEvent, Scheduler } from '@hmmsim/kernel';
import { InvalidArgumentError } from '@hmmsim/kernel';
import { defineScenario, type Scenario } from '../scenario.ts';

/** Per-task step counters. */
export interface StepsState {
  readonly done: number[];
}

/** The body of task `i`: k steps on its own counter, a scheduling point between steps. */
function stepper(i: number, k: number, ev: SchedEvent) {
  return async (s: StepsState, sched: Scheduler): Promise<void> => {
    for (let j = 0; j < k; j++) {
      if (j > 0) await sched.point(ev);
      s.done[i] = j + 1;
    }
  };
}

/**
 * `tasks` tasks of `k` independent steps each (a scheduling point between consecutive steps):
 * without a bound, two tasks have exactly C(2k, k) schedules.
 * Mirrors: model-only (the textbook interleaving count).
 */
export function independentSteps(k: number, tasks = 2): Scenario<StepsState> {
  if (!Number.isSafeInteger(k) || k < 1 || !Number.isSafeInteger(tasks) || tasks < 1) {
    throw new InvalidArgumentError(
      `independentSteps: got k=${k}, tasks=${tasks}; expected integers >= 1`,
    );
  }
  return defineScenario({
    name: tasks === 2 ? `independent-steps-${k}` : `independent-steps-${k}x${tasks}`,
    description: `${tasks} tasks of ${k} independent steps each (no shared state)`,
    expect: 'pass',
    // Each task writes only its own slot: nothing is shared, so there is nothing to report.
    accesses: 'reported',
    setup: () => ({ done: new Array<number>(tasks).fill(0) }),
    tasks: Array.from({ length: tasks }, (_, i) => ({
      name: `steps${i}`,
      run: stepper(i, k, { kind: 'step', label: `s${i}` }),
    })),
    finalCheck(s) {
      if (s.done.some((d) => d !== k)) throw new Error(`steps done ${s.done}; expected ${k} each`);
    },
  });
}
