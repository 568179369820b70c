/**
 * The fuzzer's fixed shape: how big the simulated machine is, how many processes, regions, CPUs
 * and pages an operation may involve, and how long one fast-check run is. Small on purpose:
 * freed pages are reused at once (which is what turns a missed invalidation into another
 * process's data), and every step checks the whole machine.
 */

/** RAM of the fuzzed machine: 4 MiB, 1,024 pages. */
export const FUZZ_RAM_BYTES = 4 * 2 ** 20;
/** Swap slots (pages) of the fuzzed machine. */
export const FUZZ_SWAP_PAGES = 512;
/** Simulated CPUs a step may run side by side. */
export const MAX_CPUS = 3;
/** Operations one CPU runs in a step, one after the other. */
export const MAX_OPS_PER_CPU = 3;
/** Processes a run starts with (independent, each with its own regions and device files). */
export const INITIAL_PROCS = 3;
/** Live processes at most (fork is dropped beyond). */
export const MAX_PROCS = 5;
/** Regions (mmap results) a process aims its operations at. */
export const MAX_REGIONS = 6;
/** Pages of one mmap. */
export const MAX_REGION_PAGES = 16;
/** Pages one data operation (CPU access, device command, madvise, ...) covers at most. */
export const MAX_OP_PAGES = 8;
/** Pages of each CPU's slot in a process's I/O buffer (the `ptr` of device commands). */
export const IO_SLOT_PAGES = MAX_OP_PAGES;
/** Steps (fast-check commands) of one run at most; each run starts from a fresh machine. */
export const MAX_STEPS_PER_RUN = 32;
/** Scheduler steps one fuzz step may take before it counts as a livelock. */
export const MAX_SCHED_STEPS_PER_STEP = 2_000_000;
/** The PCT bug depth the explorer uses by default (d - 1 priority change points). */
export const PCT_DEPTH = 3;
