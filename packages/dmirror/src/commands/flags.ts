/**
 * HMM_DMIRROR_FLAGS: set the per-file flags word from `npages` (HMM_DMIRROR_FLAG_FAIL_ALLOC
 * makes the next large device allocation fail once; this device allocates only single pages, so
 * the flag is stored and never consumed).
 *
 * Mirrors lib/test_hmm.c (THP era): the HMM_DMIRROR_FLAGS case of dmirror_fops_unlocked_ioctl().
 */
import { accessReporting, noteWrite } from '@hmmsim/kernel';
import type { Dmirror } from '../dmirror.ts';
import type { HmmDmirrorCmd } from '../uapi.ts';

/** Store `cmd.npages` as the flags word; 0. Mirrors the HMM_DMIRROR_FLAGS ioctl. */
export function dmirrorSetFlags(dmirror: Dmirror, cmd: HmmDmirrorCmd): number {
  if (accessReporting) noteWrite(dmirror);
  dmirror.flags = cmd.npages;
  return 0;
}
