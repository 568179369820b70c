/**
 * The device's LIFO list of free device pages, linked through each free page's
 * `zone_device_data`. Every operation is synchronous (no scheduling point), so in the model it is
 * atomic, as `mdevice->lock` makes it in the kernel.
 *
 * Access reports: the list head and the calloc/cfree counters on the device object (whole), each
 * page's link and `onFreeList` mark on its chunk (element = page offset).
 *
 * Mirrors the free_pages list of lib/test_hmm.c (dmirror_allocate_chunk(),
 * dmirror_devmem_alloc_page(), dmirror_devmem_free(), dmirror_remove_free_pages()).
 */
import { accessReporting, KernelBugError, noteRead, noteWrite } from '@hmmsim/kernel';
import type { DmirrorDevice } from '../dmirror-device.ts';
import {
  chunkPageData,
  type DmirrorChunk,
  dmirrorPageToChunk,
  NO_PAGE,
  setChunkPageData,
} from './dmirror-chunk.ts';

/**
 * Push a device page on the free list; a page of another device, or one already on the list
 * (a double free, which would make the list a cycle), throws KernelBugError before anything
 * changes. Mirrors `page->zone_device_data = free_pages; free_pages = page`. */
export function freeListPush(mdevice: DmirrorDevice, pfn: number): void {
  const chunk = dmirrorPageToChunk(mdevice.machine, pfn);
  if (chunk === null || chunk.mdevice !== mdevice) {
    throw new KernelBugError(`${mdevice.name}: free list push of pfn ${pfn}, not one of its pages`);
  }
  const off = pfn - chunk.firstPfn;
  if (accessReporting) noteWrite(chunk, off);
  if (chunk.onFreeList[off] === 1) {
    throw new KernelBugError(
      `${mdevice.name}: free list push of pfn ${pfn}, already on the list (double free); expected a page that was allocated`,
    );
  }
  chunk.onFreeList[off] = 1;
  if (accessReporting) noteWrite(mdevice);
  setChunkPageData(chunk, pfn, mdevice.freePages);
  mdevice.freePages = pfn;
}

/**
 * Push every page of a freshly registered chunk of `mdevice` (none of them on the list yet), in
 * pfn order, as freeListPush() one by one would. KernelBugError for a chunk of another device or
 * one whose pages are already listed. Mirrors the free-list loop of dmirror_allocate_chunk().
 */
export function freeListPushChunk(mdevice: DmirrorDevice, chunk: DmirrorChunk): void {
  if (accessReporting) noteWrite(chunk);
  if (accessReporting) noteWrite(mdevice);
  if (chunk.mdevice !== mdevice || chunk.onFreeList.includes(1)) {
    throw new KernelBugError(
      `${mdevice.name}: free list push of chunk ${chunk.id}, not a fresh chunk of this device`,
    );
  }
  const first = chunk.firstPfn;
  const data = chunk.zoneDeviceData;
  let head = mdevice.freePages;
  for (let off = 0; off < chunk.nrPages; off++) {
    data[off] = head;
    head = first + off;
  }
  chunk.onFreeList.fill(1);
  mdevice.freePages = head;
}

/**
 * Pop the most recently freed device page (counting it in `calloc`), or NO_PAGE when the list
 * is empty. Mirrors `dpage = free_pages; free_pages = dpage->zone_device_data; calloc++`.
 */
export function freeListPop(mdevice: DmirrorDevice): number {
  if (accessReporting) noteWrite(mdevice);
  const pfn = mdevice.freePages;
  if (pfn === NO_PAGE) return NO_PAGE;
  const chunk = dmirrorPageToChunk(mdevice.machine, pfn);
  if (chunk === null) throw new KernelBugError(`${mdevice.name}: free list holds pfn ${pfn}`);
  if (accessReporting) noteWrite(chunk, pfn - chunk.firstPfn);
  chunk.onFreeList[pfn - chunk.firstPfn] = 0;
  mdevice.freePages = chunkPageData(chunk, pfn);
  mdevice.calloc++;
  return pfn;
}

/** Number of pages on the free list (walks it, at most every device page once). Model helper. */
export function freeListLength(mdevice: DmirrorDevice): number {
  if (accessReporting) noteRead(mdevice);
  let n = 0;
  let limit = 0;
  for (const c of mdevice.devmemChunks) limit += c.nrPages;
  for (let pfn = mdevice.freePages; pfn !== NO_PAGE && n <= limit; n++) {
    const chunk = dmirrorPageToChunk(mdevice.machine, pfn);
    if (chunk === null) break;
    pfn = chunkPageData(chunk, pfn);
  }
  return n;
}
