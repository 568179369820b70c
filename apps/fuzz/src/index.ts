/**
 * hmmsim-fuzz: a concurrent model-based fuzzer over the whole hmmsim stack — several processes
 * and dmirror devices on one implementation (legacy hmm_mirror, compat shim, or
 * mmu_interval_notifier), mm syscalls, fork/exit, reclaim, migration to device memory and back,
 * device and CPU reads and writes, interleaved across simulated CPUs by the explorer's random and
 * PCT schedules, with the machine-wide invariants and a byte-exact data check after every step.
 */
export * from './args.ts';
export * from './campaign.ts';
export * from './cli.ts';
export * from './command.ts';
export * from './config.ts';
export * from './known-issues.ts';
export * from './ops/op-spec.ts';
export * from './ref-model.ts';
export * from './report.ts';
export * from './stats.ts';
export * from './step.ts';
export * from './violation.ts';
export * from './world.ts';
