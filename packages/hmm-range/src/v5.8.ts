/**
 * The hmm_range_fault() API of v5.8, under its kernel names: the fixed `hmmPfns` format
 * (HMM_PFN_VALID / HMM_PFN_WRITE / HMM_PFN_ERROR out, HMM_PFN_REQ_FAULT / HMM_PFN_REQ_WRITE in;
 * see hmm-pfns.ts for the model's layout of the kernel's 64-bit word), no tables, no pfnShift, no
 * HMM_PFN_SPECIAL, `hmmPfnToPage`, and `hmmRangeFault(range)` returning 0 or -errno.
 *
 * Mirrors include/linux/hmm.h (v5.8).
 */
import { hmmRangeFault as hmmRangeFaultAny } from './hmm-fault.ts';
import { hmmFixVersion } from './hmm-generation.ts';
import { HMM_PFN_FLAGS_V58 } from './hmm-pfns.ts';
import type { HmmPfnsRange } from './hmm-pfns-range.ts';

export { HMM_RANGE_DEFAULT_TIMEOUT } from './hmm-range.ts';

import type { HmmQuirks, HmmRangeFaultOptions } from './hmm-range.ts';

export {
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnFormat,
  hmmPfnToKernelWord,
  hmmPfnToPage,
} from './hmm-pfns.ts';
export {
  createHmmPfnsRange as createHmmRange,
  type HmmPfnsRange as HmmRange,
  type HmmPfnsRangeInit as HmmRangeInit,
} from './hmm-pfns-range.ts';

/** Every output flag (VALID | WRITE | ERROR). Mirrors include/linux/hmm.h:HMM_PFN_FLAGS (v5.8). */
export const HMM_PFN_FLAGS = HMM_PFN_FLAGS_V58;

/** Options of the v5.8+ call: quirk overrides and the fault handler (the version is fixed). */
export type HmmRangeFaultPfnsOptions = Omit<HmmRangeFaultOptions, 'version'> & {
  readonly quirks?: Partial<HmmQuirks>;
};

/**
 * hmm_range_fault() of v5.8: fill `range.hmmPfns`; 0, or -EBUSY (collision: take a new
 * sequence, re-initialise the requests, retry), -EFAULT, -EPERM, -EINVAL.
 * Mirrors mm/hmm.c:hmm_range_fault() (v5.8).
 */
export function hmmRangeFault(
  range: HmmPfnsRange,
  opts: HmmRangeFaultPfnsOptions = {},
): Promise<number> {
  return hmmRangeFaultAny(range, hmmFixVersion(opts, '5.8'));
}
