/**
 * One device fault over `[start, end)`: take a reference on the mirrored mm (nothing to do, 0,
 * if it is gone), then fault the range in chunks of 64 pages, each with the collision-retry loop
 * of the mirror's implementation and a commit to the device page table.
 *
 * Mirrors lib/test_hmm.c: dmirror_fault(), dmirror_range_fault().
 */
import { accessReporting, KernelBugError, mutexUnlock, noteRead, PAGE_SIZE } from '@hmmsim/kernel';
import { mmgetNotZero, mmput } from '@hmmsim/mm';
import type { Dmirror } from '../dmirror.ts';
import { dmirrorCollisionLoop } from './collision-loop.ts';
import { dmirrorDoFault } from './do-fault.ts';

/** Pages per hmm_range_fault() call (the kernel's on-stack pfn array). Mirrors ARRAY_SIZE(pfns) = 64. */
export const DMIRROR_FAULT_CHUNK_PAGES = 64;

/** The binding of a mirror that is still open. */
function bindingOf(dmirror: Dmirror) {
  if (accessReporting) noteRead(dmirror);
  const b = dmirror.binding;
  if (b === null)
    throw new KernelBugError('dmirror: the mirror has no binding (dmirrorOpen() sets it)');
  return b;
}

/**
 * Fault one chunk and commit it: 0 or a negative errno.
 * Mirrors lib/test_hmm.c:dmirror_range_fault().
 */
export async function dmirrorRangeFaultChunk(
  dmirror: Dmirror,
  start: number,
  end: number,
  write: boolean,
): Promise<number> {
  const pass = await bindingOf(dmirror).rangeFault(start, end, write);
  if (typeof pass === 'number') return pass;
  try {
    const ret = await dmirrorCollisionLoop(dmirror, pass);
    if (ret !== 0) return ret;
    try {
      return dmirrorDoFault(dmirror, pass.start, pass.hmmPfns, write);
    } finally {
      mutexUnlock(dmirror.mutex);
    }
  } finally {
    await pass.finish();
  }
}

/**
 * Fault `[start, end)` of the mirrored mm into the device table (read, or write): 0 or a
 * negative errno (the first failing chunk's). 0 without doing anything when the mm is gone.
 * Mirrors lib/test_hmm.c:dmirror_fault().
 */
export async function dmirrorFault(
  dmirror: Dmirror,
  start: number,
  end: number,
  write: boolean,
): Promise<number> {
  const mm = dmirror.mm;
  if (!mmgetNotZero(mm)) return 0;
  try {
    for (let addr = start; addr < end; ) {
      const next = Math.min(addr + DMIRROR_FAULT_CHUNK_PAGES * PAGE_SIZE, end);
      const ret = await dmirrorRangeFaultChunk(dmirror, addr, next, write);
      if (ret !== 0) return ret;
      addr = next;
    }
    return 0;
  } finally {
    await mmput(mm);
  }
}
