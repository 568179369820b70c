/**
 * The hmm_mirror state checks (hmmMirrorViolations / assertHmmMirrorInvariants): silent on a
 * sound state of both APIs, and each check able to fail — including the states a misuse leaves
 * without any call failing (a shim range on a removed notifier, bounds changed after register,
 * a legacy range left invalid with nothing in flight).
 */
import { KernelBugError } from '@hmmsim/kernel';
import { type MmuIntervalNotifier, mmuIntervalNotifierRemove } from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import {
  assertHmmMirrorInvariants,
  type Hmm,
  hmmMirrorViolations,
  hmmsOf,
  legacyHmmMirrorApi,
  shimHmmMirrorApi,
} from '../src/index.ts';
import {
  BASE,
  invalidateSlowly,
  journalMirror,
  range,
  register,
  runTasks,
  world,
} from './helpers.ts';

async function setup() {
  const w = await world();
  const lm = journalMirror('l', []);
  const sm = journalMirror('s', []);
  expect(await register(legacyHmmMirrorApi, lm, w.mm)).toBe(0);
  expect(await register(shimHmmMirrorApi, sm, w.mm)).toBe(0);
  const lr = range();
  const sr = range();
  expect(await legacyHmmMirrorApi.hmmRangeRegister(lr, lm)).toBe(0);
  expect(await shimHmmMirrorApi.hmmRangeRegister(sr, sm)).toBe(0);
  return { ...w, lm, sm, lr, sr, legacy: lm.hmm as Hmm, shim: sm.hmm as Hmm };
}

describe('hmmMirrorViolations', () => {
  it('is silent on a sound state of both APIs, also with an invalidation in flight', async () => {
    const { mm, sched, legacy, shim } = await setup();
    expect(hmmsOf(mm)).toEqual(expect.arrayContaining([legacy, shim]));
    expect(hmmMirrorViolations(mm)).toEqual([]);
    const seen: string[][] = [];
    await runTasks(sched, {
      inv: () => invalidateSlowly(mm, BASE, BASE + 0x1000, 10),
      check: async () => {
        await sched.point({ kind: 'test', label: 'mid' });
        seen.push(hmmMirrorViolations(mm));
      },
    });
    expect(seen).toEqual([[]]);
    assertHmmMirrorInvariants(mm);
  });

  it('sees a shim range whose interval notifier was removed behind its back', async () => {
    const { mm, sr } = await setup();
    await mmuIntervalNotifierRemove(sr.notifier as MmuIntervalNotifier);
    expect(hmmMirrorViolations(mm).join()).toMatch(
      /shim struct hmm of mm\d+: range \[0x10000000, 0x10004000\) is on a removed interval notifier/,
    );
    expect(() => assertHmmMirrorInvariants(mm)).toThrow(KernelBugError);
  });

  it('sees a shim range whose notifier was replaced or no longer covers it', async () => {
    const { mm, sr } = await setup();
    const n = sr.notifier;
    sr.notifier = null;
    expect(hmmMirrorViolations(mm).join()).toMatch(/lost its shim interval notifier/);
    sr.notifier = n;
    sr.end += 0x1000;
    const errs = hmmMirrorViolations(mm).join('\n');
    expect(errs).toMatch(/its notifier covers \[0x10000000, 0x10003fff\], not the range/);
    expect(errs).toMatch(
      /registered as \[0x10000000, 0x10004000\) but is now \[0x10000000, 0x10005000\)/,
    );
  });

  it('sees a legacy range changed after register, or left invalid with nothing in flight', async () => {
    const { mm, lr, legacy } = await setup();
    lr.start -= 0x1000;
    expect(hmmMirrorViolations(mm).join()).toMatch(/legacy struct hmm .* registered as/);
    lr.start += 0x1000;
    lr.valid = false;
    expect(legacy.notifiers).toBe(0);
    expect(hmmMirrorViolations(mm).join()).toMatch(
      /is invalid with no invalidation of the mm in flight/,
    );
    lr.valid = true;
    lr.hmm = null;
    expect(hmmMirrorViolations(mm).join()).toMatch(
      /range\.hmm was changed after hmm_range_register/,
    );
  });

  it('sees broken mirror and range lists, counts and pins', async () => {
    const { mm, lm, lr, legacy, shim } = await setup();
    legacy.mirrors.push(lm);
    expect(hmmMirrorViolations(mm).join()).toMatch(/a mirror is listed twice/);
    legacy.mirrors.pop();
    lm.hmm = shim;
    expect(hmmMirrorViolations(mm).join()).toMatch(/a listed mirror's hmm points elsewhere/);
    lm.hmm = legacy;
    const stray = range();
    legacy.ranges.push(stray);
    expect(hmmMirrorViolations(mm).join()).toMatch(/listed without a registration/);
    legacy.ranges.pop();
    legacy.ranges.push(lr);
    expect(hmmMirrorViolations(mm).join()).toMatch(/is listed twice/);
    legacy.ranges.pop();
    legacy.notifiers = -1;
    expect(hmmMirrorViolations(mm).join()).toMatch(/notifiers is -1/);
    legacy.notifiers = 0;
    shim.notifiers = 1;
    expect(hmmMirrorViolations(mm).join()).toMatch(/the shim keeps no count/);
    shim.notifiers = 0;
    const users = mm.mmUsers;
    mm.mmUsers = 0;
    expect(hmmMirrorViolations(mm).join()).toMatch(/mm_users is 0; expected each to pin one/);
    mm.mmUsers = users;
    legacy.hashed = false;
    expect(hmmMirrorViolations(mm).join()).toMatch(/not on the mm's notifier list/);
    legacy.hashed = true;
    expect(hmmMirrorViolations(mm)).toEqual([]);
  });
});
