/**
 * The reference driver one generation earlier: the same device on v5.7's hmm_range_fault() —
 * the one-argument call and devPrivateOwner are there already, but the entries still use the
 * driver's own format (a flags table, a values table and a pfn shift) and the call returns the
 * number of pages it walked. Only the fault path differs from src/pitfalls/reference.ts; the
 * chapter's diff of the two `range-fault` regions is the v5.7 → v5.8 port (2733ea144dcc,
 * be957c886d92).
 */
import {
  createHmmRange,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  HMM_RANGE_DEFAULT_TIMEOUT,
  type HmmRange,
  hmmDeviceEntryToPfn,
  hmmRangeFault,
} from '@hmmsim/hmm-range/v5.7';
import {
  downRead,
  EBUSY,
  EFAULT,
  msecsToJiffies,
  mutexLock,
  mutexUnlock,
  PAGE_SIZE,
  ULONG_MAX,
  upRead,
} from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { mmuIntervalReadBegin, mmuIntervalReadRetry } from '@hmmsim/mmu-notifier';
import { Dmirror, type DmirrorOptions, REFERENCE_OPS } from './reference.ts';

/** The entry bit "maps a page". Mirrors: model-only (a driver-defined v5.7 flag, as nouveau's NVIF_VMM_PFNMAP_V0_V). */
export const DMIRROR_V57_V = 0x1;
/** The entry bit "writable". Mirrors: model-only (as nouveau's NVIF_VMM_PFNMAP_V0_W). */
export const DMIRROR_V57_W = 0x2;
/** flags[] of the v5.7 range: VALID, WRITE. Mirrors the `flags` table a v5.7 driver hands to struct hmm_range. */
export const DMIRROR_V57_FLAGS: readonly number[] = Object.freeze([DMIRROR_V57_V, DMIRROR_V57_W]);
/** values[] of the v5.7 range: ERROR, NONE, SPECIAL (no VALID bit in any). Mirrors the `values` table of a v5.7 driver. */
export const DMIRROR_V57_VALUES: readonly number[] = Object.freeze([0x4, 0, 0x8]);
/** Where the pfn starts in an entry. Mirrors the `pfn_shift` of a v5.7 driver (nouveau: 12). */
export const DMIRROR_V57_PFN_SHIFT = 12;

// #region do-fault
/**
 * Program the device page table from a current snapshot in the driver's entry format; call with
 * the mutex held. 0, or -EFAULT when an entry is not a page or a write access got a read-only one.
 * Mirrors lib/test_hmm.c:dmirror_do_fault(), in the v5.7 entry format.
 */
export async function dmirrorDoFault(
  dmirror: Dmirror,
  range: HmmRange,
  write: boolean,
): Promise<number> {
  const sched = dmirror.mm.machine.sched;
  const first = (range.start - dmirror.dev.start) / PAGE_SIZE;
  for (let i = 0; i < range.pfns.length; i++) {
    const e = range.pfns[i] as number;
    const pfn = hmmDeviceEntryToPfn(range, e);
    if (pfn === ULONG_MAX) return -EFAULT;
    const writable = (e & range.flags[HMM_PFN_WRITE]!) !== 0;
    if (write && !writable) return -EFAULT;
    await sched.point({ kind: 'dmirror.program', label: 'device page-table write' });
    if (dmirror.devmem?.owns(pfn) === true) dmirror.vram.set(first + i, pfn);
    else dmirror.dev.set(first + i, pfn, writable);
    dmirror.stats.programmed++;
  }
  return 0;
}
// #endregion do-fault

// #region range-fault
/**
 * Fault `[start, end)` of the process into the device: loop until a snapshot is known to be
 * current, then program the device from it under the mutex. 0, -EBUSY when the deadline passed,
 * or the errno of hmm_range_fault() / dmirrorDoFault().
 * Mirrors lib/test_hmm.c:dmirror_range_fault() written against v5.7 (as nouveau_range_fault() was).
 */
export async function dmirrorRangeFault(
  dmirror: Dmirror,
  start: number,
  end: number,
  write: boolean,
): Promise<number> {
  const mm = dmirror.mm;
  const range = createHmmRange({
    notifier: dmirror.notifier,
    start,
    end,
    flags: DMIRROR_V57_FLAGS,
    values: DMIRROR_V57_VALUES,
    pfnShift: DMIRROR_V57_PFN_SHIFT,
    pfnFlagsMask: DMIRROR_V57_V | DMIRROR_V57_W,
    devPrivateOwner: dmirror.owner,
  });
  const clock = mm.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  for (;;) {
    // mmu_interval_read_begin() never gives up by itself: the time bound is ours.
    if (clock.jiffies > timeout) return -EBUSY;
    // The sequence first: any change to the page tables after this point is seen below.
    range.notifierSeq = await mmuIntervalReadBegin(dmirror.notifier);
    // hmm_range_fault() overwrites requests with results: write them on every pass.
    range.pfns.fill(range.flags[HMM_PFN_VALID]! | (write ? range.flags[HMM_PFN_WRITE]! : 0));
    dmirror.stats.passes++;
    await downRead(mm.mmapSem);
    const ret = await hmmRangeFault(range, dmirror.hmmOptions);
    upRead(mm.mmapSem);
    // Up to v5.7 success is the number of pages walked; the drivers of the day treated 0 as busy.
    if (ret <= 0) {
      if (ret === 0 || ret === -EBUSY) continue;
      return ret;
    }
    // The check and the programming are one step for the callback, which takes the mutex.
    await mutexLock(dmirror.mutex);
    if (mmuIntervalReadRetry(dmirror.notifier, range.notifierSeq)) {
      mutexUnlock(dmirror.mutex);
      continue;
    }
    const r = await dmirrorDoFault(dmirror, range, write);
    mutexUnlock(dmirror.mutex);
    return r;
  }
}
// #endregion range-fault

/**
 * The reference driver on v5.7's hmm_range_fault().
 * Mirrors lib/test_hmm.c's driver written against the v5.7 API (nouveau_svm.c of v5.7 in shape).
 */
export class DmirrorV57 extends Dmirror {
  constructor(mm: MmStruct, start: number, npages: number, opts: DmirrorOptions = {}) {
    super(mm, start, npages, opts, { ...REFERENCE_OPS, rangeFault: dmirrorRangeFault });
  }
}
