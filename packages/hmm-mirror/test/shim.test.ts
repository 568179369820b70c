import { HMM_FAULT_SNAPSHOT, hmmRangeFault } from '@hmmsim/hmm-range';
import {
  downRead,
  EAGAIN,
  EBUSY,
  EFAULT,
  EINVAL,
  KernelBugError,
  Mutex,
  mutexLock,
  mutexUnlock,
  upRead,
} from '@hmmsim/kernel';
import {
  MMU_NOTIFY_CLEAR,
  mmput,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierInvalidateRangeStartNonblock,
  mmuNotifierRangeInit,
} from '@hmmsim/mm';
import { MmuIntervalNotifier, mmuNotifierMmOf, mmuNotifierSynchronize } from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import {
  HMM_RANGE_DEFAULT_TIMEOUT,
  HMM_RANGE_POISON,
  type Hmm,
  HmmMirror,
  legacyHmmMirrorApi,
  shim,
  shimHmmMirrorApi,
} from '../src/index.ts';
import {
  BASE,
  clearRange,
  invalidate,
  invalidateSlowly,
  journalMirror,
  msleep,
  overlappingUnrelatedInvalidations,
  range,
  register,
  runTasks,
  world,
} from './helpers.ts';

const api = shimHmmMirrorApi;

async function setup() {
  const w = await world();
  const j: string[] = [];
  const mirror = journalMirror('m', j);
  expect(await register(api, mirror, w.mm)).toBe(0);
  return { ...w, mirror, j, hmm: mirror.hmm as Hmm };
}

describe('compat shim: the API object', () => {
  it('has the same function names as the legacy API', () => {
    expect(Object.keys(shimHmmMirrorApi).sort()).toEqual(Object.keys(legacyHmmMirrorApi).sort());
    expect(shimHmmMirrorApi.name).toBe('shim');
    expect(shim.shimHmmMirrorApi).toBe(shimHmmMirrorApi);
    expect(shim.hmmRangeRegister).toBe(shimHmmMirrorApi.hmmRangeRegister);
  });
});

describe('compat shim: mirrors', () => {
  it('register: a shim struct hmm (legacy notifier for the callbacks) and the interval tree switched on', async () => {
    const { mm, hmm, j } = await setup();
    expect(hmm.kind).toBe('shim');
    expect(mmuNotifierMmOf(mm)?.hasItree).toBe(true);
    expect(mmuNotifierMmOf(mm)?.first).toBe(hmm);
    await invalidate(mm, BASE + 0x100000, BASE + 0x101000); // no range anywhere: still delivered
    expect(j).toEqual([`m:${MMU_NOTIFY_CLEAR} 0x10100000-0x10101000`]);
    expect(hmm.notifiers).toBe(0); // the shim keeps no count
  });

  it('bad input and misuse as in v5.4', async () => {
    const { mm, mirror } = await setup();
    expect(await shim.hmmMirrorRegister(null, mm)).toBe(-EINVAL);
    await expect(shim.hmmMirrorRegister(journalMirror('x', []), mm)).rejects.toThrow(/mmap_sem/);
    await expect(register(api, mirror, mm)).rejects.toThrow(/already registered/);
    await expect(api.hmmMirrorUnregister(journalMirror('y', []))).rejects.toThrow(/not registered/);
  });

  it('non-blockable: a mirror returning -EAGAIN fails the start (sync still delivered)', async () => {
    const { mm } = await world();
    const m = new HmmMirror({
      syncCpuDevicePagetables: (_m, u) => ((u.flags & 1) === 0 ? -EAGAIN : 0),
    });
    expect(await register(api, m, mm)).toBe(0);
    const nb = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, BASE, BASE + 0x1000);
    expect(await mmuNotifierInvalidateRangeStartNonblock(nb)).toBe(-EAGAIN);
  });

  it('release at exit reaches the mirrors; unregister and free afterwards', async () => {
    const { mm, mirror, j, hmm, sched } = await setup();
    await mmput(mm);
    expect(j).toContain('m:release');
    await api.hmmMirrorUnregister(mirror);
    await mmuNotifierSynchronize(sched);
    expect(hmm.freed).toBe(true);
  });
});

describe('compat shim: the interval notifier of a range', () => {
  it('its invalidate records the sequence and never refuses; reaping with nothing pending is a no-op', async () => {
    const { mm, mirror, hmm } = await setup();
    const r = range(BASE, 1);
    expect(await api.hmmRangeRegister(r, mirror)).toBe(0);
    const mni = r.notifier as MmuIntervalNotifier;
    const nb = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, BASE, BASE + 0x1000);
    // Non-blockable: the interval part runs (and never refuses); the journaling mirror accepts.
    expect(await mmuNotifierInvalidateRangeStartNonblock(nb)).toBe(0);
    const cur = mmuNotifierMmOf(mm)?.invalidateSeq as number;
    expect(cur % 2).toBe(1);
    expect(mni.invalidateSeq).toBe(cur);
    expect(shim.shimIntervalOps.invalidate(mni, nb, cur)).toBe(true); // called again: same seq
    expect(api.hmmRangeValid(r)).toBe(false);
    await mmuNotifierInvalidateRangeEnd(nb);
    await shim.reapShimNotifiers(hmm, false);
    expect(shim.shimPendingRemovals(hmm)).toEqual([]);
    await api.hmmRangeUnregister(r);
    await shim.reapShimNotifiers(hmm, false);
    expect(mni.state).toBe('idle');
  });
});

describe('compat shim: ranges', () => {
  it('register inserts an interval notifier over the range and begins a read section', async () => {
    const { mm, mirror, hmm } = await setup();
    const users = mm.mmUsers;
    const r = range();
    expect(await api.hmmRangeRegister(r, mirror)).toBe(0);
    expect(r.notifier).toBeInstanceOf(shim.ShimRangeNotifier);
    const mni = r.notifier as MmuIntervalNotifier;
    expect([mni.itStart, mni.itLast]).toEqual([r.start, r.end - 1]);
    expect(r.notifierSeq).toBe(mni.invalidateSeq);
    expect(r.hmm).toBe(hmm);
    expect(hmm.ranges).toEqual([r]);
    expect(api.hmmRangeValid(r)).toBe(true);
    expect(mm.mmUsers).toBe(users + 1);
    await api.hmmRangeUnregister(r);
    expect(mm.mmUsers).toBe(users);
    expect([r.notifier, r.valid, r.hmm]).toEqual([null, false, HMM_RANGE_POISON]);
    expect(api.hmmRangeValid(r)).toBe(false);
  });

  it('bad bounds -EINVAL, exiting mm -EFAULT, misuse KernelBugError', async () => {
    const { mirror } = await setup();
    const bad = range();
    bad.end = bad.start;
    expect(await api.hmmRangeRegister(bad, mirror)).toBe(-EINVAL);
    expect([bad.valid, bad.hmm, bad.notifier]).toEqual([false, null, null]);
    const r = range();
    await expect(api.hmmRangeUnregister(r)).rejects.toThrow(/not registered/);
    expect(await api.hmmRangeRegister(r, mirror)).toBe(0);
    await expect(api.hmmRangeRegister(r, mirror)).rejects.toThrow(/already registered/);
    r.notifier = new MmuIntervalNotifier();
    await expect(api.hmmRangeWaitUntilValid(r, 10)).rejects.toThrow(/range.notifier was changed/);
    await expect(api.hmmRangeUnregister(r)).rejects.toThrow(KernelBugError);
    await expect(api.hmmRangeWaitUntilValid(range(), 10)).rejects.toThrow(/not registered/);
    const other = await setup();
    await mmput(other.mm);
    expect(await api.hmmRangeRegister(range(), other.mirror)).toBe(-EFAULT);
  });

  it('R1 fixed: an invalidation that starts and ends after the fault makes hmmRangeValid false', async () => {
    const { mm, mirror } = await setup();
    const r = range(BASE, 1);
    expect(await api.hmmRangeRegister(r, mirror)).toBe(0);
    expect(await api.hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT)).toBe(true);
    await downRead(mm.mmapSem);
    expect(await hmmRangeFault(r, HMM_FAULT_SNAPSHOT)).toBe(1);
    upRead(mm.mmapSem);
    await invalidate(mm, BASE, BASE + 0x1000);
    expect(api.hmmRangeValid(r)).toBe(false);
    // It stays invalid (legacy: true again at the end) and hmm_range_fault sees the collision...
    await downRead(mm.mmapSem);
    expect(await hmmRangeFault(r, HMM_FAULT_SNAPSHOT)).toBe(-EBUSY);
    upRead(mm.mmapSem);
    expect(api.hmmRangeValid(r)).toBe(false);
    // ...until wait_until_valid begins a new read section (no sleep: the window is over).
    expect(await api.hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT)).toBe(true);
    expect(api.hmmRangeValid(r)).toBe(true);
    await downRead(mm.mmapSem);
    expect(await hmmRangeFault(r, HMM_FAULT_SNAPSHOT)).toBe(1);
    upRead(mm.mmapSem);
    await api.hmmRangeUnregister(r);
  });

  it('invalidations that do not touch the range leave it valid', async () => {
    const { mm, mirror } = await setup();
    const r = range(BASE, 1);
    expect(await api.hmmRangeRegister(r, mirror)).toBe(0);
    await invalidate(mm, BASE + 0x1000, BASE + 0x2000); // touching: [start, end) do not overlap
    expect(api.hmmRangeValid(r)).toBe(true);
    await api.hmmRangeUnregister(r);
  });

  it("differs from legacy's Q11: an invalidation ending exactly at range.start leaves it valid", async () => {
    const answers: Record<string, boolean> = {};
    for (const which of [legacyHmmMirrorApi, shimHmmMirrorApi]) {
      const { mm } = await world();
      const mirror = journalMirror('m', []);
      expect(await register(which, mirror, mm)).toBe(0);
      const r = range(BASE, 1);
      expect(await which.hmmRangeRegister(r, mirror)).toBe(0);
      const u = clearRange(mm, BASE - 0x1000, BASE); // touches the range's first byte
      await mmuNotifierInvalidateRangeStart(u);
      answers[which.name] = which.hmmRangeValid(r);
      await mmuNotifierInvalidateRangeEnd(u);
      await which.hmmRangeUnregister(r);
    }
    expect(answers).toEqual({ legacy: false, shim: true });
  });

  it('a range registered during an in-flight invalidation starts invalid; wait sleeps until the window ends', async () => {
    const { mm, mirror, sched } = await setup();
    const r = range(BASE, 1);
    let during: boolean | undefined;
    let got: boolean | undefined;
    let windowOpen: boolean | undefined;
    await runTasks(sched, {
      async elsewhere() {
        await invalidateSlowly(mm, BASE + 0x100000, BASE + 0x101000, 100);
      },
      async driver() {
        expect(await api.hmmRangeRegister(r, mirror)).toBe(0);
        during = api.hmmRangeValid(r);
        got = await api.hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT);
        windowOpen = mmuNotifierMmOf(mm)?.isInvalidating();
      },
    });
    expect(during).toBe(false);
    expect(got).toBe(true);
    expect(windowOpen).toBe(false);
    expect(api.hmmRangeValid(r)).toBe(true);
    await api.hmmRangeUnregister(r);
  });

  it('wait times out after the timeout in virtual time while the window stays open', async () => {
    const { mm, mirror, sched } = await setup();
    const r = range(BASE, 1);
    expect(await api.hmmRangeRegister(r, mirror)).toBe(0);
    let got: boolean | undefined;
    let waited = -1;
    await runTasks(sched, {
      async invalidator() {
        await invalidateSlowly(mm, BASE, BASE + 0x1000, 2000);
      },
      async driver() {
        const j0 = sched.clock.jiffies;
        got = await api.hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT);
        waited = sched.clock.jiffies - j0;
      },
    });
    expect(got).toBe(false);
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(252);
    expect(api.hmmRangeValid(r)).toBe(false);
    expect(await api.hmmRangeWaitUntilValid(r, 10)).toBe(true);
    await api.hmmRangeUnregister(r);
  });

  it('R2 is kept: overlapping unrelated invalidations keep a fresh range invalid past the timeout', async () => {
    const { mm, mirror, sched } = await setup();
    const r = range(BASE, 1);
    let got: boolean | undefined;
    await runTasks(sched, {
      async elsewhere() {
        await overlappingUnrelatedInvalidations(mm);
      },
      async driver() {
        expect(await api.hmmRangeRegister(r, mirror)).toBe(0);
        expect(api.hmmRangeValid(r)).toBe(false);
        got = await api.hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT);
      },
    });
    expect(got).toBe(false);
    expect(await api.hmmRangeWaitUntilValid(r, 10)).toBe(true); // every window has ended now
    await api.hmmRangeUnregister(r);
  });

  it('unregister never sleeps: under the driver lock during an open window the notifier removal is deferred', async () => {
    const { mm, sched } = await world();
    const lock = new Mutex(sched, 'driver.update');
    const mirror = new HmmMirror({
      syncCpuDevicePagetables: async () => {
        await mutexLock(lock);
        mutexUnlock(lock);
        return 0;
      },
    });
    expect(await register(api, mirror, mm)).toBe(0);
    const hmm = mirror.hmm as Hmm;
    const r = range(BASE, 1);
    expect(await api.hmmRangeRegister(r, mirror)).toBe(0);
    const mni = r.notifier as MmuIntervalNotifier;
    await runTasks(sched, {
      async driver() {
        await mutexLock(lock);
        await msleep(sched, 10); // the invalidation starts meanwhile and blocks on `lock`
        expect(mmuNotifierMmOf(mm)?.isInvalidating()).toBe(true);
        await api.hmmRangeUnregister(r); // would deadlock if it waited for the window
        mutexUnlock(lock);
      },
      async invalidator() {
        await invalidate(mm, BASE, BASE + 0x1000);
      },
    });
    expect(shim.shimPendingRemovals(hmm)).toEqual([mni]);
    expect(mni.state).toBe('inserted');
    // The next wait (outside any window) or the mirror's unregister removes it.
    const r2 = range(BASE + 0x1000, 1);
    expect(await api.hmmRangeRegister(r2, mirror)).toBe(0);
    expect(await api.hmmRangeWaitUntilValid(r2, 10)).toBe(true);
    expect(shim.shimPendingRemovals(hmm)).toEqual([]);
    expect(mni.state).toBe('idle');
    await api.hmmRangeUnregister(r2);
    expect(shim.shimPendingRemovals(hmm).length).toBe(1);
    await api.hmmMirrorUnregister(mirror);
    expect(shim.shimPendingRemovals(hmm)).toEqual([]);
  });

  it('R3 hazard kept from v5.5: a mirror refusing a non-blockable start leaks the interval accounting', async () => {
    const { mm } = await world();
    const m = new HmmMirror({
      syncCpuDevicePagetables: (_m, u) => ((u.flags & 1) === 0 ? -EAGAIN : 0),
    });
    expect(await register(api, m, mm)).toBe(0);
    const r = range(BASE, 1);
    expect(await api.hmmRangeRegister(r, m)).toBe(0);
    const nb = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, BASE, BASE + 0x1000);
    expect(await mmuNotifierInvalidateRangeStartNonblock(nb)).toBe(-EAGAIN);
    const core = mmuNotifierMmOf(mm);
    expect(core?.activeInvalidateRanges).toBe(1); // never ended: the window stays open
    expect(core?.isInvalidating()).toBe(true);
    expect(api.hmmRangeValid(r)).toBe(false);
    expect(await api.hmmRangeWaitUntilValid(r, 100)).toBe(false);
  });
});
