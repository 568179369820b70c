/**
 * The part of lockdep the notifier code relies on: the invalidate-range "map" that says callbacks
 * may run from reclaim and that `mmu_interval_read_begin` / `mmu_interval_notifier_remove` wait
 * for callbacks, so none of them may be called while holding a lock a callback takes.
 *
 * Model: a driver declares the lock its `invalidate` callback takes (`ops.userLock`); the checks
 * below turn the kernel's lockdep splats into KernelBugErrors. Also `non_block_start/end`, which
 * make any sleep inside a non-blockable callback a bug.
 *
 * Mirrors mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start_map and
 * include/linux/kernel.h:non_block_start()/non_block_end().
 */
import {
  KernelBugError,
  Mutex,
  RwSemaphore,
  type Scheduler,
  Spinlock,
  type Task,
} from '@hmmsim/kernel';

/**
 * A lock a driver callback may take: what `ops.userLock` may name.
 * Mirrors: model-only (the driver lock, e.g. nouveau svmm->mutex).
 */
export type UserLock = Mutex | Spinlock | RwSemaphore;

/**
 * True when `task` holds `lock` (owns a mutex/spinlock, or holds the rwsem for read or write).
 * Mirrors include/linux/lockdep.h:lockdep_is_held() for one task.
 */
export function lockHeldBy(lock: UserLock, task: Task): boolean {
  if (lock instanceof RwSemaphore) return lock.writer === task || lock.readers.has(task);
  if (lock instanceof Mutex || lock instanceof Spinlock) return lock.owner === task;
  throw new KernelBugError(
    `lockHeldBy: got ${String(lock)}; expected a Mutex, Spinlock or RwSemaphore`,
  );
}

/**
 * A printable name of a lock ('mutex user_lock').
 * Mirrors: model-only (lockdep prints lock class names).
 */
export function lockName(lock: UserLock): string {
  return `${lock.kind} ${lock.name}${lock.obj === undefined ? '' : ` (${lock.obj})`}`;
}

/**
 * Throw if the current task holds any of `locks` (locks that invalidation callbacks take),
 * because `fn` may wait for such a callback to finish.
 * Mirrors mm/mmu_notifier.c:lock_map_acquire(&__mmu_notifier_invalidate_range_start_map) in
 * mmu_interval_read_begin()/mmu_interval_notifier_remove().
 */
export function assertNoCallbackLockHeld(
  sched: Scheduler,
  locks: Iterable<UserLock>,
  fn: string,
): void {
  const t = sched.current;
  for (const lock of locks) {
    if (lockHeldBy(lock, t)) {
      throw new KernelBugError(
        `lockdep: ${fn}() called by task '${t.name}' while holding ${lockName(lock)}, which an ` +
          'invalidate callback takes; it may wait for that callback (deadlock); expected the ' +
          'driver lock to be dropped before calling it',
      );
    }
  }
}

/**
 * Enter a region where sleeping is a bug (a non-blockable callback); returns the task to pass to
 * nonBlockEnd().
 * Mirrors include/linux/kernel.h:non_block_start().
 */
export function nonBlockStart(sched: Scheduler): Task {
  const t = sched.current;
  t.preemptCount++;
  return t;
}

/**
 * Leave the region entered by nonBlockStart() on task `t`.
 * Mirrors include/linux/kernel.h:non_block_end().
 */
export function nonBlockEnd(t: Task): void {
  if (t.preemptCount <= 0) {
    throw new KernelBugError(
      `non_block_end: task '${t.name}' has preemptCount ${t.preemptCount}; expected a matching non_block_start`,
    );
  }
  t.preemptCount--;
}

/**
 * Rewrap a "sleeping function called from invalid context" bug raised inside a non-blockable
 * callback so the message names the callback. Other errors pass through unchanged.
 * Mirrors: model-only (the kernel's splat names the non_block section).
 */
export function explainNonBlockSleep(error: unknown, what: string): unknown {
  if (error instanceof KernelBugError && error.message.startsWith('BUG: sleeping function')) {
    return new KernelBugError(
      `BUG: ${what} slept in a non-blockable invalidation (mmu_notifier_range_blockable() is ` +
        `false); expected it to use trylock and return -EAGAIN / false instead. Cause: ${error.message}`,
      { cause: error },
    );
  }
  return error;
}
