// `hmmsim explore --workers N`: units searched on worker threads give the same verdict, counts and
// minimal schedule as one search in one thread — explore() itself for a reduced search.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { explore, exploreSplit, type Scenario } from '@hmmsim/explorer';
import { raceScenario } from '@hmmsim/hmm-mirror';
import { describe, expect, it } from 'vitest';
import {
  AdaptiveDporUnits,
  adaptiveUnits,
  type InThreadSearch,
  searchRequest,
  WorkerPool,
  workerUnits,
} from '../src/parallel-units.ts';

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

/** An in-thread lane for a pool that counts the units it searched. */
function countingHere(scenario: Scenario): { search: InThreadSearch; count: () => number } {
  let n = 0;
  return {
    search: (req, onProgress) => {
      n++;
      return searchRequest(scenario, req, onProgress);
    },
    count: () => n,
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
      // `--workers 2`: one worker thread and this thread.
      const here = countingHere(scenario);
      const pool = new WorkerPool(1, { kind: 'registered', name }, { inThread: here.search });
      try {
        expect(pool.size).toBe(2);
        const two = await exploreSplit(scenario, { bound }, { units: workerUnits(pool) });
        expect(summary(two), name).toEqual(summary(one));
        // A clean search has many units: this thread searched some of them.
        if (name.endsWith('shim')) expect(here.count(), name).toBeGreaterThan(0);
      } finally {
        await pool.close();
      }
    }
  }, 120_000);

  it('hand every unit to the workers once one is ready, with the result of one thread', async () => {
    for (const [scenario, name] of CASES) {
      const bound = name.endsWith('legacy') ? 2 : 1;
      const one = await exploreSplit(scenario, { bound });
      // `hmmsim explore --workers 2` without reduction, as the command builds it.
      const viaCli = await exploreSplit(
        scenario,
        { bound },
        { units: adaptiveUnits(2, { kind: 'registered', name }) },
      );
      expect(summary(viaCli), name).toEqual(summary(one));
      const here = countingHere(scenario);
      const ref = { kind: 'registered', name } as const;
      const pool = new WorkerPool(1, ref, { inThread: here.search, inThreadUntilReady: true });
      try {
        await pool.whenReady();
        expect([pool.size, pool.ready, pool.capacity]).toEqual([2, 1, 2]);
        const two = await exploreSplit(scenario, { bound }, { units: workerUnits(pool) });
        expect(summary(two), name).toEqual(summary(one));
        expect(here.count(), `${name}: units searched here after a worker was ready`).toBe(0);
      } finally {
        await pool.close();
      }
    }
  }, 120_000);

  it('take back the units a worker has not started: a worker that never loads holds up nothing', async () => {
    // The worker's scenario file never finishes loading, so it never says it is ready and never
    // starts a unit; the units sent to it ahead wait in its port until this thread takes them.
    const dir = mkdtempSync(join(tmpdir(), 'hmmsim-never-ready-'));
    const path = join(dir, 'never.mjs');
    writeFileSync(path, 'await new Promise(() => {});\nexport default undefined;\n');
    const ref = { kind: 'file', path, exportName: undefined, dir } as const;
    for (const [scenario, name] of CASES) {
      const bound = name.endsWith('legacy') ? 2 : 1;
      const one = await exploreSplit(scenario, { bound });
      const here = countingHere(scenario);
      const pool = new WorkerPool(1, ref, { inThread: here.search, inThreadUntilReady: true });
      try {
        const two = await exploreSplit(scenario, { bound }, { units: workerUnits(pool) });
        expect(summary(two), name).toEqual(summary(one));
        expect(pool.ready, `${name}: the lanes ready are this thread alone`).toBe(1);
        expect(here.count(), `${name}: every unit searched here`).toBeGreaterThan(1);
      } finally {
        await pool.close();
      }
    }
  }, 120_000);

  it('divide a reduced search with exactly explore()`s result, clean and violating', async () => {
    for (const [scenario, name] of CASES) {
      const opts = { bound: Number.POSITIVE_INFINITY };
      const one = await explore(scenario, opts);
      const here = countingHere(scenario);
      const pool = new WorkerPool(1, { kind: 'registered', name }, { inThread: here.search });
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
        // A clean search has many units: this thread searched some of them.
        if (name.endsWith('shim')) expect(here.count(), name).toBeGreaterThan(0);
      } finally {
        await pool.close();
      }
    }
  }, 120_000);
});
