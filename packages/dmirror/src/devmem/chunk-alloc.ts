/**
 * Adding a chunk of device memory to a device: register a 256 MiB MEMORY_DEVICE_PRIVATE pagemap
 * owned by the device, with the driver's page_free and migrate_to_ram callbacks, and push all its
 * pages on the free list.
 *
 * Model: the chunk array's krealloc is the `devmemCapacity` counter; the whole function is
 * synchronous, so it is atomic with respect to the scheduler (as devmem_lock and mdevice->lock
 * make its two halves in the kernel).
 *
 * Mirrors lib/test_hmm.c:dmirror_allocate_chunk().
 */

import { accessReporting, noteWrite } from '@hmmsim/kernel';
import { memremapPages } from '@hmmsim/migrate';
import type { DmirrorDevice } from '../dmirror-device.ts';
import { dmirrorDevmemFault } from './devmem-fault.ts';
import { dmirrorDevmemFree } from './devmem-free.ts';
import { DEVMEM_CHUNKS_RESERVE, DmirrorChunk } from './dmirror-chunk.ts';
import { freeListPop, freeListPushChunk } from './free-list.ts';

/**
 * Add one chunk to `mdevice`. With `takePage`, pop one page of it for the caller (counted in
 * calloc) and return its pfn; otherwise return 0. A negative errno (-ENOMEM from
 * memremap_pages) when the chunk cannot be registered; nothing changes then.
 * Mirrors lib/test_hmm.c:dmirror_allocate_chunk().
 */
export function dmirrorAllocateChunk(mdevice: DmirrorDevice, takePage: boolean): number {
  const machine = mdevice.machine;
  const chunk = new DmirrorChunk(mdevice, {
    pageFree: (pfn) => dmirrorDevmemFree(machine, pfn),
    migrateToRam: (vmf) => dmirrorDevmemFault(vmf),
  });
  const first = memremapPages(machine, chunk);
  if (first < 0) return first;
  if (accessReporting) noteWrite(mdevice);
  if (mdevice.devmemCount === mdevice.devmemCapacity) {
    mdevice.devmemCapacity += DEVMEM_CHUNKS_RESERVE;
  }
  mdevice.devmemChunks.push(chunk);
  mdevice.devmemCount++;
  freeListPushChunk(mdevice, chunk);
  return takePage ? freeListPop(mdevice) : 0;
}
