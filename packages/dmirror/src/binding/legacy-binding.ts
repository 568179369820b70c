/**
 * The hmm_mirror builds: the same device on the v5.4 hmm_mirror API (`legacyHmmMirrorApi`: the
 * racy `valid` flag, R1 and R2 included) or on the compat shim (`shimHmmMirrorApi`: the same calls
 * over mmu_interval_notifier). The mirror's sync_cpu_device_pagetables does what the native
 * invalidate does (minus set_seq); each fault pass and each snapshot chunk registers its range
 * and uses the v5.4 loop: wait_until_valid, fault, lock, hmm_range_valid, commit, unregister.
 *
 * Mirrors the v5.4 driver pattern of Documentation/vm/hmm.rst ("the usage pattern") and
 * mm/hmm.c (v5.4): hmm_mirror_register(), hmm_range_register(), hmm_range_wait_until_valid(),
 * hmm_range_valid(), hmm_range_unregister(), as a dmirror written for v5.4 would use them.
 */
import { HMM_RANGE_DEFAULT_TIMEOUT, HmmMirror, type HmmMirrorApi } from '@hmmsim/hmm-mirror';
import type { HmmRange } from '@hmmsim/hmm-range';
import { downWrite, EAGAIN, mutexLock, mutexUnlock, ULONG_MAX, upWrite } from '@hmmsim/kernel';
import type { Dmirror } from '../dmirror.ts';
import { dmirrorDoUpdate, dmirrorInvalidate } from '../invalidate.ts';
import type { CollisionTracker, MirrorBinding } from './mirror-binding.ts';

/**
 * The hmm_mirror binding of one mirror, on `api` (legacy or shim).
 * Mirrors: a dmirror ported to the v5.4 hmm_mirror API.
 */
export class LegacyBinding implements MirrorBinding {
  readonly mirror: HmmMirror;

  constructor(
    readonly dmirror: Dmirror,
    readonly api: HmmMirrorApi,
  ) {
    this.mirror = new HmmMirror({
      syncCpuDevicePagetables: async (_m, update) =>
        (await dmirrorInvalidate(dmirror, update, null)) ? 0 : -EAGAIN,
      release: () => this.release(),
    });
  }

  /** 'legacy' or 'shim'. */
  get impl(): 'legacy' | 'shim' {
    return this.api.name;
  }

  /** hmm_mirror_ops.release: the mm is going away; stop every device access. */
  private async release(): Promise<void> {
    await mutexLock(this.dmirror.mutex);
    dmirrorDoUpdate(this.dmirror, 0, ULONG_MAX);
    mutexUnlock(this.dmirror.mutex);
  }

  /** hmm_mirror_register() under mmap_sem held for write. */
  async bind(): Promise<number> {
    const mm = this.dmirror.mm;
    await downWrite(mm.mmapSem);
    try {
      return await this.api.hmmMirrorRegister(this.mirror, mm);
    } finally {
      upWrite(mm.mmapSem);
    }
  }

  /** hmm_mirror_unregister(). */
  unbind(): Promise<void> {
    return this.api.hmmMirrorUnregister(this.mirror);
  }

  /** A registered range with the v5.4 validity protocol. */
  trackFault(range: HmmRange): Promise<CollisionTracker | number> {
    return this.track(range);
  }

  /** The same as a fault pass: the range's registration is the temporary subscription. */
  trackSnapshot(range: HmmRange): Promise<CollisionTracker | number> {
    return this.track(range);
  }

  private async track(range: HmmRange): Promise<CollisionTracker | number> {
    const api = this.api;
    const ret = await api.hmmRangeRegister(range, this.mirror);
    if (ret !== 0) return ret;
    return {
      begin: () => api.hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT),
      retry: () => !api.hmmRangeValid(range),
      end: () => api.hmmRangeUnregister(range),
    };
  }
}
