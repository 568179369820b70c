/**
 * Validation of a results document: the JSON Schema (TypeBox's checker), then the consistency
 * rules a schema cannot state. Returns the problems, one line each; empty means valid.
 */
import { Value } from '@sinclair/typebox/value';
import { type Acceptance, type Measurement, type Results, ResultsSchema } from './schema.ts';

/** Relative slack for min <= median <= max and the samples' extremes (float noise). */
const EPS = 1e-9;

/** 'a > b' beyond float noise. */
function above(a: number, b: number): boolean {
  return a - b > EPS * Math.max(1, Math.abs(a), Math.abs(b));
}

/** Problems of one measurement's summary against its samples. */
function summaryProblems(m: Measurement): string[] {
  const out: string[] = [];
  if (above(m.min, m.median) || above(m.median, m.max)) {
    out.push(`${m.id}: expected min <= median <= max, got ${m.min}, ${m.median}, ${m.max}`);
  }
  const lo = Math.min(...m.samples);
  const hi = Math.max(...m.samples);
  if (above(Math.abs(lo - m.min), 0) || above(Math.abs(hi - m.max), 0)) {
    out.push(`${m.id}: min/max ${m.min}/${m.max} are not the samples' extremes ${lo}/${hi}`);
  }
  for (const r of m.ratios) {
    if (above(r.min, r.median) || above(r.median, r.max)) {
      out.push(`${m.id}: ratio to ${r.to}: expected min <= median <= max`);
    }
  }
  if (m.prediction !== undefined && above(m.prediction.low, m.prediction.high)) {
    out.push(`${m.id}: prediction interval low > high`);
  }
  return out;
}

/** Problems across measurements: duplicate ids, ratios to unknown ids. */
function referenceProblems(ms: readonly Measurement[]): string[] {
  const out: string[] = [];
  const ids = new Set<string>();
  for (const m of ms) {
    if (ids.has(m.id)) out.push(`duplicate measurement id ${m.id}`);
    ids.add(m.id);
  }
  for (const m of ms) {
    for (const r of m.ratios) {
      if (!ids.has(r.to)) out.push(`${m.id}: ratio to unknown measurement ${r.to}`);
    }
  }
  return out;
}

/** A missed target has its one-line reason; any other has none. */
function acceptanceProblems(acc: readonly Acceptance[]): string[] {
  return acc.flatMap((a) => {
    if (a.pass === false && a.reason === null)
      return [`acceptance ${a.id}: missed without a reason`];
    if (a.pass !== false && a.reason !== null)
      return [`acceptance ${a.id}: a reason but not missed`];
    if (a.reason?.includes('\n')) return [`acceptance ${a.id}: the reason is not one line`];
    return [];
  });
}

/** Every problem of `doc` as a results document; [] when it is valid. */
export function validateResults(doc: unknown): string[] {
  if (!Value.Check(ResultsSchema, doc)) {
    return [...Value.Errors(ResultsSchema, doc)]
      .slice(0, 20)
      .map((e) => `${e.path || '/'}: ${e.message}`);
  }
  const r = doc as Results;
  return [
    ...referenceProblems(r.measurements),
    ...r.measurements.flatMap(summaryProblems),
    ...acceptanceProblems(r.acceptance),
  ];
}
