import { accessReporting, noteWrite } from './access.ts';
/**
 * The core shared by Spinlock and Mutex: a lock with an owner and a FIFO queue of tasks to which
 * a release hands the lock directly (the queued spinlock's MCS queue, the mutex wait_list with
 * hand-off). Internal to @hmmsim/kernel: not re-exported by index.ts.
 */
import type { SchedEvent, Scheduler, WaitHead } from './sched-types.ts';
import type { Task } from './task.ts';

/**
 * Owner and the preallocated scheduling point of a hand-off lock; subclasses hold the FIFO
 * queue (`waiters`, `spinners`) and name the verb used in deadlock reports.
 * Model of the state kernel/locking/{qspinlock,mutex}.c keep per lock.
 */
export abstract class HandOffLock implements WaitHead {
  abstract readonly kind: string;
  readonly obj: string | undefined;
  owner: Task | undefined = undefined;
  /** The scheduling point before each acquisition (preallocated). */
  readonly lockEvent: SchedEvent;

  constructor(
    readonly sched: Scheduler,
    readonly name: string,
    eventKind: string,
    private readonly holds: string,
    obj?: string,
  ) {
    this.obj = obj;
    this.lockEvent = { kind: eventKind, label: name, obj };
  }

  describeWaiter(): string {
    return `${this.holds} ${this.owner === undefined ? 'nobody' : `'${this.owner.name}'`}`;
  }
}

/**
 * Queue `t` on `l` and wait with `wait` (sleep or spin) until handOff() makes it the owner; on
 * an error (e.g. the run ended) `t` leaves the queue and the error propagates.
 * Model of the contended paths of kernel/locking/mutex.c:__mutex_lock() and qspinlock.
 */
export async function waitForHandOff(
  l: HandOffLock,
  queue: Task[],
  t: Task,
  wait: (l: HandOffLock) => Promise<unknown>,
): Promise<void> {
  queue.push(t);
  if (accessReporting) noteWrite(l);
  l.sched.trace.emit('lock.contended', l.name, l.obj);
  try {
    while (l.owner !== t) await wait(l);
  } catch (error) {
    queue.splice(queue.indexOf(t), 1);
    throw error;
  }
}

/**
 * Release `l`: the first queued task (or nobody) becomes the owner and is woken.
 * Model of kernel/locking/mutex.c:__mutex_handoff() / the MCS queue head taking the lock.
 */
export function handOff(l: HandOffLock, queue: Task[]): void {
  if (accessReporting) noteWrite(l);
  const next = queue.shift();
  l.owner = next;
  if (next !== undefined) l.sched.wake(next);
}
