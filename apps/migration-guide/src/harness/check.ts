/**
 * The two questions the guide asks the explorer about a driver: is it clean under every schedule
 * within a preemption bound (the whole space searched, not a sample), and if not, what is the
 * smallest schedule that breaks it, as a per-CPU trace.
 */
import {
  type ExploreResult,
  explore,
  formatTraceTable,
  type Scenario,
  type TraceRecord,
  type Violation,
} from '@hmmsim/explorer';

/** The preemption bound the guide's claims are made at. */
export const GUIDE_BOUND = 2;

/** A DFS over every schedule with at most `bound` preemptions; stops at the first violation. */
export function exploreBounded<S>(
  scenario: Scenario<S>,
  bound: number = GUIDE_BOUND,
): Promise<ExploreResult> {
  return explore(scenario, { strategy: 'dfs', bound });
}

/** What a result shows, in the words the guide uses (never more than was searched). */
export function verdict(r: ExploreResult): string {
  if (r.violation !== undefined) {
    const m = r.minimal ?? r.violation;
    return `violation (${m.kind}) after ${r.schedules} schedule(s); minimal schedule ${m.schedule} with ${m.preemptions} preemption(s)`;
  }
  if (r.exhausted) {
    return `clean: all ${r.schedules} schedules with at most ${r.bound} preemptions, none violates`;
  }
  return `no violation in ${r.schedules} schedules (the search stopped before exhausting the bound)`;
}

/**
 * The trace as a driver author reads it: the notifier core's own bookkeeping (spinlocks, the
 * acquired half of each lock, wait-queue traffic, the hmm core's internal locks and page-walk
 * steps) left out; syscalls, invalidations, hmm_range_fault's result, mmap_sem, driver locks and
 * everything the driver itself traces kept.
 */
export function driverView(trace: TraceRecord): TraceRecord {
  const noise = (kind: string, label: string): boolean =>
    kind === 'lock.acquired' ||
    kind.startsWith('lock.spin_') ||
    kind.startsWith('wait.') ||
    kind === 'mmu_notifier.invalidateRangeStart' ||
    kind === 'mmu_notifier.invalidateRangeEnd' ||
    (kind.startsWith('lock.') && /^(hmm\.|mmn_mm|srcu)/.test(label)) ||
    (kind === 'hmm.range_fault' && /^(check_retry|walk_page_range)/.test(label));
  return { ...trace, events: trace.events.filter((e) => !noise(e.kind, e.label)) };
}

/**
 * The minimal violation's per-CPU trace as text ('' when there is none), in the driver view
 * unless `full`.
 */
export function minimalTrace(r: ExploreResult, full = false): string {
  if (r.trace === undefined) return '';
  return formatTraceTable(full ? r.trace : driverView(r.trace));
}

/** The minimal violation (throws when the scenario was clean: the caller expected a failure). */
export function minimalViolation(r: ExploreResult): Violation {
  const v = r.minimal ?? r.violation;
  if (v === undefined) throw new Error(`${r.scenario}: expected a violation; ${verdict(r)}`);
  return v;
}
