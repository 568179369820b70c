/**
 * What the dmirror needs from a mirroring implementation, so that one device runs on the native
 * interval notifier, the legacy hmm_mirror API or the compat shim: a subscription to every
 * invalidation of the mm for the file's life (bind/unbind), and one range pass at a time — a
 * fault pass or a snapshot chunk — with its own collision tracking: begin a read section, call
 * hmm_range_fault() once, check the section under the mirror mutex, end it. Whatever the binding,
 * a pass hands its results over in the v5.8+ `hmm_pfns` layout (HMM_PFN_VALID / WRITE / ERROR,
 * the map order), which is what lib/test_hmm.c commits from.
 *
 * Mirrors: model-only (the seam between lib/test_hmm.c and mm/mmu_notifier.c + mm/hmm.c, or the
 * v5.4 mm/hmm.c hmm_mirror API).
 */
import type { DmirrorImpl } from '../options.ts';

/**
 * One range being faulted or snapshotted. Mirrors: model-only (a struct hmm_range with
 * read_begin/read_retry on a notifier, or hmm_range_register/wait_until_valid/valid/unregister).
 */
export interface DmirrorRangePass {
  /** First address, inclusive, page aligned. */
  readonly start: number;
  /** Last address, exclusive, page aligned. */
  readonly end: number;
  /**
   * One entry per page in the v5.8+ layout (`@hmmsim/hmm-range/v5.9`: pfn * 256 + flag byte).
   * Meaningful after fault() returned 0, read under the mirror mutex once retry() is false.
   */
  readonly hmmPfns: Float64Array;
  /** Start a read section; false when it could not start in time (-EBUSY). */
  begin(): Promise<boolean>;
  /**
   * hmm_range_fault() over the range, once, with mmap_sem held for read by the caller: 0 or a
   * negative errno (-EBUSY: begin a new section and call again).
   */
  fault(): Promise<number>;
  /** True if an invalidation hit the range since begin(); call with the mirror mutex held. */
  retry(): boolean;
  /** Stop tracking (always called once). */
  finish(): Promise<void>;
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
  /** A fault pass over `[start, end)` (fault every page in; writable for `write`), or an errno. */
  rangeFault(start: number, end: number, write: boolean): Promise<DmirrorRangePass | number>;
  /** A snapshot of `[start, end)` (nothing faulted; its own temporary subscription), or an errno. */
  rangeSnapshot(start: number, end: number): Promise<DmirrorRangePass | number>;
}
