/**
 * Page reclaim: unmap a page from every mm through the reverse map (one MMU_NOTIFY_CLEAR
 * bracket per vma visited), write it out (anonymous pages to a swap slot, dirty file pages to
 * the file) and free it. Mirrors mm/vmscan.c:shrink_page_list() for one page and mm/rmap.c:
 * try_to_unmap()/try_to_unmap_one().
 *
 * What is reclaimable: private anonymous pages (including THPs, which are split first: the PMD
 * mappings with __split_huge_pmd, then the compound page) and regular-file page-cache pages.
 * Shared anonymous (shmem) pages, device-file pages, the zero page and device pages are not
 * (-EINVAL). Aging is second-chance on the PTE young bit in shrinkMm only; reclaimPage reclaims
 * the page it is given regardless of references (like MADV_PAGEOUT).
 */

import {
  EBUSY,
  EINVAL,
  ENOSPC,
  isUlong,
  KernelBugError,
  noteRead,
  PAGE_SIZE,
  PMD_SIZE,
  pteIndex,
} from '@hmmsim/kernel';
import {
  _PAGE_SWP_SOFT_DIRTY,
  compoundHead,
  entryIsTable,
  getPage,
  PG_anon,
  PG_dirty,
  PG_head,
  PG_reserved,
  PG_swapcache,
  pageMapped,
  pfnValid,
  pmdOffset,
  pmdTransHuge,
  pteClear,
  pteDirty,
  pteMkold,
  ptePresent,
  pteSoftDirty,
  pteYoung,
  setPte,
  splitHugePage,
  swpEntryToPteBits,
  swpOffset,
  tableSlot,
  trylockPage,
} from '@hmmsim/pagetable';
import { checkAddr, checkMachine, checkMm, checkPfn, checkSize, checkVma } from './check-args.ts';
import { deleteFromPageCache, unlockPageWake, writeOnePage } from './filemap.ts';
import { splitHugePmd } from './huge-memory.ts';
import type { Machine } from './machine.ts';
import { mmPutPage } from './machine.ts';
import { addrEnd, mmCounter, nextPmdAddr, pteLookup, vmNormalPage } from './memory.ts';
import { addMmCounter, MM_ANONPAGES, MM_SWAPENTS, type MmStruct } from './mm-struct.ts';
import {
  MMU_NOTIFY_CLEAR,
  mmuNotifierClearFlushYoung,
  mmuNotifierInvalidateRange,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from './mmu-notifier-hooks.ts';
import { pageRemoveRmap, rmapCandidates } from './rmap.ts';
import {
  pgCompoundMapcount,
  pgFlags,
  pgMapcount,
  pgMapping,
  pgPrivate,
  pgRefcount,
  pgSetFlags,
  ptBits,
  ptVal,
} from './shared-access.ts';
import { addToSwap, deleteFromSwapCache, swapCount, swapDuplicate, swapWritepage } from './swap.ts';
import { VM_LOCKED, type VmArea } from './vma.ts';

/**
 * Unmap `pfn` from `vma` at `addr` inside a CLEAR bracket `[addr, addr + PAGE_SIZE)` (opened even
 * if the PTE there maps something else, as Linux opens it before looking). Anonymous pages get
 * their swap-cache entry installed (invalidateRange follows). Returns false if the vma is mlocked.
 * Mirrors mm/rmap.c:try_to_unmap_one().
 */
export async function tryToUnmapOne(
  machine: Machine,
  vma: VmArea,
  addr: number,
  pfn: number,
): Promise<boolean> {
  checkMachine('try_to_unmap_one', machine);
  checkVma('try_to_unmap_one', vma);
  checkAddr('try_to_unmap_one', 'addr', addr);
  checkPfn('try_to_unmap_one', machine, pfn);
  if (vma.vmMm.machine !== machine || addr < vma.vmStart || addr >= vma.vmEnd) {
    throw new KernelBugError(
      `try_to_unmap_one: address 0x${addr.toString(16)} is not in the vma [0x${vma.vmStart.toString(16)}, 0x${vma.vmEnd.toString(16)}) of this machine; expected an rmap candidate`,
    );
  }
  const mm = vma.vmMm;
  const pm = machine.phys;
  const end = Math.min(vma.vmEnd, addr + PAGE_SIZE);
  const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, vma, mm, addr, end);
  await mmuNotifierInvalidateRangeStart(range);
  let ok = true;
  const slot = pteLookup(mm, addr);
  if (slot >= 0) {
    const bits = ptBits(mm.pt, slot);
    if (ptePresent(bits) && ptVal(mm.pt, slot) === pfn && vmNormalPage(vma, bits, pfn) === pfn) {
      if ((vma.vmFlags & VM_LOCKED) !== 0) {
        ok = false;
      } else {
        pteClear(mm.pt, slot);
        if (pteDirty(bits)) pgSetFlags(pm, pfn, pgFlags(pm, pfn) | PG_dirty);
        if ((pgFlags(pm, pfn) & PG_anon) !== 0) {
          const entry = pgPrivate(pm, pfn);
          swapDuplicate(machine, entry);
          addMmCounter(mm, MM_ANONPAGES, -1);
          addMmCounter(mm, MM_SWAPENTS, 1);
          const sb = swpEntryToPteBits(entry) | (pteSoftDirty(bits) ? _PAGE_SWP_SOFT_DIRTY : 0);
          setPte(mm.pt, slot, sb, swpOffset(entry));
          mmuNotifierInvalidateRange(mm, addr, addr + PAGE_SIZE);
        } else {
          addMmCounter(mm, mmCounter(machine, pfn), -1);
        }
        pageRemoveRmap(machine, pfn, false);
        mmPutPage(machine, pfn);
      }
    }
  }
  await mmuNotifierInvalidateRangeEnd(range);
  return ok;
}

/**
 * Unmap `pfn` from every mm that maps it (rmap walk; stops once it is no longer mapped).
 * Returns true if it ended up unmapped. Mirrors mm/rmap.c:try_to_unmap().
 */
export async function tryToUnmap(machine: Machine, pfn: number): Promise<boolean> {
  checkMachine('try_to_unmap', machine);
  checkPfn('try_to_unmap', machine, pfn);
  for (const { vma, addr } of rmapCandidates(machine, pfn)) {
    if (!pageMapped(machine.phys, pfn)) break;
    if (!(await tryToUnmapOne(machine, vma, addr, pfn))) return false;
  }
  return !pageMapped(machine.phys, pfn);
}

/** Split every PMD mapping of the THP `head` (CLEAR brackets), then the compound page itself. */
async function splitThpForReclaim(machine: Machine, head: number, pfn: number): Promise<number> {
  for (const { vma, addr } of rmapCandidates(machine, head)) {
    const mm = vma.vmMm;
    const slot = pmdOffset(mm.pt, addr);
    if (slot >= 0 && pmdTransHuge(ptBits(mm.pt, slot)) && ptVal(mm.pt, slot) === head) {
      await splitHugePmd(vma, addr);
    }
  }
  return splitHugePage(machine.phys, pfn) === 0 ? 0 : -EBUSY;
}

/**
 * Reclaim one page now: anonymous → swap slot + swap PTEs in every mapping mm; regular file →
 * write back if dirty and drop from the page cache. Returns 0 (page freed), -EINVAL (not a
 * reclaimable page, or no pfn of this machine), -EBUSY (locked, mlocked, pinned by extra
 * references), -ENOSPC (swap full); InvalidArgumentError for a pfn that is no unsigned long.
 * Does not take mmap_sem. Mirrors mm/vmscan.c:shrink_page_list() applied to one isolated page.
 */
export async function reclaimPage(machine: Machine, pfn: number): Promise<number> {
  checkMachine('reclaimPage', machine);
  if (!isUlong(pfn)) checkSize('reclaimPage', 'pfn', pfn);
  const pm = machine.phys;
  if (!pfnValid(pm, pfn) || pfn >= pm.nrPages || pfn === pm.zeroPfn) return -EINVAL;
  let head: number = compoundHead(pm, pfn);
  if (pgRefcount(pm, head) <= 0) return -EINVAL;
  const f = pgFlags(pm, head);
  if ((f & PG_reserved) !== 0) return -EINVAL;
  const anon = (f & PG_anon) !== 0;
  const id = anon ? 0 : pgMapping(pm, head);
  if (!anon) noteRead(machine.addressSpaces, id);
  const mapping = anon ? undefined : machine.addressSpaces.get(id);
  if (!anon && (mapping === undefined || mapping.host.kind !== 'regular')) return -EINVAL;
  if (!anon && (f & PG_head) !== 0) return -EINVAL;
  if (!trylockPage(pm, head)) return -EBUSY;
  getPage(pm, head);
  let locked = head;
  const fail = (err: number): number => {
    unlockPageWake(machine, locked);
    mmPutPage(machine, locked);
    return err;
  };
  if ((f & PG_head) !== 0) {
    const r = await splitThpForReclaim(machine, head, pfn);
    if (r !== 0) return fail(r);
    head = pfn;
    locked = pfn;
  }
  if (anon) {
    let entry = (pgFlags(pm, head) & PG_swapcache) !== 0 ? pgPrivate(pm, head) : -1;
    if (entry < 0) {
      entry = addToSwap(machine, head);
      if (entry < 0) return fail(-ENOSPC);
    }
    const keepOrDrop = (err: number): number => {
      // activate_locked: with the model's always-full swap policy, try_to_free_swap().
      if (swapCount(machine, entry) === 0) deleteFromSwapCache(machine, head);
      return fail(err);
    };
    if (!(await tryToUnmap(machine, head))) return keepOrDrop(-EBUSY);
    swapWritepage(machine, head, entry);
    if (pgRefcount(pm, head) !== 2) return keepOrDrop(-EBUSY);
    deleteFromSwapCache(machine, head);
  } else {
    if (!(await tryToUnmap(machine, head))) return fail(-EBUSY);
    if ((pgFlags(pm, head) & PG_dirty) !== 0) writeOnePage(machine, head);
    if (pgRefcount(pm, head) !== 2) return fail(-EBUSY);
    deleteFromPageCache(machine, head);
  }
  unlockPageWake(machine, head);
  mmPutPage(machine, head);
  return 0;
}

/** Present normal pages of `[start, end)` in `vma`, calling `visit(slot, addr, pfn)` for each PTE (huge PMDs: head pfn, slot -1). */
function scanRange(
  vma: VmArea,
  start: number,
  end: number,
  visit: (slot: number, addr: number, pfn: number) => void,
): void {
  const pt = vma.vmMm.pt;
  for (let addr = nextPmdAddr(pt, start, end); addr < end; addr = nextPmdAddr(pt, addr, end)) {
    const pmd = pmdOffset(pt, addr);
    const next = addrEnd(addr, PMD_SIZE, end);
    const b = ptBits(pt, pmd);
    if (pmdTransHuge(b)) visit(-1, addr, ptVal(pt, pmd));
    else if (entryIsTable(b)) {
      const table = ptVal(pt, pmd);
      for (let a = addr; a < next; a += PAGE_SIZE) {
        const s = tableSlot(table, pteIndex(a));
        const pb = ptBits(pt, s);
        if (!ptePresent(pb)) continue;
        const page = vmNormalPage(vma, pb, ptVal(pt, s));
        if (page >= 0) visit(s, a, page);
      }
    }
    addr = next;
  }
}

/**
 * Reclaim up to `nrPages` pages mapped by `mm`, in address order, with second-chance aging:
 * the first pass clears young PTEs (clear_flush_young notifications) and reclaims old ones, the
 * second reclaims what is left. Returns the number of pages freed. Mirrors the role of
 * mm/vmscan.c:shrink_node() for one mm (page_referenced() aging + shrink_page_list()).
 */
export async function shrinkMm(mm: MmStruct, nrPages: number): Promise<number> {
  checkMm('shrinkMm', mm);
  checkSize('shrinkMm', 'nrPages', nrPages);
  const machine = mm.machine;
  let freed = 0;
  for (let pass = 0; pass < 2 && freed < nrPages; pass++) {
    const victims: number[] = [];
    for (const vma of [...mm.vmas]) {
      scanRange(vma, vma.vmStart, vma.vmEnd, (slot, addr, pfn) => {
        if (pass === 0 && slot >= 0) {
          const bits = ptBits(mm.pt, slot);
          let young = pteYoung(bits);
          if (young) setPte(mm.pt, slot, pteMkold(bits), ptVal(mm.pt, slot));
          if (mmuNotifierClearFlushYoung(mm, addr, addr + PAGE_SIZE) !== 0) young = true;
          if (young) return;
        }
        if (!victims.includes(pfn)) victims.push(pfn);
      });
    }
    for (const pfn of victims) {
      if (freed >= nrPages) break;
      if ((await reclaimPage(machine, pfn)) === 0) freed++;
    }
  }
  return freed;
}

/**
 * Reclaim the pages of `[start, end)` in `vma` that are mapped only here (mapcount 1).
 * Mirrors mm/madvise.c:madvise_pageout() (→ reclaim_pages()).
 */
export async function pageoutRange(vma: VmArea, start: number, end: number): Promise<number> {
  checkVma('pageoutRange', vma);
  checkAddr('pageoutRange', 'start', start);
  checkAddr('pageoutRange', 'end', end);
  if (!vma.linked || start < vma.vmStart || end > vma.vmEnd || start > end) {
    throw new KernelBugError(
      `pageoutRange: [0x${start.toString(16)}, 0x${end.toString(16)}) is not a range of the linked vma [0x${vma.vmStart.toString(16)}, 0x${vma.vmEnd.toString(16)}); expected one`,
    );
  }
  const machine = vma.vmMm.machine;
  const pm = machine.phys;
  const victims: number[] = [];
  scanRange(vma, start, end, (slot, _addr, pfn) => {
    const n = slot < 0 ? pgCompoundMapcount(pm, pfn) : pgMapcount(pm, pfn);
    if (n === 1 && !victims.includes(pfn)) victims.push(pfn);
  });
  let freed = 0;
  for (const pfn of victims) if ((await reclaimPage(machine, pfn)) === 0) freed++;
  return freed;
}
