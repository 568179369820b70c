import type { Choice, PickContext } from './sched-types.ts';

/**
 * True when taking `choice` at `ctx` preempts: it switches to another task while the
 * current one is still runnable (blocking and exiting are not preemptions).
 * Mirrors: model-only; counts what kernel/sched/core.c:__schedule() calls an involuntary switch.
 */
export function isPreemption(ctx: PickContext, choice: Choice): boolean {
  const cur = ctx.current;
  if (cur === undefined || choice.type !== 'task' || choice.task === cur) return false;
  return ctx.choices.some((c) => c.type === 'task' && c.task === cur);
}
