import {
  downRead,
  downWrite,
  EAGAIN,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  upRead,
  upWrite,
} from '@hmmsim/kernel';
import {
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_UNMAP,
  mmput,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierInvalidateRangeStartNonblock,
  mmuNotifierRangeInit,
  munmap,
} from '@hmmsim/mm';
import {
  MmuNotifier,
  mmuNotifierGet,
  mmuNotifierMmOf,
  mmuNotifierPut,
  mmuNotifierRegister,
  mmuNotifierSetOptions,
  mmuNotifierSynchronize,
} from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import {
  asHmm,
  DEFAULT_HMM_OPTIONS,
  describeUpdate,
  Hmm,
  HmmMirror,
  hmmFreeNotifier,
  hmmInvalidateRangeEnd,
  hmmMirrorRegister,
  hmmMirrorUnregister,
  hmmMmuNotifierOps,
  hmmNotifiersDecrement,
  hmmOfMirror,
  hmmOptionsOf,
  hmmRangeOverlaps,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeWaitUntilValid,
  hmmRelease,
  hmmSetOptions,
  hmmSyncMirrors,
  legacyHmmMirrorApi,
  shimHmmMirrorApi,
} from '../src/index.ts';
import {
  BASE,
  clearRange,
  invalidate,
  journalMirror,
  range,
  register,
  runTasks,
  world,
} from './helpers.ts';

describe('hmm_mirror_register / struct hmm', () => {
  it('the first mirror creates the struct hmm (a legacy hlist notifier); later ones share it, newest first', async () => {
    const { mm } = await world();
    const j: string[] = [];
    const a = journalMirror('a', j);
    const b = journalMirror('b', j);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const hmm = a.hmm as Hmm;
    expect(hmm).toBeInstanceOf(Hmm);
    expect(hmm.kind).toBe('legacy');
    expect(hmm.mm).toBe(mm);
    expect(hmm.mmuNotifier).toBe(hmm);
    expect(hmm.users).toBe(1);
    expect(mmuNotifierMmOf(mm)?.first).toBe(hmm);
    expect(await register(legacyHmmMirrorApi, b, mm)).toBe(0);
    expect(b.hmm).toBe(hmm);
    expect(hmm.users).toBe(2);
    expect(hmm.mirrors).toEqual([b, a]);
    expect(hmm.notifiers).toBe(0);
    // Every invalidation of the mm reaches every mirror, unfiltered, newest mirror first.
    await invalidate(mm, BASE + 0x100000, BASE + 0x101000); // no range, no mapping there
    await munmap(mm, BASE + 0x3000, 0x1000);
    expect(j).toEqual([
      `b:${MMU_NOTIFY_CLEAR} 0x10100000-0x10101000`,
      `a:${MMU_NOTIFY_CLEAR} 0x10100000-0x10101000`,
      `b:${MMU_NOTIFY_UNMAP} 0x10003000-0x10004000`,
      `a:${MMU_NOTIFY_UNMAP} 0x10003000-0x10004000`,
    ]);
  });

  it('asserts mmap_sem held for write (lockdep)', async () => {
    const { mm } = await world();
    await expect(hmmMirrorRegister(journalMirror('a', []), mm)).rejects.toThrow(
      /mmap_sem held for write/,
    );
    await downRead(mm.mmapSem);
    await expect(hmmMirrorRegister(journalMirror('a', []), mm)).rejects.toThrow(KernelBugError);
    upRead(mm.mmapSem);
  });

  it('returns -EINVAL for a null mm, mirror or ops', async () => {
    const { mm } = await world();
    await downWrite(mm.mmapSem);
    expect(await hmmMirrorRegister(null, mm)).toBe(-EINVAL);
    expect(await hmmMirrorRegister(journalMirror('a', []), null)).toBe(-EINVAL);
    expect(await hmmMirrorRegister(new HmmMirror(null), mm)).toBe(-EINVAL);
    upWrite(mm.mmapSem);
    expect(mmuNotifierMmOf(mm)).toBeNull();
  });

  it('rejects ops without syncCpuDevicePagetables (the kernel calls it unconditionally)', async () => {
    const { mm } = await world();
    const m = new HmmMirror({} as never);
    await expect(register(legacyHmmMirrorApi, m, mm)).rejects.toThrow(/syncCpuDevicePagetables/);
  });

  it('registering a mirror twice is list corruption: KernelBugError', async () => {
    const { mm } = await world();
    const a = journalMirror('a', []);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    await expect(register(legacyHmmMirrorApi, a, mm)).rejects.toThrow(/already registered/);
    expect(a.hmm?.users).toBe(1);
  });

  it('unregister: the last put frees the struct hmm after a grace period; re-register creates a new one', async () => {
    const { mm, sched } = await world();
    const a = journalMirror('a', []);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const hmm = a.hmm as Hmm;
    await hmmMirrorUnregister(a);
    expect(a.hmm).toBeNull();
    expect(hmm.mirrors).toEqual([]);
    await mmuNotifierSynchronize(sched);
    expect(hmm.freed).toBe(true);
    expect(mmuNotifierMmOf(mm)?.first).toBeNull();
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    expect(a.hmm).not.toBe(hmm);
  });

  it('unregistering a mirror that is not registered, or with ranges still registered, is a bug', async () => {
    const { mm } = await world();
    const a = journalMirror('a', []);
    await expect(hmmMirrorUnregister(a)).rejects.toThrow(/not registered/);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const r = range();
    expect(await hmmRangeRegister(r, a)).toBe(0);
    await expect(hmmMirrorUnregister(a)).rejects.toThrow(/still registered/);
    await hmmRangeUnregister(r);
    await hmmMirrorUnregister(a);
    await expect(hmmMirrorUnregister(a)).rejects.toThrow(KernelBugError);
  });

  it('a legacy mirror cannot be used with the shim API (and vice versa)', async () => {
    const { mm } = await world();
    const a = journalMirror('a', []);
    const b = journalMirror('b', []);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    expect(await register(shimHmmMirrorApi, b, mm)).toBe(0);
    expect(a.hmm).not.toBe(b.hmm); // two struct hmm on one mm, one per API
    await expect(shimHmmMirrorApi.hmmRangeRegister(range(), a)).rejects.toThrow(/legacy API/);
    await expect(legacyHmmMirrorApi.hmmRangeRegister(range(), b)).rejects.toThrow(/shim API/);
    await expect(shimHmmMirrorApi.hmmMirrorUnregister(a)).rejects.toThrow(KernelBugError);
    expect(() => hmmOfMirror(a, 'x', 'legacy')).not.toThrow();
  });

  it('release at exit: every mirror gets release (newest first); unregister afterwards still works', async () => {
    const { mm, sched } = await world();
    const j: string[] = [];
    const a = journalMirror('a', j);
    const b = journalMirror('b', j);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    expect(await register(legacyHmmMirrorApi, b, mm)).toBe(0);
    const hmm = a.hmm as Hmm;
    await mmput(mm); // last user: exit_mmap -> mmu_notifier_release -> hmm_release
    expect(j.filter((x) => x.endsWith('release'))).toEqual(['b:release', 'a:release']);
    expect(mm.exited).toBe(true);
    await hmmMirrorUnregister(b);
    await hmmMirrorUnregister(a);
    await mmuNotifierSynchronize(sched);
    expect(hmm.freed).toBe(true);
  });

  it('hmmMirrorUnregister from inside release is a bug (it would deadlock on mirrors_sem)', async () => {
    const { mm } = await world();
    let err: unknown;
    const a: HmmMirror = new HmmMirror({
      syncCpuDevicePagetables: () => 0,
      release: async () => {
        try {
          await hmmMirrorUnregister(a);
        } catch (e) {
          err = e;
        }
      },
    });
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    await mmput(mm);
    expect(err).toBeInstanceOf(KernelBugError);
    expect(String(err)).toMatch(/release callback/);
  });

  it('hmm_release WARNs if a range is registered; hmm_free_notifier WARNs on leftovers', async () => {
    const { mm } = await world();
    const a = journalMirror('a', []);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const hmm = a.hmm as Hmm;
    const r = range();
    expect(await hmmRangeRegister(r, a)).toBe(0);
    await expect(hmmRelease(hmm, mm)).rejects.toThrow(/still registered/);
    expect(() => hmmFreeNotifier(hmm)).toThrow(/still listed/);
    await hmmRangeUnregister(r);
    expect(() => hmmFreeNotifier(hmm)).toThrow(/1 mirror/);
    expect(() => asHmm({} as never)).toThrow(KernelBugError);
  });

  it('non-blockable start: a mirror returning -EAGAIN fails the start; the count is undone at once', async () => {
    const { mm } = await world();
    const j: string[] = [];
    const a = new HmmMirror({
      syncCpuDevicePagetables: (_m, u) => {
        j.push(`a:${u.flags}`);
        return (u.flags & 1) === 0 ? -EAGAIN : 0;
      },
    });
    const b = journalMirror('b', j);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0); // older: called after b
    expect(await register(legacyHmmMirrorApi, b, mm)).toBe(0);
    const hmm = a.hmm as Hmm;
    const r = range();
    expect(await hmmRangeRegister(r, a)).toBe(0);
    const nb = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, BASE, BASE + 0x1000);
    expect(await mmuNotifierInvalidateRangeStartNonblock(nb)).toBe(-EAGAIN);
    expect(j).toEqual([`b:${MMU_NOTIFY_CLEAR} 0x10000000-0x10001000`, 'a:0']);
    expect(hmm.notifiers).toBe(0);
    expect(r.valid).toBe(true); // marked invalid, then made valid again by the undo
    await hmmRangeUnregister(r);
  });

  it('non-blockable start: contended mirrors_sem gives -EAGAIN without calling any mirror', async () => {
    const { mm } = await world();
    const j: string[] = [];
    const a = journalMirror('a', j);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const hmm = a.hmm as Hmm;
    await downWrite(hmm.mirrorsSem);
    const nb = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, BASE, BASE + 0x1000);
    expect(await mmuNotifierInvalidateRangeStartNonblock(nb)).toBe(-EAGAIN);
    upWrite(hmm.mirrorsSem);
    expect(j).toEqual([]);
    expect(hmm.notifiers).toBe(0);
  });

  for (const mode of ['v5.4', 'fixed'] as const) {
    it(`R3 (${mode}): a later hlist subscriber fails a non-blockable start after struct hmm's start succeeded`, async () => {
      const { mm, sched } = await world();
      mmuNotifierSetOptions(mm, { unpairedStartEnd: mode });
      // Registered before struct hmm, so called after it (newest first); it has no end.
      const failer = new MmuNotifier({
        invalidateRangeStart: (_mn, u) => (u.flags & 1 ? 0 : -EAGAIN),
      });
      expect(await mmuNotifierRegister(failer, mm)).toBe(0);
      const j: string[] = [];
      const a = journalMirror('a', j);
      expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
      const hmm = a.hmm as Hmm;
      const r = range(BASE, 1);
      expect(await hmmRangeRegister(r, a)).toBe(0);
      const nb = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, BASE, BASE + 0x1000);
      expect(await mmuNotifierInvalidateRangeStartNonblock(nb)).toBe(-EAGAIN);
      expect(j).toEqual([`a:${MMU_NOTIFY_CLEAR} 0x10000000-0x10001000`]); // hmm's start ran
      let waited: boolean | undefined;
      await runTasks(sched, {
        async driver() {
          await invalidate(mm, BASE + 0x100000, BASE + 0x101000); // a later, complete one
          waited = await hmmRangeWaitUntilValid(r, 100);
        },
      });
      if (mode === 'v5.4') {
        // hmm never gets the end of its successful start: notifiers leaks, the range is stuck.
        expect(hmm.notifiers).toBe(1);
        expect([r.valid, waited]).toEqual([false, false]);
      } else {
        // c2655835fd8c: every subscriber implementing end gets it, so hmm counts back to 0.
        expect(hmm.notifiers).toBe(0);
        expect([r.valid, waited]).toEqual([true, true]);
      }
      await hmmRangeUnregister(r);
    });
  }

  it('a mirror error in a blockable invalidation is the kernel WARN: KernelBugError, count undone', async () => {
    const { mm } = await world();
    const a = new HmmMirror({ syncCpuDevicePagetables: () => -EAGAIN });
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const r = clearRange(mm, BASE, BASE + 0x1000);
    await expect(mmuNotifierInvalidateRangeStart(r)).rejects.toThrow(/WARN: hmm_mirror sync/);
    expect(a.hmm?.notifiers).toBe(0);
  });

  it('counts in-flight invalidations in notifiers; the end of the last revalidates every range', async () => {
    const { mm } = await world();
    const a = journalMirror('a', []);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const hmm = a.hmm as Hmm;
    const inside = range(BASE, 1);
    const outside = range(BASE + 0x2000, 1);
    expect(await hmmRangeRegister(inside, a)).toBe(0);
    expect(await hmmRangeRegister(outside, a)).toBe(0);
    expect(hmm.ranges).toEqual([outside, inside]);
    const r1 = clearRange(mm, BASE, BASE + 0x1000);
    const r2 = clearRange(mm, BASE + 0x100000, BASE + 0x101000);
    await mmuNotifierInvalidateRangeStart(r1);
    await mmuNotifierInvalidateRangeStart(r2);
    expect(hmm.notifiers).toBe(2);
    expect([inside.valid, outside.valid]).toEqual([false, true]);
    await mmuNotifierInvalidateRangeEnd(r1);
    expect(inside.valid).toBe(false); // R2: waits for the unrelated invalidation too
    await mmuNotifierInvalidateRangeEnd(r2);
    expect(hmm.notifiers).toBe(0);
    expect([inside.valid, outside.valid]).toEqual([true, true]);
    await hmmRangeUnregister(inside);
    await hmmRangeUnregister(outside);
  });
});

describe('the overlap test (quirk Q11)', () => {
  it('v5.4 treats a range touching the end of the update as overlapping; exact does not', () => {
    const r = { start: 0x2000, end: 0x3000 };
    expect(hmmRangeOverlaps(r, { start: 0x1000, end: 0x2000 })).toBe(true);
    expect(hmmRangeOverlaps(r, { start: 0x1000, end: 0x2000 }, 'exact')).toBe(false);
    expect(hmmRangeOverlaps(r, { start: 0x3000, end: 0x4000 })).toBe(false);
    expect(hmmRangeOverlaps(r, { start: 0x2fff, end: 0x4000 }, 'exact')).toBe(true);
    expect(hmmRangeOverlaps(r, { start: 0, end: 0x1fff })).toBe(false);
  });

  it('hmmSetOptions switches it per mm; bad values are rejected', async () => {
    const { mm } = await world();
    expect(hmmOptionsOf(mm)).toBe(DEFAULT_HMM_OPTIONS);
    const a = journalMirror('a', []);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const r = range(BASE + 0x1000, 1);
    expect(await hmmRangeRegister(r, a)).toBe(0);
    const touching = clearRange(mm, BASE, BASE + 0x1000);
    await mmuNotifierInvalidateRangeStart(touching);
    expect(r.valid).toBe(false);
    await mmuNotifierInvalidateRangeEnd(touching);
    expect(hmmSetOptions(mm, { overlapTest: 'exact' }).overlapTest).toBe('exact');
    const again = clearRange(mm, BASE, BASE + 0x1000);
    await mmuNotifierInvalidateRangeStart(again);
    expect(r.valid).toBe(true);
    await mmuNotifierInvalidateRangeEnd(again);
    expect(() => hmmSetOptions(mm, { overlapTest: 'nope' as never })).toThrow(InvalidArgumentError);
    await hmmRangeUnregister(r);
  });

  it('the legacy ops object is shared (mmu_notifier_get finds the struct hmm by it)', async () => {
    expect(Object.isFrozen(hmmMmuNotifierOps)).toBe(true);
    const { mm } = await world();
    const a = journalMirror('a', []);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const hmm = a.hmm as Hmm;
    // Another get with the same ops object takes a reference on the same struct hmm.
    expect(await mmuNotifierGet(hmmMmuNotifierOps, mm)).toBe(hmm);
    expect(hmm.users).toBe(2);
    await mmuNotifierPut(hmm);
    expect(hmm.users).toBe(1);
    await hmmMirrorUnregister(a);
    expect(hmm.users).toBe(0);
  });
});

describe('internal accounting misuse', () => {
  it('an end without a start (notifiers would go negative) is a bug', async () => {
    const { mm } = await world();
    const a = journalMirror('a', []);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    const hmm = a.hmm as Hmm;
    await expect(hmmNotifiersDecrement(hmm)).rejects.toThrow(
      /notifiers_decrement with notifiers 0/,
    );
    await expect(hmmInvalidateRangeEnd(hmm, clearRange(mm, BASE, BASE + 0x1000))).rejects.toThrow(
      KernelBugError,
    );
  });

  it('a registered mirror whose ops were cleared is caught at the next invalidation', async () => {
    const { mm } = await world();
    const a = journalMirror('a', []);
    expect(await register(legacyHmmMirrorApi, a, mm)).toBe(0);
    a.ops = null;
    await expect(hmmSyncMirrors(a.hmm as Hmm, clearRange(mm, BASE, BASE + 0x1000))).rejects.toThrow(
      /no ops/,
    );
    expect(describeUpdate(clearRange(mm, 0x1000, 0x2000))).toBe('CLEAR 0x1000-0x2000');
  });
});
