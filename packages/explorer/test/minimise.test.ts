import { describe, expect, it } from 'vitest';
import { abbaDeadlock, explore, lostUpdate, minimiseViolation } from '../src/index.ts';

describe('minimisation', () => {
  it('brings a random violation down to the fewest preemptions, then the fewest steps', async () => {
    // Find violations with random, keep one with more than one preemption, minimise it.
    for (let seed = 1; seed < 200; seed++) {
      const r = await explore(lostUpdate, { strategy: 'random', runs: 1, seed, minimise: false });
      const v = r.violation;
      if (v === undefined || v.preemptions < 2) continue;
      const m = await minimiseViolation(lostUpdate, v);
      expect(m.complete).toBe(true);
      expect(m.violation.kind).toBe(v.kind);
      expect(m.violation.preemptions).toBe(1);
      expect(m.violation.steps).toBeLessThanOrEqual(v.steps);
      return;
    }
    throw new Error('no random violation with two or more preemptions in 200 seeds');
  });

  it('keeps the kind of the violation and respects the budget', async () => {
    const r = await explore(abbaDeadlock, { bound: 2, minimise: false });
    const m = await minimiseViolation(abbaDeadlock, r.violation!, 0);
    expect(m.violation).toEqual(r.violation);
    expect(m.complete).toBe(false);
  });
});
