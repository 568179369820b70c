// `hmmsim explore --workers N`: the units of a split search searched on worker threads give the
// same verdict, counts and minimal schedule as searching them one after the other.
import { exploreSplit, type Scenario, sequentialUnits } from '@hmmsim/explorer';
import { raceScenario } from '@hmmsim/hmm-mirror';
import { describe, expect, it } from 'vitest';
import { workerUnits } from '../src/parallel-units.ts';

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

describe('worker threads', () => {
  it('give the same result as one thread, clean and violating', async () => {
    const cases: [Scenario, string, number][] = [
      [raceScenario('munmap', 'legacy') as Scenario, 'hmm-race-munmap-legacy', 2],
      [raceScenario('munmap', 'shim') as Scenario, 'hmm-race-munmap-shim', 1],
    ];
    for (const [scenario, name, bound] of cases) {
      const one = await exploreSplit(scenario, { bound }, sequentialUnits);
      const two = await exploreSplit(
        scenario,
        { bound },
        workerUnits(2, { kind: 'registered', name }),
      );
      expect(summary(two), name).toEqual(summary(one));
    }
  }, 120_000);
});
