/**
 * One swap device (type 0): slots with use counts, their contents, and the swap cache.
 *
 * `swapMap[offset]` counts the swap PTEs referring to the slot (swap_map without the cache bit);
 * `cachePfn[offset]` is the swap-cache page + 1 (0 = none; the kernel's SWAP_HAS_CACHE). A slot is
 * free when both are zero. Slot 0 is never handed out (the kernel keeps the header there).
 *
 * Policy (documented deviation): the swap cache is dropped as soon as no swap PTE refers to the
 * slot any more (as if vm_swap_full() were always true), so a swapped-in page does not keep its
 * slot allocated.
 */

import {
  accessReporting,
  checkUlong,
  isUlong,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import {
  compoundHead,
  PG_dirty,
  PG_locked,
  PG_swapbacked,
  PG_swapcache,
  readPage,
  swpEntry,
  swpOffset,
  swpType,
  writePage,
} from '@hmmsim/pagetable';
import { checkMachine, checkPfn } from './check-args.ts';
import type { Machine } from './machine.ts';
import { mmPutPage } from './machine.ts';
import {
  pgFlags,
  pgOrder,
  pgPrivate,
  pgRefcount,
  pgSetFlags,
  pgSetPrivate,
  pgSetRefcount,
} from './shared-access.ts';

/** Type number of the model's only swap device. */
export const SWAP_TYPE = 0;

// Elements of a SwapDevice in access reports (noteRead/noteWrite(sd, element)).
const SWAP_INUSE = 0;
const SWAP_WRITES = 1;
const SWAP_READS = 2;
const SWAP_CURSOR = 3;

/**
 * A swap device. Mirrors include/linux/swap.h:struct swap_info_struct.
 *
 * Access reports: a slot (its `swapMap`, `cachePfn` and `contents` entries together) is element
 * `offset` of the `swapMap` array (`noteRead(sd.swapMap, off)`); the counters are accessors
 * reporting each as an element of the device.
 */
export class SwapDevice {
  /** Number of slots, including the unused slot 0. */
  readonly nrPages: number;
  /** Swap PTEs per slot. */
  readonly swapMap: Int32Array;
  /** Swap-cache pfn + 1 per slot, 0 = none. */
  readonly cachePfn: Int32Array;
  /** Written contents per slot (undefined = zeros or never written). */
  readonly contents: (Uint8Array | undefined)[];
  private _inuse = 0;
  private _writes = 0;
  private _reads = 0;
  private _cursor = 1;

  constructor(nrPages: number) {
    this.nrPages = nrPages;
    this.swapMap = new Int32Array(nrPages);
    this.cachePfn = new Int32Array(nrPages);
    this.contents = [];
  }

  /** Slots in use. */
  get inuse(): number {
    if (accessReporting) noteRead(this, SWAP_INUSE);
    return this._inuse;
  }
  set inuse(n: number) {
    if (accessReporting) noteWrite(this, SWAP_INUSE);
    this._inuse = n;
  }

  /** Pages written (statistics). */
  get writes(): number {
    if (accessReporting) noteRead(this, SWAP_WRITES);
    return this._writes;
  }
  set writes(n: number) {
    if (accessReporting) noteWrite(this, SWAP_WRITES);
    this._writes = n;
  }

  /** Pages read (statistics). */
  get reads(): number {
    if (accessReporting) noteRead(this, SWAP_READS);
    return this._reads;
  }
  set reads(n: number) {
    if (accessReporting) noteWrite(this, SWAP_READS);
    this._reads = n;
  }

  /** Free slots. */
  get nrFree(): number {
    return Math.max(0, this.nrPages - 1 - this.inuse);
  }

  /** Find and claim a free slot (next-fit); -1 when full. */
  claim(): number {
    const n = this.nrPages;
    if (accessReporting) noteRead(this.swapMap); // the scan may look at every slot
    if (accessReporting) noteWrite(this, SWAP_CURSOR);
    const cursor = this._cursor;
    for (let k = 1; k < n; k++) {
      const off = ((cursor - 1 + k - 1) % (n - 1)) + 1;
      if (this.swapMap[off] === 0 && this.cachePfn[off] === 0) {
        this._cursor = off + 1 > n - 1 ? 1 : off + 1;
        this.inuse++;
        if (accessReporting) noteWrite(this.swapMap, off);
        return off;
      }
    }
    return -1;
  }

  /** Release a slot whose counts are both zero. */
  release(off: number): void {
    if (accessReporting) noteWrite(this.swapMap, off);
    this.contents[off] = undefined;
    this.inuse--;
  }
}

function checkEntry(sd: SwapDevice, entry: number, fn: string): number {
  if (!isUlong(entry)) checkUlong(fn, 'entry', entry, 'a swap entry');
  // Type 0 entries are the offsets themselves (swp_entry(0, off) === off).
  if (entry <= 0 || entry >= sd.nrPages || swpType(entry) !== SWAP_TYPE) {
    throw new KernelBugError(
      `${fn}: swap entry ${entry} is not a slot of swap device 0; expected an entry in [1, ${sd.nrPages})`,
    );
  }
  return swpOffset(entry);
}

/** KernelBugError unless `pfn` is an allocated RAM page, not a THP, and in no swap cache. */
function checkSwappable(machine: Machine, pfn: number, fn: string): void {
  const pm = machine.phys;
  const f = pgFlags(pm, pfn);
  if (
    pfn >= pm.nrPages ||
    pfn === pm.zeroPfn ||
    pgRefcount(pm, pfn) < 1 ||
    compoundHead(pm, pfn) !== pfn ||
    (f & PG_swapcache) !== 0 ||
    pgOrder(pm, pfn) !== 0
  ) {
    throw new KernelBugError(
      `${fn}: pfn ${pfn} (refcount ${pgRefcount(pm, pfn)}, flags 0x${f.toString(16)}) is not an allocated order-0 RAM page outside the swap cache; expected one`,
    );
  }
}

/**
 * Allocate a slot for `pfn` and put the page into the swap cache (takes a page reference, sets
 * PG_swapcache and page_private); returns the entry or -1 when the device is full.
 * Mirrors mm/swap_state.c:add_to_swap() (get_swap_page + add_to_swap_cache).
 */
export function addToSwap(machine: Machine, pfn: number): number {
  checkMachine('add_to_swap', machine);
  checkPfn('add_to_swap', machine, pfn);
  const pm = machine.phys;
  checkSwappable(machine, pfn, 'add_to_swap');
  const sd = machine.swap;
  if (sd.nrPages <= 1) return -1;
  const off = sd.claim();
  if (off < 0) return -1;
  if (accessReporting) noteWrite(sd.swapMap, off);
  sd.cachePfn[off] = pfn + 1;
  pgSetRefcount(pm, pfn, pgRefcount(pm, pfn) + 1);
  pgSetFlags(pm, pfn, pgFlags(pm, pfn) | PG_swapcache | PG_swapbacked | PG_dirty);
  const entry = swpEntry(SWAP_TYPE, off);
  pgSetPrivate(pm, pfn, entry);
  return entry;
}

/**
 * Add a freshly read page to the swap cache of `entry` (slot already allocated).
 * Mirrors mm/swap_state.c:add_to_swap_cache().
 */
export function addToSwapCache(machine: Machine, pfn: number, entry: number): void {
  checkMachine('add_to_swap_cache', machine);
  checkPfn('add_to_swap_cache', machine, pfn);
  const sd = machine.swap;
  const off = checkEntry(sd, entry, 'add_to_swap_cache');
  checkSwappable(machine, pfn, 'add_to_swap_cache');
  if (accessReporting) noteWrite(sd.swapMap, off);
  if (sd.cachePfn[off] !== 0) {
    throw new KernelBugError(`add_to_swap_cache: slot ${off} already has a swap-cache page`);
  }
  if (sd.swapMap[off] === 0) {
    throw new KernelBugError(
      `add_to_swap_cache: slot ${off} is free; expected a slot still named by a swap PTE`,
    );
  }
  const pm = machine.phys;
  sd.cachePfn[off] = pfn + 1;
  pgSetRefcount(pm, pfn, pgRefcount(pm, pfn) + 1);
  pgSetFlags(pm, pfn, pgFlags(pm, pfn) | PG_swapcache | PG_swapbacked);
  pgSetPrivate(pm, pfn, entry);
}

/** The swap-cache page of `entry`, or -1. Mirrors mm/swap_state.c:lookup_swap_cache() (without taking a ref). */
export function lookupSwapCache(machine: Machine, entry: number): number {
  checkMachine('lookup_swap_cache', machine);
  const off = checkEntry(machine.swap, entry, 'lookup_swap_cache');
  if (accessReporting) noteRead(machine.swap.swapMap, off);
  return (machine.swap.cachePfn[off] as number) - 1;
}

/**
 * Remove `pfn` from the swap cache (drops the cache's page reference; frees the slot if no swap
 * PTE uses it). Mirrors mm/swap_state.c:delete_from_swap_cache() + put_swap_page().
 */
export function deleteFromSwapCache(machine: Machine, pfn: number): void {
  checkMachine('delete_from_swap_cache', machine);
  checkPfn('delete_from_swap_cache', machine, pfn);
  const pm = machine.phys;
  if ((pgFlags(pm, pfn) & PG_swapcache) === 0) {
    throw new KernelBugError(`delete_from_swap_cache: pfn ${pfn} is not in the swap cache`);
  }
  const sd = machine.swap;
  const off = checkEntry(sd, pgPrivate(pm, pfn), 'delete_from_swap_cache');
  if (accessReporting) noteWrite(sd.swapMap, off);
  sd.cachePfn[off] = 0;
  pgSetFlags(pm, pfn, pgFlags(pm, pfn) & ~PG_swapcache);
  pgSetPrivate(pm, pfn, 0);
  if (sd.swapMap[off] === 0) sd.release(off);
  mmPutPage(machine, pfn);
}

/** Count one more swap PTE on the slot. Mirrors mm/swapfile.c:swap_duplicate(). */
export function swapDuplicate(machine: Machine, entry: number): void {
  checkMachine('swap_duplicate', machine);
  const sd = machine.swap;
  const off = checkEntry(sd, entry, 'swap_duplicate');
  if (accessReporting) noteWrite(sd.swapMap, off);
  if (sd.swapMap[off] === 0 && sd.cachePfn[off] === 0) {
    throw new KernelBugError(
      `swap_duplicate: slot ${off} is free; expected a slot in use (named by a swap PTE or the swap cache)`,
    );
  }
  sd.swapMap[off] = (sd.swapMap[off] as number) + 1;
}

/** Swap PTEs (and cache) referring to `entry`'s slot. Mirrors mm/swapfile.c:__swap_count(). */
export function swapCount(machine: Machine, entry: number): number {
  checkMachine('swap_count', machine);
  const off = checkEntry(machine.swap, entry, 'swap_count');
  if (accessReporting) noteRead(machine.swap.swapMap, off);
  return machine.swap.swapMap[off] as number;
}

/**
 * Drop one swap PTE's reference; frees the slot when nothing refers to it.
 * Mirrors mm/swapfile.c:swap_free().
 */
export function swapFree(machine: Machine, entry: number): void {
  checkMachine('swap_free', machine);
  const sd = machine.swap;
  const off = checkEntry(sd, entry, 'swap_free');
  if (accessReporting) noteWrite(sd.swapMap, off);
  const n = (sd.swapMap[off] as number) - 1;
  if (n < 0) throw new KernelBugError(`swap_free: slot ${off} has no swap reference to drop`);
  sd.swapMap[off] = n;
  if (n === 0 && sd.cachePfn[off] === 0) sd.release(off);
}

/**
 * Drop a swap PTE's reference (zap path); when the last one goes and an unlocked page sits in
 * the swap cache, drop it from the cache too. Mirrors mm/swapfile.c:free_swap_and_cache().
 */
export function freeSwapAndCache(machine: Machine, entry: number): void {
  swapFree(machine, entry);
  tryToFreeSwap(machine, entry);
}

/**
 * If no swap PTE uses `entry` any more, remove its (unlocked) swap-cache page from the cache,
 * marking it dirty. Mirrors mm/swapfile.c:try_to_free_swap() under the model's always-full policy.
 */
export function tryToFreeSwap(machine: Machine, entry: number): void {
  checkMachine('try_to_free_swap', machine);
  const sd = machine.swap;
  const off = checkEntry(sd, entry, 'try_to_free_swap');
  if (accessReporting) noteRead(sd.swapMap, off);
  if (sd.swapMap[off] !== 0) return;
  const pfn = (sd.cachePfn[off] as number) - 1;
  if (pfn < 0) return;
  const pm = machine.phys;
  if ((pgFlags(pm, pfn) & PG_locked) !== 0) return; // its owner finishes the job
  pgSetFlags(pm, pfn, pgFlags(pm, pfn) | PG_dirty);
  deleteFromSwapCache(machine, pfn);
}

/** Write the page's bytes to the slot of `entry`. Mirrors mm/page_io.c:swap_writepage(). */
export function swapWritepage(machine: Machine, pfn: number, entry: number): void {
  checkMachine('swap_writepage', machine);
  checkPfn('swap_writepage', machine, pfn);
  const sd = machine.swap;
  const off = checkEntry(sd, entry, 'swap_writepage');
  const buf = new Uint8Array(PAGE_SIZE);
  readPage(machine.phys, pfn, 0, buf);
  if (accessReporting) noteWrite(sd.swapMap, off);
  sd.contents[off] = buf;
  sd.writes++;
  pgSetFlags(machine.phys, pfn, pgFlags(machine.phys, pfn) & ~PG_dirty);
}

/** Read the slot of `entry` into the page. Mirrors mm/page_io.c:swap_readpage(). */
export function swapReadpage(machine: Machine, pfn: number, entry: number): void {
  checkMachine('swap_readpage', machine);
  checkPfn('swap_readpage', machine, pfn);
  const sd = machine.swap;
  const off = checkEntry(sd, entry, 'swap_readpage');
  if (accessReporting) noteRead(sd.swapMap, off);
  const buf = sd.contents[off];
  if (buf !== undefined) writePage(machine.phys, pfn, 0, buf);
  sd.reads++;
}
