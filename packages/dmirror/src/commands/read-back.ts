/**
 * Return the device's view of a range after it changed the range's memory: read every page
 * through the device table (no fault pass) into a bounce buffer and copy it to the user.
 * `cpages` is the number of pages read; a page without an entry ends the command with -ENOENT.
 *
 * Mirrors the "Return the migrated data for verification" tail of
 * lib/test_hmm.c:dmirror_migrate_to_device() (and dmirror_exclusive()).
 */
import { EFAULT, mutexLock, mutexUnlock, PAGE_SIZE } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { dmirrorBounceInit } from '../bounce.ts';
import { dmirrorDoRead } from '../data-path.ts';
import type { Dmirror } from '../dmirror.ts';
import type { HmmDmirrorCmd } from '../uapi.ts';
import { copyToUser } from '../user-copy.ts';

/**
 * Read `cmd`'s range back through the table into `cmd.ptr`: 0, -ENOMEM, -ENOENT (a page the
 * device cannot see), -EFAULT (bad `ptr`). Sets `cmd.cpages`.
 * Mirrors the read-back of lib/test_hmm.c:dmirror_migrate_to_device().
 */
export async function dmirrorReadBack(
  dmirror: Dmirror,
  cmd: HmmDmirrorCmd,
  user: MmStruct,
): Promise<number> {
  const size = cmd.npages * PAGE_SIZE;
  const bounce = dmirrorBounceInit(dmirror.mdevice.machine, cmd.addr, size);
  if (typeof bounce === 'number') return bounce;
  await mutexLock(dmirror.mutex);
  let ret = dmirrorDoRead(dmirror, cmd.addr, cmd.addr + size, bounce);
  mutexUnlock(dmirror.mutex);
  if (ret === 0 && !(await copyToUser(user, cmd.ptr, bounce.buf))) ret = -EFAULT;
  cmd.cpages = bounce.cpages;
  return ret;
}
