import type { Choice, PickContext, SchedulePolicy } from './sched-types.ts';

/** Keep the current task; else the lowest-id runnable task; else the timer. */
function pickFreeRunning(ctx: PickContext): Choice {
  let first: Choice | undefined;
  for (const c of ctx.choices) {
    if (c.type !== 'task') continue;
    if (c.task === ctx.current) return c;
    first ??= c;
  }
  return first ?? ctx.choices[0]!;
}

/**
 * Run the current task until it blocks, then the lowest-id runnable one; fire timers only
 * when nothing is runnable. Deterministic and cheap (the default).
 * Mirrors: model-only (a non-preemptive kernel, CONFIG_PREEMPT_NONE, with one CPU).
 */
export function freeRunningPolicy(): SchedulePolicy {
  return { name: 'free-running', pick: pickFreeRunning };
}
