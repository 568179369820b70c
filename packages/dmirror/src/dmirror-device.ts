/**
 * A dmirror device (`/dev/hmm_dmirror<minor>`): its device-private memory (chunks, the LIFO free
 * list of device pages and the calloc/cfree counters) and the back pointers from backing pages to
 * the mirror that migrated them. The device object itself is the `owner` of its dev_pagemaps,
 * the `dev_private_owner` of its hmm ranges and the `pgmap_owner` of its migrations.
 *
 * Mirrors lib/test_hmm.c:struct dmirror_device.
 */
import type { Machine } from '@hmmsim/mm';
import type { DmirrorChunk } from './devmem/dmirror-chunk.ts';
import { NO_PAGE } from './devmem/dmirror-chunk.ts';
import type { Dmirror } from './dmirror.ts';
import { HMM_DMIRROR_MEMORY_DEVICE_PRIVATE } from './uapi.ts';

/**
 * Per-device state. Fields are written only by this package. Access reports: the chunk array,
 * the free-list head and the counters on the device object (whole), `backingMirror` on the map,
 * one element per backing pfn.
 * Mirrors lib/test_hmm.c:struct dmirror_device.
 */
export class DmirrorDevice {
  /** HMM_DMIRROR_MEMORY_DEVICE_PRIVATE (the only type built). */
  readonly zoneDeviceType = HMM_DMIRROR_MEMORY_DEVICE_PRIVATE;
  /** Slots of `devmemChunks` (grows by DEVMEM_CHUNKS_RESERVE). */
  devmemCapacity = 0;
  /** Chunks registered. */
  devmemCount = 0;
  readonly devmemChunks: DmirrorChunk[] = [];
  /** Device pages handed out (internal, never reaches userspace). */
  calloc = 0;
  /** Device pages returned by page_free. */
  cfree = 0;
  /** Head of the free list (a device pfn), NO_PAGE when empty. */
  freePages = NO_PAGE;
  /** `rpage->zone_device_data`: the mirror that migrated the data held by a backing page. */
  readonly backingMirror = new Map<number, Dmirror>();

  constructor(
    readonly machine: Machine,
    readonly minor: number,
  ) {}

  /** '/dev/hmm_dmirror0'. Model helper. */
  get name(): string {
    return `hmm_dmirror${this.minor}`;
  }
}
