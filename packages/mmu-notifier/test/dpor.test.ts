// The explorer's partial-order reduction on this package's scenarios: with every shared access
// reported, the reduced unbounded search reaches exactly the final states the full unbounded
// search reaches, gives the same verdicts, and still catches the forgotten set_seq.
import { explore, finalStates, reducedFinalStates } from '@hmmsim/explorer';
import { describe, expect, it } from 'vitest';
import { scenarios } from '../src/index.ts';

const UNBOUNDED = Number.POSITIVE_INFINITY;

describe('dpor on the mmu-notifier scenarios', () => {
  for (const s of scenarios) {
    it(`${s.name}: the same final states and verdict as the full search, and, when clean, in fewer or as many schedules`, async () => {
      const explored = await explore(s, { bound: UNBOUNDED, minimise: false });
      const full = await finalStates(s, { bound: UNBOUNDED, reduction: 'none' });
      expect(explored.reduction).toBe('dpor');
      expect(explored.violation?.kind, 'verdict').toBe(full.result.violation?.kind);
      if (full.result.violation !== undefined) return;
      // The reduced pass alone, without explore()'s bounded pass in front of it.
      const reduced = await reducedFinalStates(s);
      expect(reduced.exhausted && full.result.exhausted).toBe(true);
      expect(reduced.states).toEqual(full.states);
      expect(reduced.schedules).toBeLessThanOrEqual(full.result.schedules);
      console.log(
        `[dpor] ${s.name}: ${reduced.schedules} schedules reduced, ${full.result.schedules} full; ${reduced.states.length} final states`,
      );
    });
  }

  it('declares reported accesses on every scenario (their state reports them all)', () => {
    expect(scenarios.filter((s) => s.accesses !== 'reported').map((s) => s.name)).toEqual([]);
  });
});
