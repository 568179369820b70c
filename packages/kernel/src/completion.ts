import { accessReporting, noteRead, noteWrite } from './access.ts';
import { MAX_SCHEDULE_TIMEOUT } from './clock.ts';
import { mightSleep } from './might-sleep.ts';
import type { SchedEvent, Scheduler, WaitHead } from './sched-types.ts';
import type { Task } from './task.ts';
import { checkIntIn } from './validate.ts';

/** `done` value meaning "completed for everybody" (complete_all). */
export const COMPLETION_ALL = 2 ** 32 - 1;

/**
 * A completion: a count of `complete()` calls that waiters consume one each (exclusive,
 * FIFO waiters). Fields are read-only outside this file.
 */
export class Completion implements WaitHead {
  readonly kind = 'completion';
  readonly obj: string | undefined;
  done = 0;
  readonly waiters: Task[] = [];
  readonly waitEvent: SchedEvent;

  constructor(
    readonly sched: Scheduler,
    readonly name: string,
    obj?: string,
  ) {
    this.obj = obj;
    this.waitEvent = { kind: 'completion.wait_for_completion', label: name, obj };
  }

  describeWaiter(): string {
    return 'wait_for_completion: not completed';
  }
}

/**
 * Sleep until `x.done` > 0 or the timeout passes; consume one completion if there is one.
 * Returns the remaining jiffies (>= 1) on success, 0 on timeout.
 */
async function doWaitForCommon(x: Completion, timeout: number): Promise<number> {
  const { sched } = x;
  const forever = timeout >= MAX_SCHEDULE_TIMEOUT;
  // An untimed wait never reads the clock (a read would order it after every other step).
  const expire = forever ? 0 : sched.clock.jiffies + timeout;
  let remaining = timeout;
  if (accessReporting) noteWrite(x);
  if (x.done === 0) {
    const t = sched.current;
    try {
      do {
        if (!x.waiters.includes(t)) x.waiters.push(t);
        await sched.sleep(x, forever ? undefined : remaining);
        if (accessReporting) noteWrite(x);
        if (!forever) remaining = Math.max(0, expire - sched.clock.jiffies);
      } while (x.done === 0 && remaining > 0);
    } finally {
      const i = x.waiters.indexOf(t);
      if (i >= 0) x.waiters.splice(i, 1);
    }
    if (x.done === 0) return remaining;
  }
  if (x.done !== COMPLETION_ALL) x.done--;
  sched.trace.emit('completion.done', x.name, x.obj);
  return remaining || 1;
}

/** might_sleep, then the scheduling point before a completion wait. */
async function beforeWait(x: Completion, fn: string): Promise<void> {
  mightSleep(x.sched, fn, x.name);
  await x.sched.point(x.waitEvent);
}

/**
 * Sleep until `x` is completed, consuming one completion.
 * Mirrors kernel/sched/completion.c:wait_for_completion().
 */
export async function waitForCompletion(x: Completion): Promise<void> {
  await beforeWait(x, 'wait_for_completion');
  await doWaitForCommon(x, MAX_SCHEDULE_TIMEOUT);
}

/**
 * Like waitForCompletion() but gives up after `timeout` jiffies: 0 on timeout, else the
 * remaining jiffies (>= 1). Mirrors kernel/sched/completion.c:wait_for_completion_timeout().
 */
export async function waitForCompletionTimeout(x: Completion, timeout: number): Promise<number> {
  checkIntIn(
    `waitForCompletionTimeout(${x.name})`,
    'timeout',
    timeout,
    0,
    Number.MAX_SAFE_INTEGER,
    'jiffies >= 0 (a safe integer)',
  );
  await beforeWait(x, 'wait_for_completion_timeout');
  return doWaitForCommon(x, timeout);
}

/**
 * Consume one completion without sleeping: true if there was one.
 * Mirrors kernel/sched/completion.c:try_wait_for_completion().
 */
export function tryWaitForCompletion(x: Completion): boolean {
  if (accessReporting) noteWrite(x);
  if (x.done === 0) return false;
  if (x.done !== COMPLETION_ALL) x.done--;
  x.sched.trace.emit('completion.done', x.name, x.obj);
  return true;
}

/**
 * True when a wait on `x` would not sleep (done > 0).
 * Mirrors kernel/sched/completion.c:completion_done().
 */
export function completionDone(x: Completion): boolean {
  if (accessReporting) noteRead(x);
  return x.done !== 0;
}

/**
 * Add one completion and wake the first waiter.
 * Mirrors kernel/sched/completion.c:complete().
 */
export function complete(x: Completion): void {
  if (accessReporting) noteWrite(x);
  if (x.done !== COMPLETION_ALL) x.done++;
  x.sched.trace.emit('completion.complete', x.name, x.obj);
  const first = x.waiters.shift();
  if (first !== undefined) x.sched.wake(first);
}

/**
 * Complete `x` for every present and future waiter (until reinitCompletion) and wake all.
 * Mirrors kernel/sched/completion.c:complete_all().
 */
export function completeAll(x: Completion): void {
  if (accessReporting) noteWrite(x);
  x.done = COMPLETION_ALL;
  x.sched.trace.emit('completion.complete_all', x.name, x.obj);
  for (const t of x.waiters.splice(0)) x.sched.wake(t);
}

/**
 * Reset `x` to not completed (only when nobody waits on it).
 * Mirrors include/linux/completion.h:reinit_completion().
 */
export function reinitCompletion(x: Completion): void {
  if (accessReporting) noteWrite(x);
  x.done = 0;
}
