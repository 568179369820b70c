/**
 * Which ranges are registered, through which mirror and struct hmm. The kernel keeps this in the
 * range's `list` node and `hmm` pointer; the model keeps it beside the range (HmmRange belongs to
 * @hmmsim/hmm-range), so that misuse the kernel would oops or corrupt a list on — unregistering a
 * range twice, registering it twice, unregistering a mirror with live ranges — is detected.
 *
 * Access reports: a registration is reported on its range object (as `range->list` and
 * `range->hmm` would be), the count per mirror on the mirror object.
 *
 * Mirrors: model-only (the `struct hmm_range.list` membership of include/linux/hmm.h).
 */
import type { HmmPerMm, HmmRange } from '@hmmsim/hmm-range';
import { accessReporting, noteRead, noteWrite, ObjectSlot } from '@hmmsim/kernel';
import type { Hmm } from './hmm.ts';
import type { HmmMirror } from './hmm-mirror.ts';

/**
 * One registration.
 * Mirrors: model-only.
 */
export interface RangeRegistration {
  readonly hmm: Hmm;
  readonly mirror: HmmMirror;
  /** The bounds at registration (a registered range must keep them). */
  readonly start: number;
  readonly end: number;
}

const registrations = new ObjectSlot<HmmRange, RangeRegistration>('hmm_range.registration');
const perMirror = new ObjectSlot<HmmMirror, number>('hmm_mirror.ranges');

/**
 * What `range.hmm` holds after hmm_range_unregister(): a poisoned pointer whose mm reads as NULL,
 * so a later hmm_range_fault()/wait on the range fails like the kernel's oops would.
 * Mirrors include/linux/poison.h:POISON_INUSE written over range->hmm.
 */
export const HMM_RANGE_POISON: HmmPerMm = Object.freeze({
  mmuNotifier: Object.freeze({ mm: null }),
});

/**
 * The registration of `range`, or undefined.
 * Mirrors: model-only.
 */
export function rangeRegistration(range: HmmRange): RangeRegistration | undefined {
  if (accessReporting) noteRead(range);
  return registrations.get(range);
}

/**
 * Record that `range` is registered through `mirror` on `hmm`.
 * Mirrors: model-only.
 */
export function recordRangeRegistration(range: HmmRange, hmm: Hmm, mirror: HmmMirror): void {
  if (accessReporting) noteWrite(range);
  if (accessReporting) noteWrite(mirror);
  registrations.set(range, { hmm, mirror, start: range.start, end: range.end });
  perMirror.set(mirror, (perMirror.get(mirror) ?? 0) + 1);
}

/**
 * Forget the registration of `range`.
 * Mirrors: model-only.
 */
export function forgetRangeRegistration(range: HmmRange): void {
  if (accessReporting) noteWrite(range);
  const r = registrations.get(range);
  if (r === undefined) return;
  registrations.delete(range);
  if (accessReporting) noteWrite(r.mirror);
  perMirror.set(r.mirror, (perMirror.get(r.mirror) ?? 1) - 1);
}

/**
 * Number of ranges registered through `mirror` and not yet unregistered.
 * Mirrors: model-only.
 */
export function rangesOfMirror(mirror: HmmMirror): number {
  if (accessReporting) noteRead(mirror);
  return perMirror.get(mirror) ?? 0;
}
