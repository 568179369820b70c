/**
 * hmmsim-migration-guide: the drivers, pitfalls and harness behind the migration guide
 * (guide/*.md), and the catalogue `hmmsim guide` runs.
 */
export * from './catalog.ts';
export * from './catalog-types.ts';
export * from './harness/check.ts';
export * from './harness/driver.ts';
export * from './harness/invalidation.ts';
export * from './harness/scenario.ts';
export * from './harness/world.ts';
export * from './run.ts';
