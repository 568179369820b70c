/**
 * @hmmsim/hmm-range: `struct hmm_range` and `hmm_range_fault()` of the v5.4 -> v5.5 transition —
 * the driver-defined entry format (flags[] / values[] / pfnShift, 53-bit safe-integer entries),
 * the per-entry decision table, faulting through @hmmsim/mm's fault handler, the collision check
 * against an interval notifier sequence or the legacy `valid` flag, the v5.4/seed/v5.5 loops
 * with switchable quirks, and the device-entry helpers of the seed header.
 */
export { HMM_LIVELOCK_PASSES, hmmRangeFault } from './hmm-fault.ts';
export * from './hmm-pfn.ts';
export * from './hmm-range.ts';
