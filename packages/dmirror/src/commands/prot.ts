/**
 * The snapshot byte of one `hmm_pfns` entry: ERROR or NONE alone, or `base | (WRITE or READ) |
 * (PMD or PUD)`, where base is DEV_PRIVATE_LOCAL/REMOTE for a device-private page of this or
 * another device, ZERO for the shared zero page, NONE for an ordinary system page, and the
 * mapping size comes from hmm_pfn_to_map_order() (always 0 on a v5.8 build).
 *
 * Mirrors lib/test_hmm.c:dmirror_mkentry().
 */
import {
  HMM_PFN_ERROR,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnToMapOrder,
  hmmPfnToPage,
} from '@hmmsim/hmm-range/v5.9';
import { PAGE_SHIFT, PMD_SHIFT, PUD_SHIFT } from '@hmmsim/kernel';
import { isDevicePrivatePage } from '@hmmsim/migrate';
import { dmirrorPageToDevice } from '../devmem/dmirror-chunk.ts';
import type { Dmirror } from '../dmirror.ts';
import {
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_PUD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
} from '../uapi.ts';

/** The base value of a valid entry's page. */
function baseOf(dmirror: Dmirror, page: number): number {
  const machine = dmirror.mdevice.machine;
  if (isDevicePrivatePage(machine, page)) {
    return dmirrorPageToDevice(machine, page) === dmirror.mdevice
      ? HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL
      : HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
  }
  return page === machine.phys.zeroPfn ? HMM_DMIRROR_PROT_ZERO : HMM_DMIRROR_PROT_NONE;
}

/** PMD or PUD for a page mapped at that size, else 0. */
function sizeOf(e: number): number {
  const shift = hmmPfnToMapOrder(e) + PAGE_SHIFT;
  if (shift === PMD_SHIFT) return HMM_DMIRROR_PROT_PMD;
  if (shift === PUD_SHIFT) return HMM_DMIRROR_PROT_PUD;
  return 0;
}

/**
 * The HMM_DMIRROR_PROT_* byte of `hmm_pfns` entry `e`. Mirrors lib/test_hmm.c:dmirror_mkentry().
 */
export function dmirrorMkentry(dmirror: Dmirror, e: number): number {
  if ((e & HMM_PFN_ERROR) !== 0) return HMM_DMIRROR_PROT_ERROR;
  if ((e & HMM_PFN_VALID) === 0) return HMM_DMIRROR_PROT_NONE;
  const perm = baseOf(dmirror, hmmPfnToPage(e));
  const access = (e & HMM_PFN_WRITE) !== 0 ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
  return perm | access | sizeOf(e);
}
