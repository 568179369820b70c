/**
 * munmap(2): split the vmas at the range ends, detach them, downgrade mmap_sem, zap in one
 * MMU_NOTIFY_UNMAP bracket, free page tables, then free the pages. Mirrors mm/mmap.c:__do_munmap(),
 * unmap_region() and __vm_munmap().
 */
import {
  downgradeWrite,
  downWrite,
  EINVAL,
  KernelBugError,
  PAGE_SIZE,
  pageAlignUp,
  rwsemIsWriteLocked,
  TASK_SIZE,
  upRead,
  upWrite,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import { freePgdRange } from '@hmmsim/pagetable';
import { checkAddr, checkLiveMm, checkMm, checkSize } from './check-args.ts';
import { tlbFinishMmu, tlbGatherMmu, unmapVmas } from './memory.ts';
import type { MmStruct } from './mm-struct.ts';
import { unlinkAnonVmas } from './rmap.ts';
import { findVma, findVmaPrev, splitVma, type VmArea, vmaUnlinkList } from './vma.ts';

/**
 * Unmap `[addr, addr + len)`; unmapping holes is fine. Returns 0, or -EINVAL (unaligned addr,
 * zero length, range beyond TASK_SIZE) with nothing changed. Takes mmap_sem for write and
 * downgrades it to read for the zap, as Linux does. `addr` and `len` are C unsigned longs
 * (InvalidArgumentError otherwise); KernelBugError on an exited mm. Mirrors mm/mmap.c:__vm_munmap().
 */
export async function munmap(mm: MmStruct, addr: number, len: number): Promise<number> {
  checkLiveMm('munmap', mm);
  checkAddr('munmap', 'addr', addr);
  checkSize('munmap', 'len', len);
  await downWrite(mm.mmapSem);
  let ret: number;
  try {
    ret = await doMunmap(mm, addr, len, true);
  } catch (e) {
    // doMunmap may already have downgraded to read before the failure.
    if (rwsemIsWriteLocked(mm.mmapSem)) upWrite(mm.mmapSem);
    else upRead(mm.mmapSem);
    throw e;
  }
  if (ret === 1) {
    upRead(mm.mmapSem);
    return 0;
  }
  upWrite(mm.mmapSem);
  return ret;
}

/**
 * Unmap with mmap_sem held for write; with `downgrade` returns 1 after downgrading it to read.
 * Mirrors mm/mmap.c:__do_munmap().
 */
export async function doMunmap(
  mm: MmStruct,
  start: number,
  len: number,
  downgrade: boolean,
): Promise<number> {
  checkMm('doMunmap', mm);
  checkAddr('doMunmap', 'start', start);
  checkSize('doMunmap', 'len', len);
  if (!rwsemIsWriteLocked(mm.mmapSem)) {
    throw new KernelBugError(
      `doMunmap: mm${mm.id} mmap_sem is not held for write; expected the caller to hold it`,
    );
  }
  if (start % PAGE_SIZE !== 0 || start > TASK_SIZE || len > TASK_SIZE - start) return -EINVAL;
  len = pageAlignUp(len);
  const end = start + len;
  if (len === 0) return -EINVAL;
  const vma = findVma(mm, start);
  if (vma === undefined || vma.vmStart >= end) return 0;
  if (start > vma.vmStart) await splitVma(mm, vma, start, false);
  const last = findVma(mm, end);
  if (last !== undefined && end > last.vmStart) await splitVma(mm, last, end, true);
  const { prev } = findVmaPrev(mm, start);
  const detached: VmArea[] = [];
  for (let v = findVma(mm, start); v !== undefined && v.vmStart < end; v = findVma(mm, start)) {
    vmaUnlinkList(mm, v);
    detached.push(v);
  }
  const next = findVma(mm, end);
  if (downgrade) downgradeWrite(mm.mmapSem);
  await unmapRegion(mm, detached, prev, next, start, end);
  return downgrade ? 1 : 0;
}

/**
 * Zap the detached vmas (UNMAP bracket), unlink their anon_vmas, free empty page tables between
 * the neighbours, then free the gathered pages. Mirrors mm/mmap.c:unmap_region() + remove_vma_list().
 */
export async function unmapRegion(
  mm: MmStruct,
  vmas: readonly VmArea[],
  prev: VmArea | undefined,
  next: VmArea | undefined,
  start: number,
  end: number,
): Promise<void> {
  checkAddr('unmapRegion', 'start', start);
  checkAddr('unmapRegion', 'end', end);
  const tlb = tlbGatherMmu(mm, start, end);
  await unmapVmas(tlb, vmas, start, end);
  freePgtables(mm, vmas, prev?.vmEnd ?? 0, next?.vmStart ?? VADDR_LIMIT);
  tlbFinishMmu(tlb);
}

/**
 * Unlink the vmas from rmap and free page tables left empty in `[floor, ceiling)`.
 * Mirrors mm/memory.c:free_pgtables().
 */
export function freePgtables(
  mm: MmStruct,
  vmas: readonly VmArea[],
  floor: number,
  ceiling: number,
): void {
  checkMm('freePgtables', mm);
  checkAddr('freePgtables', 'floor', floor);
  checkAddr('freePgtables', 'ceiling', ceiling);
  for (const v of vmas) unlinkAnonVmas(v);
  if (floor < ceiling) freePgdRange(mm.pt, floor, Math.min(ceiling, VADDR_LIMIT));
}
