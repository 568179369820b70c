/**
 * The retry pattern around hmm_range_fault(), common to fault passes and snapshots and to every
 * binding: until done or past the 1000 ms deadline, begin a read section, call hmm_range_fault()
 * under mmap_sem (retrying on -EBUSY), take the mirror mutex and check the section; on success
 * return with the mutex held so the caller commits under it.
 *
 * Mirrors lib/test_hmm.c: the loops of dmirror_range_fault() and dmirror_range_snapshot().
 */
import { HMM_RANGE_DEFAULT_TIMEOUT } from '@hmmsim/hmm-mirror';
import { downRead, EBUSY, msecsToJiffies, mutexLock, mutexUnlock, upRead } from '@hmmsim/kernel';
import type { DmirrorRangePass } from '../binding/mirror-binding.ts';
import type { Dmirror } from '../dmirror.ts';

/** One hmm_range_fault() call under mmap_sem held for read. */
async function faultUnderMmapSem(dmirror: Dmirror, pass: DmirrorRangePass): Promise<number> {
  const sem = dmirror.mm.mmapSem;
  await downRead(sem);
  try {
    return await pass.fault();
  } finally {
    upRead(sem);
  }
}

/**
 * Fill `pass.hmmPfns` consistently: 0 with `dmirror.mutex` held (no invalidation hit the range
 * since its read section began), or a negative errno without it (-EBUSY after the deadline or a
 * read section that could not begin; hmm_range_fault()'s -EFAULT / -EPERM).
 * Mirrors lib/test_hmm.c:dmirror_range_fault() (up to the commit).
 */
export async function dmirrorCollisionLoop(
  dmirror: Dmirror,
  pass: DmirrorRangePass,
): Promise<number> {
  const clock = dmirror.mdevice.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  for (;;) {
    if (clock.jiffies > timeout) return -EBUSY;
    if (!(await pass.begin())) return -EBUSY;
    const ret = await faultUnderMmapSem(dmirror, pass);
    if (ret === -EBUSY) continue;
    if (ret !== 0) return ret;
    await mutexLock(dmirror.mutex);
    if (!pass.retry()) return 0;
    mutexUnlock(dmirror.mutex);
  }
}
