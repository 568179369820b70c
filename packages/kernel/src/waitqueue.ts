import { accessReporting, noteRead, noteWrite } from './access.ts';
import { MAX_SCHEDULE_TIMEOUT } from './clock.ts';
import { mightSleep } from './might-sleep.ts';
import type { SchedEvent, Scheduler, WaitHead, WakeReason } from './sched-types.ts';
import type { Task } from './task.ts';
import { checkFunction, checkIntIn } from './validate.ts';

/**
 * A wait queue head. Waiters added by waitEvent*() are non-exclusive, as in Linux, so
 * wakeUp() and wakeUpAll() both wake every one of them. Fields are read-only outside this file.
 */
export class WaitQueueHead implements WaitHead {
  readonly kind = 'waitqueue';
  readonly obj: string | undefined;
  readonly waiters: Task[] = [];
  readonly waitEvent: SchedEvent;

  constructor(
    readonly sched: Scheduler,
    readonly name: string,
    obj?: string,
  ) {
    this.obj = obj;
    this.waitEvent = { kind: 'wait.wait_event', label: name, obj };
  }

  describeWaiter(): string {
    return `wait_event: condition still false, ${this.waiters.length} waiting`;
  }
}

/** Sleep on `wq` once (queued until woken or timed out). */
async function sleepOn(wq: WaitQueueHead, timeout: number | undefined): Promise<WakeReason> {
  const t = wq.sched.current;
  if (accessReporting) noteWrite(wq);
  wq.waiters.push(t);
  wq.sched.trace.emit('wait.sleep', wq.name, wq.obj);
  try {
    return await wq.sched.sleep(wq, timeout);
  } finally {
    const i = wq.waiters.indexOf(t);
    if (i >= 0) wq.waiters.splice(i, 1);
  }
}

/**
 * Sleep until `cond()` is true, re-checking it after every wake-up.
 * Mirrors include/linux/wait.h:wait_event().
 */
export async function waitEvent(wq: WaitQueueHead, cond: () => boolean): Promise<void> {
  checkFunction(`waitEvent(${wq.name})`, 'cond', cond);
  mightSleep(wq.sched, 'wait_event', wq.name);
  await wq.sched.point(wq.waitEvent);
  while (!cond()) await sleepOn(wq, undefined);
}

/**
 * Sleep until `cond()` is true or `timeout` jiffies pass: remaining jiffies (>= 1) if the
 * condition held, 0 on timeout (1 if it holds right at the timeout).
 * Mirrors include/linux/wait.h:wait_event_timeout().
 */
export async function waitEventTimeout(
  wq: WaitQueueHead,
  cond: () => boolean,
  timeout: number,
): Promise<number> {
  checkFunction(`waitEventTimeout(${wq.name})`, 'cond', cond);
  checkIntIn(
    `waitEventTimeout(${wq.name})`,
    'timeout',
    timeout,
    0,
    Number.MAX_SAFE_INTEGER,
    'jiffies >= 0 (a safe integer)',
  );
  mightSleep(wq.sched, 'wait_event_timeout', wq.name);
  await wq.sched.point(wq.waitEvent);
  const { clock } = wq.sched;
  const forever = timeout >= MAX_SCHEDULE_TIMEOUT;
  // An untimed wait never reads the clock (a read would order it after every other step).
  const expire = forever ? 0 : clock.jiffies + timeout;
  for (;;) {
    const remaining = forever ? timeout : Math.max(0, expire - clock.jiffies);
    if (cond()) return Math.max(remaining, 1);
    if (remaining === 0) return 0;
    await sleepOn(wq, remaining);
  }
}

/** Wake every queued task that is still asleep; the others dequeue themselves. */
function wakeWaiters(wq: WaitQueueHead): void {
  if (accessReporting) noteWrite(wq);
  const w = wq.waiters;
  let kept = 0;
  for (const t of w) if (!wq.sched.wake(t)) w[kept++] = t;
  w.length = kept;
}

/**
 * Wake the tasks sleeping on `wq` (all waitEvent waiters: they are non-exclusive).
 * Mirrors include/linux/wait.h:wake_up() (kernel/sched/wait.c:__wake_up()).
 */
export function wakeUp(wq: WaitQueueHead): void {
  wq.sched.trace.emit('wait.wake_up', wq.name, wq.obj);
  wakeWaiters(wq);
}

/**
 * Wake every task sleeping on `wq`.
 * Mirrors include/linux/wait.h:wake_up_all() (kernel/sched/wait.c:__wake_up()).
 */
export function wakeUpAll(wq: WaitQueueHead): void {
  wq.sched.trace.emit('wait.wake_up_all', wq.name, wq.obj);
  wakeWaiters(wq);
}

/**
 * True when some task is queued on `wq`.
 * Mirrors include/linux/wait.h:waitqueue_active().
 */
export function waitqueueActive(wq: WaitQueueHead): boolean {
  if (accessReporting) noteRead(wq);
  return wq.waiters.length > 0;
}
