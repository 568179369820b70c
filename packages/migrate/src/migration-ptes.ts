/**
 * Replacing migration entries by real mappings again (of the new page on success, of the old page
 * on restore). Mirrors mm/migrate.c:remove_migration_pte()/remove_migration_ptes().
 */
import {
  accessReporting,
  checkUlong,
  noteRead,
  PAGE_SIZE,
  PMD_SIZE,
  PTRS_PER_PTE,
} from '@hmmsim/kernel';
import {
  type Machine,
  maybeMkwrite,
  pageAddAnonRmap,
  pageAddFileRmap,
  pteLookup,
  type VmArea,
  vmaAddress,
} from '@hmmsim/mm';
import {
  _PAGE_SOFT_DIRTY,
  getPage,
  isMigrationEntry,
  isSwapPte,
  isWriteMigrationEntry,
  isZoneDevicePage,
  makeDevicePrivateEntry,
  type PageTables,
  PG_anon,
  pteMkold,
  pteSwpSoftDirty,
  pteToSwpEntry,
  pteWrite,
  setPte,
  swpEntry,
  swpEntryToPteBits,
  swpType,
} from '@hmmsim/pagetable';
import { isDevicePrivatePage } from './device-private.ts';
import { checkMachinePfn } from './pfn-check.ts';
import { pgFlags, pgIndex, pgMapping, ptBits, ptVal } from './shared-access.ts';

/** TYPE_SCALE of swapops (the entry of type 1, offset 0). */
const SWP_TYPE_SCALE = swpEntry(1, 0);

/** swp_offset(entry) without `%` (entries exceed 2^31, where `%` is a floating-point fmod). */
function swpOffsetOf(entry: number): number {
  return entry - swpType(entry) * SWP_TYPE_SCALE;
}

// One-entry cache of the PTE table covering a PMD-sized range, so that a loop over consecutive
// pages walks the upper levels once per table instead of once per page. Only enabled (withPteCache)
// around synchronous loops that never free or replace page tables. Access reports: the cache is
// emptied when withPteCache() starts and ends, so it lives inside one step of one task, and a
// cached slot is only used after a pteLookup() of the same step reported the upper-level entries
// it depends on; the module-level variables themselves are never shared between steps.
let cacheOn = false;
let cachePt: PageTables | null = null;
let cacheBase = -1;
let cacheTable = -1;

/**
 * Run `fn` (synchronous, must not change the upper page-table levels) with the PTE table cache on.
 * Model helper (performance only; pteLookup gives the same slots).
 */
export function withPteCache(fn: () => void): void {
  cacheOn = true;
  cachePt = null;
  try {
    fn();
  } finally {
    cacheOn = false;
    cachePt = null;
  }
}

/** pteLookup(mm, addr), through the cache when it is on. */
function lookupPte(mm: VmArea['vmMm'], addr: number): number {
  if (!cacheOn) return pteLookup(mm, addr);
  const pt = mm.pt;
  const base = Math.floor(addr / PMD_SIZE);
  if (pt !== cachePt || base !== cacheBase) {
    const slot = pteLookup(mm, addr);
    cachePt = pt;
    cacheBase = base;
    cacheTable = slot < 0 ? -1 : Math.floor(slot / PTRS_PER_PTE);
    return slot;
  }
  if (cacheTable < 0) return -1;
  return cacheTable * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) - base * PTRS_PER_PTE);
}

/**
 * If the PTE at `addr` in `vma` is a migration entry for `old`, map `newPage` there instead:
 * a PTE from vm_page_prot made old (soft-dirty kept; writable iff the entry was a write entry and
 * the vma is still VM_WRITE), or for a device-private `newPage` a device-private entry with that
 * write-ness; takes a page reference and adds the rmap. Returns true if it replaced an entry.
 * RSS is unchanged (a migration entry counts like the page). Mirrors mm/migrate.c:remove_migration_pte().
 */
export function removeMigrationPte(
  machine: Machine,
  vma: VmArea,
  addr: number,
  old: number,
  newPage: number,
): boolean {
  checkUlong('remove_migration_pte', 'addr', addr, 'an address');
  checkMachinePfn('remove_migration_pte', 'old', machine, old);
  checkMachinePfn('remove_migration_pte', 'new', machine, newPage);
  const mm = vma.vmMm;
  const slot = lookupPte(mm, addr);
  if (slot < 0) return false;
  const bits = ptBits(mm.pt, slot);
  if (!isSwapPte(bits)) return false;
  const entry = pteToSwpEntry(bits, ptVal(mm.pt, slot));
  if (!isMigrationEntry(entry) || swpOffsetOf(entry) !== old) return false;
  const pm = machine.phys;
  getPage(pm, newPage);
  let pte = pteMkold(vma.vmPageProt);
  if (pteSwpSoftDirty(bits)) pte |= _PAGE_SOFT_DIRTY;
  if (isWriteMigrationEntry(entry)) pte = maybeMkwrite(pte, vma);
  if (isZoneDevicePage(pm, newPage) && isDevicePrivatePage(machine, newPage)) {
    setPte(mm.pt, slot, swpEntryToPteBits(makeDevicePrivateEntry(newPage, pteWrite(pte))), newPage);
  } else {
    setPte(mm.pt, slot, pte, newPage);
  }
  if ((pgFlags(pm, newPage) & PG_anon) !== 0) pageAddAnonRmap(machine, newPage, vma, addr);
  else pageAddFileRmap(machine, newPage);
  return true;
}

/**
 * Replace every migration entry for `old` by a mapping of `newPage`, over all mappings the
 * reverse map of `newPage` (which carries `old`'s mapping and index) can reach.
 * Mirrors mm/migrate.c:remove_migration_ptes().
 */
export function removeMigrationPtes(machine: Machine, old: number, newPage: number): void {
  checkMachinePfn('remove_migration_ptes', 'old', machine, old);
  checkMachinePfn('remove_migration_ptes', 'new', machine, newPage);
  const pm = machine.phys;
  const id = pgMapping(pm, newPage);
  let vmas: Iterable<VmArea> | undefined;
  if ((pgFlags(pm, newPage) & PG_anon) !== 0) {
    if (accessReporting) noteRead(machine.anonVmas, id);
    vmas = machine.anonVmas.get(id)?.vmas;
  } else {
    if (accessReporting) noteRead(machine.addressSpaces, id);
    vmas = machine.addressSpaces.get(id)?.iMmap;
  }
  if (vmas === undefined) return;
  const pgoff = pgIndex(pm, newPage);
  // rmap_walk over the new page's anon_vma / i_mmap (rmapCandidates without its allocations;
  // migration pages are never compound).
  for (const vma of vmas) {
    const addr = vmaAddress(vma, pgoff);
    if (addr >= vma.vmStart && addr < vma.vmEnd)
      removeMigrationPte(machine, vma, addr, old, newPage);
  }
}
