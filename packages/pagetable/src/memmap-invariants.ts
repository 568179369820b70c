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

// Module-local copies of the constants used per page: this check runs after every step of the
// fuzzers over every pfn, and reads of imported bindings are not folded in hot loops.
const NR = HPAGE_PMD_NR;
const HEAD = PG_head;
const TAIL = PG_tail;
const RESERVED = PG_reserved;
const WORDS_PER_BLOCK = NR / 32;

/** Number of set bits of a 32-bit word. */
function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

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
  const head = p - (p % NR);
  const hf = pm.flags[head] as number;
  if (head === p || (hf & HEAD) === 0 || pm.order[head] !== 9) {
    fail(`tail pfn ${p} does not resolve to a head (pfn ${head} flags 0x${hf.toString(16)})`);
  }
  if (pm.refcount[p] !== 0 || pm.order[p] !== 0) {
    fail(`tail pfn ${p} has refcount ${pm.refcount[p]} / order ${pm.order[p]}; expected 0 / 0`);
  }
  const f = pm.flags[p] as number;
  if (f !== TAIL) {
    fail(
      `tail pfn ${p} of THP ${head} has flags 0x${f.toString(16)}; expected PG_tail only (page flags and the page lock live on the head)`,
    );
  }
}

function checkUsedPage(pm: PhysMem, p: number): void {
  const f = pm.flags[p] as number;
  if ((f & TAIL) !== 0) {
    checkTail(pm, p);
    return;
  }
  if ((pm.refcount[p] as number) < 1) fail(`allocated pfn ${p} has refcount ${pm.refcount[p]}`);
  if ((f & HEAD) !== 0) {
    if (p % NR !== 0 || pm.order[p] !== 9) {
      fail(`head pfn ${p} is not 2 MiB aligned with order 9 (order ${pm.order[p]})`);
    }
    const flags = pm.flags;
    for (let i = 1; i < NR; i++) {
      if (((flags[p + i] as number) & TAIL) === 0) fail(`pfn ${p + i} of THP ${p} lacks PG_tail`);
    }
  } else if (pm.order[p] !== 0) {
    fail(`order-0 pfn ${p} has order ${pm.order[p]}`);
  }
  if (pm.pgmap[p] !== 0) fail(`RAM pfn ${p} has pgmap ${pm.pgmap[p]}`);
}

function checkRamPages(pm: PhysMem): void {
  const fa = pm.freeArea;
  if ((pm.refcount[0] as number) < 1 || ((pm.flags[0] as number) & RESERVED) === 0) {
    fail(
      `zero page has refcount ${pm.refcount[0]} flags 0x${(pm.flags[0] as number).toString(16)}`,
    );
  }
  if (pfnIsFree(fa, 0) || pm.contents.has(0)) fail('zero page is free or has contents');
  const used = fa.used;
  const { mapcount, refcount, flags, order, mapping, index, privateVal, pgmap } = pm;
  const hasContents = pm.contents.size !== 0;
  for (let p = 0; p < pm.nrPages; p++) {
    if ((mapcount[p] as number) < 0) fail(`pfn ${p} has mapcount ${mapcount[p]} < 0`);
    if (p === 0) continue;
    if ((((used[p >>> 5] as number) >>> (p & 31)) & 1) === 0) {
      // Free: every field zero (the common case is decided without a call).
      if (
        refcount[p] !== 0 ||
        mapcount[p] !== 0 ||
        flags[p] !== 0 ||
        order[p] !== 0 ||
        mapping[p] !== 0 ||
        index[p] !== 0 ||
        privateVal[p] !== 0 ||
        pgmap[p] !== 0 ||
        (hasContents && pm.contents.has(p))
      ) {
        checkFreePage(pm, p);
      }
    } else checkUsedPage(pm, p);
  }
}

function countFree(fa: FreeArea, b: number): number {
  const cap = blockCapacity(fa, b);
  const base = b * WORDS_PER_BLOCK;
  let n = 0;
  for (let w = 0; w < WORDS_PER_BLOCK && w * 32 < cap; w++) {
    const bits = Math.min(32, cap - w * 32);
    const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    n += popcount32(~(fa.used[base + w] as number) & mask);
  }
  return n;
}

/** Bits of a short last block beyond the end of RAM must read "in use" (never handed out). */
function checkBeyondRam(fa: FreeArea, b: number): void {
  const cap = blockCapacity(fa, b);
  for (let i = cap; i < NR; i++) {
    if (pfnIsFree(fa, b * NR + i)) fail(`pfn ${b * NR + i} beyond the end of RAM is marked free`);
  }
}

function checkBlock(pm: PhysMem, b: number): void {
  const fa = pm.freeArea;
  if (blockCapacity(fa, b) < NR) checkBeyondRam(fa, b);
  const free = countFree(fa, b);
  if (fa.blockFree[b] !== free)
    fail(`block ${b} free count ${fa.blockFree[b]} != ${free} free pages`);
  const state = fa.blockState[b];
  const isHead = ((pm.flags[b * NR] as number) & HEAD) !== 0;
  if ((state === BLOCK_THP) !== isHead) fail(`block ${b} state ${state} but head flag ${isHead}`);
  if ((state === BLOCK_FREE) !== (free === NR)) {
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
    if ((f & RESERVED) === 0 || (f & (HEAD | TAIL)) !== 0) {
      fail(`device pfn ${p} has flags 0x${f.toString(16)}; expected PG_reserved, not compound`);
    }
    if ((pm.mapcount[p] as number) < 0) fail(`device pfn ${p} has mapcount < 0`);
  }
}

function checkContents(pm: PhysMem): void {
  for (const p of pm.contents.keys()) {
    if (!Number.isInteger(p) || p < 0 || p >= pm.memmapEnd) {
      fail(
        `contents kept under key ${p}, which is not a pfn of this machine (memmap ends at ${pm.memmapEnd})`,
      );
    }
    const live = p < pm.nrPages ? !pfnIsFree(pm.freeArea, p) : pm.pgmap[p] !== 0;
    if (!live || p === 0)
      fail(`contents kept for pfn ${p}, which is free, invalid or the zero page`);
  }
}

/**
 * Throw KernelBugError describing the first inconsistency: free pages have refcount 0 and no
 * flags; allocated pages refcount >= 1; tails point at heads and carry no flag but PG_tail (the
 * page lock and flags live on the head); mapcounts >= 0; block free counts, partial list,
 * whole-block stack and nrFree agree with the bitmap, and pfns past the end of RAM never read
 * free; device pages idle at >= 1; contents only for live pfns of this machine. Model check (the kernel's closest is mm/debug.c:dump_page() checks).
 */
export function assertMemmapInvariants(pm: PhysMem): void {
  checkRamPages(pm);
  for (let b = 0; b < pm.freeArea.nrBlocks; b++) checkBlock(pm, b);
  checkLists(pm.freeArea);
  checkDevicePages(pm);
  checkContents(pm);
}
