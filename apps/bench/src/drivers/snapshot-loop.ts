/**
 * Snapshot (HMM_FAULT_SNAPSHOT) through each driver's fault loop. The package drivers' fault()
 * always requests a fault (VALID, + WRITE), with no way to pass HMM_FAULT_SNAPSHOT, so this file
 * runs the same loop on the drivers' own public parts (api, mirror, notifier, lock, device page
 * table) with the snapshot flag: a workaround until the drivers take fault flags.
 *
 * Mirrors the drivers' loops in @hmmsim/hmm-mirror (legacy-driver.ts, interval-driver.ts).
 */
import {
  driverRange,
  HMM_RANGE_DEFAULT_TIMEOUT,
  type IntervalDriver,
  type LegacyDriver,
  programDevice,
} from '@hmmsim/hmm-mirror';
import { HMM_FAULT_SNAPSHOT, type HmmRange, hmmRangeFault } from '@hmmsim/hmm-range';
import { downRead, EBUSY, EFAULT, mutexLock, mutexUnlock, upRead } from '@hmmsim/kernel';
import { type MmStruct, mmgetNotZero, mmput } from '@hmmsim/mm';
import { mmuIntervalReadBegin, mmuIntervalReadRetry } from '@hmmsim/mmu-notifier';

/** The drivers' default attempt budget. */
const DEFAULT_TRIES = 3;

/** hmm_range_fault(SNAPSHOT) under mmap_sem (read): the pages processed or an errno. */
async function snapshotWalk(mm: MmStruct, range: HmmRange): Promise<number> {
  await downRead(mm.mmapSem);
  try {
    return await hmmRangeFault(range, HMM_FAULT_SNAPSHOT);
  } finally {
    upRead(mm.mmapSem);
  }
}

/**
 * The legacy driver's loop (register; wait until valid; snapshot; lock; hmm_range_valid; program;
 * unregister under the lock) with HMM_FAULT_SNAPSHOT: 0, -EBUSY or an errno.
 */
export async function legacyApiSnapshot(
  d: LegacyDriver,
  maxTries = DEFAULT_TRIES,
): Promise<number> {
  const range = driverRange(d.dev.start, d.dev.npages);
  const ret = await d.api.hmmRangeRegister(range, d.mirror);
  if (ret !== 0) return ret;
  let registered = true;
  try {
    for (let tries = 0; tries < maxTries; tries++) {
      if (!(await d.api.hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT))) return -EBUSY;
      const n = await snapshotWalk(d.mm, range);
      if (n === 0 || n === -EBUSY) continue;
      if (n < 0) return n;
      await mutexLock(d.lock);
      if (!d.api.hmmRangeValid(range)) {
        mutexUnlock(d.lock);
        continue;
      }
      programDevice(d.dev, range);
      registered = false;
      await d.api.hmmRangeUnregister(range);
      mutexUnlock(d.lock);
      return 0;
    }
    return -EBUSY;
  } finally {
    if (registered) await d.api.hmmRangeUnregister(range);
  }
}

/**
 * The interval driver's loop (mmget; read_begin; snapshot; lock; read_retry; program; mmput) with
 * HMM_FAULT_SNAPSHOT: 0, -EBUSY, -EFAULT or an errno.
 */
export async function intervalSnapshot(
  d: IntervalDriver,
  maxTries = DEFAULT_TRIES,
): Promise<number> {
  const mm = d.mm;
  if (!mmgetNotZero(mm)) return -EFAULT;
  const range = driverRange(d.dev.start, d.dev.npages);
  range.notifier = d.mni;
  try {
    for (let tries = 0; tries < maxTries; tries++) {
      range.notifierSeq = await mmuIntervalReadBegin(d.mni);
      const n = await snapshotWalk(mm, range);
      if (n === 0 || n === -EBUSY) continue;
      if (n < 0) return n;
      await mutexLock(d.lock);
      if (mmuIntervalReadRetry(d.mni, range.notifierSeq)) {
        mutexUnlock(d.lock);
        continue;
      }
      programDevice(d.dev, range);
      mutexUnlock(d.lock);
      return 0;
    }
    return -EBUSY;
  } finally {
    await mmput(mm);
  }
}
