/**
 * Under contention, per implementation: a driver faults a 16-page range on CPU1 while CPU0 moves
 * uniformly drawn pages of a 64-page address space (f = 1/4) as a Poisson process of rate λ in
 * CPU1's scheduler time, for several targets of λ·f·W (W: the read section's length, probed).
 * Per target and run (seeded from --seed): throughput, retries per fault, the probability that a
 * fault's first attempt retries against 1 − exp(−λ·f·W) with its 95% binomial interval (pooled
 * over the runs), retries not explained by an overlapping invalidation, and stale device
 * mappings found by the oracle after each fault.
 */
import { createRandom } from '@hmmsim/kernel';
import type { Impl } from '../drivers/impl.ts';
import type { Measurement, Prediction } from '../results/schema.ts';
import type { BenchCase, CaseContext } from '../run/bench-case.ts';
import { measurement, runRatio } from '../run/measurement.ts';
import { binomialInterval } from './binomial.ts';
import { type ContentionLayout, rangeFraction } from './contention-layout.ts';
import { type ContentionRunResult, runContention } from './contention-run.ts';
import { PoissonArrivals } from './poisson-arrivals.ts';
import { probeReadWindow, type ReadWindow } from './read-window.ts';

/** Parameters every measurement of one (implementation, target) shares. */
type Params = Readonly<Record<string, string | number | boolean>>;

/** The read section of `impl`: its own probe; legacy runs the shim's driver code, so W_shim. */
async function readWindows(impl: Impl, l: ContentionLayout) {
  const own = await probeReadWindow(impl, l);
  const w = impl === 'legacy' ? await probeReadWindow('shim', l) : own;
  if (w.wNs === 0) throw new Error(`contention: the probe found no read section for ${impl}`);
  return { own, wNs: w.wNs };
}

/** The seed of run `r` (the same for every implementation: common random numbers). */
function runSeed(seed: number, r: number, x: number): number {
  return seed * 1_000_003 + r * 1009 + Math.round(x * 1000);
}

/** Runs of one target λ·f·W = x. */
async function runTarget(
  impl: Impl,
  l: ContentionLayout,
  x: number,
  wNs: number,
  ctx: CaseContext,
  r: number,
): Promise<ContentionRunResult> {
  const ratePerNs = x / (rangeFraction(l) * wNs);
  const random = createRandom(runSeed(ctx.seed, r, x));
  const arrivals = new PoissonArrivals(random, ratePerNs);
  return runContention(impl, l, arrivals, random, ctx.plan.contention.faultsPerRun);
}

/** The pooled first-attempt retry count against the prediction's 95% interval. */
function predictionOf(x: number, runs: readonly ContentionRunResult[]): Prediction {
  const trials = runs.reduce((a, s) => a + s.calls, 0);
  const observed = runs.reduce((a, s) => a + s.firstAttemptRetries, 0);
  const value = 1 - Math.exp(-x);
  const { lo, hi } = binomialInterval(trials, value);
  return {
    value,
    low: lo / trials,
    high: hi / trials,
    confidence: 0.95,
    trials,
    observed,
    within: observed >= lo && observed <= hi,
  };
}

/** Pages per second of the faulting CPU's scheduler time. */
function throughput(s: ContentionRunResult, l: ContentionLayout): number {
  return (s.calls * l.rangePages) / (s.faultingNs / 1e9);
}

/** The measurements of one target from its runs (baseline: the same runs at x = 0). */
function targetMeasurements(
  impl: Impl,
  x: number,
  runs: readonly ContentionRunResult[],
  idle: readonly ContentionRunResult[],
  l: ContentionLayout,
  params: Params,
): Measurement[] {
  const id = (metric: string) => `contention/${impl}/x=${x}/${metric}`;
  const base = { scenario: 'contention', implementation: impl, parameters: params } as const;
  const per = (f: (s: ContentionRunResult) => number) => runs.map(f);
  const tput = per((s) => throughput(s, l));
  const out = [
    measurement({
      ...base,
      id: id('retry-probability'),
      unit: 'probability',
      samples: per((s) => s.firstAttemptRetries / s.calls),
      prediction: predictionOf(x, runs),
    }),
    measurement({
      ...base,
      id: id('retries-per-fault'),
      unit: 'retries/fault',
      samples: per((s) => s.retries / s.calls),
    }),
    measurement({
      ...base,
      id: id('throughput'),
      unit: 'pages/s',
      samples: tput,
      ratios:
        x === 0
          ? []
          : [
              runRatio(
                `contention/${impl}/x=0/throughput`,
                tput,
                idle.map((s) => throughput(s, l)),
              ),
            ],
    }),
    measurement({
      ...base,
      id: id('invalidations'),
      unit: 'count',
      samples: per((s) => s.invalidations),
    }),
    measurement({
      ...base,
      id: id('non-overlap-retries'),
      unit: 'count',
      samples: per((s) => s.unexplainedRetries),
    }),
    measurement({
      ...base,
      id: id('stale-mappings'),
      unit: 'count',
      samples: per((s) => s.staleMappings),
    }),
  ];
  return x === 0 ? out.filter((m) => m.id.endsWith('/throughput')) : out;
}

/** Parameters of one target. */
function paramsOf(
  x: number,
  wNs: number,
  w: ReadWindow,
  l: ContentionLayout,
  faults: number,
): Params {
  const f = rangeFraction(l);
  return {
    x,
    lambdaPerSecond: x === 0 ? 0 : (x / (f * wNs)) * 1e9,
    f,
    wNs,
    rangePages: l.rangePages,
    spacePages: l.spacePages,
    faultsPerRun: faults,
    probedRetrySteps: w.retrySteps.length,
    probedStaleSteps: w.staleSteps.length,
    probedNonOverlapRetrySteps: w.nonOverlapRetrySteps.length,
  };
}

/** The contention case of one implementation. */
export function contentionCase(impl: Impl, repetitions: number): BenchCase {
  return {
    id: `contention/${impl}`,
    units: repetitions,
    async run(ctx) {
      const { layout: l, x: targets, faultsPerRun } = ctx.plan.contention;
      const { own, wNs } = await readWindows(impl, l);
      const all = [0, ...targets];
      const runs = new Map<number, ContentionRunResult[]>(all.map((x) => [x, []]));
      for (let r = 0; r < repetitions; r++) {
        for (const x of all) runs.get(x)!.push(await runTarget(impl, l, x, wNs, ctx, r));
        ctx.tick(`contention/${impl} run ${r + 1}`);
      }
      return all.flatMap((x) =>
        targetMeasurements(
          impl,
          x,
          runs.get(x)!,
          runs.get(0)!,
          l,
          paramsOf(x, wNs, own, l, faultsPerRun),
        ),
      );
    },
  };
}
