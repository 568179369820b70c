/**
 * HMM_DMIRROR_WRITE: the device writes `npages` from the user buffer `ptr` into the mirrored mm
 * at `addr`. Fill the bounce buffer from the user first; copy it through writable table entries;
 * at the first page without one run a write fault pass over the rest (counted in `faults`) and
 * continue. The bytes land in the pages the CPU maps, so the CPU sees them at once.
 *
 * Mirrors lib/test_hmm.c:dmirror_write().
 */
import { EFAULT, PAGE_SIZE } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { dmirrorBounceInit } from '../bounce.ts';
import { dmirrorDoWrite } from '../data-path.ts';
import type { Dmirror } from '../dmirror.ts';
import type { HmmDmirrorCmd } from '../uapi.ts';
import { copyFromUser } from '../user-copy.ts';
import { dmirrorCopyLoop } from './copy-loop.ts';

/**
 * Run WRITE on the kernel copy `cmd` for the caller `user`: 0, -ENOMEM (bounce buffer), -EFAULT
 * (bad `ptr`; unmapped or unreadable range), -EPERM (a VMA without VM_WRITE), -EBUSY.
 * Mirrors lib/test_hmm.c:dmirror_write().
 */
export async function dmirrorWrite(
  dmirror: Dmirror,
  cmd: HmmDmirrorCmd,
  user: MmStruct,
): Promise<number> {
  const size = cmd.npages * PAGE_SIZE;
  const bounce = dmirrorBounceInit(dmirror.mdevice.machine, cmd.addr, size);
  if (typeof bounce === 'number') return bounce;
  const data = await copyFromUser(user, cmd.ptr, size);
  if (data === null) return -EFAULT;
  bounce.buf.set(data);
  const ret = await dmirrorCopyLoop(dmirror, cmd, bounce, true, dmirrorDoWrite);
  cmd.cpages = bounce.cpages;
  return ret;
}
