/**
 * DMA directions, the mapping-error value and DMA masks. Mirrors include/linux/dma-direction.h
 * and include/linux/dma-mapping.h.
 *
 * dma_addr_t values are plain numbers. Bus addresses in the model are below 2^53 (pfns < 2^32,
 * so physical addresses < 2^44), hence: DMA_MAPPING_ERROR, the kernel's `~(dma_addr_t)0`, is
 * Number.MAX_SAFE_INTEGER (as ULONG_MAX in @hmmsim/kernel), and DMA_BIT_MASK(n) for n >= 53
 * saturates to the same value — every model address fits such a mask.
 */
import { checkIntIn, KernelBugError } from '@hmmsim/kernel';

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

/**
 * The mask of an n-bit DMA address space (n in 1..64; saturated at 2^53 - 1); another n throws
 * InvalidArgumentError. Mirrors include/linux/dma-mapping.h:DMA_BIT_MASK().
 */
export function DMA_BIT_MASK(n: number): number {
  checkIntIn('DMA_BIT_MASK', 'n', n, 1, 64, 'a bit count in [1, 64]');
  return n >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** n - 1;
}

/**
 * Check a direction given to the streaming API: a value a C caller could not pass (NaN, a
 * fraction, ...) throws InvalidArgumentError; an integer that is not BIDIRECTIONAL, TO_DEVICE or
 * FROM_DEVICE (DMA_NONE included) is the kernel's BUG_ON(!valid_dma_direction()): KernelBugError.
 * Model helper (include/linux/dma-direction.h:valid_dma_direction()).
 */
export function checkDmaDirection(fn: string, dir: unknown): asserts dir is DmaDataDirection {
  checkIntIn(fn, 'dir', dir, 0, Number.MAX_SAFE_INTEGER, 'a DMA_* direction (0, 1 or 2)');
  if (dir !== DMA_BIDIRECTIONAL && dir !== DMA_TO_DEVICE && dir !== DMA_FROM_DEVICE) {
    throw new KernelBugError(
      `${fn}: invalid DMA direction ${dir} (valid_dma_direction() fails); expected DMA_BIDIRECTIONAL (0), DMA_TO_DEVICE (1) or DMA_FROM_DEVICE (2)`,
    );
  }
}

/** True if a device may read memory through a mapping of direction `dir`. Model helper (IOMMU read permission). */
export function dmaDirAllowsDeviceRead(dir: DmaDataDirection): boolean {
  return dir === DMA_BIDIRECTIONAL || dir === DMA_TO_DEVICE;
}

/** True if a device may write memory through a mapping of direction `dir`. Model helper (IOMMU write permission). */
export function dmaDirAllowsDeviceWrite(dir: DmaDataDirection): boolean {
  return dir === DMA_BIDIRECTIONAL || dir === DMA_FROM_DEVICE;
}
