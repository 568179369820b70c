/**
 * This package's direct reads and writes of shared state owned by other packages, each reported
 * to the explorer's partial-order reduction (`noteRead`/`noteWrite` of @hmmsim/kernel) the way
 * their owners document it: page-table slots as element `slot` of the PageTables, memmap words
 * as element `pfn` of the PhysMem (reading `memmapEnd` to classify a pfn above RAM as element
 * `pfn` too), dev_pagemap registry entries as element `id` of `machine.devPagemaps`. Every access
 * of `pt.bits`/`pt.val`, of a memmap typed array or of `machine.devPagemaps` in this package
 * (outside the invariant checks) goes through these, so their coverage is checked by reading this
 * file and grepping for the arrays elsewhere.
 *
 * Internal to the package (not re-exported from the index).
 */
import { noteRead, noteWrite } from '@hmmsim/kernel';
import type { DevPagemapOps, Machine } from '@hmmsim/mm';
import { MAX_PFN_LIMIT, type PageTables, type PhysMem } from '@hmmsim/pagetable';

/** Flag word of the entry at `slot` (a reported read). Mirrors: model-only (READ_ONCE of *ptep / *pmdp). */
export function ptBits(pt: PageTables, slot: number): number {
  noteRead(pt, slot);
  return pt.bits[slot] as number;
}

/** Value word (pfn / table / swap offset) of the entry at `slot` (a reported read). Mirrors: model-only (READ_ONCE of *ptep / *pmdp). */
export function ptVal(pt: PageTables, slot: number): number {
  noteRead(pt, slot);
  return pt.val[slot] as number;
}

/** page->flags (a reported read). Mirrors: model-only (READ_ONCE of page->flags). */
export function pgFlags(pm: PhysMem, pfn: number): number {
  noteRead(pm, pfn);
  return pm.flags[pfn] as number;
}

/** Store page->flags (a reported write). Mirrors: model-only (the set_bit/clear_bit of page-flags.h). */
export function pgSetFlags(pm: PhysMem, pfn: number, flags: number): void {
  noteWrite(pm, pfn);
  pm.flags[pfn] = flags;
}

/** page->_refcount (a reported read). Mirrors: model-only (page_ref_count()). */
export function pgRefcount(pm: PhysMem, pfn: number): number {
  noteRead(pm, pfn);
  return pm.refcount[pfn] as number;
}

/** page->_mapcount + 1 of this 4 KiB page (a reported read). Mirrors: model-only (atomic_read(&page->_mapcount) + 1). */
export function pgMapcount(pm: PhysMem, pfn: number): number {
  noteRead(pm, pfn);
  return pm.mapcount[pfn] as number;
}

/** page->mapping id (a reported read). Mirrors: model-only (READ_ONCE(page->mapping)). */
export function pgMapping(pm: PhysMem, pfn: number): number {
  noteRead(pm, pfn);
  return pm.mapping[pfn] as number;
}

/** Store page->mapping id (a reported write). Mirrors: model-only (WRITE_ONCE(page->mapping)). */
export function pgSetMapping(pm: PhysMem, pfn: number, id: number): void {
  noteWrite(pm, pfn);
  pm.mapping[pfn] = id;
}

/** page->index (a reported read). Mirrors: model-only (page->index). */
export function pgIndex(pm: PhysMem, pfn: number): number {
  noteRead(pm, pfn);
  return pm.index[pfn] as number;
}

/** Store page->index (a reported write). Mirrors: model-only (page->index = ...). */
export function pgSetIndex(pm: PhysMem, pfn: number, index: number): void {
  noteWrite(pm, pfn);
  pm.index[pfn] = index;
}

/** Store page_private (a reported write). Mirrors: model-only (include/linux/mm.h:set_page_private()). */
export function pgSetPrivate(pm: PhysMem, pfn: number, v: number): void {
  noteWrite(pm, pfn);
  pm.privateVal[pfn] = v;
}

/** dev_pagemap id of the page (a reported read). Mirrors: model-only (page->pgmap). */
export function pgPgmap(pm: PhysMem, pfn: number): number {
  noteRead(pm, pfn);
  return pm.pgmap[pfn] as number;
}

/**
 * True if the ulong `pfn` lies in the memmap, RAM or ZONE_DEVICE (`pfn < memmapEnd`); a pfn
 * above RAM reports the read of `memmapEnd` as element `pfn` of the PhysMem (pfns at or above
 * 2^32 are beyond every memmap: nothing to report). Mirrors: model-only (the pfn_to_page() range).
 */
export function pfnInMemmap(pm: PhysMem, pfn: number): boolean {
  if (pfn < pm.nrPages) return true;
  if (pfn >= MAX_PFN_LIMIT) return false;
  noteRead(pm, pfn);
  return pfn < pm.memmapEnd;
}

/** The dev_pagemap registered under memmap id `id` (a reported read of that id). Mirrors: model-only (page->pgmap). */
export function devPagemapById(machine: Machine, id: number): DevPagemapOps | undefined {
  noteRead(machine.devPagemaps, id);
  return machine.devPagemaps.get(id);
}
