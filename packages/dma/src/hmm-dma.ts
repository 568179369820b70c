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
import {
  checkUlong,
  EBUSY,
  EFAULT,
  EINVAL,
  InvalidArgumentError,
  isUlong,
  KernelBugError,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import { compoundHead, PG_dirty } from '@hmmsim/pagetable';
import { assertIsDmaDevice, type DmaDevice, type DmaMapping } from './dma-device.ts';
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

/** InvalidArgumentError unless `daddrs` is a Float64Array. */
function checkDaddrsArray(fn: string, daddrs: unknown): asserts daddrs is Float64Array {
  if (!(daddrs instanceof Float64Array)) {
    throw new InvalidArgumentError(
      `${fn}: daddrs is ${daddrs === null ? 'null' : typeof daddrs}; expected a Float64Array of dma_addr_t, one per page`,
    );
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
 * fail (see dmaMapPage), so such a range gives -EFAULT. A device that is not a DmaDevice or daddrs
 * that are not a Float64Array throw InvalidArgumentError, daddrs shorter than the range
 * KernelBugError, all before anything is faulted. Mirrors mm/hmm.c:hmm_range_dma_map() (v5.4,
 * with the seed's needs_retry test).
 */
export async function hmmRangeDmaMap(
  range: HmmRange,
  device: DmaDevice,
  daddrs: Float64Array,
  flags: number,
  opts: HmmRangeFaultOptions = {},
): Promise<number> {
  const fn = 'hmm_range_dma_map';
  assertIsDmaDevice(fn, device);
  checkDaddrsArray(fn, daddrs);
  // A range the fault would accept: check daddrs before faulting anything in.
  if (isUlong(range.start) && isUlong(range.end) && range.end > range.start) {
    checkDaddrs(fn, range, daddrs);
  }
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

/** The live mapping entry i of a range must have: its address, PAGE_SIZE and direction. */
function liveMapping(
  device: DmaDevice,
  daddrs: Float64Array,
  i: number,
  dir: DmaDataDirection,
): DmaMapping | undefined {
  const d = daddrs[i] as number;
  if (!isUlong(d)) return undefined;
  return device.live.get(d)?.find((m) => m.size === PAGE_SIZE && m.dir === dir);
}

/**
 * Check every entry before anything changes: each mapped entry's address must be a live mapping
 * of one page in the entry's direction (KernelBugError otherwise: dma_unmap_page's DMA-API debug
 * WARN, which here would leave the range half unmapped), and with `dirty` each writable page
 * must still be allocated.
 */
function checkUnmappable(
  range: HmmRange,
  device: DmaDevice,
  daddrs: Float64Array,
  npages: number,
  dirty: boolean,
): void {
  const pm = device.machine.phys;
  for (let i = 0; i < npages; i++) {
    const page = pageOf(range, i);
    if (page < 0) continue;
    const dir = dirOf(range, i);
    if (liveMapping(device, daddrs, i, dir) === undefined) {
      throw new KernelBugError(
        `hmm_range_dma_unmap: daddrs[${i}] = ${daddrs[i]} is not a live ${dir === DMA_BIDIRECTIONAL ? 'DMA_BIDIRECTIONAL' : 'DMA_TO_DEVICE'} mapping of one page for entry ${i} (unmapped already, or not the addresses hmm_range_dma_map returned); nothing was unmapped`,
      );
    }
    if (
      dirty &&
      dir === DMA_BIDIRECTIONAL &&
      (pm.refcount[compoundHead(pm, page)] as number) <= 0
    ) {
      throw new KernelBugError(
        `hmm_range_dma_unmap: set_page_dirty on freed pfn ${page}; unmap must be serialized against invalidation (driver lock); nothing was unmapped`,
      );
    }
  }
}

/**
 * Unmap every page of `range` that hmmRangeDmaMap() mapped: entries with flags[HMM_PFN_WRITE]
 * were BIDIRECTIONAL and, with `dirty`, their pages are marked dirty (set_page_dirty); each
 * handled entry becomes values[HMM_PFN_NONE] and its daddrs slot 0. Returns the number of pages
 * unmapped, or -EINVAL for an empty/inverted range or missing arrays. Only safe serialized
 * against invalidation (it dereferences the pages). Every entry is checked first, so an address
 * that is not a live mapping, or a dirty page already freed, throws KernelBugError with nothing
 * unmapped; a range start/end that is not an unsigned long, daddrs that are not a Float64Array
 * and a dirty flag that is not a boolean throw InvalidArgumentError.
 * Mirrors mm/hmm.c:hmm_range_dma_unmap() (v5.4).
 */
export function hmmRangeDmaUnmap(
  range: HmmRange,
  device: DmaDevice,
  daddrs: Float64Array | null,
  dirty: boolean,
): number {
  const fn = 'hmm_range_dma_unmap';
  assertIsDmaDevice(fn, device);
  checkUlong(fn, 'range->start', range.start, 'an address');
  checkUlong(fn, 'range->end', range.end, 'an address');
  if (typeof dirty !== 'boolean') {
    throw new InvalidArgumentError(`${fn}: dirty is ${typeof dirty}; expected a boolean`);
  }
  if (range.end <= range.start) return -EINVAL;
  if (daddrs === null) return -EINVAL;
  checkDaddrsArray(fn, daddrs);
  if (!(range.pfns instanceof Float64Array)) return -EINVAL;
  const npages = checkDaddrs(fn, range, daddrs);
  checkUnmappable(range, device, daddrs, npages, dirty);
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
