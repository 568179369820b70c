/**
 * The checker of a range that is about to be given to hmm_range_fault() (or is between its
 * read_begin and the locked read_retry): every field holds a value a C struct hmm_range could,
 * the bounds are a non-empty page-aligned range, the entry array covers it, and — the states the
 * call itself would not notice in the kernel — its interval notifier is still inserted (not
 * removed) and covers [start, end). Returns human-readable violations (empty = fine); the
 * `assert…` form throws a KernelBugError listing them. For tests, the explorer and fuzzers.
 *
 * Mirrors: model-only (what hmm_range_fault()'s callers must guarantee, per
 * Documentation/vm/hmm.rst).
 */
import { isUlong, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { HMM_PFN_FLAG_MAX_V57 } from './hmm-generation.ts';
import { type HmmPfnsRange, isHmmPfnsRange } from './hmm-pfns-range.ts';
import { HMM_PFN_FLAG_MAX, type HmmRange, hmmRangeCheckTables } from './hmm-range.ts';
import { hmmRangeNotifierProblem } from './hmm-range-notifier.ts';

/** A range's number fields that must be unsigned longs. */
const ULONG_FIELDS = ['start', 'end', 'defaultFlags', 'pfnFlagsMask'] as const;

/**
 * Every violation of `range` (see the file comment). `flagMax` is the size of the driver flags
 * table (3 up to v5.5, 2 in v5.7; by default 2 for a two-entry table, else 3); ignored for an
 * hmm_pfns range. Model helper.
 */
export function hmmRangeViolations(range: HmmRange | HmmPfnsRange, flagMax?: number): string[] {
  if (typeof range !== 'object' || range === null) return ['hmm_range: not a range object'];
  const errs: string[] = [];
  for (const f of ULONG_FIELDS) {
    const v = range[f];
    if (!isUlong(v)) errs.push(`hmm_range: ${f} is ${String(v)}, not an unsigned long`);
  }
  const { start, end } = range;
  const bounded = isUlong(start) && isUlong(end);
  if (bounded && (start % PAGE_SIZE !== 0 || end % PAGE_SIZE !== 0 || start >= end)) {
    errs.push(
      `hmm_range: [0x${start.toString(16)}, 0x${end.toString(16)}) is not a non-empty page-aligned range`,
    );
  }
  const pfnsRange = isHmmPfnsRange(range);
  if (!pfnsRange) {
    try {
      const flags: unknown = range.flags;
      const two = Array.isArray(flags) && flags.length === HMM_PFN_FLAG_MAX_V57;
      hmmRangeCheckTables(
        range,
        flagMax ?? (two ? HMM_PFN_FLAG_MAX_V57 : HMM_PFN_FLAG_MAX),
        'hmm_range',
      );
    } catch (error) {
      errs.push(error instanceof Error ? error.message : String(error));
    }
  }
  const entries: unknown = pfnsRange ? range.hmmPfns : (range as HmmRange).pfns;
  const name = pfnsRange ? 'hmmPfns' : 'pfns';
  if (!(entries instanceof Float64Array)) {
    errs.push(`hmm_range: ${name} is not a Float64Array`);
  } else if (bounded && start < end) {
    const npages = Math.ceil((end - start) / PAGE_SIZE);
    if (entries.length < npages) {
      errs.push(`hmm_range: ${name} has ${entries.length} entries for ${npages} pages`);
    }
    const n = Math.min(npages, entries.length);
    for (let i = 0; i < n; i++) {
      if (!isUlong(entries[i])) {
        errs.push(`hmm_range: ${name}[${i}] is ${entries[i]}, not an entry (a safe integer >= 0)`);
        break;
      }
    }
  }
  if (range.notifier !== null) {
    if (!isUlong(range.notifierSeq)) {
      errs.push(`hmm_range: notifierSeq is ${String(range.notifierSeq)}, not an unsigned long`);
    }
    const problem = hmmRangeNotifierProblem(range);
    if (problem !== undefined) errs.push(`hmm_range: ${problem}`);
  } else if (!pfnsRange && typeof (range as HmmRange).valid !== 'boolean') {
    errs.push(`hmm_range: valid is ${String((range as HmmRange).valid)}, not a boolean`);
  }
  return errs;
}

/**
 * Throw a KernelBugError listing every violation of `range` (hmmRangeViolations()).
 * Model helper.
 */
export function assertHmmRangeInvariants(range: HmmRange | HmmPfnsRange, flagMax?: number): void {
  const errs = hmmRangeViolations(range, flagMax);
  if (errs.length > 0)
    throw new KernelBugError(`hmm_range invariants violated:\n  ${errs.join('\n  ')}`);
}
