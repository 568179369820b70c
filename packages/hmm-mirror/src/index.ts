/**
 * @hmmsim/hmm-mirror: the legacy hmm_mirror API of v5.4 (struct hmm per mm, mirrors, registered
 * ranges and the racy `valid` flag — races R1 and R2 included), the compat shim that implements
 * the same API on mmu_interval_notifier without the race (`shim`, `shimHmmMirrorApi`), model
 * drivers for both and for native v5.5, and the explorer scenarios that show the seed race.
 */
export * from './api.ts';
export * from './drivers/index.ts';
export * from './hmm.ts';
export * from './hmm-mirror.ts';
export * from './hmm-range-register.ts';
export * from './invariants.ts';
export * from './race-report.ts';
export * from './range-registry.ts';
export * from './scenarios.ts';
export * as shim from './shim/index.ts';
export { shimHmmMirrorApi } from './shim/index.ts';
