/**
 * HMM_DMIRROR_MIGRATE_TO_DEV: move the private anonymous pages of `[addr, addr + npages)` into
 * this device's memory (migrate_vma rounds of 64 pages: setup, allocate and copy, pages, map into
 * the device table, finalize), then read the whole range back through the device table into
 * `ptr`. `cpages` = pages the device can now see, not pages this call moved.
 *
 * Mirrors lib/test_hmm.c:dmirror_migrate_to_device() (v5.8: dmirror_migrate()).
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { type MigrateVma, migrateVmaFinalize, migrateVmaPages } from '@hmmsim/migrate';
import type { MmStruct } from '@hmmsim/mm';
import { devmemFinalizeAndMap, devmemToDeviceCopy } from '../devmem/to-device-copy.ts';
import type { Dmirror } from '../dmirror.ts';
import { dmirrorMigrateVmaSetup } from '../migrate-args.ts';
import type { HmmDmirrorCmd } from '../uapi.ts';
import { dmirrorMigrateWalk } from './migrate-walk.ts';
import { dmirrorReadBack } from './read-back.ts';

/** One round: setup, allocate + copy, pages, map into the device table, finalize. */
async function toDeviceRound(dmirror: Dmirror, args: MigrateVma): Promise<number> {
  const ret = await dmirrorMigrateVmaSetup(args);
  if (ret !== 0) return ret;
  devmemToDeviceCopy(args, dmirror);
  await migrateVmaPages(args);
  await devmemFinalizeAndMap(args, dmirror);
  await migrateVmaFinalize(args);
  return 0;
}

/**
 * Run MIGRATE_TO_DEV on the kernel copy `cmd` for the caller `user`: 0, -EINVAL (mm gone, or no
 * readable VMA at some address), migrate_vma_setup()'s errno, then the read-back's -ENOMEM /
 * -ENOENT (a page the device cannot see: shared memory, another device's page) / -EFAULT.
 * Mirrors lib/test_hmm.c:dmirror_migrate_to_device().
 */
export async function dmirrorMigrateToDevice(
  dmirror: Dmirror,
  cmd: HmmDmirrorCmd,
  user: MmStruct,
): Promise<number> {
  const end = cmd.addr + cmd.npages * PAGE_SIZE;
  const ret = await dmirrorMigrateWalk(dmirror, cmd.addr, end, 'system', (args) =>
    toDeviceRound(dmirror, args),
  );
  if (ret !== 0) return ret;
  return dmirrorReadBack(dmirror, cmd, user);
}
