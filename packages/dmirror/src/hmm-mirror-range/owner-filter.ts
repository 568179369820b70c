/**
 * `dev_private_owner` by hand, for the hmm_mirror builds. The v5.4/v5.5 hmm_range_fault() reports
 * every device-private entry (any owner) as VALID|DEVICE_PRIVATE and faults one only when the
 * request carries the DEVICE_PRIVATE bit; the v5.7+ core (which the native build uses) reports
 * only the caller's own pages and treats other owners' entries like swap entries: not valid in a
 * snapshot, and in a fault pass faulted back through their owner's migrate_to_ram (v5.19+) or
 * -EFAULT (v5.7–v5.18). A v5.4 driver that wanted that had to do it itself after each successful
 * call: hide other owners' pages in a snapshot, and in a fault pass list the pages that must be
 * faulted back (a second call then requests DEVICE_PRIVATE for exactly those pages).
 *
 * Mirrors mm/hmm.c (v5.7+): hmm_is_device_private_entry() and the device-private branch of
 * hmm_vma_handle_pte(), done by the driver on the v5.4 API.
 */
import type { HmmRange } from '@hmmsim/hmm-range';
import type { Machine } from '@hmmsim/mm';
import { dmirrorPageToDevice } from '../devmem/dmirror-chunk.ts';
import type { DmirrorDevice } from '../dmirror-device.ts';
import type { OwnReadOnlyWrite } from '../options.ts';
import { DMIRROR_PFN_NONE, entryDevicePrivate, entryPfn, entryWrite } from './pfn-encoding.ts';

/** What the caller asked hmm_range_fault() for. Mirrors: model-only. */
export interface RangeFaultRequest {
  /** A write fault pass (HMM_PFN_REQ_WRITE). */
  readonly write: boolean;
  /** No faulting at all (request flags 0). */
  readonly snapshot: boolean;
}

/** The device whose private pages count as the caller's own, and the fork switch. Mirrors struct hmm_range.dev_private_owner (v5.7). */
export interface OwnerContext {
  readonly machine: Machine;
  readonly owner: DmirrorDevice;
  readonly ownReadOnlyWrite: OwnReadOnlyWrite;
}

/** True if device-private entry `e` belongs to another owner than `ctx.owner`. */
function foreign(ctx: OwnerContext, e: number): boolean {
  return dmirrorPageToDevice(ctx.machine, entryPfn(e)) !== ctx.owner;
}

/**
 * Snapshot: make every other owner's device-private entry NONE. Returns how many were hidden.
 * Mirrors mm/hmm.c (v5.7+): a non-owned device-private entry is not valid when nothing is requested.
 */
export function hideForeignPrivate(range: HmmRange, ctx: OwnerContext): number {
  const pfns = range.pfns;
  let n = 0;
  for (let i = 0; i < pfns.length; i++) {
    const e = pfns[i] as number;
    if (!entryDevicePrivate(e) || !foreign(ctx, e)) continue;
    pfns[i] = DMIRROR_PFN_NONE;
    n++;
  }
  return n;
}

/** Fault pass: true if some entry is another owner's device-private page. Mirrors the Q13 test (v5.7–v5.18). */
export function hasForeignPrivate(range: HmmRange, ctx: OwnerContext): boolean {
  const pfns = range.pfns;
  for (let i = 0; i < pfns.length; i++) {
    const e = pfns[i] as number;
    if (entryDevicePrivate(e) && foreign(ctx, e)) return true;
  }
  return false;
}

/**
 * Fault pass: the indexes of device-private entries that must be faulted back to system memory
 * — other owners' pages, and (with `ownReadOnlyWrite: 'fault'`) the caller's own read-only pages
 * when a write was requested.
 * Mirrors mm/hmm.c (v5.19+): hmm_pte_need_fault() for a non-owned device-private entry.
 */
export function privateEntriesToFault(
  range: HmmRange,
  ctx: OwnerContext,
  req: RangeFaultRequest,
): number[] {
  const out: number[] = [];
  const pfns = range.pfns;
  for (let i = 0; i < pfns.length; i++) {
    const e = pfns[i] as number;
    if (!entryDevicePrivate(e)) continue;
    if (foreign(ctx, e)) out.push(i);
    else if (req.write && !entryWrite(e) && ctx.ownReadOnlyWrite === 'fault') out.push(i);
  }
  return out;
}
