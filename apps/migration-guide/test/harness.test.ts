/**
 * The harness itself, on the drivers @hmmsim/hmm-mirror already ships: the v5.4 driver on the
 * legacy API breaks under munmap, the native v5.5 driver is clean under every invalidation.
 */
import { IntervalDriver, LegacyDriver, legacyHmmMirrorApi } from '@hmmsim/hmm-mirror';
import { describe, expect, it } from 'vitest';
import {
  exploreBounded,
  GUIDE_BASE,
  GUIDE_NPAGES,
  guideScenario,
  INVALIDATIONS,
  minimalViolation,
} from '../src/index.ts';

describe('guide harness', () => {
  it('finds the v5.4 race with the legacy driver (munmap)', async () => {
    const s = guideScenario({
      name: 'harness-legacy-munmap',
      driverText: 'the hmm-mirror legacy driver',
      expect: 'violation',
      driver: (w) => new LegacyDriver(legacyHmmMirrorApi, w.mm, GUIDE_BASE, GUIDE_NPAGES),
      op: 'munmap',
    });
    const r = await exploreBounded(s);
    expect(minimalViolation(r).message).toMatch(
      /stale device mapping.*now belongs to mm\d+ \(another process\)/s,
    );
  });

  for (const op of INVALIDATIONS) {
    it(`the native v5.5 driver is clean under ${op} (bound 2, exhausted)`, async () => {
      const s = guideScenario({
        name: `harness-interval-${op}`,
        driverText: 'the hmm-mirror interval driver',
        expect: 'pass',
        driver: (w) => new IntervalDriver(w.mm, GUIDE_BASE, GUIDE_NPAGES),
        op,
      });
      const r = await exploreBounded(s);
      expect(r.violation?.message).toBeUndefined();
      expect(r.exhausted).toBe(true);
      console.log(`interval ${op}: ${r.schedules} schedules`);
    });
  }
});
