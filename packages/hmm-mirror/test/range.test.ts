import { HMM_FAULT_SNAPSHOT, hmmRangeFault } from '@hmmsim/hmm-range';
import {
  downRead,
  EBUSY,
  EFAULT,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  msecsToJiffies,
  upRead,
} from '@hmmsim/kernel';
import { mmput, mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  HMM_RANGE_DEFAULT_TIMEOUT,
  HMM_RANGE_POISON,
  type Hmm,
  hmmRangeCheckBounds,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
  legacyHmmMirrorApi,
  rangeRegistration,
  rangesOfMirror,
} from '../src/index.ts';
import {
  BASE,
  clearRange,
  invalidate,
  invalidateSlowly,
  journalMirror,
  overlappingUnrelatedInvalidations,
  range,
  register,
  runTasks,
  world,
} from './helpers.ts';

async function setup() {
  const w = await world();
  const mirror = journalMirror('m', []);
  expect(await register(legacyHmmMirrorApi, mirror, w.mm)).toBe(0);
  return { ...w, mirror, hmm: mirror.hmm as Hmm };
}

describe('hmm_range_register / hmm_range_unregister (legacy)', () => {
  it('links the range (newest first), pins mm_users, starts valid when no invalidation is in flight', async () => {
    const { mm, mirror, hmm } = await setup();
    const users = mm.mmUsers;
    const a = range();
    const b = range(BASE, 1);
    expect(await hmmRangeRegister(a, mirror)).toBe(0);
    expect(await hmmRangeRegister(b, mirror)).toBe(0);
    expect(hmm.ranges).toEqual([b, a]);
    expect(a.hmm).toBe(hmm);
    expect(a.valid).toBe(true);
    expect(hmmRangeValid(a)).toBe(true);
    expect(mm.mmUsers).toBe(users + 2);
    expect(rangeRegistration(a)?.mirror).toBe(mirror);
    expect(rangesOfMirror(mirror)).toBe(2);
    await hmmRangeUnregister(a);
    expect(a.valid).toBe(false);
    expect(a.hmm).toBe(HMM_RANGE_POISON);
    expect(hmm.ranges).toEqual([b]);
    expect(mm.mmUsers).toBe(users + 1);
    expect(hmmRangeValid(a)).toBe(false);
    await hmmRangeUnregister(b);
    expect(rangesOfMirror(mirror)).toBe(0);
    // A range may be registered again after unregister.
    expect(await hmmRangeRegister(a, mirror)).toBe(0);
    await hmmRangeUnregister(a);
  });

  it('bad bounds: -EINVAL, valid false, hmm null, nothing pinned', async () => {
    const { mm, mirror, hmm } = await setup();
    const users = mm.mmUsers;
    for (const [start, end] of [
      [BASE + 1, BASE + 0x1000],
      [BASE, BASE + 0x1001],
      [BASE + 0x1000, BASE + 0x1000],
      [BASE + 0x2000, BASE + 0x1000],
    ] as const) {
      const r = range();
      r.start = start;
      r.end = end;
      r.valid = true;
      expect(await hmmRangeRegister(r, mirror)).toBe(-EINVAL);
      expect(r.valid).toBe(false);
      expect(r.hmm).toBeNull();
      expect(hmmRangeCheckBounds(r)).toBe(-EINVAL);
    }
    // Bounds no C struct could hold: a typed error before anything changes (valid stays true).
    for (const [start, end] of [
      [-0x1000, BASE],
      [Number.NaN, BASE],
      [BASE, Number.POSITIVE_INFINITY],
    ] as const) {
      const r = range();
      r.start = start;
      r.end = end;
      r.valid = true;
      await expect(hmmRangeRegister(r, mirror)).rejects.toThrow(
        /hmm_range_register: range\.(start|end) is .*; expected an address/,
      );
      expect(r.valid).toBe(true);
      expect(() => hmmRangeCheckBounds(r)).toThrow(InvalidArgumentError);
    }
    expect(hmm.ranges).toEqual([]);
    expect(mm.mmUsers).toBe(users);
    expect(hmmRangeCheckBounds({ start: 0, end: 0x1000 })).toBe(0);
  });

  it('an exiting mm: -EFAULT', async () => {
    const { mm, mirror } = await setup();
    await mmput(mm); // the last user: the address space is torn down
    const r = range();
    expect(await hmmRangeRegister(r, mirror)).toBe(-EFAULT);
    expect(r.hmm).toBeNull();
  });

  it('misuse: registering twice, unregistering an unregistered range, an unregistered mirror', async () => {
    const { mirror } = await setup();
    const r = range();
    await expect(hmmRangeUnregister(r)).rejects.toThrow(/range->hmm is NULL/);
    expect(await hmmRangeRegister(r, mirror)).toBe(0);
    await expect(hmmRangeRegister(r, mirror)).rejects.toThrow(/already registered/);
    expect(r.valid).toBe(true); // the failed call changed nothing
    await hmmRangeUnregister(r);
    await expect(hmmRangeUnregister(r)).rejects.toThrow(/poisoned/);
    await expect(hmmRangeWaitUntilValid(r, 10)).rejects.toThrow(KernelBugError);
    const stranger = journalMirror('x', []);
    await expect(hmmRangeRegister(range(), stranger)).rejects.toThrow(/not registered/);
  });

  it('an invalidation overlapping the range clears valid until the last end; others leave it alone', async () => {
    const { mm, mirror } = await setup();
    const r = range(BASE, 2);
    expect(await hmmRangeRegister(r, mirror)).toBe(0);
    await invalidate(mm, BASE + 0x3000, BASE + 0x4000);
    expect(r.valid).toBe(true);
    const u = clearRange(mm, BASE + 0x1000, BASE + 0x2000);
    await mmuNotifierInvalidateRangeStart(u);
    expect(hmmRangeValid(r)).toBe(false);
    await mmuNotifierInvalidateRangeEnd(u);
    expect(hmmRangeValid(r)).toBe(true);
    await hmmRangeUnregister(r);
  });

  it('R2: a range registered while any invalidation of the mm is in flight starts invalid', async () => {
    const { mm, mirror } = await setup();
    const elsewhere = clearRange(mm, BASE + 0x100000, BASE + 0x101000);
    await mmuNotifierInvalidateRangeStart(elsewhere);
    const r = range();
    expect(await hmmRangeRegister(r, mirror)).toBe(0);
    expect(r.valid).toBe(false);
    await mmuNotifierInvalidateRangeEnd(elsewhere);
    expect(r.valid).toBe(true);
    await hmmRangeUnregister(r);
  });

  it('R1: an invalidation that starts and ends after hmm_range_fault() goes unnoticed by hmm_range_valid()', async () => {
    const { mm, mirror } = await setup();
    const r = range(BASE, 1);
    expect(await hmmRangeRegister(r, mirror)).toBe(0);
    await downRead(mm.mmapSem);
    expect(await hmmRangeFault(r, HMM_FAULT_SNAPSHOT)).toBe(1);
    upRead(mm.mmapSem);
    await invalidate(mm, BASE, BASE + 0x1000); // the whole invalidation, in between
    expect(hmmRangeValid(r)).toBe(true); // WRONG, and that is the point
    await hmmRangeUnregister(r);
  });

  it('hmm_range_fault() on a legacy range sees valid == false as a collision (-EBUSY)', async () => {
    const { mm, mirror } = await setup();
    const r = range(BASE, 1);
    expect(await hmmRangeRegister(r, mirror)).toBe(0);
    const u = clearRange(mm, BASE, BASE + 0x1000);
    await mmuNotifierInvalidateRangeStart(u);
    await downRead(mm.mmapSem);
    expect(await hmmRangeFault(r, HMM_FAULT_SNAPSHOT)).toBe(-EBUSY);
    upRead(mm.mmapSem);
    await mmuNotifierInvalidateRangeEnd(u);
    await hmmRangeUnregister(r);
  });
});

describe('hmm_range_wait_until_valid (legacy)', () => {
  it('HMM_RANGE_DEFAULT_TIMEOUT is 1000 ms = 250 jiffies', () => {
    expect(HMM_RANGE_DEFAULT_TIMEOUT).toBe(1000);
    expect(msecsToJiffies(HMM_RANGE_DEFAULT_TIMEOUT)).toBe(250);
  });

  it('returns true at once for a valid range; rejects a bad timeout', async () => {
    const { mirror, sched } = await setup();
    const r = range();
    expect(await hmmRangeRegister(r, mirror)).toBe(0);
    const j0 = sched.clock.jiffies;
    expect(await hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT)).toBe(true);
    expect(sched.clock.jiffies - j0).toBeLessThan(1);
    await expect(hmmRangeWaitUntilValid(r, -1)).rejects.toThrow(InvalidArgumentError);
    await expect(hmmRangeWaitUntilValid(r, 1.5)).rejects.toThrow(InvalidArgumentError);
    await hmmRangeUnregister(r);
  });

  it('sleeps until the last invalidation ends, then returns true', async () => {
    const { mm, mirror, sched } = await setup();
    const r = range();
    expect(await hmmRangeRegister(r, mirror)).toBe(0);
    let got: boolean | undefined;
    await runTasks(sched, {
      async invalidator() {
        await invalidateSlowly(mm, BASE, BASE + 0x1000, 100);
      },
      async waiter() {
        got = await hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT);
      },
    });
    expect(got).toBe(true);
    await hmmRangeUnregister(r);
  });

  it('R2 starvation: unrelated invalidations kept in flight make a fresh range time out after 1000 ms of virtual time', async () => {
    const { mm, mirror, sched } = await setup();
    const r = range(BASE, 1);
    let got: boolean | undefined;
    let waited = -1;
    await runTasks(sched, {
      async elsewhere() {
        // Two overlapping invalidations far from the range, 2 s in total: notifiers never drops to 0.
        await overlappingUnrelatedInvalidations(mm);
      },
      async driver() {
        expect(await hmmRangeRegister(r, mirror)).toBe(0);
        expect(r.valid).toBe(false);
        const j0 = sched.clock.jiffies;
        got = await hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT);
        waited = sched.clock.jiffies - j0;
        await hmmRangeUnregister(r);
      },
    });
    expect(got).toBe(false);
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(252);
  });
});
