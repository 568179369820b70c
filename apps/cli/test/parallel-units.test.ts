// `hmmsim explore --workers N`: units searched on worker threads give the same verdict, counts and
// minimal schedule as one search in one thread — explore() itself for a reduced search.
import { performance } from 'node:perf_hooks';
import { explore, exploreSplit, type Scenario } from '@hmmsim/explorer';
import { raceScenario } from '@hmmsim/hmm-mirror';
import { describe, expect, it } from 'vitest';
import { AdaptiveDporUnits, WorkerPool, workerUnits } from '../src/parallel-units.ts';

/** The parts of a result that must not depend on where units were searched. */
function summary(r: Awaited<ReturnType<typeof exploreSplit>>) {
  return {
    schedules: r.schedules,
    steps: r.steps,
    exhausted: r.exhausted,
    violation: r.violation?.schedule,
    run: r.violation?.run,
    minimal: r.minimal?.schedule,
    reduction: r.reduction,
  };
}

const CASES: [Scenario, string][] = [
  [raceScenario('munmap', 'legacy') as Scenario, 'hmm-race-munmap-legacy'],
  [raceScenario('munmap', 'shim') as Scenario, 'hmm-race-munmap-shim'],
];

describe('worker threads', () => {
  it('split a DFS without reduction with the result of one thread, clean and violating', async () => {
    for (const [scenario, name] of CASES) {
      const bound = name.endsWith('legacy') ? 2 : 1;
      const one = await exploreSplit(scenario, { bound });
      const pool = new WorkerPool(2, { kind: 'registered', name });
      try {
        const two = await exploreSplit(scenario, { bound }, { units: workerUnits(pool) });
        expect(summary(two), name).toEqual(summary(one));
      } finally {
        await pool.close();
      }
    }
  }, 120_000);

  it('divide a reduced search with exactly explore()`s result, clean and violating', async () => {
    for (const [scenario, name] of CASES) {
      const opts = { bound: Number.POSITIVE_INFINITY };
      const one = await explore(scenario, opts);
      const pool = new WorkerPool(2, { kind: 'registered', name });
      try {
        await pool.whenReady();
        const runner = new AdaptiveDporUnits(
          2,
          { kind: 'registered', name },
          () => performance.now(),
          pool,
        );
        expect(runner.parallel).toBe(2);
        const two = await exploreSplit(scenario, opts, { dporUnits: runner });
        expect(summary(two), name).toEqual(summary(one));
        expect(two.exhausted || two.violation !== undefined).toBe(true);
      } finally {
        await pool.close();
      }
    }
  }, 120_000);
});
