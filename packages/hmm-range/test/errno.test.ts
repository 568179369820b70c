/**
 * Every errno of hmm_range_fault(): -EBUSY (interval notifier racing through the scheduler, and the
 * legacy valid flag), -EFAULT, -EPERM, -EAGAIN (mmap_sem released), -ENOMEM (documented, not
 * produced: VM_FAULT_OOM gives -EFAULT), -EINVAL; and the caller-contract checks.
 */
import { createScheduler, downRead, KernelBugError, type Task, upRead } from '@hmmsim/kernel';
import {
  FAULT_FLAG_ALLOW_RETRY,
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_WRITE,
  MADV_DONTNEED,
  madvise,
  setAllocFailure,
  VM_FAULT_RETRY,
} from '@hmmsim/mm';
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import {
  createHmmRange,
  HMM_FAULT_ALLOW_RETRY,
  HMM_FAULT_SNAPSHOT,
  type HmmRange,
  hmmRangeFault,
} from '../src/index.ts';
import {
  BASE,
  countingHandler,
  type Env,
  ERROR,
  env,
  FLAGS,
  fault,
  legacyRange,
  mapAnon,
  NONE,
  out,
  PAGE,
  SHIFT,
  switchAt,
  touch,
  V,
  VALUES,
  VERSIONS,
  W,
} from './helpers.ts';

const S = 77;

async function notifierRange(
  e: Env,
  pages: number,
): Promise<{ mni: MmuIntervalNotifier; r: HmmRange }> {
  const mni = new MmuIntervalNotifier();
  const ret = await mmuIntervalNotifierInsert(mni, e.mm, BASE, pages * PAGE, {
    invalidate(n, _range, curSeq) {
      mmuIntervalSetSeq(n, curSeq);
      return true;
    },
  });
  expect(ret).toBe(0);
  const r = createHmmRange({
    start: BASE,
    end: BASE + pages * PAGE,
    flags: [...FLAGS],
    values: [...VALUES],
    pfnShift: SHIFT,
    notifier: mni,
    defaultFlags: V | W,
  });
  return { mni, r };
}

describe('-EBUSY: collision', () => {
  for (const version of VERSIONS) {
    it(`${version}: an invalidation racing through the scheduler makes the interval check fail`, async () => {
      let cpu0: Task | undefined;
      // Switch to CPU0 at CPU1's first fault (page 0 is not present and VALID is requested).
      const e = env({ sched: createScheduler({ policy: switchAt('fault', 1, () => cpu0) }) });
      await mapAnon(e, BASE, 8);
      await touch(e, BASE + PAGE, 7);
      const { mni, r } = await notifierRange(e, 8);
      const log: string[] = [];
      let ret = 0;
      e.sched.spawn('cpu1', async () => {
        r.notifierSeq = await mmuIntervalReadBegin(mni);
        await downRead(e.mm.mmapSem);
        // Q1 off: in the 5.4 loop a collision during the stray pass goes unreported (below).
        ret = await hmmRangeFault(r, 0, { version, quirks: { q1StrayWalk: false } });
        upRead(e.mm.mmapSem);
        log.push(`cpu1 ${ret}`);
      });
      cpu0 = e.sched.spawn('cpu0', async () => {
        log.push('cpu0 madvise');
        expect(await madvise(e.mm, BASE + 5 * PAGE, PAGE, MADV_DONTNEED)).toBe(0);
      });
      const res = await e.sched.run();
      expect(res.errors).toEqual([]);
      expect(log).toEqual(['cpu0 madvise', 'cpu1 -16']);
      expect(ret).toBe(-16);
      // The same seq keeps failing at once; a new read_begin succeeds.
      r.pfns.fill(S);
      expect(await fault(e, r, 0, { version })).toBe(-16);
      expect(out(r)).toEqual(Array(8).fill(S));
      r.notifierSeq = await mmuIntervalReadBegin(mni);
      expect(await fault(e, r, 0, { version })).toBe(8);
      expect(mmuIntervalReadRetry(mni, r.notifierSeq)).toBe(false);
    });

    it(`${version}: legacy valid == false is -EBUSY before anything is touched`, async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      const h = countingHandler(e);
      const r = legacyRange(e, BASE, 4, { defaultFlags: V | W });
      r.valid = false;
      r.pfns.fill(S);
      expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(-16);
      expect(h.calls).toEqual([]);
      expect(out(r)).toEqual(Array(4).fill(S));
    });

    it(`${version}: valid cleared while faulting stops the loop with -EBUSY`, async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      await touch(e, BASE + 2 * PAGE, 2);
      const r = legacyRange(e, BASE, 4, { defaultFlags: V | W });
      r.pfns.fill(S);
      const h = countingHandler(e);
      const invalidating = async (...args: Parameters<typeof h.handler>) => {
        r.valid = false; // what hmm_invalidate_range_start does to a registered range
        return h.handler(...args);
      };
      const quirks = { q1StrayWalk: false };
      expect(await fault(e, r, 0, { version, faultHandler: invalidating, quirks })).toBe(-16);
      // Q2: the fault at page 0 covered the whole chunk, each page getting NONE first.
      expect(out(r)).toEqual([NONE, NONE, NONE, NONE]);
      expect(h.calls.length).toBeGreaterThan(0);
    });
  }

  for (const version of ['5.4', 'seed'] as const) {
    it(`${version}: Q1: a collision during the stray pass is not reported (only a later check sees it)`, async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      await touch(e, BASE + 2 * PAGE, 2);
      const r = legacyRange(e, BASE, 4, { defaultFlags: V | W });
      const h = countingHandler(e);
      const invalidating = async (...args: Parameters<typeof h.handler>) => {
        r.valid = false;
        return h.handler(...args);
      };
      expect(await fault(e, r, 0, { version, faultHandler: invalidating })).toBe(4);
      expect(r.valid).toBe(false);
    });
  }
});

describe('-EFAULT and -ENOMEM', () => {
  for (const version of VERSIONS) {
    it(`${version}: VM_FAULT_OOM is a VM_FAULT_ERROR: ERROR marker and -EFAULT, never -ENOMEM`, async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      setAllocFailure(e.machine, () => true);
      const r = legacyRange(e, BASE, 4, { defaultFlags: V | W });
      r.pfns.fill(S);
      expect(await fault(e, r, 0, { version })).toBe(-14);
      expect(out(r)).toEqual(version === '5.5' ? [ERROR, S, S, S] : [NONE, NONE, NONE, NONE]);
      expect(e.mm.rssPages).toBe(0);
    });
  }
});

describe('-EAGAIN', () => {
  for (const version of VERSIONS) {
    it(`${version}: the handler dropped mmap_sem and asked for a retry`, async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      const h = countingHandler(e, async () => {
        upRead(e.mm.mmapSem);
        return VM_FAULT_RETRY;
      });
      const r = legacyRange(e, BASE, 4, { defaultFlags: V | W });
      expect(
        await fault(e, r, HMM_FAULT_ALLOW_RETRY, {
          version,
          faultHandler: h.handler,
          quirks: { q1StrayWalk: false },
        }),
      ).toBe(-11);
      expect(e.mm.mmapSem.readers.has(e.sched.current)).toBe(false);
      expect(h.calls.length).toBe(1);
      expect(h.calls[0]!.flags).toBe(FAULT_FLAG_REMOTE | FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_WRITE);
    });
  }

  it('without HMM_FAULT_ALLOW_RETRY the fault flags lack FAULT_FLAG_ALLOW_RETRY', async () => {
    const e = env();
    await mapAnon(e, BASE, 1);
    const h = countingHandler(e);
    const r = legacyRange(e, BASE, 1, { defaultFlags: V });
    expect(await fault(e, r, 0, { faultHandler: h.handler })).toBe(1);
    expect(h.calls[0]!.flags).toBe(FAULT_FLAG_REMOTE);
  });

  it('a handler returning VM_FAULT_RETRY wrongly is a KernelBugError', async () => {
    const e = env();
    await mapAnon(e, BASE, 1);
    const keepsLock = countingHandler(e, async () => VM_FAULT_RETRY);
    const r = legacyRange(e, BASE, 1, { defaultFlags: V });
    await expect(
      fault(e, r, HMM_FAULT_ALLOW_RETRY, { faultHandler: keepsLock.handler }),
    ).rejects.toThrow(/mmap_sem is still held/);
    await expect(fault(e, r, 0, { faultHandler: keepsLock.handler })).rejects.toThrow(
      /without FAULT_FLAG_ALLOW_RETRY/,
    );
  });

  it('5.4 Q1: after the stray pass dropped mmap_sem the second pass faults without it', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    let first = true;
    const h = countingHandler(e, async (vma, addr, flags) => {
      if (first) {
        first = false;
        upRead(e.mm.mmapSem);
        return VM_FAULT_RETRY;
      }
      const { handleMmFault } = await import('@hmmsim/mm');
      return handleMmFault(vma, addr, flags);
    });
    const r = legacyRange(e, BASE, 2, { defaultFlags: V | W });
    await downRead(e.mm.mmapSem);
    const ret = await hmmRangeFault(r, HMM_FAULT_ALLOW_RETRY, {
      version: '5.4',
      faultHandler: h.handler,
    });
    expect(ret).toBe(2); // the -EAGAIN of the stray pass was ignored
    expect(h.calls.map((c) => c.semHeld)).toEqual([true, false, false]);
    expect(e.mm.mmapSem.readers.has(e.sched.current)).toBe(false);
  });
});

describe('-EINVAL and the caller contract', () => {
  it('an empty or unaligned range is -EINVAL and changes nothing', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const h = countingHandler(e);
    for (const [start, end] of [
      [BASE, BASE],
      [BASE + 1, BASE + PAGE],
      [BASE, BASE + PAGE + 7],
      [BASE + PAGE, BASE],
      [2 ** 48 - PAGE, 2 ** 48 + PAGE],
    ] as const) {
      const r = legacyRange(e, BASE, 4, { defaultFlags: V });
      r.start = start;
      r.end = end;
      r.pfns.fill(S);
      for (const version of VERSIONS) {
        expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(-22);
      }
      expect(out(r)).toEqual(Array(4).fill(S));
    }
    expect(h.calls).toEqual([]);
  });

  it('mmap_sem not held is a KernelBugError', async () => {
    const e = env();
    await mapAnon(e, BASE, 1);
    await expect(hmmRangeFault(legacyRange(e, BASE, 1), HMM_FAULT_SNAPSHOT)).rejects.toThrow(
      KernelBugError,
    );
  });

  it('a range with neither a notifier nor a registered hmm, or an uninserted notifier', async () => {
    const e = env();
    await mapAnon(e, BASE, 1);
    const r = legacyRange(e, BASE, 1);
    r.hmm = null;
    await expect(fault(e, r, HMM_FAULT_SNAPSHOT)).rejects.toThrow(/neither a notifier/);
    r.notifier = new MmuIntervalNotifier();
    await expect(fault(e, r, HMM_FAULT_SNAPSHOT)).rejects.toThrow(/not inserted/);
  });

  it('an mm without users is a KernelBugError', async () => {
    const e = env();
    await mapAnon(e, BASE, 1);
    const r = legacyRange(e, BASE, 1);
    await downRead(e.mm.mmapSem);
    e.mm.mmUsers = 0;
    await expect(hmmRangeFault(r, HMM_FAULT_SNAPSHOT)).rejects.toThrow(/mm_users/);
    e.mm.mmUsers = 1;
    upRead(e.mm.mmapSem);
  });
});
