/**
 * Page-granular IOVA allocator: contiguous ranges of I/O virtual page numbers handed out top-down
 * below a limit (the device's DMA mask, or a smaller aperture), with freed ranges reused by size
 * first, as the per-size caches of the kernel allocator do. Every allocated range is remembered,
 * so that freeing one that is not allocated (twice, or a range never handed out) is refused
 * before the accounting changes. Mirrors drivers/iommu/iova.c (alloc_iova_fast()/free_iova_fast())
 * in behaviour, not in data structure.
 */
import { checkIntIn, KernelBugError } from '@hmmsim/kernel';

/** IOVA page 0 is never handed out (bus address 0 looks like "no address" to many drivers). */
export const IOVA_START_PFN = 1;

/** An IOVA space `[IOVA_START_PFN, limitPfn]`. Mirrors include/linux/iova.h:struct iova_domain. */
export class IovaDomain {
  /** Highest usable IOVA page number (inclusive). */
  readonly limitPfn: number;
  /** Allocator state: pages below this were never handed out (top-down bump). */
  low: number;
  /** Allocator state: freed ranges by size in pages (their first page numbers). */
  readonly freeBySize = new Map<number, number[]>();
  /** Allocated ranges: first page number → pages. */
  readonly allocated = new Map<number, number>();
  /** Pages currently allocated. */
  inUse = 0;

  constructor(limitPfn: number) {
    checkIntIn(
      'IovaDomain',
      'limitPfn',
      limitPfn,
      IOVA_START_PFN,
      Number.MAX_SAFE_INTEGER,
      `an IOVA page number >= ${IOVA_START_PFN}`,
    );
    this.limitPfn = limitPfn;
    this.low = limitPfn + 1;
  }
}

/**
 * Allocate `nr` contiguous IOVA pages; returns the first page number, or -1 when the space is
 * exhausted. An nr that is not a positive integer throws InvalidArgumentError.
 * Mirrors drivers/iommu/iova.c:alloc_iova_fast().
 */
export function allocIova(dom: IovaDomain, nr: number): number {
  checkIntIn('alloc_iova_fast', 'size', nr, 1, Number.MAX_SAFE_INTEGER, 'a positive page count');
  const cached = dom.freeBySize.get(nr);
  let first: number;
  if (cached !== undefined && cached.length > 0) first = cached.pop() as number;
  else {
    if (dom.low - nr < IOVA_START_PFN) return -1;
    dom.low -= nr;
    first = dom.low;
  }
  dom.allocated.set(first, nr);
  dom.inUse += nr;
  return first;
}

/**
 * Give `nr` pages starting at `first` back. Numbers that are not page numbers/counts throw
 * InvalidArgumentError; a range that is not allocated exactly so (a double free, a range never
 * handed out, another size) throws KernelBugError before anything changes.
 * Mirrors drivers/iommu/iova.c:free_iova_fast().
 */
export function freeIova(dom: IovaDomain, first: number, nr: number): void {
  checkIntIn('free_iova_fast', 'pfn', first, IOVA_START_PFN, dom.limitPfn, 'an IOVA page number');
  checkIntIn('free_iova_fast', 'size', nr, 1, Number.MAX_SAFE_INTEGER, 'a positive page count');
  const have = dom.allocated.get(first);
  if (have !== nr) {
    throw new KernelBugError(
      `free_iova_fast: IOVA pages [0x${first.toString(16)}, +${nr}) are ${have === undefined ? 'not allocated (double free, or never handed out)' : `allocated as ${have} pages`}; expected a range alloc_iova_fast() returned, freed once`,
    );
  }
  dom.allocated.delete(first);
  let list = dom.freeBySize.get(nr);
  if (list === undefined) {
    list = [];
    dom.freeBySize.set(nr, list);
  }
  list.push(first);
  dom.inUse -= nr;
}
