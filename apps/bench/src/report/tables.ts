/**
 * The report's tables, built from measurements: fault throughput per mode, invalidation scaling
 * (ranges and mirrors), contention per implementation, memory, and the acceptance targets.
 * `detailed` adds each figure's min–max over the runs.
 */
import { IMPLS } from '../drivers/impl.ts';
import { indexMeasurements, type MeasurementIndex, ratioOf } from '../results/lookup.ts';
import type { Acceptance, Measurement } from '../results/schema.ts';
import { sizeLabel } from '../run/plan.ts';
import { FAULT_MODES, type FaultMode } from '../throughput/fault-mode.ts';
import { fmtMeasure, fmtRatio, fmtUnit, sig } from './format.ts';
import type { Table } from './table.ts';

/** Distinct values of a parameter over `ms`, in first-seen order. */
function distinct(ms: readonly Measurement[], key: string): (string | number | boolean)[] {
  return [...new Set(ms.map((m) => m.parameters[key]!))];
}

/** 'a–b' over the median ratios of the drivers to one baseline. */
function driverRatios(ix: MeasurementIndex, prefix: string, to: string): string {
  const rs = IMPLS.map((i) => ratioOf(ix, `${prefix}/${i}`, `${prefix}/${to}`)?.median).filter(
    (v): v is number => v !== undefined,
  );
  if (rs.length === 0) return '–';
  const lo = Math.min(...rs);
  const hi = Math.max(...rs);
  return lo === hi ? `${sig(lo)}x` : `${sig(lo)}–${sig(hi)}x`;
}

/** Fault throughput of one mode (Mpages/s), one row per page kind and range size. */
function throughputTable(
  ms: readonly Measurement[],
  mode: FaultMode,
  detailed: boolean,
): Table | undefined {
  const own = ms.filter((m) => m.scenario === 'fault-throughput' && m.parameters['mode'] === mode);
  if (own.length === 0) return undefined;
  const ix = indexMeasurements(own);
  const rows = distinct(own, 'pages').flatMap((pages) =>
    distinct(
      own.filter((m) => m.parameters['pages'] === pages),
      'rangeBytes',
    ).map((bytes) => {
      const prefix = `fault-throughput/${mode}/${pages}/${sizeLabel(Number(bytes))}`;
      const subjects = ['raw-fill', 'bare-walk', ...IMPLS].map((s) =>
        fmtMeasure(ix.get(`${prefix}/${s}`), detailed),
      );
      return [
        String(pages),
        sizeLabel(Number(bytes)),
        ...subjects,
        driverRatios(ix, prefix, 'raw-fill'),
        driverRatios(ix, prefix, 'bare-walk'),
      ];
    }),
  );
  return {
    title: `Fault throughput, ${mode} (Mpages/s)`,
    leftColumns: 2,
    header: [
      'pages',
      'range',
      'raw fill',
      'bare walk',
      ...IMPLS,
      'drivers ÷ raw fill',
      'drivers ÷ bare walk',
    ],
    rows,
  };
}

/** Invalidation cost (ns) against the number of ranges or mirrors. */
function scalingTable(
  ms: readonly Measurement[],
  kind: 'ranges' | 'mirrors',
  detailed: boolean,
): Table | undefined {
  const own = ms.filter((m) => m.scenario === `invalidation-${kind}`);
  if (own.length === 0) return undefined;
  const ix = indexMeasurements(own);
  const letter = kind === 'ranges' ? 'n' : 'm';
  const counts = distinct(own, letter)
    .map(Number)
    .sort((a, b) => a - b);
  const id = (impl: string, c: number) => `invalidation-${kind}/${impl}/${letter}=${c}`;
  const rows = counts.map((c) => [
    String(c),
    ...IMPLS.flatMap((impl) => {
      const cells = [
        fmtMeasure(ix.get(id(impl, c)), detailed),
        fmtRatio(ratioOf(ix, id(impl, c), id(impl, counts[0]!)), false),
      ];
      return impl === 'interval'
        ? cells
        : [...cells, fmtRatio(ratioOf(ix, id(impl, c), id('interval', c)), false)];
    }),
  ]);
  const first = `x ${letter}=${counts[0]}`;
  return {
    title: `One single-page invalidation with ${letter} registered ${kind} (ns)`,
    header: [letter, 'legacy', first, '÷ interval', 'shim', first, '÷ interval', 'interval', first],
    rows,
  };
}

/** Contention: one row per implementation and λ·f·W. */
function contentionTable(ms: readonly Measurement[], detailed: boolean): Table | undefined {
  const own = ms.filter((m) => m.scenario === 'contention');
  if (own.length === 0) return undefined;
  const ix = indexMeasurements(own);
  const rows: string[][] = [];
  for (const impl of IMPLS) {
    for (const m of own.filter(
      (x) => x.implementation === impl && x.id.endsWith('/retry-probability'),
    )) {
      const base = m.id.slice(0, -'/retry-probability'.length);
      const p = m.prediction!;
      const tput = ix.get(`${base}/throughput`);
      rows.push([
        impl,
        String(m.parameters['x']),
        sig(Number(m.parameters['lambdaPerSecond'])),
        p.value.toFixed(4),
        `${p.low.toFixed(4)}–${p.high.toFixed(4)}`,
        `${(p.observed / p.trials).toFixed(4)}${p.within ? '' : ' ✗'}`,
        fmtMeasure(m, detailed),
        fmtMeasure(ix.get(`${base}/retries-per-fault`), detailed),
        fmtMeasure(tput, detailed),
        fmtRatio(tput?.ratios[0], false),
        fmtUnit(sum(ix.get(`${base}/non-overlap-retries`)), 'count'),
        fmtUnit(sum(ix.get(`${base}/stale-mappings`)), 'count'),
      ]);
    }
  }
  return {
    title:
      'Under contention (CPU1 faults a 16-page range, CPU0 moves pages of a 64-page space; f = 1/4)',
    leftColumns: 1,
    header: [
      'impl',
      'λ·f·W',
      'λ (1/s)',
      'predicted',
      '95% interval',
      'measured (pooled)',
      'per run',
      'retries/fault',
      'Mpages/s',
      '÷ idle',
      'non-overlap retries',
      'stale mappings',
    ],
    rows,
  };
}

/** Total of a per-run count over its runs. */
function sum(m: Measurement | undefined): number {
  return m === undefined ? Number.NaN : m.samples.reduce((a, v) => a + v, 0);
}

/** Memory per mirrored page and per registered range. */
function memoryTable(ms: readonly Measurement[], detailed: boolean): Table | undefined {
  const own = ms.filter((m) => m.scenario === 'memory');
  if (own.length === 0) return undefined;
  const rows = own.map((m) => [
    m.implementation,
    m.unit,
    fmtMeasure(m, detailed),
    m.ratios.length === 0
      ? '–'
      : `${fmtRatio(m.ratios[0], false)} ${m.ratios[0]!.to.split('/').at(-1)}`,
    String(m.parameters['layout']),
  ]);
  return {
    title: 'Memory (JS heap + ArrayBuffers)',
    header: ['subject', 'unit', 'value', 'ratio', 'layout'],
    rows,
    leftColumns: 2,
  };
}

/** The acceptance targets with what was measured and the notes. */
export function acceptanceTable(acc: readonly Acceptance[]): Table {
  const verdict = (p: boolean | null) => (p === null ? 'n/a' : p ? 'met' : 'MISSED');
  return {
    title: 'Acceptance',
    header: ['target', 'result', 'measured', 'note'],
    rows: acc.map((a) => [
      a.target,
      verdict(a.pass),
      a.measured,
      a.reason === null ? a.note : `**why:** ${a.reason}. ${a.note}`,
    ]),
    leftColumns: 4,
  };
}

/** Every scenario table that has data, in report order. */
export function scenarioTables(ms: readonly Measurement[], detailed: boolean): Table[] {
  return [
    ...FAULT_MODES.map((mode) => throughputTable(ms, mode, detailed)),
    scalingTable(ms, 'ranges', detailed),
    scalingTable(ms, 'mirrors', detailed),
    contentionTable(ms, detailed),
    memoryTable(ms, detailed),
  ].filter((t): t is Table => t !== undefined);
}
