import { KernelBugError } from './errors.ts';
import type { Scheduler } from './sched-types.ts';

/**
 * Throw KernelBugError if the current task is in atomic context (holds a spinlock), because
 * `fn(name)` may sleep.
 * Mirrors include/linux/kernel.h:might_sleep() (kernel/sched/core.c:___might_sleep()).
 */
export function mightSleep(sched: Scheduler, fn: string, name: string): void {
  const t = sched.current;
  if (t.preemptCount > 0) {
    throw new KernelBugError(
      `BUG: sleeping function called from invalid context: ${fn}(${name}) in task '${t.name}' ` +
        `(id ${t.id}) with preemptCount=${t.preemptCount}; expected preemptCount 0 ` +
        '(release every spinlock before calling a function that may sleep)',
    );
  }
}
