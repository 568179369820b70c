/**
 * The per-open mirror object: the device, the mirrored mm (the opener's, for the file's whole
 * life), the device page table, the mutex that orders device accesses against invalidations, the
 * flags word, and the binding to the mirroring implementation chosen at open.
 *
 * Mirrors lib/test_hmm.c:struct dmirror.
 */
import { Mutex } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import type { MirrorBinding } from './binding/mirror-binding.ts';
import { DmirrorPageTable } from './device-page-table.ts';
import type { DmirrorDevice } from './dmirror-device.ts';
import type { DmirrorConfig } from './options.ts';

/**
 * Counters of one mirror, for tests and reports (never part of the ABI).
 * Mirrors: model-only.
 */
export interface DmirrorStats {
  /** Invalidations that erased table entries. */
  invalidations: number;
  /** Invalidations ignored as this device's own migrations (MMU_NOTIFY_MIGRATE, owner = the device). */
  ownMigrationsIgnored: number;
  /** Non-blockable invalidations refused because the mutex was taken. */
  invalidationsRefused: number;
  /** Pages the device copied through an entry the CPU no longer maps there (a stale entry). */
  staleCopies: number;
  /** The last stale copy, described ('' when none). */
  lastStale: string;
}

/**
 * A mirror. `binding` is set by dmirrorOpen() right after construction.
 *
 * Access reports (for the explorer's partial-order reduction): `flags`, `binding` and `released`
 * on the mirror object, the counters on the `stats` object, each as a whole; the table per page
 * (DmirrorPageTable); the mutex reports itself.
 * Mirrors lib/test_hmm.c:struct dmirror.
 */
export class Dmirror {
  readonly pt = new DmirrorPageTable();
  readonly mutex: Mutex;
  /** The per-file flags word (HMM_DMIRROR_FLAGS). */
  flags = 0;
  binding: MirrorBinding | null = null;
  /** True once the file was released (the table is destroyed). */
  released = false;
  readonly stats: DmirrorStats = {
    invalidations: 0,
    ownMigrationsIgnored: 0,
    invalidationsRefused: 0,
    staleCopies: 0,
    lastStale: '',
  };

  constructor(
    readonly mdevice: DmirrorDevice,
    readonly mm: MmStruct,
    readonly config: DmirrorConfig,
  ) {
    this.mutex = new Mutex(mdevice.machine.sched, `${mdevice.name}.mutex`);
  }
}
