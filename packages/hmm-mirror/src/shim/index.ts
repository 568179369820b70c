/**
 * The compat shim: the legacy hmm_mirror API (same names, signatures, return values and misuse
 * checks) implemented on mmu_interval_notifier, without the seed race. Where it differs from the
 * v5.4 implementation, and why (the README's "Where the shim differs from legacy" has the long
 * version):
 *
 * 1. Collision detection is a sequence: each range has a private interval notifier and
 *    `hmmRangeValid` = !read_retry(notifier, notifierSeq), so an invalidation that started and
 *    ended since the read section began is seen (v5.4's bool was reset by that end: R1).
 * 2. Validity is not restored by an invalidation's end: the range stays invalid (hmm_range_fault
 *    returns -EBUSY on it at once) until hmmRangeWaitUntilValid begins a new read section.
 * 3. hmmRangeWaitUntilValid is a read_begin bounded by the timeout (sleeps while the range's
 *    notifier is inside the current window, i.e. until the mm's last overlapping invalidation
 *    ends — when v5.4's `notifiers` would reach 0). Calling it between the fault and the valid
 *    check forgets a collision, as it did in v5.4. Its removal of notifiers of unregistered ranges
 *    (see 5) can, rarely, wait for a window that opened meanwhile, past the timeout.
 * 4. A range registered during an in-flight invalidation starts invalid, as in v5.4, because
 *    mmu_interval_notifier_insert makes the window fully excluded; R2 (starvation by overlapping
 *    invalidations) is therefore kept. No `notifiers` count is maintained.
 * 5. hmmRangeUnregister never sleeps on the notifier core (legacy drivers call it under the lock
 *    their sync callback takes, which the current window may need): the notifier is detached and
 *    removed later by hmmRangeWaitUntilValid (outside a window) or hmmMirrorUnregister.
 * 6. hmmMirrorRegister also switches the mm's interval tree on (mmap_sem is held for write there)
 *    so that range registration never needs mmap_sem for write.
 * 7. The notifier callback calls set_seq without the driver lock; it is ordered before the
 *    mirror's locked sync callback because the core calls interval notifiers before hlist ones.
 * 8. A mirror returning -EAGAIN to a non-blockable start leaves the v5.5 core's interval window
 *    open for good (R3 of v5.5: the interval part is not undone): every range needing a new read
 *    section then times out in hmmRangeWaitUntilValid. v5.4 undid its own count in that case.
 * 9. The overlap test is exact: an invalidation ending at range.start does not invalidate the
 *    range (v5.4's Q11 treated touching ranges as overlapping).
 * 10. `range.valid` only caches the last answer; `range.notifier` belongs to the shim.
 *
 * Model compat shim; mirrors the semantics of include/linux/hmm.h (seed) hmm_mirror_* and
 * hmm_range_* on top of mm/mmu_notifier.c's interval notifier.
 */
import type { HmmMirrorApi } from '../api.ts';
import { hmmMirrorRegister, hmmMirrorUnregister } from './shim-hmm.ts';
import {
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
} from './shim-range.ts';

export { hmmMirrorRegister, hmmMirrorUnregister, shimMmuNotifierOps } from './shim-hmm.ts';
export {
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
  reapShimNotifiers,
  ShimRangeNotifier,
  shimIntervalOps,
  shimPendingRemovals,
} from './shim-range.ts';

/**
 * The compat shim as an HmmMirrorApi: a driver written for `legacyHmmMirrorApi` runs on it
 * unchanged.
 * Model compat shim; mirrors the semantics of the legacy API of include/linux/hmm.h (seed).
 */
export const shimHmmMirrorApi: HmmMirrorApi = Object.freeze({
  name: 'shim',
  hmmMirrorRegister,
  hmmMirrorUnregister,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
});
