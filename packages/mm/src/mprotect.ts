/**
 * mprotect(2): per vma, split/merge to the range and rewrite the PTE protections inside one
 * MMU_NOTIFY_PROTECTION_VMA bracket per populated PUD range. Mirrors mm/mprotect.c.
 *
 * As in Linux, a hole after the first vma, or a vma refusing the new protection (-EACCES), stops
 * the loop with the vmas before it already changed; checks on the arguments and on the first
 * vma change nothing.
 */

import {
  downWrite,
  EACCES,
  EINVAL,
  ENOMEM,
  KernelBugError,
  PAGE_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  pageAlignUp,
  pteIndex,
  ULONG_MAX,
  upWrite,
} from '@hmmsim/kernel';
import {
  _PAGE_SWP_SOFT_DIRTY,
  entryIsTable,
  isDevicePrivateEntry,
  isWriteDevicePrivateEntry,
  isWriteMigrationEntry,
  makeDevicePrivateEntryRead,
  makeMigrationEntryRead,
  pmdOffset,
  pteModify,
  ptePresent,
  pteToSwpEntry,
  setPte,
  swpEntryToPte,
  tableSlot,
} from '@hmmsim/pagetable';
import { checkAddr, checkLiveMm, checkSize, checkVma, checkWord } from './check-args.ts';
import { changeHugePmd, splitHugePmd } from './huge-memory.ts';
import { addrEnd, nextPmdAddr } from './memory.ts';
import type { MmStruct } from './mm-struct.ts';
import {
  calcVmProtBits,
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_READ,
  PROT_SEM,
  PROT_WRITE,
} from './mmap.ts';
import {
  MMU_NOTIFY_PROTECTION_VMA,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from './mmu-notifier-hooks.ts';
import { ptBits, ptVal } from './shared-access.ts';
import {
  findVma,
  splitVma,
  VM_ACCOUNT,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  type VmArea,
  vmaMerge,
  vmaSetPageProt,
} from './vma.ts';

function changePteRange(
  vma: VmArea,
  table: number,
  addr: number,
  end: number,
  newprot: number,
): number {
  const pt = vma.vmMm.pt;
  let pages = 0;
  for (; addr < end; addr += PAGE_SIZE) {
    const slot = tableSlot(table, pteIndex(addr));
    const bits = ptBits(pt, slot);
    if (bits === 0) continue;
    const val = ptVal(pt, slot);
    if (ptePresent(bits)) {
      const nb = pteModify(bits, newprot);
      if (nb !== bits) setPte(pt, slot, nb, val);
      pages++;
      continue;
    }
    const entry = pteToSwpEntry(bits, val);
    let ne = entry;
    if (isWriteMigrationEntry(entry)) ne = makeMigrationEntryRead(entry);
    else if (isDevicePrivateEntry(entry) && isWriteDevicePrivateEntry(entry)) {
      ne = makeDevicePrivateEntryRead(entry);
    }
    if (ne !== entry) {
      const e = swpEntryToPte(ne);
      setPte(pt, slot, e.bits | (bits & _PAGE_SWP_SOFT_DIRTY), e.val);
      pages++;
    }
  }
  return pages;
}

/**
 * One PUD's worth of mprotect: the PROTECTION_VMA bracket `[first populated PMD, end)` opens at
 * the first non-empty PMD; partly covered huge PMDs are split, whole ones changed in place.
 * Mirrors mm/mprotect.c:change_pmd_range().
 */
async function changePmdRange(
  vma: VmArea,
  addr: number,
  end: number,
  newprot: number,
): Promise<number> {
  const mm = vma.vmMm;
  const pt = mm.pt;
  let range = null;
  let pages = 0;
  for (; addr < end; addr = addrEnd(addr, PMD_SIZE, end)) {
    const next = addrEnd(addr, PMD_SIZE, end);
    let slot = pmdOffset(pt, addr);
    if (slot < 0 || ptBits(pt, slot) === 0) continue;
    if (range === null) {
      range = mmuNotifierRangeInit(MMU_NOTIFY_PROTECTION_VMA, 0, vma, mm, addr, end);
      await mmuNotifierInvalidateRangeStart(range);
      slot = pmdOffset(pt, addr);
      if (slot < 0) continue;
    }
    let bits = ptBits(pt, slot);
    if (bits !== 0 && !entryIsTable(bits)) {
      if (next - addr !== PMD_SIZE) {
        await splitHugePmd(vma, addr);
        slot = pmdOffset(pt, addr);
        if (slot < 0) continue;
        bits = ptBits(pt, slot);
      } else {
        pages += changeHugePmd(vma, slot, newprot);
        continue;
      }
    }
    if (entryIsTable(bits)) pages += changePteRange(vma, ptVal(pt, slot), addr, next, newprot);
  }
  if (range !== null) await mmuNotifierInvalidateRangeEnd(range);
  return pages;
}

/**
 * Apply `newprot` (PTE bits) to every entry of `[start, end)` in `vma`; returns pages changed.
 * Mirrors mm/mprotect.c:change_protection() (change_protection_range → change_pud_range).
 */
export async function changeProtection(
  vma: VmArea,
  start: number,
  end: number,
  newprot: number,
): Promise<number> {
  checkVma('changeProtection', vma);
  checkAddr('changeProtection', 'start', start);
  checkAddr('changeProtection', 'end', end);
  checkWord('changeProtection', 'newprot', newprot);
  checkInVma('changeProtection', vma, start, end);
  const pt = vma.vmMm.pt;
  let pages = 0;
  for (let addr = nextPmdAddr(pt, start, end); addr < end; addr = nextPmdAddr(pt, addr, end)) {
    const next = addrEnd(addr, PUD_SIZE, end);
    pages += await changePmdRange(vma, addr, next, newprot);
    addr = next;
  }
  return pages;
}

/** KernelBugError unless `[start, end)` is a non-empty, page-aligned range inside linked `vma`. */
function checkInVma(fn: string, vma: VmArea, start: number, end: number): void {
  if (
    !vma.linked ||
    start % PAGE_SIZE !== 0 ||
    end % PAGE_SIZE !== 0 ||
    start >= end ||
    start < vma.vmStart ||
    end > vma.vmEnd
  ) {
    throw new KernelBugError(
      `${fn}: [0x${start.toString(16)}, 0x${end.toString(16)}) is not a page-aligned range inside the linked vma [0x${vma.vmStart.toString(16)}, 0x${vma.vmEnd.toString(16)}); expected one`,
    );
  }
}

/**
 * Give `[start, end)` of `vma` the flags `newflags`: split off the range, merge with neighbours,
 * change the PTEs. Returns the vma now covering the range. Mirrors mm/mprotect.c:mprotect_fixup().
 */
export async function mprotectFixup(
  vma: VmArea,
  start: number,
  end: number,
  newflags: number,
): Promise<VmArea> {
  checkVma('mprotectFixup', vma);
  checkAddr('mprotectFixup', 'start', start);
  checkAddr('mprotectFixup', 'end', end);
  checkWord('mprotectFixup', 'newflags', newflags);
  checkInVma('mprotectFixup', vma, start, end);
  const mm = vma.vmMm;
  const oldflags = vma.vmFlags;
  if (newflags === oldflags) return vma;
  if (
    (newflags & VM_WRITE) !== 0 &&
    (oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE)) === 0
  ) {
    newflags |= VM_ACCOUNT;
  }
  if (start !== vma.vmStart) await splitVma(mm, vma, start, true);
  if (end !== vma.vmEnd) await splitVma(mm, vma, end, false);
  vma.vmFlags = newflags;
  vmaSetPageProt(vma);
  const merged = vmaMerge(mm, vma);
  await changeProtection(merged, start, end, merged.vmPageProt);
  return merged;
}

/**
 * Change the protection of `[start, start + len)`. Returns 0, -EINVAL (unaligned start, bad prot
 * bits, PROT_GROWSDOWN on a vma that does not grow down, PROT_GROWSUP: x86 has no VM_GROWSUP),
 * -ENOMEM (range starts in a hole or meets one; with PROT_GROWSDOWN, the vma found lies at or
 * above the end of the range), -EACCES (VM_MAY* forbids it, e.g. write on a shared mapping of a
 * read-only file).
 * Takes mmap_sem for write. The numbers are C unsigned longs (InvalidArgumentError otherwise);
 * KernelBugError on an exited mm. Mirrors mm/mprotect.c:do_mprotect_pkey().
 */
export async function mprotect(
  mm: MmStruct,
  start: number,
  len: number,
  prot: number,
): Promise<number> {
  checkLiveMm('mprotect', mm);
  checkAddr('mprotect', 'start', start);
  checkSize('mprotect', 'len', len);
  checkAddr('mprotect', 'prot', prot);
  if (prot >= 2 ** 32) return -EINVAL; // unknown prot bits
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  if (len === 0) return 0;
  // PAGE_ALIGN(len) wrapping, or start + len wrapping: end <= start in the kernel.
  if (len > ULONG_MAX - PAGE_SIZE + 1 || start + pageAlignUp(len) > ULONG_MAX) return -ENOMEM;
  len = pageAlignUp(len);
  const end = start + len;
  if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) !== 0) return -EINVAL;
  await downWrite(mm.mmapSem);
  try {
    let vma = findVma(mm, start);
    if (vma === undefined) return -ENOMEM;
    if ((grows & PROT_GROWSDOWN) !== 0) {
      if (vma.vmStart >= end) return -ENOMEM;
      start = vma.vmStart;
      if ((vma.vmFlags & VM_GROWSDOWN) === 0) return -EINVAL;
    } else {
      if (vma.vmStart > start) return -ENOMEM;
      // x86 has no VM_GROWSUP: PROT_GROWSUP can never find an upward-growing vma.
      if ((grows & PROT_GROWSUP) !== 0) return -EINVAL;
    }
    for (let nstart = start; ; ) {
      let newflags = calcVmProtBits(prot);
      newflags |= vma.vmFlags & ~(VM_READ | VM_WRITE | VM_EXEC);
      if ((newflags & ~(newflags >> 4) & (VM_READ | VM_WRITE | VM_EXEC)) !== 0) return -EACCES;
      const tmp = Math.min(vma.vmEnd, end);
      const prev = await mprotectFixup(vma, nstart, tmp, newflags);
      nstart = tmp;
      if (nstart < prev.vmEnd) nstart = prev.vmEnd;
      if (nstart >= end) return 0;
      const nv = prev.vmNext;
      if (nv === undefined || nv.vmStart !== nstart) return -ENOMEM;
      vma = nv;
    }
  } finally {
    upWrite(mm.mmapSem);
  }
}
