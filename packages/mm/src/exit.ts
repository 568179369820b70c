/**
 * Address-space teardown: mmput and exit_mmap. The notifier release runs first, before any
 * page is freed; then everything is zapped in one MMU_NOTIFY_UNMAP `[0, ULONG_MAX)` bracket,
 * page tables are freed, and the gathered pages are freed last. Mirrors kernel/fork.c:mmput() and
 * mm/mmap.c:exit_mmap().
 */
import { accessReporting, KernelBugError, noteWrite, ULONG_MAX, VADDR_LIMIT } from '@hmmsim/kernel';
import { checkMm } from './check-args.ts';
import { tlbFinishMmu, tlbGatherMmu, unmapVmas } from './memory.ts';
import { type MmStruct, mmdrop } from './mm-struct.ts';
import { mmuNotifierRelease } from './mmu-notifier-hooks.ts';
import { freePgtables } from './munmap.ts';
import { vmaUnlinkList } from './vma.ts';

/**
 * Tear down the address space (mm_users is 0): notifier release, UNMAP of everything, free page
 * tables and pages, drop the vmas. KernelBugError, changing nothing, if it already exited or
 * still has users (only mmput() reaches it in the kernel). Mirrors mm/mmap.c:exit_mmap().
 */
export async function exitMmap(mm: MmStruct): Promise<void> {
  checkMm('exit_mmap', mm);
  if (mm.exited) throw new KernelBugError(`exit_mmap: mm${mm.id} already exited`);
  if (mm.mmUsers !== 0) {
    throw new KernelBugError(
      `exit_mmap: mm${mm.id} still has mm_users ${mm.mmUsers}; expected 0 (tear an mm down with mmput())`,
    );
  }
  await mmuNotifierRelease(mm);
  const vmas = [...mm.vmas];
  if (vmas.length > 0) {
    const tlb = tlbGatherMmu(mm, 0, ULONG_MAX);
    await unmapVmas(tlb, vmas, 0, ULONG_MAX);
    freePgtables(mm, vmas, 0, VADDR_LIMIT);
    tlbFinishMmu(tlb);
    for (const v of vmas) vmaUnlinkList(mm, v);
  }
  mm.exited = true;
  if (accessReporting) noteWrite(mm.machine.mms);
  mm.machine.mms.delete(mm);
}

/**
 * Drop an mm_users reference; the last one tears the address space down (exitMmap) and drops
 * the mm_count reference that mm_users held. Mirrors kernel/fork.c:mmput().
 */
export async function mmput(mm: MmStruct): Promise<void> {
  checkMm('mmput', mm);
  if (mm.mmUsers <= 0) {
    throw new KernelBugError(
      `mmput: mm${mm.id} has mm_users ${mm.mmUsers}; expected a reference to drop (mmput twice?)`,
    );
  }
  mm.mmUsers--;
  if (mm.mmUsers === 0) {
    await exitMmap(mm);
    mmdrop(mm);
  }
}
