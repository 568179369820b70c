/**
 * Consistency checks of the mm layer: per-mm (vmas, entries against vmas, rss) and machine-wide
 * (mapcounts, refcounts, swap slots, page cache, rmap reachability). Model checks used by the
 * tests and fuzzers (cf. mm/debug.c, mm/debug_vm_pgtable.c).
 */
import {
  HPAGE_PMD_NR,
  KernelBugError,
  PAGE_SIZE,
  PGDIR_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  TASK_SIZE,
} from '@hmmsim/kernel';
import {
  assertMemmapInvariants,
  assertPageTableInvariants,
  compoundHead,
  entryIsTable,
  isDevicePrivateEntry,
  isMigrationEntry,
  nonSwapEntry,
  type PageTables,
  PG_anon,
  PG_swapcache,
  pageMapcount,
  pmdTransHuge,
  ptePresent,
  pteProtnone,
  pteToSwpEntry,
  pteWrite,
  swpEntry,
  swpOffset,
  swpType,
} from '@hmmsim/pagetable';
import type { Machine } from './machine.ts';
import { mmCounter, vmNormalPage } from './memory.ts';
import { MM_ANONPAGES, MM_SWAPENTS, type MmStruct, NR_MM_COUNTERS } from './mm-struct.ts';
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

/** Visit every non-empty leaf entry of `pt` in address order. Model helper. */
export function forEachLeaf(pt: PageTables, visit: (e: LeafEntry) => void): void {
  for (let g = 0; g < 512; g++) {
    if (!entryIsTable(pt.bits[g] as number)) continue;
    const pud = pt.val[g] as number;
    for (let u = 0; u < 512; u++) {
      const us = pud * 512 + u;
      if (!entryIsTable(pt.bits[us] as number)) continue;
      const pmd = pt.val[us] as number;
      const ubase = g * PGDIR_SIZE + u * PUD_SIZE;
      for (let m = 0; m < 512; m++) {
        const ms = pmd * 512 + m;
        const mb = pt.bits[ms] as number;
        if (mb === 0) continue;
        const mbase = ubase + m * PMD_SIZE;
        if (!entryIsTable(mb)) {
          visit({ addr: mbase, level: 2, bits: mb, val: pt.val[ms] as number });
          continue;
        }
        const pte = pt.val[ms] as number;
        for (let e = 0; e < 512; e++) {
          const es = pte * 512 + e;
          const eb = pt.bits[es] as number;
          if (eb === 0) continue;
          visit({ addr: mbase + e * PAGE_SIZE, level: 1, bits: eb, val: pt.val[es] as number });
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

/**
 * Throw KernelBugError unless `mm` is consistent: vmas sorted, non-overlapping, page aligned,
 * rmap-linked; every entry inside a vma; no present PTE in a PROT_NONE vma that is not PROT_NONE
 * itself; no writable PTE in a vma without VM_WRITE, for a COW-shared anonymous page, or for a
 * page-cache page in a private mapping; huge PMDs inside one vma; RSS counters equal to what the
 * page tables hold; plus the page-table and memmap checks of @hmmsim/pagetable.
 */
export function assertMmInvariants(mm: MmStruct, opts: { memmap?: boolean } = {}): void {
  const fail = (m: string): never => {
    throw new KernelBugError(`mm invariant violated (mm${mm.id}): ${m}`);
  };
  const machine = mm.machine;
  const pm = machine.phys;
  if (mm.exited && mm.vmas.length !== 0) fail('exited mm still has vmas');
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
      const page = vmNormalPage(v, e.bits, e.val);
      if (pteWrite(e.bits)) {
        if ((v.vmFlags & VM_WRITE) === 0)
          fail(`writable PTE at ${hex(e.addr)} in a vma without VM_WRITE`);
        if (page >= 0) {
          const anon = ((pm.flags[compoundHead(pm, page)] as number) & PG_anon) !== 0;
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
        const c = mmCounter(machine, page);
        rss[c] = (rss[c] as number) + 1;
      }
      return;
    }
    const entry = pteToSwpEntry(e.bits, e.val);
    if (!nonSwapEntry(entry)) {
      rss[MM_SWAPENTS] = (rss[MM_SWAPENTS] as number) + 1;
    } else if (isDevicePrivateEntry(entry) || isMigrationEntry(entry)) {
      const c = mmCounter(machine, e.val);
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
 * index; every mapping of an anonymous or file page is reachable by the rmap walk. Also runs
 * assertMmInvariants on each mm and the memmap check once.
 */
export function assertMachineInvariants(machine: Machine): void {
  const fail = (m: string): never => {
    throw new KernelBugError(`machine invariant violated: ${m}`);
  };
  const pm = machine.phys;
  const sd = machine.swap;
  const pte = new Int32Array(pm.memmapEnd);
  const pmd = new Map<number, number>();
  const swapRefs = new Int32Array(sd.nrPages);
  for (const mm of machine.mms) {
    assertMmInvariants(mm, { memmap: false });
    forEachLeaf(mm.pt, (e) => {
      const vma = findVmaContaining(mm, e.addr) as VmArea;
      if (e.level === 2) {
        if (pmdTransHuge(e.bits)) {
          pmd.set(e.val, (pmd.get(e.val) ?? 0) + 1);
          checkRmap(machine, vma, e.addr, e.val, fail);
        }
        return;
      }
      if (ptePresent(e.bits)) {
        const page = vmNormalPage(vma, e.bits, e.val);
        if (page < 0) return;
        pte[page] = (pte[page] as number) + 1;
        const head = compoundHead(pm, page);
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
      }
    });
  }
  const cacheRefs = new Int32Array(pm.memmapEnd);
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
  for (let pfn = 1; pfn < pm.memmapEnd; pfn++) {
    const n = pte[pfn] as number;
    if (pm.mapcount[pfn] !== n)
      fail(`pfn ${pfn} mapcount ${pm.mapcount[pfn]} but ${n} PTE mappings`);
    const f = pm.flags[pfn] as number;
    if ((f & PG_swapcache) !== 0) {
      const off = swpOffset(pm.privateVal[pfn] as number);
      if (sd.cachePfn[off] !== pfn + 1)
        fail(`page ${pfn} has PG_swapcache but slot ${off} does not name it`);
    }
    if (n > 0 || (cacheRefs[pfn] as number) > 0) {
      const head = compoundHead(pm, pfn);
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
