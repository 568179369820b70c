// The explorer's partial-order reduction on the race scenarios and the porting mistakes: every
// scenario reports its accesses; where the full unbounded search finishes quickly the reduced one
// reaches exactly its final states; every mistake is still caught, with the same minimal trace.
import { dporSearch, explore, finalStates } from '@hmmsim/explorer';
import { describe, expect, it } from 'vitest';
import { raceScenario, scenarios } from '../src/index.ts';

const UNBOUNDED = Number.POSITIVE_INFINITY;

describe('dpor on the hmm-mirror scenarios', () => {
  it('every scenario declares that its shared state reports its accesses', () => {
    expect(scenarios.filter((s) => s.accesses !== 'reported').map((s) => s.name)).toEqual([]);
  });

  // hmm-race-mprotect-shim (2,024 schedules reduced, 8,102 full, the same 6 final states) and
  // hmm-race-munmap-interval (2,629 and 12,094, the same 3) pass too, but take minutes under a
  // loaded CI run; `pnpm --filter @hmmsim-bench/explorer bench:reduction` covers them.
  for (const [op, impl] of [['mprotect', 'interval']] as const) {
    it(`hmm-race-${op}-${impl}: the same final states as the full unbounded search`, async () => {
      const s = raceScenario(op, impl);
      const dpor = await finalStates(s, { bound: UNBOUNDED });
      const full = await finalStates(s, { bound: UNBOUNDED, reduction: 'none' });
      expect(dpor.result.reduction).toBe('dpor');
      expect(dpor.result.violation).toBeUndefined();
      expect(dpor.result.exhausted && full.result.exhausted).toBe(true);
      expect(dpor.states).toEqual(full.states);
      const reduced = await dporSearch(s, { maxSchedules: UNBOUNDED, visit: () => false });
      console.log(
        `[dpor] ${s.name}: ${reduced.schedules} schedules reduced, ${full.result.schedules} full, ${dpor.states.length} final states`,
      );
      expect(reduced.schedules * 2).toBeLessThan(full.result.schedules);
    }, 60_000);
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
