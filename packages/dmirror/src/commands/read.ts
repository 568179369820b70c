/**
 * HMM_DMIRROR_READ: the device reads `npages` of the mirrored mm at `addr` into the user buffer
 * `ptr`. Copy through the device table into a bounce buffer; at the first missing entry fault the
 * rest of the range in (one device fault pass, counted in `faults`) and continue; copy the whole
 * bounce buffer out only on success. `cpages` counts the pages copied.
 *
 * Mirrors lib/test_hmm.c:dmirror_read().
 */
import { EFAULT, PAGE_SIZE } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { dmirrorBounceInit } from '../bounce.ts';
import { dmirrorDoRead } from '../data-path.ts';
import type { Dmirror } from '../dmirror.ts';
import type { HmmDmirrorCmd } from '../uapi.ts';
import { copyToUser } from '../user-copy.ts';
import { dmirrorCopyLoop } from './copy-loop.ts';

/**
 * Run READ on the kernel copy `cmd` for the caller `user` (whose memory `cmd.ptr` is in):
 * 0, -ENOMEM (bounce buffer), -EFAULT (unmapped or unreadable range; bad `ptr`), -EBUSY
 * (invalidations kept colliding for 1000 ms). Mirrors lib/test_hmm.c:dmirror_read().
 */
export async function dmirrorRead(
  dmirror: Dmirror,
  cmd: HmmDmirrorCmd,
  user: MmStruct,
): Promise<number> {
  const size = cmd.npages * PAGE_SIZE;
  const bounce = dmirrorBounceInit(dmirror.mdevice.machine, cmd.addr, size);
  if (typeof bounce === 'number') return bounce;
  let ret = await dmirrorCopyLoop(dmirror, cmd, bounce, false, dmirrorDoRead);
  if (ret === 0 && !(await copyToUser(user, cmd.ptr, bounce.buf))) ret = -EFAULT;
  cmd.cpages = bounce.cpages;
  return ret;
}
