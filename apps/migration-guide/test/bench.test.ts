/**
 * The guide's benchmark on a tiny budget: the shape of its figures (never its speed), every
 * driver it measures bound, faulted and invalidated for real, its printed tables, its world's
 * set-up and undo steps, and its argument checks.
 */

import { cpuMappingAt } from '@hmmsim/hmm-mirror';
import { InvalidArgumentError, PAGE_SIZE } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { BENCH_DRIVERS, HMM_MIRROR_BENCH_DRIVERS, SVM_BENCH_DRIVERS } from '../bench/drivers.ts';
import {
  BENCH_INVALIDATIONS,
  FAULT_MODES,
  faultModesFor,
  formatGuideBenchFigures,
  type GuideBenchFigures,
  measureGuideDrivers,
} from '../bench/figures.ts';
import {
  BENCH_OUTSIDE,
  BENCH_SCRATCH,
  createBenchWorld,
  destroyBenchWorld,
  INVALIDATE,
  mapOutside,
  remapVictim,
  settle,
  unprotectVictim,
  victimPage,
} from '../bench/world.ts';

const TINY = {
  npages: [64],
  runs: 1,
  timeMs: 0,
  iterations: 2,
  warmupIterations: 0,
  invalidations: 2,
} as const;

/** Every number of a summary is finite and positive, min <= median <= max. */
function expectSpread(s: { median: number; min: number; max: number }): void {
  for (const x of [s.median, s.min, s.max]) {
    expect(Number.isFinite(x)).toBe(true);
    expect(x).toBeGreaterThan(0);
  }
  expect(s.min).toBeLessThanOrEqual(s.median);
  expect(s.median).toBeLessThanOrEqual(s.max);
}

describe('the guide benchmark', () => {
  let figures: GuideBenchFigures;

  it('measures every driver (BENCH_DRIVERS) on a tiny budget: one figure per driver, mode and invalidation', async () => {
    const progress: string[] = [];
    figures = await measureGuideDrivers({ ...TINY, onProgress: (l) => progress.push(l) });
    const ids = BENCH_DRIVERS.map((d) => d.id);
    expect(figures.runs).toBe(1);
    expect(figures.drivers.map((d) => d.id)).toEqual(ids);
    // Each family's baseline is its first driver: a v5.4 driver on the legacy API.
    for (const d of figures.drivers) {
      const first = BENCH_DRIVERS.find((x) => x.family === d.family);
      expect(d.baseline).toBe(first?.id);
      expect(first?.step).toMatch(/^v5\.4 legacy$/);
    }
    expect(faultModesFor(64)).toEqual(['resident', 'fault-in']);
    expect(figures.fault).toHaveLength(ids.length * 2);
    expect(figures.invalidation).toHaveLength(ids.length * BENCH_INVALIDATIONS.length);
    for (const f of figures.fault) {
      expect(f.npages).toBe(64);
      for (const s of [f.usPerFault, f.faultsPerSecond, f.pagesPerSecond, f.vsBaseline]) {
        expectSpread(s);
      }
      expect(f.pagesPerSecond.median).toBeCloseTo(64 * f.faultsPerSecond.median, 6);
      if (f.driver === f.baseline) expect(f.vsBaseline).toEqual({ median: 1, min: 1, max: 1 });
    }
    for (const f of figures.invalidation) {
      expectSpread(f.usPerInvalidation);
      expectSpread(f.vsBaseline);
      if (f.driver === f.baseline) expect(f.vsBaseline).toEqual({ median: 1, min: 1, max: 1 });
    }
    expect(progress).toEqual([
      'device fault, 64 pages, resident: run 1/1',
      'device fault, 64 pages, fault-in: run 1/1',
      'munmap, 64-page range: run 1/1',
      'mprotect, 64-page range: run 1/1',
      'munmap-outside, 64-page range: run 1/1',
    ]);
  });

  it('prints Markdown tables: one per family, size and mode, one per family and invalidation', () => {
    const lines = formatGuideBenchFigures(figures);
    expect(lines[0]).toMatch(/^Every figure: the median \[min–max\] over 1 run of the median/);
    const families = new Set(BENCH_DRIVERS.map((d) => d.family));
    const headers = lines.filter((l) => l.startsWith('| driver |'));
    expect(headers).toHaveLength(families.size * (2 + BENCH_INVALIDATIONS.length));
    expect(lines).toContain(
      'hmm-mirror: device faults over 64 pages (256 KiB), every 4 KiB page faulted in from empty',
    );
    expect(lines).toContain(
      'hmm-mirror: munmap of a page of the same process outside the mirrored range, time per invalidation',
    );
    const row = lines.find((l) => l.startsWith('| hmm-mirror-legacy | v5.4 legacy |'));
    expect(row).toMatch(/\| 1\.00 \[1\.00–1\.00\] \|$/);
    for (const d of BENCH_DRIVERS)
      expect(lines.some((l) => l.startsWith(`| ${d.id} |`))).toBe(true);
  });

  it('ranges of whole 2 MiB pages are also measured resident in transparent huge pages', async () => {
    expect(faultModesFor(512)).toEqual(FAULT_MODES);
    expect(faultModesFor(1000)).toEqual(['resident', 'fault-in']);
    const first = SVM_BENCH_DRIVERS[0];
    const v59 = SVM_BENCH_DRIVERS.find((d) => d.id === 'svm-v5.9');
    if (first === undefined || v59 === undefined) throw new Error('svm drivers missing');
    const progress: string[] = [];
    const f = await measureGuideDrivers({
      ...TINY,
      npages: [512],
      drivers: [first, v59],
      onProgress: (l) => progress.push(l),
    });
    expect(progress.at(-1)).toBe('device fault, 512 pages, resident-thp: run 1/1');
    const thp = f.fault.filter((x) => x.mode === 'resident-thp');
    expect(thp.map((x) => x.driver)).toEqual(['svm-v5.4@legacy', 'svm-v5.9']);
    for (const x of thp) expectSpread(x.vsBaseline);
    expect(formatGuideBenchFigures(f)).toContain(
      'svm: device faults over 512 pages (2048 KiB), resident in 2 MiB transparent huge pages',
    );
  });

  it('the world: each timed invalidation and its undo leave the layout as it was', async () => {
    const w = await createBenchWorld(64);
    const maps = w.mm.mapCount;
    const pfn = () => cpuMappingAt(w.mm, victimPage(w));
    expect(victimPage(w)).toBe(w.start + 63 * PAGE_SIZE);
    for (let i = 0; i < 5; i++) {
      expect(await INVALIDATE.munmap(w)).toBe(0);
      expect(pfn()).toBeNull();
      await remapVictim(w);
      expect(pfn()?.write).toBe(true);
      expect(await INVALIDATE.mprotect(w)).toBe(0);
      expect(pfn()?.write).toBe(false);
      await unprotectVictim(w);
      expect(pfn()?.write).toBe(true);
      expect(await INVALIDATE['munmap-outside'](w)).toBe(0);
      expect(cpuMappingAt(w.mm, BENCH_OUTSIDE)).toBeNull();
      await mapOutside(w);
      await settle(w);
      expect(cpuMappingAt(w.mm, BENCH_SCRATCH)?.write).toBe(true);
    }
    // The VMAs split by munmap and mprotect merge back: the layout does not grow.
    expect(w.mm.mapCount).toBeLessThanOrEqual(maps + 1);
    await destroyBenchWorld(w);
  });

  it('bad options and bad worlds: InvalidArgumentError saying what is expected', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ npages: [] }, /npages is ; expected a non-empty list of page counts/],
      [{ npages: [0] }, /npages is 0; expected an integer in \[1, \d+\]/],
      [{ npages: [64.5] }, /npages is 64\.5; expected an integer/],
      [{ runs: 0 }, /runs is 0; expected an integer in \[1, 1000\]/],
      [{ timeMs: Number.NaN }, /timeMs is NaN; expected an integer/],
      [{ iterations: -1 }, /iterations is -1; expected an integer in \[1, /],
      [{ invalidations: 0.5 }, /invalidations is 0\.5; expected an integer in \[1, /],
      [{ drivers: [] }, /drivers is empty; expected at least one BenchDriver/],
      [
        { drivers: [HMM_MIRROR_BENCH_DRIVERS[0], HMM_MIRROR_BENCH_DRIVERS[0]] },
        /driver id 'hmm-mirror-legacy' appears twice/,
      ],
      [{ drivers: [42] }, /drivers holds 42; expected BenchDriver objects/],
      [{ now: 5 }, /now is 5; expected a clock function/],
    ];
    for (const [opts, message] of bad) {
      const p = measureGuideDrivers(opts as never);
      await expect(p).rejects.toThrow(InvalidArgumentError);
      await expect(p).rejects.toThrow(message);
    }
    await expect(measureGuideDrivers(null as never)).rejects.toThrow(
      /options are null; expected an options object/,
    );
    await expect(createBenchWorld(0)).rejects.toThrow(
      /createBenchWorld: npages is 0; expected an integer in \[1, \d+\]/,
    );
    await expect(createBenchWorld(64, { thp: true })).rejects.toThrow(
      /createBenchWorld: npages is 64 with opts.thp; expected a multiple of 512/,
    );
  });
});
