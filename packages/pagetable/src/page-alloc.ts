/**
 * Page allocation and reference counting: allocPages, getPage, putPage (freeing on the last
 * reference), nrFreePages.
 *
 * Refcount conventions:
 * - RAM pages: refcount >= 1 while allocated, 0 when free; a compound page counts on its head
 *   (tails stay 0) and get/put on a tail act on the head. The put that reaches 0 frees the whole
 *   compound page: contents dropped, all memmap fields cleared.
 * - The zero page starts at 1 and may be got/put (as GUP does) but never drops below 1.
 * - ZONE_DEVICE pages (pgmap != 0) follow the 2019 convention: idle = 1. A put that brings the
 *   count back to 1 clears `mapping`, PG_anon and PG_active and calls `pm.devPageFree`
 *   (pgmap->ops->page_free); a put to 0 is a bug.
 *
 * Access reports: memmap fields on element pfn of the PhysMem, contents on element pfn of
 * `pm.contents`, the allocator on all of `pm.freeArea` (free-area.ts reports those).
 */

import type { Pfn } from '@hmmsim/kernel';
import {
  accessReporting,
  checkIntIn,
  HPAGE_PMD_NR,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
  noteWrite,
} from '@hmmsim/kernel';
import { returnBlock, returnPage, takeBlock, takePage } from './free-area.ts';
import { assertPfnValid } from './memmap.ts';
import {
  PAGE_FLAGS_CHECK_AT_FREE,
  PG_active,
  PG_anon,
  PG_head,
  PG_reserved,
  PG_tail,
  PG_waiters,
} from './page-flags.ts';
import type { PhysMem } from './physmem.ts';

/** Order of a transparent huge page (2 MiB). Mirrors include/linux/huge_mm.h:HPAGE_PMD_ORDER. */
const THP_ORDER = 9;
/** Orders the buddy allocator knows. Mirrors include/linux/mmzone.h:MAX_ORDER (x86-64: 11). */
const MAX_ORDER = 11;
/** Largest refcount before the Int32Array slot would wrap. */
const REFCOUNT_MAX = 2 ** 31 - 1;

/**
 * Allocate an order-0 page or an order-9 compound page (2 MiB aligned, PG_head + order on the
 * head, PG_tail on the 511 tails); refcount 1, contents read as zeros. Returns -1 when no memory
 * (no wholly free 2 MiB block for order 9), never throws for that. Mirrors mm/page_alloc.c:alloc_pages().
 */
export function allocPages(pm: PhysMem, gfpOrder: 0 | 9): Pfn | -1 {
  if (gfpOrder === 0) {
    const pfn = takePage(pm.freeArea);
    if (pfn < 0) return -1;
    if (accessReporting) noteWrite(pm, pfn);
    pm.refcount[pfn] = 1;
    return pfn as Pfn;
  }
  if (gfpOrder !== THP_ORDER) {
    checkIntIn('allocPages', 'gfpOrder', gfpOrder, 0, 2 ** 32 - 1, 'an order (0 or 9)');
    if (gfpOrder >= MAX_ORDER) {
      throw new KernelBugError(
        `allocPages: order ${gfpOrder} >= MAX_ORDER ${MAX_ORDER} (the kernel WARNs); expected 0 or 9`,
      );
    }
    throw new InvalidArgumentError(
      `allocPages: order ${gfpOrder} is not modelled; expected 0 (a page) or 9 (a THP)`,
    );
  }
  const head = takeBlock(pm.freeArea);
  if (head < 0) return -1;
  for (let p = head; p < head + HPAGE_PMD_NR; p++) noteWrite(pm, p);
  pm.refcount[head] = 1;
  pm.flags[head] = PG_head;
  pm.order[head] = THP_ORDER;
  pm.flags.fill(PG_tail, head + 1, head + HPAGE_PMD_NR);
  return head as Pfn;
}

/** Number of free RAM pages. Mirrors include/linux/vmstat.h:global_zone_page_state(NR_FREE_PAGES). */
export function nrFreePages(pm: PhysMem): number {
  if (accessReporting) noteRead(pm.freeArea);
  return pm.freeArea.nrFree;
}

function headOf(pm: PhysMem, pfn: number, fn: string): number {
  assertPfnValid(pm, pfn, fn);
  if (accessReporting) noteRead(pm, pfn);
  return ((pm.flags[pfn] as number) & PG_tail) === 0 ? pfn : pfn - (pfn % HPAGE_PMD_NR);
}

/** Take a reference on the (compound) page; KernelBugError on a free page. Mirrors include/linux/mm.h:get_page(). */
export function getPage(pm: PhysMem, pfn: number): void {
  const head = headOf(pm, pfn, 'getPage');
  if (accessReporting) noteWrite(pm, head);
  const c = pm.refcount[head] as number;
  if (c <= 0) {
    throw new KernelBugError(`getPage: pfn ${pfn} is free (refcount ${c}); expected refcount >= 1`);
  }
  if (c >= REFCOUNT_MAX) {
    throw new KernelBugError(
      `getPage: pfn ${pfn} refcount ${c} would overflow; expected fewer references`,
    );
  }
  pm.refcount[head] = c + 1;
}

/** Take a reference unless the count is 0; returns whether it did. Mirrors include/linux/mm.h:get_page_unless_zero(). */
export function getPageUnlessZero(pm: PhysMem, pfn: number): boolean {
  const head = headOf(pm, pfn, 'getPageUnlessZero');
  if (accessReporting) noteRead(pm, head);
  const c = pm.refcount[head] as number;
  if (c <= 0) return false;
  if (accessReporting) noteWrite(pm, head);
  if (c >= REFCOUNT_MAX) {
    throw new KernelBugError(
      `getPageUnlessZero: pfn ${pfn} refcount ${c} would overflow; expected fewer references`,
    );
  }
  pm.refcount[head] = c + 1;
  return true;
}

/**
 * Drop a reference; the last one frees the whole compound page (RAM) or makes a device page idle
 * (see the file comment). KernelBugError when the count would go below its floor or the page is
 * freed in a bad state (mapped, locked, under writeback, in swap cache, in a page cache).
 * Mirrors include/linux/mm.h:put_page().
 */
export function putPage(pm: PhysMem, pfn: number): void {
  const head = headOf(pm, pfn, 'putPage');
  if (accessReporting) noteWrite(pm, head);
  const c = pm.refcount[head] as number;
  if (c <= 0) {
    throw new KernelBugError(`putPage: pfn ${pfn} has refcount ${c} (double free?); expected >= 1`);
  }
  if (pm.pgmap[head] !== 0) {
    putDevicePage(pm, head, c);
    return;
  }
  if (c === 1) {
    if (head === pm.zeroPfn) {
      throw new KernelBugError('putPage: the zero page reference count would drop to 0');
    }
    freeCompound(pm, head);
  }
  pm.refcount[head] = c - 1;
}

function putDevicePage(pm: PhysMem, pfn: number, c: number): void {
  if (c === 1) {
    throw new KernelBugError(
      `putPage: device pfn ${pfn} refcount would drop to 0; idle device pages keep refcount 1`,
    );
  }
  pm.refcount[pfn] = c - 1;
  if (c - 1 === 1) {
    pm.flags[pfn] = (pm.flags[pfn] as number) & ~(PG_active | PG_anon | PG_waiters);
    pm.mapping[pfn] = 0;
    pm.devPageFree?.(pm, pfn);
  }
}

function checkFreeable(pm: PhysMem, head: number, nr: number): void {
  const f = pm.flags[head] as number;
  const why =
    (f & PG_reserved) !== 0
      ? 'PG_reserved'
      : (f & PAGE_FLAGS_CHECK_AT_FREE) !== 0
        ? `flags 0x${(f & PAGE_FLAGS_CHECK_AT_FREE).toString(16)} (locked/writeback/swapcache)`
        : pm.mapping[head] !== 0 && (f & PG_anon) === 0
          ? `mapping ${pm.mapping[head]} (still in a page cache)`
          : nr > 1 && pm.compoundMapcounts[head / HPAGE_PMD_NR] !== 0
            ? 'compound mapcount != 0 (still PMD-mapped)'
            : '';
  if (why !== '') {
    throw new KernelBugError(
      `putPage: Bad page state: freeing pfn ${head} with ${why}; expected an unmapped, unlocked page out of every cache`,
    );
  }
  for (let i = 0; i < nr; i++) {
    if (pm.mapcount[head + i] !== 0) {
      throw new KernelBugError(
        `putPage: Bad page state: freeing pfn ${head} whose page ${head + i} has mapcount ${pm.mapcount[head + i]}; expected 0`,
      );
    }
  }
}

function freeCompound(pm: PhysMem, head: number): void {
  const nr = ((pm.flags[head] as number) & PG_head) !== 0 ? HPAGE_PMD_NR : 1;
  const end = head + nr;
  for (let p = head; p < end; p++) {
    if (accessReporting) noteWrite(pm, p);
    if (accessReporting) noteWrite(pm.contents, p);
  }
  checkFreeable(pm, head, nr);
  pm.flags.fill(0, head, end);
  pm.order[head] = 0;
  pm.mapping.fill(0, head, end);
  pm.index.fill(0, head, end);
  pm.privateVal.fill(0, head, end);
  // Reported above as writes of contents [head, end): the size test only skips a no-op delete.
  if (pm.contents.size !== 0) {
    for (let p = head; p < end; p++) pm.contents.delete(p);
  }
  if (nr === 1) returnPage(pm.freeArea, head);
  else returnBlock(pm.freeArea, head);
}
