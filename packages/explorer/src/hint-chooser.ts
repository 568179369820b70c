import type { Choice, PickContext } from '@hmmsim/kernel';
import { type Chooser, defaultIndex } from './chooser.ts';

/**
 * Decisions driven by a list of small integers ("hints"), e.g. drawn by fast-check: hint h at
 * a decision with n choices takes alternative h mod n in exploration order (0 = the default,
 * non-preemptive choice, then the others in ctx.choices order); past the list, defaults.
 * Shrinking hints towards [] or 0 therefore shrinks towards fewer preemptions.
 */
export class HintChooser implements Chooser {
  constructor(private readonly hints: readonly number[]) {}

  /** Alternative `hints[d] mod n` of the decision, default first. */
  choose(ctx: PickContext, d: number): Choice {
    const def = defaultIndex(ctx);
    const n = ctx.choices.length;
    const h = (this.hints[d] ?? 0) % n;
    if (h === 0) return ctx.choices[def]!;
    return ctx.choices[h <= def ? h - 1 : h]!;
  }
}
