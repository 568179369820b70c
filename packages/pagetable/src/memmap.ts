/**
 * struct page queries and page locking over the struct-of-arrays memmap of PhysMem.
 * Compound pages are order 9 only and 2 MiB aligned, so a tail's head is found by alignment.
 * Every read or write of a pfn's memmap fields is reported on element pfn of the PhysMem (the
 * compound mapcount of a 2 MiB block on its head pfn), see physmem.ts.
 */

import type { Pfn } from '@hmmsim/kernel';
import {
  accessReporting,
  checkUlong,
  HPAGE_PMD_NR,
  InvalidArgumentError,
  integerProblem,
  isUlong,
  KernelBugError,
  noteRead,
  noteWrite,
} from '@hmmsim/kernel';
import { PG_head, PG_locked, PG_tail } from './page-flags.ts';
import { MAX_PFN_LIMIT, type PhysMem } from './physmem.ts';

/** True if `pfn` has a struct page in memory `pm`; `pfn` must be a ulong. */
function hasStructPage(pm: PhysMem, pfn: number): boolean {
  if (pfn < pm.nrPages) return true;
  // Above RAM the answer depends on memmapAddRange() (which writes all of `pm`); at or above
  // 2^32 it is always false.
  if (pfn < MAX_PFN_LIMIT) noteRead(pm, pfn);
  return pfn < pm.memmapEnd && pm.pgmap[pfn] !== 0;
}

/**
 * True if `pfn` has a struct page: RAM or a ZONE_DEVICE range (false for any other unsigned
 * long); InvalidArgumentError for a value no C caller could pass (NaN, fraction, negative, >= 2^53).
 * Mirrors include/linux/mmzone.h:pfn_valid().
 */
export function pfnValid(pm: PhysMem, pfn: number): boolean {
  if (!isUlong(pfn)) checkUlong('pfnValid', 'pfn', pfn, 'a pfn');
  return hasStructPage(pm, pfn);
}

/** Throws InvalidArgumentError unless pfnValid(pm, pfn); `fn` names the caller. Model helper (the kernel trusts its callers). */
export function assertPfnValid(pm: PhysMem, pfn: number, fn: string): void {
  if (isUlong(pfn) && hasStructPage(pm, pfn)) return;
  if (accessReporting) noteRead(pm); // the message reads memmapEnd
  const where = `RAM is [0, ${pm.nrPages}), device ranges were added with memmapAddRange up to ${pm.memmapEnd}`;
  const problem = integerProblem(pfn, 0, Number.MAX_SAFE_INTEGER);
  throw new InvalidArgumentError(
    problem === undefined
      ? `${fn}: pfn ${pfn} has no struct page; expected a pfn with one (${where})`
      : `${fn}: pfn ${problem}; expected a pfn with a struct page (${where})`,
  );
}

/** True for the shared zero page. Mirrors include/linux/mm.h:is_zero_pfn(). */
export function isZeroPfn(pm: PhysMem, pfn: number): boolean {
  if (pfn === pm.zeroPfn) return true;
  if (!isUlong(pfn)) checkUlong('isZeroPfn', 'pfn', pfn, 'a pfn');
  return false;
}

/** True for a ZONE_DEVICE page (it has a dev_pagemap). Mirrors include/linux/mm.h:is_zone_device_page(). */
export function isZoneDevicePage(pm: PhysMem, pfn: number): boolean {
  assertPfnValid(pm, pfn, 'isZoneDevicePage');
  if (accessReporting) noteRead(pm, pfn);
  return pm.pgmap[pfn] !== 0;
}

/** The head pfn of the compound page containing `pfn` (itself if not a tail). Mirrors include/linux/page-flags.h:compound_head(). */
export function compoundHead(pm: PhysMem, pfn: number): Pfn {
  assertPfnValid(pm, pfn, 'compoundHead');
  if (accessReporting) noteRead(pm, pfn);
  return (((pm.flags[pfn] as number) & PG_tail) === 0 ? pfn : pfn - (pfn % HPAGE_PMD_NR)) as Pfn;
}

/** True for the head of a compound page. Mirrors include/linux/page-flags.h:PageHead(). */
export function pageIsHead(pm: PhysMem, pfn: number): boolean {
  assertPfnValid(pm, pfn, 'pageIsHead');
  if (accessReporting) noteRead(pm, pfn);
  return ((pm.flags[pfn] as number) & PG_head) !== 0;
}

/** True for a tail of a compound page. Mirrors include/linux/page-flags.h:PageTail(). */
export function pageIsTail(pm: PhysMem, pfn: number): boolean {
  assertPfnValid(pm, pfn, 'pageIsTail');
  if (accessReporting) noteRead(pm, pfn);
  return ((pm.flags[pfn] as number) & PG_tail) !== 0;
}

/** True for a head or tail page. Mirrors include/linux/page-flags.h:PageCompound(). */
export function pageIsCompound(pm: PhysMem, pfn: number): boolean {
  assertPfnValid(pm, pfn, 'pageIsCompound');
  if (accessReporting) noteRead(pm, pfn);
  return ((pm.flags[pfn] as number) & (PG_head | PG_tail)) !== 0;
}

/** Order of the compound page containing `pfn` (0 for a single page). Mirrors include/linux/mm.h:compound_order() applied to compound_head(). */
export function compoundOrder(pm: PhysMem, pfn: number): number {
  assertPfnValid(pm, pfn, 'compoundOrder');
  const head = compoundHead(pm, pfn);
  if (accessReporting) noteRead(pm, head);
  return pm.order[head] as number;
}

/** Reference count of the (compound) page containing `pfn`. Mirrors include/linux/mm.h:page_count(). */
export function pageCount(pm: PhysMem, pfn: number): number {
  assertPfnValid(pm, pfn, 'pageCount');
  const head = compoundHead(pm, pfn);
  if (accessReporting) noteRead(pm, head);
  return pm.refcount[head] as number;
}

/** PMD mappings of the THP containing `pfn` (0 if not compound). Mirrors include/linux/mm.h:compound_mapcount(). */
export function compoundMapcount(pm: PhysMem, pfn: number): number {
  assertPfnValid(pm, pfn, 'compoundMapcount');
  if (!pageIsCompound(pm, pfn)) return 0;
  const block = Math.floor(pfn / HPAGE_PMD_NR);
  if (accessReporting) noteRead(pm, block * HPAGE_PMD_NR);
  return pm.compoundMapcounts[block] as number;
}

/** Mappings of this 4 KiB page: its PTE mappings plus the PMD mappings of its THP. Mirrors include/linux/mm.h:page_mapcount(). */
export function pageMapcount(pm: PhysMem, pfn: number): number {
  assertPfnValid(pm, pfn, 'pageMapcount');
  if (accessReporting) noteRead(pm, pfn);
  return (pm.mapcount[pfn] as number) + compoundMapcount(pm, pfn);
}

/** All mappings of the compound page containing `pfn`: PMD mappings plus every subpage's PTE mappings. Mirrors mm/huge_memory.c:total_mapcount(). */
export function totalMapcount(pm: PhysMem, pfn: number): number {
  assertPfnValid(pm, pfn, 'totalMapcount');
  const head = compoundHead(pm, pfn);
  if (!pageIsHead(pm, head)) return pm.mapcount[head] as number;
  let n = compoundMapcount(pm, head);
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    if (accessReporting) noteRead(pm, head + i);
    n += pm.mapcount[head + i] as number;
  }
  return n;
}

/** True if any part of the (compound) page is mapped. Mirrors mm/util.c:page_mapped(). */
export function pageMapped(pm: PhysMem, pfn: number): boolean {
  assertPfnValid(pm, pfn, 'pageMapped');
  return totalMapcount(pm, pfn) > 0;
}

/** True if the (compound) page is locked. Mirrors include/linux/page-flags.h:PageLocked(). */
export function pageLocked(pm: PhysMem, pfn: number): boolean {
  assertPfnValid(pm, pfn, 'pageLocked');
  const head = compoundHead(pm, pfn);
  if (accessReporting) noteRead(pm, head);
  return ((pm.flags[head] as number) & PG_locked) !== 0;
}

/** The head of `pfn`'s page for a page-lock operation; KernelBugError if that page is free. */
function lockableHead(pm: PhysMem, pfn: number, fn: string): number {
  assertPfnValid(pm, pfn, fn);
  const head = compoundHead(pm, pfn);
  if (accessReporting) noteRead(pm, head);
  if ((pm.refcount[head] as number) <= 0) {
    throw new KernelBugError(
      `${fn}: pfn ${pfn} is a free page (refcount 0); expected an allocated page (use after free)`,
    );
  }
  return head;
}

/**
 * Set PG_locked if clear and return true, else false; KernelBugError on a free page.
 * Mirrors include/linux/pagemap.h:trylock_page().
 */
export function trylockPage(pm: PhysMem, pfn: number): boolean {
  const head = lockableHead(pm, pfn, 'trylockPage');
  const f = pm.flags[head] as number;
  if ((f & PG_locked) !== 0) return false;
  if (accessReporting) noteWrite(pm, head);
  pm.flags[head] = f | PG_locked;
  return true;
}

/**
 * Lock an unlocked page; throws KernelBugError if it is locked (this layer cannot sleep: the
 * waiting lock_page lives with the scheduler). Mirrors include/linux/pagemap.h:lock_page().
 */
export function lockPage(pm: PhysMem, pfn: number): void {
  const head = lockableHead(pm, pfn, 'lockPage');
  const f = pm.flags[head] as number;
  if ((f & PG_locked) === 0) {
    if (accessReporting) noteWrite(pm, head);
    pm.flags[head] = f | PG_locked;
  } else {
    throw new KernelBugError(
      `lockPage: pfn ${pfn} is already locked; a contended lock must sleep (use the scheduler-aware lock)`,
    );
  }
}

/** Clear PG_locked; KernelBugError if the page is not locked. Mirrors mm/filemap.c:unlock_page(). */
export function unlockPage(pm: PhysMem, pfn: number): void {
  assertPfnValid(pm, pfn, 'unlockPage');
  const head = compoundHead(pm, pfn);
  if (accessReporting) noteWrite(pm, head);
  const f = pm.flags[head] as number;
  if ((f & PG_locked) === 0) {
    throw new KernelBugError(
      `unlockPage: pfn ${pfn} is not locked; expected a page locked by the caller`,
    );
  }
  pm.flags[head] = f & ~PG_locked;
}
