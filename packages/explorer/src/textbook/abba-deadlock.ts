import { Mutex, mutexLock, mutexUnlock } from '@hmmsim/kernel';
import { defineScenario, type Scenario } from '../scenario.ts';

/** Two mutexes taken in opposite orders. */
export interface AbbaState {
  readonly a: Mutex;
  readonly b: Mutex;
}

/** Take `first` then `second`, release both. */
async function lockPair(first: Mutex, second: Mutex): Promise<void> {
  await mutexLock(first);
  await mutexLock(second);
  mutexUnlock(second);
  mutexUnlock(first);
}

/**
 * Lock-order inversion: one task takes A then B, the other B then A; preempting the first
 * between its two acquisitions deadlocks both.
 */
export const abbaDeadlock: Scenario<AbbaState> = defineScenario({
  name: 'abba-deadlock',
  description: 'one task locks A then B, the other B then A; one preemption deadlocks them',
  expect: 'violation',
  accesses: 'reported',
  setup: (sched) => ({ a: new Mutex(sched, 'A'), b: new Mutex(sched, 'B') }),
  tasks: [
    { name: 'lock-ab', run: (s) => lockPair(s.a, s.b) },
    { name: 'lock-ba', run: (s) => lockPair(s.b, s.a) },
  ],
});
