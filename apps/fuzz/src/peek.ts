/**
 * What a process holds at an address, found without touching anything: the VMA's protection and
 * the bytes wherever they live — a present (or PROT_NONE) PTE's page, a swap slot (its swap-cache
 * page when there is one), the backing page of a dmirror device-private page, or zeros for a page
 * never touched. No fault, no accessed bit, no lock: checks may call it at any quiescent point.
 */
import { chunkPageData, dmirrorPageToChunk, NO_PAGE } from '@hmmsim/dmirror';
import { PAGE_SIZE, pteIndex } from '@hmmsim/kernel';
import { findVmaContaining, type MmStruct, VM_READ, VM_WRITE } from '@hmmsim/mm';
import {
  entryIsTable,
  isDevicePrivateEntry,
  isMigrationEntry,
  isWriteDevicePrivateEntry,
  nonSwapEntry,
  PG_swapcache,
  pmdOffset,
  pmdTransHuge,
  ptePresent,
  pteToSwpEntry,
  tableSlot,
} from '@hmmsim/pagetable';
import { ZERO_PAGE } from './content.ts';
import { PROTS } from './ref-model.ts';

/** Where a page's bytes are. */
export type PageLocation = 'none' | 'ram' | 'swap' | 'dev0' | 'dev1' | 'migrating' | 'other';

/** What a process holds at one page. */
export type Peeked =
  | { readonly mapped: false }
  | {
      readonly mapped: true;
      readonly prot: number;
      readonly bytes: Uint8Array;
      readonly loc: PageLocation;
      /** A device-private entry that allows writes (false for anything else). */
      readonly devWrite: boolean;
      /** The page frame mapped (RAM or device pfn), -1 for none, a swap slot or the zero page. */
      readonly pfn: number;
      /** A RAM page that is also in the swap cache (swapped in, its slot still held). */
      readonly swapCache: boolean;
      /** Set when the entry is one the model cannot read (described). */
      readonly odd?: string;
    };

/** The protection of a VMA's flags, in PROT_* terms. */
function protOf(flags: number): number {
  const r = (flags & VM_READ) !== 0;
  const w = (flags & VM_WRITE) !== 0;
  return r && w ? PROTS.rw : r ? PROTS.r : w ? -1 : PROTS.none;
}

/** The bytes of RAM page `pfn` (zeros when never written). */
function ramBytes(mm: MmStruct, pfn: number): Uint8Array {
  return mm.machine.phys.contents.get(pfn) ?? ZERO_PAGE;
}

/** True if RAM page `pfn` is in the swap cache. */
function inSwapCache(mm: MmStruct, pfn: number): boolean {
  return ((mm.machine.phys.flags[pfn] as number) & PG_swapcache) !== 0;
}

/** The bytes and location behind a non-present PTE (`bits`, `val`). */
function fromSwapFormat(mm: MmStruct, bits: number, val: number) {
  const entry = pteToSwpEntry(bits, val);
  if (!nonSwapEntry(entry)) {
    const sd = mm.machine.swap;
    const cache = (sd.cachePfn[val] ?? 0) - 1;
    const bytes = cache >= 0 ? ramBytes(mm, cache) : (sd.contents[val] ?? ZERO_PAGE);
    return { bytes, loc: 'swap' as const, devWrite: false, pfn: -1, swapCache: false };
  }
  if (isDevicePrivateEntry(entry)) {
    const chunk = dmirrorPageToChunk(mm.machine, val);
    const backing = chunk === null ? NO_PAGE : chunkPageData(chunk, val);
    if (chunk === null || backing === NO_PAGE) {
      return {
        bytes: ZERO_PAGE,
        loc: 'other' as const,
        devWrite: false,
        pfn: val,
        swapCache: false,
        odd: `device pfn ${val} has no backing page`,
      };
    }
    const loc = chunk.mdevice.minor === 0 ? ('dev0' as const) : ('dev1' as const);
    return {
      bytes: ramBytes(mm, backing),
      loc,
      devWrite: isWriteDevicePrivateEntry(entry),
      pfn: val,
      swapCache: false,
    };
  }
  if (isMigrationEntry(entry)) {
    return {
      bytes: ramBytes(mm, val),
      loc: 'migrating' as const,
      devWrite: false,
      pfn: val,
      swapCache: false,
      odd: 'a migration entry',
    };
  }
  return {
    bytes: ZERO_PAGE,
    loc: 'other' as const,
    devWrite: false,
    pfn: -1,
    swapCache: false,
    odd: `swap-format entry ${entry}`,
  };
}

/** What `mm` holds at the page containing `addr`. Model helper (a debugger's view). */
export function peekPage(mm: MmStruct, addr: number): Peeked {
  const vma = findVmaContaining(mm, addr);
  if (vma === undefined) return { mapped: false };
  const prot = protOf(vma.vmFlags);
  const pt = mm.pt;
  const pmd = pmdOffset(pt, addr);
  const pmdBits = pmd < 0 ? 0 : (pt.bits[pmd] as number);
  const empty = {
    mapped: true,
    prot,
    bytes: ZERO_PAGE,
    loc: 'none',
    devWrite: false,
    pfn: -1,
    swapCache: false,
  } as const;
  if (pmdBits === 0) return empty;
  if (pmdTransHuge(pmdBits)) {
    const pfn = (pt.val[pmd] as number) + Math.floor((addr % (512 * PAGE_SIZE)) / PAGE_SIZE);
    return { ...empty, bytes: ramBytes(mm, pfn), loc: 'ram', pfn, swapCache: inSwapCache(mm, pfn) };
  }
  if (!entryIsTable(pmdBits)) {
    return { ...empty, loc: 'other', odd: 'a non-table PMD entry' };
  }
  const slot = tableSlot(pt.val[pmd] as number, pteIndex(addr));
  const bits = pt.bits[slot] as number;
  const val = pt.val[slot] as number;
  if (bits === 0) return empty;
  if (ptePresent(bits)) {
    return {
      ...empty,
      bytes: ramBytes(mm, val),
      loc: 'ram',
      pfn: val || -1,
      swapCache: inSwapCache(mm, val),
    };
  }
  return { mapped: true, prot, ...fromSwapFormat(mm, bits, val) };
}
