import { describe, expect, it } from 'vitest';
import { fittedLogScale, logTicks } from '../src/report/charts.ts';
import { reportMarkdown } from '../src/report/report-md.ts';
import { summaryLines } from '../src/report/summary.ts';
import { buildResults } from '../src/results/build-results.ts';
import type { Measurement } from '../src/results/schema.ts';
import { measurement, runRatio } from '../src/run/measurement.ts';
import { TEST_ENVIRONMENT } from './helpers.ts';

/** Snapshot throughput of the raw fill and one driver at `ratio` of it, at 1 GiB 4k. */
function snapshot(impl: 'legacy' | 'shim' | 'interval', ratio: number): Measurement[] {
  const params = { mode: 'snapshot', pages: '4k', rangeBytes: 2 ** 30, rangePages: 2 ** 18 };
  const raw = measurement({
    id: 'fault-throughput/snapshot/4k/1GiB/raw-fill',
    scenario: 'fault-throughput',
    implementation: 'raw-fill',
    parameters: params,
    unit: 'pages/s',
    samples: [1000, 1000],
  });
  const samples = [1000 * ratio, 1000 * ratio];
  const driver = measurement({
    id: `fault-throughput/snapshot/4k/1GiB/${impl}`,
    scenario: 'fault-throughput',
    implementation: impl,
    parameters: params,
    unit: 'pages/s',
    samples,
    ratios: [runRatio(raw.id, samples, [1000, 1000])],
  });
  return [raw, driver];
}

/** A document with those measurements. */
function doc(ms: Measurement[]) {
  return buildResults({
    command: 'hmmsim bench',
    startedAt: new Date('2026-01-02T03:04:05.000Z'),
    durationMs: 1000,
    options: { quick: false, seed: 1, filter: null, repetitions: 2 },
    environment: TEST_ENVIRONMENT,
    measurements: ms,
  });
}

describe('the summary on screen', () => {
  it('follows a MISSED target with its one-line reason', () => {
    const r = doc(snapshot('interval', 0.1));
    const lines = summaryLines(r);
    const at = lines.indexOf('  MISSED  snapshot throughput >= 0.25x the raw typed-array fill');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toBe('          interval 1GiB 4k: 0.100x');
    expect(lines[at + 2]).toBe(
      '          why: missed by 2.50x through the drivers: each driver loop decodes every entry ' +
        'and programs its device page table after the walk',
    );
    // Targets not measured are n/a, with no reason.
    expect(lines).toContain(
      '  n/a     legacy: invalidation cost at n = 10,000 >= 1,000x its cost at n = 1 (linear)',
    );
    expect(lines.filter((l) => l.includes('why:'))).toHaveLength(1);
  });

  it('has no reason line for a target that was met', () => {
    const r = doc(snapshot('shim', 0.5));
    const lines = summaryLines(r);
    const at = lines.indexOf('  met     snapshot throughput >= 0.25x the raw typed-array fill');
    expect(at).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes('why:'))).toEqual([]);
    expect(r.acceptance.every((a) => a.reason === null)).toBe(true);
  });

  it('puts the reason first in the report note', () => {
    const md = reportMarkdown(doc(snapshot('legacy', 0.05)), []);
    expect(md).toMatch(
      /\| snapshot throughput >= 0\.25x the raw typed-array fill \| MISSED \| legacy 1GiB 4k: 0\.0500x \| \*\*why:\*\* missed by 5\.00x through the drivers: [^|]*\. the walk itself is fast/,
    );
    expect(md).toContain(
      'Implementations: **legacy** — v5.4 hmm_mirror API (nouveau-style driver; `valid` flag); ' +
        '**shim** — the same driver on the compat shim (mmu_interval_notifier + sequence); ' +
        '**interval** — v5.5 driver on mmu_interval_notifier (read_begin / read_retry / set_seq).',
    );
  });
});

describe('chart axes', () => {
  it('a fitted log scale spans the data with a factor of 1.25 of room, not whole decades', () => {
    expect(fittedLogScale([0.01, 0.1, 0.5, 1])).toEqual({
      type: 'log',
      domain: [0.008, 1.25],
      nice: false,
    });
    expect(fittedLogScale([2700, 99_000]).domain).toEqual([2160, 123_750]);
  });

  it('ticks at 1, 2, 5 per decade, or every multiple on a short axis', () => {
    expect(logTicks([0.008, 1.25])).toEqual([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]);
    expect(logTicks([2160, 123_750])).toEqual([5000, 10_000, 20_000, 50_000, 100_000]);
    expect(logTicks([2100, 21_000])).toEqual([
      3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000, 20_000,
    ]);
  });
});
