/**
 * The acceptance targets, evaluated on a run's measurements: each gives the target, what
 * was measured, pass/fail (null when the run did not measure it, e.g. under --filter) and a note
 * that says, for a miss, by how much and why.
 */
import { IMPLS } from '../drivers/impl.ts';
import { sizeLabel } from '../run/plan.ts';
import { indexMeasurements, type MeasurementIndex, ratioOf } from './lookup.ts';
import type { Acceptance, Measurement, Prediction } from './schema.ts';

/** The four λ·f·W targets the acceptance names. */
export const ACCEPTANCE_X = [0.01, 0.1, 0.5, 1] as const;

const r2 = (v: number) => v.toPrecision(3);

/** A target that was not measured. */
function unmeasured(id: string, target: string): Acceptance {
  return { id, target, measured: 'not measured', pass: null, note: 'not in this run (--filter)' };
}

/** ids of the invalidation-ranges figures of `impl`, smallest and largest n measured. */
function rangeEnds(
  ix: MeasurementIndex,
  impl: string,
): { first: Measurement | undefined; last: Measurement | undefined } {
  const ms = [...ix.values()]
    .filter((m) => m.scenario === 'invalidation-ranges' && m.implementation === impl)
    .sort((a, b) => Number(a.parameters['n']) - Number(b.parameters['n']));
  return { first: ms[0], last: ms[ms.length - 1] };
}

/** a + b·n from the smallest and largest n: fixed cost a and per-range cost b, in ns. */
function linearFit(first: Measurement, last: Measurement): { a: number; b: number } {
  const n1 = Number(first.parameters['n']);
  const n2 = Number(last.parameters['n']);
  const b = (last.median - first.median) / (n2 - n1);
  return { a: first.median - b * n1, b };
}

/** Interval notifiers (native) and the shim: cost at the largest n <= 25x n = 1. */
function logScaling(ix: MeasurementIndex, impl: 'native' | 'shim'): Acceptance {
  const id = `invalidation-${impl}-log-n`;
  const target = `${impl}: invalidation cost at n = 10,000 <= 25x its cost at n = 1`;
  const { first, last } = rangeEnds(ix, impl);
  const r = first && last ? ratioOf(ix, last.id, first.id) : undefined;
  if (first === undefined || last === undefined || r === undefined) return unmeasured(id, target);
  return {
    id,
    target,
    measured: `${r2(r.median)}x at n = ${last.parameters['n']} (runs ${r2(r.min)}–${r2(r.max)}x)`,
    pass: r.median <= 25,
    note: `${Math.round(first.median)} ns at n = 1, ${Math.round(last.median)} ns at n = ${last.parameters['n']}`,
  };
}

/** Legacy: cost at the largest n >= 1,000x n = 1 (linear growth). */
function legacyLinear(ix: MeasurementIndex): Acceptance {
  const id = 'invalidation-legacy-linear';
  const target = 'legacy: invalidation cost at n = 10,000 >= 1,000x its cost at n = 1 (linear)';
  const { first, last } = rangeEnds(ix, 'legacy');
  const r = first && last ? ratioOf(ix, last.id, first.id) : undefined;
  if (first === undefined || last === undefined || r === undefined) return unmeasured(id, target);
  const { a, b } = linearFit(first, last);
  const pass = r.median >= 1000;
  const why = pass
    ? ''
    : ` — missed by ${r2(1000 / r.median)}x: cost(n) ≈ a + b·n with a fixed cost a ≈ ${Math.round(a)} ns ` +
      `per invalidation (notifier dispatch, scheduling points, locks, the driver's sync) and ` +
      `b ≈ ${b.toPrecision(2)} ns per registered range (the overlap test of a JS array walk, twice); ` +
      `the growth is linear in n, but a ratio of 1,000x at n = 10,000 needs a/b <= ~10 ranges and ` +
      `the model has a/b ≈ ${Math.round(a / b)}`;
  return {
    id,
    target,
    measured: `${r2(r.median)}x at n = ${last.parameters['n']} (runs ${r2(r.min)}–${r2(r.max)}x)`,
    pass,
    note: `${Math.round(first.median)} ns at n = 1, ${Math.round(last.median)} ns at n = ${last.parameters['n']}${why}`,
  };
}

/** Shim within 1.5x of native at every n. */
function shimNearNative(ix: MeasurementIndex): Acceptance {
  const id = 'invalidation-shim-vs-native';
  const target = 'shim within 1.5x of native at every n';
  const rs = [...ix.values()]
    .filter((m) => m.scenario === 'invalidation-ranges' && m.implementation === 'shim')
    .map((m) => ({
      n: m.parameters['n'],
      r: ratioOf(ix, m.id, `invalidation-ranges/native/n=${m.parameters['n']}`),
    }))
    .filter((x) => x.r !== undefined);
  if (rs.length === 0) return unmeasured(id, target);
  const worst = rs.reduce((a, b) => (b.r!.median > a.r!.median ? b : a));
  return {
    id,
    target,
    measured: rs.map((x) => `n=${x.n}: ${r2(x.r!.median)}x`).join(', '),
    pass: worst.r!.median <= 1.5,
    note:
      worst.r!.median <= 1.5
        ? 'the shim adds the hlist side (struct hmm, mirrors_sem, the mirror sync) to the interval tree'
        : `missed by ${r2(worst.r!.median / 1.5)}x at n = ${worst.n}`,
  };
}

/** Native >= 50x faster than legacy at the largest n. */
function nativeVsLegacy(ix: MeasurementIndex): Acceptance {
  const id = 'invalidation-native-vs-legacy';
  const target = 'native >= 50x faster than legacy at n = 10,000';
  const { first, last } = rangeEnds(ix, 'legacy');
  const n = last?.parameters['n'];
  const r = last ? ratioOf(ix, last.id, `invalidation-ranges/native/n=${n}`) : undefined;
  if (first === undefined || last === undefined || r === undefined) return unmeasured(id, target);
  const native = ix.get(`invalidation-ranges/native/n=${n}`)!;
  const pass = r.median >= 50;
  return {
    id,
    target,
    measured: `${r2(r.median)}x at n = ${n} (runs ${r2(r.min)}–${r2(r.max)}x)`,
    pass,
    note: pass
      ? ''
      : `missed by ${r2(50 / r.median)}x: native costs ${Math.round(native.median)} ns, of which nearly all is ` +
        `the same fixed per-invalidation cost legacy pays (${Math.round(first.median)} ns at n = 1); legacy's ` +
        `extra ${Math.round(last.median - first.median)} ns for ${n} ranges is what separates them`,
  };
}

/** The snapshot figures of the largest range measured, per page kind. */
function largestSnapshots(ms: readonly Measurement[]): Measurement[] {
  const snaps = ms.filter(
    (m) => m.scenario === 'fault-throughput' && m.parameters['mode'] === 'snapshot',
  );
  return ['4k', 'thp'].flatMap((kind) => {
    const ofKind = snaps.filter((m) => m.parameters['pages'] === kind);
    const top = Math.max(...ofKind.map((m) => Number(m.parameters['rangeBytes'])));
    return ofKind.filter((m) => Number(m.parameters['rangeBytes']) === top);
  });
}

/** Median ratio of a throughput figure to the raw fill of its run. */
function toRaw(m: Measurement): number {
  return m.ratios.find((r) => r.to.endsWith('/raw-fill'))?.median ?? Number.NaN;
}

/** '1GiB 4k' for a throughput figure. */
function where(m: Measurement): string {
  return `${sizeLabel(Number(m.parameters['rangeBytes']))} ${m.parameters['pages']}`;
}

/** Snapshot throughput through each driver >= 0.25x the raw fill, at the largest range. */
function snapshotVsRaw(ms: readonly Measurement[]): Acceptance {
  const id = 'snapshot-vs-raw-fill';
  const target = 'snapshot throughput >= 0.25x the raw typed-array fill';
  const group = largestSnapshots(ms);
  const drivers = group.filter((m) => (IMPLS as readonly string[]).includes(m.implementation));
  if (drivers.length === 0) return unmeasured(id, target);
  const worst = Math.min(...drivers.map(toRaw));
  const bare = group
    .filter((m) => m.implementation === 'bare-walk')
    .map((m) => `${r2(toRaw(m))}x (${where(m)})`);
  return {
    id,
    target,
    measured: drivers.map((m) => `${m.implementation} ${where(m)}: ${r2(toRaw(m))}x`).join(', '),
    pass: worst >= 0.25,
    note:
      (worst >= 0.25
        ? ''
        : `missed by ${r2(0.25 / worst)}x through the drivers: the walk itself is fast, but each ` +
          'driver loop then decodes every result entry and programs its device page table ' +
          '(programDevice in @hmmsim/hmm-mirror, ~14 ns per page), and pays its fixed cost per ' +
          'call (range registration or read_begin, mmap_sem, the driver lock, the collision check). ') +
      (bare.length === 0
        ? ''
        : `hmm_range_fault alone (the bare walk): ${bare.join(', ')} of the raw fill.`),
  };
}

/** (observed − expected) / standard deviation of a pooled binomial count. */
function zScore(p: Prediction): number {
  return (p.observed - p.trials * p.value) / Math.sqrt(p.trials * p.value * (1 - p.value));
}

/** 'observed 894 of 10,000: 1 trial below the interval' for a prediction that missed. */
function howFarOutside(p: Prediction): string {
  const lo = Math.ceil(p.low * p.trials - 1e-9);
  const hi = Math.floor(p.high * p.trials + 1e-9);
  const by = p.observed < lo ? `${lo - p.observed} below` : `${p.observed - hi} above`;
  return `${p.observed} of ${p.trials} trials, ${by} the interval`;
}

/** Measured retry probabilities within the prediction's 95% interval (shim and native). */
function retryProbability(ix: MeasurementIndex): Acceptance {
  const id = 'retry-probability';
  const target =
    'retry probability within the 95% interval of 1 − exp(−λ·f·W) at λ·f·W = 0.01, 0.1, 0.5, 1';
  const parts: string[] = [];
  let pass: boolean | null = null;
  for (const impl of ['shim', 'native'] as const) {
    for (const x of ACCEPTANCE_X) {
      const p = ix.get(`contention/${impl}/x=${x}/retry-probability`)?.prediction;
      if (p === undefined) continue;
      parts.push(
        `${impl} x=${x}: ${r2(p.observed / p.trials)} ${p.within ? 'in' : 'OUTSIDE'} ` +
          `[${r2(p.low)}, ${r2(p.high)}] (z = ${zScore(p).toFixed(2)})`,
      );
      pass = (pass ?? true) && p.within;
    }
  }
  if (pass === null) return unmeasured(id, target);
  const outside = (['shim', 'native'] as const).flatMap((impl) =>
    ACCEPTANCE_X.map((x) => ({
      impl,
      x,
      p: ix.get(`contention/${impl}/x=${x}/retry-probability`)?.prediction,
    }))
      .filter((o) => o.p !== undefined && !o.p.within)
      .map((o) => `${o.impl} at x = ${o.x}: ${howFarOutside(o.p!)}`),
  );
  const legacy = ACCEPTANCE_X.map(
    (x) => ix.get(`contention/legacy/x=${x}/retry-probability`)?.prediction,
  )
    .filter((p) => p !== undefined)
    .map((p) => `${r2(p.observed / p.trials)} vs ${r2(p.value)}`);
  return {
    id,
    target,
    measured: parts.join('; '),
    pass,
    note:
      'shim and native (race-free). ' +
      (outside.length === 0
        ? ''
        : `Missed: ${outside.join('; ')} — each interval holds 95% of the outcomes of an exact model, so ` +
          `with ${parts.length} intervals one or more misses by chance with probability ` +
          `${(1 - 0.95 ** parts.length).toFixed(2)} (the shim and native runs share their random numbers, so ` +
          'their misses come together). ') +
      (legacy.length === 0
        ? ''
        : `Legacy retries far less than predicted (${legacy.join(', ')}): an invalidation that starts ` +
          'and ends inside its read section sets `valid` back to true (R1), so it never retries; ' +
          'the ones that land between its walk and its check become stale mappings instead.'),
  };
}

/** Total of a per-run count over every run and every rate of `impl`. */
function totalCount(ms: readonly Measurement[], impl: string, metric: string): number | undefined {
  const own = ms.filter(
    (m) => m.scenario === 'contention' && m.implementation === impl && m.id.endsWith(`/${metric}`),
  );
  return own.length === 0
    ? undefined
    : own.reduce((a, m) => a + m.samples.reduce((s, v) => s + v, 0), 0);
}

/** Zero stale mappings (or zero non-overlapping retries) for shim and native; legacy shown. */
function zeroFor(
  ms: readonly Measurement[],
  metric: string,
  id: string,
  target: string,
): Acceptance {
  const counts = IMPLS.map((impl) => ({ impl, n: totalCount(ms, impl, metric) }));
  const judged = counts.filter((c) => c.impl !== 'legacy' && c.n !== undefined);
  if (judged.length === 0) return unmeasured(id, target);
  return {
    id,
    target,
    measured: counts
      .filter((c) => c.n !== undefined)
      .map((c) => `${c.impl} ${c.n}`)
      .join(', '),
    pass: judged.every((c) => c.n === 0),
    note: 'totals over every run and every rate',
  };
}

/** Every acceptance target of the issue, evaluated on `ms`. */
export function evaluateAcceptance(ms: readonly Measurement[]): Acceptance[] {
  const ix = indexMeasurements(ms);
  return [
    logScaling(ix, 'native'),
    logScaling(ix, 'shim'),
    legacyLinear(ix),
    shimNearNative(ix),
    nativeVsLegacy(ix),
    snapshotVsRaw(ms),
    retryProbability(ix),
    zeroFor(
      ms,
      'stale-mappings',
      'stale-mappings',
      'zero stale device mappings for shim and native (legacy may show them)',
    ),
    zeroFor(
      ms,
      'non-overlap-retries',
      'non-overlap-retries',
      'zero retries caused by non-overlapping invalidations for shim and native',
    ),
  ];
}
