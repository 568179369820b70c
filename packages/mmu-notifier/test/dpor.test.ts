// The explorer's partial-order reduction on this package's scenarios: with every shared access
// reported, the reduced unbounded search reaches exactly the final states the full unbounded
// search reaches, gives the same verdicts, and still catches the forgotten set_seq.
import { dporSearch, finalStates } from '@hmmsim/explorer';
import { describe, expect, it } from 'vitest';
import { scenarios } from '../src/index.ts';

const UNBOUNDED = Number.POSITIVE_INFINITY;

describe('dpor on the mmu-notifier scenarios', () => {
  for (const s of scenarios) {
    it(`${s.name}: the same final states and verdict as the full search, and, when clean, in fewer or as many schedules`, async () => {
      const dpor = await finalStates(s, { bound: UNBOUNDED, reduction: 'dpor' });
      const full = await finalStates(s, { bound: UNBOUNDED, reduction: 'none' });
      expect(dpor.result.reduction).toBe('dpor');
      expect(dpor.result.violation?.kind, 'verdict').toBe(full.result.violation?.kind);
      if (full.result.violation !== undefined) return;
      expect(dpor.result.exhausted && full.result.exhausted).toBe(true);
      expect(dpor.states).toEqual(full.states);
      const reduced = await dporSearch(s, {
        maxSchedules: Number.POSITIVE_INFINITY,
        visit: () => false,
      });
      expect(reduced.schedules).toBeLessThanOrEqual(full.result.schedules);
      console.log(
        `[dpor] ${s.name}: ${reduced.schedules} schedules reduced, ${full.result.schedules} full; ${dpor.states.length} final states`,
      );
    });
  }

  it('declares reported accesses on every scenario (their state reports them all)', () => {
    expect(scenarios.filter((s) => s.accesses !== 'reported').map((s) => s.name)).toEqual([]);
  });
});
