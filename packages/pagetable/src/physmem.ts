/**
 * Physical memory: the memmap (struct page as struct-of-arrays indexed by pfn), the page
 * allocator state and page contents.
 *
 * RAM pfns are [0, nrPages); pfn 0 is the shared zero page. ZONE_DEVICE pfn ranges are appended
 * after RAM by memmapAddRange(), which reallocates the memmap arrays: never keep a reference to
 * `pm.refcount` & co. across a call to it.
 *
 * Access reports (for the explorer's partial-order reduction):
 * - the memmap fields of a pfn (`refcount`, `mapcount`, `flags`, `order`, `mapping`, `index`,
 *   `privateVal`, `pgmap` at [pfn]): element pfn of the PhysMem;
 * - `compoundMapcounts[b]` (the THP of 2 MiB block b): element b * 512 (its head pfn);
 * - page contents: element pfn of `pm.contents`;
 * - the allocator (free lists, free counts): all of `pm.freeArea`;
 * - `memmapEnd`, the arrays themselves and `devPageFree`: all of the PhysMem (memmapAddRange()
 *   writes it whole; a reader of `memmapEnd` above RAM reports element pfn or the whole).
 * Code outside this package that touches these fields directly must report the same way.
 */

import type { Pfn } from '@hmmsim/kernel';
import {
  accessReporting,
  checkIntIn,
  HPAGE_PMD_NR,
  InvalidArgumentError,
  noteWrite,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import { FreeArea } from './free-area.ts';
import { PG_reserved } from './page-flags.ts';

/** Default RAM size of createPhysMem(): 1 GiB. */
export const DEFAULT_RAM_BYTES = 2 ** 30;
/** Largest pfn + 1 the model supports (page-table entries keep pfns in 32 bits). */
export const MAX_PFN_LIMIT = 2 ** 32;
const MAX_RAM_PAGES = 2 ** 28;

/** Options of createPhysMem(). */
export interface PhysMemOptions {
  /** RAM size, a multiple of PAGE_SIZE, at least 2 pages (default 1 GiB). */
  readonly ramBytes?: number;
}

/** Called when a ZONE_DEVICE page's refcount drops back to 1 (idle); models pgmap->ops->page_free. */
export type DevPageFreeHook = (pm: PhysMem, pfn: number) => void;

/**
 * The element of a PhysMem's access reports that stands for `memmapEnd` (the largest element
 * index): a step that only reads the memmap's size reports noteRead(pm, MEMMAP_END_ELEMENT), which
 * conflicts with growing the memmap (a write of the whole object) and with no page's report
 * (a memmap of 2^32 pages would make it also pfn 2^32 - 1's: one more conflict, none hidden).
 * Mirrors: model-only.
 */
export const MEMMAP_END_ELEMENT = 2 ** 32 - 1;

/** A machine's physical memory. Mirrors the memmap (struct page array) of mm/page_alloc.c plus the page contents. */
export class PhysMem {
  /** Number of RAM pages; RAM pfns are [0, nrPages). */
  readonly nrPages: number;
  /** The shared zero page (pfn 0): PG_reserved, refcount never below 1, never written. */
  readonly zeroPfn: Pfn = 0 as Pfn;
  /** One past the last memmap pfn (RAM plus ZONE_DEVICE ranges, including alignment gaps). */
  memmapEnd: number;
  /** page_count of head/order-0 pages; 0 on tails and free pages. */
  refcount: Int32Array;
  /** Number of PTE mappings of this 4 KiB page (PMD mappings of a THP are in compoundMapcounts). */
  mapcount: Int32Array;
  /** PG_* masks. */
  flags: Uint32Array;
  /** Compound order on the head (0 or 9). */
  order: Uint8Array;
  /** Owner id: anon_vma id when PG_anon, else address_space id; 0 = none. */
  mapping: Int32Array;
  /** Page offset in its mapping. */
  index: Float64Array;
  /** page_private: the swap entry of a swap-cache page. */
  privateVal: Float64Array;
  /** dev_pagemap id of ZONE_DEVICE pages; 0 = not a device page. */
  pgmap: Uint16Array;
  /** PMD mappings of the THP occupying each 2 MiB block (index pfn / 512); models compound_mapcount. */
  compoundMapcounts: Int32Array;
  /** Allocator state (private to this package). */
  readonly freeArea: FreeArea;
  /** Contents of pages written at least once (absent = zeros). */
  readonly contents: Map<number, Uint8Array> = new Map();
  /**
   * Hook run when a device page becomes idle again (refcount 1); set by @hmmsim/migrate. A task
   * that sets it reports noteWrite(pm) (it is read with element accesses of device pfns).
   */
  devPageFree: DevPageFreeHook | undefined = undefined;

  constructor(nrPages: number) {
    this.nrPages = nrPages;
    this.memmapEnd = nrPages;
    this.refcount = new Int32Array(nrPages);
    this.mapcount = new Int32Array(nrPages);
    this.flags = new Uint32Array(nrPages);
    this.order = new Uint8Array(nrPages);
    this.mapping = new Int32Array(nrPages);
    this.index = new Float64Array(nrPages);
    this.privateVal = new Float64Array(nrPages);
    this.pgmap = new Uint16Array(nrPages);
    this.compoundMapcounts = new Int32Array(Math.ceil(nrPages / HPAGE_PMD_NR));
    this.freeArea = new FreeArea(nrPages);
    this.refcount[0] = 1;
    this.flags[0] = PG_reserved;
  }
}

/**
 * Create a machine's physical memory; nothing per page is initialised (typed arrays start zeroed,
 * the allocator hands out whole 2 MiB blocks lazily). Mirrors mm/page_alloc.c:free_area_init().
 */
export function createPhysMem(opts: PhysMemOptions = {}): PhysMem {
  const ramBytes = opts.ramBytes ?? DEFAULT_RAM_BYTES;
  const what = 'a multiple of PAGE_SIZE of at least 2 pages and at most 1 TiB (the model limit)';
  checkIntIn('createPhysMem', 'ramBytes', ramBytes, 2 * PAGE_SIZE, MAX_RAM_PAGES * PAGE_SIZE, what);
  if (ramBytes % PAGE_SIZE !== 0) {
    throw new InvalidArgumentError(
      `createPhysMem: ramBytes ${ramBytes} is not page aligned; expected ${what}`,
    );
  }
  return new PhysMem(ramBytes / PAGE_SIZE);
}

function grown<T extends Int32Array | Uint32Array | Uint8Array | Uint16Array | Float64Array>(
  old: T,
  make: (n: number) => T,
  n: number,
): T {
  const a = make(n);
  a.set(old);
  return a;
}

function growMemmap(pm: PhysMem, need: number): void {
  if (need <= pm.refcount.length) return;
  const n = Math.max(need, pm.refcount.length * 2);
  pm.refcount = grown(pm.refcount, (k) => new Int32Array(k), n);
  pm.mapcount = grown(pm.mapcount, (k) => new Int32Array(k), n);
  pm.flags = grown(pm.flags, (k) => new Uint32Array(k), n);
  pm.order = grown(pm.order, (k) => new Uint8Array(k), n);
  pm.mapping = grown(pm.mapping, (k) => new Int32Array(k), n);
  pm.index = grown(pm.index, (k) => new Float64Array(k), n);
  pm.privateVal = grown(pm.privateVal, (k) => new Float64Array(k), n);
  pm.pgmap = grown(pm.pgmap, (k) => new Uint16Array(k), n);
  pm.compoundMapcounts = grown(
    pm.compoundMapcounts,
    (k) => new Int32Array(k),
    Math.ceil(n / HPAGE_PMD_NR),
  );
}

/**
 * Append `nrPages` ZONE_DEVICE pages owned by dev_pagemap `pgmapId` (1..65535) to the memmap and
 * return the first pfn (2 MiB aligned, above RAM and earlier ranges). Each page starts as the
 * kernel leaves it: refcount 1 (idle, the 2019 convention), PG_reserved, `pgmap[pfn] = pgmapId`.
 * The memmap arrays are reallocated: re-read `pm.refcount` etc. afterwards.
 * Mirrors mm/memremap.c:memremap_pages() (its mm/page_alloc.c:memmap_init_zone_device() part).
 */
export function memmapAddRange(pm: PhysMem, nrPages: number, pgmapId: number): Pfn {
  checkIntIn('memmapAddRange', 'nrPages', nrPages, 1, MAX_PFN_LIMIT, 'a page count >= 1');
  checkIntIn('memmapAddRange', 'pgmapId', pgmapId, 1, 0xffff, 'a dev_pagemap id in [1, 65535]');
  if (accessReporting) noteWrite(pm); // memmapEnd, the reallocated arrays and every field of the new range
  const first = Math.ceil(pm.memmapEnd / HPAGE_PMD_NR) * HPAGE_PMD_NR;
  const end = first + nrPages;
  if (end > MAX_PFN_LIMIT) {
    throw new InvalidArgumentError(
      `memmapAddRange: nrPages ${nrPages} would end the range at pfn ${end}; expected it to end by 2^32`,
    );
  }
  growMemmap(pm, end);
  pm.refcount.fill(1, first, end);
  pm.flags.fill(PG_reserved, first, end);
  pm.pgmap.fill(pgmapId, first, end);
  pm.memmapEnd = end;
  return first as Pfn;
}
