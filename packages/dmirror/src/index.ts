/**
 * @hmmsim/dmirror: the simulated mirroring device of lib/test_hmm.c ("dmirror") on the hmmsim
 * model — open/close bound to an mm, READ / WRITE / MIGRATE_TO_DEV / MIGRATE_TO_SYS / SNAPSHOT
 * with the kernel's errnos and cpages/faults counters, its own device page table, chunked
 * device-private memory with a free list, the bounce buffer — built on the native
 * mmu_interval_notifier with the v5.8+ hmm_range_fault() (hmm_pfns, dev_private_owner), or on the
 * legacy hmm_mirror API or the compat shim with the v5.4-style call (chosen at open); migrations
 * use the v5.9 migrate_vma (pgmap_owner, MMU_NOTIFY_MIGRATE) — and the kernel's HMM selftests as
 * a conformance suite (`runSelftests`).
 */
export * from './binding/interval-binding.ts';
export * from './binding/legacy-binding.ts';
export * from './binding/mirror-binding.ts';
export * from './bounce.ts';
export * from './commands/check-exclusive.ts';
export * from './commands/flags.ts';
export * from './commands/migrate-to-device.ts';
export * from './commands/migrate-to-system.ts';
export * from './commands/migrate-walk.ts';
export * from './commands/prot.ts';
export * from './commands/read.ts';
export * from './commands/read-back.ts';
export * from './commands/snapshot.ts';
export * from './commands/write.ts';
export * from './data-path.ts';
export * from './device-page-table.ts';
export * from './devmem/chunk-alloc.ts';
export * from './devmem/devmem-alloc.ts';
export * from './devmem/devmem-fault.ts';
export * from './devmem/devmem-free.ts';
export * from './devmem/dmirror-chunk.ts';
export * from './devmem/free-list.ts';
export * from './devmem/to-device-copy.ts';
export * from './devmem/to-system-copy.ts';
export * from './dmirror.ts';
export * from './dmirror-device.ts';
export * from './fault/collision-loop.ts';
export * from './fault/do-fault.ts';
export * from './fault/fault.ts';
export * from './file.ts';
export * from './hmm-mirror-range/map-order.ts';
export * from './hmm-mirror-range/owner-filter.ts';
export * from './hmm-mirror-range/pfn-encoding.ts';
export * from './hmm-mirror-range/range-fault.ts';
export * from './hmm-mirror-range/snapshot-errors.ts';
export * from './hmm-mirror-range/to-hmm-pfns.ts';
export * from './invalidate.ts';
export * from './invariants.ts';
export * from './ioctl.ts';
export * from './migrate-args.ts';
export * from './module.ts';
export * from './options.ts';
export * from './range/address-limit.ts';
export * from './range/dmirror-range.ts';
export * from './range/range-fault.ts';
export * from './scenarios.ts';
export * from './selftest/buffer.ts';
export * from './selftest/command.ts';
export * from './selftest/constants.ts';
export * from './selftest/failure.ts';
export * from './selftest/fixture.ts';
export * from './selftest/nanosleep.ts';
export * from './selftest/pattern.ts';
export * from './selftest/process.ts';
export * from './selftest/quiescent.ts';
export * from './selftest/registry.ts';
export * from './selftest/runner.ts';
export * from './selftest/selftest-case.ts';
export * from './selftest/tap.ts';
export * from './stale-entry.ts';
export * from './uapi.ts';
export * from './user-copy.ts';
