/**
 * Handing a hmm_mirror build's results to the device's commit code, which reads the v5.8+
 * `hmm_pfns` layout as lib/test_hmm.c does: a driver-table entry becomes HMM_PFN_ERROR, 0 (not
 * valid) or pfn | HMM_PFN_VALID [| HMM_PFN_WRITE] [| map order]. Call with mmap_sem still held
 * when orders are read (a snapshot).
 *
 * Mirrors: model-only (the conversion a v5.4 driver would not need: it decoded its own tables).
 */
import { type HmmRange, hmmPfnMake } from '@hmmsim/hmm-range';
import { HMM_PFN_ERROR, HMM_PFN_VALID, HMM_PFN_WRITE } from '@hmmsim/hmm-range/v5.9';
import { PAGE_SIZE } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { cpuMapOrder } from './map-order.ts';
import { entryError, entryPfn, entryValid, entryWrite } from './pfn-encoding.ts';

/**
 * The `hmm_pfns` entry of driver-table entry `e` mapped with `order`. Mirrors: model-only (see the
 * file comment).
 */
export function tableEntryToHmmPfn(e: number, order: number): number {
  if (entryError(e)) return HMM_PFN_ERROR;
  if (!entryValid(e)) return 0;
  return hmmPfnMake(entryPfn(e), HMM_PFN_VALID | (entryWrite(e) ? HMM_PFN_WRITE : 0) | order);
}

/**
 * Convert every entry of `range.pfns` into `out`; with `mm`, valid entries get the order of their
 * CPU mapping (cpuMapOrder), else order 0. Mirrors: model-only.
 */
export function tableRangeToHmmPfns(range: HmmRange, out: Float64Array, mm: MmStruct | null): void {
  const pfns = range.pfns;
  for (let i = 0; i < pfns.length; i++) {
    const e = pfns[i] as number;
    const order = mm !== null && entryValid(e) ? cpuMapOrder(mm, range.start + i * PAGE_SIZE) : 0;
    out[i] = tableEntryToHmmPfn(e, order);
  }
}
