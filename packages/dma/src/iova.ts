/**
 * Page-granular IOVA allocator: contiguous ranges of I/O virtual page numbers handed out top-down
 * below a limit (the device's DMA mask, or a smaller aperture), with freed ranges reused by size
 * first, as the per-size caches of the kernel allocator do. Mirrors drivers/iommu/iova.c
 * (alloc_iova_fast()/free_iova_fast()) in behaviour, not in data structure.
 */
import { InvalidArgumentError } from '@hmmsim/kernel';

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
  /** Pages currently allocated. */
  inUse = 0;

  constructor(limitPfn: number) {
    if (!Number.isSafeInteger(limitPfn) || limitPfn < IOVA_START_PFN) {
      throw new InvalidArgumentError(
        `IovaDomain: limit pfn ${limitPfn} must be >= ${IOVA_START_PFN}`,
      );
    }
    this.limitPfn = limitPfn;
    this.low = limitPfn + 1;
  }
}

/**
 * Allocate `nr` contiguous IOVA pages; returns the first page number, or -1 when the space is
 * exhausted. Mirrors drivers/iommu/iova.c:alloc_iova_fast().
 */
export function allocIova(dom: IovaDomain, nr: number): number {
  if (!Number.isSafeInteger(nr) || nr < 1) {
    throw new InvalidArgumentError(`allocIova: ${nr} pages; expected a positive integer`);
  }
  const cached = dom.freeBySize.get(nr);
  let first: number;
  if (cached !== undefined && cached.length > 0) first = cached.pop() as number;
  else {
    if (dom.low - nr < IOVA_START_PFN) return -1;
    dom.low -= nr;
    first = dom.low;
  }
  dom.inUse += nr;
  return first;
}

/** Give `nr` pages starting at `first` back. Mirrors drivers/iommu/iova.c:free_iova_fast(). */
export function freeIova(dom: IovaDomain, first: number, nr: number): void {
  let list = dom.freeBySize.get(nr);
  if (list === undefined) {
    list = [];
    dom.freeBySize.set(nr, list);
  }
  list.push(first);
  dom.inUse -= nr;
}
