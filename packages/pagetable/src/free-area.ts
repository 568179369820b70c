/**
 * Free-page bookkeeping of the RAM allocator, per 2 MiB block (512 pages):
 * - a bitmap over RAM pfns (1 = in use, reserved or beyond the end of RAM);
 * - a free count per block;
 * - blocks whose 512 pages are all free sit on a stack and are the only source of order-9 pages;
 * - blocks with some free pages (and not wholly free) sit on a doubly linked "partial" list,
 *   which order-0 allocations use first, so wholly free blocks stay available for THPs.
 * Creation touches one entry per block, nothing per page. RAM pfns are < 2^28, so 32-bit
 * operators on them are safe here.
 * Access reports: every function below that reads or writes the mutable state reports an access
 * to the whole FreeArea (noteRead/noteWrite(fa)); the constructor runs before any task shares it.
 */
import { accessReporting, HPAGE_PMD_NR, noteRead, noteWrite } from '@hmmsim/kernel';

/** Block holds order-0 pages (some may be free). */
export const BLOCK_MIXED = 0;
/** All 512 pages free; the block is on the whole-block stack. */
export const BLOCK_FREE = 1;
/** Block is one allocated order-9 compound page. */
export const BLOCK_THP = 2;

const WORDS_PER_BLOCK = HPAGE_PMD_NR / 32;
const FULL_WORD = 0xffffffff;

/** Allocator state of one PhysMem (private to @hmmsim/pagetable). Mirrors the role of struct free_area in include/linux/mmzone.h. */
export class FreeArea {
  readonly nrRamPages: number;
  readonly nrBlocks: number;
  /** Bit per RAM pfn: 1 = not free. */
  readonly used: Uint32Array;
  readonly blockFree: Uint16Array;
  readonly blockState: Uint8Array;
  readonly blockNext: Int32Array;
  readonly blockPrev: Int32Array;
  partialHead = -1;
  readonly wholeStack: Int32Array;
  wholeTop = 0;
  nrFree = 0;

  constructor(nrRamPages: number) {
    this.nrRamPages = nrRamPages;
    const nb = Math.ceil(nrRamPages / HPAGE_PMD_NR);
    this.nrBlocks = nb;
    this.used = new Uint32Array(nb * WORDS_PER_BLOCK);
    this.blockFree = new Uint16Array(nb);
    this.blockState = new Uint8Array(nb);
    this.blockNext = new Int32Array(nb);
    this.blockPrev = new Int32Array(nb);
    this.wholeStack = new Int32Array(nb);
    for (let b = nb - 1; b >= 0; b--) initBlock(this, b);
  }
}

/** Number of RAM pages in block `b` (512 except possibly the last one). */
export function blockCapacity(fa: FreeArea, b: number): number {
  return Math.min(HPAGE_PMD_NR, fa.nrRamPages - b * HPAGE_PMD_NR);
}

function initBlock(fa: FreeArea, b: number): void {
  const cap = blockCapacity(fa, b);
  if (cap === HPAGE_PMD_NR && b !== 0) {
    fa.blockState[b] = BLOCK_FREE;
    fa.blockFree[b] = HPAGE_PMD_NR;
    fa.wholeStack[fa.wholeTop++] = b;
    fa.nrFree += HPAGE_PMD_NR;
    return;
  }
  // Block 0 (holds the zero page) and a short last block never form a THP.
  for (let i = cap; i < HPAGE_PMD_NR; i++) setUsed(fa, b * HPAGE_PMD_NR + i);
  let free = cap;
  if (b === 0) {
    setUsed(fa, 0);
    free--;
  }
  fa.blockState[b] = BLOCK_MIXED;
  fa.blockFree[b] = free;
  fa.nrFree += free;
  if (free > 0) addPartial(fa, b);
}

function setUsed(fa: FreeArea, pfn: number): void {
  fa.used[pfn >>> 5] = (fa.used[pfn >>> 5] as number) | (1 << (pfn & 31));
}

/** True if RAM pfn `pfn` is free in the bitmap. */
export function pfnIsFree(fa: FreeArea, pfn: number): boolean {
  if (accessReporting) noteRead(fa);
  return (((fa.used[pfn >>> 5] as number) >>> (pfn & 31)) & 1) === 0;
}

function addPartial(fa: FreeArea, b: number): void {
  fa.blockPrev[b] = -1;
  fa.blockNext[b] = fa.partialHead;
  if (fa.partialHead !== -1) fa.blockPrev[fa.partialHead] = b;
  fa.partialHead = b;
}

function removePartial(fa: FreeArea, b: number): void {
  const prev = fa.blockPrev[b] as number;
  const next = fa.blockNext[b] as number;
  if (prev === -1) fa.partialHead = next;
  else fa.blockNext[prev] = next;
  if (next !== -1) fa.blockPrev[next] = prev;
  fa.blockNext[b] = -1;
  fa.blockPrev[b] = -1;
}

function popWhole(fa: FreeArea): number {
  if (fa.wholeTop === 0) return -1;
  return fa.wholeStack[--fa.wholeTop] as number;
}

function pushWhole(fa: FreeArea, b: number): void {
  fa.blockState[b] = BLOCK_FREE;
  fa.wholeStack[fa.wholeTop++] = b;
}

/** Take one free RAM page (lowest free pfn of the first partial block); -1 if none. */
export function takePage(fa: FreeArea): number {
  if (accessReporting) noteWrite(fa);
  let b = fa.partialHead;
  if (b === -1) {
    b = popWhole(fa);
    if (b === -1) return -1;
    fa.blockState[b] = BLOCK_MIXED;
    addPartial(fa, b);
  }
  const base = b * WORDS_PER_BLOCK;
  let w = 0;
  while ((fa.used[base + w] as number) === FULL_WORD) w++;
  const word = fa.used[base + w] as number;
  const inv = ~word;
  const bit = 31 - Math.clz32(inv & -inv);
  fa.used[base + w] = word | (1 << bit);
  const left = (fa.blockFree[b] as number) - 1;
  fa.blockFree[b] = left;
  fa.nrFree--;
  if (left === 0) removePartial(fa, b);
  return b * HPAGE_PMD_NR + w * 32 + bit;
}

/** Give one RAM page back; a block whose 512 pages are all free again becomes a THP source. */
export function returnPage(fa: FreeArea, pfn: number): void {
  if (accessReporting) noteWrite(fa);
  const b = Math.floor(pfn / HPAGE_PMD_NR);
  fa.used[pfn >>> 5] = (fa.used[pfn >>> 5] as number) & ~(1 << (pfn & 31));
  const free = (fa.blockFree[b] as number) + 1;
  fa.blockFree[b] = free;
  fa.nrFree++;
  if (free === 1) addPartial(fa, b);
  if (free === HPAGE_PMD_NR) {
    removePartial(fa, b);
    pushWhole(fa, b);
  }
}

/** Take a wholly free 2 MiB block for an order-9 page; returns the first pfn or -1. */
export function takeBlock(fa: FreeArea): number {
  if (accessReporting) noteWrite(fa);
  const b = popWhole(fa);
  if (b === -1) return -1;
  fa.used.fill(FULL_WORD, b * WORDS_PER_BLOCK, (b + 1) * WORDS_PER_BLOCK);
  fa.blockFree[b] = 0;
  fa.blockState[b] = BLOCK_THP;
  fa.nrFree -= HPAGE_PMD_NR;
  return b * HPAGE_PMD_NR;
}

/** Give a whole order-9 block back. */
export function returnBlock(fa: FreeArea, headPfn: number): void {
  if (accessReporting) noteWrite(fa);
  const b = headPfn / HPAGE_PMD_NR;
  fa.used.fill(0, b * WORDS_PER_BLOCK, (b + 1) * WORDS_PER_BLOCK);
  fa.blockFree[b] = HPAGE_PMD_NR;
  fa.nrFree += HPAGE_PMD_NR;
  pushWhole(fa, b);
}

/** After split_huge_page: the block now holds 512 individually allocated order-0 pages. */
export function blockSplit(fa: FreeArea, headPfn: number): void {
  if (accessReporting) noteWrite(fa);
  fa.blockState[headPfn / HPAGE_PMD_NR] = BLOCK_MIXED;
}
