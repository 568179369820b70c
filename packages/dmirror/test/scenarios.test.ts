import { explore, replaySchedule } from '@hmmsim/explorer';
import { describe, expect, it } from 'vitest';
import { scenarios, teardownRaceScenario } from '../src/index.ts';

describe('explorer scenarios: the teardown race in miniature', () => {
  it('ships one scenario per implementation, legacy expected to violate', () => {
    expect(scenarios.map((s) => [s.name, s.expect])).toEqual([
      ['dmirror-teardown-interval', 'pass'],
      ['dmirror-teardown-legacy', 'violation'],
      ['dmirror-teardown-shim', 'pass'],
    ]);
  });

  it('legacy: one preemption commits a freed page (R1), and the schedule replays', async () => {
    const s = teardownRaceScenario('legacy');
    const r = await explore(s, { bound: 2 });
    expect(r.minimal?.preemptions).toBe(1);
    expect(r.minimal?.message).toMatch(
      /stale device entry \(legacy\): 0x[\da-f]+: page \d+ was freed/,
    );
    const again = await replaySchedule(s, r.minimal!.schedule);
    expect(again.failure?.kind).toBe('invariant');
  });

  for (const impl of ['interval', 'shim'] as const) {
    it(`${impl}: every schedule with at most 2 preemptions is clean`, async () => {
      const r = await explore(teardownRaceScenario(impl), { bound: 2 });
      expect(r.violation).toBeUndefined();
      expect(r.exhausted).toBe(true);
      expect(r.schedules).toBeGreaterThan(10);
    });
  }
});
