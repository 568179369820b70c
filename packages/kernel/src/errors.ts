/**
 * Misuse the kernel would BUG_ON()/WARN_ON() on (unlocking a lock you do not hold, sleeping
 * in atomic context, ...). The message says what was wrong and what was expected.
 */
export class KernelBugError extends Error {
  override readonly name = 'KernelBugError';
}

/** Bad input to a model API (not a syscall argument: those return -errno). */
export class InvalidArgumentError extends RangeError {
  override readonly name: string = 'InvalidArgumentError';
}

/**
 * A task would sleep forever: every task is blocked and no timer is pending. Thrown only
 * for the boot task (code running outside `Scheduler.run()`); inside a run the deadlock is
 * reported in `RunResult.deadlock` instead.
 */
export class DeadlockError extends Error {
  override readonly name = 'DeadlockError';
}
