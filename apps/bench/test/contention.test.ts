import { createRandom } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { binomialInterval, binomialPmf } from '../src/contention/binomial.ts';
import { DEFAULT_LAYOUT, rangeFraction } from '../src/contention/contention-layout.ts';
import { runContention } from '../src/contention/contention-run.ts';
import { PoissonArrivals } from '../src/contention/poisson-arrivals.ts';
import { probeReadWindow } from '../src/contention/read-window.ts';

describe('binomial interval', () => {
  it('sums to one and brackets the mean', () => {
    let total = 0;
    for (let k = 0; k <= 50; k++) total += binomialPmf(50, k, 0.3);
    expect(total).toBeCloseTo(1, 12);
    const { lo, hi } = binomialInterval(1000, 0.5);
    expect(lo).toBeGreaterThanOrEqual(468);
    expect(lo).toBeLessThanOrEqual(470);
    expect(hi).toBeGreaterThanOrEqual(530);
    expect(hi).toBeLessThanOrEqual(532);
    expect(binomialInterval(100, 0)).toEqual({ lo: 0, hi: 0 });
  });
});

describe('contention model', () => {
  it('probes the read section: four steps for shim and interval, none that retry for legacy (R1)', async () => {
    const l = DEFAULT_LAYOUT;
    const interval = await probeReadWindow('interval', l);
    const shim = await probeReadWindow('shim', l);
    const legacy = await probeReadWindow('legacy', l);
    expect(interval.wNs).toBe(4000);
    expect(shim.wNs).toBe(4000);
    expect(legacy.retrySteps).toEqual([]);
    expect(legacy.staleSteps.length).toBeGreaterThan(0);
    for (const w of [interval, shim, legacy]) expect(w.nonOverlapRetrySteps).toEqual([]);
    expect(interval.staleSteps).toEqual([]);
    expect(shim.staleSteps).toEqual([]);
  });

  it('is a deterministic function of the seed', async () => {
    const l = DEFAULT_LAYOUT;
    const rate = 0.5 / (rangeFraction(l) * 4000);
    const once = async () => {
      const random = createRandom(99);
      return runContention('interval', l, new PoissonArrivals(random, rate), random, 200);
    };
    const a = await once();
    const b = await once();
    expect(a).toEqual(b);
    expect(a.invalidations).toBeGreaterThan(0);
    expect(a.staleMappings).toBe(0);
    expect(a.unexplainedRetries).toBe(0);
  });
});
