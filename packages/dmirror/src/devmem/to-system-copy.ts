/**
 * Allocate and copy for a migration from this device back to system memory: for every selected
 * slot holding one of this device's pages, a fresh locked system page receives the backing
 * page's data, the mirror's table entry for that address is erased, and the destination keeps
 * WRITE if the source had it. Empty slots get no destination (nothing to bring back). The core
 * collected only this device's pages (MIGRATE_VMA_SELECT_DEVICE_PRIVATE with pgmap_owner = the
 * device, migrate-args.ts); any other page here is a model bug.
 *
 * Mirrors lib/test_hmm.c:dmirror_devmem_fault_alloc_and_copy().
 */
import { accessReporting, KernelBugError, noteWrite, PAGE_SIZE } from '@hmmsim/kernel';
import {
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  type MigrateVma,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
} from '@hmmsim/migrate';
import { allocUserPage } from '@hmmsim/mm';
import { copyPage, lockPage } from '@hmmsim/pagetable';
import type { Dmirror } from '../dmirror.ts';
import type { DmirrorDevice } from '../dmirror-device.ts';
import { chunkPageData, dmirrorPageToChunk } from './dmirror-chunk.ts';

/**
 * Fill `args.dst` for the slots of `args.src` that hold a page of `mdevice`; erase the entries
 * of `dmirror` (when given) for those addresses. Returns the number of destinations set.
 * Mirrors lib/test_hmm.c:dmirror_devmem_fault_alloc_and_copy().
 */
export function devmemToSystemCopy(
  args: MigrateVma,
  mdevice: DmirrorDevice,
  dmirror: Dmirror | null,
): number {
  const machine = mdevice.machine;
  const src = args.src as Float64Array;
  const dst = args.dst as Float64Array;
  let n = 0;
  for (let i = 0; i < args.npages; i++) {
    const s = src[i] as number;
    const spage = migratePfnToPage(s);
    if (spage < 0 || !migratePfnHas(s, MIGRATE_PFN_MIGRATE)) continue;
    const chunk = dmirrorPageToChunk(machine, spage);
    if (chunk === null || chunk.mdevice !== mdevice) {
      throw new KernelBugError(
        `dmirror: migrate_vma_setup collected pfn ${spage}, not a page of ${mdevice.name}; ` +
          'expected MIGRATE_VMA_SELECT_DEVICE_PRIVATE with pgmap_owner to select only its pages',
      );
    }
    const dpage = allocUserPage(machine, 0);
    if (dpage < 0) continue;
    lockPage(machine.phys, dpage); // a fresh page is never contended
    dmirror?.pt.erase((args.start + i * PAGE_SIZE) / PAGE_SIZE);
    copyPage(machine.phys, dpage, chunkPageData(chunk, spage));
    const write = migratePfnHas(s, MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0;
    // Another migration's destination check reads this array while it is in flight.
    if (accessReporting) noteWrite(dst, i);
    dst[i] = migratePfn(dpage) + MIGRATE_PFN_LOCKED + write;
    n++;
  }
  return n;
}
