/**
 * assertMemmapInvariants: consistency of the memmap, the free-page bookkeeping and the contents.
 */
import { HPAGE_PMD_NR, KernelBugError } from '@hmmsim/kernel';
import {
  BLOCK_FREE,
  BLOCK_MIXED,
  BLOCK_THP,
  blockCapacity,
  type FreeArea,
  pfnIsFree,
} from './free-area.ts';
import { PG_head, PG_reserved, PG_tail } from './page-flags.ts';
import type { PhysMem } from './physmem.ts';

function fail(msg: string): never {
  throw new KernelBugError(`memmap invariant violated: ${msg}`);
}

function checkFreePage(pm: PhysMem, p: number): void {
  if (
    pm.refcount[p] !== 0 ||
    pm.mapcount[p] !== 0 ||
    pm.flags[p] !== 0 ||
    pm.order[p] !== 0 ||
    pm.mapping[p] !== 0 ||
    pm.index[p] !== 0 ||
    pm.privateVal[p] !== 0 ||
    pm.pgmap[p] !== 0
  ) {
    fail(
      `free pfn ${p} has refcount ${pm.refcount[p]}, mapcount ${pm.mapcount[p]}, flags 0x${(pm.flags[p] as number).toString(16)}, order ${pm.order[p]}, mapping ${pm.mapping[p]}; expected all 0`,
    );
  }
  if (pm.contents.has(p)) fail(`free pfn ${p} still has contents`);
}

function checkTail(pm: PhysMem, p: number): void {
  const head = p - (p % HPAGE_PMD_NR);
  const hf = pm.flags[head] as number;
  if (head === p || (hf & PG_head) === 0 || pm.order[head] !== 9) {
    fail(`tail pfn ${p} does not resolve to a head (pfn ${head} flags 0x${hf.toString(16)})`);
  }
  if (pm.refcount[p] !== 0 || pm.order[p] !== 0 || ((pm.flags[p] as number) & PG_head) !== 0) {
    fail(`tail pfn ${p} has refcount ${pm.refcount[p]} / order ${pm.order[p]}; expected 0 / 0`);
  }
}

function checkUsedPage(pm: PhysMem, p: number): void {
  const f = pm.flags[p] as number;
  if ((f & PG_tail) !== 0) {
    checkTail(pm, p);
    return;
  }
  if ((pm.refcount[p] as number) < 1) fail(`allocated pfn ${p} has refcount ${pm.refcount[p]}`);
  if ((f & PG_head) !== 0) {
    if (p % HPAGE_PMD_NR !== 0 || pm.order[p] !== 9) {
      fail(`head pfn ${p} is not 2 MiB aligned with order 9 (order ${pm.order[p]})`);
    }
    for (let i = 1; i < HPAGE_PMD_NR; i++) {
      if (((pm.flags[p + i] as number) & PG_tail) === 0)
        fail(`pfn ${p + i} of THP ${p} lacks PG_tail`);
    }
  } else if (pm.order[p] !== 0) {
    fail(`order-0 pfn ${p} has order ${pm.order[p]}`);
  }
  if (pm.pgmap[p] !== 0) fail(`RAM pfn ${p} has pgmap ${pm.pgmap[p]}`);
}

function checkRamPages(pm: PhysMem): void {
  const fa = pm.freeArea;
  if ((pm.refcount[0] as number) < 1 || ((pm.flags[0] as number) & PG_reserved) === 0) {
    fail(
      `zero page has refcount ${pm.refcount[0]} flags 0x${(pm.flags[0] as number).toString(16)}`,
    );
  }
  if (pfnIsFree(fa, 0) || pm.contents.has(0)) fail('zero page is free or has contents');
  for (let p = 0; p < pm.nrPages; p++) {
    if ((pm.mapcount[p] as number) < 0) fail(`pfn ${p} has mapcount ${pm.mapcount[p]} < 0`);
    if (p === 0) continue;
    if (pfnIsFree(fa, p)) checkFreePage(pm, p);
    else checkUsedPage(pm, p);
  }
}

function countFree(fa: FreeArea, b: number): number {
  let n = 0;
  const cap = blockCapacity(fa, b);
  for (let i = 0; i < cap; i++) if (pfnIsFree(fa, b * HPAGE_PMD_NR + i)) n++;
  return n;
}

function checkBlock(pm: PhysMem, b: number): void {
  const fa = pm.freeArea;
  const free = countFree(fa, b);
  if (fa.blockFree[b] !== free)
    fail(`block ${b} free count ${fa.blockFree[b]} != ${free} free pages`);
  const state = fa.blockState[b];
  const isHead = ((pm.flags[b * HPAGE_PMD_NR] as number) & PG_head) !== 0;
  if ((state === BLOCK_THP) !== isHead) fail(`block ${b} state ${state} but head flag ${isHead}`);
  if ((state === BLOCK_FREE) !== (free === HPAGE_PMD_NR)) {
    fail(`block ${b} state ${state} with ${free} free pages`);
  }
  if (state !== BLOCK_THP && pm.compoundMapcounts[b] !== 0) {
    fail(`block ${b} holds no THP but compound mapcount ${pm.compoundMapcounts[b]}`);
  }
  if ((pm.compoundMapcounts[b] as number) < 0) fail(`block ${b} compound mapcount < 0`);
}

function checkLists(fa: FreeArea): void {
  let n = 0;
  let prev = -1;
  for (let b = fa.partialHead; b !== -1; b = fa.blockNext[b] as number) {
    if (++n > fa.nrBlocks) fail('partial block list has a cycle');
    if (fa.blockPrev[b] !== prev)
      fail(`partial list: block ${b} prev ${fa.blockPrev[b]} != ${prev}`);
    if (fa.blockState[b] !== BLOCK_MIXED || fa.blockFree[b] === 0) {
      fail(`partial list holds block ${b} (state ${fa.blockState[b]}, free ${fa.blockFree[b]})`);
    }
    prev = b;
  }
  let want = 0;
  let whole = 0;
  let total = 0;
  for (let b = 0; b < fa.nrBlocks; b++) {
    if (fa.blockState[b] === BLOCK_MIXED && fa.blockFree[b] !== 0) want++;
    if (fa.blockState[b] === BLOCK_FREE) whole++;
    total += fa.blockFree[b] as number;
  }
  if (n !== want) fail(`partial list has ${n} blocks, ${want} blocks have free pages`);
  if (fa.wholeTop !== whole)
    fail(`whole-block stack has ${fa.wholeTop} entries, ${whole} free blocks`);
  const seen = new Set<number>();
  for (let i = 0; i < fa.wholeTop; i++) {
    const b = fa.wholeStack[i] as number;
    if (seen.has(b) || fa.blockState[b] !== BLOCK_FREE)
      fail(`whole-block stack entry ${b} invalid`);
    seen.add(b);
  }
  if (fa.nrFree !== total) fail(`nrFree ${fa.nrFree} != ${total} free pages counted`);
}

function checkDevicePages(pm: PhysMem): void {
  for (let p = pm.nrPages; p < pm.memmapEnd; p++) {
    if (pm.pgmap[p] === 0) {
      if (pm.refcount[p] !== 0 || pm.flags[p] !== 0) fail(`memmap gap pfn ${p} is not empty`);
      continue;
    }
    if ((pm.refcount[p] as number) < 1) fail(`device pfn ${p} has refcount ${pm.refcount[p]} < 1`);
    const f = pm.flags[p] as number;
    if ((f & PG_reserved) === 0 || (f & (PG_head | PG_tail)) !== 0) {
      fail(`device pfn ${p} has flags 0x${f.toString(16)}; expected PG_reserved, not compound`);
    }
    if ((pm.mapcount[p] as number) < 0) fail(`device pfn ${p} has mapcount < 0`);
  }
}

function checkContents(pm: PhysMem): void {
  for (const p of pm.contents.keys()) {
    const live = p < pm.nrPages ? !pfnIsFree(pm.freeArea, p) : pm.pgmap[p] !== 0;
    if (!live || p === 0)
      fail(`contents kept for pfn ${p}, which is free, invalid or the zero page`);
  }
}

/**
 * Throw KernelBugError describing the first inconsistency: free pages have refcount 0 and no
 * flags; allocated pages refcount >= 1; tails point at heads; mapcounts >= 0; block free counts,
 * partial list, whole-block stack and nrFree agree with the bitmap; device pages idle at >= 1;
 * no contents for free pages. Model check (the kernel's closest is mm/debug.c:dump_page() checks).
 */
export function assertMemmapInvariants(pm: PhysMem): void {
  checkRamPages(pm);
  for (let b = 0; b < pm.freeArea.nrBlocks; b++) checkBlock(pm, b);
  checkLists(pm.freeArea);
  checkDevicePages(pm);
  checkContents(pm);
}
