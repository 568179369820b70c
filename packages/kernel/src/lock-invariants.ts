/**
 * assertLockInvariants: the consistency of one lock, wait queue or completion, for tests,
 * fuzzers and the explorer. Valid at every scheduling point (between any two steps of any task),
 * so it can run as an invariant while tasks contend. What it catches: a lock left held by a task
 * that has exited (the model's "lock held when returning to user space"), a free lock with tasks
 * still queued on it, hold counts that disagree, a spinlock holder that is preemptible.
 */
import { COMPLETION_ALL, Completion } from './completion.ts';
import { InvalidArgumentError, KernelBugError } from './errors.ts';
import { Mutex } from './mutex.ts';
import { RwSemaphore } from './rwsem.ts';
import { Spinlock } from './spinlock.ts';
import type { Task } from './task.ts';
import { WaitQueueHead } from './waitqueue.ts';

/** Anything assertLockInvariants() can check. */
export type CheckableLock = Mutex | Spinlock | RwSemaphore | Completion | WaitQueueHead;

function fail(kind: string, name: string, msg: string): never {
  throw new KernelBugError(`lock invariant violated (${kind} ${name}): ${msg}`);
}

/** Throw unless `queue` holds distinct tasks that have not exited. */
function checkQueue(kind: string, name: string, what: string, queue: readonly Task[]): void {
  if (queue.length === 0) return;
  const seen = new Set<Task>();
  for (const t of queue) {
    if (seen.has(t)) fail(kind, name, `task '${t.name}' is queued twice on its ${what}`);
    seen.add(t);
    if (t.state === 'done') fail(kind, name, `exited task '${t.name}' is still on its ${what}`);
  }
}

/** Throw unless `holder` (who holds the lock) is still alive. */
function checkHolder(kind: string, name: string, holder: Task): void {
  if (holder.state === 'done') {
    fail(
      kind,
      name,
      `held by task '${holder.name}', which has exited; expected every lock released before the task ends`,
    );
  }
}

function checkHandOffLock(l: Mutex | Spinlock, queue: readonly Task[], what: string): void {
  checkQueue(l.kind, l.name, what, queue);
  if (l.owner === undefined) {
    if (queue.length > 0) {
      fail(
        l.kind,
        l.name,
        `free but ${queue.length} task(s) queued; a release hands it to the first`,
      );
    }
    return;
  }
  checkHolder(l.kind, l.name, l.owner);
  if (queue.includes(l.owner)) fail(l.kind, l.name, `owner '${l.owner.name}' is also queued on it`);
  if (l instanceof Spinlock && l.owner.preemptCount < 1) {
    fail(
      l.kind,
      l.name,
      `holder '${l.owner.name}' has preemptCount ${l.owner.preemptCount}; expected >= 1`,
    );
  }
}

function checkRwsem(sem: RwSemaphore): void {
  const k = sem.kind;
  let holds = 0;
  for (const [t, n] of sem.readers) {
    if (!Number.isSafeInteger(n) || n < 1) fail(k, sem.name, `reader '${t.name}' has ${n} holds`);
    checkHolder(k, sem.name, t);
    holds += n;
  }
  if (holds !== sem.readCount) {
    fail(k, sem.name, `readCount ${sem.readCount} but the readers hold it ${holds} time(s)`);
  }
  if (sem.writer !== undefined) {
    checkHolder(k, sem.name, sem.writer);
    if (holds > 0) fail(k, sem.name, `write-held by '${sem.writer.name}' and read-held at once`);
  }
  const waiting = sem.waiters.map((w) => w.task);
  checkQueue(k, sem.name, 'wait list', waiting);
  for (const w of sem.waiters) {
    if (w.granted) fail(k, sem.name, `waiter '${w.task.name}' was granted but is still queued`);
    if (w.task === sem.writer || sem.readers.has(w.task)) {
      fail(k, sem.name, `task '${w.task.name}' waits for a lock it already holds`);
    }
  }
  if (sem.writer === undefined && holds === 0 && sem.waiters.length > 0) {
    fail(k, sem.name, `free but ${sem.waiters.length} task(s) queued; a release grants the head`);
  }
}

/**
 * Throw KernelBugError describing the first inconsistency of `lock`: a holder (owner, writer,
 * reader) that has exited; a free mutex, spinlock or rw_semaphore with tasks queued on it; an
 * owner also queued; a spinlock holder with preemptCount 0; reader hold counts that disagree
 * with readCount; write- and read-held at once; a granted rwsem waiter still queued; a task
 * queued twice or after exiting; a completion count that is not an integer in [0, 2^32 - 1].
 * Model check (the kernel's closest is lockdep's held-lock checks, kernel/locking/lockdep.c).
 */
export function assertLockInvariants(lock: CheckableLock): void {
  if (lock instanceof Mutex) checkHandOffLock(lock, lock.waiters, 'wait list');
  else if (lock instanceof Spinlock) checkHandOffLock(lock, lock.spinners, 'spinner queue');
  else if (lock instanceof RwSemaphore) checkRwsem(lock);
  else if (lock instanceof Completion) {
    if (!Number.isInteger(lock.done) || lock.done < 0 || lock.done > COMPLETION_ALL) {
      fail(lock.kind, lock.name, `done is ${lock.done}; expected an integer in [0, 2^32 - 1]`);
    }
    checkQueue(lock.kind, lock.name, 'wait list', lock.waiters);
  } else if (lock instanceof WaitQueueHead) {
    checkQueue(lock.kind, lock.name, 'wait queue', lock.waiters);
  } else {
    throw new InvalidArgumentError(
      'assertLockInvariants: lock is not a Mutex, Spinlock, RwSemaphore, Completion or WaitQueueHead; expected one of them',
    );
  }
}
