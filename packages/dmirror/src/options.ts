/**
 * What a dmirror file is built on and the model switches it takes at open.
 *
 * Mirrors: model-only (the kernel driver has one build: the native interval notifier).
 */
import type { HmmVersion } from '@hmmsim/hmm-range';

/**
 * The mirroring implementation a dmirror file is built on: 'interval' (the kernel driver's own
 * design: one mmu_interval_notifier over the whole address space, read_begin/read_retry/set_seq),
 * 'legacy' (the v5.4 hmm_mirror API with its `valid` flag, races R1/R2 included) or 'shim' (the
 * same hmm_mirror calls on the compat shim over mmu_interval_notifier).
 * Mirrors: model-only.
 */
export type DmirrorImpl = 'interval' | 'legacy' | 'shim';

/** Every implementation, in the order the suite runs them. Model helper. */
export const DMIRROR_IMPLS: readonly DmirrorImpl[] = Object.freeze(['interval', 'legacy', 'shim']);

/**
 * What hmm_range_fault() does when a write is requested on a read-only device-private entry of
 * the caller's own device (after fork): 'report' returns it valid without WRITE, so the commit
 * fails with -EFAULT (mm/hmm.c at 4dd845b5: owned device-private entries are never faulted);
 * 'fault' faults it back to system memory and breaks COW (the behaviour the conformance spec's
 * §2.15 describes).
 * Mirrors: model-only switch.
 */
export type OwnReadOnlyWrite = 'report' | 'fault';

/** Options of dmirrorOpen(). Mirrors: model-only. */
export interface DmirrorOpenOptions {
  /** Default 'interval'. */
  readonly impl?: DmirrorImpl;
  /** hmm_range_fault() of @hmmsim/hmm-range underneath. Default '5.5'. */
  readonly hmmVersion?: HmmVersion;
  /** Default 'report' (the verified kernel behaviour). */
  readonly ownReadOnlyWrite?: OwnReadOnlyWrite;
}

/** DmirrorOpenOptions with every default applied. Mirrors: model-only. */
export interface DmirrorConfig {
  readonly impl: DmirrorImpl;
  readonly hmmVersion: HmmVersion;
  readonly ownReadOnlyWrite: OwnReadOnlyWrite;
}

/** Apply the defaults. Model helper. */
export function dmirrorConfig(opts: DmirrorOpenOptions = {}): DmirrorConfig {
  return {
    impl: opts.impl ?? 'interval',
    hmmVersion: opts.hmmVersion ?? '5.5',
    ownReadOnlyWrite: opts.ownReadOnlyWrite ?? 'report',
  };
}
