/**
 * Livelocks, named: the block of trace events a run repeats at its end (a retry loop that never
 * makes progress), and the folding of repeated blocks in a printed trace, so that a run cut at
 * the step limit reads as "this cycle, N times" instead of thousands of identical lines.
 */
import type { TraceEvent } from '@hmmsim/kernel';

/** A block of `period` items repeated `repeats` times from index `start`. */
export interface Cycle {
  readonly start: number;
  readonly period: number;
  readonly repeats: number;
}

/** Longest block a cycle may have (a retry loop is a few dozen events). */
export const MAX_CYCLE_PERIOD = 200;

/** How many times keys[at, at + p) repeats consecutively from `at` (1 = no repeat). */
function repeatsAt(keys: readonly string[], at: number, p: number): number {
  let r = 1;
  for (let next = at + p; next + p <= keys.length; next += p) {
    for (let k = 0; k < p; k++) if (keys[next + k] !== keys[at + k]) return r;
    r++;
  }
  return r;
}

/**
 * The repetition that starts at `at` and covers the most items (at least `minRepeats` copies;
 * the shortest block among equal coverage), or undefined. Model helper.
 */
export function cycleAt(keys: readonly string[], at: number, minRepeats = 3): Cycle | undefined {
  let best: Cycle | undefined;
  const maxP = Math.min(MAX_CYCLE_PERIOD, Math.floor((keys.length - at) / minRepeats));
  for (let p = 1; p <= maxP; p++) {
    if (keys[at + p] !== keys[at]) continue;
    const r = repeatsAt(keys, at, p);
    if (r < minRepeats) continue;
    if (best === undefined || r * p > best.repeats * best.period) {
      best = { start: at, period: p, repeats: r };
    }
  }
  return best;
}

/**
 * The cycle the sequence ends with: the block of at most MAX_CYCLE_PERIOD items whose
 * consecutive copies reach the end and cover the most items (at least 3 copies). Model helper.
 */
export function tailCycle(keys: readonly string[]): Cycle | undefined {
  const n = keys.length;
  let best: Cycle | undefined;
  for (let p = 1; p <= MAX_CYCLE_PERIOD && 3 * p <= n; p++) {
    let r = 1;
    for (let end = n - p; end - p >= 0; end -= p) {
      let same = true;
      for (let k = 0; k < p && same; k++) same = keys[end - p + k] === keys[n - p + k];
      if (!same) break;
      r++;
    }
    if (r >= 3 && (best === undefined || r * p > best.repeats * best.period)) {
      best = { start: n - r * p, period: p, repeats: r };
    }
  }
  return best;
}

/** The identity of an event for cycle detection: task, kind, label and object. */
function eventKey(e: TraceEvent): string {
  return `${e.taskName}\u0000${e.kind}\u0000${e.label}\u0000${e.obj ?? ''}`;
}

/** 'hmm.range_fault check_retry [mm1]' */
function eventLine(e: TraceEvent): string {
  return `${e.kind}${e.label === '' ? '' : ` ${e.label}`}${e.obj === undefined ? '' : ` [${e.obj}]`}`;
}

/**
 * One sentence naming the loop a livelocked run was stuck in — which task(s), how many steps,
 * how many times, and the events of one turn — or undefined when the trace does not end in a
 * cycle. Identical turns (sequence numbers and results included, where the code traces them)
 * mean nothing the loop depends on ever changes.
 * Mirrors: model-only.
 */
export function describeLivelock(events: readonly TraceEvent[]): string | undefined {
  const keys = events.map(eventKey);
  const c = tailCycle(keys);
  if (c === undefined) return undefined;
  const turn = events.slice(c.start, c.start + c.period);
  const tasks = [...new Set(turn.map((e) => `'${e.taskName}'`))].join(' and ');
  const shown = turn.slice(0, 12).map(eventLine).join(' → ');
  const more = turn.length > 12 ? ` → … (${turn.length - 12} more)` : '';
  const seq = turn.some((e) => /\bseq=/.test(e.label))
    ? ', sequence numbers and results included, so the sequence it retries with never changes'
    : ', so nothing the loop depends on changes';
  return (
    `livelock: ${tasks} repeated the same ${c.period}-event turn ${c.repeats.toLocaleString('en-US')} times ` +
    `until the step limit (identical each time${seq}): ${shown}${more}`
  );
}
