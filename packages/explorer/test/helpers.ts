import type { SchedEvent, Scheduler } from '@hmmsim/kernel';
import { defineScenario, type Scenario } from '../src/index.ts';

/** C(n, k). */
export function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

const MOVE: SchedEvent = { kind: 'account.move', label: 'a->b' };
const LOOK: SchedEvent = { kind: 'account.look', label: 'a+b' };

/** Money leaves a before it reaches b, with a scheduling point in between: a+b=100 breaks. */
export const transfer: Scenario<{ a: number; b: number }> = defineScenario({
  name: 'transfer',
  description: 'an invariant broken across a scheduling point',
  setup: () => ({ a: 50, b: 50 }),
  tasks: [
    {
      name: 'mover',
      run: async (s, sched) => {
        s.a -= 10;
        await sched.point(MOVE);
        s.b += 10;
      },
    },
    { name: 'observer', run: async (_s, sched) => sched.point(LOOK) },
  ],
  invariant(s) {
    if (s.a + s.b !== 100) throw new Error(`a + b = ${s.a + s.b}; expected 100`);
  },
});

/** A scenario whose setup reads state kept between runs (so replays diverge). */
export function flaky(kind: 'label' | 'structure'): Scenario<{ n: number }> {
  let runs = 0;
  return defineScenario({
    name: `flaky-${kind}`,
    description: 'not deterministic on purpose',
    setup: () => ({ n: runs++ }),
    tasks: [
      {
        name: 'a',
        run: async (s, sched: Scheduler) => {
          if (kind === 'label') await sched.point({ kind: 'flaky.point', label: `run ${s.n}` });
          else if (s.n % 2 === 1) await sched.point({ kind: 'flaky.extra', label: '' });
          await sched.point({ kind: 'flaky.point', label: 'a' });
        },
      },
      { name: 'b', run: (_s, sched) => sched.point({ kind: 'flaky.point', label: 'b' }) },
    ],
  });
}
