/**
 * Text for the viewer's tables and labels: every state the page shows in colour is also said in
 * words, so these strings carry the meaning on their own.
 */
import type {
  ExploreProgress,
  ExploreSummary,
  HmmView,
  IntervalView,
  LaneState,
  PageView,
  PteView,
  ReplayView,
  StepView,
} from './core/types.ts';

/** '0x10001000'. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** 'pfn 2, read-write' / 'pfn 2, read-only' / 'not mapped'. */
export function pteText(p: PteView | null): string {
  if (p === null) return 'not mapped';
  return `pfn ${p.pfn}, ${p.write ? 'read-write' : 'read-only'}`;
}

/** What is wrong with a device entry, in words ('' when nothing is). */
export function problemText(p: PageView): string {
  if (p.problem === 'stale') {
    const cpu = p.cpu === null ? 'the CPU maps nothing there' : `the CPU maps pfn ${p.cpu.pfn}`;
    const owner = p.owner === '' ? '' : `; pfn ${p.device?.pfn} now belongs to ${p.owner}`;
    return `STALE: the device maps pfn ${p.device?.pfn} but ${cpu}${owner}`;
  }
  if (p.problem === 'writable') {
    return 'STALE WRITE ACCESS: the device may write this page, the CPU entry is read-only or gone';
  }
  return '';
}

/** '1 schedule' / '2 schedules'. */
export function plural(n: number, what: string): string {
  return `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
}

/** '0.42 s' / '38 ms'. */
export function durationText(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** 'Exploring: 120 schedules, 2,400 steps, 0.42 s'. */
export function progressText(p: ExploreProgress | undefined): string {
  if (p === undefined) return 'Exploring…';
  const t = p.elapsedMs === undefined ? '' : `, ${durationText(p.elapsedMs)}`;
  return `Exploring: ${plural(p.schedules, 'schedule')}, ${plural(p.steps, 'step')}${t}`;
}

/** The headline of a summary: what was found, and whether that was expected. */
export function summaryHeadline(s: ExploreSummary): string {
  const found = s.violation === undefined ? 'No violation' : `Violation (${s.violation.kind})`;
  const expected = s.asExpected
    ? 'as expected'
    : `unexpected: this driver should ${s.expect === 'pass' ? 'pass' : 'fail'}`;
  return `${found} — ${expected}`;
}

/** One lane's status and locks at a step, as a sentence. */
export function laneText(l: LaneState): string {
  const holds =
    l.holds.length === 0
      ? 'holds no lock'
      : `holds ${l.holds.map((h) => `${h.lock} (${h.mode})`).join(', ')}`;
  const wait =
    l.waitingFor !== undefined
      ? `; waits for ${l.waitingFor}`
      : l.taking !== undefined
        ? `; about to take ${l.taking}`
        : '';
  return `${l.status}; ${holds}${wait}`;
}

/** The lines describing a struct hmm (legacy flag or shim answer). */
export function hmmLines(h: HmmView): string[] {
  const head =
    h.kind === 'legacy'
      ? `struct hmm (legacy): ${plural(h.notifiers, 'invalidation')} in flight`
      : 'struct hmm (compat shim): ranges answered by interval notifiers';
  if (h.ranges.length === 0) return [head, 'no range registered'];
  return [
    head,
    ...h.ranges.map(
      (r) =>
        `range [${hex(r.start)}, ${hex(r.end)}): hmm_range_valid() = ${r.valid ? 'true' : 'false'}`,
    ),
  ];
}

/** The line describing an interval notifier and what read_retry would answer. */
export function intervalText(iv: IntervalView): string {
  const base = `${iv.label} [${hex(iv.start)}, ${hex(iv.last + 1)}): seq ${iv.seq}`;
  if (iv.sample === undefined) return `${base}; no read_begin sample yet`;
  return `${base}; read_begin sample ${iv.sample} → read_retry ${iv.retry === true ? 'true: retry' : 'false: go ahead'}`;
}

/** 'mm invalidate_seq 3 (odd: an invalidation window is open, 1 running)'. */
export function mmSeqText(seq: number | undefined, active: number): string {
  if (seq === undefined) return 'no interval notifier in this mm';
  const odd = seq % 2 === 1;
  return `mm invalidate_seq ${seq} (${odd ? 'odd: an invalidation window is open' : 'even: idle'}${active > 0 ? `, ${plural(active, 'invalidation')} running` : ''})`;
}

/** 'Step 17 of 18 — scheduler step 25' / 'Before the run'. */
export function positionText(r: ReplayView, s: StepView): string {
  const last = r.steps.length - 1;
  if (s.step === undefined) return `Before the run (position 0 of ${last})`;
  return `Position ${s.index} of ${last} — scheduler step ${s.step}`;
}
