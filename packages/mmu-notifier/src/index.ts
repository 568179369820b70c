/**
 * @hmmsim/mmu-notifier: the legacy mmu_notifier (hlist subscribers, SRCU, register/unregister,
 * get/put) and the v5.5 mmu_interval_notifier (interval tree, invalidate_seq protocol, deferred
 * insert/remove, read_begin/read_retry/check_retry/set_seq), plugged into @hmmsim/mm's hooks;
 * invariant checks 6–15 and explorer scenarios.
 */
export {
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_PAGE,
  MMU_NOTIFY_PROTECTION_VMA,
  MMU_NOTIFY_RELEASE,
  MMU_NOTIFY_SOFT_DIRTY,
  MMU_NOTIFY_UNMAP,
  type MmuNotifierEvent,
  type MmuNotifierRange,
  mmuNotifierRangeBlockable,
  mmuNotifierRangeInit,
  mmuNotifierRangeUpdateToReadOnly,
} from '@hmmsim/mm';
export * from './arg-checks.ts';
export * from './event-log.ts';
export * from './interval-tree.ts';
export * from './invariants.ts';
export * from './lockdep.ts';
export * from './mmu-interval-notifier.ts';
export * from './mmu-notifier.ts';
export * from './mmu-notifier-mm.ts';
export * from './scenarios.ts';
export * from './srcu.ts';
