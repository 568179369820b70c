/**
 * Transparent huge pages (anonymous, PMD-mapped): fault, COW, split of the PMD mapping, zap,
 * fork copy and protection change. Mirrors mm/huge_memory.c.
 *
 * Model choices (documented deviations):
 * - no huge zero page: a read fault in a THP-eligible range allocates a THP (as with
 *   transparent_hugepage/use_zero_page = 0);
 * - COW of a shared THP copies it into a new THP; when that allocation fails the PMD is split
 *   and the fault falls back to a 4 KiB COW of the one subpage (VM_FAULT_FALLBACK), as Linux
 *   does from v5.8 on; v5.4's do_huge_pmd_wp_page_fallback (copy into 512 small pages) is not
 *   modelled;
 * - no page-table deposit: the split allocates its PTE table then (pool exhaustion there is a
 *   KernelBugError);
 * - no khugepaged collapse, no file/shmem THP.
 */

import {
  checkIntIn,
  ENOMEM,
  HPAGE_PMD_NR,
  KernelBugError,
  PAGE_SIZE,
  PMD_SIZE,
  pmdAlignDown,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import {
  _PAGE_ACCESSED,
  _PAGE_SOFT_DIRTY,
  compoundHead,
  copyPage,
  entryIsTable,
  getPage,
  isPmdMigrationEntry,
  isWriteMigrationEntry,
  makeMigrationEntryRead,
  type PageTables,
  PG_dirty,
  PG_locked,
  PG_lru,
  PG_uptodate,
  pmdAlloc,
  pmdClear,
  pmdDirty,
  pmdMkhuge,
  pmdModify,
  pmdOffset,
  pmdPopulate,
  pmdToSwpEntry,
  pmdTransHuge,
  pmdWrite,
  pmdYoung,
  pteAllocOne,
  pteMkdirty,
  pteMkold,
  pteWrprotect,
  pudOffset,
  setPmd,
  setPte,
  swpEntryToPmd,
  tableSlot,
} from '@hmmsim/pagetable';
import { checkAddr, checkLiveMm, checkMm, checkPfn, checkVma, checkWord } from './check-args.ts';
import { waitOnPageLocked } from './filemap.ts';
import { allocUserPage, mmPutPage } from './machine.ts';
import {
  FAULT_FLAG_WRITE,
  type MmuGather,
  maybeMkwrite,
  tlbRemovePage,
  VM_FAULT_FALLBACK,
  VM_FAULT_WRITE,
  type VmFault,
} from './memory.ts';
import type { MmStruct } from './mm-struct.ts';
import { addMmCounter, MM_ANONPAGES } from './mm-struct.ts';
import {
  MMU_NOTIFY_CLEAR,
  mmuNotifierInvalidateRange,
  mmuNotifierInvalidateRangeOnlyEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from './mmu-notifier-hooks.ts';
import { anonVmaPrepare, pageAddNewAnonRmap, pageDupRmap, pageRemoveRmap } from './rmap.ts';
import {
  pgCompoundMapcount,
  pgFlags,
  pgMapcount,
  pgRefcount,
  pgSetFlags,
  pgSetMapcount,
  pgSetRefcount,
  ptBits,
  ptVal,
} from './shared-access.ts';
import { VM_HUGEPAGE, VM_NOHUGEPAGE, type VmArea, vmaIsAnonymous } from './vma.ts';

/**
 * True if THP faults are allowed in `vma` under the machine's policy ('always', or 'madvise'
 * with VM_HUGEPAGE; never with VM_NOHUGEPAGE; anonymous vmas only).
 * Mirrors include/linux/huge_mm.h:transparent_hugepage_enabled().
 */
export function transparentHugepageEnabled(vma: VmArea): boolean {
  if (!vmaIsAnonymous(vma) || (vma.vmFlags & VM_NOHUGEPAGE) !== 0) return false;
  const policy = vma.vmMm.machine.thp;
  if (policy === 'always') return true;
  if (policy === 'madvise') return (vma.vmFlags & VM_HUGEPAGE) !== 0;
  return false;
}

/** InvalidArgumentError unless `slot` is a slot of `pt`; KernelBugError unless it holds a huge leaf or PMD swap entry. */
function checkLeafSlot(fn: string, pt: PageTables, slot: number): void {
  if (!(slot >>> 0 === slot && slot < pt.bits.length)) {
    checkIntIn(fn, 'slot', slot, 0, pt.bits.length - 1, 'a slot of the mm page tables');
  }
  const b = ptBits(pt, slot);
  if (b === 0 || entryIsTable(b)) {
    throw new KernelBugError(
      `${fn}: slot ${slot} holds no huge PMD (bits 0x${b.toString(16)}); expected a huge leaf or PMD migration entry`,
    );
  }
}

/** True if the 2 MiB range at `haddr` lies inside the vma. Mirrors include/linux/huge_mm.h:transhuge_vma_suitable(). */
export function transhugeVmaSuitable(vma: VmArea, haddr: number): boolean {
  checkVma('transhugeVmaSuitable', vma);
  checkAddr('transhugeVmaSuitable', 'haddr', haddr);
  return haddr >= vma.vmStart && haddr + PMD_SIZE <= vma.vmEnd;
}

/**
 * Anonymous fault on an empty PMD: map a zeroed order-9 page, or VM_FAULT_FALLBACK when the
 * range does not fit or the order-9 allocation fails. Mirrors mm/huge_memory.c:do_huge_pmd_anonymous_page().
 */
export async function doHugePmdAnonymousPage(vmf: VmFault): Promise<number> {
  const vma = vmf.vma;
  const mm = vma.vmMm;
  const machine = mm.machine;
  const haddr = pmdAlignDown(vmf.address);
  if (!transhugeVmaSuitable(vma, haddr)) return VM_FAULT_FALLBACK;
  anonVmaPrepare(vma);
  const page = allocUserPage(machine, 9);
  if (page < 0) return VM_FAULT_FALLBACK;
  const pm = machine.phys;
  pgSetFlags(pm, page, pgFlags(pm, page) | PG_uptodate | PG_lru);
  const slot = pmdOffset(mm.pt, haddr);
  if (slot < 0 || ptBits(mm.pt, slot) !== 0) {
    mmPutPage(machine, page);
    return 0;
  }
  let bits = pmdMkhuge(vma.vmPageProt);
  bits = maybeMkwrite(pteMkdirty(bits), vma);
  pageAddNewAnonRmap(machine, page, vma, haddr, true);
  addMmCounter(mm, MM_ANONPAGES, HPAGE_PMD_NR);
  setPmd(mm.pt, slot, bits, page);
  return 0;
}

/** Mark a huge PMD young (and dirty on write). Mirrors mm/huge_memory.c:huge_pmd_set_accessed(). */
export function hugePmdSetAccessed(vmf: VmFault, bits: number): void {
  checkWord('hugePmdSetAccessed', 'bits', bits);
  const pt = vmf.vma.vmMm.pt;
  checkLeafSlot('hugePmdSetAccessed', pt, vmf.pmdSlot);
  let b = bits | _PAGE_ACCESSED;
  if ((vmf.flags & FAULT_FLAG_WRITE) !== 0) b = pteMkdirty(b);
  if (b !== bits) setPmd(pt, vmf.pmdSlot, b, ptVal(pt, vmf.pmdSlot));
}

function thpMapcount(mm: MmStruct, head: number): number {
  const pm = mm.machine.phys;
  let max = 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const m = pgMapcount(pm, head + i);
    if (m > max) max = m;
  }
  return max + pgCompoundMapcount(pm, head);
}

/**
 * Write fault on a read-only huge PMD: reuse when mapped once, else copy into a new THP
 * (CLEAR bracket over the 2 MiB); on allocation failure split and fall back.
 * Mirrors mm/huge_memory.c:do_huge_pmd_wp_page().
 */
export async function doHugePmdWpPage(vmf: VmFault, bits: number, head: number): Promise<number> {
  checkWord('doHugePmdWpPage', 'bits', bits);
  checkPfn('doHugePmdWpPage', vmf.vma.vmMm.machine, head);
  const vma = vmf.vma;
  const mm = vma.vmMm;
  const machine = mm.machine;
  const pm = machine.phys;
  const haddr = pmdAlignDown(vmf.address);
  if ((pgFlags(pm, head) & PG_locked) !== 0) {
    await waitOnPageLocked(machine, head);
    return 0;
  }
  if (thpMapcount(mm, head) === 1) {
    const b = maybeMkwrite(pteMkdirty(bits | _PAGE_ACCESSED), vma);
    setPmd(mm.pt, vmf.pmdSlot, b, head);
    return VM_FAULT_WRITE;
  }
  getPage(pm, head);
  const fresh = transparentHugepageEnabled(vma) ? allocUserPage(machine, 9) : -1;
  if (fresh < 0) {
    await splitHugePmd(vma, vmf.address);
    mmPutPage(machine, head);
    return VM_FAULT_FALLBACK;
  }
  for (let i = 0; i < HPAGE_PMD_NR; i++) copyPage(pm, fresh + i, head + i);
  pgSetFlags(pm, fresh, pgFlags(pm, fresh) | PG_uptodate | PG_lru);
  const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, vma, mm, haddr, haddr + PMD_SIZE);
  await mmuNotifierInvalidateRangeStart(range);
  mmPutPage(machine, head);
  const slot = pmdOffset(mm.pt, haddr);
  let ret = 0;
  if (slot < 0 || ptBits(mm.pt, slot) !== bits || ptVal(mm.pt, slot) !== head) {
    mmPutPage(machine, fresh);
  } else {
    const entry = maybeMkwrite(pteMkdirty(pmdMkhuge(vma.vmPageProt)), vma);
    pmdClear(mm.pt, slot);
    mmuNotifierInvalidateRange(mm, haddr, haddr + PMD_SIZE);
    pageAddNewAnonRmap(machine, fresh, vma, haddr, true);
    setPmd(mm.pt, slot, entry, fresh);
    pageRemoveRmap(machine, head, true);
    mmPutPage(machine, head);
    ret = VM_FAULT_WRITE;
  }
  await mmuNotifierInvalidateRangeOnlyEnd(range);
  return ret;
}

/** Replace the huge PMD at `slot` by a PTE table mapping the same 512 subpages. Mirrors mm/huge_memory.c:__split_huge_pmd_locked(). */
function splitHugePmdLocked(vma: VmArea, slot: number, haddr: number): void {
  const mm = vma.vmMm;
  const pt = mm.pt;
  const pm = mm.machine.phys;
  const bits = ptBits(pt, slot);
  const head = ptVal(pt, slot);
  const write = pmdWrite(bits);
  const young = pmdYoung(bits);
  const soft = (bits & _PAGE_SOFT_DIRTY) !== 0;
  if (pmdDirty(bits)) pgSetFlags(pm, head, pgFlags(pm, head) | PG_dirty);
  const table = pteAllocOne(pt);
  if (table < 0) {
    throw new KernelBugError(
      `__split_huge_pmd: no PTE table for mm${mm.id} at 0x${haddr.toString(16)} (page-table pool exhausted)`,
    );
  }
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    let b = maybeMkwrite(vma.vmPageProt, vma);
    if (!write) b = pteWrprotect(b);
    if (!young) b = pteMkold(b);
    if (soft) b |= _PAGE_SOFT_DIRTY;
    setPte(pt, tableSlot(table, i), b, head + i);
    pgSetMapcount(pm, head + i, pgMapcount(pm, head + i) + 1);
  }
  pageRemoveRmap(mm.machine, head, true);
  pgSetRefcount(pm, head, pgRefcount(pm, head) + HPAGE_PMD_NR - 1);
  pmdClear(pt, slot);
  pmdPopulate(pt, slot, table);
}

/**
 * Split the huge PMD covering `address` into PTEs inside a CLEAR bracket over its 2 MiB (the
 * bracket fires even when the PMD turns out not to be huge, as in Linux).
 * Mirrors mm/huge_memory.c:__split_huge_pmd().
 */
export async function splitHugePmd(vma: VmArea, address: number): Promise<void> {
  checkVma('__split_huge_pmd', vma);
  checkAddr('__split_huge_pmd', 'address', address);
  if (address >= VADDR_LIMIT) return;
  const mm = vma.vmMm;
  const haddr = pmdAlignDown(address);
  const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, vma, mm, haddr, haddr + PMD_SIZE);
  await mmuNotifierInvalidateRangeStart(range);
  const slot = pmdOffset(mm.pt, haddr);
  if (slot >= 0 && pmdTransHuge(ptBits(mm.pt, slot))) splitHugePmdLocked(vma, slot, haddr);
  await mmuNotifierInvalidateRangeOnlyEnd(range);
}

/** Split the PMD covering `address` if its PUD is present. Mirrors mm/huge_memory.c:split_huge_pmd_address(). */
export async function splitHugePmdAddress(vma: VmArea, address: number): Promise<void> {
  checkVma('split_huge_pmd_address', vma);
  checkAddr('split_huge_pmd_address', 'address', address);
  if (address >= VADDR_LIMIT) return;
  const pt = vma.vmMm.pt;
  const pud = pudOffset(pt, address);
  if (pud < 0 || ptBits(pt, pud) === 0) return;
  await splitHugePmd(vma, address);
}

/**
 * Before a vma boundary moves to `start`/`end` (or the next vma's start moves by `adjustNext`
 * pages), split huge PMDs that would straddle it. Only anonymous vmas with an anon_vma.
 * Mirrors mm/huge_memory.c:vma_adjust_trans_huge().
 */
export async function vmaAdjustTransHuge(
  vma: VmArea,
  start: number,
  end: number,
  adjustNext: number,
): Promise<void> {
  checkVma('vma_adjust_trans_huge', vma);
  checkAddr('vma_adjust_trans_huge', 'start', start);
  checkAddr('vma_adjust_trans_huge', 'end', end);
  checkIntIn(
    'vma_adjust_trans_huge',
    'adjustNext',
    adjustNext,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER,
    'a page count (a safe integer)',
  );
  if (vma.anonVma === null || vma.vmFile !== null) return;
  for (const b of [start, end]) {
    const h = pmdAlignDown(b);
    if (b % PMD_SIZE !== 0 && h >= vma.vmStart && h + PMD_SIZE <= vma.vmEnd) {
      await splitHugePmdAddress(vma, b);
    }
  }
  if (adjustNext > 0) {
    const next = vma.vmNext;
    if (next === undefined) return;
    const nstart = next.vmStart + adjustNext * PAGE_SIZE;
    const h = pmdAlignDown(nstart);
    if (nstart % PMD_SIZE !== 0 && h >= next.vmStart && h + PMD_SIZE <= next.vmEnd) {
      await splitHugePmdAddress(next, nstart);
    }
  }
}

/** Zap a whole huge PMD (or PMD migration entry); returns true. Mirrors mm/huge_memory.c:zap_huge_pmd(). */
export function zapHugePmd(tlb: MmuGather, vma: VmArea, slot: number, addr: number): boolean {
  checkVma('zap_huge_pmd', vma);
  checkAddr('zap_huge_pmd', 'addr', addr);
  const mm = vma.vmMm;
  const pt = mm.pt;
  checkLeafSlot('zap_huge_pmd', pt, slot);
  if (tlb.mm !== mm) {
    throw new KernelBugError("zap_huge_pmd: the mmu_gather is for another mm; expected the vma's");
  }
  const bits = ptBits(pt, slot);
  const head = ptVal(pt, slot);
  pmdClear(pt, slot);
  if (pmdTransHuge(bits)) {
    pageRemoveRmap(mm.machine, head, true);
    addMmCounter(mm, MM_ANONPAGES, -HPAGE_PMD_NR);
    tlbRemovePage(tlb, addr, PMD_SIZE, head);
  } else if (isPmdMigrationEntry(bits)) {
    addMmCounter(mm, MM_ANONPAGES, -HPAGE_PMD_NR);
    tlbRemovePage(tlb, addr, PMD_SIZE, -1);
  }
  return true;
}

/**
 * Fork: share a huge PMD with the child, write-protected on both sides; -ENOMEM if the child's
 * tables cannot be allocated. Mirrors mm/huge_memory.c:copy_huge_pmd().
 */
export function copyHugePmd(dst: MmStruct, src: MmStruct, srcSlot: number, addr: number): number {
  checkMm('copy_huge_pmd', dst, 'dst');
  checkMm('copy_huge_pmd', src, 'src');
  checkAddr('copy_huge_pmd', 'addr', addr);
  checkLeafSlot('copy_huge_pmd', src.pt, srcSlot);
  checkLiveMm('copy_huge_pmd', dst);
  checkLiveMm('copy_huge_pmd', src);
  if (addr >= VADDR_LIMIT || addr % PMD_SIZE !== 0) {
    throw new KernelBugError(`copy_huge_pmd: address ${addr} is not a 2 MiB boundary below 2^48`);
  }
  const dstSlot = pmdAlloc(dst.pt, addr);
  if (dstSlot < 0) return -ENOMEM;
  const bits = ptBits(src.pt, srcSlot);
  const val = ptVal(src.pt, srcSlot);
  if (isPmdMigrationEntry(bits)) {
    let entry = pmdToSwpEntry(bits, val);
    if (isWriteMigrationEntry(entry)) {
      entry = makeMigrationEntryRead(entry);
      const e = swpEntryToPmd(entry);
      setPmd(src.pt, srcSlot, e.bits, e.val);
    }
    addMmCounter(dst, MM_ANONPAGES, HPAGE_PMD_NR);
    setPmd(dst.pt, dstSlot, ptBits(src.pt, srcSlot), ptVal(src.pt, srcSlot));
    return 0;
  }
  const machine = src.machine;
  getPage(machine.phys, val);
  pageDupRmap(machine, compoundHead(machine.phys, val), true);
  addMmCounter(dst, MM_ANONPAGES, HPAGE_PMD_NR);
  setPmd(src.pt, srcSlot, pteWrprotect(bits), val);
  setPmd(dst.pt, dstSlot, pteMkold(pteWrprotect(bits)), val);
  return 0;
}

/**
 * mprotect of a whole huge PMD: apply the new protection (write migration entries become read).
 * Returns the number of pages changed. Mirrors mm/huge_memory.c:change_huge_pmd().
 */
export function changeHugePmd(vma: VmArea, slot: number, newprot: number): number {
  checkVma('change_huge_pmd', vma);
  checkWord('change_huge_pmd', 'newprot', newprot);
  const pt = vma.vmMm.pt;
  checkLeafSlot('change_huge_pmd', pt, slot);
  const bits = ptBits(pt, slot);
  const val = ptVal(pt, slot);
  if (isPmdMigrationEntry(bits)) {
    const entry = pmdToSwpEntry(bits, val);
    if (isWriteMigrationEntry(entry)) {
      const e = swpEntryToPmd(makeMigrationEntryRead(entry));
      setPmd(pt, slot, e.bits, e.val);
    }
    return HPAGE_PMD_NR;
  }
  setPmd(pt, slot, pmdModify(bits, newprot), val);
  return HPAGE_PMD_NR;
}
