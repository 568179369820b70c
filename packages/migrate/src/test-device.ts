/**
 * A small device-memory driver on top of migrate_vma, in the shape of nouveau_dmem (v5.4) and the
 * later lib/test_hmm.c "dmirror" device: a MEMORY_DEVICE_PRIVATE pgmap, a free list of device
 * pages (page_free puts them back), migration of a range to device memory and back, and the CPU
 * fault handler migrate_to_ram. Its "DMA engine" is copyPage() followed by one scheduling point
 * (the copy fence). Used by the tests, scenarios, README and benchmark of this package.
 */
import {
  accessReporting,
  checkIntIn,
  checkUlong,
  downRead,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  upRead,
} from '@hmmsim/kernel';
import {
  allocUserPage,
  findVma,
  lockPageSleep,
  type Machine,
  type MmStruct,
  VM_FAULT_SIGBUS,
  VM_READ,
  type VmArea,
  type VmFault,
} from '@hmmsim/mm';
import { clearPage, copyPage, getPage, lockPage, readPage, writePage } from '@hmmsim/pagetable';
import { DevPagemap, getDevPagemap, MEMORY_DEVICE_PRIVATE, memremapPages } from './memremap.ts';
import {
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
} from './migrate-pfn.ts';
import { createMigrateVma, type MigrateVma, migrateVmaSetup } from './migrate-vma.ts';
import { migrateVmaFinalize } from './migrate-vma-finalize.ts';
import { migrateVmaPages } from './migrate-vma-pages.ts';
import type { MigrateVmaSetupOptions } from './migrate-vma-select.ts';

/** Options of TestDevice.create(). */
export interface TestDeviceOptions {
  /** Device memory size in pages. */
  readonly nrPages: number;
  /** Allocate zero-filled device pages for empty slots (holes, pte_none, zero page); default true. */
  readonly populateHoles?: boolean;
  /** The pgmap's `owner` (v5.7 `dev_pagemap.owner`); default null. */
  readonly owner?: unknown;
}

/** Options of the range migrations. */
export interface TestDeviceMigrateOptions {
  /** Pages per migrate_vma_setup/pages/finalize round (dmirror uses 64); default 64. */
  readonly pagesPerCall?: number;
}

/**
 * Counters of a TestDevice. Access reports: the driver reports each increment as element k of
 * the stats object (k = the field's position below, from 0); code that reads them while tasks
 * run reports noteRead(stats) (all of it).
 */
export interface TestDeviceStats {
  /** Device pages handed out by the allocator. */
  allocs: number;
  /** page_free calls (device pages back on the free list). */
  frees: number;
  /** Pages copied to the device / back to system memory. */
  copiedIn: number;
  copiedOut: number;
  /** migrate_to_ram calls (CPU faults on device pages) and those that returned SIGBUS. */
  cpuFaults: number;
  sigbus: number;
}

// Elements of TestDevice.stats in access reports (the field order of TestDeviceStats).
const STAT_ALLOCS = 0;
const STAT_FREES = 1;
const STAT_COPIED_IN = 2;
const STAT_COPIED_OUT = 3;
const STAT_CPU_FAULTS = 4;
const STAT_SIGBUS = 5;
// Elements of a TestDevice in access reports: the free stack (its entries and top) and the
// fault-injection counter. `onFreeList[off]` is element `off` of that array.
const DEV_FREE_STACK = 0;
const DEV_FAIL_ALLOCS = 1;

/** Which way a TestDevice migration moves pages. */
export type TestDeviceDirection = 'to-device' | 'to-system';

/**
 * The driver. Free device pages sit at refcount 1 on a LIFO free list; an allocated page holds
 * the driver's reference (refcount 2) and is locked until migrate_vma_finalize.
 * Every access of its mutable state while tasks run is reported to the explorer's partial-order
 * reduction (the free list, `failAllocs`, the stats, the src/dst entries it reads and writes).
 * Mirrors drivers/gpu/drm/nouveau/nouveau_dmem.c (v5.4) in shape; model-only.
 */
export class TestDevice {
  readonly machine: Machine;
  readonly pgmap: DevPagemap;
  readonly firstPfn: number;
  readonly nrPages: number;
  readonly populateHoles: boolean;
  readonly stats: TestDeviceStats = {
    allocs: 0,
    frees: 0,
    copiedIn: 0,
    copiedOut: 0,
    cpuFaults: 0,
    sigbus: 0,
  };
  private _failAllocs = 0;
  private readonly freeStack: Int32Array;
  private freeTop = 0;
  private readonly onFreeList: Uint8Array;

  private constructor(machine: Machine, pgmap: DevPagemap, first: number, opts: TestDeviceOptions) {
    this.machine = machine;
    this.pgmap = pgmap;
    this.firstPfn = first;
    this.nrPages = opts.nrPages;
    this.populateHoles = opts.populateHoles ?? true;
    this.freeStack = new Int32Array(opts.nrPages);
    this.onFreeList = new Uint8Array(opts.nrPages);
    for (let i = opts.nrPages - 1; i >= 0; i--) this.pushFree(i);
  }

  /**
   * Register the device memory (memremap_pages) and fill the free list; returns the device or the
   * negative errno of memremapPages. Mirrors nouveau_dmem_init() + nouveau_dmem_chunk_alloc().
   */
  static create(machine: Machine, opts: TestDeviceOptions): TestDevice | number {
    let dev: TestDevice | undefined;
    const pgmap = new DevPagemap(
      MEMORY_DEVICE_PRIVATE,
      opts.nrPages,
      {
        pageFree: (pfn) => dev?.pageFree(pfn),
        migrateToRam: (vmf) => (dev as TestDevice).migrateToRam(vmf),
      },
      opts.owner ?? null,
    );
    const first = memremapPages(machine, pgmap);
    if (first < 0) return first;
    dev = new TestDevice(machine, pgmap, first, opts);
    return dev;
  }

  /** Fault injection: the next `failAllocs` device page allocations fail ("device out of memory"). */
  get failAllocs(): number {
    if (accessReporting) noteRead(this, DEV_FAIL_ALLOCS);
    return this._failAllocs;
  }
  set failAllocs(n: number) {
    if (accessReporting) noteWrite(this, DEV_FAIL_ALLOCS);
    this._failAllocs = n;
  }

  private pushFree(off: number): void {
    if (accessReporting) noteWrite(this, DEV_FREE_STACK);
    this.freeStack[this.freeTop++] = off;
    if (accessReporting) noteWrite(this.onFreeList, off);
    this.onFreeList[off] = 1;
  }

  /** Free device pages. */
  get nrFree(): number {
    if (accessReporting) noteRead(this, DEV_FREE_STACK);
    return this.freeTop;
  }

  /** True if `pfn` is one of this device's pages. */
  owns(pfn: number): boolean {
    return pfn >= this.firstPfn && pfn < this.firstPfn + this.nrPages;
  }

  /** True if the device page `pfn` is on the free list. */
  isFree(pfn: number): boolean {
    if (!this.owns(pfn)) return false;
    const off = pfn - this.firstPfn;
    if (accessReporting) noteRead(this.onFreeList, off);
    return this.onFreeList[off] === 1;
  }

  /**
   * Take a free device page, referenced (refcount 2) and locked; -1 when the device is out of
   * memory. Mirrors nouveau_dmem_page_alloc_locked() (get_page + lock_page).
   */
  allocPage(): number {
    if (this.failAllocs > 0) {
      this.failAllocs--;
      return -1;
    }
    if (accessReporting) noteWrite(this, DEV_FREE_STACK);
    if (this.freeTop === 0) return -1;
    const off = this.freeStack[--this.freeTop] as number;
    if (accessReporting) noteWrite(this.onFreeList, off);
    this.onFreeList[off] = 0;
    const pfn = this.firstPfn + off;
    getPage(this.machine.phys, pfn);
    lockPage(this.machine.phys, pfn); // a page off the free list is never contended
    if (accessReporting) noteWrite(this.stats, STAT_ALLOCS);
    this.stats.allocs++;
    return pfn;
  }

  /**
   * dev_pagemap_ops.page_free: the page's refcount returned to 1; put it back on the free list.
   * A page already on the list throws KernelBugError (double free). Mirrors nouveau_dmem_page_free().
   */
  pageFree(pfn: number): void {
    checkUlong('page_free', 'pfn', pfn, 'a pfn');
    if (!this.owns(pfn)) throw new KernelBugError(`page_free: pfn ${pfn} is not this device's`);
    const off = pfn - this.firstPfn;
    if (accessReporting) noteRead(this.onFreeList, off);
    if (this.onFreeList[off] === 1) {
      throw new KernelBugError(`page_free: device pfn ${pfn} is already free (double free)`);
    }
    this.pushFree(off);
    if (accessReporting) noteWrite(this.stats, STAT_FREES);
    this.stats.frees++;
  }

  /** InvalidArgumentError unless `pfn` is one of this device's pages and [offset, offset + len) lies in it. */
  private checkAccess(fn: string, pfn: number, offset: number, len: number): void {
    checkUlong(fn, 'pfn', pfn, 'a pfn');
    if (!this.owns(pfn)) {
      throw new InvalidArgumentError(
        `${fn}: pfn ${pfn} is not one of this device's pages; expected a pfn in [${this.firstPfn}, ${this.firstPfn + this.nrPages})`,
      );
    }
    checkIntIn(fn, 'offset', offset, 0, PAGE_SIZE, `an offset in [0, ${PAGE_SIZE}]`);
    checkIntIn(
      fn,
      'len',
      len,
      0,
      PAGE_SIZE - offset,
      `a length that ends inside the page (<= ${PAGE_SIZE - offset})`,
    );
  }

  /**
   * The device reads its own memory (model of a device-side load). A pfn that is not this
   * device's, or a span that leaves the page, throws InvalidArgumentError.
   */
  readDevice(pfn: number, offset: number, len: number): Uint8Array {
    this.checkAccess('TestDevice.readDevice', pfn, offset, len);
    const out = new Uint8Array(len);
    readPage(this.machine.phys, pfn, offset, out);
    return out;
  }

  /**
   * The device writes its own memory (model of a device-side store). A pfn that is not this
   * device's, or bytes that leave the page, throw InvalidArgumentError.
   */
  writeDevice(pfn: number, offset: number, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) {
      throw new InvalidArgumentError('TestDevice.writeDevice: bytes is not a Uint8Array');
    }
    this.checkAccess('TestDevice.writeDevice', pfn, offset, bytes.length);
    writePage(this.machine.phys, pfn, offset, bytes);
  }

  /** dst page for slot i when migrating to the device: copy or zero-fill; -1 = skip, -2 = OOM. */
  private toDevicePage(src: number): number {
    const spage = migratePfnToPage(src);
    if (spage < 0 && !this.populateHoles) return -1;
    const dpage = this.allocPage();
    if (dpage < 0) return -2;
    if (spage >= 0) copyPage(this.machine.phys, dpage, spage);
    else clearPage(this.machine.phys, dpage);
    if (accessReporting) noteWrite(this.stats, STAT_COPIED_IN);
    this.stats.copiedIn++;
    return dpage;
  }

  /** dst page for slot i when migrating to system memory: only this device's pages; -1 skip, -2 OOM. */
  private toSystemPage(src: number): number {
    const spage = migratePfnToPage(src);
    if (spage < 0 || getDevPagemap(this.machine, spage) !== this.pgmap) return -1;
    const dpage = allocUserPage(this.machine, 0);
    if (dpage < 0) return -2;
    lockPage(this.machine.phys, dpage); // a fresh page is never contended
    copyPage(this.machine.phys, dpage, spage);
    if (accessReporting) noteWrite(this.stats, STAT_COPIED_OUT);
    this.stats.copiedOut++;
    return dpage;
  }

  /** Allocate and copy for every selected slot, then wait for the copy fence. */
  private async allocAndCopy(args: MigrateVma, dir: TestDeviceDirection): Promise<void> {
    if (accessReporting) noteRead(args);
    const src = args.src as Float64Array;
    const dst = args.dst as Float64Array;
    for (let i = 0; i < args.npages; i++) {
      if (accessReporting) noteRead(src, i);
      const s = src[i] as number;
      if (!migratePfnHas(s, MIGRATE_PFN_MIGRATE)) continue;
      const page = dir === 'to-device' ? this.toDevicePage(s) : this.toSystemPage(s);
      if (page === -2) break; // out of memory: leave the rest where they are
      if (page >= 0) {
        if (accessReporting) noteWrite(dst, i);
        dst[i] = migratePfn(page) + MIGRATE_PFN_LOCKED;
      }
    }
    await this.machine.sched.point({ kind: 'dma', label: `copy ${dir}` });
  }

  /** Slots that moved: MIGRATE still set and a dst page. */
  private static migrated(args: MigrateVma): number {
    let n = 0;
    if (accessReporting) noteRead(args);
    const src = args.src as Float64Array;
    const dst = args.dst as Float64Array;
    if (accessReporting) noteRead(src);
    if (accessReporting) noteRead(dst);
    for (let i = 0; i < args.npages; i++) {
      if (
        migratePfnHas(src[i] as number, MIGRATE_PFN_MIGRATE) &&
        migratePfnToPage(dst[i] as number) >= 0
      )
        n++;
    }
    return n;
  }

  /**
   * One setup/copy/pages/finalize round over `[start, end)` of `vma` (mmap_sem held by the
   * caller); returns the pages migrated or migrate_vma_setup's errno. `setupOpts` is passed to
   * migrateVmaSetup() (the generation whose owner/flags fields `args` carries).
   */
  async migrateChunk(
    args: MigrateVma,
    dir: TestDeviceDirection,
    setupOpts: MigrateVmaSetupOptions = {},
  ): Promise<number> {
    const ret = await migrateVmaSetup(args, setupOpts);
    if (ret !== 0) return ret;
    if (args.cpages === 0) return 0;
    await this.allocAndCopy(args, dir);
    await migrateVmaPages(args);
    const n = TestDevice.migrated(args);
    await migrateVmaFinalize(args);
    return n;
  }

  /** Walk `[start, end)` VMA by VMA in chunks of `pagesPerCall` pages (dmirror_migrate()). */
  private async migrateRange(
    mm: MmStruct,
    start: number,
    end: number,
    dir: TestDeviceDirection,
    opts: TestDeviceMigrateOptions,
  ): Promise<number> {
    const fn = dir === 'to-device' ? 'TestDevice.migrateToDevice' : 'TestDevice.migrateToSystem';
    checkUlong(fn, 'start', start, 'an address');
    checkUlong(fn, 'end', end, 'an address');
    const per = opts.pagesPerCall ?? 64;
    checkIntIn(fn, 'opts.pagesPerCall', per, 1, Number.MAX_SAFE_INTEGER, 'a positive page count');
    const args = createMigrateVma(null, 0, per * PAGE_SIZE);
    let total = 0;
    await downRead(mm.mmapSem);
    try {
      for (let addr = start; addr < end; ) {
        const vma: VmArea | undefined = findVma(mm, addr);
        if (vma === undefined || addr < vma.vmStart || (vma.vmFlags & VM_READ) === 0)
          return -EINVAL;
        const next = Math.min(end, addr + per * PAGE_SIZE, vma.vmEnd);
        if (accessReporting) noteWrite(args);
        args.vma = vma;
        args.start = addr;
        args.end = next;
        if (accessReporting) noteWrite(args.dst as Float64Array);
        (args.dst as Float64Array).fill(0);
        const n = await this.migrateChunk(args, dir);
        if (n < 0) return n;
        total += n;
        addr = next;
      }
    } finally {
      upRead(mm.mmapSem);
    }
    return total;
  }

  /**
   * Migrate `[start, end)` of `mm` to device memory (takes mmap_sem for read); returns the number
   * of pages now on the device, or -EINVAL (no readable vma at some address) / migrate_vma_setup's
   * errno; start, end or pagesPerCall that are not such numbers throw InvalidArgumentError. Pages that cannot move (pinned, file-backed, device out of memory)
   * stay where they are. Mirrors lib/test_hmm.c:dmirror_migrate() / nouveau_dmem_migrate_vma().
   */
  migrateToDevice(
    mm: MmStruct,
    start: number,
    end: number,
    opts: TestDeviceMigrateOptions = {},
  ): Promise<number> {
    return this.migrateRange(mm, start, end, 'to-device', opts);
  }

  /**
   * Migrate this device's pages in `[start, end)` of `mm` back to system memory (eviction;
   * takes mmap_sem for read); returns the pages moved or a negative errno. Other pages in the
   * range are collected and restored (2019: migrate_vma has no owner filter, R10).
   * Model of a driver-initiated eviction (nouveau had none in 2019; later dmirror has one).
   */
  migrateToSystem(
    mm: MmStruct,
    start: number,
    end: number,
    opts: TestDeviceMigrateOptions = {},
  ): Promise<number> {
    return this.migrateRange(mm, start, end, 'to-system', opts);
  }

  /**
   * dev_pagemap_ops.migrate_to_ram for a CPU fault on one of this device's pages: migrate the one
   * page back (VM_FAULT_SIGBUS when setup fails or no system page can be allocated; 0 otherwise,
   * including when someone else moved it first). mmap_sem is held by the fault path.
   * Mirrors drivers/gpu/drm/nouveau/nouveau_dmem.c:nouveau_dmem_migrate_to_ram() (v5.4).
   */
  async migrateToRam(vmf: VmFault): Promise<number> {
    if (accessReporting) noteWrite(this.stats, STAT_CPU_FAULTS);
    this.stats.cpuFaults++;
    const args = createMigrateVma(vmf.vma, vmf.address, vmf.address + PAGE_SIZE);
    if ((await migrateVmaSetup(args)) < 0) return this.sigbus();
    if (args.cpages === 0) return 0;
    let ret = 0;
    if (accessReporting) noteRead(args.src as Float64Array, 0);
    const src = (args.src as Float64Array)[0] as number;
    if (migratePfnHas(src, MIGRATE_PFN_MIGRATE) && migratePfnToPage(src) >= 0) {
      const dpage = allocUserPage(this.machine, 0);
      if (dpage < 0) ret = this.sigbus();
      else {
        await lockPageSleep(this.machine, dpage);
        copyPage(this.machine.phys, dpage, migratePfnToPage(src));
        if (accessReporting) noteWrite(this.stats, STAT_COPIED_OUT);
        this.stats.copiedOut++;
        if (accessReporting) noteWrite(args.dst as Float64Array, 0);
        (args.dst as Float64Array)[0] = migratePfn(dpage) + MIGRATE_PFN_LOCKED;
      }
    }
    if (accessReporting) noteRead(args.dst as Float64Array, 0);
    if (ret === 0 && (args.dst as Float64Array)[0] !== 0) {
      await this.machine.sched.point({ kind: 'dma', label: 'copy to-system (fault)' });
      await migrateVmaPages(args);
    }
    await migrateVmaFinalize(args);
    return ret;
  }

  private sigbus(): number {
    if (accessReporting) noteWrite(this.stats, STAT_SIGBUS);
    this.stats.sigbus++;
    return VM_FAULT_SIGBUS;
  }
}

/**
 * Create a TestDevice or throw KernelBugError with the errno. Model helper for tests and examples.
 */
export function createTestDevice(machine: Machine, opts: TestDeviceOptions): TestDevice {
  const dev = TestDevice.create(machine, opts);
  if (typeof dev === 'number')
    throw new KernelBugError(`createTestDevice: memremap_pages returned ${dev}`);
  return dev;
}
