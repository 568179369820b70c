import { InvalidArgumentError } from './errors.ts';
import type { Random } from './random.ts';
import type { Choice, PickContext, SchedulePolicy } from './sched-types.ts';

/**
 * At every decision run a uniformly random runnable task; when a timer is pending, fire it
 * with probability `timerProbability` (default 0.05), or always if nothing is runnable.
 * Mirrors: model-only (random preemption, in the spirit of fuzzing schedulers).
 */
export function randomPolicy(
  random: Random,
  opts: { timerProbability?: number } = {},
): SchedulePolicy {
  if (
    typeof random !== 'object' ||
    random === null ||
    typeof random.nextInt !== 'function' ||
    typeof random.nextFloat !== 'function'
  ) {
    throw new InvalidArgumentError(
      'randomPolicy: random is not a Random; expected a seeded PRNG from createRandom()',
    );
  }
  const p = opts.timerProbability ?? 0.05;
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) {
    throw new InvalidArgumentError(
      `randomPolicy: got timerProbability ${p}; expected a number in [0, 1]`,
    );
  }
  return {
    name: 'random',
    pick(ctx: PickContext): Choice {
      const n = ctx.choices.length;
      const last = ctx.choices[n - 1]!;
      const tasks = last.type === 'timer' ? n - 1 : n;
      if (last.type === 'timer' && (tasks === 0 || random.nextFloat() < p)) return last;
      return ctx.choices[random.nextInt(tasks)]!;
    },
  };
}
