/**
 * The invalidations a dmirror device causes itself while it migrates pages. Newer kernels tag
 * them MMU_NOTIFY_MIGRATE with `owner` = the device, and every mirror of that device ignores them
 * (the migration code keeps the device page table up to date itself). The v5.4 migrate_vma of
 * this model fires MMU_NOTIFY_CLEAR without an owner, so the device records each migration it
 * runs (task, mm, range) and an invalidation counts as its own when it is a CLEAR issued by that
 * task inside that range of that mm.
 *
 * Mirrors lib/test_hmm.c:dmirror_interval_invalidate()'s owner test (`range->event ==
 * MMU_NOTIFY_MIGRATE && range->owner == dmirror->mdevice`); model substitute for
 * mmu_notifier_range_init_owner().
 */
import type { Task } from '@hmmsim/kernel';
import { MMU_NOTIFY_CLEAR, type MmStruct, type MmuNotifierRange } from '@hmmsim/mm';
import type { DmirrorDevice } from './dmirror-device.ts';

/** One migration in progress. Model-only. */
export interface OwnMigration {
  readonly task: Task;
  readonly mm: MmStruct;
  readonly start: number;
  readonly end: number;
}

/**
 * Record that the current task starts migrating `[start, end)` of `mm` for `mdevice`.
 * Mirrors: model-only (stands for passing `pgmap_owner` to migrate_vma_setup()).
 */
export function ownMigrationBegin(
  mdevice: DmirrorDevice,
  mm: MmStruct,
  start: number,
  end: number,
): OwnMigration {
  const m = { task: mdevice.machine.sched.current, mm, start, end };
  mdevice.ownMigrations.push(m);
  return m;
}

/** The migration `m` is over. Mirrors: model-only. */
export function ownMigrationEnd(mdevice: DmirrorDevice, m: OwnMigration): void {
  const i = mdevice.ownMigrations.indexOf(m);
  if (i >= 0) mdevice.ownMigrations.splice(i, 1);
}

/**
 * True if `range` is an invalidation `mdevice` caused by migrating pages (its mirrors ignore it).
 * Mirrors the `MMU_NOTIFY_MIGRATE && owner == mdevice` test of dmirror_interval_invalidate().
 */
export function isOwnMigrationEvent(mdevice: DmirrorDevice, range: MmuNotifierRange): boolean {
  if (range.event !== MMU_NOTIFY_CLEAR || mdevice.ownMigrations.length === 0) return false;
  const task = mdevice.machine.sched.current;
  return mdevice.ownMigrations.some(
    (m) => m.task === task && m.mm === range.mm && range.start >= m.start && range.end <= m.end,
  );
}
