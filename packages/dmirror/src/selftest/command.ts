/**
 * The selftest's command helper: fill a command block from a buffer (`addr = ptr`, `ptr =
 * mirror`), run the ioctl, return 0 or -errno, and copy cpages/faults into the buffer only on
 * success. (It retries on EINTR in C; the model never returns it.)
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: hmm_dmirror_cmd(), hmm_migrate_sys_to_dev(),
 * hmm_migrate_dev_to_sys().
 */
import type { MmStruct } from '@hmmsim/mm';
import type { DmirrorFile } from '../file.ts';
import { dmirrorIoctl } from '../ioctl.ts';
import { HMM_DMIRROR_MIGRATE_TO_DEV, HMM_DMIRROR_MIGRATE_TO_SYS } from '../uapi.ts';
import type { HmmBuffer } from './buffer.ts';

/**
 * Run `request` over `npages` of `buffer` on `fd` (the caller's memory is `buffer.mm`): 0 or a
 * negative errno. Mirrors hmm-tests.c:hmm_dmirror_cmd().
 */
export async function hmmDmirrorCmd(
  fd: DmirrorFile,
  request: number,
  buffer: HmmBuffer,
  npages: number,
  user: MmStruct = buffer.mm,
): Promise<number> {
  const cmd = { addr: buffer.ptr, ptr: buffer.mirror, npages, cpages: 0, faults: 0 };
  const ret = await dmirrorIoctl(fd, request, cmd, user);
  if (ret !== 0) return ret;
  buffer.cpages = cmd.cpages;
  buffer.faults = cmd.faults;
  return 0;
}

/** MIGRATE_TO_DEV over `npages`. Mirrors hmm-tests.c:hmm_migrate_sys_to_dev(). */
export function hmmMigrateSysToDev(fd: DmirrorFile, buffer: HmmBuffer, npages: number) {
  return hmmDmirrorCmd(fd, HMM_DMIRROR_MIGRATE_TO_DEV, buffer, npages);
}

/** MIGRATE_TO_SYS over `npages`. Mirrors hmm-tests.c:hmm_migrate_dev_to_sys(). */
export function hmmMigrateDevToSys(fd: DmirrorFile, buffer: HmmBuffer, npages: number) {
  return hmmDmirrorCmd(fd, HMM_DMIRROR_MIGRATE_TO_SYS, buffer, npages);
}
