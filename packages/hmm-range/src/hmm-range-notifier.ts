/**
 * Where a range's collision detection comes from, checked before hmm_range_fault() relies on it:
 * an interval notifier that is inserted (between mmu_interval_notifier_insert() and the return of
 * mmu_interval_notifier_remove()) and covers the whole range, or — v5.4/seed/v5.5 only — the
 * legacy struct hmm set by hmm_range_register(). A range on a removed notifier would never see an
 * invalidation again (nothing bumps a removed notifier's sequence), and a notifier that misses
 * part of the range is not called for invalidations of that part: both silently turn collision
 * detection off, so both are KernelBugErrors here. The kernel checks neither; drivers that do
 * this have a use-after-remove or a stale-mapping bug.
 *
 * Mirrors the seed's `range->notifier ? range->notifier->mm : range->hmm->mmu_notifier.mm` in
 * mm/hmm.c, with the model's checks of what it dereferences.
 */
import {
  accessReporting,
  InvalidArgumentError,
  isUlong,
  KernelBugError,
  noteRead,
} from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { MmuIntervalNotifier } from '@hmmsim/mmu-notifier';
import type { HmmPfnsRange } from './hmm-pfns-range.ts';
import type { HmmRange } from './hmm-range.ts';

const hex = (n: number): string => (isUlong(n) ? `0x${n.toString(16)}` : String(n));

/**
 * What is wrong with the interval notifier of `range` (a non-null `range.notifier`), or
 * undefined when it is inserted and covers [start, end). Model helper (shared with the range
 * checker, hmmRangeViolations()).
 */
export function hmmRangeNotifierProblem(range: HmmRange | HmmPfnsRange): string | undefined {
  if (accessReporting) noteRead(range);
  const mni = range.notifier;
  if (!(mni instanceof MmuIntervalNotifier)) {
    return `range.notifier is ${typeof mni === 'object' ? 'not an MmuIntervalNotifier' : `a ${typeof mni}`}`;
  }
  if (accessReporting) noteRead(mni); // mm, state and interval change with insert/remove on other CPUs
  if (mni.mm === null) return 'range.notifier is not inserted (its mm is NULL)';
  if (mni.state === 'idle') {
    return `range.notifier is not inserted: it was removed from mm${mni.mm.id} (mmu_interval_notifier_remove() returned), so no invalidation can reach it any more`;
  }
  const { start, end } = range;
  if (isUlong(start) && isUlong(end) && start < end) {
    if (start < mni.itStart || end - 1 > mni.itLast) {
      return (
        `range.notifier covers [${hex(mni.itStart)}, ${hex(mni.itLast)}] but the range is [${hex(start)}, ${hex(end)}): ` +
        'invalidations of the part outside it would not be seen'
      );
    }
  }
  return undefined;
}

/**
 * The mm of `range` through its collision source (see the file comment); KernelBugError naming
 * `fn` and what was wrong, InvalidArgumentError when `range.notifier` is not a notifier at all.
 * Model helper behind hmmRangeMm().
 */
export function hmmRangeCollisionSource(range: HmmRange | HmmPfnsRange, fn: string): MmStruct {
  if (accessReporting) noteRead(range);
  if (range.notifier !== null) {
    const problem = hmmRangeNotifierProblem(range);
    if (problem !== undefined) {
      const Err =
        range.notifier instanceof MmuIntervalNotifier ? KernelBugError : InvalidArgumentError;
      throw new Err(
        `${fn}: ${problem}; expected an inserted mmu_interval_notifier covering [start, end) and notifierSeq from mmu_interval_read_begin() on it`,
      );
    }
    return range.notifier.mm as MmStruct;
  }
  const hmm = (range as HmmRange).hmm;
  // The legacy subscriber's mm is cleared by unregister/free on other CPUs (@hmmsim/mmu-notifier
  // reports it on the subscriber object).
  if (hmm !== null && hmm !== undefined) noteRead(hmm.mmuNotifier);
  const mm = hmm?.mmuNotifier.mm ?? null;
  if (mm === null) {
    throw new KernelBugError(
      `${fn}: range has neither a notifier nor a registered hmm; expected range.notifier + notifierSeq (v5.5) or hmm_range_register() (legacy)`,
    );
  }
  return mm;
}
