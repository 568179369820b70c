/**
 * @hmmsim/dma: a DMA-capable device with a DMA mask and an IOMMU-style bus address space (IOVA
 * allocator, live-mapping tracking, IOMMU faults for accesses no live mapping allows), the
 * streaming DMA API for pages, and the v5.4/seed hmm_range_dma_map/unmap.
 */
export * from './dma-access.ts';
export * from './dma-device.ts';
export * from './dma-direction.ts';
export * from './dma-mapping.ts';
export * from './hmm-dma.ts';
export * from './invariants.ts';
export * from './iova.ts';
