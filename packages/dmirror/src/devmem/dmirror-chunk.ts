/**
 * One chunk of simulated device memory: a 256 MiB MEMORY_DEVICE_PRIVATE dev_pagemap owned by a
 * dmirror device, plus the per-page `zone_device_data` the driver keeps in it (the free-list link
 * while a page is free, the backing system page while it is allocated).
 *
 * Mirrors lib/test_hmm.c: struct dmirror_chunk, DEVMEM_CHUNK_SIZE, dmirror_page_to_chunk(),
 * dmirror_page_to_device(), BACKING_PAGE().
 */
import {
  accessReporting,
  checkIntIn,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import {
  DevPagemap,
  type DevPagemapOps,
  getDevPagemap,
  MEMORY_DEVICE_PRIVATE,
} from '@hmmsim/migrate';
import type { Machine } from '@hmmsim/mm';
import type { DmirrorDevice } from '../dmirror-device.ts';

/** Bytes of device memory per chunk (256 MiB). Mirrors lib/test_hmm.c:DEVMEM_CHUNK_SIZE. */
export const DEVMEM_CHUNK_SIZE = 256 * 2 ** 20;
/** Pages per chunk (65,536 at 4 KiB). Model helper (DEVMEM_CHUNK_SIZE >> PAGE_SHIFT). */
export const DEVMEM_CHUNK_PAGES = DEVMEM_CHUNK_SIZE / PAGE_SIZE;
/** Slots the chunk array grows by. Mirrors lib/test_hmm.c:DEVMEM_CHUNKS_RESERVE. */
export const DEVMEM_CHUNKS_RESERVE = 16;
/** The NULL of a free-list link. Model helper. */
export const NO_PAGE = -1;
/**
 * The element of a chunk that stands for its `remove` flag in access reports (page offsets
 * 0..DEVMEM_CHUNK_PAGES - 1 are the pages). Mirrors: model-only.
 */
export const CHUNK_REMOVE_ELEMENT = DEVMEM_CHUNK_PAGES;

/**
 * A chunk: the dev_pagemap itself (so `page->pgmap` leads back to it, as container_of does),
 * owned by its device (`pagemap.owner = mdevice`, what hmm_range_fault() and migrate_vma_setup()
 * compare with the caller's owner), and whether it is being removed. Access reports are made on
 * the chunk, one element per page offset (its `zone_device_data` and `onFreeList` entry), element
 * CHUNK_REMOVE_ELEMENT for `remove`.
 * Mirrors lib/test_hmm.c:struct dmirror_chunk (and the pagemap setup of dmirror_allocate_chunk()).
 */
export class DmirrorChunk extends DevPagemap {
  /** Set while the chunk's pages are being evicted: freed pages do not return to the list. */
  remove = false;
  /** 1 for each page on its device's free list (a model guard against double frees). */
  readonly onFreeList = new Uint8Array(DEVMEM_CHUNK_PAGES);

  constructor(
    readonly mdevice: DmirrorDevice,
    ops: DevPagemapOps,
  ) {
    super(MEMORY_DEVICE_PRIVATE, DEVMEM_CHUNK_PAGES, ops, mdevice);
  }

  /** First pfn of the chunk (after registration). */
  get firstPfn(): number {
    if (this.res === null) throw new KernelBugError('dmirror chunk: not registered');
    return this.res.start;
  }
}

/**
 * The chunk a device page belongs to, or null for any other page (RAM, another driver's
 * device memory) and for NO_PAGE; a pfn that is not an unsigned long throws InvalidArgumentError.
 * Mirrors lib/test_hmm.c:dmirror_page_to_chunk() (container_of on page->pgmap).
 */
export function dmirrorPageToChunk(machine: Machine, pfn: number): DmirrorChunk | null {
  if (pfn === NO_PAGE) return null;
  const pgmap = getDevPagemap(machine, pfn);
  return pgmap instanceof DmirrorChunk ? pgmap : null;
}

/**
 * The dmirror device a device page belongs to, or null.
 * Mirrors lib/test_hmm.c:dmirror_page_to_device().
 */
export function dmirrorPageToDevice(machine: Machine, pfn: number): DmirrorDevice | null {
  return dmirrorPageToChunk(machine, pfn)?.mdevice ?? null;
}

/** InvalidArgumentError unless `pfn` is a page of `chunk`. */
function checkChunkPfn(fn: string, chunk: DmirrorChunk, pfn: number): void {
  const first = chunk.firstPfn;
  checkIntIn(fn, 'pfn', pfn, first, first + chunk.nrPages - 1, `a page of chunk ${chunk.id}`);
}

/**
 * `page->zone_device_data` of a page of `chunk` (a pfn, or NO_PAGE); a pfn outside the chunk
 * throws InvalidArgumentError. Mirrors the field read.
 */
export function chunkPageData(chunk: DmirrorChunk, pfn: number): number {
  checkChunkPfn('chunkPageData', chunk, pfn);
  if (accessReporting) noteRead(chunk, pfn - chunk.firstPfn);
  const v = chunk.zoneDeviceData[pfn - chunk.firstPfn];
  return typeof v === 'number' ? v : NO_PAGE;
}

/**
 * Set `page->zone_device_data` of a page of `chunk` (a pfn or NO_PAGE); a pfn outside the chunk
 * or a value that is neither throws InvalidArgumentError. Mirrors the field write.
 */
export function setChunkPageData(chunk: DmirrorChunk, pfn: number, value: number): void {
  checkChunkPfn('setChunkPageData', chunk, pfn);
  if (value !== NO_PAGE) {
    checkIntIn('setChunkPageData', 'value', value, 0, Number.MAX_SAFE_INTEGER, 'a pfn or NO_PAGE');
  }
  if (accessReporting) noteWrite(chunk, pfn - chunk.firstPfn);
  chunk.zoneDeviceData[pfn - chunk.firstPfn] = value;
}

/**
 * The system page that stores the data of an allocated device page of a private device.
 * KernelBugError for a page that is not one of a dmirror chunk's. Mirrors lib/test_hmm.c:BACKING_PAGE().
 */
export function backingPage(machine: Machine, dpage: number): number {
  const chunk = dmirrorPageToChunk(machine, dpage);
  if (chunk === null) {
    throw new KernelBugError(
      `dmirror: BACKING_PAGE(pfn ${dpage}) of a page that is not a dmirror device page`,
    );
  }
  return chunkPageData(chunk, dpage);
}
