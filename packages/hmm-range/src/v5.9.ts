/**
 * The hmm_range_fault() API of v5.9: v5.8's plus the order of the CPU mapping in every entry
 * (`hmmPfnToMapOrder`, 9 for a page mapped by a PMD), with HMM_PFN_FLAGS now the whole flag byte.
 *
 * Mirrors include/linux/hmm.h (v5.9).
 */
import { hmmRangeFault as hmmRangeFaultAny } from './hmm-fault.ts';
import { hmmFixVersion } from './hmm-generation.ts';
import { HMM_PFN_FLAGS_V59 } from './hmm-pfns.ts';
import type { HmmPfnsRange } from './hmm-pfns-range.ts';

export { HMM_RANGE_DEFAULT_TIMEOUT } from './hmm-range.ts';

import type { HmmRangeFaultPfnsOptions } from './v5.8.ts';

export {
  HMM_PFN_ERROR,
  HMM_PFN_ORDER_SHIFT,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnFormat,
  hmmPfnToKernelWord,
  hmmPfnToMapOrder,
  hmmPfnToPage,
} from './hmm-pfns.ts';
export {
  createHmmPfnsRange as createHmmRange,
  type HmmPfnsRange as HmmRange,
  type HmmPfnsRangeInit as HmmRangeInit,
} from './hmm-pfns-range.ts';
export type { HmmRangeFaultPfnsOptions } from './v5.8.ts';

/** The whole flag byte, map order included. Mirrors include/linux/hmm.h:HMM_PFN_FLAGS (v5.9). */
export const HMM_PFN_FLAGS = HMM_PFN_FLAGS_V59;

/**
 * hmm_range_fault() of v5.9: as v5.8, with the map order set in PMD- and PUD-mapped entries.
 * Mirrors mm/hmm.c:hmm_range_fault() (v5.9).
 */
export function hmmRangeFault(
  range: HmmPfnsRange,
  opts: HmmRangeFaultPfnsOptions = {},
): Promise<number> {
  return hmmRangeFaultAny(range, hmmFixVersion(opts, '5.9'));
}
