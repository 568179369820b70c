/**
 * The page_free callback: a device page became idle (its refcount returned to 1). Release its
 * backing system page and, unless its chunk is being removed, put it back on the free list.
 *
 * Mirrors lib/test_hmm.c:dmirror_devmem_free().
 */
import { accessReporting, KernelBugError, noteRead, noteWrite } from '@hmmsim/kernel';
import { type Machine, mmPutPage } from '@hmmsim/mm';
import {
  CHUNK_REMOVE_ELEMENT,
  chunkPageData,
  dmirrorPageToChunk,
  NO_PAGE,
  setChunkPageData,
} from './dmirror-chunk.ts';
import { freeListPush } from './free-list.ts';

/**
 * dev_pagemap_ops.page_free for a dmirror device page. KernelBugError for a page of no dmirror
 * chunk and for a page already free (double free), before anything changes. Mirrors lib/test_hmm.c:dmirror_devmem_free().
 */
export function dmirrorDevmemFree(machine: Machine, pfn: number): void {
  const chunk = dmirrorPageToChunk(machine, pfn);
  if (chunk === null) {
    throw new KernelBugError(`dmirror page_free: pfn ${pfn} is not a dmirror device page`);
  }
  if (accessReporting) noteRead(chunk, pfn - chunk.firstPfn);
  if (chunk.onFreeList[pfn - chunk.firstPfn] === 1) {
    throw new KernelBugError(
      `dmirror page_free: device pfn ${pfn} is already on the free list (double free); nothing was changed`,
    );
  }
  const mdevice = chunk.mdevice;
  const rpage = chunkPageData(chunk, pfn);
  if (rpage !== NO_PAGE) {
    if (accessReporting) noteWrite(mdevice.backingMirror, rpage);
    mdevice.backingMirror.delete(rpage);
    setChunkPageData(chunk, pfn, NO_PAGE);
    mmPutPage(machine, rpage);
  }
  if (accessReporting) noteRead(chunk, CHUNK_REMOVE_ELEMENT);
  if (chunk.remove) return;
  if (accessReporting) noteWrite(mdevice);
  mdevice.cfree++;
  freeListPush(mdevice, pfn);
}
