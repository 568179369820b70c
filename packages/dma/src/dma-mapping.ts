/**
 * The streaming DMA API for single pages: dma_map_page(), dma_unmap_page(), dma_mapping_error(),
 * dma_set_mask(), with the checks CONFIG_DMA_API_DEBUG makes (unmapping what was never mapped,
 * or with another size or direction, is a WARN: KernelBugError here).
 */
import { checkIntIn, checkUlong, EIO, ENOMEM, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { isDevicePrivatePage } from '@hmmsim/migrate';
import { compoundHead, pfnValid } from '@hmmsim/pagetable';
import { assertIsDmaDevice, type DmaDevice, type DmaMapping, iovaLimitPfn } from './dma-device.ts';
import { checkDmaDirection, DMA_MAPPING_ERROR, type DmaDataDirection } from './dma-direction.ts';
import { allocIova, freeIova, IovaDomain } from './iova.ts';

function checkSpan(fn: string, offset: number, size: number): void {
  checkIntIn(
    fn,
    'offset',
    offset,
    0,
    PAGE_SIZE - 1,
    `an offset into the page, in [0, ${PAGE_SIZE})`,
  );
  checkIntIn(fn, 'size', size, 1, Number.MAX_SAFE_INTEGER - offset, 'a positive size in bytes');
}

/**
 * The pages of a new mapping: `page` must be a pfn (InvalidArgumentError otherwise, from the
 * shared vocabulary) and it and the pages after it allocated struct pages (KernelBugError: the
 * kernel would map whatever memory sits there).
 */
function checkPage(dev: DmaDevice, page: number, nr: number): void {
  checkUlong('dma_map_page', 'page', page, 'a pfn');
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
 * direction or a page that is not allocated (past the memmap included); InvalidArgumentError for
 * a page, offset or size a C caller could not pass (NaN, ±Infinity, fractions, negatives, past
 * 2^53) or a span leaving the page's offset range. Mirrors include/linux/dma-mapping.h:dma_map_page_attrs().
 */
export function dmaMapPage(
  dev: DmaDevice,
  page: number,
  offset: number,
  size: number,
  dir: DmaDataDirection,
): number {
  assertIsDmaDevice('dma_map_page', dev);
  checkDmaDirection('dma_map_page', dir);
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
 * "… with different size", "… with different direction"): KernelBugError, nothing changed;
 * numbers that could not be a dma_addr_t or a size throw InvalidArgumentError. Mirrors include/linux/dma-mapping.h:dma_unmap_page_attrs() (with kernel/dma/debug.c:check_unmap()).
 */
export function dmaUnmapPage(
  dev: DmaDevice,
  daddr: number,
  size: number,
  dir: DmaDataDirection,
): void {
  assertIsDmaDevice('dma_unmap_page', dev);
  checkUlong('dma_unmap_page', 'addr', daddr, 'a dma_addr_t');
  checkIntIn(
    'dma_unmap_page',
    'size',
    size,
    1,
    Number.MAX_SAFE_INTEGER,
    'a positive size in bytes',
  );
  checkDmaDirection('dma_unmap_page', dir);
  const list = dev.live.get(daddr);
  if (list === undefined || list.length === 0) {
    throw new KernelBugError(
      `dma_unmap_page: DMA-API: ${dev.name}: device driver tries to free DMA memory it has not allocated [device address=0x${daddr.toString(16)}] [size=${size} bytes]`,
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
      `dma_unmap_page: DMA-API: ${dev.name}: device driver frees DMA memory with different ${what} [device address=0x${daddr.toString(16)}]`,
    );
  }
  untrack(dev, m);
  if (dev.iova !== null) freeIova(dev.iova, m.busPage, m.nrPages);
  dev.stats.unmaps++;
}

/**
 * 0 for a usable address, -ENOMEM for DMA_MAPPING_ERROR; a value that could not be a dma_addr_t
 * (NaN, …) throws InvalidArgumentError rather than passing as usable.
 * Mirrors include/linux/dma-mapping.h:dma_mapping_error() (v5.4).
 */
export function dmaMappingError(_dev: DmaDevice, daddr: number): number {
  checkUlong('dma_mapping_error', 'dma_addr', daddr, 'a dma_addr_t');
  return daddr === DMA_MAPPING_ERROR ? -ENOMEM : 0;
}

/**
 * Set the device's DMA mask: 0, or -EIO when the mask cannot address even one page. The model
 * only allows it before the first mapping (drivers set it at probe time); later is KernelBugError.
 * A mask that is not a u64 (NaN, fractions, negatives, past 2^53) throws InvalidArgumentError.
 * Mirrors include/linux/dma-mapping.h:dma_set_mask().
 */
export function dmaSetMask(dev: DmaDevice, mask: number): number {
  assertIsDmaDevice('dma_set_mask', dev);
  checkUlong('dma_set_mask', 'mask', mask, 'a DMA mask (use DMA_BIT_MASK)');
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
