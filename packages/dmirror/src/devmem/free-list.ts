/**
 * The device's LIFO list of free device pages, linked through each free page's
 * `zone_device_data`. Every operation is synchronous (no scheduling point), so in the model it is
 * atomic, as `mdevice->lock` makes it in the kernel.
 *
 * Mirrors the free_pages list of lib/test_hmm.c (dmirror_allocate_chunk(),
 * dmirror_devmem_alloc_page(), dmirror_devmem_free(), dmirror_remove_free_pages()).
 */
import { KernelBugError } from '@hmmsim/kernel';
import type { DmirrorDevice } from '../dmirror-device.ts';
import { chunkPageData, dmirrorPageToChunk, NO_PAGE, setChunkPageData } from './dmirror-chunk.ts';

/** Push a device page on the free list. Mirrors `page->zone_device_data = free_pages; free_pages = page`. */
export function freeListPush(mdevice: DmirrorDevice, pfn: number): void {
  const chunk = dmirrorPageToChunk(mdevice.machine, pfn);
  if (chunk === null || chunk.mdevice !== mdevice) {
    throw new KernelBugError(`${mdevice.name}: free list push of pfn ${pfn}, not one of its pages`);
  }
  setChunkPageData(chunk, pfn, mdevice.freePages);
  mdevice.freePages = pfn;
}

/**
 * Pop the most recently freed device page (counting it in `calloc`), or NO_PAGE when the list
 * is empty. Mirrors `dpage = free_pages; free_pages = dpage->zone_device_data; calloc++`.
 */
export function freeListPop(mdevice: DmirrorDevice): number {
  const pfn = mdevice.freePages;
  if (pfn === NO_PAGE) return NO_PAGE;
  const chunk = dmirrorPageToChunk(mdevice.machine, pfn);
  if (chunk === null) throw new KernelBugError(`${mdevice.name}: free list holds pfn ${pfn}`);
  mdevice.freePages = chunkPageData(chunk, pfn);
  mdevice.calloc++;
  return pfn;
}

/** Number of pages on the free list (walks it). Model helper. */
export function freeListLength(mdevice: DmirrorDevice): number {
  let n = 0;
  for (let pfn = mdevice.freePages; pfn !== NO_PAGE; n++) {
    const chunk = dmirrorPageToChunk(mdevice.machine, pfn);
    if (chunk === null) break;
    pfn = chunkPageData(chunk, pfn);
  }
  return n;
}
