/**
 * hmm_range_fault() for the hmm_mirror builds: the v5.4-style call of @hmmsim/hmm-range
 * (`hmmRangeFault(range, flags)` with driver tables, version '5.4' / 'seed' / '5.5') plus what a
 * v5.4 driver had to do by hand to get the v5.7+ behaviour the selftests check: 0 instead of a
 * page count, `dev_private_owner` (owner-filter.ts), ERROR for unwalkable pages in a snapshot
 * (snapshot-errors.ts), the map order of each page (map-order.ts, model-only), and the results in
 * the `hmm_pfns` layout the commit reads (to-hmm-pfns.ts). A range reaching past the model's 2^48
 * address space is called on its part below (../range/address-limit.ts). The caller holds
 * mmap_sem for read and an mm_users reference, and has registered the range
 * (hmm_range_register) and waited for it to be valid; -EBUSY means "wait and call again".
 *
 * Mirrors the hmm_range_fault() call of a dmirror ported to the v5.4 hmm_mirror API
 * (Documentation/vm/hmm.rst, "the usage pattern"), with mm/hmm.c (v5.7+) semantics added.
 */
import {
  HMM_FAULT_SNAPSHOT,
  HMM_PFN_FLAGS_MASK_ALL,
  type HmmRange,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import { accessReporting, EBUSY, EFAULT, noteWrite, PAGE_SIZE } from '@hmmsim/kernel';
import type { Dmirror } from '../dmirror.ts';
import type { DmirrorHmmMirrorConfig } from '../options.ts';
import { dmirrorBelowAddressLimit } from '../range/address-limit.ts';
import {
  hasForeignPrivate,
  hideForeignPrivate,
  type OwnerContext,
  privateEntriesToFault,
  type RangeFaultRequest,
} from './owner-filter.ts';
import { DMIRROR_PFN_ERROR, devicePrivateRequest, tableRequest } from './pfn-encoding.ts';
import { markSnapshotErrors } from './snapshot-errors.ts';
import { tableRangeToHmmPfns } from './to-hmm-pfns.ts';

/** Calls that fault other owners' pages back before giving up with -EBUSY. Mirrors: model-only. */
export const OWNER_FAULT_PASSES = 16;

/** The owner context of a mirror. */
function ownerOf(dmirror: Dmirror, config: DmirrorHmmMirrorConfig): OwnerContext {
  return {
    machine: dmirror.mdevice.machine,
    owner: dmirror.mdevice,
    ownReadOnlyWrite: config.ownReadOnlyWrite,
  };
}

/**
 * The one 2019 quirk the hmm_mirror builds run without: Q4 (a migration entry reported NONE and
 * never waited on, even when a fault is requested). The selftests race device reads with
 * migrations; with Q4 the fault pass would "succeed" with an empty entry. The builds therefore
 * take v5.7's fix (wait for the migration, walk again), as a v5.4 driver had to by retrying.
 */
const HMM_MIRROR_BUILD_QUIRKS = Object.freeze({ q4MigrationNoWait: false });

/** One call of the v5.4-style hmm_range_fault(): 0 or a negative errno. */
async function callOnce(
  range: HmmRange,
  config: DmirrorHmmMirrorConfig,
  snapshot: boolean,
): Promise<number> {
  const ret = await hmmRangeFault(range, snapshot ? HMM_FAULT_SNAPSHOT : 0, {
    version: config.hmmVersion,
    quirks: HMM_MIRROR_BUILD_QUIRKS,
  });
  return Math.min(ret, 0);
}

/** Per-page requests: the pass's request everywhere, plus DEVICE_PRIVATE at `marked`. */
function requestDevicePrivate(range: HmmRange, req: RangeFaultRequest, marked: number[]): void {
  const base = tableRequest(range, false, req.write);
  range.pfnFlagsMask = HMM_PFN_FLAGS_MASK_ALL;
  range.defaultFlags = 0;
  range.pfns.fill(base);
  const dev = devicePrivateRequest(range);
  for (const i of marked) range.pfns[i] = base | dev;
}

/**
 * Call until no device-private entry needs faulting back (v5.7+ owner semantics): a call with the
 * pass's own requests; if some entries must move back, one call that requests DEVICE_PRIVATE for
 * exactly those (their owners' migrate_to_ram runs), then the pass's requests again. With
 * `foreignPrivateFault: 'efault'`, another owner's page fails the pass instead (v5.7–v5.18).
 */
async function callWithOwner(
  range: HmmRange,
  dmirror: Dmirror,
  config: DmirrorHmmMirrorConfig,
  req: RangeFaultRequest,
): Promise<number> {
  const ctx = ownerOf(dmirror, config);
  const { pfnFlagsMask, defaultFlags } = range;
  try {
    for (let pass = 0; ; pass++) {
      range.pfnFlagsMask = pfnFlagsMask;
      range.defaultFlags = defaultFlags;
      const ret = await callOnce(range, config, req.snapshot);
      if (ret !== 0) return ret;
      if (req.snapshot) {
        hideForeignPrivate(range, ctx);
        markSnapshotErrors(range, dmirror.mm);
        return 0;
      }
      if (config.foreignPrivateFault === 'efault' && hasForeignPrivate(range, ctx)) return -EFAULT;
      const marked = privateEntriesToFault(range, ctx, req);
      if (marked.length === 0) return 0;
      if (pass + 1 >= OWNER_FAULT_PASSES) return -EBUSY;
      requestDevicePrivate(range, req, marked);
      const back = await callOnce(range, config, false);
      if (back !== 0) return back;
    }
  } finally {
    range.pfnFlagsMask = pfnFlagsMask;
    range.defaultFlags = defaultFlags;
  }
}

/**
 * Run `fn` with the range cut at `end` (in place: the registered range object must stay the one
 * hmm_range_register() tracks), restored afterwards. The bounds of a registered range are read by
 * other tasks' invalidations: both changes are reported as writes of the range.
 */
async function withEnd(range: HmmRange, end: number, fn: () => Promise<number>): Promise<number> {
  if (end === range.end) return fn();
  const saved = { end: range.end, pfns: range.pfns };
  if (accessReporting) noteWrite(range);
  range.end = end;
  range.pfns = saved.pfns.subarray(0, (end - range.start) / PAGE_SIZE);
  try {
    return await fn();
  } finally {
    if (accessReporting) noteWrite(range);
    range.end = saved.end;
    range.pfns = saved.pfns;
  }
}

/**
 * Fill `out` (hmm_pfns layout) for `range` of `dmirror`'s mm: fault pages in (read, or write) or,
 * with `req.snapshot`, only report them. Returns 0, -EBUSY (collided: wait and retry), -EFAULT
 * (no VMA, unreadable VMA, failed fault, another device's page with 'efault'), -EPERM (write to a
 * VMA without VM_WRITE). Mirrors mm/hmm.c (v5.7+): hmm_range_fault(), on the v5.4 API.
 */
export async function hmmMirrorRangeFault(
  range: HmmRange,
  out: Float64Array,
  dmirror: Dmirror,
  config: DmirrorHmmMirrorConfig,
  req: RangeFaultRequest,
): Promise<number> {
  const ret = await dmirrorBelowAddressLimit(
    range.start,
    range.end,
    req.snapshot,
    (end) => withEnd(range, end, () => callWithOwner(range, dmirror, config, req)),
    (first) => range.pfns.fill(DMIRROR_PFN_ERROR, first),
  );
  if (ret !== 0) return ret;
  tableRangeToHmmPfns(range, out, req.snapshot ? dmirror.mm : null);
  return 0;
}
