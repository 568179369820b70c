/**
 * What the dmirror needs from a mirroring implementation, so that one device runs on the native
 * interval notifier, the legacy hmm_mirror API or the compat shim: a subscription to every
 * invalidation of the mm for the file's life (bind/unbind), and collision tracking for one
 * range while it is faulted or snapshotted — begin a read section, check it under the mirror
 * mutex, end it.
 *
 * Mirrors: model-only (the seam between lib/test_hmm.c and mm/mmu_notifier.c or the v5.4
 * mm/hmm.c hmm_mirror API).
 */
import type { HmmRange } from '@hmmsim/hmm-range';
import type { DmirrorImpl } from '../options.ts';

/**
 * Collision tracking for one range. Mirrors: model-only (read_begin/read_retry on a notifier, or
 * hmm_range_register/wait_until_valid/valid/unregister).
 */
export interface CollisionTracker {
  /** Start a read section; false when it could not start in time (-EBUSY). */
  begin(): Promise<boolean>;
  /** True if an invalidation hit the range since begin(); call with the mirror mutex held. */
  retry(): boolean;
  /** Stop tracking (always called once). */
  end(): Promise<void>;
}

/**
 * One implementation bound to one mirror. Mirrors: model-only.
 */
export interface MirrorBinding {
  readonly impl: DmirrorImpl;
  /** Subscribe the mirror to its mm: 0 or a negative errno. */
  bind(): Promise<number>;
  /** Unsubscribe (may sleep until a running invalidation ends). */
  unbind(): Promise<void>;
  /** Track a fault pass over `range` (whose notifier this may set): a tracker or a negative errno. */
  trackFault(range: HmmRange): Promise<CollisionTracker | number>;
  /** Track a snapshot of `range` (a temporary subscription): a tracker or a negative errno. */
  trackSnapshot(range: HmmRange): Promise<CollisionTracker | number>;
}
