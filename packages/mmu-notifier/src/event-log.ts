/**
 * A recorder of what the notifier code does (callbacks entered and left, sequence values, tree
 * changes, wake-ups, registrations), so the history invariants of invariants.ts can be checked
 * after — or during — a run. Off by default; when no log is active, recording costs one test.
 *
 * Mirrors: model-only (stands in for the kernel's lockdep/debug annotations and tracepoints).
 */

import { DIAGNOSTICS_ONLY, ObjectSlot, type Scheduler } from '@hmmsim/kernel';
import type { MmStruct, MmuNotifierRange } from '@hmmsim/mm';
import { checkObject } from './arg-checks.ts';
import type { MmuIntervalNotifier } from './mmu-interval-notifier.ts';
import type { MmuNotifier } from './mmu-notifier.ts';

/**
 * Names of the legacy ops, as recorded in 'hlist-cb-*' events.
 * Mirrors the op names of include/linux/mmu_notifier.h:struct mmu_notifier_ops.
 */
export type MmuNotifierOpName =
  | 'release'
  | 'invalidateRangeStart'
  | 'invalidateRangeEnd'
  | 'invalidateRange'
  | 'changePte'
  | 'clearFlushYoung'
  | 'clearYoung'
  | 'testYoung';

/**
 * One recorded event; `step` is the scheduler step, `task` the running task's name.
 * Mirrors: model-only.
 */
export type MmuNotifierLogEvent = { readonly step: number; readonly task: string } & (
  | {
      readonly kind: 'range-start';
      readonly mm: MmStruct;
      readonly range: MmuNotifierRange;
      readonly ret: number;
      readonly mmUsers: number;
    }
  | { readonly kind: 'range-end'; readonly mm: MmStruct; readonly range: MmuNotifierRange }
  | {
      readonly kind: 'hlist-start';
      readonly mn: MmuNotifier;
      readonly range: MmuNotifierRange;
      readonly ret: number;
    }
  | { readonly kind: 'hlist-end'; readonly mn: MmuNotifier; readonly range: MmuNotifierRange }
  | { readonly kind: 'hlist-cb-enter'; readonly mn: MmuNotifier; readonly op: MmuNotifierOpName }
  | { readonly kind: 'hlist-cb-exit'; readonly mn: MmuNotifier; readonly op: MmuNotifierOpName }
  | { readonly kind: 'register'; readonly mn: MmuNotifier; readonly mm: MmStruct }
  | { readonly kind: 'unregister-done'; readonly mn: MmuNotifier }
  | { readonly kind: 'put-last'; readonly mn: MmuNotifier }
  | { readonly kind: 'free-notifier'; readonly mn: MmuNotifier }
  | {
      readonly kind: 'release';
      readonly mm: MmStruct;
      readonly mmUsers: number;
      readonly rssPages: number;
    }
  | {
      readonly kind: 'itree-cb-enter';
      readonly mni: MmuIntervalNotifier;
      readonly range: MmuNotifierRange;
      readonly curSeq: number;
      readonly globalSeq: number;
      readonly itStart: number;
      readonly itLast: number;
    }
  | { readonly kind: 'itree-cb-exit'; readonly mni: MmuIntervalNotifier; readonly ok: boolean }
  | { readonly kind: 'set-seq'; readonly mni: MmuIntervalNotifier; readonly seq: number }
  | {
      readonly kind: 'read-begin';
      readonly mni: MmuIntervalNotifier;
      readonly seq: number;
      readonly slept: boolean;
      readonly globalAtReturn: number;
    }
  | {
      readonly kind: 'read-retry';
      readonly mni: MmuIntervalNotifier;
      readonly seq: number;
      readonly ret: boolean;
    }
  | {
      readonly kind: 'check-retry';
      readonly mni: MmuIntervalNotifier;
      readonly seq: number;
      readonly ret: boolean;
    }
  | {
      readonly kind: 'insert';
      readonly mni: MmuIntervalNotifier;
      readonly deferred: boolean;
      readonly seq: number;
    }
  | {
      readonly kind: 'tree-link';
      readonly mni: MmuIntervalNotifier;
      readonly seqBefore: number;
      readonly deferred: boolean;
    }
  | {
      readonly kind: 'tree-unlink';
      readonly mni: MmuIntervalNotifier;
      readonly seqBefore: number;
      readonly deferred: boolean;
    }
  | { readonly kind: 'remove-done'; readonly mni: MmuIntervalNotifier }
  | {
      readonly kind: 'wake';
      readonly mm: MmStruct;
      readonly globalSeq: number;
      readonly deferredLeft: number;
    }
);

/** Omit distributed over each member of a union (used for the event-log input type). Model helper. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * An event as passed to record(): step and task are filled in.
 * Mirrors: model-only.
 */
export type MmuNotifierLogEventInput = DistributiveOmit<MmuNotifierLogEvent, 'step' | 'task'>;

/**
 * The events of one simulated machine, in order.
 * Mirrors: model-only.
 */
export class MmuNotifierLog {
  readonly events: MmuNotifierLogEvent[] = [];
  /** Read back only by checks after a run: no access reports, left out of state fingerprints. */
  readonly [DIAGNOSTICS_ONLY] = true;

  constructor(readonly sched: Scheduler) {}

  /** Append an event stamped with the current step and task. */
  record(e: MmuNotifierLogEventInput): void {
    this.events.push({
      ...e,
      step: this.sched.step,
      task: this.sched.current.name,
    } as MmuNotifierLogEvent);
  }

  /** Forget everything recorded so far. */
  clear(): void {
    this.events.length = 0;
  }
}

const logs = new ObjectSlot<Scheduler, MmuNotifierLog>('sched.mmu_notifier_log');
let activeLogs = 0;

/**
 * Start recording notifier events of the machine driven by `sched` (returns the existing log if
 * one is active). Model helper for tests and explorer scenarios.
 * Mirrors: model-only.
 */
export function mmuNotifierLogStart(sched: Scheduler): MmuNotifierLog {
  checkObject('mmuNotifierLogStart', 'sched', sched, 'the machine scheduler (machine.sched)');
  let log = logs.get(sched);
  if (log === undefined) {
    log = new MmuNotifierLog(sched);
    logs.set(sched, log);
    activeLogs++;
  }
  return log;
}

/**
 * Stop recording on `sched` (the log object keeps its events).
 * Mirrors: model-only.
 */
export function mmuNotifierLogStop(sched: Scheduler): void {
  if (logs.delete(sched)) activeLogs--;
}

/**
 * The active log of `sched`, or undefined (fast path: no lookup when no log is active anywhere).
 * Mirrors: model-only.
 */
export function mmuNotifierLogOf(sched: Scheduler): MmuNotifierLog | undefined {
  return activeLogs === 0 ? undefined : logs.get(sched);
}
