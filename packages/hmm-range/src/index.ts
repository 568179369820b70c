/**
 * @hmmsim/hmm-range: `struct hmm_range` and `hmm_range_fault()` through the API generations a
 * 2019–2020 driver port went through — v5.4 / seed / v5.5 (driver-defined entry format with
 * flags[] / values[] / pfnShift, HMM_FAULT_* flags, a page count returned), v5.7 (one-argument
 * call, `devPrivateOwner`), v5.8 (the fixed `hmmPfns` format, 0 or -errno) and v5.9 (the map
 * order) — behind one version switch, with the per-entry decision table, faulting through
 * @hmmsim/mm's fault handler and the collision check against an interval notifier sequence (or
 * the legacy `valid` flag). The root exports the seed header's names; each later generation's
 * header names (several reuse a seed name with another meaning, e.g. HMM_PFN_VALID) live in the
 * subpaths `@hmmsim/hmm-range/v5.7`, `/v5.8`, `/v5.9`, also reachable here as `v57`, `v58`, `v59`.
 */

export { HMM_LIVELOCK_PASSES, hmmRangeFault } from './hmm-fault.ts';
export {
  HMM_PFN_FLAG_MAX_V57,
  type HmmCall,
  HmmGenerationError,
  hmmCheckRangeShape,
  hmmFixVersion,
  hmmResolveCall,
  hmmVersionHasTables,
  hmmVersionTakesFlags,
} from './hmm-generation.ts';
export * from './hmm-pfn.ts';
export {
  HMM_PFN_FLAGS_V58,
  HMM_PFN_FLAGS_V59,
  HMM_PFN_PFN_LIMIT,
  HMM_PFN_PFN_SCALE,
  hmmPfnFormat,
  hmmPfnFromKernelWord,
  hmmPfnMake,
  hmmPfnToKernelWord,
  hmmPfnToMapOrder,
  hmmPfnToPage,
} from './hmm-pfns.ts';
export * from './hmm-pfns-range.ts';
export * from './hmm-range.ts';
export * from './hmm-range-invariants.ts';
export { hmmRangeNotifierProblem } from './hmm-range-notifier.ts';
export * as v57 from './v5.7.ts';
export * as v58 from './v5.8.ts';
export * as v59 from './v5.9.ts';
