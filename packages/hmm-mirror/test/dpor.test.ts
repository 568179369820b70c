// The explorer's partial-order reduction on the race scenarios and the porting mistakes: every
// scenario reports its accesses; where the full unbounded search finishes quickly the reduced one
// reaches exactly its final states; every mistake is still caught, with the same minimal trace.
import { explore, finalStates, reducedFinalStates } from '@hmmsim/explorer';
import { describe, expect, it } from 'vitest';
import { raceScenario, scenarios } from '../src/index.ts';

const UNBOUNDED = Number.POSITIVE_INFINITY;

describe('dpor on the hmm-mirror scenarios', () => {
  it('every scenario declares that its shared state reports its accesses', () => {
    expect(scenarios.filter((s) => s.accesses !== 'reported').map((s) => s.name)).toEqual([]);
  });

  // The reduced pass alone (no bounded pass in front) against the full unbounded search. The
  // munmap races (12,094 and 180,569 schedules in full) are left to
  // `pnpm --filter @hmmsim-bench/explorer bench:reduction`, which compares their verdicts.
  for (const [op, impl] of [
    ['mprotect', 'interval'],
    ['mprotect', 'shim'],
  ] as const) {
    it(`hmm-race-${op}-${impl}: the same final states as the full unbounded search`, async () => {
      const s = raceScenario(op, impl);
      const explored = await explore(s, { bound: UNBOUNDED, minimise: false });
      expect(explored.reduction).toBe('dpor');
      expect(explored.violation).toBeUndefined();
      const reduced = await reducedFinalStates(s);
      const full = await finalStates(s, { bound: UNBOUNDED, reduction: 'none' });
      expect(reduced.exhausted && full.result.exhausted).toBe(true);
      expect(reduced.states).toEqual(full.states);
      console.log(
        `[dpor] ${s.name}: ${reduced.schedules} schedules reduced, ${full.result.schedules} full, ${reduced.states.length} final states`,
      );
      expect(reduced.schedules * 2).toBeLessThan(full.result.schedules);
      // The full search of the shim's race runs 8,102 schedules: 43 s in a loaded CI run.
    }, 300_000);
  }

  it('catches the legacy race and every porting mistake, with the minimal trace of the bounded search', async () => {
    const broken = scenarios.filter((s) => s.expect === 'violation');
    expect(broken.length).toBeGreaterThanOrEqual(12);
    for (const s of broken) {
      const reduced = await explore(s, { bound: UNBOUNDED });
      const bounded = await explore(s, { bound: 2 });
      expect(reduced.reduction, s.name).toBe('dpor');
      expect(reduced.minimal?.kind, s.name).toBe(bounded.minimal?.kind);
      expect(reduced.minimal?.schedule, s.name).toBe(bounded.minimal?.schedule);
    }
  }, 60_000);
});
