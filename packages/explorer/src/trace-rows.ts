import type { TraceEvent } from '@hmmsim/kernel';
import type { TraceRecord } from './outcome.ts';

/** One task column of a per-CPU trace. */
export interface TraceLane {
  readonly id: number;
  readonly name: string;
}

/** One labelled step in a lane; `to` is set for context switches. */
export interface TraceRow {
  readonly step: number;
  /** Virtual nanoseconds. */
  readonly time: number;
  readonly lane: number;
  readonly text: string;
  readonly type: 'event' | 'switch' | 'preempt';
  readonly to?: number | undefined;
}

/** Lanes of every task that appears in `events` (not the boot task), by id. */
function lanesOf(events: readonly TraceEvent[]): TraceLane[] {
  const byId = new Map<number, string>();
  for (const e of events) if (e.taskId !== 0 && !byId.has(e.taskId)) byId.set(e.taskId, e.taskName);
  return [...byId.entries()].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id, name }));
}

/** The label of an ordinary event: 'lock.mutex_lock A [mm1]'. */
function eventText(e: TraceEvent): string {
  const obj = e.obj === undefined ? '' : ` [${e.obj}]`;
  return `${e.kind}${e.label === '' ? '' : ` ${e.label}`}${obj}`;
}

/** The row for `e`, or undefined for events not shown (switches from boot or to oneself). */
function rowOf(
  e: TraceEvent,
  idByName: ReadonlyMap<string, number>,
  preempt: ReadonlySet<number>,
): TraceRow | undefined {
  const base = { step: e.step, time: e.time, lane: e.taskId };
  switch (e.kind) {
    case 'sched.switch': {
      const to = idByName.get(e.label);
      if (e.taskId === 0 || to === e.taskId) return undefined;
      const type = preempt.has(e.step) ? 'preempt' : 'switch';
      const text = `${type === 'preempt' ? 'preempted' : 'switch'} -> T${to ?? '?'}`;
      return { ...base, text, type, to };
    }
    case 'sched.timer':
      return {
        ...base,
        lane: idByName.get(e.label) ?? e.taskId,
        text: 'timer fires',
        type: 'event',
      };
    case 'task.start':
      return { ...base, text: 'start', type: 'event' };
    case 'task.exit':
      return { ...base, text: 'exit', type: 'event' };
    case 'task.error':
      return { ...base, text: `threw ${e.label}`, type: 'event' };
    case 'sched.block':
      return { ...base, text: `blocks on ${e.label}`, type: 'event' };
    case 'sched.wake':
      return { ...base, text: `wakes ${e.label}`, type: 'event' };
    case 'sched.deadlock':
      return { ...base, text: 'DEADLOCK', type: 'event' };
    default:
      return { ...base, text: eventText(e), type: 'event' };
  }
}

/**
 * The per-task lanes and labelled rows of a traced run (switches marked as preemptions where
 * the explorer chose one).
 * Mirrors: model-only.
 */
export function traceRows(trace: TraceRecord): { lanes: TraceLane[]; rows: TraceRow[] } {
  const lanes = lanesOf(trace.events);
  const idByName = new Map(lanes.map((l) => [l.name, l.id]));
  const preempt = new Set(trace.preemptSteps);
  const rows: TraceRow[] = [];
  for (const e of trace.events) {
    const row = rowOf(e, idByName, preempt);
    if (row !== undefined) rows.push(row);
  }
  return { lanes, rows };
}
