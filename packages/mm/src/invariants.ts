/**
 * Consistency checks of the mm layer: per-mm (vmas, entries against vmas, rss) and machine-wide
 * (mapcounts, refcounts, swap slots, page cache, rmap reachability). Model checks used by the
 * tests and fuzzers (cf. mm/debug.c, mm/debug_vm_pgtable.c).
 */
import {
  assertLockInvariants,
  checkFunction,
  HPAGE_PMD_NR,
  KernelBugError,
  PAGE_SIZE,
  PGDIR_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  rwsemIsLocked,
  scratchInt32,
  TASK_SIZE,
} from '@hmmsim/kernel';
import {
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_SPECIAL,
  _PAGE_SWP_ENTRY,
  assertMemmapInvariants,
  assertPageTableInvariants,
  compoundHead,
  isDevicePrivateEntry,
  isMigrationEntry,
  isPmdMigrationEntry,
  nonSwapEntry,
  type PageTables,
  PG_anon,
  PG_locked,
  PG_swapbacked,
  PG_swapcache,
  PG_tail,
  type PhysMem,
  pageMapcount,
  pfnValid,
  pmdTransHuge,
  ptePresent,
  pteProtnone,
  pteToSwpEntry,
  pteWrite,
  swpEntry,
  swpOffset,
  swpType,
} from '@hmmsim/pagetable';
import { checkMachine, checkMm } from './check-args.ts';
import type { Machine } from './machine.ts';
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  type MmStruct,
  NR_MM_COUNTERS,
} from './mm-struct.ts';
import { rmapCandidates } from './rmap.ts';
import { SWAP_TYPE } from './swap.ts';
import {
  findVmaContaining,
  VM_EXEC,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  type VmArea,
  vmGetPageProt,
} from './vma.ts';

/** One non-empty leaf entry of a page table. */
export interface LeafEntry {
  readonly addr: number;
  /** 1 = PTE, 2 = PMD (huge leaf or PMD swap-format entry). */
  readonly level: 1 | 2;
  readonly bits: number;
  readonly val: number;
}

/** Options of the mm and machine invariant checks. */
export interface InvariantOptions {
  /** Also run the memmap check (assertMmInvariants only; default true). */
  readonly memmap?: boolean;
  /**
   * Nothing is in flight: no task is inside an mm operation and no migration is between its
   * setup and finalize. Then, beyond what holds at every step: every mmap_sem is free, no task
   * waits on a page lock, and no page is locked (a page named by a migration entry excepted).
   * Default false (what holds at every scheduling step).
   */
  readonly quiescent?: boolean;
}

/** entryIsTable() without its argument check, for the words read straight from the pool. */
const TABLE_TEST = _PAGE_PRESENT | _PAGE_PSE | _PAGE_SWP_ENTRY;
const PRESENT = _PAGE_PRESENT;
function isTable(bits: number): boolean {
  return (bits & TABLE_TEST) === PRESENT;
}

/** Visit every non-empty leaf entry of `pt` in address order. Model helper. */
export function forEachLeaf(pt: PageTables, visit: (e: LeafEntry) => void): void {
  checkFunction('forEachLeaf', 'visit', visit);
  const bits = pt.bits;
  const vals = pt.val;
  for (let g = 0; g < 512; g++) {
    if (!isTable(bits[g] as number)) continue;
    const pud = vals[g] as number;
    for (let u = 0; u < 512; u++) {
      const us = pud * 512 + u;
      if (!isTable(bits[us] as number)) continue;
      const pmd = vals[us] as number;
      const ubase = g * PGDIR_SIZE + u * PUD_SIZE;
      for (let m = 0; m < 512; m++) {
        const ms = pmd * 512 + m;
        const mb = bits[ms] as number;
        if (mb === 0) continue;
        const mbase = ubase + m * PMD_SIZE;
        if (!isTable(mb)) {
          visit({ addr: mbase, level: 2, bits: mb, val: vals[ms] as number });
          continue;
        }
        const pte = vals[ms] as number;
        for (let e = 0; e < 512; e++) {
          const es = pte * 512 + e;
          const eb = bits[es] as number;
          if (eb === 0) continue;
          visit({ addr: mbase + e * PAGE_SIZE, level: 1, bits: eb, val: vals[es] as number });
        }
      }
    }
  }
}

/** VMAs and leaf entries of `mm`, for before/after comparisons in tests. Model helper. */
export function snapshotMm(mm: MmStruct): {
  vmas: { start: number; end: number; flags: number; pgoff: number }[];
  entries: LeafEntry[];
  rss: number[];
} {
  const entries: LeafEntry[] = [];
  forEachLeaf(mm.pt, (e) => entries.push(e));
  return {
    vmas: mm.vmas.map((v) => ({
      start: v.vmStart,
      end: v.vmEnd,
      flags: v.vmFlags,
      pgoff: v.vmPgoff,
    })),
    entries,
    rss: [...mm.rss],
  };
}

// The per-entry helpers of this check, without the argument checks of their public forms
// (vmNormalPage, mmCounter, compoundHead): the words come straight from the page tables and the
// check runs after every step of every fuzzer.
const SPECIAL = _PAGE_SPECIAL;
const TAIL = PG_tail;
const ANON = PG_anon;
const SWAPBACKED = PG_swapbacked;
const NR = HPAGE_PMD_NR;

/** vm_normal_page(): the page behind a present PTE, or -1 (special, zero page). */
function normalPage(pm: PhysMem, bits: number, pfn: number): number {
  return (bits & SPECIAL) !== 0 || pfn === pm.zeroPfn ? -1 : pfn;
}

/** compound_head() of a pfn with a struct page. */
function headOf(pm: PhysMem, pfn: number): number {
  return ((pm.flags[pfn] as number) & TAIL) === 0 ? pfn : pfn - (pfn % NR);
}

/** mm_counter(): MM_ANONPAGES, MM_SHMEMPAGES or MM_FILEPAGES for a mapped page. */
function counterOf(pm: PhysMem, pfn: number): number {
  const f = pm.flags[headOf(pm, pfn)] as number;
  return (f & ANON) !== 0 ? MM_ANONPAGES : (f & SWAPBACKED) !== 0 ? MM_SHMEMPAGES : MM_FILEPAGES;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function checkVmas(mm: MmStruct, fail: (m: string) => never): void {
  let prevEnd = 0;
  for (const v of mm.vmas) {
    const r = `[${hex(v.vmStart)}, ${hex(v.vmEnd)})`;
    if (v.vmMm !== mm || !v.linked) fail(`vma ${r} is not owned/linked by this mm`);
    if (v.vmStart % PAGE_SIZE !== 0 || v.vmEnd % PAGE_SIZE !== 0)
      fail(`vma ${r} is not page aligned`);
    if (v.vmStart >= v.vmEnd) fail(`vma ${r} is empty`);
    if (v.vmEnd > TASK_SIZE) fail(`vma ${r} ends above TASK_SIZE`);
    if (v.vmStart < prevEnd)
      fail(`vma ${r} overlaps or is out of order (previous ends at ${hex(prevEnd)})`);
    prevEnd = v.vmEnd;
    if (v.vmPageProt !== vmGetPageProt(v.vmFlags))
      fail(`vma ${r} vm_page_prot does not match its flags`);
    if (v.anonVma !== null && !v.anonVmaChain.includes(v.anonVma))
      fail(`vma ${r} anon_vma not in its chain`);
    for (const av of v.anonVmaChain) {
      if (!av.vmas.includes(v)) fail(`vma ${r} chained to anon_vma ${av.id} that does not list it`);
    }
    if (v.vmFile !== null && !v.vmFile.inode.mapping.iMmap.has(v))
      fail(`vma ${r} missing from i_mmap`);
  }
}

function accessible(v: VmArea): boolean {
  return (v.vmFlags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0;
}

/** The reference counts and life-cycle flags of `mm` agree with each other and with machine.mms. */
function checkLifetime(mm: MmStruct, fail: (m: string) => never): void {
  const { mmUsers, mmCount } = mm;
  if (
    !Number.isSafeInteger(mmUsers) ||
    mmUsers < 0 ||
    !Number.isSafeInteger(mmCount) ||
    mmCount < 0
  )
    fail(`mm_users ${mmUsers} / mm_count ${mmCount}; expected integers >= 0`);
  if (mmUsers > 0 && mmCount < 1)
    fail(`mm_users ${mmUsers} but mm_count ${mmCount}; users hold one count`);
  if (mm.exited && mmUsers !== 0)
    fail(`exited while mm_users is ${mmUsers}; expected exit_mmap only after the last mmput`);
  if (mm.freed && (mmCount !== 0 || !mm.exited)) fail('freed but still counted or not exited');
  if (mm.exited && mm.vmas.length !== 0) fail('exited mm still has vmas');
  if (mm.machine.mms.has(mm) === mm.exited)
    fail(
      mm.exited
        ? 'exited mm is still listed in machine.mms'
        : 'live mm is missing from machine.mms',
    );
}

/**
 * Throw KernelBugError unless `mm` is consistent: reference counts and life cycle agree (no
 * exited mm with users, no live mm missing from the machine); mmap_sem consistent and not held
 * by a task that exited (free when `quiescent`); vmas sorted, non-overlapping, page aligned,
 * rmap-linked; every entry inside a vma; no present PTE in a PROT_NONE vma that is not PROT_NONE
 * itself; no writable PTE in a vma without VM_WRITE, for a COW-shared anonymous page, or for a
 * page-cache page in a private mapping; huge PMDs inside one vma; RSS counters equal to what the
 * page tables hold; plus the page-table and memmap checks of @hmmsim/pagetable.
 */
export function assertMmInvariants(mm: MmStruct, opts: InvariantOptions = {}): void {
  checkMm('assertMmInvariants', mm);
  const fail = (m: string): never => {
    throw new KernelBugError(`mm invariant violated (mm${mm.id}): ${m}`);
  };
  const machine = mm.machine;
  const pm = machine.phys;
  checkLifetime(mm, fail);
  try {
    assertLockInvariants(mm.mmapSem);
  } catch (e) {
    fail(`mmap_sem: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (opts.quiescent === true && rwsemIsLocked(mm.mmapSem)) {
    fail(
      `mmap_sem is still held (${mm.mmapSem.writer !== undefined ? `for write by '${mm.mmapSem.writer.name}'` : `for read ${mm.mmapSem.readCount} time(s)`}) with nothing in flight; expected every operation to release it`,
    );
  }
  checkVmas(mm, fail);
  const rss = new Array<number>(NR_MM_COUNTERS).fill(0);
  forEachLeaf(mm.pt, (e) => {
    const vma = findVmaContaining(mm, e.addr);
    if (vma === undefined) fail(`entry at ${hex(e.addr)} lies outside every vma`);
    const v = vma as VmArea;
    if (e.level === 2) {
      if (e.addr < v.vmStart || e.addr + PMD_SIZE > v.vmEnd)
        fail(`huge PMD at ${hex(e.addr)} crosses its vma`);
      if (pmdTransHuge(e.bits)) {
        if (pteWrite(e.bits) && (v.vmFlags & VM_WRITE) === 0)
          fail(`writable huge PMD at ${hex(e.addr)} in a non-VM_WRITE vma`);
        if (pteWrite(e.bits) && pageMapcount(pm, e.val) > 1)
          fail(`writable huge PMD at ${hex(e.addr)} for a shared THP`);
      }
      rss[MM_ANONPAGES] = (rss[MM_ANONPAGES] as number) + HPAGE_PMD_NR;
      return;
    }
    if (ptePresent(e.bits)) {
      if (pteProtnone(e.bits) ? accessible(v) : !accessible(v)) {
        fail(
          `PTE at ${hex(e.addr)} protection (bits ${hex(e.bits)}) contradicts its vma flags ${hex(v.vmFlags)}`,
        );
      }
      const page = normalPage(pm, e.bits, e.val);
      if (pteWrite(e.bits)) {
        if ((v.vmFlags & VM_WRITE) === 0)
          fail(`writable PTE at ${hex(e.addr)} in a vma without VM_WRITE`);
        if (page >= 0) {
          const anon = ((pm.flags[headOf(pm, page)] as number) & ANON) !== 0;
          if (anon && pageMapcount(pm, page) > 1)
            fail(`writable PTE at ${hex(e.addr)} for a COW-shared page ${page}`);
          if (!anon && (v.vmFlags & VM_SHARED) === 0 && v.vmFile?.inode.kind !== 'device') {
            fail(
              `writable PTE at ${hex(e.addr)} maps page-cache page ${page} in a private mapping`,
            );
          }
        }
      }
      if (page >= 0) {
        const c = counterOf(pm, page);
        rss[c] = (rss[c] as number) + 1;
      }
      return;
    }
    const entry = pteToSwpEntry(e.bits, e.val);
    if (!nonSwapEntry(entry)) {
      rss[MM_SWAPENTS] = (rss[MM_SWAPENTS] as number) + 1;
    } else if (isDevicePrivateEntry(entry) || isMigrationEntry(entry)) {
      const c = counterOf(pm, e.val);
      rss[c] = (rss[c] as number) + 1;
    }
  });
  for (let i = 0; i < NR_MM_COUNTERS; i++) {
    if (rss[i] !== mm.rss[i])
      fail(`rss counter ${i} is ${mm.rss[i]} but the page tables hold ${rss[i]}`);
  }
  assertPageTableInvariants(mm.pt, pm);
  if (opts.memmap !== false) assertMemmapInvariants(pm);
}

/**
 * Throw KernelBugError unless, over every live mm of the machine: each pfn's mapcount equals its
 * PTE mappings (and each THP's compound mapcount its PMD mappings); each page's refcount covers
 * its mappings plus its page-cache / swap-cache reference; each swap slot's count equals the swap
 * PTEs naming it and its swap-cache page names it back; page-cache pages carry their mapping and
 * index; every mapping of an anonymous or file page is reachable by the rmap walk; the page wait
 * queues are consistent. With `quiescent` also: no page is locked unless a migration entry names
 * it, and nobody waits on a page lock. Also runs assertMmInvariants on each mm and the memmap
 * check once.
 */
export function assertMachineInvariants(machine: Machine, opts: InvariantOptions = {}): void {
  checkMachine('assertMachineInvariants', machine);
  const fail = (m: string): never => {
    throw new KernelBugError(`machine invariant violated: ${m}`);
  };
  const quiescent = opts.quiescent === true;
  const pm = machine.phys;
  const sd = machine.swap;
  const pte = scratchInt32(pm, 'mm.machine-invariants.pte', pm.memmapEnd);
  const pmd = new Map<number, number>();
  const swapRefs = scratchInt32(sd, 'mm.machine-invariants.swap-refs', sd.nrPages);
  /** Pfns named by migration entries: the pages a migration in flight keeps locked. */
  const migrating = new Set<number>();
  for (const mm of machine.mms) {
    assertMmInvariants(mm, { memmap: false, quiescent });
    forEachLeaf(mm.pt, (e) => {
      const vma = findVmaContaining(mm, e.addr) as VmArea;
      if (e.level === 2) {
        if (pmdTransHuge(e.bits)) {
          pmd.set(e.val, (pmd.get(e.val) ?? 0) + 1);
          checkRmap(machine, vma, e.addr, e.val, fail);
        } else if (isPmdMigrationEntry(e.bits)) migrating.add(e.val);
        return;
      }
      if (ptePresent(e.bits)) {
        const page = normalPage(pm, e.bits, e.val);
        if (page < 0) return;
        pte[page] = (pte[page] as number) + 1;
        const head = headOf(pm, page);
        if (((pm.flags[head] as number) & PG_anon) !== 0 || pm.mapping[head] !== 0) {
          checkRmap(machine, vma, e.addr, page, fail);
        }
        return;
      }
      const entry = pteToSwpEntry(e.bits, e.val);
      if (!nonSwapEntry(entry)) {
        if (swpType(entry) !== SWAP_TYPE || e.val <= 0 || e.val >= sd.nrPages)
          fail(`bad swap entry ${entry}`);
        swapRefs[e.val] = (swapRefs[e.val] as number) + 1;
      } else if (isDevicePrivateEntry(entry)) {
        pte[e.val] = (pte[e.val] as number) + 1;
      } else if (isMigrationEntry(entry) && pfnValid(pm, e.val)) {
        migrating.add(compoundHead(pm, e.val));
      }
    });
  }
  for (const wq of machine.pageWaitTable) {
    if (wq === undefined) continue;
    try {
      assertLockInvariants(wq);
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
    }
    if (quiescent && wq.waiters.length > 0) {
      fail(`${wq.waiters.length} task(s) wait on ${wq.name} with nothing in flight`);
    }
  }
  const cacheRefs = scratchInt32(pm, 'mm.machine-invariants.cache-refs', pm.memmapEnd);
  for (const as of machine.addressSpaces.values()) {
    for (const [pgoff, pfn] of as.pages) {
      if (pm.mapping[pfn] !== as.id || pm.index[pfn] !== pgoff) {
        fail(
          `page-cache page ${pfn} of mapping ${as.id} has mapping ${pm.mapping[pfn]} index ${pm.index[pfn]}`,
        );
      }
      cacheRefs[pfn] = (cacheRefs[pfn] as number) + 1;
    }
  }
  let inuse = 0;
  for (let off = 1; off < sd.nrPages; off++) {
    const count = sd.swapMap[off] as number;
    if (count !== swapRefs[off])
      fail(`swap slot ${off} count ${count} but ${swapRefs[off]} swap PTEs`);
    const cp = (sd.cachePfn[off] as number) - 1;
    if (cp >= 0) {
      if (
        ((pm.flags[cp] as number) & PG_swapcache) === 0 ||
        pm.privateVal[cp] !== swpEntry(SWAP_TYPE, off)
      ) {
        fail(`swap slot ${off} names swap-cache page ${cp}, which does not name it back`);
      }
      cacheRefs[cp] = (cacheRefs[cp] as number) + 1;
    }
    if (count > 0 || cp >= 0) inuse++;
    else if (sd.contents[off] !== undefined) fail(`free swap slot ${off} still has contents`);
  }
  if (inuse !== sd.inuse) fail(`swap device counts ${sd.inuse} slots in use, ${inuse} found`);
  const mappingsPerHead = new Map<number, number>();
  const { mapcount, flags } = pm;
  for (let pfn = 1; pfn < pm.memmapEnd; pfn++) {
    const n = pte[pfn] as number;
    if (mapcount[pfn] !== n) fail(`pfn ${pfn} mapcount ${mapcount[pfn]} but ${n} PTE mappings`);
    const f = flags[pfn] as number;
    if (f === 0 && n === 0 && cacheRefs[pfn] === 0) continue; // the common case: nothing to check
    if (quiescent && (f & LOCKED) !== 0 && !migrating.has(pfn)) {
      fail(
        `pfn ${pfn} is locked with nothing in flight and no migration entry naming it; expected every page lock released`,
      );
    }
    if ((f & SWAPCACHE) !== 0) {
      const off = swpOffset(pm.privateVal[pfn] as number);
      if (sd.cachePfn[off] !== pfn + 1)
        fail(`page ${pfn} has PG_swapcache but slot ${off} does not name it`);
    }
    if (n > 0 || (cacheRefs[pfn] as number) > 0) {
      const head = headOf(pm, pfn);
      mappingsPerHead.set(head, (mappingsPerHead.get(head) ?? 0) + n + (cacheRefs[pfn] as number));
    }
  }
  for (let b = 0; b < pm.compoundMapcounts.length; b++) {
    const head = b * HPAGE_PMD_NR;
    const n = pmd.get(head) ?? 0;
    if (pm.compoundMapcounts[b] !== n)
      fail(`THP ${head} compound mapcount ${pm.compoundMapcounts[b]} but ${n} PMD mappings`);
    if (n > 0) mappingsPerHead.set(head, (mappingsPerHead.get(head) ?? 0) + n);
  }
  for (const [head, n] of mappingsPerHead) {
    const floor = pm.pgmap[head] !== 0 ? n + 1 : n;
    if ((pm.refcount[head] as number) < floor) {
      fail(`page ${head} refcount ${pm.refcount[head]} < ${floor} (mappings + cache references)`);
    }
  }
  assertMemmapInvariants(pm);
}

const LOCKED = PG_locked;
const SWAPCACHE = PG_swapcache;

function checkRmap(
  machine: Machine,
  vma: VmArea,
  addr: number,
  pfn: number,
  fail: (m: string) => never,
): void {
  const found = rmapCandidates(machine, pfn).some((c) => c.vma === vma && c.addr === addr);
  if (!found)
    fail(`mapping of pfn ${pfn} at ${hex(addr)} in mm${vma.vmMm.id} is not reachable by rmap`);
}
