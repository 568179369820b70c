/**
 * Allocating one device page for a migration: first a system page to hold the simulated device
 * memory (the backing page), then a device page from the free list (or from a new chunk), which
 * points at its backing page and is returned referenced and locked, as migrate_vma needs its
 * destination pages (v5.4: MIGRATE_PFN_LOCKED).
 *
 * Mirrors lib/test_hmm.c:dmirror_devmem_alloc_page() (v5.8: get_page() + lock_page()).
 */
import { allocUserPage, mmPutPage } from '@hmmsim/mm';
import { getPage, lockPage } from '@hmmsim/pagetable';
import type { DmirrorDevice } from '../dmirror-device.ts';
import { dmirrorAllocateChunk } from './chunk-alloc.ts';
import { dmirrorPageToChunk, NO_PAGE, setChunkPageData } from './dmirror-chunk.ts';
import { freeListPop } from './free-list.ts';

/**
 * A device page of `mdevice` backed by a fresh system page (refcount 2, locked), or NO_PAGE
 * when either allocation fails (the page is then simply not migrated).
 * Mirrors lib/test_hmm.c:dmirror_devmem_alloc_page().
 */
export function dmirrorDevmemAllocPage(mdevice: DmirrorDevice): number {
  const machine = mdevice.machine;
  const rpage = allocUserPage(machine, 0);
  if (rpage < 0) return NO_PAGE;
  let dpage = freeListPop(mdevice);
  if (dpage === NO_PAGE) {
    const got = dmirrorAllocateChunk(mdevice, true);
    if (got <= 0) {
      mmPutPage(machine, rpage);
      return NO_PAGE;
    }
    dpage = got;
  }
  const chunk = dmirrorPageToChunk(machine, dpage);
  if (chunk !== null) setChunkPageData(chunk, dpage, rpage);
  getPage(machine.phys, dpage);
  lockPage(machine.phys, dpage); // a page off the free list is never contended
  return dpage;
}
