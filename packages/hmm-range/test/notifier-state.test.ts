/**
 * The examples in @hmmsim/hmm-range: a range whose interval notifier has been removed,
 * and a notifier that does not cover [start, end), were accepted — collision detection then
 * silently off (a removed notifier's sequence never changes; an invalidation of the uncovered
 * part never reaches the notifier). Now both are KernelBugErrors in every generation with a
 * notifier, nothing is written, and the range checker reports both states.
 */
import { downRead, KernelBugError, upRead } from '@hmmsim/kernel';
import { mmuIntervalNotifierRemove, mmuIntervalReadBegin } from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import {
  createHmmRange,
  type HmmPfnsRange,
  type HmmRange,
  type HmmVersion,
  hmmRangeFault,
  hmmRangeViolations,
} from '../src/index.ts';
import { BASE, env, FLAGS, mapAnon, PAGE, SHIFT, touch, VALUES } from './helpers.ts';
import { FLAGS57, insertNotifier, rangePfns } from './helpers-gen.ts';

const CASES: readonly HmmVersion[] = ['5.4', 'seed', '5.5', '5.7', '5.8', '5.9'];

async function setup(version: HmmVersion, notifierStart: number, notifierPages: number) {
  const e = env();
  await mapAnon(e, BASE, 4);
  await touch(e, BASE, 4);
  const notifier = await insertNotifier(e, notifierStart, notifierPages);
  let r: HmmRange | HmmPfnsRange;
  if (version === '5.8' || version === '5.9') {
    r = await rangePfns(e, BASE, 4);
    r.notifier = notifier;
  } else {
    r = createHmmRange({
      start: BASE,
      end: BASE + 4 * PAGE,
      flags: version === '5.7' ? [...FLAGS57] : [...FLAGS],
      values: [...VALUES],
      pfnShift: SHIFT,
      notifier,
    });
  }
  r.notifierSeq = await mmuIntervalReadBegin(notifier);
  const entries = 'hmmPfns' in r ? r.hmmPfns : r.pfns;
  entries.fill(77);
  const call = async () => {
    await downRead(e.mm.mmapSem);
    try {
      return await (version === '5.4' || version === 'seed' || version === '5.5'
        ? hmmRangeFault(r as HmmRange, 0, { version })
        : hmmRangeFault(r, { version }));
    } finally {
      upRead(e.mm.mmapSem);
    }
  };
  return { e, r, notifier, entries, call };
}

describe('hmm_range_fault on a notifier that cannot see the range', () => {
  for (const version of CASES) {
    it(`${version}: a removed notifier is a KernelBugError, nothing written (accepted before)`, async () => {
      const { r, notifier, entries, call } = await setup(version, BASE, 4);
      await mmuIntervalNotifierRemove(notifier);
      expect(hmmRangeViolations(r).join()).toMatch(/it was removed from mm\d+/);
      const err = await call().catch((x: unknown) => x);
      expect(err).toBeInstanceOf(KernelBugError);
      expect((err as Error).message).toMatch(
        /^hmm_range_fault: range\.notifier is not inserted: it was removed from mm\d+/,
      );
      expect([...entries]).toEqual([77, 77, 77, 77]);
    });

    it(`${version}: a notifier that misses part of [start, end) is a KernelBugError (accepted before)`, async () => {
      const { r, entries, call } = await setup(version, BASE + PAGE, 3);
      expect(hmmRangeViolations(r).join()).toMatch(/covers \[0x80001000, 0x80003fff\]/);
      await expect(call()).rejects.toThrow(
        /range\.notifier covers \[0x80001000, 0x80003fff\] but the range is \[0x80000000, 0x80004000\)/,
      );
      expect([...entries]).toEqual([77, 77, 77, 77]);
    });

    it(`${version}: a notifier covering the range exactly or more is fine`, async () => {
      const { r, call } = await setup(version, BASE - PAGE, 6);
      expect(hmmRangeViolations(r)).toEqual([]);
      expect(await call()).toBe(version === '5.8' || version === '5.9' ? 0 : 4);
    });
  }
});
