/**
 * How the dmirror sets up a struct migrate_vma: the v5.9 generation of migrate_vma_setup(), with
 * `pgmap_owner` = the device and `flags` choosing what to collect — MIGRATE_VMA_SELECT_SYSTEM to
 * move system pages to the device, MIGRATE_VMA_SELECT_DEVICE_PRIVATE to bring back this device's
 * own pages (other devices' pages are never collected). The core then announces the collect
 * invalidation as MMU_NOTIFY_MIGRATE with this device as its owner, which the device's mirrors
 * skip (invalidate.ts). Used for every binding: migration is core mm, not the mirror API.
 *
 * Mirrors the `args` setup of lib/test_hmm.c: dmirror_migrate_to_device(),
 * dmirror_migrate_to_system(), dmirror_devmem_fault().
 */
import {
  createMigrateVma,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  type MigrateVma,
  type MigrateVmaSetupOptions,
  migrateVmaSetup,
} from '@hmmsim/migrate';
import type { VmArea } from '@hmmsim/mm';
import type { DmirrorDevice } from './dmirror-device.ts';

/** The migrate_vma generation the dmirror is written against. Mirrors: model-only (v5.9+). */
export const DMIRROR_MIGRATE_VMA_SETUP: MigrateVmaSetupOptions = Object.freeze({ version: '5.9' });

/** Which pages a dmirror migration collects: system pages (to the device) or its own (back). */
export type DmirrorMigrateSelect = 'system' | 'device-private';

/**
 * A migrate_vma over `[start, end)` of `vma` owned by `mdevice`, selecting `select`.
 * Mirrors the `args.pgmap_owner` / `args.flags` lines of lib/test_hmm.c's migrations.
 */
export function dmirrorMigrateVma(
  mdevice: DmirrorDevice,
  vma: VmArea | null,
  start: number,
  end: number,
  select: DmirrorMigrateSelect,
): MigrateVma {
  const args = createMigrateVma(vma, start, end);
  args.pgmapOwner = mdevice;
  args.flags = select === 'system' ? MIGRATE_VMA_SELECT_SYSTEM : MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
  return args;
}

/**
 * migrate_vma_setup() of the v5.9 generation: 0 or a negative errno.
 * Mirrors the migrate_vma_setup(&args) calls of lib/test_hmm.c.
 */
export function dmirrorMigrateVmaSetup(args: MigrateVma): Promise<number> {
  return migrateVmaSetup(args, DMIRROR_MIGRATE_VMA_SETUP);
}
