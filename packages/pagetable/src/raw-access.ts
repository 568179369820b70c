/**
 * Unchecked reads and writes of single page-table and memmap words, each reported to the
 * explorer's partial-order reduction (`noteRead`/`noteWrite` of @hmmsim/kernel) at element
 * granularity: the PageTables object with the slot, the PhysMem object with the pfn (a THP's
 * compound mapcount as element `head`, its head pfn). For the hot paths of the packages above
 * (@hmmsim/mm, @hmmsim/migrate) that index these typed arrays themselves: unlike pteBits() and
 * pageCount(), they check nothing, so the caller has validated the slot or pfn.
 */
import { accessReporting, HPAGE_PMD_NR, noteRead, noteWrite } from '@hmmsim/kernel';
import type { PageTables } from './pgtable.ts';
import type { PhysMem } from './physmem.ts';

// The accessors below report through these local functions rather than calling noteRead /
// noteWrite directly: an imported binding costs each use a check of its temporal dead zone, and
// those two bytes would put every accessor over the 27 bytes of bytecode V8 inlines whatever its
// budget (26 this way). Measured with `pnpm --filter hmmsim-bench instructions`.

/** noteRead(obj, index), from a function V8 need not check for its temporal dead zone. */
function reportRead(obj: object, index: number): void {
  noteRead(obj, index);
}

/** noteWrite(obj, index), as reportRead. */
function reportWrite(obj: object, index: number): void {
  noteWrite(obj, index);
}

/** Flag word of the entry at `slot` (a reported read). Mirrors: model-only (READ_ONCE of *ptep / *pmdp). */
export function ptBits(pt: PageTables, slot: number): number {
  if (accessReporting) reportRead(pt, slot);
  return pt.bits[slot] as number;
}

/** Value word (pfn / table / swap offset) of the entry at `slot` (a reported read). Mirrors: model-only (READ_ONCE of *ptep / *pmdp). */
export function ptVal(pt: PageTables, slot: number): number {
  if (accessReporting) reportRead(pt, slot);
  return pt.val[slot] as number;
}

/** page->flags (a reported read). Mirrors: model-only (READ_ONCE of page->flags). */
export function pgFlags(pm: PhysMem, pfn: number): number {
  if (accessReporting) reportRead(pm, pfn);
  return pm.flags[pfn] as number;
}

/** Store page->flags (a reported write). Mirrors: model-only (the set_bit/clear_bit of page-flags.h). */
export function pgSetFlags(pm: PhysMem, pfn: number, flags: number): void {
  if (accessReporting) reportWrite(pm, pfn);
  pm.flags[pfn] = flags;
}

/** page->_refcount (a reported read). Mirrors: model-only (page_ref_count()). */
export function pgRefcount(pm: PhysMem, pfn: number): number {
  if (accessReporting) reportRead(pm, pfn);
  return pm.refcount[pfn] as number;
}

/** Store page->_refcount (a reported write). Mirrors: model-only (set_page_count()). */
export function pgSetRefcount(pm: PhysMem, pfn: number, n: number): void {
  if (accessReporting) reportWrite(pm, pfn);
  pm.refcount[pfn] = n;
}

/** page->_mapcount + 1 (a reported read). Mirrors: model-only (atomic_read(&page->_mapcount) + 1). */
export function pgMapcount(pm: PhysMem, pfn: number): number {
  if (accessReporting) reportRead(pm, pfn);
  return pm.mapcount[pfn] as number;
}

/** Store page->_mapcount + 1 (a reported write). Mirrors: model-only (atomic_set(&page->_mapcount)). */
export function pgSetMapcount(pm: PhysMem, pfn: number, n: number): void {
  if (accessReporting) reportWrite(pm, pfn);
  pm.mapcount[pfn] = n;
}

/** page->mapping id (a reported read). Mirrors: model-only (READ_ONCE(page->mapping)). */
export function pgMapping(pm: PhysMem, pfn: number): number {
  if (accessReporting) reportRead(pm, pfn);
  return pm.mapping[pfn] as number;
}

/** Store page->mapping id (a reported write). Mirrors: model-only (WRITE_ONCE(page->mapping)). */
export function pgSetMapping(pm: PhysMem, pfn: number, id: number): void {
  if (accessReporting) reportWrite(pm, pfn);
  pm.mapping[pfn] = id;
}

/** page->index (a reported read). Mirrors: model-only (page->index). */
export function pgIndex(pm: PhysMem, pfn: number): number {
  if (accessReporting) reportRead(pm, pfn);
  return pm.index[pfn] as number;
}

/** Store page->index (a reported write). Mirrors: model-only (page->index = ...). */
export function pgSetIndex(pm: PhysMem, pfn: number, index: number): void {
  if (accessReporting) reportWrite(pm, pfn);
  pm.index[pfn] = index;
}

/** page_private (a reported read). Mirrors: model-only (include/linux/mm.h:page_private()). */
export function pgPrivate(pm: PhysMem, pfn: number): number {
  if (accessReporting) reportRead(pm, pfn);
  return pm.privateVal[pfn] as number;
}

/** Store page_private (a reported write). Mirrors: model-only (include/linux/mm.h:set_page_private()). */
export function pgSetPrivate(pm: PhysMem, pfn: number, v: number): void {
  if (accessReporting) reportWrite(pm, pfn);
  pm.privateVal[pfn] = v;
}

/** dev_pagemap id of the page (a reported read). Mirrors: model-only (page->pgmap). */
export function pgPgmap(pm: PhysMem, pfn: number): number {
  if (accessReporting) reportRead(pm, pfn);
  return pm.pgmap[pfn] as number;
}

/** Compound order (a reported read). Mirrors: model-only (compound_order()). */
export function pgOrder(pm: PhysMem, pfn: number): number {
  if (accessReporting) reportRead(pm, pfn);
  return pm.order[pfn] as number;
}

/** PMD mappings of the THP headed by `head` (a reported read of `head`). Mirrors: model-only (compound_mapcount()). */
export function pgCompoundMapcount(pm: PhysMem, head: number): number {
  if (accessReporting) reportRead(pm, head);
  return pm.compoundMapcounts[head / HPAGE_PMD_NR] as number;
}

/** Store the PMD mapcount of the THP headed by `head` (a reported write of `head`). Mirrors: model-only (atomic_set(compound_mapcount_ptr())). */
export function pgSetCompoundMapcount(pm: PhysMem, head: number, n: number): void {
  if (accessReporting) reportWrite(pm, head);
  pm.compoundMapcounts[head / HPAGE_PMD_NR] = n;
}
