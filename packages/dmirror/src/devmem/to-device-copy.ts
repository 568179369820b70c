/**
 * Allocate and copy for a migration to this device: every selected slot that is not already a
 * device page gets a device page whose backing page receives the data (or zeros, for a pte_none
 * or zero-page slot); the backing page remembers the mirror; the destination is writable if the
 * source was, or if there was no source page and the VMA is writable.
 *
 * Mirrors lib/test_hmm.c:dmirror_migrate_alloc_and_copy() (v5.8 locking: MIGRATE_PFN_LOCKED).
 */
import { accessReporting, mutexLock, mutexUnlock, noteWrite, PAGE_SIZE } from '@hmmsim/kernel';
import {
  getDevPagemap,
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  type MigrateVma,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
} from '@hmmsim/migrate';
import { VM_WRITE, type VmArea } from '@hmmsim/mm';
import { clearPage, copyPage } from '@hmmsim/pagetable';
import { DPT_XA_TAG_READ, DPT_XA_TAG_WRITE } from '../device-page-table.ts';
import type { Dmirror } from '../dmirror.ts';
import { dmirrorDevmemAllocPage } from './devmem-alloc.ts';
import { chunkPageData, dmirrorPageToChunk, NO_PAGE } from './dmirror-chunk.ts';

/** MIGRATE_PFN_WRITE if the destination may be mapped writable. */
function writeFlag(src: number, spage: number, vma: VmArea | null): number {
  const fromSrc = migratePfnHas(src, MIGRATE_PFN_WRITE);
  const emptyWritable = spage < 0 && vma !== null && (vma.vmFlags & VM_WRITE) !== 0;
  return fromSrc || emptyWritable ? MIGRATE_PFN_WRITE : 0;
}

/**
 * Fill `args.dst` with locked device pages for the selected system slots; returns how many.
 * Mirrors lib/test_hmm.c:dmirror_migrate_alloc_and_copy().
 */
export function devmemToDeviceCopy(args: MigrateVma, dmirror: Dmirror): number {
  const mdevice = dmirror.mdevice;
  const machine = mdevice.machine;
  const src = args.src as Float64Array;
  const dst = args.dst as Float64Array;
  let n = 0;
  for (let i = 0; i < args.npages; i++) {
    const s = src[i] as number;
    if (!migratePfnHas(s, MIGRATE_PFN_MIGRATE)) continue;
    const spage = migratePfnToPage(s);
    // MIGRATE_VMA_SELECT_SYSTEM never collects a device page; the kernel WARNs and skips one.
    if (spage >= 0 && getDevPagemap(machine, spage) !== null) continue;
    const dpage = dmirrorDevmemAllocPage(mdevice);
    if (dpage === NO_PAGE) continue;
    const chunk = dmirrorPageToChunk(machine, dpage);
    if (chunk === null) continue;
    const rpage = chunkPageData(chunk, dpage);
    if (spage >= 0) copyPage(machine.phys, rpage, spage);
    else clearPage(machine.phys, rpage);
    if (accessReporting) noteWrite(mdevice.backingMirror, rpage);
    mdevice.backingMirror.set(rpage, dmirror);
    // Another migration's destination check reads this array while it is in flight.
    if (accessReporting) noteWrite(dst, i);
    dst[i] = migratePfn(dpage) + MIGRATE_PFN_LOCKED + writeFlag(s, spage, args.vma);
    n++;
  }
  return n;
}

/**
 * Map the migrated pages into the device table (their backing pages; WRITE if the destination
 * is writable), under the mirror mutex. Mirrors lib/test_hmm.c:dmirror_migrate_finalize_and_map().
 */
export async function devmemFinalizeAndMap(args: MigrateVma, dmirror: Dmirror): Promise<void> {
  const machine = dmirror.mdevice.machine;
  const src = args.src as Float64Array;
  const dst = args.dst as Float64Array;
  const first = args.start / PAGE_SIZE;
  await mutexLock(dmirror.mutex);
  for (let i = 0; i < args.npages; i++) {
    if (!migratePfnHas(src[i] as number, MIGRATE_PFN_MIGRATE)) continue;
    const d = dst[i] as number;
    const dpage = migratePfnToPage(d);
    const chunk = dpage < 0 ? null : dmirrorPageToChunk(machine, dpage);
    if (chunk === null) continue;
    const tag = migratePfnHas(d, MIGRATE_PFN_WRITE) ? DPT_XA_TAG_WRITE : DPT_XA_TAG_READ;
    dmirror.pt.store(first + i, chunkPageData(chunk, dpage), tag);
  }
  mutexUnlock(dmirror.mutex);
}
