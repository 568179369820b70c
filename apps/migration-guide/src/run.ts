/**
 * Run a catalogue entry: explore each of its scenarios over every schedule within the guide's
 * preemption bound, and for a pitfall run the fixed version too. The report says exactly what
 * was searched ("all N schedules with at most 2 preemptions"), never more.
 */
import type { ExploreResult } from '@hmmsim/explorer';
import { InvalidArgumentError } from '@hmmsim/kernel';
import { expectationOf, type GuideEntry, type GuideImpl } from './catalog-types.ts';
import { exploreBounded, GUIDE_BOUND, minimalTrace, verdict } from './harness/check.ts';

/** One scenario's result. */
export interface ScenarioRun {
  readonly scenario: string;
  readonly description: string;
  readonly result: ExploreResult;
}

/** The result of running one entry on one implementation. */
export interface EntryRun {
  readonly entry: GuideEntry;
  readonly impl: GuideImpl | undefined;
  readonly runs: readonly ScenarioRun[];
  /** Some scenario found a violation. */
  readonly violation: boolean;
  /** The entry behaved as the guide says (its expectation on this implementation). */
  readonly asExpected: boolean;
  /** Pitfalls: the fixed version's run. */
  readonly fixed: EntryRun | undefined;
}

/** Options of runEntry. */
export interface RunEntryOptions {
  /** The implementation for an hmm_mirror driver (default its first). */
  readonly impl?: GuideImpl;
  /** DFS preemption bound (default GUIDE_BOUND = 2). */
  readonly bound?: number;
  /** Look up another entry (a pitfall's fix). */
  readonly lookup?: (id: string) => GuideEntry | undefined;
}

/** Throw unless `impl` is one of the entry's implementations. */
function checkImpl(entry: GuideEntry, impl: GuideImpl | undefined): void {
  if (impl === undefined) return;
  if (entry.impls === undefined) {
    throw new InvalidArgumentError(
      `guide ${entry.id}: --impl ${impl} given, but this driver is not written against hmm_mirror; it runs on one implementation only`,
    );
  }
  if (!entry.impls.includes(impl)) {
    throw new InvalidArgumentError(
      `guide ${entry.id}: --impl ${impl}; expected one of ${entry.impls.join(', ')}`,
    );
  }
}

/** Explore every scenario of `entry` (and its fix, for a pitfall). */
export async function runEntry(entry: GuideEntry, opts: RunEntryOptions = {}): Promise<EntryRun> {
  checkImpl(entry, opts.impl);
  const impl = opts.impl ?? entry.impls?.[0];
  const bound = opts.bound ?? GUIDE_BOUND;
  const runs: ScenarioRun[] = [];
  for (const scenario of entry.scenarios(impl)) {
    const result = await exploreBounded(scenario, bound);
    runs.push({ scenario: scenario.name, description: scenario.description ?? '', result });
  }
  const violation = runs.some((r) => r.result.violation !== undefined);
  const expected = expectationOf(entry, impl);
  let fixed: EntryRun | undefined;
  if (entry.fixedBy !== undefined) {
    const fix = opts.lookup?.(entry.fixedBy);
    if (fix === undefined)
      throw new Error(`guide ${entry.id}: its fix '${entry.fixedBy}' is not in the catalogue`);
    fixed = await runEntry(fix, { bound, ...(opts.lookup ? { lookup: opts.lookup } : {}) });
  }
  const asExpected =
    (expected === 'violation' ? violation : !violation) &&
    (fixed === undefined || fixed.asExpected);
  return { entry, impl, runs, violation, asExpected, fixed };
}

/** The report of a run, as `hmmsim guide run` prints it. */
export function formatEntryRun(r: EntryRun, opts: { readonly traces?: boolean } = {}): string[] {
  const e = r.entry;
  const on = r.impl === undefined ? '' : ` on ${r.impl}`;
  const out = [`${e.id}${on}: ${e.title}`];
  if (e.source !== undefined) out.push(`  source: ${e.source}`);
  for (const run of r.runs) {
    out.push(`  ${run.scenario}: ${verdict(run.result)}`);
    const v = run.result.minimal ?? run.result.violation;
    if (v !== undefined) {
      out.push(`    ${v.message.split('\n').join('\n    ')}`);
      if (opts.traces !== false) {
        out.push(
          `    the minimal run's trace (schedule ${v.schedule}; the notifier core's own locks and waits hidden):`,
        );
        out.push(
          ...minimalTrace(run.result)
            .split('\n')
            .map((l) => `    ${l}`),
        );
      }
    }
  }
  if (r.fixed !== undefined) {
    out.push(`  fixed by ${r.fixed.entry.id}:`);
    out.push(...formatEntryRun(r.fixed, opts).map((l) => `  ${l}`));
  }
  const want = expectationOf(e, r.impl);
  out.push(
    r.asExpected
      ? `${e.id}${on}: as the guide says (${want === 'violation' ? 'the explorer finds the bug' : 'clean'}${r.fixed ? '; the fix is clean' : ''})`
      : `${e.id}${on}: NOT as the guide says (expected ${want === 'violation' ? 'a violation' : 'no violation'}${r.fixed ? ' and a clean fix' : ''})`,
  );
  return out;
}
