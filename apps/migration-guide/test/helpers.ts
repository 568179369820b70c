/**
 * Helpers shared by the guide's tests: catalogue lookups, bounded exploration of a one-scenario
 * entry, and assertions that trace rows appear in a given order.
 */
import type { ExploreResult } from '@hmmsim/explorer';
import { expect } from 'vitest';
import { findEntry } from '../src/catalog.ts';
import type { GuideEntry } from '../src/catalog-types.ts';
import { exploreBounded } from '../src/harness/check.ts';
import type { EntryRun } from '../src/run.ts';
import { SVM_CHECK_NAMES } from '../src/svm/catalog.ts';

/** The catalogue entry `id` (throws when it is missing). */
export function entry(id: string): GuideEntry {
  const e = findEntry(id);
  if (e === undefined) throw new Error(`no catalogue entry ${id}`);
  return e;
}

/** Explore the one scenario of entry `id` at the guide's bound. */
export async function exploreOnly(id: string): Promise<ExploreResult> {
  const [s, ...rest] = entry(id).scenarios(undefined);
  expect(rest).toHaveLength(0);
  return exploreBounded(s!);
}

/** The minimal run's trace as "task: kind label" rows. */
export function rows(r: ExploreResult): string[] {
  return (r.trace?.events ?? []).map((e) => `${e.taskName}: ${e.kind} ${e.label}`);
}

/** Each pattern matches some row, each after the previous one's. */
export function expectInOrder(all: readonly string[], patterns: readonly RegExp[]): void {
  let at = 0;
  for (const p of patterns) {
    const i = all.findIndex((row, k) => k >= at && p.test(row));
    expect(
      i,
      `no row matching ${p} after row ${at}:\n${all.slice(at).join('\n')}`,
    ).toBeGreaterThanOrEqual(0);
    at = i + 1;
  }
}

/** Each pattern matches the trace text, each after the previous one's match. */
export function expectRowsInOrder(text: string, patterns: readonly RegExp[]): void {
  const rows = text.split('\n');
  let at = 0;
  for (const p of patterns) {
    const i = rows.findIndex((r, k) => k >= at && p.test(r));
    expect(i, `trace row ${p} after row ${at}`).toBeGreaterThanOrEqual(0);
    at = i + 1;
  }
}

/** The entry ran, as the guide says, with violations exactly in the checks `want`. */
export function expectChecks(r: EntryRun, id: string, want: readonly string[]): void {
  expect(r.runs.map((x) => x.scenario)).toEqual(SVM_CHECK_NAMES.map((c) => `guide-${id}-${c}`));
  for (const run of r.runs) {
    const check = run.scenario.replace(`guide-${id}-`, '');
    if (want.includes(check)) expect(run.result.violation, run.scenario).toBeDefined();
    else {
      expect(run.result.violation?.message, run.scenario).toBeUndefined();
      expect(run.result.exhausted, run.scenario).toBe(true);
    }
  }
  expect(r.asExpected).toBe(true);
}
