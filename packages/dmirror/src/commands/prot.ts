/**
 * The snapshot byte of one page: ERROR or NONE alone, or `base | (WRITE or READ) | (PMD/PUD)`,
 * where base is ZERO for the shared zero page, DEV_PRIVATE_LOCAL/REMOTE for a device-private page
 * of this or another device, NONE for an ordinary system page.
 *
 * Mirrors lib/test_hmm.c:dmirror_mkentry().
 */
import { HPAGE_PMD_ORDER } from '@hmmsim/kernel';
import { isDevicePrivatePage } from '@hmmsim/migrate';
import { dmirrorPageToDevice } from '../devmem/dmirror-chunk.ts';
import type { Dmirror } from '../dmirror.ts';
import { entryError, entryPfn, entryValid, entryWrite } from '../range/pfn-encoding.ts';
import {
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
} from '../uapi.ts';

/** The base value of a valid entry's page. */
function baseOf(dmirror: Dmirror, pfn: number): number {
  const machine = dmirror.mdevice.machine;
  if (isDevicePrivatePage(machine, pfn)) {
    return dmirrorPageToDevice(machine, pfn) === dmirror.mdevice
      ? HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL
      : HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
  }
  return pfn === machine.phys.zeroPfn ? HMM_DMIRROR_PROT_ZERO : HMM_DMIRROR_PROT_NONE;
}

/**
 * The HMM_DMIRROR_PROT_* byte of entry `e` mapped with `order` (0, or 9 for a PMD).
 * Mirrors lib/test_hmm.c:dmirror_mkentry().
 */
export function dmirrorMkentry(dmirror: Dmirror, e: number, order: number): number {
  if (entryError(e)) return HMM_DMIRROR_PROT_ERROR;
  if (!entryValid(e)) return HMM_DMIRROR_PROT_NONE;
  let perm = baseOf(dmirror, entryPfn(e));
  perm |= entryWrite(e) ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
  if (order === HPAGE_PMD_ORDER) perm |= HMM_DMIRROR_PROT_PMD;
  return perm;
}
