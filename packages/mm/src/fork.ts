/**
 * fork(2) of an address space: duplicate the vmas and copy the page tables, write-protecting
 * private writable (COW) mappings in both parent and child inside one MMU_NOTIFY_PROTECTION_PAGE
 * bracket per COW vma on the parent. Mirrors kernel/fork.c:dup_mm()/dup_mmap() and
 * mm/memory.c:copy_page_range()/copy_one_pte().
 */

import {
  downWrite,
  ENOMEM,
  KernelBugError,
  PAGE_SIZE,
  PMD_SIZE,
  pteIndex,
  upWrite,
} from '@hmmsim/kernel';
import {
  _PAGE_SWP_SOFT_DIRTY,
  entryIsTable,
  getPage,
  isDevicePrivateEntry,
  isMigrationEntry,
  isWriteDevicePrivateEntry,
  isWriteMigrationEntry,
  makeDevicePrivateEntryRead,
  makeMigrationEntryRead,
  nonSwapEntry,
  pmdOffset,
  pteAlloc,
  pteMkclean,
  pteMkold,
  ptePresent,
  pteSwpSoftDirty,
  pteToSwpEntry,
  pteWrite,
  pteWrprotect,
  setPte,
  swpEntryToPte,
  tableSlot,
} from '@hmmsim/pagetable';
import { checkLiveMm, checkVma } from './check-args.ts';
import { exitMmap } from './exit.ts';
import { copyHugePmd } from './huge-memory.ts';
import { addrEnd, mmCounter, nextPmdAddr, vmNormalPage } from './memory.ts';
import { addMmCounter, createMm, MM_SWAPENTS, type MmStruct, mmdrop } from './mm-struct.ts';
import {
  MMU_NOTIFY_PROTECTION_PAGE,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from './mmu-notifier-hooks.ts';
import { anonVmaFork, pageDupRmap } from './rmap.ts';
import { ptBits, ptVal } from './shared-access.ts';
import { swapDuplicate } from './swap.ts';
import {
  isCowMapping,
  VM_DONTCOPY,
  VM_LOCKED,
  VM_MIXEDMAP,
  VM_PFNMAP,
  VM_SHARED,
  VmArea,
  vmaLink,
} from './vma.ts';

/**
 * Copy one entry to the child (present, swap, migration or device-private), write-protecting
 * both sides for COW mappings. Mirrors mm/memory.c:copy_one_pte().
 */
function copyOnePte(
  dst: MmStruct,
  src: MmStruct,
  vma: VmArea,
  srcSlot: number,
  dstSlot: number,
): void {
  const machine = src.machine;
  const flags = vma.vmFlags;
  let bits = ptBits(src.pt, srcSlot);
  let val = ptVal(src.pt, srcSlot);
  if (!ptePresent(bits)) {
    const entry = pteToSwpEntry(bits, val);
    if (!nonSwapEntry(entry)) {
      swapDuplicate(machine, entry);
      addMmCounter(dst, MM_SWAPENTS, 1);
    } else if (isMigrationEntry(entry)) {
      addMmCounter(dst, mmCounter(machine, val), 1);
      if (isWriteMigrationEntry(entry) && isCowMapping(flags)) {
        const e = swpEntryToPte(makeMigrationEntryRead(entry));
        bits = e.bits | (pteSwpSoftDirty(bits) ? _PAGE_SWP_SOFT_DIRTY : 0);
        val = e.val;
        setPte(src.pt, srcSlot, bits, val);
      }
    } else if (isDevicePrivateEntry(entry)) {
      getPage(machine.phys, val);
      addMmCounter(dst, mmCounter(machine, val), 1);
      pageDupRmap(machine, val, false);
      if (isWriteDevicePrivateEntry(entry) && isCowMapping(flags)) {
        const e = swpEntryToPte(makeDevicePrivateEntryRead(entry));
        bits = e.bits;
        val = e.val;
        setPte(src.pt, srcSlot, bits, val);
      }
    }
    setPte(dst.pt, dstSlot, bits, val);
    return;
  }
  if (isCowMapping(flags) && pteWrite(bits)) {
    setPte(src.pt, srcSlot, pteWrprotect(bits), val);
    bits = pteWrprotect(bits);
  }
  if ((flags & VM_SHARED) !== 0) bits = pteMkclean(bits);
  bits = pteMkold(bits);
  const page = vmNormalPage(vma, bits, val);
  if (page >= 0) {
    getPage(machine.phys, page);
    pageDupRmap(machine, page, false);
    addMmCounter(dst, mmCounter(machine, page), 1);
  }
  setPte(dst.pt, dstSlot, bits, val);
}

/**
 * Copy the page tables of `vma` (parent) into `dst`; COW mappings get a PROTECTION_PAGE
 * invalidation of `[vm_start, vm_end)` on the parent. Vmas without anon_vma (and not PFNMAP/
 * MIXEDMAP) are skipped: the child faults them in. Returns 0 or -ENOMEM.
 * Mirrors mm/memory.c:copy_page_range().
 */
export async function copyPageRange(dst: MmStruct, src: MmStruct, vma: VmArea): Promise<number> {
  checkLiveMm('copy_page_range', dst);
  checkLiveMm('copy_page_range', src);
  checkVma('copy_page_range', vma);
  if (vma.vmMm !== src || dst === src) {
    throw new KernelBugError(
      `copy_page_range: vma of mm${vma.vmMm.id} copied from mm${src.id} to mm${dst.id}; expected a vma of src copied to another mm`,
    );
  }
  if ((vma.vmFlags & (VM_PFNMAP | VM_MIXEDMAP)) === 0 && vma.anonVma === null) return 0;
  const cow = isCowMapping(vma.vmFlags);
  const range = mmuNotifierRangeInit(
    MMU_NOTIFY_PROTECTION_PAGE,
    0,
    vma,
    src,
    vma.vmStart,
    vma.vmEnd,
  );
  if (cow) await mmuNotifierInvalidateRangeStart(range);
  let ret = 0;
  const pt = src.pt;
  const end = vma.vmEnd;
  for (
    let addr = nextPmdAddr(pt, vma.vmStart, end);
    addr < end && ret === 0;
    addr = nextPmdAddr(pt, addr, end)
  ) {
    const pmdSlot = pmdOffset(pt, addr);
    const next = addrEnd(addr, PMD_SIZE, end);
    const b = ptBits(pt, pmdSlot);
    if (b !== 0 && !entryIsTable(b)) {
      ret = copyHugePmd(dst, src, pmdSlot, addr);
    } else if (entryIsTable(b)) {
      const table = ptVal(pt, pmdSlot);
      for (let a = addr; a < next; a += PAGE_SIZE) {
        const s = tableSlot(table, pteIndex(a));
        if (ptBits(pt, s) === 0) continue;
        const d = pteAlloc(dst.pt, a);
        if (d < 0) {
          ret = -ENOMEM;
          break;
        }
        copyOnePte(dst, src, vma, s, d);
      }
    }
    addr = next;
  }
  if (cow) await mmuNotifierInvalidateRangeEnd(range);
  return ret;
}

/**
 * Duplicate `mm` for a child process: returns the child mm (mm_users 1, no notifier) or
 * -ENOMEM. VM_DONTCOPY vmas are skipped, VM_LOCKED is cleared in the child, shared mappings stay
 * shared, private ones become COW. Takes the parent's mmap_sem for write.
 * Mirrors kernel/fork.c:dup_mm() → dup_mmap().
 */
export async function fork(mm: MmStruct): Promise<MmStruct | number> {
  checkLiveMm('fork', mm);
  const child = createMm(mm.machine, { mmapBase: mm.mmapBase });
  await downWrite(mm.mmapSem);
  let ret = 0;
  try {
    for (const mpnt of [...mm.vmas]) {
      if ((mpnt.vmFlags & VM_DONTCOPY) !== 0) continue;
      const tmp = new VmArea(
        child,
        mpnt.vmStart,
        mpnt.vmEnd,
        mpnt.vmFlags,
        mpnt.vmPgoff,
        mpnt.vmFile,
      );
      tmp.vmPageProt = mpnt.vmPageProt;
      anonVmaFork(tmp, mpnt);
      tmp.vmFlags &= ~VM_LOCKED;
      vmaLink(child, tmp);
      ret = await copyPageRange(child, mm, mpnt);
      if (ret !== 0) break;
    }
  } finally {
    upWrite(mm.mmapSem);
  }
  if (ret !== 0) {
    child.mmUsers = 0;
    await exitMmap(child);
    mmdrop(child);
    return ret;
  }
  return child;
}
