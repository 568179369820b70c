import {
  accessReporting,
  Mutex,
  mutexLock,
  mutexUnlock,
  noteRead,
  noteWrite,
  type SchedEvent,
  type Scheduler,
} from '@hmmsim/kernel';
import { defineScenario, type Scenario } from '../scenario.ts';

/** A shared counter, and the mutex the fixed variant takes around the increment. */
export interface CounterState {
  value: number;
  readonly lock: Mutex;
}

const LOAD: SchedEvent = { kind: 'counter.load', label: 'x' };
const STORE: SchedEvent = { kind: 'counter.store', label: 'x' };

/** x = x + 1 as a load and a store, each preceded by a scheduling point (not atomic). */
async function increment(s: CounterState, sched: Scheduler): Promise<void> {
  await sched.point(LOAD);
  if (accessReporting) noteRead(s);
  const v = s.value;
  if (sched.trace.enabled) sched.trace.emit('counter.loaded', `x == ${v}`);
  await sched.point(STORE);
  if (accessReporting) noteWrite(s);
  s.value = v + 1;
  if (sched.trace.enabled) sched.trace.emit('counter.stored', `x = ${v + 1}`);
}

/** The same increment under the mutex. */
async function lockedIncrement(s: CounterState, sched: Scheduler): Promise<void> {
  await mutexLock(s.lock);
  await increment(s, sched);
  mutexUnlock(s.lock);
}

/** Throws unless both increments landed. */
function bothLanded(s: CounterState): void {
  if (s.value !== 2) {
    throw new Error(`lost update: x is ${s.value} after two increments; expected 2`);
  }
}

/** Fresh counter at 0 with its (unused by the racy variant) mutex. */
function freshCounter(sched: Scheduler): CounterState {
  return { value: 0, lock: new Mutex(sched, 'counter_lock') };
}

/**
 * Two CPUs increment a shared counter with a plain load and store: one preemption between a
 * load and its store loses an update.
 */
export const lostUpdate: Scenario<CounterState> = defineScenario({
  name: 'lost-update',
  description: 'two tasks do x = x + 1 without a lock; one preemption loses an update',
  expect: 'violation',
  accesses: 'reported',
  setup: freshCounter,
  tasks: [
    { name: 'inc0', run: increment },
    { name: 'inc1', run: increment },
  ],
  /** x never leaves 0..2. */
  invariant(s) {
    if (s.value < 0 || s.value > 2) throw new Error(`x is ${s.value}; expected 0..2`);
  },
  finalCheck: bothLanded,
});

/** The lost update fixed: the increment runs under a mutex, so no schedule loses one. */
export const lostUpdateMutex: Scenario<CounterState> = defineScenario({
  name: 'lost-update-mutex',
  description: 'the lost update with a mutex around the increment; no schedule loses one',
  expect: 'pass',
  accesses: 'reported',
  setup: freshCounter,
  tasks: [
    { name: 'inc0', run: lockedIncrement },
    { name: 'inc1', run: lockedIncrement },
  ],
  finalCheck: bothLanded,
});
