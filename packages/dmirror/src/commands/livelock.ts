/**
 * A guard the kernel does not have: dmirror_fault() returns 0 without faulting anything once the
 * mirrored mm is gone, so READ and WRITE would loop forever on -ENOENT. The model throws
 * KernelBugError naming the livelock instead of hanging (as @hmmsim/hmm-range does for its own).
 *
 * Mirrors: model-only (the unbounded `while (1)` of lib/test_hmm.c:dmirror_read()/dmirror_write()).
 */
import { KernelBugError } from '@hmmsim/kernel';
import type { Dmirror } from '../dmirror.ts';

/**
 * Throw KernelBugError if the mirrored mm is gone (the next loop iteration could never progress).
 * Mirrors: model-only (a guard on lib/test_hmm.c:dmirror_read()'s loop).
 */
export function assertFaultCanProgress(dmirror: Dmirror, fn: string): void {
  if (dmirror.mm.mmUsers > 0) return;
  throw new KernelBugError(
    `${fn}: livelock: mm${dmirror.mm.id} has exited, dmirror_fault() returns 0 without faulting ` +
      'and the command would retry forever; expected the mirrored process to be alive',
  );
}
