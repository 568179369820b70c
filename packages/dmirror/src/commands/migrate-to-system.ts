/**
 * HMM_DMIRROR_MIGRATE_TO_SYS: move this device's pages in `[addr, addr + npages)` back to system
 * memory (migrate_vma rounds of 64 pages, the same copy as the CPU fault path, erasing the table
 * entries). `cpages` = entries marked both VALID and MIGRATE after migrate_vma_pages; nothing is
 * returned in `ptr`.
 *
 * Mirrors lib/test_hmm.c:dmirror_migrate_to_system(), dmirror_successful_migrated_pages().
 */

import { PAGE_SIZE } from '@hmmsim/kernel';
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_VALID,
  type MigrateVma,
  migratePfnHas,
  migrateVmaFinalize,
  migrateVmaPages,
} from '@hmmsim/migrate';
import { devmemToSystemCopy } from '../devmem/to-system-copy.ts';
import type { Dmirror } from '../dmirror.ts';
import { dmirrorMigrateVmaSetup } from '../migrate-args.ts';
import type { HmmDmirrorCmd } from '../uapi.ts';
import { dmirrorMigrateWalk } from './migrate-walk.ts';

/** Slots that moved. Mirrors lib/test_hmm.c:dmirror_successful_migrated_pages(). */
export function dmirrorSuccessfulMigratedPages(args: MigrateVma): number {
  const src = args.src as Float64Array;
  let n = 0;
  for (let i = 0; i < args.npages; i++) {
    const s = src[i] as number;
    if (migratePfnHas(s, MIGRATE_PFN_VALID) && migratePfnHas(s, MIGRATE_PFN_MIGRATE)) n++;
  }
  return n;
}

/** One round: setup, copy back, pages, count, finalize. */
async function toSystemRound(dmirror: Dmirror, args: MigrateVma, cmd: HmmDmirrorCmd) {
  const ret = await dmirrorMigrateVmaSetup(args);
  if (ret !== 0) return ret;
  devmemToSystemCopy(args, dmirror.mdevice, dmirror);
  await migrateVmaPages(args);
  cmd.cpages += dmirrorSuccessfulMigratedPages(args);
  await migrateVmaFinalize(args);
  return 0;
}

/**
 * Run MIGRATE_TO_SYS on the kernel copy `cmd`: 0, -EINVAL (mm gone, or no readable VMA at some
 * address) or migrate_vma_setup()'s errno. Mirrors lib/test_hmm.c:dmirror_migrate_to_system().
 */
export function dmirrorMigrateToSystem(dmirror: Dmirror, cmd: HmmDmirrorCmd): Promise<number> {
  cmd.cpages = 0;
  const end = cmd.addr + cmd.npages * PAGE_SIZE;
  return dmirrorMigrateWalk(dmirror, cmd.addr, end, 'device-private', (args) =>
    toSystemRound(dmirror, args, cmd),
  );
}
