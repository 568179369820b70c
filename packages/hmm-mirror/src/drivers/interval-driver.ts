/**
 * A native v5.5 mirroring driver: one mmu_interval_notifier over its device range, the
 * collision-retry pattern around hmm_range_fault(), and an invalidate callback that calls
 * mmu_interval_set_seq() and clears the device entries under the driver lock.
 *
 *   fault:  mmget_not_zero; loop { deadline passed: -EBUSY; seq = mmu_interval_read_begin();
 *           write the requests; down_read(mmap_sem); hmm_range_fault(range, 0); up_read;
 *           0/-EBUSY: again; error: stop; lock; mmu_interval_read_retry(seq): unlock, again;
 *           program the device page table; unlock }; mmput
 *   invalidate: not blockable: trylock or return false; set_seq(cur_seq); clear the device
 *           entries of the range ∩ the notifier; unlock; true
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c after 20fef4ef84bf (v5.5) with the device update
 * done in the interval callback (spec mmu-notifier.md §5.6), and mm/mmu_notifier.c's usage rules.
 */
import { type HmmFlagsVersion, hmmRangeFault } from '@hmmsim/hmm-range';
import {
  downRead,
  EBUSY,
  EFAULT,
  InvalidArgumentError,
  Mutex,
  msecsToJiffies,
  mutexLock,
  mutexTrylock,
  mutexUnlock,
  upRead,
} from '@hmmsim/kernel';
import {
  type MmStruct,
  type MmuNotifierRange,
  mmgetNotZero,
  mmput,
  mmuNotifierRangeBlockable,
} from '@hmmsim/mm';
import {
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '@hmmsim/mmu-notifier';
import { HMM_RANGE_DEFAULT_TIMEOUT } from '../hmm-range-register.ts';
import { DevicePageTable, describeSpan } from './device-pagetable.ts';
import { describeResults, driverRange, programDevice, setRequests } from './encoding.ts';
import type { FaultRecord } from './legacy-driver.ts';

/**
 * Options of IntervalDriver.
 * Mirrors: model-only.
 */
export interface IntervalDriverOptions {
  /** Attempts before giving up with -EBUSY (besides the 1000 ms deadline). Default 3. */
  readonly maxTries?: number;
  /** hmm_range_fault() version. Default '5.5'. */
  readonly hmmVersion?: HmmFlagsVersion;
}

/**
 * A v5.5 mirroring device over `[start, start + npages pages)` of `mm`.
 * Mirrors: model-only (nouveau/amdgpu after the v5.5 conversion).
 */
export class IntervalDriver {
  readonly mni = new MmuIntervalNotifier();
  /** The user lock: taken by invalidate around set_seq, by the fault path around read_retry. */
  readonly lock: Mutex;
  readonly dev: DevicePageTable;
  readonly ops: MmuIntervalNotifierOps;
  invalidateCalls = 0;
  invalidateRefused = 0;
  readonly faults: FaultRecord[] = [];
  private readonly maxTries: number;
  private readonly hmmVersion: HmmFlagsVersion;

  constructor(
    readonly mm: MmStruct,
    start: number,
    npages: number,
    opts: IntervalDriverOptions = {},
  ) {
    const maxTries = opts.maxTries ?? 3;
    if (!Number.isSafeInteger(maxTries) || maxTries < 1) {
      throw new InvalidArgumentError(
        `IntervalDriver: maxTries ${maxTries}; expected an integer >= 1`,
      );
    }
    this.maxTries = maxTries;
    this.hmmVersion = opts.hmmVersion ?? '5.5';
    this.lock = new Mutex(mm.machine.sched, 'interval-driver.user_lock');
    this.dev = new DevicePageTable('interval-device', start, npages);
    this.ops = {
      invalidate: (mni, range, curSeq) => this.invalidate(mni, range, curSeq),
      userLock: this.lock,
    };
  }

  /** ops.invalidate: set_seq and clear the device entries, under the user lock. */
  async invalidate(
    mni: MmuIntervalNotifier,
    range: MmuNotifierRange,
    curSeq: number,
  ): Promise<boolean> {
    this.invalidateCalls++;
    if (mmuNotifierRangeBlockable(range)) await mutexLock(this.lock);
    else if (mutexTrylock(this.lock) === 0) {
      this.invalidateRefused++;
      return false;
    }
    mmuIntervalSetSeq(mni, curSeq);
    const n = this.dev.clearRange(range.start, range.end);
    const trace = this.mm.machine.sched.trace;
    if (trace.enabled)
      trace.emit('driver.invalidate', `clear device entries ${describeSpan(range)}: ${n}`);
    mutexUnlock(this.lock);
    return true;
  }

  /** Insert the interval notifier over the device range (the caller holds an mm reference). */
  bind(): Promise<number> {
    const { start, end } = this.dev;
    return mmuIntervalNotifierInsert(this.mni, this.mm, start, end - start, this.ops);
  }

  /** Remove the interval notifier (may sleep until the current invalidation window ends). */
  unbind(): Promise<void> {
    return mmuIntervalNotifierRemove(this.mni);
  }

  /**
   * A device fault over the whole device range: 0 when the device was programmed, -EFAULT when
   * the mm is exiting, -EBUSY after the deadline or `maxTries` collisions, or the errno of
   * hmm_range_fault().
   */
  async fault(write: boolean): Promise<number> {
    const mm = this.mm;
    if (!mmgetNotZero(mm)) return this.record(-EFAULT, 0);
    const clock = mm.machine.clock;
    const trace = mm.machine.sched.trace;
    const deadline = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
    const range = driverRange(this.dev.start, this.dev.npages);
    range.notifier = this.mni;
    let ret = -EBUSY;
    let tries = 0;
    try {
      for (;;) {
        if (tries++ >= this.maxTries || clock.jiffies > deadline) {
          ret = -EBUSY;
          break;
        }
        range.notifierSeq = await mmuIntervalReadBegin(this.mni);
        setRequests(range, write);
        await downRead(mm.mmapSem);
        ret = await hmmRangeFault(range, 0, { version: this.hmmVersion });
        if (trace.enabled)
          trace.emit(
            'driver.hmm_range_fault',
            `ret=${ret}${ret > 0 ? `: ${describeResults(range)}` : ''}`,
          );
        upRead(mm.mmapSem);
        if (ret === 0 || ret === -EBUSY) continue;
        if (ret < 0) break;
        await mutexLock(this.lock);
        if (mmuIntervalReadRetry(this.mni, range.notifierSeq)) {
          mutexUnlock(this.lock);
          continue;
        }
        programDevice(this.dev, range);
        if (trace.enabled) trace.emit('driver.program', describeResults(range));
        mutexUnlock(this.lock);
        ret = 0;
        break;
      }
    } finally {
      await mmput(mm);
    }
    return this.record(ret, tries);
  }

  private record(ret: number, tries: number): number {
    this.faults.push({ ret, tries });
    return ret;
  }
}
