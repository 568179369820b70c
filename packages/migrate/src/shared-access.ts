/**
 * This package's direct reads and writes of shared state owned by other packages, each reported
 * to the explorer's partial-order reduction the way their owners document it: page-table and
 * memmap words through @hmmsim/pagetable's reporting word accessors (re-exported here), a pfn
 * above RAM (the read of `memmapEnd`) as element `pfn` of the PhysMem, dev_pagemap registry
 * entries as element `id` of `machine.devPagemaps`. Every access
 * of `pt.bits`/`pt.val`, of a memmap typed array or of `machine.devPagemaps` in this package
 * (outside the invariant checks) goes through these, so their coverage is checked by reading this
 * file and grepping for the arrays elsewhere.
 *
 * Internal to the package (not re-exported from the index).
 */
import { accessReporting, noteRead } from '@hmmsim/kernel';
import type { DevPagemapOps, Machine } from '@hmmsim/mm';
import { MAX_PFN_LIMIT, type PhysMem } from '@hmmsim/pagetable';

export {
  pgFlags,
  pgIndex,
  pgMapcount,
  pgMapping,
  pgPgmap,
  pgRefcount,
  pgSetFlags,
  pgSetIndex,
  pgSetMapping,
  pgSetPrivate,
  ptBits,
  ptVal,
} from '@hmmsim/pagetable';

/**
 * True if the ulong `pfn` lies in the memmap, RAM or ZONE_DEVICE (`pfn < memmapEnd`); a pfn
 * above RAM reports the read of `memmapEnd` as element `pfn` of the PhysMem (pfns at or above
 * 2^32 are beyond every memmap: nothing to report). Mirrors: model-only (the pfn_to_page() range).
 */
export function pfnInMemmap(pm: PhysMem, pfn: number): boolean {
  if (pfn < pm.nrPages) return true;
  if (pfn >= MAX_PFN_LIMIT) return false;
  if (accessReporting) noteRead(pm, pfn);
  return pfn < pm.memmapEnd;
}

/** The dev_pagemap registered under memmap id `id` (a reported read of that id). Mirrors: model-only (page->pgmap). */
export function devPagemapById(machine: Machine, id: number): DevPagemapOps | undefined {
  if (accessReporting) noteRead(machine.devPagemaps, id);
  return machine.devPagemaps.get(id);
}
