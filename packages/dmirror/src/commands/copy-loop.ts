/**
 * The loop READ and WRITE share: copy through the device table under the mirror's mutex, and on
 * the first missing entry (-ENOENT) fault the rest of the range in and go again.
 *
 * Mirrors the loop common to lib/test_hmm.c:dmirror_read() and dmirror_write().
 */
import { ENOENT, mutexLock, mutexUnlock, PAGE_SIZE } from '@hmmsim/kernel';
import type { DmirrorBounce } from '../bounce.ts';
import type { Dmirror } from '../dmirror.ts';
import { dmirrorFault } from '../fault/fault.ts';
import type { HmmDmirrorCmd } from '../uapi.ts';
import { assertFaultCanProgress } from './livelock.ts';

/** Copies pages of [start, end) through the device table; 0, -ENOENT at a missing entry, or -errno. */
export type DmirrorCopyOp = (
  dmirror: Dmirror,
  start: number,
  end: number,
  bounce: DmirrorBounce,
) => number;

/**
 * Run `op` until it stops asking for faults; counts the fault passes in `cmd.faults`. Returns
 * op's result, or the fault's error. Mirrors the retry loop of lib/test_hmm.c:dmirror_read().
 */
export async function dmirrorCopyLoop(
  dmirror: Dmirror,
  cmd: HmmDmirrorCmd,
  bounce: DmirrorBounce,
  write: boolean,
  op: DmirrorCopyOp,
): Promise<number> {
  const end = cmd.addr + cmd.npages * PAGE_SIZE;
  let start = cmd.addr;
  for (;;) {
    await mutexLock(dmirror.mutex);
    const ret = op(dmirror, start, end, bounce);
    mutexUnlock(dmirror.mutex);
    if (ret !== -ENOENT) return ret;
    start = cmd.addr + bounce.cpages * PAGE_SIZE;
    const fault = await dmirrorFault(dmirror, start, end, write);
    if (fault !== 0) return fault;
    assertFaultCanProgress(dmirror, write ? 'dmirror_write' : 'dmirror_read');
    cmd.faults++;
  }
}
