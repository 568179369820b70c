/**
 * A device driver written against the legacy hmm_mirror API (v5.4 nouveau-style fault loop), run
 * unchanged on either implementation of that API (`legacyHmmMirrorApi` or `shimHmmMirrorApi`):
 *
 *   bind:   down_write(mmap_sem); hmm_mirror_register(); up_write
 *   fault:  hmm_range_register(); loop { hmm_range_wait_until_valid(range, 1000) (false: -EBUSY);
 *           write the requests; down_read(mmap_sem); hmm_range_fault(range, 0); up_read;
 *           0/-EBUSY: again; error: stop; lock(update); !hmm_range_valid(): unlock, again;
 *           program the device page table; unlock } ; hmm_range_unregister()
 *   sync_cpu_device_pagetables: not blockable: -EAGAIN; lock(update); clear the device entries
 *           of the invalidated range; unlock; 0
 *   release: lock(update); clear everything; unlock
 *
 * By default mmap_sem is dropped right after hmm_range_fault() (amdgpu's get_user_pages, the
 * seed commit's timeline); `holdMmapSem` keeps it until the device is programmed (nouveau v5.4,
 * which then only races with invalidations that need no mmap_sem write: reclaim, COW, …).
 * `leakRangeOnTimeout` reproduces nouveau's R6 (the range stays registered on a wait timeout).
 *
 * Mirrors drivers/gpu/drm/nouveau/nouveau_svm.c (v5.4): nouveau_svmm_init, nouveau_range_fault,
 * nouveau_range_done, nouveau_svmm_sync_cpu_device_pagetables; and Documentation/vm/hmm.rst
 * (v5.4) "the usage pattern".
 */
import { type HmmFlagsVersion, hmmRangeFault } from '@hmmsim/hmm-range';
import {
  accessReporting,
  checkIntIn,
  downRead,
  downWrite,
  EAGAIN,
  EBUSY,
  InvalidArgumentError,
  Mutex,
  mutexLock,
  mutexUnlock,
  noteWrite,
  upRead,
  upWrite,
} from '@hmmsim/kernel';
import { type MmStruct, type MmuNotifierRange, mmuNotifierRangeBlockable } from '@hmmsim/mm';
import { checkMmStruct } from '@hmmsim/mmu-notifier';
import type { HmmMirrorApi } from '../api.ts';
import { HmmMirror } from '../hmm-mirror.ts';
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

/**
 * Options of LegacyDriver.
 * Mirrors: model-only.
 */
export interface LegacyDriverOptions {
  /** Keep mmap_sem (read) from before hmm_range_fault() until the device is programmed (nouveau v5.4). Default false. */
  readonly holdMmapSem?: boolean;
  /** R6: on a wait timeout return -EBUSY without unregistering the range (nouveau v5.4). Default false. */
  readonly leakRangeOnTimeout?: boolean;
  /** Attempts before giving up with -EBUSY (the explorer needs a bound). Default 3. */
  readonly maxTries?: number;
  /** hmm_range_fault() version. Default '5.5'. */
  readonly hmmVersion?: HmmFlagsVersion;
}

/**
 * What one fault did (for tests and reports).
 * Mirrors: model-only.
 */
export interface FaultRecord {
  readonly ret: number;
  readonly tries: number;
}

/**
 * A legacy mirroring device: a device page table over `[start, start + npages pages)` of `mm`,
 * a mirror, and the driver lock its sync callback takes. Access reports: the call counters on
 * the driver object, `faults` on its array, the device page table per page (DevicePageTable).
 * Mirrors: model-only (the shape of nouveau's svmm with its v5.4 hmm_mirror).
 */
export class LegacyDriver {
  readonly mirror: HmmMirror;
  /** The lock sync_cpu_device_pagetables takes and the fault path holds around the valid check. */
  readonly lock: Mutex;
  readonly dev: DevicePageTable;
  /** sync_cpu_device_pagetables calls, and how many of them were refused (-EAGAIN). */
  syncCalls = 0;
  syncRefused = 0;
  releaseCalls = 0;
  /** Every fault's outcome, in order. */
  readonly faults: FaultRecord[] = [];
  private readonly opts: Required<LegacyDriverOptions>;

  constructor(
    readonly api: HmmMirrorApi,
    readonly mm: MmStruct,
    start: number,
    npages: number,
    opts: LegacyDriverOptions = {},
  ) {
    checkMmStruct('LegacyDriver', 'mm', mm);
    checkDeviceSpan('LegacyDriver', start, npages);
    if (typeof api !== 'object' || api === null || typeof api.hmmRangeRegister !== 'function') {
      throw new InvalidArgumentError(
        `LegacyDriver: api is ${api === null ? 'null' : `a ${typeof api}`} without the hmm_mirror calls; expected legacyHmmMirrorApi or shimHmmMirrorApi`,
      );
    }
    const maxTries = opts.maxTries ?? 3;
    checkIntIn(
      'LegacyDriver',
      'maxTries',
      maxTries,
      1,
      Number.MAX_SAFE_INTEGER,
      'an attempt count >= 1',
    );
    checkFlagsVersion('LegacyDriver', opts.hmmVersion);
    this.opts = {
      holdMmapSem: opts.holdMmapSem ?? false,
      leakRangeOnTimeout: opts.leakRangeOnTimeout ?? false,
      maxTries,
      hmmVersion: opts.hmmVersion ?? '5.5',
    };
    const sched = mm.machine.sched;
    this.lock = new Mutex(sched, `${api.name}-driver.update`);
    this.dev = new DevicePageTable(`${api.name}-device`, start, npages);
    this.mirror = new HmmMirror({
      syncCpuDevicePagetables: (_m, update) => this.sync(update),
      release: () => this.release(),
    });
  }

  /** sync_cpu_device_pagetables: clear the device entries of `update` under the driver lock. */
  async sync(update: MmuNotifierRange): Promise<number> {
    if (accessReporting) noteWrite(this);
    this.syncCalls++;
    if (!mmuNotifierRangeBlockable(update)) {
      this.syncRefused++;
      return -EAGAIN;
    }
    await mutexLock(this.lock);
    const n = this.dev.clearRange(update.start, update.end);
    const trace = this.mm.machine.sched.trace;
    if (trace.enabled)
      trace.emit('driver.sync', `clear device entries ${describeSpan(update)}: ${n}`);
    mutexUnlock(this.lock);
    return 0;
  }

  /** release: the mm is going away; stop every device access. */
  async release(): Promise<void> {
    if (accessReporting) noteWrite(this);
    this.releaseCalls++;
    await mutexLock(this.lock);
    this.dev.clearAll();
    mutexUnlock(this.lock);
  }

  /** Register the mirror (takes mmap_sem for write): 0 or the API's errno. */
  async bind(): Promise<number> {
    await downWrite(this.mm.mmapSem);
    try {
      return await this.api.hmmMirrorRegister(this.mirror, this.mm);
    } finally {
      upWrite(this.mm.mmapSem);
    }
  }

  /** Unregister the mirror. */
  async unbind(): Promise<void> {
    await this.api.hmmMirrorUnregister(this.mirror);
  }

  /**
   * A device fault over the whole device range (read, or write): 0 when the device was
   * programmed, else a negative errno (-EBUSY after a wait timeout or `maxTries` collisions,
   * -EFAULT / -EPERM from hmm_range_fault(), or a registration error).
   */
  async fault(write: boolean): Promise<number> {
    checkWrite('LegacyDriver.fault', write);
    const range = driverRange(this.dev.start, this.dev.npages);
    const api = this.api;
    const mm = this.mm;
    const { holdMmapSem, maxTries } = this.opts;
    const trace = mm.machine.sched.trace;
    let ret = await api.hmmRangeRegister(range, this.mirror);
    if (ret !== 0) return this.record(ret, 0);
    let registered = true;
    let tries = 0;
    if (holdMmapSem) await downRead(mm.mmapSem);
    try {
      for (;;) {
        if (tries++ >= maxTries) {
          ret = -EBUSY;
          break;
        }
        if (!(await api.hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT))) {
          ret = -EBUSY;
          if (this.opts.leakRangeOnTimeout) registered = false;
          break;
        }
        setRequests(range, write);
        if (!holdMmapSem) await downRead(mm.mmapSem);
        ret = await hmmRangeFault(range, 0, { version: this.opts.hmmVersion });
        if (trace.enabled)
          trace.emit(
            'driver.hmm_range_fault',
            `ret=${ret}${ret > 0 ? `: ${describeResults(range)}` : ''}`,
          );
        if (!holdMmapSem) upRead(mm.mmapSem);
        if (ret === 0 || ret === -EBUSY) continue;
        if (ret < 0) break;
        await mutexLock(this.lock);
        const valid = api.hmmRangeValid(range);
        if (trace.enabled) trace.emit('driver.hmm_range_valid', String(valid));
        if (!valid) {
          mutexUnlock(this.lock);
          continue;
        }
        programDevice(this.dev, range);
        if (trace.enabled) trace.emit('driver.program', describeResults(range));
        // nouveau_range_done(): the range is unregistered under the driver lock.
        registered = false;
        await api.hmmRangeUnregister(range);
        mutexUnlock(this.lock);
        ret = 0;
        break;
      }
    } finally {
      if (holdMmapSem) upRead(mm.mmapSem);
      if (registered) await api.hmmRangeUnregister(range);
    }
    return this.record(ret, tries);
  }

  /** Record a fault's outcome; returns `ret`. */
  private record(ret: number, tries: number): number {
    if (accessReporting) noteWrite(this.faults);
    this.faults.push({ ret, tries });
    return ret;
  }
}
