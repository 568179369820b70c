/**
 * Test support shared by every package (not part of the model): the bad-input table harness.
 * Import from `@hmmsim/kernel/testing`.
 */
export * from './bad-input-table.ts';
