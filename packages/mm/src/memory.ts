/**
 * The page-fault handler, page zapping with an mmu_gather, and PTE helpers. Mirrors mm/memory.c.
 *
 * Page-table lock model: JavaScript runs one task at a time and tasks switch only at `await`, so
 * every synchronous stretch of code is atomic. Wherever Linux drops the PTE lock (allocation,
 * notifier calls, sleeping on a page lock) the model has an `await`, and afterwards re-reads the
 * entry and compares it with the original (`pte_same`) exactly as Linux does after re-taking the
 * lock. Slots are re-looked-up after every await (tables may be freed or the pool reallocated).
 */

import {
  accessReporting,
  checkIntIn,
  EBUSY,
  EINVAL,
  ENOMEM,
  HPAGE_PMD_NR,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
  PAGE_SIZE,
  PGDIR_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  pageAlignDown,
  pageAlignUp,
  pteIndex,
  TASK_SIZE,
  ULONG_MAX,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import {
  _PAGE_SOFT_DIRTY,
  compoundHead,
  copyPage,
  entryIsTable,
  getPage,
  isDevicePrivateEntry,
  isHwpoisonEntry,
  isMigrationEntry,
  nonSwapEntry,
  type PageTables,
  PG_anon,
  PG_dirty,
  PG_head,
  PG_locked,
  PG_lru,
  PG_swapbacked,
  PG_swapcache,
  PG_uptodate,
  PG_writeback,
  pmdAlloc,
  pmdNone,
  pmdOffset,
  pmdPopulate,
  pmdTransHuge,
  pmdWrite,
  pteAlloc,
  pteAllocOne,
  pteClear,
  pteDirty,
  pteMkdirty,
  pteMkspecial,
  pteMkwrite,
  pteMkyoung,
  pteModify,
  pteNone,
  pteOffset,
  ptePresent,
  pteProtnone,
  pteSpecial,
  pteSwpSoftDirty,
  pteToSwpEntry,
  pteWrite,
  pudOffset,
  setPte,
  tableSlot,
} from '@hmmsim/pagetable';
import { checkAddr, checkMm, checkPfn, checkSize, checkVma, checkWord } from './check-args.ts';
import { lockPageSleep, pagecacheGetPage, unlockPageWake, waitOnPageLocked } from './filemap.ts';
import {
  doHugePmdAnonymousPage,
  doHugePmdWpPage,
  hugePmdSetAccessed,
  splitHugePmd,
  transparentHugepageEnabled,
  zapHugePmd,
} from './huge-memory.ts';
import type { Machine } from './machine.ts';
import { allocUserPage, mmPutPage } from './machine.ts';
import type { MmStruct } from './mm-struct.ts';
import {
  addMmCounter,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
} from './mm-struct.ts';
import {
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_UNMAP,
  type MmuNotifierRange,
  mmuNotifierChangePte,
  mmuNotifierInvalidateRange,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeOnlyEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from './mmu-notifier-hooks.ts';
import {
  anonVmaPrepare,
  pageAddAnonRmap,
  pageAddFileRmap,
  pageAddNewAnonRmap,
  pageMoveAnonRmap,
  pageRemoveRmap,
} from './rmap.ts';
import {
  pgCompoundMapcount,
  pgFlags,
  pgMapcount,
  pgPgmap,
  pgPrivate,
  pgSetFlags,
  pgSetMapping,
  ptBits,
  ptVal,
} from './shared-access.ts';
import {
  addToSwapCache,
  deleteFromSwapCache,
  freeSwapAndCache,
  lookupSwapCache,
  swapCount,
  swapFree,
  swapReadpage,
  tryToFreeSwap,
} from './swap.ts';
import {
  isCowMapping,
  linearPageIndex,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_EXEC,
  VM_IO,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  type VmArea,
  vmaIsAnonymous,
} from './vma.ts';

/** Out of memory. Mirrors include/linux/mm_types.h:VM_FAULT_OOM. */
export const VM_FAULT_OOM = 0x000001;
/** Bus error (beyond EOF, no handler). Mirrors VM_FAULT_SIGBUS. */
export const VM_FAULT_SIGBUS = 0x000002;
/** Page had to be read in (swap or file). Mirrors VM_FAULT_MAJOR. */
export const VM_FAULT_MAJOR = 0x000004;
/** A write fault made the page writable (COW broken or reused). Mirrors VM_FAULT_WRITE. */
export const VM_FAULT_WRITE = 0x000008;
/** Hit a hardware-poisoned page. Mirrors VM_FAULT_HWPOISON. */
export const VM_FAULT_HWPOISON = 0x000010;
/** Hit a poisoned huge page. Mirrors VM_FAULT_HWPOISON_LARGE. */
export const VM_FAULT_HWPOISON_LARGE = 0x000020;
/** Segmentation fault. Mirrors VM_FAULT_SIGSEGV. */
export const VM_FAULT_SIGSEGV = 0x000040;
/** The handler installed the PTE itself. Mirrors VM_FAULT_NOPAGE. */
export const VM_FAULT_NOPAGE = 0x000100;
/** The handler returns the page locked. Mirrors VM_FAULT_LOCKED. */
export const VM_FAULT_LOCKED = 0x000200;
/** mmap_sem was dropped; retry. Mirrors VM_FAULT_RETRY. */
export const VM_FAULT_RETRY = 0x000400;
/** Huge page fault failed, fall back to small pages. Mirrors VM_FAULT_FALLBACK. */
export const VM_FAULT_FALLBACK = 0x000800;
/** The handler did the COW itself. Mirrors VM_FAULT_DONE_COW. */
export const VM_FAULT_DONE_COW = 0x001000;
/** Any error bit. Mirrors include/linux/mm_types.h:VM_FAULT_ERROR. */
export const VM_FAULT_ERROR =
  VM_FAULT_OOM |
  VM_FAULT_SIGBUS |
  VM_FAULT_SIGSEGV |
  VM_FAULT_HWPOISON |
  VM_FAULT_HWPOISON_LARGE |
  VM_FAULT_FALLBACK;

/** Write access. Mirrors include/linux/mm.h:FAULT_FLAG_WRITE. */
export const FAULT_FLAG_WRITE = 0x01;
/** mkwrite on an existing PTE. Mirrors FAULT_FLAG_MKWRITE. */
export const FAULT_FLAG_MKWRITE = 0x02;
/** The handler may drop mmap_sem and return VM_FAULT_RETRY. Mirrors FAULT_FLAG_ALLOW_RETRY. */
export const FAULT_FLAG_ALLOW_RETRY = 0x04;
/** Do not wait when retrying. Mirrors FAULT_FLAG_RETRY_NOWAIT. */
export const FAULT_FLAG_RETRY_NOWAIT = 0x08;
/** The fault may be interrupted by a fatal signal. Mirrors FAULT_FLAG_KILLABLE. */
export const FAULT_FLAG_KILLABLE = 0x10;
/** Second try after a retry. Mirrors FAULT_FLAG_TRIED. */
export const FAULT_FLAG_TRIED = 0x20;
/** User-mode fault. Mirrors FAULT_FLAG_USER. */
export const FAULT_FLAG_USER = 0x40;
/** Fault on another process's mm (GUP). Mirrors FAULT_FLAG_REMOTE. */
export const FAULT_FLAG_REMOTE = 0x80;
/** Instruction fetch. Mirrors FAULT_FLAG_INSTRUCTION. */
export const FAULT_FLAG_INSTRUCTION = 0x100;

/** State of one fault. Mirrors include/linux/mm.h:struct vm_fault. */
export interface VmFault {
  readonly vma: VmArea;
  /** Page-aligned faulting address. */
  readonly address: number;
  flags: number;
  /** Page offset in the vma's object. */
  readonly pgoff: number;
  /** PMD slot (in vma.vmMm.pt). */
  pmdSlot: number;
  /** PTE slot, -1 when the PTE table does not exist. */
  pteSlot: number;
  /** The PTE as read at fault entry. */
  origBits: number;
  origVal: number;
  /** The page being handled (device-private page in migrateToRam), -1 if none. */
  page: number;
}

/** MM_* counter of a mapped page: anon, shmem or file. Mirrors include/linux/mm.h:mm_counter(). */
export function mmCounter(machine: Machine, pfn: number): number {
  checkPfn('mmCounter', machine, pfn);
  const f = pgFlags(machine.phys, compoundHead(machine.phys, pfn));
  if ((f & PG_anon) !== 0) return MM_ANONPAGES;
  if ((f & PG_swapbacked) !== 0) return MM_SHMEMPAGES;
  return MM_FILEPAGES;
}

/** PTE bits with write permission if the vma is writable. Mirrors include/linux/mm.h:maybe_mkwrite(). */
export function maybeMkwrite(bits: number, vma: VmArea): number {
  checkWord('maybeMkwrite', 'bits', bits);
  return (vma.vmFlags & VM_WRITE) !== 0 ? pteMkwrite(bits) : bits;
}

/**
 * The struct page behind a present PTE, or -1 for special mappings (zero page, raw pfns).
 * Mirrors mm/memory.c:vm_normal_page().
 */
export function vmNormalPage(vma: VmArea, bits: number, pfn: number): number {
  checkWord('vmNormalPage', 'bits', bits);
  checkWord('vmNormalPage', 'pfn', pfn);
  if (pteSpecial(bits)) return -1;
  if (pfn === vma.vmMm.machine.phys.zeroPfn) return -1;
  return pfn;
}

function pteSame(mm: MmStruct, slot: number, bits: number, val: number): boolean {
  return ptBits(mm.pt, slot) === bits && ptVal(mm.pt, slot) === val;
}

/** Re-find the PTE slot of `addr` after an await; -1 if its table is gone. Mirrors mm/memory.c:pte_offset_map_lock() re-taken after dropping the lock. */
export function pteLookup(mm: MmStruct, addr: number): number {
  checkAddr('pteLookup', 'addr', addr);
  if (addr >= VADDR_LIMIT) return -1;
  return pteOffset(mm.pt, addr);
}

// ---------------------------------------------------------------------------------------------
// Fault handling

/**
 * Resolve a fault at `address` in `vma`: returns VM_FAULT_* bits (0 = done, retry the access).
 * The caller holds mmap_sem for read. The arch access check is folded in: a write to a vma
 * without VM_WRITE, or any access to one without VM_READ|VM_WRITE|VM_EXEC, gives VM_FAULT_SIGSEGV.
 * InvalidArgumentError for an address that is no unsigned long or flags that are no 32-bit mask.
 * Mirrors mm/memory.c:handle_mm_fault() (→ __handle_mm_fault()).
 */
export async function handleMmFault(vma: VmArea, address: number, flags: number): Promise<number> {
  checkVma('handleMmFault', vma);
  checkAddr('handleMmFault', 'address', address);
  if (flags >>> 0 !== flags) {
    checkIntIn(
      'handleMmFault',
      'flags',
      flags,
      0,
      2 ** 32 - 1,
      'FAULT_FLAG_* bits (a 32-bit mask)',
    );
  }
  const mm = vma.vmMm;
  await mm.machine.sched.point(mm.faultEvent);
  if (!vma.linked || address < vma.vmStart || address >= vma.vmEnd) return VM_FAULT_SIGSEGV;
  if ((flags & FAULT_FLAG_WRITE) !== 0) {
    if ((vma.vmFlags & VM_WRITE) === 0) return VM_FAULT_SIGSEGV;
  } else if ((vma.vmFlags & (VM_READ | VM_WRITE | VM_EXEC)) === 0) {
    return VM_FAULT_SIGSEGV;
  }
  const addr = pageAlignDown(address);
  const vmf: VmFault = {
    vma,
    address: addr,
    flags,
    pgoff: linearPageIndex(vma, addr),
    pmdSlot: -1,
    pteSlot: -1,
    origBits: 0,
    origVal: 0,
    page: -1,
  };
  const pt = mm.pt;
  const pmdSlot = pmdAlloc(pt, addr);
  if (pmdSlot < 0) return VM_FAULT_OOM;
  vmf.pmdSlot = pmdSlot;
  const pmdBits = ptBits(pt, pmdSlot);
  if (pmdNone(pmdBits) && transparentHugepageEnabled(vma)) {
    const ret = await doHugePmdAnonymousPage(vmf);
    if ((ret & VM_FAULT_FALLBACK) === 0) return ret;
    vmf.pmdSlot = pmdOffset(pt, addr); // re-read after the await
  } else if (pmdTransHuge(pmdBits)) {
    if ((flags & FAULT_FLAG_WRITE) !== 0 && !pmdWrite(pmdBits)) {
      const ret = await doHugePmdWpPage(vmf, pmdBits, ptVal(pt, pmdSlot));
      if ((ret & VM_FAULT_FALLBACK) === 0) return ret;
      vmf.pmdSlot = pmdOffset(pt, addr); // re-read after the split
    } else {
      hugePmdSetAccessed(vmf, pmdBits);
      return 0;
    }
  } else if (!pmdNone(pmdBits) && !entryIsTable(pmdBits)) {
    // PMD migration entry: wait for the migration and retry.
    await mm.machine.sched.point({ kind: 'mm.fault', label: 'pmd_migration_entry_wait' });
    return 0;
  }
  return handlePteFault(vmf);
}

/**
 * The PTE level of a fault at vmf.pmdSlot (current: no await since it was read; -1 if the PMD is
 * gone); synchronous (no promise) unless a sleeping path is taken. Mirrors mm/memory.c:handle_pte_fault().
 */
function handlePteFault(vmf: VmFault): number | Promise<number> {
  const mm = vmf.vma.vmMm;
  const pt = mm.pt;
  const pmdSlot = vmf.pmdSlot;
  const pmdBits = pmdSlot < 0 ? 0 : ptBits(pt, pmdSlot);
  if (pmdSlot >= 0 && !pmdNone(pmdBits)) {
    if (!entryIsTable(pmdBits)) return 0; // a huge PMD appeared meanwhile
    vmf.pteSlot = tableSlot(ptVal(pt, pmdSlot), pteIndex(vmf.address));
    vmf.origBits = ptBits(pt, vmf.pteSlot);
    vmf.origVal = ptVal(pt, vmf.pteSlot);
    if (pteNone(vmf.origBits)) vmf.pteSlot = -1;
  } else {
    vmf.pteSlot = -1;
  }
  if (vmf.pteSlot < 0) {
    return vmaIsAnonymous(vmf.vma) ? doAnonymousPage(vmf) : doFault(vmf);
  }
  if (!ptePresent(vmf.origBits)) return doSwapPage(vmf);
  if (pteProtnone(vmf.origBits)) return doNumaPage(vmf);
  let bits = vmf.origBits;
  if ((vmf.flags & FAULT_FLAG_WRITE) !== 0) {
    if (!pteWrite(bits)) return doWpPage(vmf);
    bits = pteMkdirty(bits);
  }
  bits = pteMkyoung(bits);
  if (bits !== vmf.origBits) setPte(pt, vmf.pteSlot, bits, vmf.origVal);
  return 0;
}

/** A PROT_NONE-style entry in an accessible vma: restore the vma protection (NUMA hinting is not modelled). */
function doNumaPage(vmf: VmFault): number {
  const pt = vmf.vma.vmMm.pt;
  if (!pteSame(vmf.vma.vmMm, vmf.pteSlot, vmf.origBits, vmf.origVal)) return 0;
  const bits = pteMkyoung(pteModify(vmf.origBits, vmf.vma.vmPageProt));
  setPte(pt, vmf.pteSlot, bits, vmf.origVal);
  return 0;
}

/**
 * The PTE slot of vmf.address, giving the PMD at vmf.pmdSlot a fresh PTE table if it is empty
 * (all levels are allocated when the PMD slot is unknown); -1 when the table pool is exhausted.
 * Call only with no await since vmf.pmdSlot was read. Mirrors mm/memory.c:__pte_alloc() +
 * pte_offset_map().
 */
function vmfPteAlloc(vmf: VmFault): number {
  const pt = vmf.vma.vmMm.pt;
  const pmd = vmf.pmdSlot;
  if (pmd >= 0) {
    const b = ptBits(pt, pmd);
    if (entryIsTable(b)) return tableSlot(ptVal(pt, pmd), pteIndex(vmf.address));
    if (b === 0) {
      const table = pteAllocOne(pt);
      if (table < 0) return -1;
      pmdPopulate(pt, pmd, table);
      return tableSlot(table, pteIndex(vmf.address));
    }
  }
  return pteAlloc(pt, vmf.address);
}

/** Anonymous fault on an empty PTE: zero page for reads, a new zeroed page for writes. Mirrors mm/memory.c:do_anonymous_page(). */
function doAnonymousPage(vmf: VmFault): number {
  const vma = vmf.vma;
  const mm = vma.vmMm;
  const machine = mm.machine;
  if ((vma.vmFlags & VM_SHARED) !== 0) return VM_FAULT_SIGBUS;
  const slot = vmfPteAlloc(vmf);
  if (slot < 0) return VM_FAULT_OOM;
  if ((vmf.flags & FAULT_FLAG_WRITE) === 0) {
    if (!pteNone(ptBits(mm.pt, slot))) return 0;
    setPte(mm.pt, slot, pteMkspecial(vma.vmPageProt), machine.phys.zeroPfn);
    return 0;
  }
  anonVmaPrepare(vma);
  const pfn = allocUserPage(machine, 0);
  if (pfn < 0) return VM_FAULT_OOM;
  const pm = machine.phys;
  pgSetFlags(pm, pfn, pgFlags(pm, pfn) | PG_uptodate | PG_lru);
  let bits = vma.vmPageProt;
  if ((vma.vmFlags & VM_WRITE) !== 0) bits = pteMkwrite(pteMkdirty(bits));
  if (!pteNone(ptBits(mm.pt, slot))) {
    mmPutPage(machine, pfn);
    return 0;
  }
  addMmCounter(mm, MM_ANONPAGES, 1);
  pageAddNewAnonRmap(machine, pfn, vma, vmf.address, false);
  setPte(mm.pt, slot, bits, pfn);
  return 0;
}

/** Map a page-cache (or COW) page at vmf.address. Mirrors mm/memory.c:alloc_set_pte()/finish_fault(). */
function finishFault(vmf: VmFault, pfn: number, write: boolean, cow: boolean): boolean {
  const vma = vmf.vma;
  const mm = vma.vmMm;
  const machine = mm.machine;
  const slot = vmfPteAlloc(vmf);
  if (slot < 0 || !pteNone(ptBits(mm.pt, slot))) return false;
  let bits = vma.vmPageProt;
  if (write) bits = maybeMkwrite(pteMkdirty(bits), vma);
  if (cow) {
    addMmCounter(mm, MM_ANONPAGES, 1);
    pageAddNewAnonRmap(machine, pfn, vma, vmf.address, false);
  } else {
    addMmCounter(mm, mmCounter(machine, pfn), 1);
    pageAddFileRmap(machine, pfn);
  }
  setPte(mm.pt, slot, bits, pfn);
  return true;
}

/** Fault on an empty PTE of a file/shmem/device vma. Mirrors mm/memory.c:do_fault(). */
async function doFault(vmf: VmFault): Promise<number> {
  const vma = vmf.vma;
  const file = vma.vmFile!;
  const inode = file.inode;
  const machine = vma.vmMm.machine;
  if (inode.kind === 'device') {
    const dev = inode.device!;
    if (dev.mode !== 'mixedmap') return VM_FAULT_SIGBUS; // remap_pfn_range vmas have no ->fault
    const pfn = dev.pfns[vmf.pgoff];
    if (pfn === undefined) return VM_FAULT_SIGBUS;
    // vmf_insert_mixed() → insert_page(): a refcounted, rmapped, non-special mapping.
    getPage(machine.phys, pfn);
    if (!finishFault(vmf, pfn, false, false)) mmPutPage(machine, pfn);
    return VM_FAULT_NOPAGE;
  }
  const maxOff = Math.ceil(inode.size / PAGE_SIZE);
  if (vmf.pgoff >= maxOff) return VM_FAULT_SIGBUS;
  const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
  if (!write) return doReadFault(vmf);
  if ((vma.vmFlags & VM_SHARED) === 0) return doCowFault(vmf);
  return doSharedFault(vmf);
}

function getFilePage(vmf: VmFault): { pfn: number; major: boolean } | number {
  const vma = vmf.vma;
  return pagecacheGetPage(vma.vmMm.machine, vma.vmFile!.inode.mapping, vmf.pgoff);
}

/** Read fault on a file vma: map the page-cache page. Mirrors mm/memory.c:do_read_fault(). */
function doReadFault(vmf: VmFault): number {
  const machine = vmf.vma.vmMm.machine;
  const got = getFilePage(vmf);
  if (typeof got === 'number') return VM_FAULT_OOM;
  if (!finishFault(vmf, got.pfn, false, false)) mmPutPage(machine, got.pfn);
  return got.major ? VM_FAULT_MAJOR : 0;
}

/** Write fault on a private file vma: copy the page-cache page into a new anonymous page. Mirrors mm/memory.c:do_cow_fault(). */
function doCowFault(vmf: VmFault): number {
  const vma = vmf.vma;
  const machine = vma.vmMm.machine;
  anonVmaPrepare(vma);
  const cow = allocUserPage(machine, 0);
  if (cow < 0) return VM_FAULT_OOM;
  const got = getFilePage(vmf);
  if (typeof got === 'number') {
    mmPutPage(machine, cow);
    return VM_FAULT_OOM;
  }
  copyPage(machine.phys, cow, got.pfn);
  mmPutPage(machine, got.pfn);
  const pm = machine.phys;
  pgSetFlags(pm, cow, pgFlags(pm, cow) | PG_uptodate | PG_lru);
  if (!finishFault(vmf, cow, true, true)) mmPutPage(machine, cow);
  // VM_FAULT_DONE_COW is only for ->fault handlers that did the copy themselves (DAX).
  return got.major ? VM_FAULT_MAJOR : 0;
}

/** Write fault on a shared file vma: map the page-cache page writable and dirty. Mirrors mm/memory.c:do_shared_fault(). */
function doSharedFault(vmf: VmFault): number {
  const machine = vmf.vma.vmMm.machine;
  const got = getFilePage(vmf);
  if (typeof got === 'number') return VM_FAULT_OOM;
  const pm = machine.phys;
  pgSetFlags(pm, got.pfn, pgFlags(pm, got.pfn) | PG_dirty);
  if (!finishFault(vmf, got.pfn, true, false)) mmPutPage(machine, got.pfn);
  return got.major ? VM_FAULT_MAJOR : 0;
}

/**
 * True if the anonymous page is mapped at most once counting its swap references, so a write
 * may reuse it; drops it from the swap cache when reusing (5.4: mapcount only, no refcount
 * check). Mirrors mm/swapfile.c:reuse_swap_page().
 */
export function reuseSwapPage(machine: Machine, pfn: number): { reuse: boolean; total: number } {
  checkPfn('reuseSwapPage', machine, pfn);
  const pm = machine.phys;
  const head = compoundHead(pm, pfn);
  let mapcount: number;
  let total: number;
  if (head !== pfn || (pgFlags(pm, head) & PG_head) !== 0) {
    // PTE-mapped THP subpage: max over subpages plus PMD mappings (page_trans_huge_mapcount).
    let max = 0;
    total = 0;
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const m = pgMapcount(pm, head + i);
      if (m > max) max = m;
      total += m;
    }
    const cm = pgCompoundMapcount(pm, head);
    mapcount = max + cm;
    total += cm;
  } else {
    mapcount = pgMapcount(pm, pfn);
    total = mapcount;
  }
  let count = mapcount;
  const inCache = (pgFlags(pm, head) & PG_swapcache) !== 0;
  if (inCache) {
    const sc = swapCount(machine, pgPrivate(pm, head));
    count += sc;
    total += sc;
  }
  if (count === 1 && inCache && (pgFlags(pm, head) & PG_writeback) === 0) {
    pgSetFlags(pm, head, pgFlags(pm, head) | PG_dirty);
    deleteFromSwapCache(machine, head);
  }
  return { reuse: count <= 1, total };
}

/** Make the existing page writable in place. Mirrors mm/memory.c:wp_page_reuse(). */
function wpPageReuse(vmf: VmFault): number {
  const mm = vmf.vma.vmMm;
  const slot = vmf.pteSlot;
  if (!pteSame(mm, slot, vmf.origBits, vmf.origVal)) return 0;
  const bits = maybeMkwrite(pteMkdirty(pteMkyoung(vmf.origBits)), vmf.vma);
  setPte(mm.pt, slot, bits, vmf.origVal);
  return VM_FAULT_WRITE;
}

/** Write fault on a present read-only PTE: reuse or copy. Mirrors mm/memory.c:do_wp_page(). */
async function doWpPage(vmf: VmFault): Promise<number> {
  const vma = vmf.vma;
  const machine = vma.vmMm.machine;
  const pm = machine.phys;
  const page = vmNormalPage(vma, vmf.origBits, vmf.origVal);
  if (page < 0) {
    if ((vma.vmFlags & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED)) return wpPageReuse(vmf);
    return wpPageCopy(vmf, -1);
  }
  const head = compoundHead(pm, page);
  if ((pgFlags(pm, head) & PG_anon) !== 0) {
    if ((pgFlags(pm, head) & PG_locked) !== 0) {
      // Linux sleeps in lock_page and re-checks the PTE; the model waits and retries the fault.
      await waitOnPageLocked(machine, head);
      return 0;
    }
    const { reuse, total } = reuseSwapPage(machine, page);
    if (reuse) {
      if (total === 1) pageMoveAnonRmap(machine, page, vma);
      return wpPageReuse(vmf);
    }
  } else if ((vma.vmFlags & (VM_WRITE | VM_SHARED)) === (VM_WRITE | VM_SHARED)) {
    pgSetFlags(pm, head, pgFlags(pm, head) | PG_dirty);
    return wpPageReuse(vmf);
  }
  getPage(pm, page);
  return wpPageCopy(vmf, page);
}

/**
 * Break COW: copy into a new anonymous page and replace the PTE inside a CLEAR invalidation
 * (invalidateRange at the clear-flush, changePte at the new entry, only-end). `old` carries an
 * extra reference taken by the caller (-1 for the zero page / raw pfn). Mirrors mm/memory.c:wp_page_copy().
 */
async function wpPageCopy(vmf: VmFault, old: number): Promise<number> {
  const vma = vmf.vma;
  const mm = vma.vmMm;
  const machine = mm.machine;
  const pm = machine.phys;
  anonVmaPrepare(vma);
  const fresh = allocUserPage(machine, 0);
  if (fresh < 0) {
    if (old >= 0) mmPutPage(machine, old);
    return VM_FAULT_OOM;
  }
  if (old >= 0) copyPage(pm, fresh, old);
  else if (vmf.origVal !== pm.zeroPfn) copyPage(pm, fresh, vmf.origVal);
  pgSetFlags(pm, fresh, pgFlags(pm, fresh) | PG_uptodate | PG_lru);
  const addr = vmf.address;
  const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, vma, mm, addr, addr + PAGE_SIZE);
  await mmuNotifierInvalidateRangeStart(range);
  const slot = pteLookup(mm, addr);
  let copied = false;
  let toPut = fresh;
  if (slot >= 0 && pteSame(mm, slot, vmf.origBits, vmf.origVal)) {
    if (old >= 0) {
      const c = mmCounter(machine, old);
      if (c !== MM_ANONPAGES) {
        addMmCounter(mm, c, -1);
        addMmCounter(mm, MM_ANONPAGES, 1);
      }
    } else {
      addMmCounter(mm, MM_ANONPAGES, 1);
    }
    const bits = maybeMkwrite(pteMkdirty(vma.vmPageProt), vma);
    pteClear(mm.pt, slot);
    mmuNotifierInvalidateRange(mm, addr, addr + PAGE_SIZE);
    pageAddNewAnonRmap(machine, fresh, vma, addr, false);
    setPte(mm.pt, slot, bits, fresh);
    mmuNotifierChangePte(mm, addr, bits, fresh);
    if (old >= 0) pageRemoveRmap(machine, old, false);
    toPut = old;
    copied = true;
  }
  if (toPut >= 0) mmPutPage(machine, toPut);
  await mmuNotifierInvalidateRangeOnlyEnd(range);
  if (old >= 0) mmPutPage(machine, old);
  return copied ? VM_FAULT_WRITE : 0;
}

/**
 * Fault on a swap-format PTE: swap-in (VM_FAULT_MAJOR when read from the device), migration
 * wait, device-private migrate_to_ram, hwpoison. Mirrors mm/memory.c:do_swap_page().
 */
async function doSwapPage(vmf: VmFault): Promise<number> {
  const vma = vmf.vma;
  const mm = vma.vmMm;
  const machine = mm.machine;
  const pm = machine.phys;
  const entry = pteToSwpEntry(vmf.origBits, vmf.origVal);
  if (nonSwapEntry(entry)) {
    if (isMigrationEntry(entry)) {
      await waitOnPageLocked(machine, vmf.origVal);
      if ((pgFlags(pm, vmf.origVal) & PG_locked) === 0) return 0;
      await machine.sched.point({ kind: 'mm.fault', label: 'migration_entry_wait' });
      return 0;
    }
    if (isDevicePrivateEntry(entry)) {
      const pgmapId = pgPgmap(pm, vmf.origVal);
      if (accessReporting) noteRead(machine.devPagemaps, pgmapId);
      const ops = machine.devPagemaps.get(pgmapId);
      if (ops === undefined) return VM_FAULT_SIGBUS;
      vmf.page = vmf.origVal;
      return ops.migrateToRam(vmf);
    }
    if (isHwpoisonEntry(entry)) return VM_FAULT_HWPOISON;
    return VM_FAULT_SIGBUS;
  }
  let ret = 0;
  let page = lookupSwapCache(machine, entry);
  if (page < 0) {
    page = allocUserPage(machine, 0);
    if (page < 0) {
      return pteSame(mm, vmf.pteSlot, vmf.origBits, vmf.origVal) ? VM_FAULT_OOM : 0;
    }
    swapReadpage(machine, page, entry);
    pgSetFlags(pm, page, pgFlags(pm, page) | PG_uptodate | PG_lru);
    addToSwapCache(machine, page, entry);
    ret = VM_FAULT_MAJOR;
  } else {
    if ((pgFlags(pm, page) & PG_locked) !== 0) {
      await waitOnPageLocked(machine, page);
      return 0;
    }
    getPage(pm, page);
  }
  await lockPageSleep(machine, page);
  const slot = pteLookup(mm, vmf.address);
  if (
    slot < 0 ||
    !pteSame(mm, slot, vmf.origBits, vmf.origVal) ||
    (pgFlags(pm, page) & PG_swapcache) === 0 ||
    pgPrivate(pm, page) !== entry
  ) {
    unlockPageWake(machine, page);
    mmPutPage(machine, page);
    tryToFreeSwap(machine, entry);
    return ret;
  }
  addMmCounter(mm, MM_ANONPAGES, 1);
  addMmCounter(mm, MM_SWAPENTS, -1);
  let bits = vma.vmPageProt;
  let exclusive = false;
  if ((vmf.flags & FAULT_FLAG_WRITE) !== 0 && reuseSwapPage(machine, page).reuse) {
    bits = maybeMkwrite(pteMkdirty(bits), vma);
    vmf.flags &= ~FAULT_FLAG_WRITE;
    ret |= VM_FAULT_WRITE;
    exclusive = true;
  }
  if (pteSwpSoftDirty(vmf.origBits)) bits |= _PAGE_SOFT_DIRTY;
  anonVmaPrepare(vma);
  if ((pgFlags(pm, page) & PG_anon) === 0 && !exclusive && vma.anonVma !== null) {
    // __page_set_anon_rmap() with !exclusive uses the root anon_vma.
    const root = vma.anonVma.root;
    pageAddNewAnonRmap(machine, page, vma, vmf.address, false);
    pgSetMapping(pm, page, root.id);
  } else {
    pageAddAnonRmap(machine, page, vma, vmf.address);
  }
  setPte(mm.pt, slot, bits, page);
  swapFree(machine, entry);
  unlockPageWake(machine, page);
  tryToFreeSwap(machine, entry);
  if ((vmf.flags & FAULT_FLAG_WRITE) !== 0) {
    vmf.pteSlot = slot;
    vmf.origBits = bits;
    vmf.origVal = page;
    ret |= await doWpPage(vmf);
    if ((ret & VM_FAULT_ERROR) !== 0) ret &= VM_FAULT_ERROR;
  }
  return ret;
}

// ---------------------------------------------------------------------------------------------
// Zapping: mmu_gather and unmap_page_range

/** Batched TLB flush + page freeing. Mirrors include/asm-generic/tlb.h:struct mmu_gather. */
export class MmuGather {
  readonly mm: MmStruct;
  readonly fullmm: boolean;
  start: number;
  end: number;
  readonly pages: number[] = [];

  constructor(mm: MmStruct, start: number, end: number) {
    this.mm = mm;
    this.fullmm = start === 0 && end === ULONG_MAX;
    this.start = this.fullmm ? ULONG_MAX : ULONG_MAX;
    this.end = this.fullmm ? 0 : 0;
  }
}

/** Start gathering for `[start, end)` (`[0, ULONG_MAX)` = the whole mm at exit). Mirrors mm/mmu_gather.c:tlb_gather_mmu(). */
export function tlbGatherMmu(mm: MmStruct, start: number, end: number): MmuGather {
  checkMm('tlbGatherMmu', mm);
  checkAddr('tlbGatherMmu', 'start', start);
  checkAddr('tlbGatherMmu', 'end', end);
  return new MmuGather(mm, start, end);
}

function tlbAdjustRange(tlb: MmuGather, addr: number, size: number): void {
  if (addr < tlb.start) tlb.start = addr;
  if (tlb.fullmm) tlb.end = ULONG_MAX;
  else if (addr + size > tlb.end) tlb.end = addr + size;
}

/** Flush the TLB for the gathered range and notify secondary MMUs. Mirrors include/asm-generic/tlb.h:tlb_flush_mmu_tlbonly(). */
export function tlbFlushMmuTlbonly(tlb: MmuGather): void {
  if (tlb.end === 0) return;
  mmuNotifierInvalidateRange(tlb.mm, tlb.start, tlb.end);
  tlb.start = ULONG_MAX;
  tlb.end = 0;
}

/** Flush and free the gathered pages. Mirrors mm/mmu_gather.c:tlb_flush_mmu(). */
export function tlbFlushMmu(tlb: MmuGather): void {
  tlbFlushMmuTlbonly(tlb);
  const machine = tlb.mm.machine;
  for (const pfn of tlb.pages) mmPutPage(machine, pfn);
  tlb.pages.length = 0;
}

/** Final flush. Mirrors mm/mmu_gather.c:tlb_finish_mmu(). */
export function tlbFinishMmu(tlb: MmuGather): void {
  tlbFlushMmu(tlb);
}

/** Queue a page reference to drop after the flush and record the range. Mirrors include/asm-generic/tlb.h:tlb_remove_page_size(). */
export function tlbRemovePage(tlb: MmuGather, addr: number, size: number, pfn: number): void {
  checkAddr('tlbRemovePage', 'addr', addr);
  checkSize('tlbRemovePage', 'size', size);
  if (pfn !== -1) checkPfn('tlbRemovePage', tlb.mm.machine, pfn);
  tlbAdjustRange(tlb, addr, size);
  if (pfn >= 0) tlb.pages.push(pfn);
}

function zapPteRange(tlb: MmuGather, vma: VmArea, table: number, addr: number, end: number): void {
  const mm = vma.vmMm;
  const machine = mm.machine;
  const pm = machine.phys;
  const pt = mm.pt;
  let forceFlush = false;
  for (; addr < end; addr += PAGE_SIZE) {
    const slot = tableSlot(table, pteIndex(addr));
    const bits = ptBits(pt, slot);
    if (bits === 0) continue;
    const val = ptVal(pt, slot);
    if (ptePresent(bits)) {
      pteClear(pt, slot);
      const page = vmNormalPage(vma, bits, val);
      if (page < 0) {
        tlbAdjustRange(tlb, addr, PAGE_SIZE);
        continue;
      }
      const head = compoundHead(pm, page);
      if ((pgFlags(pm, head) & PG_anon) === 0) {
        if (pteDirty(bits)) {
          forceFlush = true;
          pgSetFlags(pm, head, pgFlags(pm, head) | PG_dirty);
        }
      }
      addMmCounter(mm, mmCounter(machine, page), -1);
      pageRemoveRmap(machine, page, false);
      tlbRemovePage(tlb, addr, PAGE_SIZE, page);
      continue;
    }
    const entry = pteToSwpEntry(bits, val);
    pteClear(pt, slot);
    if (nonSwapEntry(entry)) {
      if (isDevicePrivateEntry(entry)) {
        addMmCounter(mm, mmCounter(machine, val), -1);
        pageRemoveRmap(machine, val, false);
        mmPutPage(machine, val);
      } else if (isMigrationEntry(entry)) {
        addMmCounter(mm, mmCounter(machine, val), -1);
      }
      continue;
    }
    addMmCounter(mm, MM_SWAPENTS, -1);
    freeSwapAndCache(machine, entry);
  }
  if (forceFlush) tlbFlushMmu(tlb);
}

/**
 * End of the `size`-aligned block containing `addr`, clipped to `end`.
 * Mirrors include/asm-generic/pgtable.h:pmd_addr_end() (and pgd/pud_addr_end()).
 */
export function addrEnd(addr: number, size: number, end: number): number {
  checkAddr('addrEnd', 'addr', addr);
  checkAddr('addrEnd', 'end', end);
  if (!(Number.isSafeInteger(size) && size >= 1)) {
    checkIntIn('addrEnd', 'size', size, 1, Number.MAX_SAFE_INTEGER, 'a block size >= 1');
  }
  const b = (Math.floor(addr / size) + 1) * size;
  return Math.min(b, end);
}

/**
 * First address in `[addr, end)` whose PMD entry exists (its PGD and PUD entries point at
 * tables), skipping empty PGD and PUD ranges whole; `end` if there is none. The
 * pgd/p4d/pud_none_or_clear_bad() skips shared by the kernel's range walkers.
 * Mirrors the outer levels of mm/memory.c:zap_p4d_range()/copy_pud_range() and
 * mm/mprotect.c:change_pud_range().
 */
export function nextPmdAddr(pt: PageTables, addr: number, end: number): number {
  checkAddr('nextPmdAddr', 'addr', addr);
  checkAddr('nextPmdAddr', 'end', end);
  while (addr < end) {
    if (addr >= VADDR_LIMIT) return end; // nothing is mapped at or above 2^48
    if (pudOffset(pt, addr) < 0) addr = addrEnd(addr, PGDIR_SIZE, end);
    else if (pmdOffset(pt, addr) < 0) addr = addrEnd(addr, PUD_SIZE, end);
    else return addr;
  }
  return end;
}

/**
 * Zap every entry of `[addr, end)` inside one vma: huge PMDs that are only partly covered are
 * split first (CLEAR bracket), fully covered ones zapped whole. Mirrors mm/memory.c:unmap_page_range()
 * (zap_p4d/pud/pmd/pte_range).
 */
export async function unmapPageRange(
  tlb: MmuGather,
  vma: VmArea,
  addr: number,
  end: number,
): Promise<void> {
  checkTlbVma('unmapPageRange', tlb, vma);
  checkAddr('unmapPageRange', 'addr', addr);
  checkAddr('unmapPageRange', 'end', end);
  if (addr < vma.vmStart || end > vma.vmEnd) {
    throw new KernelBugError(
      `unmapPageRange: [0x${addr.toString(16)}, 0x${end.toString(16)}) is not inside the vma [0x${vma.vmStart.toString(16)}, 0x${vma.vmEnd.toString(16)}); expected a range of the vma (unmapSingleVma clips it)`,
    );
  }
  const pt = vma.vmMm.pt;
  const trace = vma.vmMm.machine.sched.trace;
  if (trace.enabled) {
    trace.emit(
      'mm.zap',
      `zap PTEs [0x${addr.toString(16)}, 0x${end.toString(16)})`,
      `mm${vma.vmMm.id}`,
    );
  }
  for (addr = nextPmdAddr(pt, addr, end); addr < end; addr = nextPmdAddr(pt, addr, end)) {
    const pmdSlot = pmdOffset(pt, addr);
    const next = addrEnd(addr, PMD_SIZE, end);
    let bits = ptBits(pt, pmdSlot);
    if (bits !== 0 && !entryIsTable(bits)) {
      if (next - addr !== PMD_SIZE) {
        await splitHugePmd(vma, addr);
      } else if (zapHugePmd(tlb, vma, pmdSlot, addr)) {
        addr = next;
        continue;
      }
      const s = pmdOffset(pt, addr);
      bits = s < 0 ? 0 : ptBits(pt, s);
      if (!entryIsTable(bits)) {
        addr = next;
        continue;
      }
      zapPteRange(tlb, vma, ptVal(pt, s), addr, next);
      addr = next;
      continue;
    }
    if (entryIsTable(bits)) zapPteRange(tlb, vma, ptVal(pt, pmdSlot), addr, next);
    addr = next;
  }
}

/** Zap the part of `[start, end)` inside `vma`. Mirrors mm/memory.c:unmap_single_vma(). */
export async function unmapSingleVma(
  tlb: MmuGather,
  vma: VmArea,
  start: number,
  end: number,
): Promise<void> {
  checkTlbVma('unmapSingleVma', tlb, vma);
  checkAddr('unmapSingleVma', 'start', start);
  checkAddr('unmapSingleVma', 'end', end);
  const s = Math.max(vma.vmStart, start);
  const e = Math.min(vma.vmEnd, end);
  if (s >= e) return;
  await unmapPageRange(tlb, vma, s, e);
}

/**
 * Unmap `[start, end)` over the listed vmas inside one MMU_NOTIFY_UNMAP bracket (vma = the first).
 * Mirrors mm/memory.c:unmap_vmas().
 */
export async function unmapVmas(
  tlb: MmuGather,
  vmas: readonly VmArea[],
  start: number,
  end: number,
): Promise<void> {
  checkAddr('unmapVmas', 'start', start);
  checkAddr('unmapVmas', 'end', end);
  for (const v of vmas) checkTlbVma('unmapVmas', tlb, v);
  const first = vmas[0];
  if (first === undefined) return;
  const range = mmuNotifierRangeInit(MMU_NOTIFY_UNMAP, 0, first, first.vmMm, start, end);
  await mmuNotifierInvalidateRangeStart(range);
  for (const vma of vmas) {
    if (vma.vmStart >= end) break;
    await unmapSingleVma(tlb, vma, start, end);
  }
  await mmuNotifierInvalidateRangeEnd(range);
}

/**
 * Zap `[start, start + size)` of `vma` (and following vmas) inside one MMU_NOTIFY_CLEAR bracket;
 * pages are freed after the end. Mirrors mm/memory.c:zap_page_range().
 */
export async function zapPageRange(vma: VmArea, start: number, size: number): Promise<void> {
  checkVma('zapPageRange', vma);
  checkAddr('zapPageRange', 'start', start);
  checkSize('zapPageRange', 'size', size);
  if (!vma.linked) {
    throw new KernelBugError('zapPageRange: vma is not linked into its mm; expected a live vma');
  }
  const mm = vma.vmMm;
  const end = start + size;
  const range: MmuNotifierRange = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, vma, mm, start, end);
  const tlb = tlbGatherMmu(mm, start, end);
  await mmuNotifierInvalidateRangeStart(range);
  const i = mm.vmas.indexOf(vma);
  for (let k = i; k >= 0 && k < mm.vmas.length; k++) {
    const v = mm.vmas[k]!;
    if (v.vmStart >= end) break;
    await unmapSingleVma(tlb, v, start, end);
  }
  await mmuNotifierInvalidateRangeEnd(range);
  tlbFinishMmu(tlb);
}

/**
 * Map `size` bytes of raw pfns starting at `pfn` into `vma` at `addr` as special PTEs with
 * protection `prot` (PTE bits), marking the vma VM_IO|VM_PFNMAP|VM_DONTEXPAND|VM_DONTDUMP.
 * Returns 0, -EINVAL (COW mapping not covered whole, or range outside the vma), -ENOMEM, -EBUSY
 * (an entry is already populated); on every error nothing is changed (the model checks before
 * it writes and undoes a partial mapping when the table pool runs out). `pfn` must fit a PTE
 * (below 2^32) for the whole range. Caller holds mmap_sem for write (driver ->mmap).
 * Mirrors mm/memory.c:remap_pfn_range().
 */
export function remapPfnRange(
  vma: VmArea,
  addr: number,
  pfn: number,
  size: number,
  prot: number,
): number {
  checkVma('remapPfnRange', vma);
  checkAddr('remapPfnRange', 'addr', addr);
  checkSize('remapPfnRange', 'size', size);
  checkWord('remapPfnRange', 'prot', prot);
  checkIntIn('remapPfnRange', 'pfn', pfn, 0, 2 ** 32 - 1, 'a pfn a PTE can hold (below 2^32)');
  if (size > TASK_SIZE) return -EINVAL;
  const end = addr + pageAlignUp(size);
  if (addr < vma.vmStart || end > vma.vmEnd || addr % PAGE_SIZE !== 0) return -EINVAL;
  const n = (end - addr) / PAGE_SIZE;
  if (pfn + n > 2 ** 32) {
    throw new InvalidArgumentError(
      `remapPfnRange: pfns [${pfn}, ${pfn + n}) pass 2^32; expected every pfn to fit a PTE`,
    );
  }
  if (isCowMapping(vma.vmFlags) && (addr !== vma.vmStart || end !== vma.vmEnd)) return -EINVAL;
  const pt = vma.vmMm.pt;
  for (let a = addr; a < end; a += PAGE_SIZE) {
    const slot = pteOffset(pt, a);
    if (slot >= 0 && !pteNone(ptBits(pt, slot))) return -EBUSY;
  }
  for (let a = addr, p = pfn; a < end; a += PAGE_SIZE, p++) {
    const slot = pteAlloc(pt, a);
    if (slot < 0) {
      for (let b = addr; b < a; b += PAGE_SIZE) pteClear(pt, pteOffset(pt, b));
      return -ENOMEM;
    }
    setPte(pt, slot, pteMkspecial(prot), p);
  }
  if (isCowMapping(vma.vmFlags)) vma.vmPgoff = pfn;
  vma.vmFlags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
  return 0;
}

/** KernelBugError unless `vma` is a VmArea of the mm `tlb` gathers for. */
function checkTlbVma(fn: string, tlb: MmuGather, vma: VmArea): void {
  checkVma(fn, vma);
  if (!(tlb instanceof MmuGather) || tlb.mm !== vma.vmMm) {
    throw new KernelBugError(
      `${fn}: the vma belongs to mm${vma.vmMm.id}, the mmu_gather to another mm; expected one tlb per mm`,
    );
  }
}
