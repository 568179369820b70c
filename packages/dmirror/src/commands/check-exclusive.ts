/**
 * HMM_DMIRROR_CHECK_EXCLUSIVE: -EPERM if any table entry of the range still carries the ATOMIC
 * tag, else 0. (EXCLUSIVE itself is not built — the v5.4 mm has no device-exclusive entries — so
 * no entry ever carries the tag and this returns 0.)
 *
 * Mirrors lib/test_hmm.c:dmirror_check_atomic().
 */
import { EPERM, PAGE_SIZE } from '@hmmsim/kernel';
import { DPT_XA_TAG_ATOMIC } from '../device-page-table.ts';
import type { Dmirror } from '../dmirror.ts';

/** 0, or -EPERM when an atomic entry survives in `[start, end)`. Mirrors dmirror_check_atomic(). */
export function dmirrorCheckAtomic(dmirror: Dmirror, start: number, end: number): number {
  const first = start / PAGE_SIZE;
  const last = end / PAGE_SIZE;
  for (const vpn of dmirror.pt.vpns()) {
    if (vpn >= first && vpn < last && dmirror.pt.load(vpn)?.tag === DPT_XA_TAG_ATOMIC)
      return -EPERM;
  }
  return 0;
}
