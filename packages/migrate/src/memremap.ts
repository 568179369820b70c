/**
 * ZONE_DEVICE memory registration: `struct dev_pagemap`, its ops, `enum memory_type` and
 * memremap_pages()/memunmap_pages() over the growable memmap of @hmmsim/pagetable.
 *
 * Model of a registration: memremapPages() appends the range's struct pages to the memmap after
 * RAM (memmapAddRange: refcount 1, PG_reserved, `pgmap[pfn] = id`; the model's
 * request_free_mem_region() and memmap_init_zone_device() in one), installs the pgmap in
 * `machine.devPagemaps` (the core mm's fault path finds `migrateToRam` there) and installs one
 * `pm.devPageFree` dispatcher per machine that routes "refcount back to 1" to `ops.pageFree`.
 * A `struct page *` is the page's pfn; ids are the memmap's 16-bit pgmap ids.
 */
import {
  accessReporting,
  checkIntIn,
  checkUlong,
  ENOMEM,
  HPAGE_PMD_NR,
  isUlong,
  KernelBugError,
  noteRead,
  noteWrite,
  type Pfn,
} from '@hmmsim/kernel';
import type { Machine, VmFault } from '@hmmsim/mm';
import { MAX_PFN_LIMIT, memmapAddRange, PG_locked, type PhysMem } from '@hmmsim/pagetable';
import {
  devPagemapById,
  pfnInMemmap,
  pgFlags,
  pgMapcount,
  pgPgmap,
  pgRefcount,
} from './shared-access.ts';

/** Value 0 of enum memory_type is deliberately unused (an uninitialised type is caught). */
export const MEMORY_DEVICE_INVALID = 0;
/** Device memory the CPU cannot address; mapped only as device-private swap entries. Mirrors include/linux/memremap.h:MEMORY_DEVICE_PRIVATE. */
export const MEMORY_DEVICE_PRIVATE = 1;
/** Persistent memory used by a DAX filesystem. Mirrors include/linux/memremap.h:MEMORY_DEVICE_FS_DAX. */
export const MEMORY_DEVICE_FS_DAX = 2;
/** Device DAX memory. Mirrors include/linux/memremap.h:MEMORY_DEVICE_DEVDAX. */
export const MEMORY_DEVICE_DEVDAX = 3;
/** Peer-to-peer DMA memory (a PCI BAR). Mirrors include/linux/memremap.h:MEMORY_DEVICE_PCI_P2PDMA. */
export const MEMORY_DEVICE_PCI_P2PDMA = 4;

/** One of the MEMORY_DEVICE_* values (0 is invalid). Mirrors include/linux/memremap.h:enum memory_type. */
export type MemoryType = 0 | 1 | 2 | 3 | 4;

/**
 * Driver callbacks of a dev_pagemap. For MEMORY_DEVICE_PRIVATE both `pageFree` and
 * `migrateToRam` are mandatory. Mirrors include/linux/memremap.h:struct dev_pagemap_ops (v5.3+).
 */
export interface DevPagemapOps {
  /** The page's refcount returned to 1 (idle): give the device memory back to the allocator. */
  pageFree?(pfn: number): void;
  /** A CPU access hit a device-private entry of this pgmap (`vmf.page`); returns VM_FAULT_* bits. */
  migrateToRam?(vmf: VmFault): Promise<number>;
  /** Start tearing the pgmap down (only with a driver-provided `ref`, not modelled). */
  kill?(pgmap: DevPagemap): void;
  /** Finish tearing down (only with a driver-provided `ref`, not modelled). */
  cleanup?(pgmap: DevPagemap): void;
}

/** A pfn range `[start, end)` (the model's `struct resource`, in pages). */
export interface PfnRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Element of a DevPagemap in access reports that stands for its registration state (`res`, `id`,
 * `machine`, `live`): above every page offset, which stand for the pages' `zone_device_data`
 * (`noteRead(pgmap, pfn - res.start)`). Mirrors: model-only.
 */
export const PGMAP_ELEMENT_REGISTRATION = 0xffff_ffff;
/**
 * Element of a DevPagemap in access reports that stands for its page_free statistics
 * (`pageFreeCalls`, `pageFreeViolations`). Mirrors: model-only.
 */
export const PGMAP_ELEMENT_PAGE_FREE = 0xffff_fffe;

/**
 * A ZONE_DEVICE memory range and its owner. `nrPages` is the size the driver asks for (the
 * resource size); `res`, `id` and `machine` are set by memremapPages(). `zoneDeviceData` is the
 * per-page driver pointer (`page->zone_device_data`). `owner` (v5.7) is the opaque identity of
 * the managing driver, given at construction (default null, as in v5.4 where the field does not
 * exist); v5.7+ migrate_vma and hmm_range_fault compare it by identity.
 *
 * Access reports (for the explorer's partial-order reduction), all on the DevPagemap: the
 * registration fields are accessors reporting element PGMAP_ELEMENT_REGISTRATION, the page_free
 * statistics element PGMAP_ELEMENT_PAGE_FREE, and `zoneDeviceData[off]` is element `off` (the
 * page offset; pageZoneDeviceData()/setPageZoneDeviceData() report it, code indexing the array
 * directly must report it itself).
 * Mirrors include/linux/memremap.h:struct dev_pagemap (no `dev`; `owner` from v5.7).
 */
export class DevPagemap {
  readonly type: MemoryType;
  readonly nrPages: number;
  readonly ops: DevPagemapOps;
  /** The managing driver's identity. Mirrors struct dev_pagemap.owner (v5.7). */
  readonly owner: unknown;
  private _res: PfnRange | null = null;
  private _id = 0;
  private _machine: Machine | null = null;
  /** Per-page driver data, indexed by `pfn - res.start`. Mirrors struct page.zone_device_data. */
  readonly zoneDeviceData: unknown[] = [];
  private _pageFreeCalls = 0;
  private readonly _pageFreeViolations: string[] = [];
  private _live = false;

  /** The pfn range, once registered (a reported read). */
  get res(): PfnRange | null {
    if (accessReporting) noteRead(this, PGMAP_ELEMENT_REGISTRATION);
    return this._res;
  }
  set res(r: PfnRange | null) {
    if (accessReporting) noteWrite(this, PGMAP_ELEMENT_REGISTRATION);
    this._res = r;
  }

  /** memmap pgmap id (1..65535), 0 until registered (a reported read). */
  get id(): number {
    if (accessReporting) noteRead(this, PGMAP_ELEMENT_REGISTRATION);
    return this._id;
  }
  set id(id: number) {
    if (accessReporting) noteWrite(this, PGMAP_ELEMENT_REGISTRATION);
    this._id = id;
  }

  /** The machine it is registered on (a reported read). */
  get machine(): Machine | null {
    if (accessReporting) noteRead(this, PGMAP_ELEMENT_REGISTRATION);
    return this._machine;
  }
  set machine(m: Machine | null) {
    if (accessReporting) noteWrite(this, PGMAP_ELEMENT_REGISTRATION);
    this._machine = m;
  }

  /** True between memremapPages() and memunmapPages() (a reported read). */
  get live(): boolean {
    if (accessReporting) noteRead(this, PGMAP_ELEMENT_REGISTRATION);
    return this._live;
  }
  set live(v: boolean) {
    if (accessReporting) noteWrite(this, PGMAP_ELEMENT_REGISTRATION);
    this._live = v;
  }

  /** page_free calls so far (a reported read). */
  get pageFreeCalls(): number {
    if (accessReporting) noteRead(this, PGMAP_ELEMENT_PAGE_FREE);
    return this._pageFreeCalls;
  }
  set pageFreeCalls(n: number) {
    if (accessReporting) noteWrite(this, PGMAP_ELEMENT_PAGE_FREE);
    this._pageFreeCalls = n;
  }

  /**
   * page_free calls made in a bad state (refcount != 1, still mapped, locked); invariant 19 (a
   * reported read; code that appends reports noteWrite(pgmap, PGMAP_ELEMENT_PAGE_FREE)).
   */
  get pageFreeViolations(): string[] {
    if (accessReporting) noteRead(this, PGMAP_ELEMENT_PAGE_FREE);
    return this._pageFreeViolations;
  }

  constructor(type: MemoryType, nrPages: number, ops: DevPagemapOps, owner: unknown = null) {
    this.type = type;
    this.nrPages = nrPages;
    this.ops = ops;
    this.owner = owner ?? null;
  }

  /**
   * The mm's fault hook (`machine.devPagemaps` entry): forwards to `ops.migrateToRam`.
   * Mirrors mm/memory.c:do_swap_page() calling `page->pgmap->ops->migrate_to_ram(vmf)`.
   */
  migrateToRam(vmf: VmFault): Promise<number> {
    const fn = this.ops.migrateToRam;
    if (fn === undefined) {
      throw new KernelBugError(
        `dev_pagemap ${this.id}: CPU fault on a device page of a pgmap without migrate_to_ram`,
      );
    }
    return fn.call(this.ops, vmf);
  }
}

/** The machine-wide dispatcher of "device page idle again" installed in PhysMem.devPageFree. */
interface Dispatcher {
  (pm: PhysMem, pfn: number): void;
  readonly machine: Machine;
}

function pageFreeState(pm: PhysMem, pfn: number): string {
  const count = pgRefcount(pm, pfn);
  if (count !== 1) return `refcount ${count} (expected 1)`;
  const mapped = pgMapcount(pm, pfn);
  if (mapped !== 0) return `mapcount ${mapped} (still mapped)`;
  if ((pgFlags(pm, pfn) & PG_locked) !== 0) return 'the page is locked';
  return '';
}

/** Route a device page's return to refcount 1 to its pgmap's page_free. */
function dispatchPageFree(machine: Machine, previous: PhysMem['devPageFree']) {
  const fn = ((pm: PhysMem, pfn: number): void => {
    const pgmap = devPagemapById(machine, pgPgmap(pm, pfn));
    if (!(pgmap instanceof DevPagemap)) {
      previous?.(pm, pfn);
      return;
    }
    pgmap.pageFreeCalls++;
    const bad = pageFreeState(pm, pfn);
    if (bad !== '') {
      if (accessReporting) noteWrite(pgmap, PGMAP_ELEMENT_PAGE_FREE);
      pgmap.pageFreeViolations.push(`page_free(pfn ${pfn}) with ${bad}`);
    }
    pgmap.ops.pageFree?.(pfn);
  }) as Dispatcher;
  Object.defineProperty(fn, 'machine', { value: machine });
  return fn;
}

function installDispatcher(machine: Machine): void {
  const pm = machine.phys;
  if (accessReporting) noteRead(pm); // devPageFree is a field of the whole PhysMem
  const cur = pm.devPageFree as Dispatcher | undefined;
  if (cur !== undefined && cur.machine === machine) return;
  if (accessReporting) noteWrite(pm);
  pm.devPageFree = dispatchPageFree(machine, cur);
}

function nextPgmapId(machine: Machine): number {
  if (accessReporting) noteRead(machine.devPagemaps); // the scan may look at every id
  for (let id = 1; id <= 0xffff; id++) if (!machine.devPagemaps.has(id)) return id;
  return -1;
}

function checkOps(pgmap: DevPagemap): void {
  if (pgmap.type === MEMORY_DEVICE_PRIVATE && pgmap.ops.migrateToRam === undefined) {
    throw new KernelBugError(
      'memremap_pages: Missing migrate_to_ram method (MEMORY_DEVICE_PRIVATE)',
    );
  }
  if (pgmap.type === MEMORY_DEVICE_PRIVATE && pgmap.ops.pageFree === undefined) {
    throw new KernelBugError('memremap_pages: Missing page_free method (MEMORY_DEVICE_PRIVATE)');
  }
  const t: number = pgmap.type;
  if (!Number.isInteger(t) || t < MEMORY_DEVICE_PRIVATE || t > MEMORY_DEVICE_PCI_P2PDMA) {
    throw new KernelBugError(
      `memremap_pages: Invalid pgmap type ${String(t)}; expected MEMORY_DEVICE_PRIVATE (1) … MEMORY_DEVICE_PCI_P2PDMA (4)`,
    );
  }
  if (pgmap.ops.kill !== undefined || pgmap.ops.cleanup !== undefined) {
    throw new KernelBugError(
      'memremap_pages: kill/cleanup given without a driver-owned percpu ref (the model always uses the internal ref)',
    );
  }
}

/**
 * Register `pgmap`: give it `pgmap.nrPages` struct pages of its own after RAM (each idle at
 * refcount 1, PG_reserved), install it for the core mm's fault path and page_free dispatch.
 * Returns the first pfn, or -ENOMEM when the pfn space or the 65,535 pgmap ids are exhausted.
 * Missing mandatory ops or an invalid type, NaN included (the kernel's WARN), throw
 * KernelBugError; registering the same pgmap twice throws KernelBugError; an nrPages that is not
 * a positive integer throws InvalidArgumentError.
 * Mirrors mm/memremap.c:memremap_pages() (with kernel/resource.c:request_free_mem_region()).
 */
export function memremapPages(machine: Machine, pgmap: DevPagemap): Pfn | number {
  if (pgmap.live || pgmap.res !== null) {
    throw new KernelBugError(`memremap_pages: pgmap ${pgmap.id} is already registered`);
  }
  if (!(pgmap instanceof DevPagemap)) {
    throw new KernelBugError(
      'memremap_pages: pgmap is not a DevPagemap; expected new DevPagemap(…)',
    );
  }
  checkIntIn(
    'memremap_pages',
    'pgmap.nrPages',
    pgmap.nrPages,
    1,
    Number.MAX_SAFE_INTEGER,
    'a positive page count',
  );
  checkOps(pgmap);
  const id = nextPgmapId(machine);
  if (accessReporting) noteRead(machine.phys); // memmapEnd
  const firstFree = Math.ceil(machine.phys.memmapEnd / HPAGE_PMD_NR) * HPAGE_PMD_NR;
  if (id < 0 || firstFree + pgmap.nrPages > MAX_PFN_LIMIT) return -ENOMEM;
  const first = memmapAddRange(machine.phys, pgmap.nrPages, id);
  pgmap.id = id;
  pgmap.machine = machine;
  pgmap.res = { start: first, end: first + pgmap.nrPages };
  if (accessReporting) noteWrite(pgmap); // every page's zone_device_data
  pgmap.zoneDeviceData.length = pgmap.nrPages;
  pgmap.live = true;
  if (accessReporting) noteWrite(machine.devPagemaps, id);
  machine.devPagemaps.set(id, pgmap);
  installDispatcher(machine);
  return first;
}

/**
 * Unregister `pgmap`: no further faults or page_free calls reach its driver. The memmap entries
 * stay (the model's memmap never shrinks). Every page must be idle (refcount 1): the kernel would
 * wait for the last page reference forever, so a busy page throws KernelBugError.
 * Mirrors mm/memremap.c:memunmap_pages().
 */
export function memunmapPages(pgmap: DevPagemap): void {
  const machine = pgmap.machine;
  if (!pgmap.live || machine === null || pgmap.res === null) {
    throw new KernelBugError('memunmap_pages: pgmap is not registered');
  }
  const pm = machine.phys;
  const res = pgmap.res;
  for (let pfn = res.start; pfn < res.end; pfn++) {
    const count = pgRefcount(pm, pfn);
    if (count !== 1) {
      throw new KernelBugError(
        `memunmap_pages: device pfn ${pfn} still has refcount ${count}; memunmap_pages would wait for it forever`,
      );
    }
  }
  const id = pgmap.id;
  if (accessReporting) noteWrite(machine.devPagemaps, id);
  machine.devPagemaps.delete(id);
  pgmap.live = false;
}

/**
 * The registered dev_pagemap owning `pfn`, or null (RAM, beyond the memmap, or a pgmap not from
 * this package); a pfn that is not an unsigned long throws InvalidArgumentError.
 * Mirrors mm/memremap.c:get_dev_pagemap() (without the percpu reference).
 */
export function getDevPagemap(machine: Machine, pfn: number): DevPagemap | null {
  if (!isUlong(pfn)) checkUlong('get_dev_pagemap', 'pfn', pfn, 'a pfn');
  const pm = machine.phys;
  if (pfn < pm.nrPages || !pfnInMemmap(pm, pfn)) return null;
  const id = pgPgmap(pm, pfn);
  if (id === 0) return null;
  const pgmap = devPagemapById(machine, id);
  return pgmap instanceof DevPagemap ? pgmap : null;
}
