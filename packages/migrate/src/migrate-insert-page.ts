/**
 * Populating an empty slot (hole, pte_none or the zero page) with the driver's new page during
 * migrate_vma_pages(). Mirrors mm/migrate.c:migrate_vma_insert_page() (v5.4).
 */
import { checkUlong, PAGE_SIZE } from '@hmmsim/kernel';
import {
  addMmCounter,
  anonVmaPrepare,
  type Machine,
  MM_ANONPAGES,
  mmuNotifierChangePte,
  mmuNotifierInvalidateRange,
  pageAddNewAnonRmap,
  VM_WRITE,
  type VmArea,
  vmaIsAnonymous,
} from '@hmmsim/mm';
import {
  entryIsTable,
  getPage,
  makeDevicePrivateEntry,
  PG_active,
  PG_lru,
  PG_uptodate,
  pmdAlloc,
  pmdDevmap,
  pmdTransHuge,
  pteAlloc,
  pteClear,
  pteMkdirty,
  pteMkwrite,
  pteNone,
  ptePresent,
  setPte,
  swpEntryToPteBits,
} from '@hmmsim/pagetable';
import { isDevicePrivatePage } from './device-private.ts';
import { checkMachinePfn } from './pfn-check.ts';
import { pgFlags, pgPgmap, pgSetFlags, ptBits, ptVal } from './shared-access.ts';

/** The PTE words mapping the new page: a device-private entry or a normal PTE. */
function newEntry(machine: Machine, vma: VmArea, page: number): { bits: number; val: number } {
  const writable = (vma.vmFlags & VM_WRITE) !== 0;
  if (isDevicePrivatePage(machine, page)) {
    return { bits: swpEntryToPteBits(makeDevicePrivateEntry(page, writable)), val: page };
  }
  const bits = writable ? pteMkwrite(pteMkdirty(vma.vmPageProt)) : vma.vmPageProt;
  return { bits, val: page };
}

/** The PTE slot for `addr`, allocating tables; -1 when the PMD is huge/devmap or allocation fails. */
function pteSlotFor(vma: VmArea, addr: number): number {
  const pt = vma.vmMm.pt;
  const pmd = pmdAlloc(pt, addr);
  if (pmd < 0) return -1;
  const pb = ptBits(pt, pmd);
  if (pmdTransHuge(pb) || pmdDevmap(pb)) return -1;
  if (pb !== 0 && !entryIsTable(pb)) return -1; // pmd_trans_unstable
  return pteAlloc(pt, addr);
}

/**
 * Map `page` (locked, referenced by the driver) at the empty slot `addr` of an anonymous vma:
 * device-private entry (writable iff VM_WRITE) or a PTE (writable and dirty iff VM_WRITE); a
 * present zero page is replaced (secondary TLB flush + change_pte); anything else already there,
 * a huge PMD, a file-backed vma or a page-table allocation failure refuses. On success: anon rmap,
 * MM_ANONPAGES + 1, LRU for system pages, one more reference; returns true.
 * Mirrors mm/migrate.c:migrate_vma_insert_page() (userfaultfd and memcg are not modelled).
 */
export function migrateVmaInsertPage(
  machine: Machine,
  vma: VmArea,
  addr: number,
  page: number,
): boolean {
  checkUlong('migrate_vma_insert_page', 'addr', addr, 'an address');
  checkMachinePfn('migrate_vma_insert_page', 'page', machine, page);
  if (!vmaIsAnonymous(vma)) return false;
  const pm = machine.phys;
  // Other ZONE_DEVICE types: v5.4 would build the entry from an uninitialised value; refuse.
  const device = pgPgmap(pm, page) !== 0;
  if (device && !isDevicePrivatePage(machine, page)) return false;
  const slot = pteSlotFor(vma, addr);
  if (slot < 0) return false;
  anonVmaPrepare(vma);
  const mm = vma.vmMm;
  pgSetFlags(pm, page, pgFlags(pm, page) | PG_uptodate);
  const { bits, val } = newEntry(machine, vma, page);
  const cur = ptBits(mm.pt, slot);
  const flush = ptePresent(cur);
  if (flush ? ptVal(mm.pt, slot) !== pm.zeroPfn : !pteNone(cur)) return false;
  addMmCounter(mm, MM_ANONPAGES, 1);
  pageAddNewAnonRmap(machine, page, vma, addr, false);
  if (!device) pgSetFlags(pm, page, pgFlags(pm, page) | PG_lru | PG_active);
  getPage(pm, page);
  if (flush) {
    pteClear(mm.pt, slot);
    mmuNotifierInvalidateRange(mm, addr, addr + PAGE_SIZE);
    setPte(mm.pt, slot, bits, val);
    mmuNotifierChangePte(mm, addr, bits, val);
  } else {
    setPte(mm.pt, slot, bits, val);
  }
  return true;
}
