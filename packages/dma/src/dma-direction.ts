/**
 * DMA directions, the mapping-error value and DMA masks. Mirrors include/linux/dma-direction.h
 * and include/linux/dma-mapping.h.
 *
 * dma_addr_t values are plain numbers. Bus addresses in the model are below 2^53 (pfns < 2^32,
 * so physical addresses < 2^44), hence: DMA_MAPPING_ERROR, the kernel's `~(dma_addr_t)0`, is
 * Number.MAX_SAFE_INTEGER (as ULONG_MAX in @hmmsim/kernel), and DMA_BIT_MASK(n) for n >= 53
 * saturates to the same value — every model address fits such a mask.
 */

/** Both directions. Mirrors include/linux/dma-direction.h:DMA_BIDIRECTIONAL. */
export const DMA_BIDIRECTIONAL = 0;
/** Memory to device (the device reads). Mirrors include/linux/dma-direction.h:DMA_TO_DEVICE. */
export const DMA_TO_DEVICE = 1;
/** Device to memory (the device writes). Mirrors include/linux/dma-direction.h:DMA_FROM_DEVICE. */
export const DMA_FROM_DEVICE = 2;
/** No direction (debugging only; mapping with it is a bug). Mirrors include/linux/dma-direction.h:DMA_NONE. */
export const DMA_NONE = 3;

/** One of the DMA_* directions. Mirrors include/linux/dma-direction.h:enum dma_data_direction. */
export type DmaDataDirection = 0 | 1 | 2 | 3;

/** The address dma_map_page() returns on failure. Mirrors include/linux/dma-mapping.h:DMA_MAPPING_ERROR. */
export const DMA_MAPPING_ERROR = Number.MAX_SAFE_INTEGER;

/** The mask of an n-bit DMA address space (n in 1..64; saturated at 2^53 - 1). Mirrors include/linux/dma-mapping.h:DMA_BIT_MASK(). */
export function DMA_BIT_MASK(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new RangeError(`DMA_BIT_MASK: ${n} is not a bit count in [1, 64]`);
  }
  return n >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** n - 1;
}

/** True if a device may read memory through a mapping of direction `dir`. Model helper (IOMMU read permission). */
export function dmaDirAllowsDeviceRead(dir: DmaDataDirection): boolean {
  return dir === DMA_BIDIRECTIONAL || dir === DMA_TO_DEVICE;
}

/** True if a device may write memory through a mapping of direction `dir`. Model helper (IOMMU write permission). */
export function dmaDirAllowsDeviceWrite(dir: DmaDataDirection): boolean {
  return dir === DMA_BIDIRECTIONAL || dir === DMA_FROM_DEVICE;
}
