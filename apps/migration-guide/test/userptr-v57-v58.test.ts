/**
 * Chapter 5b: the finished userptr driver on the v5.7 and v5.8 hmm_range_fault() APIs is clean
 * under all five invalidations (bound 2, exhausted). With `devPrivateOwner` NULL, a page another
 * driver migrated to its device memory makes the submission fail with -EFAULT (v5.7–v5.18), where
 * the v5.5 driver asked for it back. On v5.8 the request is HMM_PFN_REQ_FAULT, plus
 * HMM_PFN_REQ_WRITE only for a writable BO: after an mprotect to read-only a writable BO's
 * submission fails with -EPERM, a read-only BO's is mapped read-only. And every step's driver
 * maps a bigger BO with one submission on a quiet process, and lets it go.
 */

import { replaySchedule, type Scenario } from '@hmmsim/explorer';
import { cpuMappingAt, shimHmmMirrorApi } from '@hmmsim/hmm-mirror';
import { createScheduler, EFAULT, EPERM, PAGE_SIZE } from '@hmmsim/kernel';
import { MAP_ANONYMOUS, MAP_PRIVATE, mmap, munmap, PROT_READ, PROT_WRITE } from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import { findEntry } from '../src/catalog.ts';
import {
  createGuideWorld,
  GUIDE_BASE,
  GUIDE_NPAGES,
  type GuideDriver,
  type GuideState,
  type GuideWorld,
  guideScenario,
  type Invalidation,
} from '../src/index.ts';
import { runEntry } from '../src/run.ts';
import { USERPTR_ACCEPTABLE } from '../src/userptr/catalog.ts';
import { UserptrV54Driver } from '../src/userptr/v54.ts';
import { UserptrV55Driver } from '../src/userptr/v55.ts';
import { UserptrV55FindVmaDriver } from '../src/userptr/v55-1-find-vma.ts';
import { UserptrV55IntervalInsertDriver } from '../src/userptr/v55-2-interval-insert.ts';
import { UserptrV55IntervalNotifierDriver } from '../src/userptr/v55-3-interval-notifier.ts';
import { UserptrV57Driver } from '../src/userptr/v57.ts';
import { UserptrV58Driver } from '../src/userptr/v58.ts';

/** CPU0's operation runs to its end, then CPU1 submits; the state when both are done. */
async function afterOpThenSubmit(
  op: Invalidation,
  driver: (w: GuideWorld) => GuideDriver,
): Promise<GuideState> {
  const s = guideScenario({
    name: `userptr-${op}-then-submit`,
    driverText: 'a userptr driver',
    expect: 'pass',
    driver,
    op,
    acceptable: USERPTR_ACCEPTABLE,
  });
  let last: GuideState | undefined;
  const watched: Scenario<GuideState> = {
    ...s,
    finalCheck(st) {
      s.finalCheck?.(st);
      last = st;
    },
  };
  const r = await replaySchedule(watched, '', { trace: false });
  expect(r.failure?.message).toBeUndefined();
  if (last === undefined) throw new Error('the run did not finish');
  return last;
}

for (const id of ['userptr-v5.7', 'userptr-v5.8']) {
  describe(id, async () => {
    const entry = findEntry(id);
    if (entry === undefined) throw new Error(`${id} is missing`);
    const r = await runEntry(entry);
    it('is clean under all five invalidations (bound 2, exhausted)', () => {
      expect(r.asExpected).toBe(true);
      expect(r.runs).toHaveLength(5);
      for (const run of r.runs) {
        expect(run.result.violation?.message, run.scenario).toBeUndefined();
        expect(run.result.exhausted, run.scenario).toBe(true);
      }
    });
  });
}

describe('a page in another driver’s device memory', () => {
  for (const [v, make] of [
    ['v5.7', (w: GuideWorld) => new UserptrV57Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES)],
    ['v5.8', (w: GuideWorld) => new UserptrV58Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES)],
  ] as const) {
    it(`${v}: the submission fails with -EFAULT and the GPU maps nothing`, async () => {
      const st = await afterOpThenSubmit('migrate', make);
      expect(cpuMappingAt(st.world.mm, GUIDE_BASE)).toBeNull(); // device-private: not a CPU mapping
      expect(st.faultRet).toBe(-EFAULT);
      expect(st.driver.dev.mappedCount()).toBe(0);
    });
  }
});

describe('v5.8 requests: HMM_PFN_REQ_WRITE only for a writable BO', () => {
  it('after mprotect(PROT_READ), a writable BO fails with -EPERM', async () => {
    const st = await afterOpThenSubmit(
      'mprotect',
      (w) => new UserptrV58Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES),
    );
    expect(st.faultRet).toBe(-EPERM);
    expect(st.driver.dev.mappedCount()).toBe(0);
  });

  it('after mprotect(PROT_READ), a read-only BO is mapped read-only', async () => {
    const st = await afterOpThenSubmit(
      'mprotect',
      (w) => new UserptrV58Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES, { readonly: true }),
    );
    expect(st.faultRet).toBe(0);
    for (let i = 0; i < GUIDE_NPAGES; i++) {
      const cpu = cpuMappingAt(st.world.mm, GUIDE_BASE + i * 4096);
      expect(st.driver.dev.entry(i)).toEqual({ pfn: cpu?.pfn, write: false });
    }
  });

  it('refuses bad arguments with a typed error', () => {
    const mm = {} as never;
    expect(() => new UserptrV58Driver(mm, GUIDE_BASE, GUIDE_NPAGES)).toThrow(/mm/);
  });
});

describe('every userptr driver: bind, submit, unbind on a quiet process', () => {
  const drivers = [
    ['v5.4 legacy', (w: GuideWorld) => new UserptrV54Driver(w.mm, GUIDE_BASE, 8)],
    [
      'v5.4 shim',
      (w: GuideWorld) => new UserptrV54Driver(w.mm, GUIDE_BASE, 8, { api: shimHmmMirrorApi }),
    ],
    ['step 1', (w: GuideWorld) => new UserptrV55FindVmaDriver(w.mm, GUIDE_BASE, 8)],
    ['step 2', (w: GuideWorld) => new UserptrV55IntervalInsertDriver(w.mm, GUIDE_BASE, 8)],
    ['step 3', (w: GuideWorld) => new UserptrV55IntervalNotifierDriver(w.mm, GUIDE_BASE, 8)],
    ['v5.5', (w: GuideWorld) => new UserptrV55Driver(w.mm, GUIDE_BASE, 8)],
    ['v5.7', (w: GuideWorld) => new UserptrV57Driver(w.mm, GUIDE_BASE, 8)],
    ['v5.8', (w: GuideWorld) => new UserptrV58Driver(w.mm, GUIDE_BASE, 8)],
  ] as const;
  for (const [name, make] of drivers) {
    it(`${name}: an 8-page BO is mapped by one submission and released`, async () => {
      const w = await createGuideWorld(createScheduler());
      // Map 8 pages (the guide's world maps 2): the bench builds drivers on bigger ranges.
      const len = 8 * PAGE_SIZE;
      await munmap(w.mm, GUIDE_BASE, GUIDE_NPAGES * PAGE_SIZE);
      expect(
        await mmap(w.mm, GUIDE_BASE, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS),
      ).toBe(GUIDE_BASE);
      const d = make(w);
      expect(await d.bind()).toBe(0);
      expect(await d.fault(true)).toBe(0);
      expect(d.dev.mappedCount()).toBe(8);
      await d.unbind();
    });
  }
});
