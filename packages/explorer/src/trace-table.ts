import type { TraceRecord } from './outcome.ts';
import { type TraceLane, type TraceRow, traceRows } from './trace-rows.ts';

/** Widest column before text is cut with '…'. */
const MAX_WIDTH = 44;

/** `s` cut to `w` characters. */
function fit(s: string, w: number): string {
  return s.length <= w ? s : `${s.slice(0, w - 1)}…`;
}

/** What a row shows in its cell (preemptions stand out). */
function cellText(r: TraceRow): string {
  return r.type === 'preempt' ? `>> ${r.text}` : r.text;
}

/** Column width of each lane: its widest cell or header, at most MAX_WIDTH. */
function widths(lanes: readonly TraceLane[], rows: readonly TraceRow[]): number[] {
  return lanes.map((l) => {
    let w = `T${l.id} ${l.name}`.length;
    for (const r of rows) if (r.lane === l.id) w = Math.max(w, cellText(r).length);
    return Math.min(w, MAX_WIDTH);
  });
}

/** One table line: step, virtual time in microseconds, then a cell per lane. */
function line(step: string, time: string, cells: readonly string[], w: readonly number[]): string {
  const body = cells.map((c, i) => fit(c, w[i]!).padEnd(w[i]!)).join('  ');
  return `${step.padStart(5)}  ${time.padStart(9)}  ${body}`.trimEnd();
}

/**
 * A per-CPU trace: one column per task, one row per labelled step (lock acquire/release,
 * waits, wake-ups, timers, scenario events), preemptions marked, the failure last.
 * Mirrors: model-only (in the spirit of a per-CPU ftrace listing).
 */
export function formatTraceTable(trace: TraceRecord): string {
  const { lanes, rows } = traceRows(trace);
  const w = widths(lanes, rows);
  const col = new Map(lanes.map((l, i) => [l.id, i]));
  const out = [
    line(
      'step',
      'time(us)',
      lanes.map((l) => `T${l.id} ${l.name}`),
      w,
    ),
  ];
  for (const r of rows) {
    const cells = lanes.map(() => '');
    const i = col.get(r.lane);
    if (i === undefined) continue;
    cells[i] = cellText(r);
    out.push(line(String(r.step), String(r.time / 1000), cells, w));
  }
  const f = trace.failure;
  out.push(f === undefined ? 'no violation' : `VIOLATION (${f.kind}): ${f.message}`);
  return out.join('\n');
}
