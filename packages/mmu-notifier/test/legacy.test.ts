import {
  Completion,
  complete,
  downWrite,
  EAGAIN,
  EINVAL,
  ENOMEM,
  EOVERFLOW,
  KernelBugError,
  mutexLock,
  upWrite,
  waitForCompletion,
} from '@hmmsim/kernel';
import {
  InvalidationRecorder,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_UNMAP,
  type MmStruct,
  mmput,
  mmuNotifierChangePte,
  mmuNotifierClearFlushYoung,
  mmuNotifierClearYoung,
  mmuNotifierInvalidateRange,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeOnlyEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierInvalidateRangeStartNonblock,
  mmuNotifierRangeInit,
  mmuNotifierTestYoung,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  __mmuNotifierRegister,
  checkActiveRanges,
  checkStartEndPairing,
  checkUnregisterAndFree,
  MmuNotifier,
  type MmuNotifierMm,
  type MmuNotifierOps,
  mmuIntervalReadBegin,
  mmuNotifierGet,
  mmuNotifierGetLocked,
  mmuNotifierLogStart,
  mmuNotifierMmOf,
  mmuNotifierPut,
  mmuNotifierRegister,
  mmuNotifierSetOptions,
  mmuNotifierSynchronize,
  mmuNotifierUnregister,
  UINT_MAX,
} from '../src/index.ts';
import { TestDriver, world } from './helpers.ts';
import { runTasks } from './run.ts';

const range = (mm: MmStruct, start: number, end: number) =>
  mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, start, end);

/**
 * A callback held in flight: `invalidateRangeStart` completes `inCb`, waits for `leave`, then
 * journals 'callback returns'; `cpu0` runs one whole invalidation of `mm` that calls it.
 */
function blockedStart(mm: MmStruct, journal: string[]) {
  const sched = mm.machine.sched;
  const inCb = new Completion(sched, 'in callback');
  const leave = new Completion(sched, 'leave callback');
  const invalidateRangeStart = async (): Promise<number> => {
    complete(inCb);
    await waitForCompletion(leave);
    journal.push('callback returns');
    return 0;
  };
  const cpu0 = async (): Promise<void> => {
    const r = range(mm, 0, 0x1000);
    await mmuNotifierInvalidateRangeStart(r);
    await mmuNotifierInvalidateRangeEnd(r);
  };
  return { inCb, leave, invalidateRangeStart, cpu0 };
}

/** Ops that journal every call as '<name>:<op>'; `extra` overrides (undefined removes an op). */
function journalOps(
  name: string,
  journal: string[],
  extra: { [K in keyof MmuNotifierOps]?: MmuNotifierOps[K] | undefined } = {},
): MmuNotifierOps {
  const ops: Record<string, unknown> = {
    release: () => void journal.push(`${name}:release`),
    invalidateRangeStart: () => {
      journal.push(`${name}:start`);
      return 0;
    },
    invalidateRangeEnd: () => void journal.push(`${name}:end`),
    invalidateRange: () => void journal.push(`${name}:range`),
    changePte: () => void journal.push(`${name}:change_pte`),
    ...extra,
  };
  for (const k of Object.keys(ops)) if (ops[k] === undefined) delete ops[k];
  return ops as MmuNotifierOps;
}

describe('register / unregister', () => {
  it('links at the head (newest first), pins mm_count, publishes the container', async () => {
    const { mm } = world();
    const journal: string[] = [];
    const a = new MmuNotifier(journalOps('a', journal));
    const b = new MmuNotifier(journalOps('b', journal));
    const c0 = mm.mmCount;
    expect(await mmuNotifierRegister(a, mm)).toBe(0);
    expect(await mmuNotifierRegister(b, mm)).toBe(0);
    expect(mm.mmCount).toBe(c0 + 2);
    expect([a.mm, a.users, a.hashed]).toEqual([mm, 1, true]);
    const m = mmuNotifierMmOf(mm) as MmuNotifierMm;
    expect(mm.notifier).toBe(m);
    expect(m.hasItree).toBe(false);
    const r = range(mm, 0x1000, 0x2000);
    await mmuNotifierInvalidateRangeStart(r);
    await mmuNotifierInvalidateRangeEnd(r);
    expect(journal).toEqual(['b:start', 'a:start', 'b:range', 'b:end', 'a:range', 'a:end']);
    journal.length = 0;
    await mmuNotifierUnregister(b, mm);
    expect(journal).toEqual(['b:release']);
    expect(mm.mmCount).toBe(c0 + 1);
    expect(b.hashed).toBe(false);
    await mmuNotifierInvalidateRangeStart(range(mm, 0, 0x1000));
    expect(journal).toEqual(['b:release', 'a:start']);
  });

  it('__register demands mmap_sem for write and mm_users; double registration is a bug', async () => {
    const { mm } = world();
    const a = new MmuNotifier({});
    await expect(__mmuNotifierRegister(a, mm)).rejects.toThrow(/without mmap_sem held for write/);
    await downWrite(mm.mmapSem);
    expect(await __mmuNotifierRegister(a, mm)).toBe(0);
    await expect(__mmuNotifierRegister(a, mm)).rejects.toThrow(/already registered/);
    upWrite(mm.mmapSem);
    const w = world();
    await mmput(w.mm);
    await expect(mmuNotifierRegister(new MmuNotifier({}), w.mm)).rejects.toThrow(/mm_users 0/);
  });

  it('unregister of a notifier not registered on that mm is a bug', async () => {
    const { mm } = world();
    const other = world().mm;
    const a = new MmuNotifier({});
    await expect(mmuNotifierUnregister(a, mm)).rejects.toThrow(KernelBugError);
    await mmuNotifierRegister(a, mm);
    await expect(mmuNotifierUnregister(a, other)).rejects.toThrow(KernelBugError);
  });

  it('refuses to replace a foreign listener, but a recorder attached afterwards chains to it', async () => {
    const { mm } = world();
    const rec = new InvalidationRecorder().attach(mm);
    await expect(mmuNotifierRegister(new MmuNotifier({}), mm)).rejects.toThrow(
      /another invalidation listener/,
    );
    rec.detach(mm);
    const journal: string[] = [];
    await mmuNotifierRegister(new MmuNotifier(journalOps('a', journal)), mm);
    const rec2 = new InvalidationRecorder().attach(mm);
    const r = range(mm, 0x1000, 0x2000);
    await mmuNotifierInvalidateRangeStart(r);
    await mmuNotifierInvalidateRangeEnd(r);
    expect(rec2.lines()).toEqual(['start CLEAR 0x1000-0x2000', 'end CLEAR 0x1000-0x2000']);
    expect(journal).toEqual(['a:start', 'a:range', 'a:end']);
  });

  it('the last mmdrop destroys the container; a notifier still listed there is a bug', async () => {
    const { mm } = world();
    const a = new MmuNotifier({});
    await mmuNotifierRegister(a, mm);
    const m = mmuNotifierMmOf(mm) as MmuNotifierMm;
    expect(() => m.destroy(mm)).toThrow(/still on the hlist/);
    await mmput(mm); // exit: release unhashes a
    await mmuNotifierUnregister(a, mm); // drops the last mm_count
    expect(mm.freed).toBe(true);
    expect(m.destroyed).toBe(true);
    expect(mmuNotifierMmOf(mm)).toBeNull();
  });
});

describe('ops dispatch', () => {
  it('interval notifiers run before hlist starts; the tree end runs before hlist ends', async () => {
    const { mm, sched } = world();
    const journal: string[] = [];
    await mmuNotifierRegister(new MmuNotifier(journalOps('h', journal)), mm);
    const d = new TestDriver(sched, 'itree', journal);
    await d.insert(mm, 0x1000, 0x1000);
    const m = mmuNotifierMmOf(mm) as MmuNotifierMm;
    let seqAtHlistEnd = -1;
    await mmuNotifierRegister(
      new MmuNotifier({
        invalidateRangeEnd: () => {
          seqAtHlistEnd = m.invalidateSeq;
        },
      }),
      mm,
    );
    const r = range(mm, 0x1000, 0x2000);
    await mmuNotifierInvalidateRangeStart(r);
    await mmuNotifierInvalidateRangeEnd(r);
    expect(journal).toEqual(['itree:invalidate', 'h:start', 'h:range', 'h:end']);
    expect(seqAtHlistEnd).toBe(4); // mn_itree_inv_end already made it even
  });

  it('only_end skips invalidate_range; invalidate_range and change_pte reach every subscriber', async () => {
    const { mm } = world();
    const journal: string[] = [];
    await mmuNotifierRegister(new MmuNotifier(journalOps('a', journal)), mm);
    await mmuNotifierRegister(
      new MmuNotifier(journalOps('b', journal, { changePte: undefined })),
      mm,
    );
    const r = range(mm, 0x1000, 0x2000);
    await mmuNotifierInvalidateRangeStart(r);
    mmuNotifierInvalidateRange(mm, 0x1000, 0x2000);
    mmuNotifierChangePte(mm, 0x1000, 0x1, 42);
    await mmuNotifierInvalidateRangeOnlyEnd(r);
    expect(journal).toEqual([
      'b:start',
      'a:start',
      'b:range',
      'a:range',
      'a:change_pte',
      'b:end',
      'a:end',
    ]);
  });

  it('young: clear_flush_young/clear_young OR every result; test_young stops at the first non-zero', async () => {
    const { mm } = world();
    const calls: string[] = [];
    const rec = (what: string, v: number) => () => {
      calls.push(what);
      return v;
    };
    const young = (name: string, v: number): MmuNotifierOps => ({
      clearFlushYoung: rec(`${name}:cfy`, v),
      clearYoung: rec(`${name}:cy`, v),
      testYoung: rec(`${name}:ty`, v),
    });
    await mmuNotifierRegister(new MmuNotifier(young('a', 1)), mm);
    await mmuNotifierRegister(new MmuNotifier(young('b', 0)), mm);
    await mmuNotifierRegister(new MmuNotifier(young('c', 1)), mm);
    await mmuNotifierRegister(new MmuNotifier({}), mm);
    expect(mmuNotifierClearFlushYoung(mm, 0, 0x1000)).toBe(1);
    expect(mmuNotifierClearYoung(mm, 0, 0x1000)).toBe(1);
    expect(mmuNotifierTestYoung(mm, 0)).toBe(1);
    expect(calls).toEqual(['c:cfy', 'b:cfy', 'a:cfy', 'c:cy', 'b:cy', 'a:cy', 'c:ty']);
    const w = world();
    await mmuNotifierRegister(new MmuNotifier(young('z', 0)), w.mm);
    expect(mmuNotifierTestYoung(w.mm, 0)).toBe(0);
    expect(mmuNotifierClearYoung(w.mm, 0, 1)).toBe(0);
  });

  it('non-blockable -EAGAIN: every subscriber is still called and the last error returned', async () => {
    const { mm } = world();
    const journal: string[] = [];
    const fail = (name: string) =>
      journalOps(name, journal, {
        invalidateRangeStart: () => {
          journal.push(`${name}:start`);
          return -EAGAIN;
        },
        invalidateRangeEnd: undefined,
      });
    await mmuNotifierRegister(new MmuNotifier(fail('x')), mm);
    await mmuNotifierRegister(new MmuNotifier(journalOps('y', journal)), mm);
    await mmuNotifierRegister(new MmuNotifier(fail('z')), mm);
    const r = range(mm, 0, 0x1000);
    expect(await mmuNotifierInvalidateRangeStartNonblock(r)).toBe(-EAGAIN);
    expect(journal).toEqual(['z:start', 'y:start', 'x:start']);
  });

  it('a blockable failure, a non-EAGAIN error and a sleep in a non-blockable start are bugs', async () => {
    const w1 = world();
    await mmuNotifierRegister(new MmuNotifier({ invalidateRangeStart: () => -EAGAIN }), w1.mm);
    await expect(mmuNotifierInvalidateRangeStart(range(w1.mm, 0, 0x1000))).rejects.toThrow(
      /in a blockable context/,
    );
    const w2 = world();
    await mmuNotifierRegister(new MmuNotifier({ invalidateRangeStart: () => -EINVAL }), w2.mm);
    await expect(mmuNotifierInvalidateRangeStartNonblock(range(w2.mm, 0, 0x1000))).rejects.toThrow(
      /returned -22/,
    );
    const w3 = world();
    const d = new TestDriver(w3.sched, 'lk');
    await mmuNotifierRegister(
      new MmuNotifier({
        invalidateRangeStart: async () => {
          await mutexLock(d.lock);
          return 0;
        },
      }),
      w3.mm,
    );
    await expect(mmuNotifierInvalidateRangeStartNonblock(range(w3.mm, 0, 0x1000))).rejects.toThrow(
      /invalidateRangeStart callback slept in a non-blockable invalidation/,
    );
  });
});

describe('R3: unpaired start/end with a failing non-blockable start', () => {
  async function setup(mode: 'v5.4' | 'fixed', failerHasEnd = false) {
    const { mm, sched } = world();
    mmuNotifierSetOptions(mm, { unpairedStartEnd: mode });
    const log = mmuNotifierLogStart(sched);
    const journal: string[] = [];
    // registered first, so called last: fails the non-blockable start
    const failer = new MmuNotifier({
      invalidateRangeStart: () => {
        journal.push('failer:start');
        return -EAGAIN;
      },
      ...(failerHasEnd ? { invalidateRangeEnd: () => void journal.push('failer:end') } : {}),
    });
    await mmuNotifierRegister(failer, mm);
    // registered second, so called first: its start succeeds and it expects an end (KVM-like)
    await mmuNotifierRegister(new MmuNotifier(journalOps('kvm', journal)), mm);
    return { mm, sched, log, journal };
  }

  it("'v5.4' (default): the subscriber whose start succeeded never gets its end", async () => {
    const { mm, log, journal } = await setup('v5.4');
    const r = range(mm, 0, 0x1000);
    expect(await mmuNotifierInvalidateRangeStartNonblock(r)).toBe(-EAGAIN);
    expect(journal).toEqual(['kvm:start', 'failer:start']);
    const errs = checkStartEndPairing(log.events, { final: true });
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/never got its end \(R3/);
  });

  it("'fixed' (c2655835fd8c): every subscriber implementing end gets it during the failed start", async () => {
    const { mm, log, journal } = await setup('fixed');
    const r = range(mm, 0, 0x1000);
    expect(await mmuNotifierInvalidateRangeStartNonblock(r)).toBe(-EAGAIN);
    expect(journal).toEqual(['kvm:start', 'failer:start', 'kvm:end']);
    expect(checkStartEndPairing(log.events, { final: true })).toEqual([]);
  });

  it("'fixed': a subscriber that can fail start must not implement end", async () => {
    const { mm } = await setup('fixed', true);
    await expect(mmuNotifierInvalidateRangeStartNonblock(range(mm, 0, 0x1000))).rejects.toThrow(
      /implements invalidate_range_end/,
    );
    const v54 = await setup('v5.4', true);
    expect(await mmuNotifierInvalidateRangeStartNonblock(range(v54.mm, 0, 0x1000))).toBe(-EAGAIN);
  });

  for (const mode of ['v5.4', 'fixed'] as const) {
    it(`${mode}: a succeeded interval-tree part is not undone — the seq stays odd (flagged hazard)`, async () => {
      const { mm, sched } = world();
      mmuNotifierSetOptions(mm, { unpairedStartEnd: mode });
      const d = new TestDriver(sched, 'itree');
      await d.insert(mm, 0x1000, 0x1000);
      await mmuNotifierRegister(new MmuNotifier({ invalidateRangeStart: () => -EAGAIN }), mm);
      const r = mmuNotifierRangeInit(MMU_NOTIFY_UNMAP, 0, null, mm, 0x1000, 0x2000);
      expect(await mmuNotifierInvalidateRangeStartNonblock(r)).toBe(-EAGAIN);
      const m = mmuNotifierMmOf(mm) as MmuNotifierMm;
      expect([m.activeInvalidateRanges, m.invalidateSeq]).toEqual([1, 3]);
      expect(checkActiveRanges(m)[0]).toMatch(/leaked its interval-tree accounting \(R3\)/);
      // read_begin of the invalidated notifier now sleeps forever
      const { DeadlockError } = await import('@hmmsim/kernel');
      await expect(mmuIntervalReadBegin(d.mni)).rejects.toThrow(DeadlockError);
    });
  }

  it('rejects a bad option value', () => {
    const { mm } = world();
    expect(() => mmuNotifierSetOptions(mm, { unpairedStartEnd: 'v5.5' as 'fixed' })).toThrow(
      /expected 'v5.4' or 'fixed'/,
    );
  });
});

describe('get / put', () => {
  function getPutOps(freed: MmuNotifier[], allocFails = 0): MmuNotifierOps {
    return {
      allocNotifier: () => (allocFails !== 0 ? allocFails : new MmuNotifier({})),
      freeNotifier: (mn) => void freed.push(mn),
    };
  }

  it('get returns the same subscriber for the same ops; the last put frees it after a grace period', async () => {
    const { mm, sched } = world();
    const log = mmuNotifierLogStart(sched);
    const freed: MmuNotifier[] = [];
    const ops = getPutOps(freed);
    const c0 = mm.mmCount;
    const a = await mmuNotifierGet(ops, mm);
    const b = await mmuNotifierGet(ops, mm);
    expect(a).toBeInstanceOf(MmuNotifier);
    expect(b).toBe(a);
    const mn = a as MmuNotifier;
    expect(mn.ops).toBe(ops);
    expect(mn.users).toBe(2);
    const other = await mmuNotifierGet(getPutOps(freed), mm);
    expect(other).not.toBe(a);
    await mmuNotifierPut(mn);
    expect(mn.users).toBe(1);
    expect(mn.hashed).toBe(true);
    await mmuNotifierPut(mn);
    expect(mn.hashed).toBe(false);
    expect(freed).toEqual([]); // not inline: after a grace period
    expect(mm.mmCount).toBe(c0 + 2);
    await mmuNotifierSynchronize(sched);
    expect(freed).toEqual([mn]);
    expect(mn.freed).toBe(true);
    expect(mm.mmCount).toBe(c0 + 1);
    await mmuNotifierSynchronize(sched);
    expect(freed).toEqual([mn]); // exactly once
    expect(checkUnregisterAndFree(log.events, { final: true })).toEqual([]);
    await expect(mmuNotifierPut(mn)).rejects.toThrow(/not registered/);
  });

  it('passes alloc_notifier errors through, needs both alloc and free, and reports -EOVERFLOW at UINT_MAX users', async () => {
    const { mm } = world();
    expect(await mmuNotifierGet(getPutOps([], -ENOMEM), mm)).toBe(-ENOMEM);
    await expect(mmuNotifierGet({ allocNotifier: () => new MmuNotifier({}) }, mm)).rejects.toThrow(
      /alloc_notifier\/free_notifier/,
    );
    await expect(mmuNotifierGetLocked(getPutOps([]), mm)).rejects.toThrow(/without mmap_sem/);
    const ops = getPutOps([]);
    const mn = (await mmuNotifierGet(ops, mm)) as MmuNotifier;
    mn.users = UINT_MAX;
    expect(await mmuNotifierGet(ops, mm)).toBe(-EOVERFLOW);
    await expect(mmuNotifierPut(new MmuNotifier({}))).rejects.toThrow(/not registered/);
    const plain = new MmuNotifier({});
    await mmuNotifierRegister(plain, mm);
    await expect(mmuNotifierPut(plain)).rejects.toThrow(/freeNotifier is missing/);
    mn.users = 0;
    await expect(mmuNotifierPut(mn)).rejects.toThrow(/users already 0/);
  });

  it('free_notifier waits for a callback of the notifier that is still running', async () => {
    const { mm, sched } = world();
    const log = mmuNotifierLogStart(sched);
    const journal: string[] = [];
    const { inCb, leave, invalidateRangeStart, cpu0 } = blockedStart(mm, journal);
    const ops: MmuNotifierOps = {
      allocNotifier: () => new MmuNotifier({}),
      freeNotifier: () => void journal.push('free_notifier'),
      invalidateRangeStart,
    };
    const mn = (await mmuNotifierGet(ops, mm)) as MmuNotifier;
    await runTasks(sched, {
      cpu0,
      cpu1: async () => {
        await waitForCompletion(inCb);
        await mmuNotifierPut(mn);
        journal.push('put returned');
        complete(leave);
        await mmuNotifierSynchronize(sched);
        journal.push('synchronize returned');
      },
    });
    expect(journal).toEqual([
      'put returned',
      'callback returns',
      'free_notifier',
      'synchronize returned',
    ]);
    expect(checkUnregisterAndFree(log.events, { final: true })).toEqual([]);
  });

  it('put may be called from inside release at exit; release is not called by put', async () => {
    const { mm, sched } = world();
    const journal: string[] = [];
    const ops: MmuNotifierOps = {
      allocNotifier: () => new MmuNotifier({}),
      freeNotifier: () => void journal.push('free'),
      release: async (mn) => {
        journal.push('release');
        await mmuNotifierPut(mn);
      },
    };
    await mmuNotifierGet(ops, mm);
    const c = mm.mmCount;
    expect(c).toBe(2);
    await mmput(mm);
    expect(journal).toEqual(['release', 'free']); // freed after exit's grace period
    expect(mm.freed).toBe(true);
    await mmuNotifierSynchronize(sched);
    expect(journal).toEqual(['release', 'free']);
  });
});

describe('unregister and exit', () => {
  it('unregister waits for a callback in flight on another CPU', async () => {
    const { mm, sched } = world();
    const log = mmuNotifierLogStart(sched);
    const journal: string[] = [];
    const { inCb, leave, invalidateRangeStart, cpu0 } = blockedStart(mm, journal);
    const mn = new MmuNotifier({
      invalidateRangeStart,
      release: () => void journal.push('release'),
    });
    await mmuNotifierRegister(mn, mm);
    await runTasks(sched, {
      cpu0,
      cpu1: async () => {
        await waitForCompletion(inCb);
        complete(leave); // cpu0 may go on, but cpu1 runs until it sleeps in synchronize
        await mmuNotifierUnregister(mn, mm);
        journal.push('unregister returned');
      },
    });
    expect(journal).toEqual(['release', 'callback returns', 'unregister returned']);
    expect(checkUnregisterAndFree(log.events, { final: true })).toEqual([]);
  });

  it('exit calls every release once, before any page is freed; a later unregister does not call it again', async () => {
    const { mm, sched } = world();
    const log = mmuNotifierLogStart(sched);
    const journal: string[] = [];
    const a = new MmuNotifier(journalOps('a', journal));
    const b = new MmuNotifier(journalOps('b', journal));
    await mmuNotifierRegister(a, mm);
    await mmuNotifierRegister(b, mm);
    await mmput(mm);
    expect(journal).toEqual(['b:release', 'a:release']);
    expect([a.hashed, b.hashed]).toEqual([false, false]);
    await mmuNotifierUnregister(a, mm);
    await mmuNotifierUnregister(b, mm);
    expect(journal).toEqual(['b:release', 'a:release']);
    expect(mm.freed).toBe(true);
    expect(log.events.some((e) => e.kind === 'release')).toBe(true);
  });
});
