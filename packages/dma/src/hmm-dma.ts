/**
 * hmm_range_dma_map() / hmm_range_dma_unmap() of v5.4 and the seed (removed in v5.5 by
 * 93f4e735b6d9): fault the range with hmm_range_fault(), then DMA-map every valid page, unwinding
 * on a collision or a mapping error. No page references are taken; the driver's locked collision
 * check still decides whether the addresses may be used.
 */

import {
  HMM_PFN_NONE,
  HMM_PFN_WRITE,
  type HmmRange,
  type HmmRangeFaultOptions,
  hmmDeviceEntryToPage,
  hmmEntryTest,
  hmmRangeFault,
  hmmRangeNeedsRetry,
} from '@hmmsim/hmm-range';
import { EBUSY, EFAULT, EINVAL, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { compoundHead, PG_dirty } from '@hmmsim/pagetable';
import type { DmaDevice } from './dma-device.ts';
import { DMA_BIDIRECTIONAL, DMA_TO_DEVICE, type DmaDataDirection } from './dma-direction.ts';
import { dmaMapPage, dmaMappingError, dmaUnmapPage } from './dma-mapping.ts';

/** The page behind entry i, or -1 (hmm_device_entry_to_page() returned NULL). */
function pageOf(range: HmmRange, i: number): number {
  return hmmDeviceEntryToPage(range, range.pfns[i] as number) ?? -1;
}

/** DMA_BIDIRECTIONAL for entries with flags[HMM_PFN_WRITE], else DMA_TO_DEVICE. */
function dirOf(range: HmmRange, i: number): DmaDataDirection {
  const w = range.flags[HMM_PFN_WRITE] as number;
  return hmmEntryTest(range.pfns[i] as number, w) ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE;
}

/** Unmap the pages mapped below index `upto`, skipping NULL pages and mapping errors, until `mapped` is 0. */
function unwind(
  range: HmmRange,
  dev: DmaDevice,
  daddrs: Float64Array,
  upto: number,
  mapped: number,
): void {
  for (let i = 0; i < upto && mapped > 0; i++) {
    if (pageOf(range, i) < 0) continue;
    if (dmaMappingError(dev, daddrs[i] as number) !== 0) continue;
    dmaUnmapPage(dev, daddrs[i] as number, PAGE_SIZE, dirOf(range, i));
    mapped--;
  }
}

function checkDaddrs(fn: string, range: HmmRange, daddrs: Float64Array): number {
  const npages = (range.end - range.start) / PAGE_SIZE;
  if (daddrs.length < npages) {
    throw new KernelBugError(`${fn}: daddrs has ${daddrs.length} entries for ${npages} pages`);
  }
  return npages;
}

/**
 * Fault `range` (hmm_range_fault(range, flags)) and DMA-map every page it reports, writing the
 * bus addresses to `daddrs` (0 for entries without a page). Returns the number of pages mapped
 * (may be fewer than the range), hmm_range_fault()'s error (0 becomes -EBUSY), -EBUSY when a
 * collision is seen while mapping, or -EFAULT on a mapping error (the failing slot holds
 * DMA_MAPPING_ERROR); on both errors everything mapped so far is unmapped again (its daddrs
 * entries keep the stale addresses, as in the kernel). A device-private entry makes dma_map_page
 * fail (see dmaMapPage), so such a range gives -EFAULT. Mirrors mm/hmm.c:hmm_range_dma_map() (v5.4,
 * with the seed's needs_retry test).
 */
export async function hmmRangeDmaMap(
  range: HmmRange,
  device: DmaDevice,
  daddrs: Float64Array,
  flags: number,
  opts: HmmRangeFaultOptions = {},
): Promise<number> {
  const ret = await hmmRangeFault(range, flags, opts);
  if (ret <= 0) return ret === 0 ? -EBUSY : ret;
  const npages = checkDaddrs('hmm_range_dma_map', range, daddrs);
  let mapped = 0;
  for (let i = 0; i < npages; i++) {
    daddrs[i] = 0;
    const page = pageOf(range, i);
    if (page < 0) continue;
    if (hmmRangeNeedsRetry(range)) {
      unwind(range, device, daddrs, i, mapped);
      return -EBUSY;
    }
    daddrs[i] = dmaMapPage(device, page, 0, PAGE_SIZE, dirOf(range, i));
    if (dmaMappingError(device, daddrs[i] as number) !== 0) {
      unwind(range, device, daddrs, i, mapped);
      return -EFAULT;
    }
    mapped++;
  }
  return mapped;
}

/** set_page_dirty() on the (head) page; KernelBugError for a page freed under the mapping. */
function setPageDirty(device: DmaDevice, page: number): void {
  const pm = device.machine.phys;
  const head = compoundHead(pm, page);
  if ((pm.refcount[head] as number) <= 0) {
    throw new KernelBugError(
      `hmm_range_dma_unmap: set_page_dirty on freed pfn ${page}; unmap must be serialized against invalidation (driver lock)`,
    );
  }
  pm.flags[head] = (pm.flags[head] as number) | PG_dirty;
}

/**
 * Unmap every page of `range` that hmmRangeDmaMap() mapped: entries with flags[HMM_PFN_WRITE]
 * were BIDIRECTIONAL and, with `dirty`, their pages are marked dirty (set_page_dirty); each
 * handled entry becomes values[HMM_PFN_NONE] and its daddrs slot 0. Returns the number of pages
 * unmapped, or -EINVAL for an empty/inverted range or missing arrays. Only safe serialized
 * against invalidation (it dereferences the pages). Mirrors mm/hmm.c:hmm_range_dma_unmap() (v5.4).
 */
export function hmmRangeDmaUnmap(
  range: HmmRange,
  device: DmaDevice,
  daddrs: Float64Array | null,
  dirty: boolean,
): number {
  if (range.end <= range.start) return -EINVAL;
  if (daddrs === null) return -EINVAL;
  if (!(range.pfns instanceof Float64Array)) return -EINVAL;
  const npages = checkDaddrs('hmm_range_dma_unmap', range, daddrs);
  let cpages = 0;
  for (let i = 0; i < npages; i++) {
    const page = pageOf(range, i);
    if (page < 0) continue;
    const dir = dirOf(range, i);
    if (dir === DMA_BIDIRECTIONAL && dirty) setPageDirty(device, page);
    dmaUnmapPage(device, daddrs[i] as number, PAGE_SIZE, dir);
    range.pfns[i] = range.values[HMM_PFN_NONE] as number;
    daddrs[i] = 0;
    cpages++;
  }
  return cpages;
}
