/**
 * The report's charts as Vega-Lite specs: throughput against range size (one line per
 * implementation and baseline, a panel per CPU page size), invalidation cost against n and m
 * (log–log), and the measured retry probability against λ·f·W with the predicted curve.
 * Vertical bars are each figure's min–max over the runs.
 */
import type { TopLevelSpec } from 'vega-lite';
import { IMPLS } from '../drivers/impl.ts';
import type { Measurement } from '../results/schema.ts';
import { FAULT_MODES } from '../throughput/fault-mode.ts';

/** One chart: its file name, alt text and spec. */
export interface Chart {
  readonly file: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const SUBJECT_ORDER = ['raw-fill', 'bare-walk', ...IMPLS];

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
    scale: { type: 'log' },
    title: 'range size',
    axis: { values: sizes, labelExpr: BYTES_LABEL },
  };
  const y = { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: 'Mpages/s' };
  const color = { field: 'subject', type: 'nominal', sort: SUBJECT_ORDER, title: 'implementation' };
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
    scale: { type: 'log' },
    title: `${letter} (registered ${kind})`,
    axis: { values: counts },
  };
  const y = {
    field: 'value',
    type: 'quantitative',
    scale: { type: 'log' },
    title: 'ns per single-page invalidation',
  };
  const color = { field: 'impl', type: 'nominal', sort: [...IMPLS], title: 'implementation' };
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
  const xs = rows.map((r) => r.x);
  const x = { field: 'x', type: 'quantitative', scale: { type: 'log' }, title: 'λ·f·W' };
  const y = {
    field: 'p',
    type: 'quantitative',
    scale: { domain: [0, 1] },
    title: 'P(first attempt retries)',
  };
  const color = { field: 'impl', type: 'nominal', sort: [...IMPLS], title: 'implementation' };
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
        data: { values: predictedCurve(Math.min(...xs) / 2, Math.max(...xs) * 2) },
        mark: { type: 'line', color: 'gray', strokeDash: [4, 3] },
        encoding: { x, y },
      },
      {
        data: { values: rows.filter((r) => r.impl === 'native') },
        mark: { type: 'tick', color: 'gray', orient: 'horizontal' },
        encoding: { x, y: { field: 'low', type: 'quantitative' } },
      },
      {
        data: { values: rows.filter((r) => r.impl === 'native') },
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
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x,
          y,
          color,
          shape: { field: 'impl', type: 'nominal', sort: [...IMPLS], title: 'implementation' },
        },
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
