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

/** The minimal violation's per-CPU trace as text ('' when there is none). */
export function minimalTrace(r: ExploreResult): string {
  return r.trace === undefined ? '' : formatTraceTable(r.trace);
}

/** The minimal violation (throws when the scenario was clean: the caller expected a failure). */
export function minimalViolation(r: ExploreResult): Violation {
  const v = r.minimal ?? r.violation;
  if (v === undefined) throw new Error(`${r.scenario}: expected a violation; ${verdict(r)}`);
  return v;
}
