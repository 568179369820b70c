import {
  accessReporting,
  noteRead,
  noteWrite,
  type SchedEvent,
  type Scheduler,
  WaitQueueHead,
  waitEventTimeout,
  wakeUp,
} from '@hmmsim/kernel';
import { defineScenario, type Scenario } from '../scenario.ts';

/** A flag published by one task and awaited, with a timeout, by the other. */
export interface WaitTimeoutState {
  readonly wq: WaitQueueHead;
  ready: boolean;
  /** What waitEventTimeout() returned, once it has. */
  ret: number | undefined;
}

/** Jiffies the waiter waits (20 ms at HZ=250). */
export const WAIT_JIFFIES = 5;

const PUBLISH: SchedEvent = { kind: 'data.publish', label: 'ready' };

/** Wait for `ready` with a timeout and record the result. */
async function waiter(s: WaitTimeoutState): Promise<void> {
  const ready = (): boolean => {
    if (accessReporting) noteRead(s);
    return s.ready;
  };
  s.ret = await waitEventTimeout(s.wq, ready, WAIT_JIFFIES);
}

/** Publish `ready` and wake the waiter. */
async function waker(s: WaitTimeoutState, sched: Scheduler): Promise<void> {
  await sched.point(PUBLISH);
  if (accessReporting) noteWrite(s);
  s.ready = true;
  wakeUp(s.wq);
}

/** Throws unless the waiter's result agrees with the flag (> 0 only if it was published). */
function consistent(s: WaitTimeoutState): void {
  if (s.ret === undefined) throw new Error('the waiter never returned from waitEventTimeout()');
  if (s.ret > 0 && !s.ready) {
    throw new Error(`waitEventTimeout returned ${s.ret} (woken) but ready is false`);
  }
  if (s.ret > WAIT_JIFFIES) {
    throw new Error(`waitEventTimeout returned ${s.ret}; expected at most ${WAIT_JIFFIES}`);
  }
}

/**
 * waitEventTimeout() racing with the wake-up: depending on whether the waker runs before the
 * virtual timer fires, the waiter sees the flag (remaining jiffies >= 1) or times out (0).
 */
export const waitTimeout: Scenario<WaitTimeoutState> = defineScenario({
  name: 'wait-timeout',
  description:
    'waitEventTimeout() against a waker: both the wake-up and the timeout outcome happen',
  expect: 'pass',
  accesses: 'reported',
  setup: (sched) => ({ wq: new WaitQueueHead(sched, 'ready_wq'), ready: false, ret: undefined }),
  tasks: [
    { name: 'waiter', run: waiter },
    { name: 'waker', run: waker },
  ],
  finalCheck: consistent,
});
