/**
 * The call shape of each hmm_range_fault() generation, checked before anything runs: which
 * arguments the call takes, which range layout it reads, and which fields that kernel's struct
 * hmm_range had. A v5.4-only argument on a v5.8 call (or a v5.8-only field on a v5.5 range) is an
 * HmmGenerationError naming the generation and what that kernel expected; nothing is ignored.
 */
import { checkFunction, InvalidArgumentError } from '@hmmsim/kernel';
import { type HmmPfnsRange, isHmmPfnsRange } from './hmm-pfns-range.ts';
import {
  HMM_VERSIONS,
  type HmmRange,
  type HmmRangeFaultOptions,
  type HmmVersion,
  hmmQuirksFor,
} from './hmm-range.ts';

/** Flag indexes of the v5.7 table (VALID, WRITE): HMM_PFN_DEVICE_PRIVATE was removed. Mirrors include/linux/hmm.h:HMM_PFN_FLAG_MAX (v5.7). */
export const HMM_PFN_FLAG_MAX_V57 = 2;

/** A call or range that does not match the generation it is run as. */
export class HmmGenerationError extends InvalidArgumentError {
  override readonly name: string = 'HmmGenerationError';
  constructor(
    readonly version: HmmVersion,
    message: string,
  ) {
    super(`hmm_range_fault (v${version}): ${message}`);
  }
}

/** The resolved call: generation, HMM_FAULT_* flags (0 from v5.7) and options. */
export interface HmmCall {
  readonly version: HmmVersion;
  readonly flags: number;
  readonly opts: HmmRangeFaultOptions;
}

/** True for the generations with driver tables and a page count returned (v5.4–v5.7). */
export function hmmVersionHasTables(version: HmmVersion): boolean {
  return version !== '5.8' && version !== '5.9';
}

/** True for the generations called with a flags argument (v5.4, seed, v5.5). */
export function hmmVersionTakesFlags(version: HmmVersion): boolean {
  return version === '5.4' || version === 'seed' || version === '5.5';
}

function checkVersion(v: unknown): HmmVersion {
  if (!HMM_VERSIONS.includes(v as HmmVersion)) {
    throw new InvalidArgumentError(
      `hmm_range_fault: options.version is '${String(v)}'; expected one of ${HMM_VERSIONS.map((x) => `'${x}'`).join(', ')}`,
    );
  }
  return v as HmmVersion;
}

/** `opts` with the version fixed, for the per-generation facades; InvalidArgumentError if not an object. */
export function hmmFixVersion(opts: unknown, version: HmmVersion): HmmRangeFaultOptions {
  const o = checkOpts(opts);
  if (o.version !== undefined && o.version !== version) {
    throw new HmmGenerationError(
      version,
      `options.version '${String(o.version)}' given to the v${version} hmmRangeFault; import that generation's module instead`,
    );
  }
  return { ...o, version };
}

const QUIRK_NAMES: ReadonlySet<string> = new Set(Object.keys(hmmQuirksFor('5.4')));

function checkOpts(opts: unknown): HmmRangeFaultOptions {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidArgumentError(
      `hmm_range_fault: options is ${opts === null ? 'null' : `a ${typeof opts}`}; expected an object ({ version, quirks, faultHandler })`,
    );
  }
  const o = opts as HmmRangeFaultOptions;
  if (o.faultHandler !== undefined)
    checkFunction('hmm_range_fault', 'options.faultHandler', o.faultHandler);
  const q: unknown = o.quirks;
  if (q !== undefined) {
    if (typeof q !== 'object' || q === null) {
      throw new InvalidArgumentError(
        `hmm_range_fault: options.quirks is ${q === null ? 'null' : `a ${typeof q}`}; expected an object of quirk switches`,
      );
    }
    for (const [k, v] of Object.entries(q)) {
      if (!QUIRK_NAMES.has(k)) {
        throw new InvalidArgumentError(
          `hmm_range_fault: options.quirks.${k} is not a quirk; expected one of ${[...QUIRK_NAMES].join(', ')}`,
        );
      }
      if (v !== undefined && typeof v !== 'boolean') {
        throw new InvalidArgumentError(
          `hmm_range_fault: options.quirks.${k} is ${String(v)}; expected true (the kernel's behaviour) or false (fixed)`,
        );
      }
    }
  }
  return o;
}

/**
 * The generation and arguments of a call `hmmRangeFault(range, a, b)`: `(range, flags, opts?)`
 * for v5.4–v5.5 (default '5.5'), `(range, opts?)` from v5.7 (default '5.8').
 */
export function hmmResolveCall(a: unknown, b: unknown): HmmCall {
  if (typeof a === 'number') {
    const opts = checkOpts(b);
    const version = checkVersion(opts.version ?? '5.5');
    if (!hmmVersionTakesFlags(version)) {
      throw new HmmGenerationError(
        version,
        `called with a flags argument (${a}); since v5.7 the call is hmmRangeFault(range) — HMM_FAULT_SNAPSHOT ` +
          'was removed by 6bfef2f91945 (request nothing instead: defaultFlags = 0 and pfnFlagsMask = 0) and ' +
          'HMM_FAULT_ALLOW_RETRY with it',
      );
    }
    return { version, flags: a, opts };
  }
  if (b !== undefined) {
    throw new InvalidArgumentError(
      `hmm_range_fault: a third argument without a numeric flags argument; expected (range, flags, opts) up to v5.5 or (range, opts) from v5.7`,
    );
  }
  const opts = checkOpts(a);
  const version = checkVersion(opts.version ?? '5.8');
  if (hmmVersionTakesFlags(version)) {
    throw new HmmGenerationError(
      version,
      'called without flags; this kernel takes hmmRangeFault(range, flags): 0 to fault what the requests ask, ' +
        'HMM_FAULT_SNAPSHOT to only report, HMM_FAULT_ALLOW_RETRY to let the fault drop mmap_sem',
    );
  }
  return { version, flags: 0, opts };
}

const TABLE_FIELDS = ['pfns', 'flags', 'values', 'pfnShift', 'hmm', 'valid'] as const;

function checkPfnsShape(version: HmmVersion, range: object): void {
  if (!isHmmPfnsRange(range)) {
    throw new HmmGenerationError(
      version,
      'range has no hmmPfns; v5.8 removed the driver-defined format (2733ea144dcc): create it with ' +
        'createHmmPfnsRange and request with HMM_PFN_REQ_FAULT / HMM_PFN_REQ_WRITE',
    );
  }
  for (const f of TABLE_FIELDS) {
    if (f in range) {
      throw new HmmGenerationError(
        version,
        `range.${f} is a field of the v5.4–v5.7 struct hmm_range; this kernel's has notifier, notifierSeq, ` +
          'start, end, hmmPfns, defaultFlags, pfnFlagsMask and devPrivateOwner',
      );
    }
  }
  if ((range as HmmPfnsRange).notifier === null) {
    throw new HmmGenerationError(
      version,
      'range.notifier is null; expected an inserted mmu_interval_notifier and notifierSeq from mmuIntervalReadBegin()',
    );
  }
}

function checkTableShape(version: HmmVersion, range: HmmRange): void {
  if (isHmmPfnsRange(range)) {
    throw new HmmGenerationError(
      version,
      'range has hmmPfns (the v5.8 format); this kernel reads range.pfns with the driver flags/values/pfnShift tables (createHmmRange)',
    );
  }
  if (version !== '5.7') {
    if (range.devPrivateOwner !== null && range.devPrivateOwner !== undefined) {
      throw new HmmGenerationError(
        version,
        'range.devPrivateOwner is set; dev_private_owner arrived in v5.7 (08ddddda667b): this kernel reports ' +
          "every device's private pages, flagged with flags[HMM_PFN_DEVICE_PRIVATE]",
      );
    }
    return;
  }
  if (range.hmm !== null || range.notifier === null) {
    throw new HmmGenerationError(
      version,
      'range has no interval notifier; hmm_mirror and hmm_range_register() were removed in v5.5 (a22dd506400d): ' +
        'set range.notifier and range.notifierSeq = mmuIntervalReadBegin(notifier)',
    );
  }
  const n = Array.isArray(range.flags) || ArrayBuffer.isView(range.flags) ? range.flags.length : -1;
  if (n !== HMM_PFN_FLAG_MAX_V57) {
    throw new HmmGenerationError(
      version,
      `range.flags has ${n} entries; expected ${HMM_PFN_FLAG_MAX_V57} (HMM_PFN_VALID, HMM_PFN_WRITE): HMM_PFN_DEVICE_PRIVATE ` +
        'was removed (17ffdc482982) — device-private pages are reported as VALID when their dev_pagemap.owner is range.devPrivateOwner',
    );
  }
}

/** Check that `range` has the layout of `version`'s struct hmm_range; HmmGenerationError if not. */
export function hmmCheckRangeShape(version: HmmVersion, range: object): void {
  if (hmmVersionHasTables(version)) checkTableShape(version, range as HmmRange);
  else checkPfnsShape(version, range);
}
