/**
 * Legacy range tracking: `hmm_range_register` links a range into the mm's struct hmm (pinning
 * mm_users) and sets `valid` to whether no invalidation of the mm is in flight;
 * `hmm_range_unregister` undoes it; `hmm_range_valid` reads the flag; `hmm_range_wait_until_valid`
 * sleeps on the struct hmm's wait queue until the flag is true or the timeout passes.
 *
 * The flag is a bool, not a sequence: invalidate_range_start clears it, and the end of the *last*
 * invalidation of the mm sets it on every registered range. So an invalidation that starts and
 * ends between a driver's hmm_range_fault() and its locked hmmRangeValid() check is invisible (the
 * seed race, R1), and unrelated invalidations anywhere in the mm keep ranges invalid (R2).
 *
 * Mirrors mm/hmm.c (v5.4): hmm_range_register(), hmm_range_unregister(); include/linux/hmm.h
 * (seed): hmm_range_valid(), hmm_range_wait_until_valid(), HMM_RANGE_DEFAULT_TIMEOUT.
 */

import type { HmmRange } from '@hmmsim/hmm-range';
import {
  accessReporting,
  checkUlong,
  EFAULT,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  msecsToJiffies,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  spinLock,
  spinUnlock,
  waitEventTimeout,
} from '@hmmsim/kernel';
import { type MmStruct, mmgetNotZero, mmput } from '@hmmsim/mm';
import { type Hmm, type HmmKind, hmmOfMirror } from './hmm.ts';
import type { HmmMirror } from './hmm-mirror.ts';
import {
  forgetRangeRegistration,
  HMM_RANGE_POISON,
  type RangeRegistration,
  rangeRegistration,
  recordRangeRegistration,
} from './range-registry.ts';

export { HMM_RANGE_DEFAULT_TIMEOUT } from '@hmmsim/hmm-range';

/**
 * 0 when `[start, end)` is page aligned and non-empty, else -EINVAL; InvalidArgumentError (naming
 * `fn`) for bounds no C struct could hold (NaN, a fraction, a negative, 2^53 or more).
 * Mirrors the argument checks of mm/hmm.c:hmm_range_register() (v5.4).
 */
export function hmmRangeCheckBounds(
  range: Pick<HmmRange, 'start' | 'end'>,
  fn = 'hmm_range_register',
): number {
  const { start, end } = range;
  checkUlong(fn, 'range.start', start, 'an address');
  checkUlong(fn, 'range.end', end, 'an address');
  if (start % PAGE_SIZE !== 0 || end % PAGE_SIZE !== 0 || start >= end) return -EINVAL;
  return 0;
}

/** Throw InvalidArgumentError unless `range` is a range object. Model helper. */
export function checkRangeArg(fn: string, range: unknown): asserts range is HmmRange {
  if (typeof range !== 'object' || range === null) {
    throw new InvalidArgumentError(
      `${fn}: range is ${range === null ? 'null' : `a ${typeof range}`}; expected an HmmRange (createHmmRange)`,
    );
  }
}

/**
 * KernelBugError unless the range still has the bounds and struct hmm it was registered with:
 * the invalidation code and the collision check read them, so a range whose start/end (or hmm)
 * were changed after hmm_range_register() silently misses invalidations of the new part.
 * Mirrors: model-only (the kernel trusts the driver not to touch a registered range).
 */
export function assertRegistrationIntact(range: HmmRange, r: RangeRegistration, fn: string): void {
  if (accessReporting) noteRead(range);
  const problem = registrationProblem(range, r);
  if (problem !== undefined) {
    throw new KernelBugError(
      `${fn}: ${problem}; expected start, end and hmm to stay as registered until hmm_range_unregister()`,
    );
  }
}

/**
 * What changed in a registered range since hmm_range_register(), or undefined.
 * Mirrors: model-only.
 */
export function registrationProblem(range: HmmRange, r: RangeRegistration): string | undefined {
  if (range.start !== r.start || range.end !== r.end) {
    const h = (n: number) => (Number.isSafeInteger(n) ? `0x${n.toString(16)}` : String(n));
    return `the range was registered as [${h(r.start)}, ${h(r.end)}) but is now [${h(range.start)}, ${h(range.end)})`;
  }
  if (range.hmm !== r.hmm) return 'range.hmm was changed after hmm_range_register()';
  return undefined;
}

/**
 * The registration of a range about to be registered: KernelBugError if it already is (list_add
 * of a node that is on a list).
 * Mirrors: model-only (CONFIG_DEBUG_LIST's list_add corruption check).
 */
export function assertRangeNotRegistered(range: HmmRange, fn: string): void {
  const r = rangeRegistration(range);
  if (r !== undefined) {
    throw new KernelBugError(
      `${fn}: list_add corruption: the range [0x${range.start.toString(16)}, 0x${range.end.toString(16)}) ` +
        `is already registered (on mm${r.hmm.mm?.id}); expected hmm_range_unregister() before registering it again`,
    );
  }
}

/**
 * The registration of a range that must be registered through the `kind` API: KernelBugError
 * otherwise (the kernel dereferences a NULL or poisoned `range->hmm`).
 * Mirrors: model-only (the `range->hmm` dereference).
 */
export function registrationOf(range: HmmRange, fn: string, kind: HmmKind): RangeRegistration {
  checkRangeArg(fn, range);
  const r = rangeRegistration(range);
  if (r === undefined) {
    const what = range.hmm === HMM_RANGE_POISON ? 'poisoned (already unregistered)' : 'NULL';
    throw new KernelBugError(
      `${fn}: the range is not registered (range->hmm is ${what}: the kernel would oops); ` +
        'expected a range registered with hmm_range_register() and not yet unregistered',
    );
  }
  if (r.hmm.kind !== kind) {
    throw new KernelBugError(
      `${fn}: the range was registered through the ${r.hmm.kind} API; expected the ${kind} API for all of a range's calls`,
    );
  }
  return r;
}

/**
 * Throw unless `timeout` is an unsigned number of milliseconds.
 * Mirrors: model-only.
 */
export function checkTimeout(timeout: number, fn: string): void {
  checkUlong(fn, 'timeout', timeout, 'milliseconds (HMM_RANGE_DEFAULT_TIMEOUT = 1000)');
}

/**
 * The common first half of legacy and shim range registration: the mirror's struct hmm (of API
 * `kind`), `valid` and `hmm` cleared, the bounds checked (-EINVAL) and an mm_users reference taken
 * (-EFAULT when the mm is exiting). Returns the struct hmm and its mm, or the errno.
 * Mirrors the checks and mmget_not_zero() of mm/hmm.c:hmm_range_register() (v5.4).
 */
export function hmmRangeRegisterBegin(
  range: HmmRange,
  mirror: HmmMirror,
  kind: HmmKind,
): { readonly hmm: Hmm; readonly mm: MmStruct } | number {
  checkRangeArg('hmm_range_register', range);
  const hmm = hmmOfMirror(mirror, 'hmm_range_register', kind);
  assertRangeNotRegistered(range, 'hmm_range_register');
  // Values no C struct could hold: a typed error before anything changes.
  checkUlong('hmm_range_register', 'range.start', range.start, 'an address');
  checkUlong('hmm_range_register', 'range.end', range.end, 'an address');
  if (accessReporting) noteWrite(range);
  range.valid = false;
  range.hmm = null;
  const bad = hmmRangeCheckBounds(range);
  if (bad !== 0) return bad;
  if (accessReporting) noteRead(hmm); // the notifier's `mm`
  const mm = hmm.mm;
  if (mm === null || !mmgetNotZero(mm)) return -EFAULT;
  return { hmm, mm };
}

/**
 * Start tracking CPU page-table changes over `[range.start, range.end)` for `mirror`: 0, -EINVAL
 * (unaligned or empty range; `valid` false, `hmm` null), -EFAULT (the mm is exiting). Pins
 * mm_users until unregister. The range starts valid only if no invalidation of the mm is in
 * flight (R2: anywhere in the mm, not just in the range).
 * Mirrors mm/hmm.c:hmm_range_register() (v5.4).
 */
export async function hmmRangeRegister(range: HmmRange, mirror: HmmMirror): Promise<number> {
  const begun = hmmRangeRegisterBegin(range, mirror, 'legacy');
  if (typeof begun === 'number') return begun;
  const { hmm, mm } = begun;
  await spinLock(hmm.rangesLock);
  if (accessReporting) noteWrite(range);
  range.hmm = hmm;
  if (accessReporting) noteWrite(hmm.ranges);
  hmm.ranges.unshift(range);
  recordRangeRegistration(range, hmm, mirror);
  if (accessReporting) noteRead(hmm); // `notifiers`
  if (hmm.notifiers === 0) range.valid = true;
  spinUnlock(hmm.rangesLock);
  const sched = mm.machine.sched;
  if (sched.trace.enabled) {
    sched.trace.emit(
      'hmm.range_register',
      `[0x${range.start.toString(16)}, 0x${range.end.toString(16)}) valid=${range.valid} notifiers=${hmm.notifiers}`,
    );
  }
  return 0;
}

/**
 * Unlink `range` from `hmm.ranges` under ranges_lock and forget its registration.
 * Mirrors the list_del_init() under ranges_lock of mm/hmm.c:hmm_range_unregister() (v5.4).
 */
export async function unlinkRange(hmm: Hmm, range: HmmRange): Promise<void> {
  await spinLock(hmm.rangesLock);
  if (accessReporting) noteWrite(hmm.ranges);
  const i = hmm.ranges.indexOf(range);
  if (i >= 0) hmm.ranges.splice(i, 1);
  forgetRangeRegistration(range);
  spinUnlock(hmm.rangesLock);
}

/**
 * Stop tracking `range`: unlink it, drop the mm_users reference taken by register, clear `valid`
 * and poison `hmm` (other fields are left for the caller). Unregistering a range that is not
 * registered is a NULL/poison dereference in the kernel: KernelBugError.
 * Mirrors mm/hmm.c:hmm_range_unregister() (v5.4).
 */
export async function hmmRangeUnregister(range: HmmRange): Promise<void> {
  const { hmm } = registrationOf(range, 'hmm_range_unregister', 'legacy');
  await unlinkRange(hmm, range);
  if (accessReporting) noteRead(hmm); // the notifier's `mm`
  const mm = hmm.mm;
  if (mm === null) {
    throw new KernelBugError(
      'hmm_range_unregister: the struct hmm has no mm; expected a live registration',
    );
  }
  await mmput(mm);
  if (accessReporting) noteWrite(range);
  range.valid = false;
  range.hmm = HMM_RANGE_POISON;
}

/**
 * The legacy collision flag: true unless an invalidation overlapping the range started and the
 * mm's invalidations have not all ended since. Only meaningful under the driver lock that
 * sync_cpu_device_pagetables takes — and even then blind to a whole invalidation that ran since
 * the snapshot (R1).
 * Mirrors include/linux/hmm.h:hmm_range_valid() (seed).
 */
export function hmmRangeValid(range: HmmRange): boolean {
  checkRangeArg('hmm_range_valid', range);
  const reg = rangeRegistration(range);
  if (reg !== undefined) assertRegistrationIntact(range, reg, 'hmm_range_valid');
  return range.valid;
}

/**
 * Sleep until `range.valid` or `timeout` milliseconds of virtual time pass; true iff the flag was
 * seen true (at once if it already is). Only a hint: nothing keeps the range valid afterwards.
 * KernelBugError for a range that is not registered (NULL/poisoned `range->hmm`).
 * Mirrors include/linux/hmm.h:hmm_range_wait_until_valid() (seed).
 */
export async function hmmRangeWaitUntilValid(range: HmmRange, timeout: number): Promise<boolean> {
  checkTimeout(timeout, 'hmm_range_wait_until_valid');
  const reg = registrationOf(range, 'hmm_range_wait_until_valid', 'legacy');
  assertRegistrationIntact(range, reg, 'hmm_range_wait_until_valid');
  const { hmm } = reg;
  const valid = (): boolean => {
    if (accessReporting) noteRead(range);
    return range.valid;
  };
  const left = await waitEventTimeout(hmm.wq, valid, msecsToJiffies(timeout));
  return left !== 0;
}
