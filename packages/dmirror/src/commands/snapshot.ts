/**
 * HMM_DMIRROR_SNAPSHOT: one protection byte per page of `[addr, addr + npages)`, without faulting
 * anything. Per 64-page chunk: a temporary subscription over exactly the chunk, the collision
 * loop with no fault requested, the bytes built under the mirror mutex, copied to `ptr`;
 * `cpages` grows by the chunk's pages.
 *
 * Mirrors lib/test_hmm.c: dmirror_snapshot(), dmirror_range_snapshot().
 */
import {
  accessReporting,
  EFAULT,
  EINVAL,
  KernelBugError,
  mutexUnlock,
  noteRead,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import { type MmStruct, mmgetNotZero, mmput } from '@hmmsim/mm';
import type { Dmirror } from '../dmirror.ts';
import { dmirrorCollisionLoop } from '../fault/collision-loop.ts';
import type { HmmDmirrorCmd } from '../uapi.ts';
import { copyToUser } from '../user-copy.ts';
import { dmirrorMkentry } from './prot.ts';

/** Pages per snapshot chunk. Mirrors ARRAY_SIZE(pfns) = 64 in dmirror_snapshot(). */
export const DMIRROR_SNAPSHOT_CHUNK_PAGES = 64;

/** The bytes of a consistent snapshot. */
function buildPerm(dmirror: Dmirror, hmmPfns: Float64Array): Uint8Array {
  const perm = new Uint8Array(hmmPfns.length);
  for (let i = 0; i < perm.length; i++) perm[i] = dmirrorMkentry(dmirror, hmmPfns[i] as number);
  return perm;
}

/**
 * Snapshot one chunk: its bytes, or a negative errno (-EBUSY after the deadline, the
 * subscription's errno). Mirrors lib/test_hmm.c:dmirror_range_snapshot().
 */
export async function dmirrorRangeSnapshot(
  dmirror: Dmirror,
  start: number,
  end: number,
): Promise<Uint8Array | number> {
  if (accessReporting) noteRead(dmirror);
  const binding = dmirror.binding;
  if (binding === null) throw new KernelBugError('dmirror_snapshot: the mirror has no binding');
  const pass = await binding.rangeSnapshot(start, end);
  if (typeof pass === 'number') return pass;
  try {
    const ret = await dmirrorCollisionLoop(dmirror, pass);
    if (ret !== 0) return ret;
    try {
      return buildPerm(dmirror, pass.hmmPfns);
    } finally {
      mutexUnlock(dmirror.mutex);
    }
  } finally {
    await pass.finish();
  }
}

/**
 * Run SNAPSHOT on the kernel copy `cmd` for the caller `user`: 0, -EINVAL (mm gone), -EBUSY,
 * -EFAULT (bad `ptr`). Mirrors lib/test_hmm.c:dmirror_snapshot().
 */
export async function dmirrorSnapshot(
  dmirror: Dmirror,
  cmd: HmmDmirrorCmd,
  user: MmStruct,
): Promise<number> {
  const mm = dmirror.mm;
  const end = cmd.addr + cmd.npages * PAGE_SIZE;
  if (!mmgetNotZero(mm)) return -EINVAL;
  let ret = 0;
  try {
    let uptr = cmd.ptr;
    for (let addr = cmd.addr; addr < end; ) {
      const next = Math.min(addr + DMIRROR_SNAPSHOT_CHUNK_PAGES * PAGE_SIZE, end);
      const perm = await dmirrorRangeSnapshot(dmirror, addr, next);
      if (typeof perm === 'number') {
        ret = perm;
        break;
      }
      if (!(await copyToUser(user, uptr, perm))) {
        ret = -EFAULT;
        break;
      }
      cmd.cpages += perm.length;
      uptr += perm.length;
      addr = next;
    }
  } finally {
    await mmput(mm);
  }
  return ret;
}
