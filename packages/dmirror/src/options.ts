/**
 * What a dmirror file is built on and the model switches it takes at open, checked per binding:
 * the native build calls the v5.8+ hmm_range_fault(), the hmm_mirror builds the v5.4-style call
 * with driver tables, and each accepts only the generations it can be written against.
 *
 * Mirrors: model-only (the kernel driver has one build: the native interval notifier).
 */
import type { HmmFlagsVersion } from '@hmmsim/hmm-range';
import { InvalidArgumentError } from '@hmmsim/kernel';

/**
 * The mirroring implementation a dmirror file is built on: 'interval' (the kernel driver's own
 * design: one mmu_interval_notifier over the whole address space, read_begin/read_retry/set_seq,
 * the v5.8+ hmm_range_fault()), 'legacy' (the v5.4 hmm_mirror API with its `valid` flag, races
 * R1/R2 included) or 'shim' (the same hmm_mirror calls on the compat shim over
 * mmu_interval_notifier).
 * Mirrors: model-only.
 */
export type DmirrorImpl = 'interval' | 'legacy' | 'shim';

/** Every implementation, in the order the suite runs them. Model helper. */
export const DMIRROR_IMPLS: readonly DmirrorImpl[] = Object.freeze(['interval', 'legacy', 'shim']);

/**
 * hmm_range_fault() generations the native build can be written against: '5.8' (the kernel that
 * introduced lib/test_hmm.c: hmm_pfns, 0 / -errno, dev_private_owner; no map order, so SNAPSHOT
 * never reports PMD) and '5.9' (adds hmm_pfn_to_map_order()). Mirrors: model-only switch.
 */
export type DmirrorIntervalHmmVersion = '5.8' | '5.9';

/** The generations of the native build. Model helper. */
export const DMIRROR_INTERVAL_HMM_VERSIONS: readonly DmirrorIntervalHmmVersion[] = Object.freeze([
  '5.8',
  '5.9',
]);

/** The generations of the hmm_mirror builds (`hmmRangeFault(range, flags)`). Model helper. */
export const DMIRROR_HMM_MIRROR_HMM_VERSIONS: readonly HmmFlagsVersion[] = Object.freeze([
  '5.4',
  'seed',
  '5.5',
]);

/** Any `hmmVersion` a dmirror file may be opened with (which one depends on the binding). */
export type DmirrorHmmVersion = DmirrorIntervalHmmVersion | HmmFlagsVersion;

/**
 * What a fault pass does with a read-only device-private page of the caller's own device when a
 * write is requested (after fork): 'report' returns it valid without WRITE, so the commit fails
 * with -EFAULT (mm/hmm.c: owned device-private entries are never faulted — the only behaviour of
 * the native build); 'fault' faults it back to system memory and breaks COW (a
 * model-only variant, which only the hmm_mirror builds' emulation of the owner check can give).
 * Mirrors: model-only switch.
 */
export type OwnReadOnlyWrite = 'report' | 'fault';

/**
 * What a fault pass does with another device's private page: 'migrate' faults it back through
 * its owner's migrate_to_ram (v5.19+, 8a295dbbaf72 "mm/hmm: fault non-owner device private
 * entries"; the kernels of the selftests this package ports); 'efault' fails the pass with
 * -EFAULT (v5.7–v5.18: hmm-range quirk Q13). Mirrors: model-only switch.
 */
export type ForeignPrivateFault = 'migrate' | 'efault';

/** Options of dmirrorOpen(). Mirrors: model-only. */
export interface DmirrorOpenOptions {
  /** Default 'interval'. */
  readonly impl?: DmirrorImpl;
  /**
   * The hmm_range_fault() generation underneath: interval '5.8' | '5.9' (default '5.9');
   * legacy/shim '5.4' | 'seed' | '5.5' (default '5.5'). Another value: DmirrorConfigError.
   */
  readonly hmmVersion?: DmirrorHmmVersion;
  /** Default 'report'; 'fault' only on legacy/shim (DmirrorConfigError on interval). */
  readonly ownReadOnlyWrite?: OwnReadOnlyWrite;
  /** Default 'migrate' (v5.19+). */
  readonly foreignPrivateFault?: ForeignPrivateFault;
}

/** The native build's configuration. Mirrors: model-only. */
export interface DmirrorIntervalConfig {
  readonly impl: 'interval';
  readonly hmmVersion: DmirrorIntervalHmmVersion;
  readonly ownReadOnlyWrite: 'report';
  readonly foreignPrivateFault: ForeignPrivateFault;
}

/** An hmm_mirror build's configuration. Mirrors: model-only. */
export interface DmirrorHmmMirrorConfig {
  readonly impl: 'legacy' | 'shim';
  readonly hmmVersion: HmmFlagsVersion;
  readonly ownReadOnlyWrite: OwnReadOnlyWrite;
  readonly foreignPrivateFault: ForeignPrivateFault;
}

/** DmirrorOpenOptions with every default applied, narrowed by binding. Mirrors: model-only. */
export type DmirrorConfig = DmirrorIntervalConfig | DmirrorHmmMirrorConfig;

/** An open option the chosen binding cannot use (nothing was opened). Model error. */
export class DmirrorConfigError extends InvalidArgumentError {
  override readonly name: string = 'DmirrorConfigError';
  constructor(
    readonly impl: string,
    readonly option: string,
    message: string,
  ) {
    super(`dmirror open (impl '${impl}'): ${option}: ${message}`);
  }
}

function list(values: readonly string[]): string {
  return values.map((v) => `'${v}'`).join(', ');
}

function checkOneOf<T extends string>(
  impl: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
  why: string,
): T {
  if (allowed.includes(value as T)) return value as T;
  throw new DmirrorConfigError(
    impl,
    option,
    `'${String(value)}'; expected one of ${list(allowed)} (${why})`,
  );
}

function nativeConfig(opts: DmirrorOpenOptions, foreign: ForeignPrivateFault): DmirrorConfig {
  const hmmVersion = checkOneOf(
    'interval',
    'hmmVersion',
    opts.hmmVersion ?? '5.9',
    DMIRROR_INTERVAL_HMM_VERSIONS,
    'lib/test_hmm.c calls the one-argument hmm_range_fault() on hmm_pfns, which arrived in v5.8; ' +
      "the v5.4-style call belongs to impl 'legacy' or 'shim'",
  );
  checkOneOf(
    'interval',
    'ownReadOnlyWrite',
    opts.ownReadOnlyWrite ?? 'report',
    ['report'] as const,
    "the v5.8+ hmm_range_fault() never faults the caller's own device-private pages; the 'fault' " +
      "variant exists only in the hmm_mirror builds' owner emulation",
  );
  return { impl: 'interval', hmmVersion, ownReadOnlyWrite: 'report', foreignPrivateFault: foreign };
}

/**
 * Apply the defaults and check every option against the binding; DmirrorConfigError for a value
 * the binding cannot use. Model helper.
 */
export function dmirrorConfig(opts: DmirrorOpenOptions = {}): DmirrorConfig {
  const impl = checkOneOf('?', 'impl', opts.impl ?? 'interval', DMIRROR_IMPLS, 'the three builds');
  const foreign = checkOneOf(
    impl,
    'foreignPrivateFault',
    opts.foreignPrivateFault ?? 'migrate',
    ['migrate', 'efault'] as const,
    'v5.19+ or v5.7–v5.18 behaviour',
  );
  if (impl === 'interval') return nativeConfig(opts, foreign);
  const hmmVersion = checkOneOf(
    impl,
    'hmmVersion',
    opts.hmmVersion ?? '5.5',
    DMIRROR_HMM_MIRROR_HMM_VERSIONS,
    'the hmm_mirror API was removed in v5.5, so its driver calls hmmRangeFault(range, flags) with ' +
      "driver tables; the v5.8+ call belongs to impl 'interval'",
  );
  const ownReadOnlyWrite = checkOneOf(
    impl,
    'ownReadOnlyWrite',
    opts.ownReadOnlyWrite ?? 'report',
    ['report', 'fault'] as const,
    'the two §2.15 variants',
  );
  return { impl, hmmVersion, ownReadOnlyWrite, foreignPrivateFault: foreign };
}
