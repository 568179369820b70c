import { cycleAt, describeLivelock } from './livelock.ts';
import type { TraceRecord } from './outcome.ts';
import { type TraceLane, type TraceRow, traceRows } from './trace-rows.ts';

/** Widest column; longer text continues on the next lines of the same cell (never cut). */
const MAX_WIDTH = 60;

/** `s` in pieces of at most `w` characters, cut after a space where there is one. */
function wrap(s: string, w: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > w) {
    const space = rest.lastIndexOf(' ', w);
    const cut = space > w / 2 ? space + 1 : w;
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut);
  }
  out.push(rest);
  return out;
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

/**
 * One table line: step, virtual time in microseconds (unless `time` is undefined: a trace whose
 * clock never moved has no time column), then a cell per lane (one line each).
 */
function line(
  step: string,
  time: string | undefined,
  cells: readonly string[],
  w: readonly number[],
): string {
  const body = cells.map((c, i) => c.padEnd(w[i]!)).join('  ');
  const t = time === undefined ? '' : `${time.padStart(9)}  `;
  return `${step.padStart(5)}  ${t}${body}`.trimEnd();
}

/**
 * The lines of one row: its cell wrapped to the lane's width, step and (when `timed`) time on the
 * first.
 */
function rowLines(
  r: TraceRow,
  lane: number,
  nLanes: number,
  w: readonly number[],
  timed: boolean,
): string[] {
  return wrap(cellText(r), w[lane]!).map((piece, k) => {
    const cells = Array.from({ length: nLanes }, () => '');
    cells[lane] = piece;
    if (k > 0) return line('', timed ? '' : undefined, cells, w);
    return line(String(r.step), timed ? String(r.time / 1000) : undefined, cells, w);
  });
}

/** True when the clock moved during the trace (steps took time, or a timer fired). */
function clockMoved(rows: readonly TraceRow[]): boolean {
  return rows.some((r) => r.time !== rows[0]!.time);
}

/** What identifies a row when folding repeats: its lane and text. */
function rowKey(r: TraceRow): string {
  return `${r.lane}\u0000${cellText(r)}`;
}

/**
 * A per-CPU trace: one column per task, one row per labelled step (lock acquire/release,
 * waits, wake-ups, timers, scenario events), preemptions marked, the failure last. The
 * `time(us)` column is shown only when the virtual clock moved during the trace.
 * Mirrors: model-only (in the spirit of a per-CPU ftrace listing).
 */
export function formatTraceTable(trace: TraceRecord): string {
  const { lanes, rows } = traceRows(trace);
  const w = widths(lanes, rows);
  const col = new Map(lanes.map((l, i) => [l.id, i]));
  const timed = clockMoved(rows);
  const out = [
    line(
      'step',
      timed ? 'time(us)' : undefined,
      lanes.map((l) => `T${l.id} ${l.name}`),
      w,
    ),
  ];
  const shown = rows.filter((r) => col.has(r.lane));
  const keys = shown.map(rowKey);
  for (let k = 0; k < shown.length; ) {
    const c = cycleAt(keys, k);
    const n = c === undefined ? 1 : c.period;
    for (const r of shown.slice(k, k + n))
      out.push(...rowLines(r, col.get(r.lane)!, lanes.length, w, timed));
    if (c !== undefined) {
      const last = shown[k + c.period * c.repeats - 1]!;
      out.push(
        `  ... the ${c.period} row(s) above repeat ${c.repeats - 1} more time(s), identical, to step ${last.step} ...`,
      );
    }
    k += c === undefined ? 1 : c.period * c.repeats;
  }
  const f = trace.failure;
  if (f?.kind === 'step-limit') {
    const loop = describeLivelock(trace.events);
    if (loop !== undefined) out.push(loop);
  }
  out.push(f === undefined ? 'no violation' : `VIOLATION (${f.kind}): ${f.message}`);
  return out.join('\n');
}
