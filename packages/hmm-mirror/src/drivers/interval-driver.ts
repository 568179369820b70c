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
 * done in the interval callback (the collision-retry pattern of docs/kernel/invariants.md, "The sequence protocol"), and mm/mmu_notifier.c's usage rules.
 */
import { type HmmFlagsVersion, type HmmRange, hmmRangeFault } from '@hmmsim/hmm-range';
import {
  accessReporting,
  checkIntIn,
  downRead,
  EBUSY,
  EFAULT,
  InvalidArgumentError,
  Mutex,
  msecsToJiffies,
  mutexLock,
  mutexTrylock,
  mutexUnlock,
  noteWrite,
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
  checkMmStruct,
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '@hmmsim/mmu-notifier';
import { HMM_RANGE_DEFAULT_TIMEOUT } from '../hmm-range-register.ts';
import { checkDeviceSpan, DevicePageTable, describeSpan } from './device-pagetable.ts';
import {
  checkFlagsVersion,
  checkWrite,
  describeResults,
  driverRange,
  programDevice,
  setRequests,
} from './encoding.ts';
import type { FaultRecord } from './legacy-driver.ts';

/**
 * A porting mistake the driver can be built with, each one a rule of the v5.5 conversion broken
 * (the explorer scenarios `hmm-mistake-*` catch every one):
 * - 'forgot-set-seq': invalidate never calls mmu_interval_set_seq(), so read_retry never fails;
 * - 'set-seq-outside-lock': invalidate bumps the sequence and clears the device entries without
 *   the driver lock, so a fault can pass read_retry and program the device after the clear;
 * - 'retry-outside-lock': the fault path checks mmu_interval_read_retry() before taking the
 *   lock, so a whole invalidation can run between the check and the programming;
 * - 'program-before-retry': the device is programmed under the lock first and read_retry is
 *   checked afterwards (a stale entry is visible until the retry pass overwrites it);
 * - 'begin-after-fault': mmu_interval_read_begin() is taken after hmm_range_fault() instead of
 *   before, so an invalidation between the two is never seen;
 * - 'begin-under-lock': mmu_interval_read_begin() is called with the driver lock held; it sleeps
 *   until the running invalidation ends, which waits for that lock: a deadlock;
 * - 'refuse-blockable': invalidate returns false (as for a non-blockable range) even when it may
 *   sleep, which the core WARNs on;
 * - 'retry-with-stale-seq': after -EBUSY the fault is retried with the same sequence instead of
 *   a new mmu_interval_read_begin(), and no deadline bounds the loop: once an invalidation has
 *   passed it spins forever.
 * Mirrors: model-only (the rules of mm/mmu_notifier.c's kerneldoc, the v5.5 conversion series).
 */
export type IntervalDriverMistake =
  | 'forgot-set-seq'
  | 'set-seq-outside-lock'
  | 'retry-outside-lock'
  | 'program-before-retry'
  | 'begin-after-fault'
  | 'begin-under-lock'
  | 'refuse-blockable'
  | 'retry-with-stale-seq';

/**
 * Every mistake IntervalDriver can be built with.
 * Mirrors: model-only.
 */
export const INTERVAL_DRIVER_MISTAKES: readonly IntervalDriverMistake[] = Object.freeze([
  'forgot-set-seq',
  'set-seq-outside-lock',
  'retry-outside-lock',
  'program-before-retry',
  'begin-after-fault',
  'begin-under-lock',
  'refuse-blockable',
  'retry-with-stale-seq',
]);

/** The scheduling point of a device page-table update. */
const PROGRAM_EVENT = Object.freeze({ kind: 'driver.program', label: 'write device page table' });

/**
 * Options of IntervalDriver.
 * Mirrors: model-only.
 */
export interface IntervalDriverOptions {
  /** Attempts before giving up with -EBUSY (besides the 1000 ms deadline). Default 3. */
  readonly maxTries?: number;
  /** hmm_range_fault() version. Default '5.5'. */
  readonly hmmVersion?: HmmFlagsVersion;
  /** Build the driver with one porting mistake (default none: the correct driver). */
  readonly mistake?: IntervalDriverMistake;
  /**
   * Tell the notifier core which lock is the driver lock (`ops.userLock`), so its lockdep-style
   * checks catch set_seq / read_retry outside it at once. Default true; false leaves only the
   * behaviour to catch them (as in a kernel without lockdep).
   */
  readonly lockdepHint?: boolean;
}

/**
 * A v5.5 mirroring device over `[start, start + npages pages)` of `mm`. Access reports: the call
 * counters on the driver object, `faults` on its array, the device page table per page.
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
  /** The porting mistake this driver was built with, if any. */
  readonly mistake: IntervalDriverMistake | undefined;

  constructor(
    readonly mm: MmStruct,
    start: number,
    npages: number,
    opts: IntervalDriverOptions = {},
  ) {
    checkMmStruct('IntervalDriver', 'mm', mm);
    checkDeviceSpan('IntervalDriver', start, npages);
    const maxTries = opts.maxTries ?? 3;
    checkIntIn(
      'IntervalDriver',
      'maxTries',
      maxTries,
      1,
      Number.MAX_SAFE_INTEGER,
      'an attempt count >= 1',
    );
    checkFlagsVersion('IntervalDriver', opts.hmmVersion);
    this.maxTries = maxTries;
    this.hmmVersion = opts.hmmVersion ?? '5.5';
    if (opts.mistake !== undefined && !INTERVAL_DRIVER_MISTAKES.includes(opts.mistake)) {
      throw new InvalidArgumentError(
        `IntervalDriver: mistake '${String(opts.mistake)}'; expected one of ${INTERVAL_DRIVER_MISTAKES.join(', ')}`,
      );
    }
    this.mistake = opts.mistake;
    this.lock = new Mutex(mm.machine.sched, 'interval-driver.user_lock');
    this.dev = new DevicePageTable('interval-device', start, npages);
    const invalidate: MmuIntervalNotifierOps['invalidate'] = (mni, range, curSeq) =>
      this.invalidate(mni, range, curSeq);
    this.ops = opts.lockdepHint === false ? { invalidate } : { invalidate, userLock: this.lock };
  }

  /** ops.invalidate: set_seq and clear the device entries, under the user lock. */
  async invalidate(
    mni: MmuIntervalNotifier,
    range: MmuNotifierRange,
    curSeq: number,
  ): Promise<boolean> {
    if (accessReporting) noteWrite(this);
    this.invalidateCalls++;
    const mistake = this.mistake;
    if (mistake === 'refuse-blockable') {
      this.invalidateRefused++;
      return false;
    }
    const locked = mistake !== 'set-seq-outside-lock';
    if (!locked) {
      // Nothing orders this against the fault path's locked read_retry + programming.
    } else if (mmuNotifierRangeBlockable(range)) await mutexLock(this.lock);
    else if (mutexTrylock(this.lock) === 0) {
      this.invalidateRefused++;
      return false;
    }
    if (mistake !== 'forgot-set-seq') mmuIntervalSetSeq(mni, curSeq);
    const n = this.dev.clearRange(range.start, range.end);
    const trace = this.mm.machine.sched.trace;
    if (trace.enabled)
      trace.emit('driver.invalidate', `clear device entries ${describeSpan(range)}: ${n}`);
    if (locked) mutexUnlock(this.lock);
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
    checkWrite('IntervalDriver.fault', write);
    const mm = this.mm;
    if (!mmgetNotZero(mm)) return this.record(-EFAULT, 0);
    const clock = mm.machine.clock;
    const deadline = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
    const range = driverRange(this.dev.start, this.dev.npages);
    range.notifier = this.mni;
    let ret = -EBUSY;
    let tries = 0;
    try {
      for (;;) {
        const unbounded = this.mistake === 'retry-with-stale-seq';
        if (!unbounded && (tries++ >= this.maxTries || clock.jiffies > deadline)) {
          ret = -EBUSY;
          break;
        }
        ret = await this.faultPass(range, write);
        if (ret === 0 || ret === -EBUSY) continue;
        if (ret < 0) break;
        if (await this.commit(range)) {
          ret = 0;
          break;
        }
      }
    } finally {
      await mmput(mm);
    }
    return this.record(ret, tries);
  }

  /** read_begin (before or, mistakenly, after the fault), requests, hmm_range_fault under mmap_sem. */
  private async faultPass(range: HmmRange, write: boolean): Promise<number> {
    const mm = this.mm;
    const trace = mm.machine.sched.trace;
    const late = this.mistake === 'begin-after-fault';
    if (this.mistake === 'begin-under-lock') {
      await mutexLock(this.lock);
      range.notifierSeq = await mmuIntervalReadBegin(this.mni);
      mutexUnlock(this.lock);
    } else if (this.mistake === 'retry-with-stale-seq') {
      if (range.notifierSeq === 0) range.notifierSeq = await mmuIntervalReadBegin(this.mni);
    } else if (!late) range.notifierSeq = await mmuIntervalReadBegin(this.mni);
    setRequests(range, write);
    await downRead(mm.mmapSem);
    // With the mistake, hmm_range_fault() checks the sequence of the previous pass (none at first).
    const ret = await hmmRangeFault(range, 0, { version: this.hmmVersion });
    if (trace.enabled)
      trace.emit(
        'driver.hmm_range_fault',
        `ret=${ret}${ret > 0 ? `: ${describeResults(range)}` : ''}`,
      );
    upRead(mm.mmapSem);
    if (late) range.notifierSeq = await mmuIntervalReadBegin(this.mni);
    return ret;
  }

  /**
   * Under the user lock: check read_retry and program the device (in the order and with the
   * locking the mistake dictates). True when the device was programmed from a valid sequence.
   */
  private async commit(range: HmmRange): Promise<boolean> {
    const sched = this.mm.machine.sched;
    const trace = sched.trace;
    // Writing the device page table takes time (commands to the device): another CPU may run
    // meanwhile, which is exactly what the driver lock must make harmless.
    const program = async () => {
      await sched.point(PROGRAM_EVENT);
      programDevice(this.dev, range);
      if (trace.enabled) trace.emit('driver.program', describeResults(range));
    };
    if (this.mistake === 'retry-outside-lock') {
      if (mmuIntervalReadRetry(this.mni, range.notifierSeq)) return false;
      await mutexLock(this.lock);
      await program();
      mutexUnlock(this.lock);
      return true;
    }
    await mutexLock(this.lock);
    if (this.mistake === 'program-before-retry') await program();
    if (mmuIntervalReadRetry(this.mni, range.notifierSeq)) {
      mutexUnlock(this.lock);
      return false;
    }
    if (this.mistake !== 'program-before-retry') await program();
    mutexUnlock(this.lock);
    return true;
  }

  private record(ret: number, tries: number): number {
    if (accessReporting) noteWrite(this.faults);
    this.faults.push({ ret, tries });
    return ret;
  }
}
