/**
 * The report's charts as Vega-Lite specs: throughput against range size (one line per
 * implementation and baseline, a panel per CPU page size), invalidation cost against n and m
 * (log–log), and the measured retry probability against λ·f·W with the predicted curve.
 * Vertical bars are each figure's min–max over the runs. Every implementation and baseline has
 * one colour (and in the retry chart one shape) in every chart, and every log axis spans the
 * data it shows, not the enclosing powers of ten.
 */
import type { TopLevelSpec } from 'vega-lite';
import { IMPLS, type Impl } from '../drivers/impl.ts';
import type { Measurement, Subject } from '../results/schema.ts';
import { FAULT_MODES } from '../throughput/fault-mode.ts';

/** One chart: its file name, alt text and spec. */
export interface Chart {
  readonly file: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const SUBJECT_ORDER: readonly Subject[] = ['raw-fill', 'bare-walk', ...IMPLS];

/** The colour of each implementation and baseline, the same in every chart. */
export const SUBJECT_COLOURS: Readonly<Record<Subject, string>> = {
  legacy: '#e45756',
  shim: '#f58518',
  interval: '#4c78a8',
  'raw-fill': '#79706e',
  'bare-walk': '#54a24b',
  'device-table': '#b279a2',
};

/** The point shape of each implementation in the retry chart. */
export const IMPL_SHAPES: Readonly<Record<Impl, string>> = {
  legacy: 'square',
  shim: 'triangle-up',
  interval: 'circle',
};

/** Room around the data on a log axis: a factor at each end. */
const LOG_PAD = 1.25;

/** The subjects of `present`, in report order. */
function ordered(present: Iterable<string>): Subject[] {
  const set = new Set(present);
  return SUBJECT_ORDER.filter((s) => set.has(s));
}

/** Colour by `field`, with the fixed colour of each subject present. */
function colourBy(field: string, present: Iterable<string>): object {
  const domain = ordered(present);
  return {
    field,
    type: 'nominal',
    title: 'implementation',
    scale: { domain, range: domain.map((s) => SUBJECT_COLOURS[s]) },
  };
}

/** A log scale that spans `values` (with a little room), not the enclosing powers of ten. */
export function fittedLogScale(values: readonly number[]): {
  type: 'log';
  domain: [number, number];
  nice: false;
} {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return { type: 'log', domain: [lo / LOG_PAD, hi * LOG_PAD], nice: false };
}

/**
 * Ticks at 1, 2 and 5 times a power of ten inside [lo, hi]; where that gives fewer than four
 * (a domain of about a decade), at every multiple 1–9 of one.
 */
export function logTicks([lo, hi]: readonly [number, number]): number[] {
  const at = (multiples: readonly number[]) => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of multiples) {
        const v = Number((m * 10 ** e).toPrecision(12));
        if (v >= lo && v <= hi) out.push(v);
      }
    }
    return out;
  };
  const coarse = at([1, 2, 5]);
  return coarse.length >= 4 ? coarse : at([1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

/** A quantitative log axis on `field` fitted to `values`, with 1-2-5 ticks. */
function fittedLogAxis(field: string, values: readonly number[], title: string): object {
  const scale = fittedLogScale(values);
  return { field, type: 'quantitative', scale, title, axis: { values: logTicks(scale.domain) } };
}

/** Axis labels for byte sizes on a log scale: '4 KiB', '2 MiB', '1 GiB'. */
const BYTES_LABEL =
  "datum.value >= 1073741824 ? format(datum.value / 1073741824, '~g') + ' GiB' : " +
  "datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + ' MiB' : " +
  "format(datum.value / 1024, '~g') + ' KiB'";

/** A line with points plus min–max rules, coloured by `color`. */
function linesWithSpread(x: object, y: object, color: object): object[] {
  return [
    { mark: { type: 'line', point: true }, encoding: { x, y, color } },
    {
      mark: { type: 'rule' },
      encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color },
    },
  ];
}

/** Throughput against range size for one mode. */
function throughputChart(ms: readonly Measurement[], mode: string): Chart | undefined {
  const rows = ms
    .filter((m) => m.scenario === 'fault-throughput' && m.parameters['mode'] === mode)
    .map((m) => ({
      subject: m.implementation,
      pages: m.parameters['pages'],
      bytes: Number(m.parameters['rangeBytes']),
      value: m.median / 1e6,
      min: m.min / 1e6,
      max: m.max / 1e6,
    }));
  if (rows.length === 0) return undefined;
  const sizes = [...new Set(rows.map((r) => r.bytes))].sort((a, b) => a - b);
  const x = {
    field: 'bytes',
    type: 'quantitative',
    scale: { type: 'log', nice: false, padding: 14 },
    title: 'range size',
    axis: { values: sizes, labelExpr: BYTES_LABEL },
  };
  const y = fittedLogAxis(
    'value',
    rows.flatMap((r) => [r.min, r.max]),
    'Mpages/s',
  );
  const color = colourBy(
    'subject',
    rows.map((r) => r.subject),
  );
  const spec = {
    $schema: SCHEMA,
    title: `Fault throughput, ${mode}, against range size`,
    data: { values: rows },
    facet: { column: { field: 'pages', type: 'nominal', title: 'CPU pages' } },
    spec: { width: 320, height: 260, layer: linesWithSpread(x, y, color) },
    resolve: { scale: { x: 'independent' } },
  };
  return {
    file: `throughput-${mode}.svg`,
    title: `Fault throughput, ${mode}`,
    spec: spec as TopLevelSpec,
  };
}

/** Invalidation cost against the number of ranges or mirrors, log–log. */
function scalingChart(ms: readonly Measurement[], kind: 'ranges' | 'mirrors'): Chart | undefined {
  const letter = kind === 'ranges' ? 'n' : 'm';
  const rows = ms
    .filter((m) => m.scenario === `invalidation-${kind}`)
    .map((m) => ({
      impl: m.implementation,
      count: m.parameters[letter],
      value: m.median,
      min: m.min,
      max: m.max,
    }));
  if (rows.length === 0) return undefined;
  const counts = [...new Set(rows.map((r) => Number(r.count)))].sort((a, b) => a - b);
  const x = {
    field: 'count',
    type: 'quantitative',
    scale: fittedLogScale(counts),
    title: `${letter} (registered ${kind})`,
    axis: { values: counts },
  };
  const y = fittedLogAxis(
    'value',
    rows.flatMap((r) => [r.min, r.max]),
    'ns per single-page invalidation',
  );
  const color = colourBy(
    'impl',
    rows.map((r) => r.impl),
  );
  const spec = {
    $schema: SCHEMA,
    title: `Invalidation cost against ${letter} (log–log)`,
    width: 420,
    height: 280,
    data: { values: rows },
    layer: linesWithSpread(x, y, color),
  };
  return {
    file: `invalidation-${kind}.svg`,
    title: `Invalidation cost against ${letter}`,
    spec: spec as TopLevelSpec,
  };
}

/** log-spaced points of 1 − exp(−x) over [lo, hi]. */
function predictedCurve(lo: number, hi: number): { x: number; p: number }[] {
  const n = 60;
  return Array.from({ length: n + 1 }, (_, i) => {
    const x = lo * (hi / lo) ** (i / n);
    return { x, p: 1 - Math.exp(-x) };
  });
}

/** Retry probability against λ·f·W: measured (pooled, with per-run range), predicted curve and interval. */
function retryChart(ms: readonly Measurement[]): Chart | undefined {
  const rows = ms
    .filter((m) => m.scenario === 'contention' && m.prediction !== undefined)
    .map((m) => {
      const p = m.prediction!;
      return {
        impl: m.implementation,
        x: Number(m.parameters['x']),
        p: p.observed / p.trials,
        min: m.min,
        max: m.max,
        low: p.low,
        high: p.high,
      };
    });
  if (rows.length === 0) return undefined;
  const xs = [...new Set(rows.map((r) => r.x))].sort((a, b) => a - b);
  const xScale = fittedLogScale(xs);
  const x = {
    field: 'x',
    type: 'quantitative',
    scale: xScale,
    title: 'λ·f·W',
    axis: { values: xs },
  };
  const y = {
    field: 'p',
    type: 'quantitative',
    scale: { domain: [0, 1] },
    title: 'P(first attempt retries)',
  };
  const present = ordered(rows.map((r) => r.impl));
  const color = colourBy('impl', present);
  const shape = {
    field: 'impl',
    type: 'nominal',
    title: 'implementation',
    scale: { domain: present, range: present.map((s) => IMPL_SHAPES[s as Impl]) },
  };
  // One interval per λ·f·W: every implementation at that point has the same prediction.
  const intervals = xs.map((v) => rows.find((r) => r.x === v)!);
  const [lo, hi] = xScale.domain;
  const spec = {
    $schema: SCHEMA,
    title: {
      text: "Retry probability of a fault's first attempt against λ·f·W",
      subtitle:
        'points: measured (pooled runs; bars: per-run min–max); dashed: 1 − exp(−λ·f·W); grey ticks: its 95% interval',
    },
    width: 440,
    height: 300,
    layer: [
      {
        data: { values: predictedCurve(lo, hi) },
        mark: { type: 'line', color: 'gray', strokeDash: [4, 3] },
        encoding: { x, y },
      },
      {
        data: { values: intervals },
        mark: { type: 'tick', color: 'gray', orient: 'horizontal' },
        encoding: { x, y: { field: 'low', type: 'quantitative' } },
      },
      {
        data: { values: intervals },
        mark: { type: 'tick', color: 'gray', orient: 'horizontal' },
        encoding: { x, y: { field: 'high', type: 'quantitative' } },
      },
      {
        data: { values: rows },
        mark: { type: 'rule' },
        encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color },
      },
      {
        data: { values: rows },
        mark: { type: 'point', filled: false, strokeWidth: 2, size: 70 },
        encoding: { x, y, color, shape },
      },
    ],
  };
  return {
    file: 'retry-probability.svg',
    title: 'Retry probability against λ·f·W',
    spec: spec as TopLevelSpec,
  };
}

/** Every chart that has data. */
export function reportCharts(ms: readonly Measurement[]): Chart[] {
  return [
    ...FAULT_MODES.map((mode) => throughputChart(ms, mode)),
    scalingChart(ms, 'ranges'),
    scalingChart(ms, 'mirrors'),
    retryChart(ms),
  ].filter((c): c is Chart => c !== undefined);
}
