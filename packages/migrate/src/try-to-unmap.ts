/**
 * try_to_unmap() with TTU_MIGRATION | TTU_IGNORE_MLOCK | TTU_IGNORE_ACCESS, as migrate_vma_unmap()
 * uses it: every remaining mapping of a page becomes a migration entry. (The mm package's
 * tryToUnmap is the reclaim flavour, which installs swap entries.)
 */
import { checkUlong, PAGE_SIZE } from '@hmmsim/kernel';
import {
  type Machine,
  MMU_NOTIFY_CLEAR,
  mmPutPage,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  pageRemoveRmap,
  pteLookup,
  rmapCandidates,
  type VmArea,
  vmNormalPage,
} from '@hmmsim/mm';
import {
  _PAGE_SWP_SOFT_DIRTY,
  devicePrivateEntryToPfn,
  isDevicePrivateEntry,
  isSwapPte,
  isZoneDevicePage,
  makeMigrationEntry,
  PG_dirty,
  pageMapped,
  pteDirty,
  ptePresent,
  pteSoftDirty,
  pteSwpSoftDirty,
  pteToSwpEntry,
  pteWrite,
  setPte,
  swpEntryToPteBits,
} from '@hmmsim/pagetable';
import { isDevicePrivatePage } from './device-private.ts';
import { checkMachinePfn } from './pfn-check.ts';
import { pgFlags, pgSetFlags, ptBits, ptVal } from './shared-access.ts';

/** The migration-entry PTE bits replacing a mapping of `pfn` (write-ness and soft-dirty given). */
function migrationPteBits(pfn: number, write: boolean, softDirty: boolean): number {
  return swpEntryToPteBits(makeMigrationEntry(pfn, write)) | (softDirty ? _PAGE_SWP_SOFT_DIRTY : 0);
}

/** Replace the mapping of `pfn` at `slot` (present PTE or device-private entry); false if none. */
function unmapSlot(machine: Machine, vma: VmArea, slot: number, pfn: number): boolean {
  const mm = vma.vmMm;
  const pm = machine.phys;
  const bits = ptBits(mm.pt, slot);
  const val = ptVal(mm.pt, slot);
  if (ptePresent(bits)) {
    if (val !== pfn || vmNormalPage(vma, bits, val) !== pfn) return false;
    if (pteDirty(bits)) pgSetFlags(pm, pfn, pgFlags(pm, pfn) | PG_dirty);
    setPte(mm.pt, slot, migrationPteBits(pfn, pteWrite(bits), pteSoftDirty(bits)), pfn);
  } else {
    if (!isSwapPte(bits)) return false;
    const entry = pteToSwpEntry(bits, val);
    if (!isDevicePrivateEntry(entry) || devicePrivateEntryToPfn(entry) !== pfn) return false;
    // A ZONE_DEVICE page always gets a read migration entry here (v5.4): write-ness is lost.
    setPte(mm.pt, slot, migrationPteBits(pfn, false, pteSwpSoftDirty(bits)), pfn);
  }
  pageRemoveRmap(machine, pfn, false);
  mmPutPage(machine, pfn);
  return true;
}

/** True while `addr` still lies in `vma` and the vma is in its mm (not split away or unmapped). */
function stillCovers(vma: VmArea, addr: number): boolean {
  return vma.linked && addr >= vma.vmStart && addr < vma.vmEnd;
}

/**
 * Replace the mapping of `pfn` at `addr` in `vma` by a migration entry inside a CLEAR bracket
 * over that page. Non-private ZONE_DEVICE pages are left alone. The kernel's rmap walk holds the
 * anon_vma / i_mmap lock, so the vma cannot be split or unmapped under it; the model's walk has
 * scheduling points, so a candidate whose vma no longer covers `addr` (another mm's munmap or
 * mprotect ran meanwhile) is skipped, before the bracket and again before the PTE is touched.
 * Mirrors mm/rmap.c:try_to_unmap_one() with TTU_MIGRATION (its is_zone_device_page() branch for
 * device-private entries).
 */
export async function tryToUnmapOneMigration(
  machine: Machine,
  vma: VmArea,
  addr: number,
  pfn: number,
): Promise<void> {
  checkUlong('try_to_unmap_one', 'address', addr, 'an address');
  checkMachinePfn('try_to_unmap_one', 'page', machine, pfn);
  if (isZoneDevicePage(machine.phys, pfn) && !isDevicePrivatePage(machine, pfn)) return;
  if (!stillCovers(vma, addr)) return;
  const mm = vma.vmMm;
  const end = Math.min(vma.vmEnd, addr + PAGE_SIZE);
  const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, vma, mm, addr, end);
  await mmuNotifierInvalidateRangeStart(range);
  const slot = stillCovers(vma, addr) ? pteLookup(mm, addr) : -1;
  if (slot >= 0) unmapSlot(machine, vma, slot, pfn);
  await mmuNotifierInvalidateRangeEnd(range);
}

/**
 * Turn every mapping of `pfn` into a migration entry (rmap walk, stopping once it is unmapped).
 * Returns true if the page ended up unmapped. Mirrors mm/rmap.c:try_to_unmap() with
 * TTU_MIGRATION | TTU_IGNORE_MLOCK | TTU_IGNORE_ACCESS.
 */
export async function tryToUnmapMigration(machine: Machine, pfn: number): Promise<boolean> {
  checkMachinePfn('try_to_unmap', 'page', machine, pfn);
  for (const { vma, addr } of rmapCandidates(machine, pfn)) {
    if (!pageMapped(machine.phys, pfn)) break;
    await tryToUnmapOneMigration(machine, vma, addr, pfn);
  }
  return !pageMapped(machine.phys, pfn);
}
