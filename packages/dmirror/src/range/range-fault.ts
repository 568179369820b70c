/**
 * hmm_range_fault() with the v5.7+ contract the dmirror relies on, built on the v5.5 call of
 * @hmmsim/hmm-range (which the dmirror must not change): 0 on success instead of a page count,
 * `dev_private_owner` (owner-filter.ts), ERROR for unwalkable pages in a snapshot
 * (snapshot-errors.ts), the map order of each page (map-order.ts), and -EFAULT / ERROR past the
 * model's 48-bit address space (where the kernel simply finds no VMA; the model's call would
 * return -EINVAL). The caller holds mmap_sem for read and an mm_users reference, and has taken a
 * sequence (or a legacy registration) for the range; -EBUSY means "take a new one and retry".
 *
 * Mirrors mm/hmm.c (v5.7+): hmm_range_fault().
 */
import {
  HMM_FAULT_SNAPSHOT,
  HMM_PFN_FLAGS_MASK_ALL,
  type HmmRange,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import { EBUSY, EFAULT, PAGE_SIZE, VADDR_LIMIT } from '@hmmsim/kernel';
import type { Dmirror } from '../dmirror.ts';
import type { DmirrorRange } from './dmirror-range.ts';
import { fillMapOrders } from './map-order.ts';
import {
  hideForeignPrivate,
  type OwnerContext,
  privateEntriesToFault,
  type RangeFaultRequest,
} from './owner-filter.ts';
import { DMIRROR_PFN_ERROR, devicePrivateRequest, faultRequest } from './pfn-encoding.ts';
import { markSnapshotErrors } from './snapshot-errors.ts';

/** Calls that fault other owners' pages back before giving up with -EBUSY. Mirrors: model-only. */
export const OWNER_FAULT_PASSES = 16;

/** The owner context of a mirror. */
function ownerOf(dmirror: Dmirror): OwnerContext {
  return {
    machine: dmirror.mdevice.machine,
    owner: dmirror.mdevice,
    ownReadOnlyWrite: dmirror.config.ownReadOnlyWrite,
  };
}

/** One call of the model's hmm_range_fault(): 0 or a negative errno. */
async function callOnce(range: HmmRange, dmirror: Dmirror, snapshot: boolean): Promise<number> {
  const ret = await hmmRangeFault(range, snapshot ? HMM_FAULT_SNAPSHOT : 0, {
    version: dmirror.config.hmmVersion,
  });
  return Math.min(ret, 0);
}

/** Per-page requests: the pass's request everywhere, plus DEVICE_PRIVATE at `marked`. */
function requestDevicePrivate(range: HmmRange, req: RangeFaultRequest, marked: number[]): void {
  const base = faultRequest(range, req.write);
  range.pfnFlagsMask = HMM_PFN_FLAGS_MASK_ALL;
  range.defaultFlags = 0;
  range.pfns.fill(base);
  const dev = devicePrivateRequest(range);
  for (const i of marked) range.pfns[i] = base | dev;
}

/**
 * Call until no device-private entry needs faulting back (v5.7+ owner semantics): a call with the
 * pass's own requests; if some entries must move back, one call that requests DEVICE_PRIVATE for
 * exactly those (their owners' migrate_to_ram runs), then the pass's requests again.
 */
async function callWithOwner(
  range: HmmRange,
  dmirror: Dmirror,
  req: RangeFaultRequest,
): Promise<number> {
  const ctx = ownerOf(dmirror);
  const { pfnFlagsMask, defaultFlags } = range;
  try {
    for (let pass = 0; ; pass++) {
      range.pfnFlagsMask = pfnFlagsMask;
      range.defaultFlags = defaultFlags;
      const ret = await callOnce(range, dmirror, req.snapshot);
      if (ret !== 0) return ret;
      if (req.snapshot) {
        hideForeignPrivate(range, ctx);
        return 0;
      }
      const marked = privateEntriesToFault(range, ctx, req);
      if (marked.length === 0) return 0;
      if (pass + 1 >= OWNER_FAULT_PASSES) return -EBUSY;
      requestDevicePrivate(range, req, marked);
      const back = await callOnce(range, dmirror, false);
      if (back !== 0) return back;
    }
  } finally {
    range.pfnFlagsMask = pfnFlagsMask;
    range.defaultFlags = defaultFlags;
  }
}

/** Run `fn` on the part of the range below VADDR_LIMIT (the range is restored afterwards). */
async function belowLimit(range: HmmRange, fn: () => Promise<number>): Promise<number> {
  if (range.end <= VADDR_LIMIT) return fn();
  const { end, pfns } = range;
  range.end = VADDR_LIMIT;
  range.pfns = pfns.subarray(0, (VADDR_LIMIT - range.start) / PAGE_SIZE);
  try {
    return await fn();
  } finally {
    range.end = end;
    range.pfns = pfns;
  }
}

/**
 * Fill `dr.range.pfns` (and `dr.order`) for the range of `dmirror`'s mm: fault pages in (read,
 * or write) or, with `req.snapshot`, only report them. Returns 0, -EBUSY (collided: retry with a
 * new sequence), -EFAULT (no VMA, unreadable VMA, failed fault), -EPERM (write to a VMA without
 * VM_WRITE). Mirrors mm/hmm.c (v5.7+): hmm_range_fault().
 */
export async function dmirrorRangeFault(
  dr: DmirrorRange,
  dmirror: Dmirror,
  req: RangeFaultRequest,
): Promise<number> {
  const range = dr.range;
  const beyond = range.end > VADDR_LIMIT;
  if (range.start < VADDR_LIMIT) {
    const ret = await belowLimit(range, () => callWithOwner(range, dmirror, req));
    if (ret !== 0) return ret;
  }
  if (beyond) {
    if (!req.snapshot) return -EFAULT;
    const first = Math.max(0, (VADDR_LIMIT - range.start) / PAGE_SIZE);
    range.pfns.fill(DMIRROR_PFN_ERROR, first);
  }
  if (req.snapshot) {
    if (range.start < VADDR_LIMIT) await belowLimit(range, async () => markErrors(range, dmirror));
    fillMapOrders(dr, dmirror.mm);
  }
  return 0;
}

/** markSnapshotErrors() as a 0-returning step. */
function markErrors(range: HmmRange, dmirror: Dmirror): number {
  markSnapshotErrors(range, dmirror.mm);
  return 0;
}
