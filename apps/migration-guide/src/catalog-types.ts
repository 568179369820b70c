/**
 * What the guide's catalogue holds: every runnable example (a driver at one step of the port) and
 * every pitfall (a mutant driver, with the example that fixes it). `hmmsim guide list` prints it,
 * `hmmsim guide run <id>` runs an entry's scenarios, and the tests run all of them.
 */
import type { Scenario } from '@hmmsim/explorer';

/** The mirroring implementation a v5.4 (hmm_mirror) driver runs on. */
export type GuideImpl = 'legacy' | 'shim';

/** One runnable entry of the guide. */
export interface GuideEntry {
  /** Stable id used by `hmmsim guide run` (kebab-case: 'svm-v5.4', 'pitfall-forgot-set-seq'). */
  readonly id: string;
  readonly kind: 'example' | 'pitfall';
  /** The chapter file it belongs to ('02-…md' without the extension). */
  readonly chapter: string;
  /** One line: what this driver is or what mistake it makes. */
  readonly title: string;
  /** Its source file, relative to apps/migration-guide. */
  readonly file: string;
  /** For drivers written against hmm_mirror: the implementations it runs on (first = default). */
  readonly impls?: readonly GuideImpl[];
  /** What the explorer must find on this entry, per implementation (default: the same for all). */
  readonly expect: 'violation' | 'pass' | Readonly<Record<GuideImpl, 'violation' | 'pass'>>;
  /** Its scenarios (one per invalidation it is checked against) on `impl`. */
  scenarios(impl: GuideImpl | undefined): readonly Scenario[];
  /** Pitfalls: the id of the example with the mistake fixed. */
  readonly fixedBy?: string;
  /** Pitfalls: where it happened or where the rule was stated (kernel commit, Message-ID). */
  readonly source?: string;
}

/** What `entry` must show on `impl`. */
export function expectationOf(
  entry: GuideEntry,
  impl: GuideImpl | undefined,
): 'violation' | 'pass' {
  if (typeof entry.expect === 'string') return entry.expect;
  return entry.expect[impl ?? entry.impls?.[0] ?? 'legacy'];
}
