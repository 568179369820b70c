/**
 * The model drivers: a device page table with the invariant checks, the driver-defined entry
 * format, a legacy (v5.4 nouveau-style) driver that runs on either HmmMirrorApi, and a native
 * mmu_interval_notifier driver.
 */
export * from './device-pagetable.ts';
export * from './encoding.ts';
export * from './interval-driver.ts';
export * from './legacy-driver.ts';
