/**
 * What a driver author reads in a trace: the sequence numbers a check used and what it answered,
 * hmm_range_fault's result with the sequence it ran with, the PTE zap, and cells never cut.
 */
import { explore, formatTraceTable, replaySchedule } from '@hmmsim/explorer';
import { HMM_RANGE_DEFAULT_TIMEOUT as fromRange } from '@hmmsim/hmm-range';
import { describe, expect, it } from 'vitest';
import { HMM_RANGE_DEFAULT_TIMEOUT, raceScenario } from '../src/index.ts';

describe('trace diagnostics', () => {
  it('the interval driver trace shows check_retry / read_retry with the sequence, the result line and the zap', async () => {
    const sc = raceScenario('munmap', 'interval');
    const o = await replaySchedule(sc, '2x5.1', { trace: true });
    const labels = (o.trace?.events ?? []).map((e) => `${e.kind} ${e.label}`);
    expect(
      labels.some((l) => /^mmu_interval\.check_retry seq=\d+ \(now \d+\) -> (true|false)$/.test(l)),
    ).toBe(true);
    expect(
      labels.some((l) => /^mmu_interval\.read_retry seq=\d+ \(now \d+\) -> (true|false)$/.test(l)),
    ).toBe(true);
    expect(
      labels.some((l) =>
        /^hmm\.range_fault v5\.5 \[0x10000000, 0x10002000\) seq=\d+ \(now \d+\) -> (2|-16)$/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(labels).toContain('mm.zap zap PTEs [0x10001000, 0x10002000)');
  });

  it('the legacy race trace keeps the whole invalidation range visible (nothing cut at 44 characters)', async () => {
    const r = await explore(raceScenario('munmap', 'legacy'), { bound: 2 });
    const table = formatTraceTable(r.trace!);
    expect(table).toContain('UNMAP');
    expect(table).toMatch(/0x10001000-0x10002000/);
    expect(table).not.toContain('…');
  });

  it('HMM_RANGE_DEFAULT_TIMEOUT is exported by hmm-range (v5.5 drivers use it) and re-exported here', () => {
    expect(fromRange).toBe(1000);
    expect(HMM_RANGE_DEFAULT_TIMEOUT).toBe(fromRange);
  });
});
