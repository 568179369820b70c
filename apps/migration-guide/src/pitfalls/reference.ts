/**
 * The reference driver of chapter 6: a mirroring device in the shape of lib/test_hmm.c (v5.8),
 * the kernel's own example of the interval-notifier API. One mmu_interval_notifier per open
 * device file covers the whole process; a mutex is shared by its invalidate callback and the
 * fault path; the fault path is the canonical loop (deadline, mmu_interval_read_begin, mmap_sem
 * for read around hmm_range_fault only, -EBUSY means "again", then the mutex and
 * mmu_interval_read_retry, then the device is programmed under the mutex).
 *
 * Every pitfall of the chapter is this driver with one function swapped for a copy that makes
 * one mistake (src/pitfalls/<pitfall>.ts), so each chapter section can show the line diff of a
 * region of this file against the same region of the mutant.
 */

import { checkDeviceSpan, DevicePageTable } from '@hmmsim/hmm-mirror';
import {
  createHmmRange,
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  HMM_RANGE_DEFAULT_TIMEOUT,
  type HmmRange,
  type HmmRangeFaultPfnsOptions,
  hmmPfnToPage,
  hmmRangeFault,
} from '@hmmsim/hmm-range/v5.8';
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
  PAGE_SIZE,
  ULONG_MAX,
  upRead,
} from '@hmmsim/kernel';
import { TestDevice } from '@hmmsim/migrate';
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
import type { GuideDriver } from '../harness/driver.ts';

/**
 * Pages per hmm_range_fault() call (test_hmm's on-stack array of 64 entries).
 * Mirrors lib/test_hmm.c:dmirror_fault() (ARRAY_SIZE(pfns)).
 */
export const DMIRROR_FAULT_CHUNK = 64;

/**
 * Length of the notifier's interval: the whole address space, `ULONG_MAX & PAGE_MASK`.
 * Mirrors lib/test_hmm.c:dmirror_new().
 */
export const DMIRROR_SPAN = Math.floor(ULONG_MAX / PAGE_SIZE) * PAGE_SIZE;

/** The scheduling point of one device page-table write (a command to the device). */
const PROGRAM_EVENT = Object.freeze({ kind: 'dmirror.program', label: 'device page-table write' });

/**
 * The functions a driver variant is made of: the reference's, or one of them swapped for a copy
 * with a mistake. In C these are the entries of the driver's ops tables.
 * Mirrors lib/test_hmm.c: dmirror_min_ops.invalidate, dmirror_range_fault(),
 * dmirror_fops.release.
 */
export interface DmirrorOps {
  /** The interval notifier's invalidate callback. */
  readonly invalidate: (
    dmirror: Dmirror,
    mni: MmuIntervalNotifier,
    range: MmuNotifierRange,
    curSeq: number,
  ) => Promise<boolean>;
  /** Fault `[start, end)` into the device page table: 0 or a negative errno. */
  readonly rangeFault: (
    dmirror: Dmirror,
    start: number,
    end: number,
    write: boolean,
  ) => Promise<number>;
  /** Closing the device file. */
  readonly release: (dmirror: Dmirror) => Promise<void>;
}

/**
 * Options of a Dmirror.
 * Mirrors: model-only.
 */
export interface DmirrorOptions {
  /**
   * The device's own memory (MEMORY_DEVICE_PRIVATE pages it migrates process pages to); its
   * pgmap owner is the range's devPrivateOwner. Default none (owner null).
   */
  readonly devmem?: TestDevice;
  /** hmm_range_fault() options (quirk overrides, e.g. a v5.19+ kernel for Q13). */
  readonly hmm?: HmmRangeFaultPfnsOptions;
  /**
   * Tell the notifier core which lock the callback takes (`ops.userLock`), as lockdep would
   * learn it: read_begin/remove with it held is then reported at once. Default false.
   */
  readonly lockdep?: boolean;
}

/**
 * Counters of a Dmirror (tests and measurements).
 * Mirrors: model-only.
 */
export interface DmirrorStats {
  /** Invalidate callbacks that ran to the end. */
  invalidations: number;
  /** Non-blockable invalidations refused (trylock failed). */
  refused: number;
  /** Passes of the fault loop (each read_begin). */
  passes: number;
  /** Device page-table entries written. */
  programmed: number;
}

// #region invalidate
/**
 * The notifier callback: the range is about to change on the CPU side. Bump the sequence and
 * drop the device entries under the mutex; refuse (false) only a range that may not sleep when
 * the mutex is taken.
 * Mirrors lib/test_hmm.c:dmirror_interval_invalidate().
 */
export async function dmirrorIntervalInvalidate(
  dmirror: Dmirror,
  mni: MmuIntervalNotifier,
  range: MmuNotifierRange,
  curSeq: number,
): Promise<boolean> {
  // Some callers (the OOM reaper) may not sleep: take the mutex only if it is free, and
  // otherwise let the core answer -EAGAIN so the caller comes back later.
  if (mmuNotifierRangeBlockable(range)) await mutexLock(dmirror.mutex);
  else if (mutexTrylock(dmirror.mutex) === 0) {
    dmirror.stats.refused++;
    return false;
  }
  // Always, and under the mutex: this is the value mmu_interval_read_retry() compares.
  mmuIntervalSetSeq(mni, curSeq);
  dmirrorDoUpdate(dmirror, range.start, range.end);
  dmirror.stats.invalidations++;
  mutexUnlock(dmirror.mutex);
  return true;
}
// #endregion invalidate

/**
 * Drop the device entries of `[start, end)` (system pages and pages of the device's own
 * memory); call with the mutex held. Returns how many there were.
 * Mirrors lib/test_hmm.c:dmirror_do_update().
 */
export function dmirrorDoUpdate(dmirror: Dmirror, start: number, end: number): number {
  let n = dmirror.dev.clearRange(start, end);
  for (const i of [...dmirror.vram.keys()]) {
    const addr = dmirror.dev.start + i * PAGE_SIZE;
    if (addr >= start && addr < end) {
      dmirror.vram.delete(i);
      n++;
    }
  }
  const trace = dmirror.mm.machine.sched.trace;
  if (trace.enabled) {
    trace.emit(
      'dmirror.invalidate',
      `drop device entries 0x${Math.max(start, dmirror.dev.start).toString(16)}-0x${Math.min(end, dmirror.dev.end).toString(16)}: ${n}`,
    );
  }
  return n;
}

/**
 * Write the requests of one pass: every page asks for what the device's access needs — fault
 * it in, and writable for a write. Requests are per page (pfnFlagsMask), as for a device whose
 * faults mix reads and writes (nouveau after 2733ea144dcc); this one asks the same everywhere.
 * Mirrors the request setup of nouveau_range_fault() (v5.8).
 */
export function dmirrorSetRequests(range: HmmRange, write: boolean): void {
  range.hmmPfns.fill(HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0));
}

// #region do-fault
/**
 * Program the device page table from a current snapshot, one entry (one device command) at a
 * time; call with the mutex held, after mmu_interval_read_retry() said "current". Pages of the
 * device's own memory go to its VRAM aperture, system pages to the mirrored table. 0, or
 * -EFAULT when a write access got a read-only page.
 * Mirrors lib/test_hmm.c:dmirror_do_fault().
 */
export async function dmirrorDoFault(
  dmirror: Dmirror,
  range: HmmRange,
  write: boolean,
): Promise<number> {
  const sched = dmirror.mm.machine.sched;
  const first = (range.start - dmirror.dev.start) / PAGE_SIZE;
  for (let i = 0; i < range.hmmPfns.length; i++) {
    const e = range.hmmPfns[i] as number;
    // Every page was asked for, so every entry must be a page: anything else is a bug.
    if ((e & HMM_PFN_ERROR) !== 0 || (e & HMM_PFN_VALID) === 0) return -EFAULT;
    const writable = (e & HMM_PFN_WRITE) !== 0;
    if (write && !writable) return -EFAULT;
    const pfn = hmmPfnToPage(e);
    await sched.point(PROGRAM_EVENT);
    if (dmirror.devmem?.owns(pfn) === true) dmirror.vram.set(first + i, pfn);
    else dmirror.dev.set(first + i, pfn, writable);
    dmirror.stats.programmed++;
    if (sched.trace.enabled) {
      sched.trace.emit(
        'dmirror.program',
        `page ${first + i} -> ${dmirror.vram.has(first + i) ? 'device page' : 'pfn'} ${pfn}${writable ? ' rw' : ' r'}`,
      );
    }
  }
  return 0;
}
// #endregion do-fault

// #region range-fault
/**
 * Fault `[start, end)` of the process into the device: loop until a snapshot is known to be
 * current, then program the device from it under the mutex. 0, -EBUSY when the deadline passed,
 * or the errno of hmm_range_fault() / dmirrorDoFault().
 * Mirrors lib/test_hmm.c:dmirror_range_fault() and the commit of dmirror_fault() (v5.8).
 */
export async function dmirrorRangeFault(
  dmirror: Dmirror,
  start: number,
  end: number,
  write: boolean,
): Promise<number> {
  // #region fault-setup
  const mm = dmirror.mm;
  const range = createHmmRange({
    notifier: dmirror.notifier,
    start,
    end,
    pfnFlagsMask: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
    devPrivateOwner: dmirror.owner,
  });
  const clock = mm.machine.clock;
  const timeout = clock.jiffies + msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT);
  // #endregion fault-setup
  // #region fault-loop
  for (;;) {
    // mmu_interval_read_begin() never gives up by itself: the time bound is ours.
    if (clock.jiffies > timeout) return -EBUSY;
    // The sequence first: any change to the page tables after this point is seen below.
    range.notifierSeq = await mmuIntervalReadBegin(dmirror.notifier);
    // hmm_range_fault() overwrites requests with results: write them on every pass.
    dmirrorSetRequests(range, write);
    dmirror.stats.passes++;
    await downRead(mm.mmapSem);
    const ret = await hmmRangeFault(range, dmirror.hmmOptions);
    upRead(mm.mmapSem);
    if (ret !== 0) {
      if (ret === -EBUSY) continue;
      return ret;
    }
    // The check and the programming are one step for the callback, which takes the mutex.
    await mutexLock(dmirror.mutex);
    if (mmuIntervalReadRetry(dmirror.notifier, range.notifierSeq)) {
      mutexUnlock(dmirror.mutex);
      continue;
    }
    const r = await dmirrorDoFault(dmirror, range, write);
    mutexUnlock(dmirror.mutex);
    return r;
  }
  // #endregion fault-loop
}
// #endregion range-fault

// #region release
/**
 * Closing the device file: the device stops using the mirror, then the notifier goes.
 * Mirrors lib/test_hmm.c:dmirror_fops_release().
 */
export async function dmirrorFopsRelease(dmirror: Dmirror): Promise<void> {
  await mutexLock(dmirror.mutex);
  dmirrorDoUpdate(dmirror, 0, ULONG_MAX);
  mutexUnlock(dmirror.mutex);
  // remove() may sleep until the invalidation in progress ends, and that invalidation may be
  // waiting for our mutex: never call it with the mutex held.
  await mmuIntervalNotifierRemove(dmirror.notifier);
}
// #endregion release

/**
 * The reference driver's functions.
 * Mirrors lib/test_hmm.c (v5.8): dmirror_min_ops, dmirror_range_fault(), dmirror_fops.
 */
export const REFERENCE_OPS: DmirrorOps = Object.freeze({
  invalidate: dmirrorIntervalInvalidate,
  rangeFault: dmirrorRangeFault,
  release: dmirrorFopsRelease,
});

/** Throw InvalidArgumentError unless `opts` is a DmirrorOptions object. */
function checkOptions(fn: string, opts: unknown): asserts opts is DmirrorOptions {
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidArgumentError(
      `${fn}: opts is ${opts === null ? 'null' : typeof opts}; expected an options object ({ devmem?, hmm?, lockdep? })`,
    );
  }
  const o = opts as Record<string, unknown>;
  if (o['devmem'] !== undefined && !(o['devmem'] instanceof TestDevice)) {
    throw new InvalidArgumentError(
      `${fn}: opts.devmem is ${String(o['devmem'])}; expected a TestDevice (the device's own memory) or undefined`,
    );
  }
  if (o['lockdep'] !== undefined && typeof o['lockdep'] !== 'boolean') {
    throw new InvalidArgumentError(
      `${fn}: opts.lockdep is ${String(o['lockdep'])}; expected a boolean or undefined`,
    );
  }
  if (o['hmm'] !== undefined && (typeof o['hmm'] !== 'object' || o['hmm'] === null)) {
    throw new InvalidArgumentError(
      `${fn}: opts.hmm is ${String(o['hmm'])}; expected hmm_range_fault() options ({ quirks? }) or undefined`,
    );
  }
}

/**
 * One open device file mirroring `[start, start + npages pages)` of `mm` (the device fault
 * covers that range; the notifier covers the whole process, as test_hmm's does).
 * Mirrors lib/test_hmm.c:struct dmirror (v5.8).
 */
export class Dmirror implements GuideDriver {
  /** The device page table over the mirrored range (system pages). */
  readonly dev: DevicePageTable;
  /** Device entries that point into the device's own memory (page index → device pfn). */
  readonly vram = new Map<number, number>();
  /** Taken by the callback around set_seq and by the fault path around read_retry + programming. */
  readonly mutex: Mutex;
  readonly notifier = new MmuIntervalNotifier();
  /** The device's own memory, if any. */
  readonly devmem: TestDevice | undefined;
  /** dev_private_owner: the owner of the device's own memory (null without one). */
  readonly owner: unknown;
  readonly hmmOptions: HmmRangeFaultPfnsOptions;
  readonly stats: DmirrorStats = { invalidations: 0, refused: 0, passes: 0, programmed: 0 };
  /** The functions this variant is made of. */
  readonly ops: DmirrorOps;
  private readonly mmuOps: MmuIntervalNotifierOps;

  constructor(
    readonly mm: MmStruct,
    start: number,
    npages: number,
    opts: DmirrorOptions = {},
    ops: DmirrorOps = REFERENCE_OPS,
  ) {
    const fn = new.target.name;
    checkMmStruct(fn, 'mm', mm);
    checkDeviceSpan(fn, start, npages);
    checkOptions(fn, opts);
    this.dev = new DevicePageTable('dmirror', start, npages);
    this.mutex = new Mutex(mm.machine.sched, 'dmirror.mutex');
    this.devmem = opts.devmem;
    this.owner = opts.devmem?.pgmap.owner ?? null;
    this.hmmOptions = opts.hmm ?? {};
    this.ops = ops;
    const invalidate: MmuIntervalNotifierOps['invalidate'] = (mni, range, curSeq) =>
      this.ops.invalidate(this, mni, range, curSeq);
    this.mmuOps = opts.lockdep === true ? { invalidate, userLock: this.mutex } : { invalidate };
  }

  /**
   * Opening the device file: subscribe to every invalidation of the process.
   * Mirrors lib/test_hmm.c:dmirror_fops_open() / dmirror_new().
   */
  bind(): Promise<number> {
    return mmuIntervalNotifierInsert(this.notifier, this.mm, 0, DMIRROR_SPAN, this.mmuOps);
  }

  /**
   * The device accesses the mirrored range: fault it in, 64 pages at a time. 0, or the first
   * failing chunk's errno (-EFAULT when the process is gone; test_hmm returns 0 there).
   * Mirrors lib/test_hmm.c:dmirror_fault().
   */
  async fault(write: boolean): Promise<number> {
    if (typeof write !== 'boolean') {
      throw new InvalidArgumentError(
        `${this.constructor.name}.fault: write is ${String(write)}; expected a boolean (a write access or not)`,
      );
    }
    const mm = this.mm;
    if (!mmgetNotZero(mm)) return -EFAULT;
    try {
      for (let addr = this.dev.start; addr < this.dev.end; ) {
        const next = Math.min(addr + DMIRROR_FAULT_CHUNK * PAGE_SIZE, this.dev.end);
        const ret = await this.ops.rangeFault(this, addr, next, write);
        if (ret !== 0) return ret;
        addr = next;
      }
      return 0;
    } finally {
      await mmput(mm);
    }
  }

  /** Closing the device file. Mirrors lib/test_hmm.c:dmirror_fops_release(). */
  unbind(): Promise<void> {
    return this.ops.release(this);
  }
}
