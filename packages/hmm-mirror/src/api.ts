/**
 * The legacy hmm_mirror API as one TypeScript interface, so that a driver written against it runs
 * unchanged on the v5.4 implementation (`legacyHmmMirrorApi`) and on the compat shim over
 * mmu_interval_notifier (`shimHmmMirrorApi`, in ./shim/). `hmmRangeFault` is not part of it: it is
 * the same function for both (@hmmsim/hmm-range), choosing the collision check by `range.notifier`.
 *
 * Mirrors include/linux/hmm.h (seed): the hmm_mirror / hmm_range registration API.
 */
import type { HmmRange } from '@hmmsim/hmm-range';
import type { MmStruct } from '@hmmsim/mm';
import type { HmmMirror } from './hmm-mirror.ts';
import { hmmMirrorRegister, hmmMirrorUnregister } from './hmm-mirror.ts';
import {
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
} from './hmm-range-register.ts';

/**
 * The registration half of the legacy HMM API, as implemented by one backend.
 * Mirrors include/linux/hmm.h (seed): hmm_mirror_register() … hmm_range_wait_until_valid().
 */
export interface HmmMirrorApi {
  /** 'legacy' (v5.4, `valid` flag) or 'shim' (interval notifier + sequence). */
  readonly name: 'legacy' | 'shim';
  /** hmm_mirror_register(): caller holds mmap_sem for write; 0, -EINVAL, or an allocation errno. */
  hmmMirrorRegister(mirror: HmmMirror, mm: MmStruct): Promise<number>;
  /** hmm_mirror_unregister(): no range of the mirror may still be registered. */
  hmmMirrorUnregister(mirror: HmmMirror): Promise<void>;
  /** hmm_range_register(): 0, -EINVAL (bad bounds), -EFAULT (mm exiting), or an errno of the backend. */
  hmmRangeRegister(range: HmmRange, mirror: HmmMirror): Promise<number>;
  /** hmm_range_unregister(): never sleeps long (legacy drivers call it under their lock). */
  hmmRangeUnregister(range: HmmRange): Promise<void>;
  /** hmm_range_valid(): the collision check, called under the lock the sync callback takes. */
  hmmRangeValid(range: HmmRange): boolean;
  /** hmm_range_wait_until_valid(): sleep up to `timeout` ms for the range to be valid. */
  hmmRangeWaitUntilValid(range: HmmRange, timeout: number): Promise<boolean>;
}

/**
 * The v5.4 implementation (struct hmm, `valid` flag, `notifiers` count; races R1 and R2).
 * Mirrors mm/hmm.c (v5.4) and include/linux/hmm.h (seed).
 */
export const legacyHmmMirrorApi: HmmMirrorApi = Object.freeze({
  name: 'legacy',
  hmmMirrorRegister,
  hmmMirrorUnregister,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
});
