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
import { checkUlong, isUlong, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
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

/** Type number of the model's only swap device. */
export const SWAP_TYPE = 0;

/** A swap device. Mirrors include/linux/swap.h:struct swap_info_struct. */
export class SwapDevice {
  /** Number of slots, including the unused slot 0. */
  readonly nrPages: number;
  /** Swap PTEs per slot. */
  readonly swapMap: Int32Array;
  /** Swap-cache pfn + 1 per slot, 0 = none. */
  readonly cachePfn: Int32Array;
  /** Written contents per slot (undefined = zeros or never written). */
  readonly contents: (Uint8Array | undefined)[];
  /** Slots in use. */
  inuse = 0;
  /** Pages written / read (statistics). */
  writes = 0;
  reads = 0;
  private cursor = 1;

  constructor(nrPages: number) {
    this.nrPages = nrPages;
    this.swapMap = new Int32Array(nrPages);
    this.cachePfn = new Int32Array(nrPages);
    this.contents = [];
  }

  /** Free slots. */
  get nrFree(): number {
    return Math.max(0, this.nrPages - 1 - this.inuse);
  }

  /** Find and claim a free slot (next-fit); -1 when full. */
  claim(): number {
    const n = this.nrPages;
    for (let k = 1; k < n; k++) {
      const off = ((this.cursor - 1 + k - 1) % (n - 1)) + 1;
      if (this.swapMap[off] === 0 && this.cachePfn[off] === 0) {
        this.cursor = off + 1 > n - 1 ? 1 : off + 1;
        this.inuse++;
        return off;
      }
    }
    return -1;
  }

  /** Release a slot whose counts are both zero. */
  release(off: number): void {
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
  const f = pm.flags[pfn] as number;
  if (
    pfn >= pm.nrPages ||
    pfn === pm.zeroPfn ||
    (pm.refcount[pfn] as number) < 1 ||
    compoundHead(pm, pfn) !== pfn ||
    (f & PG_swapcache) !== 0 ||
    pm.order[pfn] !== 0
  ) {
    throw new KernelBugError(
      `${fn}: pfn ${pfn} (refcount ${pm.refcount[pfn]}, flags 0x${f.toString(16)}) is not an allocated order-0 RAM page outside the swap cache; expected one`,
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
  sd.cachePfn[off] = pfn + 1;
  pm.refcount[pfn] = (pm.refcount[pfn] as number) + 1;
  pm.flags[pfn] = (pm.flags[pfn] as number) | PG_swapcache | PG_swapbacked | PG_dirty;
  const entry = swpEntry(SWAP_TYPE, off);
  pm.privateVal[pfn] = entry;
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
  pm.refcount[pfn] = (pm.refcount[pfn] as number) + 1;
  pm.flags[pfn] = (pm.flags[pfn] as number) | PG_swapcache | PG_swapbacked;
  pm.privateVal[pfn] = entry;
}

/** The swap-cache page of `entry`, or -1. Mirrors mm/swap_state.c:lookup_swap_cache() (without taking a ref). */
export function lookupSwapCache(machine: Machine, entry: number): number {
  checkMachine('lookup_swap_cache', machine);
  const off = checkEntry(machine.swap, entry, 'lookup_swap_cache');
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
  if (((pm.flags[pfn] as number) & PG_swapcache) === 0) {
    throw new KernelBugError(`delete_from_swap_cache: pfn ${pfn} is not in the swap cache`);
  }
  const sd = machine.swap;
  const off = checkEntry(sd, pm.privateVal[pfn] as number, 'delete_from_swap_cache');
  sd.cachePfn[off] = 0;
  pm.flags[pfn] = (pm.flags[pfn] as number) & ~PG_swapcache;
  pm.privateVal[pfn] = 0;
  if (sd.swapMap[off] === 0) sd.release(off);
  mmPutPage(machine, pfn);
}

/** Count one more swap PTE on the slot. Mirrors mm/swapfile.c:swap_duplicate(). */
export function swapDuplicate(machine: Machine, entry: number): void {
  checkMachine('swap_duplicate', machine);
  const sd = machine.swap;
  const off = checkEntry(sd, entry, 'swap_duplicate');
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
  if (sd.swapMap[off] !== 0) return;
  const pfn = (sd.cachePfn[off] as number) - 1;
  if (pfn < 0) return;
  const pm = machine.phys;
  if (((pm.flags[pfn] as number) & PG_locked) !== 0) return; // its owner finishes the job
  pm.flags[pfn] = (pm.flags[pfn] as number) | PG_dirty;
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
  sd.contents[off] = buf;
  sd.writes++;
  machine.phys.flags[pfn] = (machine.phys.flags[pfn] as number) & ~PG_dirty;
}

/** Read the slot of `entry` into the page. Mirrors mm/page_io.c:swap_readpage(). */
export function swapReadpage(machine: Machine, pfn: number, entry: number): void {
  checkMachine('swap_readpage', machine);
  checkPfn('swap_readpage', machine, pfn);
  const sd = machine.swap;
  const off = checkEntry(sd, entry, 'swap_readpage');
  const buf = sd.contents[off];
  if (buf !== undefined) writePage(machine.phys, pfn, 0, buf);
  sd.reads++;
}
