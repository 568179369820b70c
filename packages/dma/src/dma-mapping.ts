/**
 * The streaming DMA API for single pages: dma_map_page(), dma_unmap_page(), dma_mapping_error(),
 * dma_set_mask(), with the checks CONFIG_DMA_API_DEBUG makes (unmapping what was never mapped,
 * or with another size or direction, is a WARN: KernelBugError here).
 */
import { EIO, ENOMEM, InvalidArgumentError, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { isDevicePrivatePage } from '@hmmsim/migrate';
import { compoundHead, pfnValid } from '@hmmsim/pagetable';
import type { DmaDevice, DmaMapping } from './dma-device.ts';
import { iovaLimitPfn } from './dma-device.ts';
import {
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_MAPPING_ERROR,
  DMA_TO_DEVICE,
  type DmaDataDirection,
} from './dma-direction.ts';
import { allocIova, freeIova, IovaDomain } from './iova.ts';

function checkDir(fn: string, dir: number): asserts dir is DmaDataDirection {
  if (dir !== DMA_BIDIRECTIONAL && dir !== DMA_TO_DEVICE && dir !== DMA_FROM_DEVICE) {
    throw new KernelBugError(`${fn}: invalid DMA direction ${dir} (valid_dma_direction() fails)`);
  }
}

function checkSpan(fn: string, offset: number, size: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset >= PAGE_SIZE) {
    throw new InvalidArgumentError(`${fn}: offset ${offset} must be in [0, ${PAGE_SIZE})`);
  }
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new InvalidArgumentError(`${fn}: size ${size} must be a positive integer`);
  }
}

function checkPage(dev: DmaDevice, page: number, nr: number): void {
  const pm = dev.machine.phys;
  for (let p = page; p < page + nr; p++) {
    if (!pfnValid(pm, p) || (pm.refcount[compoundHead(pm, p)] as number) <= 0) {
      throw new KernelBugError(`dma_map_page(${dev.name}): pfn ${p} is not an allocated page`);
    }
  }
}

function track(dev: DmaDevice, m: DmaMapping): void {
  const list = dev.live.get(m.daddr);
  if (list === undefined) dev.live.set(m.daddr, [m]);
  else list.push(m);
  for (let b = m.busPage; b < m.busPage + m.nrPages; b++) {
    const l = dev.byBusPage.get(b);
    if (l === undefined) dev.byBusPage.set(b, [m]);
    else l.push(m);
  }
}

function untrack(dev: DmaDevice, m: DmaMapping): void {
  const drop = (map: Map<number, DmaMapping[]>, key: number): void => {
    const list = map.get(key) as DmaMapping[];
    list.splice(list.indexOf(m), 1);
    if (list.length === 0) map.delete(key);
  };
  drop(dev.live, m.daddr);
  for (let b = m.busPage; b < m.busPage + m.nrPages; b++) drop(dev.byBusPage, b);
}

function mappingError(dev: DmaDevice): number {
  dev.stats.mappingErrors++;
  return DMA_MAPPING_ERROR;
}

/** The bus address of a new mapping (IOVA or physical), or -1 when it cannot be had. */
function busAddress(
  dev: DmaDevice,
  page: number,
  offset: number,
  size: number,
  nr: number,
): number {
  if (dev.iova !== null) {
    const first = allocIova(dev.iova, nr);
    return first < 0 ? -1 : first * PAGE_SIZE + offset;
  }
  const phys = page * PAGE_SIZE + offset;
  return phys + size - 1 > dev.dmaMask ? -1 : phys; // dma_capable() fails; no swiotlb in the model
}

/**
 * Map `size` bytes at `offset` of page `page` (and the pages after it) for the device: returns
 * the bus address, or DMA_MAPPING_ERROR when the IOVA space is exhausted, the page lies beyond
 * the DMA mask without an IOMMU, or the page is device-private. Device-private pages are refused
 * on purpose: v5.4 would hand out the physical address of memory that does not exist (R9); the
 * model keeps invariant 18 instead and counts the refusal. KernelBugError for an invalid
 * direction or a free page. Mirrors include/linux/dma-mapping.h:dma_map_page_attrs().
 */
export function dmaMapPage(
  dev: DmaDevice,
  page: number,
  offset: number,
  size: number,
  dir: DmaDataDirection,
): number {
  checkDir('dma_map_page', dir);
  checkSpan('dma_map_page', offset, size);
  const nr = Math.ceil((offset + size) / PAGE_SIZE);
  checkPage(dev, page, nr);
  if (isDevicePrivatePage(dev.machine, page)) {
    dev.stats.devicePrivateRefused++;
    return mappingError(dev);
  }
  const daddr = busAddress(dev, page, offset, size, nr);
  if (daddr < 0) return mappingError(dev);
  const busPage = Math.floor(daddr / PAGE_SIZE);
  track(dev, { daddr, size, dir, pfn: page, offset, busPage, nrPages: nr });
  dev.stats.maps++;
  return daddr;
}

/**
 * Tear down a mapping made by dmaMapPage() with the same address, size and direction; anything
 * else is the DMA-API debug WARN ("device driver tries to free DMA memory it has not allocated",
 * "… with different size", "… with different direction"): KernelBugError, nothing changed.
 * Mirrors include/linux/dma-mapping.h:dma_unmap_page_attrs() (with kernel/dma/debug.c:check_unmap()).
 */
export function dmaUnmapPage(
  dev: DmaDevice,
  daddr: number,
  size: number,
  dir: DmaDataDirection,
): void {
  checkDir('dma_unmap_page', dir);
  const list = dev.live.get(daddr);
  if (list === undefined || list.length === 0) {
    throw new KernelBugError(
      `DMA-API: ${dev.name}: device driver tries to free DMA memory it has not allocated [device address=0x${daddr.toString(16)}] [size=${size} bytes]`,
    );
  }
  const m = list.find((x) => x.size === size && x.dir === dir);
  if (m === undefined) {
    const first = list[0] as DmaMapping;
    const what =
      first.size !== size
        ? `size (mapped ${first.size}, unmapped ${size})`
        : `direction (mapped ${first.dir}, unmapped ${dir})`;
    throw new KernelBugError(
      `DMA-API: ${dev.name}: device driver frees DMA memory with different ${what} [device address=0x${daddr.toString(16)}]`,
    );
  }
  untrack(dev, m);
  if (dev.iova !== null) freeIova(dev.iova, m.busPage, m.nrPages);
  dev.stats.unmaps++;
}

/**
 * 0 for a usable address, -ENOMEM for DMA_MAPPING_ERROR.
 * Mirrors include/linux/dma-mapping.h:dma_mapping_error() (v5.4).
 */
export function dmaMappingError(_dev: DmaDevice, daddr: number): number {
  return daddr === DMA_MAPPING_ERROR ? -ENOMEM : 0;
}

/**
 * Set the device's DMA mask: 0, or -EIO when the mask cannot address even one page. The model
 * only allows it before the first mapping (drivers set it at probe time); later is KernelBugError.
 * Mirrors include/linux/dma-mapping.h:dma_set_mask().
 */
export function dmaSetMask(dev: DmaDevice, mask: number): number {
  if (!Number.isSafeInteger(mask) || mask < 0) {
    throw new InvalidArgumentError(
      `dma_set_mask: mask ${mask} must be a safe integer (use DMA_BIT_MASK)`,
    );
  }
  if (mask < 2 * PAGE_SIZE - 1) return -EIO;
  if (dev.nrLive !== 0) {
    throw new KernelBugError(
      `dma_set_mask(${dev.name}): ${dev.nrLive} mappings are live; set the mask at probe time`,
    );
  }
  dev.dmaMask = mask;
  if (dev.iommu) dev.iova = new IovaDomain(iovaLimitPfn(mask, dev.iovaPages));
  return 0;
}
