/**
 * The hmm_range_fault() API of v5.7, under its kernel names: `hmmRangeFault(range)` with no flags
 * argument (a snapshot is a range that requests nothing: defaultFlags and pfnFlagsMask without
 * flags[HMM_PFN_VALID]), the driver flags table without HMM_PFN_DEVICE_PRIVATE
 * (HMM_PFN_FLAG_MAX = 2), `devPrivateOwner` on the range (a device-private page is reported only
 * when its dev_pagemap.owner matches), the values table and pfnShift, a page count returned.
 *
 * Mirrors include/linux/hmm.h (v5.7).
 */
import { hmmRangeFault as hmmRangeFaultAny } from './hmm-fault.ts';
import { HMM_PFN_FLAG_MAX_V57, hmmFixVersion } from './hmm-generation.ts';
import type { HmmQuirks, HmmRange, HmmRangeFaultOptions } from './hmm-range.ts';

export {
  hmmDeviceEntryFromPfn,
  hmmDeviceEntryToPage,
  hmmDeviceEntryToPfn,
  hmmEntryComplement,
} from './hmm-pfn.ts';
export {
  createHmmRange,
  HMM_PFN_ERROR,
  HMM_PFN_NONE,
  HMM_PFN_SPECIAL,
  HMM_PFN_VALID,
  HMM_PFN_VALUE_MAX,
  HMM_PFN_WRITE,
  HMM_RANGE_DEFAULT_TIMEOUT,
  type HmmRange,
  type HmmRangeInit,
} from './hmm-range.ts';

/** Number of flag indexes (VALID, WRITE). Mirrors include/linux/hmm.h:HMM_PFN_FLAG_MAX (v5.7). */
export const HMM_PFN_FLAG_MAX = HMM_PFN_FLAG_MAX_V57;

/** Options of the v5.7 call: quirk overrides and the fault handler (the version is fixed). */
export type HmmRangeFaultV57Options = Omit<HmmRangeFaultOptions, 'version'> & {
  readonly quirks?: Partial<HmmQuirks>;
};

/**
 * hmm_range_fault() of v5.7: fault or snapshot `range` as its requests ask; the number of pages
 * processed, or -EBUSY (collision), -EFAULT, -EPERM, -EINVAL. Mirrors mm/hmm.c:hmm_range_fault() (v5.7).
 */
export function hmmRangeFault(
  range: HmmRange,
  opts: HmmRangeFaultV57Options = {},
): Promise<number> {
  return hmmRangeFaultAny(range, hmmFixVersion(opts, '5.7'));
}
