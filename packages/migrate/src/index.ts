/**
 * @hmmsim/migrate: ZONE_DEVICE private memory (dev_pagemap, memremap_pages, device-private
 * entries, the 2019 refcount convention with page_free on the return to 1) and the v5.4
 * migrate_vma_setup / migrate_vma_pages / migrate_vma_finalize (with the v5.7 src_owner and the v5.9
 * pgmap_owner/flags/MMU_NOTIFY_MIGRATE behind a version option), plus a small device-memory driver
 * (the shape of nouveau_dmem), invariant checks 16–20 and explorer scenarios.
 */
export * from './device-private.ts';
export * from './invariants.ts';
export * from './lru.ts';
export * from './memremap.ts';
export * from './migrate-check-page.ts';
export * from './migrate-in-flight.ts';
export * from './migrate-insert-page.ts';
export * from './migrate-page.ts';
export * from './migrate-pfn.ts';
export * from './migrate-vma.ts';
export * from './migrate-vma-check.ts';
export * from './migrate-vma-finalize.ts';
export * from './migrate-vma-pages.ts';
export * from './migrate-vma-select.ts';
export * from './migration-ptes.ts';
export * from './peek.ts';
export * from './scenarios.ts';
export * from './test-device.ts';
export * from './try-to-unmap.ts';
