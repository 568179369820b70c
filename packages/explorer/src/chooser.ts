import type { Choice, PickContext } from '@hmmsim/kernel';

/** A strategy's decision rule; the harness calls it at every decision of a run. */
export interface Chooser {
  /** One of `ctx.choices` for decision number `d` (0-based) of the current run. */
  choose(ctx: PickContext, d: number, preemptionsSoFar: number): Choice;
}

/**
 * Index in ctx.choices of the default choice: the current task if it can continue, else the
 * lowest-id runnable task, else the timer. Never a preemption.
 * Mirrors: model-only (the choice of freeRunningPolicy()).
 */
export function defaultIndex(ctx: PickContext): number {
  const { choices, current } = ctx;
  let first = -1;
  for (let i = 0; i < choices.length; i++) {
    const c = choices[i]!;
    if (c.type !== 'task') continue;
    if (c.task === current) return i;
    if (first < 0) first = i;
  }
  return Math.max(first, 0);
}

/** Indices of ctx.choices in exploration order: the default first, then the others in order.
 * Mirrors: model-only.
 */
export function explorationOrder(ctx: PickContext): number[] {
  const def = defaultIndex(ctx);
  const order = [def];
  for (let i = 0; i < ctx.choices.length; i++) if (i !== def) order.push(i);
  return order;
}

/** Always the default choice (the non-preemptive run). */
export const defaultChooser: Chooser = {
  choose: (ctx) => ctx.choices[defaultIndex(ctx)]!,
};
