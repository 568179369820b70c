/**
 * An hmm_range as the dmirror uses it, plus the mapping order of each page (0, or 9 for a page
 * mapped by a huge PMD) that v5.7+ hmm_range_fault() reports in the entry and the snapshot
 * needs for its PMD bit.
 *
 * Mirrors lib/test_hmm.c's struct hmm_range locals with hmm_pfn_to_map_order() (v5.13+).
 */
import type { HmmRange } from '@hmmsim/hmm-range';
import { PAGE_SIZE } from '@hmmsim/kernel';
import { dmirrorHmmRange } from './pfn-encoding.ts';

/** A range and the map order of each of its pages. Mirrors: model-only. */
export interface DmirrorRange {
  readonly range: HmmRange;
  readonly order: Uint8Array;
}

/** A DmirrorRange over `[start, end)` with `defaultFlags` requests. Model helper. */
export function createDmirrorRange(start: number, end: number, defaultFlags: number): DmirrorRange {
  const range = dmirrorHmmRange(start, end, defaultFlags);
  return { range, order: new Uint8Array((end - start) / PAGE_SIZE) };
}

/** Number of pages of the range. Model helper. */
export function dmirrorRangePages(dr: DmirrorRange): number {
  return (dr.range.end - dr.range.start) / PAGE_SIZE;
}
