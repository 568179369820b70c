/**
 * The hmm_mirror builds: the same device on the v5.4 hmm_mirror API (`legacyHmmMirrorApi`: the
 * racy `valid` flag, R1 and R2 included) or on the compat shim (`shimHmmMirrorApi`: the same calls
 * over mmu_interval_notifier). The mirror's sync_cpu_device_pagetables does what the native
 * invalidate does (minus set_seq); each fault pass and each snapshot chunk registers its range
 * and uses the v5.4 loop: wait_until_valid, fault, lock, hmm_range_valid, commit, unregister.
 * hmm_range_fault() is the v5.4-style call with driver tables (`hmmVersion` '5.4' / 'seed' /
 * '5.5'), with the v5.7+ owner and snapshot behaviour done by hand (../hmm-mirror-range/).
 *
 * Mirrors the v5.4 driver pattern of Documentation/vm/hmm.rst ("the usage pattern") and
 * mm/hmm.c (v5.4): hmm_mirror_register(), hmm_range_register(), hmm_range_wait_until_valid(),
 * hmm_range_valid(), hmm_range_unregister(), as a dmirror written for v5.4 would use them.
 */
import { HMM_RANGE_DEFAULT_TIMEOUT, HmmMirror, type HmmMirrorApi } from '@hmmsim/hmm-mirror';
import { downWrite, EAGAIN, mutexLock, mutexUnlock, ULONG_MAX, upWrite } from '@hmmsim/kernel';
import type { Dmirror } from '../dmirror.ts';
import { dmirrorTableRange, tableRequest } from '../hmm-mirror-range/pfn-encoding.ts';
import { hmmMirrorRangeFault } from '../hmm-mirror-range/range-fault.ts';
import { dmirrorDoUpdate, dmirrorInvalidate } from '../invalidate.ts';
import type { DmirrorHmmMirrorConfig } from '../options.ts';
import type { DmirrorRangePass, MirrorBinding } from './mirror-binding.ts';

/**
 * The hmm_mirror binding of one mirror, on `api` (legacy or shim).
 * Mirrors: a dmirror ported to the v5.4 hmm_mirror API.
 */
export class LegacyBinding implements MirrorBinding {
  readonly mirror: HmmMirror;

  constructor(
    readonly dmirror: Dmirror,
    readonly api: HmmMirrorApi,
    readonly config: DmirrorHmmMirrorConfig,
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

  /** A registered range requesting faults, with the v5.4 validity protocol. */
  rangeFault(start: number, end: number, write: boolean): Promise<DmirrorRangePass | number> {
    return this.pass(start, end, false, write);
  }

  /** The same as a fault pass with nothing requested: the range's registration is the temporary subscription. */
  rangeSnapshot(start: number, end: number): Promise<DmirrorRangePass | number> {
    return this.pass(start, end, true, false);
  }

  /** hmm_range_register() of a new range; wait_until_valid / valid / unregister around it. */
  private async pass(
    start: number,
    end: number,
    snapshot: boolean,
    write: boolean,
  ): Promise<DmirrorRangePass | number> {
    const { api, dmirror, config } = this;
    const range = dmirrorTableRange(start, end, 0);
    range.defaultFlags = tableRequest(range, snapshot, write);
    const ret = await api.hmmRangeRegister(range, this.mirror);
    if (ret !== 0) return ret;
    const hmmPfns = new Float64Array(range.pfns.length);
    const req = { write, snapshot };
    return {
      start,
      end,
      hmmPfns,
      begin: () => api.hmmRangeWaitUntilValid(range, HMM_RANGE_DEFAULT_TIMEOUT),
      fault: () => hmmMirrorRangeFault(range, hmmPfns, dmirror, config, req),
      retry: () => !api.hmmRangeValid(range),
      finish: () => api.hmmRangeUnregister(range),
    };
  }
}
