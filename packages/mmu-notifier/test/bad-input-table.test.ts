/**
 * The bad-input table of @hmmsim/mmu-notifier: every public function of both notifier APIs
 * (and the interval tree, SRCU, the hooks, the scenario helpers) called with each bad number and
 * each misuse in the wrong state. Each row must get the kernel's errno or a typed error naming
 * the function, and afterwards the notifier invariants and history checks must hold and a normal
 * operation (an invalidation seen by read_retry, an insert/remove, a legacy register/unregister)
 * must still work.
 */
import {
  ENOMEM,
  EOVERFLOW,
  InvalidArgumentError,
  KernelBugError,
  type Mutex,
  mutexLock,
  mutexUnlock,
  PAGE_SIZE,
  Spinlock,
  spinLock,
  spinUnlock,
  ULONG_MAX,
} from '@hmmsim/kernel';
import {
  BAD_NUMBERS,
  type BadInputRow,
  formatBadInputReport,
  runBadInputTable,
} from '@hmmsim/kernel/testing';
import {
  createMm,
  MMU_NOTIFY_CLEAR,
  type MmStruct,
  mmput,
  mmuNotifierChangePte,
  mmuNotifierClearFlushYoung,
  mmuNotifierClearYoung,
  mmuNotifierInvalidateRange,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  mmuNotifierTestYoung,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  __mmuNotifierRegister,
  assertMmuNotifierHistory,
  assertMmuNotifierInvariants,
  cpuPfnAt,
  IntervalTree,
  MirrorDriver,
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  MmuNotifier,
  type MmuNotifierOps,
  mmuIntervalCheckRetry,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierInsertLocked,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierGet,
  mmuNotifierGetLocked,
  mmuNotifierLogStart,
  mmuNotifierMmOf,
  mmuNotifierPut,
  mmuNotifierRegister,
  mmuNotifierSetOptions,
  mmuNotifierSrcu,
  mmuNotifierSynchronize,
  mmuNotifierUnregister,
  srcuReadLock,
  srcuReadUnlock,
} from '../src/index.ts';
import { TestDriver, world } from './helpers.ts';

const BASE = 0x10000000;
const PAGE = PAGE_SIZE;

/** Things a C caller could never pass where an object is expected. */
const NOT_OBJECTS: readonly (readonly [string, unknown])[] = [
  ['null', null],
  ['a number', 5],
  ['a plain object', {}],
];

/** The world every row runs against, and its normal operation. */
async function fixture() {
  const { machine, mm, sched } = world();
  const log = mmuNotifierLogStart(sched);
  const A = new TestDriver(sched, 'A');
  expect(await A.insert(mm, BASE, 4 * PAGE)).toBe(0);
  const legacy = new MmuNotifier({ invalidateRangeStart: () => 0, invalidateRangeEnd: () => {} });
  expect(await mmuNotifierRegister(legacy, mm)).toBe(0);
  const freshMm = (): MmStruct => createMm(machine);
  /** An mm that has exited and been freed (no notifier was ever registered on it). */
  const deadMm = async (): Promise<MmStruct> => {
    const d = freshMm();
    await mmput(d);
    return d;
  };
  const getOps: MmuNotifierOps = {
    allocNotifier: () => new MmuNotifier(getOps),
    freeNotifier: () => {},
  };

  /** Checkers, then the operations a user relies on; throws if anything is off. */
  async function afterEach(): Promise<void> {
    const t = sched.current;
    if (t.preemptCount !== 0) throw new Error(`preemptCount is ${t.preemptCount}`);
    if (mm.mmapSem.writer !== undefined || mm.mmapSem.readers.size > 0)
      throw new Error('mmap_sem left held');
    if (A.lock.owner !== undefined) throw new Error("A's driver lock left held");
    assertMmuNotifierInvariants(mm);
    assertMmuNotifierHistory(log.events);
    // An invalidation of A's interval is seen by read_retry.
    const seq = await mmuIntervalReadBegin(A.mni);
    const r = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, BASE, BASE + PAGE);
    await mmuNotifierInvalidateRangeStart(r);
    await mmuNotifierInvalidateRangeEnd(r);
    await mutexLock(A.lock);
    const stale = mmuIntervalReadRetry(A.mni, seq);
    mutexUnlock(A.lock);
    if (!stale) throw new Error('an invalidation of A was not seen by read_retry');
    // Insert/remove and legacy register/unregister still work.
    const B = new TestDriver(sched, 'B');
    if ((await B.insert(mm, BASE + 8 * PAGE, PAGE)) !== 0) throw new Error('insert failed');
    await mmuIntervalNotifierRemove(B.mni);
    const L = new MmuNotifier({});
    if ((await mmuNotifierRegister(L, mm)) !== 0) throw new Error('register failed');
    await mmuNotifierUnregister(L, mm);
    assertMmuNotifierInvariants(mm);
  }
  return { machine, mm, sched, A, legacy, freshMm, deadMm, getOps, afterEach };
}

type Fixture = Awaited<ReturnType<typeof fixture>>;

/** A notifier that was inserted and removed again. */
async function removedNotifier(f: Fixture): Promise<TestDriver> {
  const D = new TestDriver(f.sched, 'D');
  expect(await D.insert(f.mm, BASE + 16 * PAGE, PAGE)).toBe(0);
  await mmuIntervalNotifierRemove(D.mni);
  return D;
}

/** Run `fn` with `lock` held (released whatever happens). */
async function holding<T>(lock: Mutex, fn: () => T | Promise<T>): Promise<T> {
  await mutexLock(lock);
  try {
    return await fn();
  } finally {
    mutexUnlock(lock);
  }
}

/** Run `fn` inside an open invalidation window of A (ended whatever happens). */
async function inWindow<T>(f: Fixture, fn: (curSeq: number) => T | Promise<T>): Promise<T> {
  const r = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, f.mm, BASE, BASE + PAGE);
  await mmuNotifierInvalidateRangeStart(r);
  try {
    return await fn(mmuNotifierMmOf(f.mm)?.invalidateSeq ?? -1);
  } finally {
    await mmuNotifierInvalidateRangeEnd(r);
  }
}

const ops = (): MmuIntervalNotifierOps => ({ invalidate: () => true });
const invalid = { error: InvalidArgumentError } as const;

function rows(f: Fixture): BadInputRow[] {
  const out: BadInputRow[] = [];
  const add = (
    fn: string,
    input: string,
    call: () => unknown,
    expect: BadInputRow['expect'],
  ): void => {
    out.push({ fn, input, call, expect });
  };

  // ---- mmu_interval_notifier_insert / _insert_locked: numbers, objects, state ----
  for (const [what, v] of BAD_NUMBERS) {
    add(
      'mmu_interval_notifier_insert',
      `start = ${what}`,
      () => mmuIntervalNotifierInsert(new MmuIntervalNotifier(), f.mm, v, PAGE, ops()),
      {
        error: InvalidArgumentError,
        message: /start is .*; expected an address/,
      },
    );
    add(
      'mmu_interval_notifier_insert',
      `length = ${what}`,
      () => mmuIntervalNotifierInsert(new MmuIntervalNotifier(), f.mm, BASE, v, ops()),
      {
        error: InvalidArgumentError,
        message: /length is .*; expected a length in bytes/,
      },
    );
    add(
      'mmu_interval_notifier_insert_locked',
      `start = ${what}`,
      () => mmuIntervalNotifierInsertLocked(new MmuIntervalNotifier(), f.mm, v, PAGE, ops()),
      invalid,
    );
  }
  add(
    'mmu_interval_notifier_insert',
    'length = 0',
    () => mmuIntervalNotifierInsert(new MmuIntervalNotifier(), f.mm, BASE, 0, ops()),
    {
      errno: -EOVERFLOW,
    },
  );
  add(
    'mmu_interval_notifier_insert',
    'start + length - 1 past ULONG_MAX',
    () =>
      mmuIntervalNotifierInsert(new MmuIntervalNotifier(), f.mm, ULONG_MAX - PAGE, 2 * PAGE, ops()),
    {
      errno: -EOVERFLOW,
    },
  );
  add(
    'mmu_interval_notifier_insert',
    'length 0 on an mm without a tree: nothing switched on',
    async () => {
      const m2 = f.freshMm();
      const ret = await mmuIntervalNotifierInsert(new MmuIntervalNotifier(), m2, BASE, 0, ops());
      if (mmuNotifierMmOf(m2) !== null)
        throw new Error('the tree was switched on by a failed insert');
      return ret;
    },
    { errno: -EOVERFLOW },
  );
  for (const [what, v] of NOT_OBJECTS) {
    add(
      'mmu_interval_notifier_insert',
      `mni = ${what}`,
      () => mmuIntervalNotifierInsert(v as MmuIntervalNotifier, f.mm, BASE, PAGE, ops()),
      {
        error: InvalidArgumentError,
        message: /mni is .*; expected an MmuIntervalNotifier/,
      },
    );
    add(
      'mmu_interval_notifier_insert',
      `mm = ${what}`,
      () => mmuIntervalNotifierInsert(new MmuIntervalNotifier(), v as MmStruct, BASE, PAGE, ops()),
      {
        error: InvalidArgumentError,
        message: /mm is .*; expected an mm_struct/,
      },
    );
    add(
      'mmu_interval_notifier_insert_locked',
      `mm = ${what}`,
      () =>
        mmuIntervalNotifierInsertLocked(
          new MmuIntervalNotifier(),
          v as MmStruct,
          BASE,
          PAGE,
          ops(),
        ),
      invalid,
    );
  }
  add(
    'mmu_interval_notifier_insert',
    'ops = null',
    () => mmuIntervalNotifierInsert(new MmuIntervalNotifier(), f.mm, BASE, PAGE, null as never),
    invalid,
  );
  add(
    'mmu_interval_notifier_insert',
    'ops without invalidate',
    () => mmuIntervalNotifierInsert(new MmuIntervalNotifier(), f.mm, BASE, PAGE, {} as never),
    {
      error: InvalidArgumentError,
      message: /ops\.invalidate is a undefined; expected a function/,
    },
  );
  add(
    'mmu_interval_notifier_insert',
    'ops.userLock not a lock',
    () =>
      mmuIntervalNotifierInsert(new MmuIntervalNotifier(), f.mm, BASE, PAGE, {
        invalidate: () => true,
        userLock: {} as never,
      }),
    { error: InvalidArgumentError, message: /ops\.userLock/ },
  );
  add(
    'mmu_interval_notifier_insert',
    'the same notifier twice',
    () => mmuIntervalNotifierInsert(f.A.mni, f.mm, BASE, PAGE, f.A.ops),
    {
      error: KernelBugError,
      message: /already inserted/,
    },
  );
  add(
    'mmu_interval_notifier_insert',
    'on an exited and freed mm',
    async () =>
      mmuIntervalNotifierInsert(new MmuIntervalNotifier(), await f.deadMm(), BASE, PAGE, ops()),
    {
      error: KernelBugError,
      message: /has exited/,
    },
  );
  add(
    'mmu_interval_notifier_insert_locked',
    'without mmap_sem held for write',
    () => mmuIntervalNotifierInsertLocked(new MmuIntervalNotifier(), f.mm, BASE, PAGE, ops()),
    {
      error: KernelBugError,
      message: /without mmap_sem/,
    },
  );

  // ---- remove / read_begin / read_retry / check_retry / set_seq: state ----
  for (const [what, v] of NOT_OBJECTS) {
    add(
      'mmu_interval_notifier_remove',
      `mni = ${what}`,
      () => mmuIntervalNotifierRemove(v as MmuIntervalNotifier),
      invalid,
    );
    add(
      'mmu_interval_read_begin',
      `mni = ${what}`,
      () => mmuIntervalReadBegin(v as MmuIntervalNotifier),
      invalid,
    );
    add(
      'mmu_interval_read_retry',
      `mni = ${what}`,
      () => mmuIntervalReadRetry(v as MmuIntervalNotifier, 1),
      invalid,
    );
    add(
      'mmu_interval_check_retry',
      `mni = ${what}`,
      () => mmuIntervalCheckRetry(v as MmuIntervalNotifier, 1),
      invalid,
    );
    add(
      'mmu_interval_set_seq',
      `mni = ${what}`,
      () => mmuIntervalSetSeq(v as MmuIntervalNotifier, 1),
      invalid,
    );
  }
  const never = /is not inserted \(it was never inserted\)/;
  const removed = /is not inserted \(it was removed from mm\d+/;
  add(
    'mmu_interval_notifier_remove',
    'never inserted',
    () => mmuIntervalNotifierRemove(new MmuIntervalNotifier()),
    { error: KernelBugError, message: never },
  );
  add(
    'mmu_interval_notifier_remove',
    'removed twice',
    async () => mmuIntervalNotifierRemove((await removedNotifier(f)).mni),
    {
      error: KernelBugError,
      message: removed,
    },
  );
  add(
    'mmu_interval_notifier_remove',
    'with the driver lock held',
    () => holding(f.A.lock, () => mmuIntervalNotifierRemove(f.A.mni)),
    {
      error: KernelBugError,
      message: /lockdep: mmu_interval_notifier_remove/,
    },
  );
  add(
    'mmu_interval_notifier_remove',
    'in atomic context (a spinlock held)',
    async () => {
      const l = new Spinlock(f.sched, 'some_spinlock');
      await spinLock(l);
      try {
        return await mmuIntervalNotifierRemove(f.A.mni);
      } finally {
        spinUnlock(l);
      }
    },
    { error: KernelBugError, message: /sleeping function called from invalid context/ },
  );
  add(
    'mmu_interval_read_begin',
    'never inserted',
    () => mmuIntervalReadBegin(new MmuIntervalNotifier()),
    { error: KernelBugError, message: never },
  );
  add(
    'mmu_interval_read_begin',
    'after remove',
    async () => mmuIntervalReadBegin((await removedNotifier(f)).mni),
    { error: KernelBugError, message: removed },
  );
  add(
    'mmu_interval_read_begin',
    'with the driver lock held',
    () => holding(f.A.lock, () => mmuIntervalReadBegin(f.A.mni)),
    {
      error: KernelBugError,
      message: /lockdep: mmu_interval_read_begin/,
    },
  );
  for (const fn of ['mmu_interval_read_retry', 'mmu_interval_check_retry'] as const) {
    const call = fn === 'mmu_interval_read_retry' ? mmuIntervalReadRetry : mmuIntervalCheckRetry;
    for (const [what, v] of BAD_NUMBERS) {
      add(fn, `seq = ${what}`, () => holding(f.A.lock, () => call(f.A.mni, v)), {
        error: InvalidArgumentError,
        message: /seq is .*; expected a sequence number/,
      });
    }
    add(fn, 'never inserted', () => call(new MmuIntervalNotifier(), 1), {
      error: KernelBugError,
      message: never,
    });
    add(
      fn,
      'after remove (the answer would be "no collision" for ever)',
      async () => {
        const D = await removedNotifier(f);
        return holding(D.lock, () => call(D.mni, D.mni.invalidateSeq));
      },
      { error: KernelBugError, message: removed },
    );
  }
  add(
    'mmu_interval_read_retry',
    'without the driver lock',
    () => mmuIntervalReadRetry(f.A.mni, 1),
    {
      error: KernelBugError,
      message: /without mutex A\.user_lock/,
    },
  );
  for (const [what, v] of BAD_NUMBERS) {
    add(
      'mmu_interval_set_seq',
      `cur_seq = ${what}`,
      () => inWindow(f, () => holding(f.A.lock, () => mmuIntervalSetSeq(f.A.mni, v))),
      {
        error: InvalidArgumentError,
        message: /cur_seq is .*; expected the cur_seq passed to invalidate/,
      },
    );
  }
  add(
    'mmu_interval_set_seq',
    'outside any invalidation (seq even)',
    () => holding(f.A.lock, () => mmuIntervalSetSeq(f.A.mni, f.A.mni.invalidateSeq)),
    {
      error: KernelBugError,
      message: /not the sequence of an invalidation in progress/,
    },
  );
  add(
    'mmu_interval_set_seq',
    'a stale cur_seq inside a window',
    () => inWindow(f, (cur) => holding(f.A.lock, () => mmuIntervalSetSeq(f.A.mni, cur - 2))),
    {
      error: KernelBugError,
      message: /not the sequence of an invalidation in progress/,
    },
  );
  add(
    'mmu_interval_set_seq',
    'without the driver lock',
    () => inWindow(f, (cur) => mmuIntervalSetSeq(f.A.mni, cur)),
    {
      error: KernelBugError,
      message: /without mutex A\.user_lock/,
    },
  );
  add(
    'mmu_interval_set_seq',
    'after remove',
    async () => {
      const D = await removedNotifier(f);
      return inWindow(f, (cur) => holding(D.lock, () => mmuIntervalSetSeq(D.mni, cur)));
    },
    { error: KernelBugError, message: removed },
  );

  // ---- the legacy mmu_notifier ----
  for (const [what, v] of NOT_OBJECTS) {
    if (v !== null) {
      add(
        'mmu_notifier_register',
        `mn = ${what}`,
        () => mmuNotifierRegister(v as MmuNotifier, f.mm),
        invalid,
      );
      add(
        '__mmu_notifier_register',
        `mn = ${what}`,
        () => __mmuNotifierRegister(v as MmuNotifier, f.mm),
        invalid,
      );
    }
    add(
      'mmu_notifier_register',
      `mm = ${what}`,
      () => mmuNotifierRegister(new MmuNotifier({}), v as MmStruct),
      invalid,
    );
    add(
      'mmu_notifier_unregister',
      `mn = ${what}`,
      () => mmuNotifierUnregister(v as MmuNotifier, f.mm),
      invalid,
    );
    add(
      'mmu_notifier_unregister',
      `mm = ${what}`,
      () => mmuNotifierUnregister(f.legacy, v as MmStruct),
      invalid,
    );
    if (v === null || typeof v !== 'object') {
      add('mmu_notifier_get', `ops = ${what}`, () => mmuNotifierGet(v as never, f.mm), invalid);
    }
    add('mmu_notifier_get', `mm = ${what}`, () => mmuNotifierGet(f.getOps, v as MmStruct), invalid);
    add('mmu_notifier_put', `mn = ${what}`, () => mmuNotifierPut(v as MmuNotifier), invalid);
  }
  add(
    'mmu_notifier_register',
    'the same notifier twice',
    () => mmuNotifierRegister(f.legacy, f.mm),
    {
      error: KernelBugError,
      message: /already registered/,
    },
  );
  add(
    'mmu_notifier_register',
    'on an exited mm',
    async () => mmuNotifierRegister(new MmuNotifier({}), await f.deadMm()),
    {
      error: KernelBugError,
      message: /mm_users 0/,
    },
  );
  add(
    '__mmu_notifier_register',
    'without mmap_sem held for write',
    () => __mmuNotifierRegister(new MmuNotifier({}), f.mm),
    {
      error: KernelBugError,
      message: /without mmap_sem held for write/,
    },
  );
  add(
    'mmu_notifier_unregister',
    'never registered',
    () => mmuNotifierUnregister(new MmuNotifier({}), f.mm),
    {
      error: KernelBugError,
      message: /not registered on this mm/,
    },
  );
  add(
    'mmu_notifier_unregister',
    'twice',
    async () => {
      const L = new MmuNotifier({});
      await mmuNotifierRegister(L, f.mm);
      await mmuNotifierUnregister(L, f.mm);
      return mmuNotifierUnregister(L, f.mm);
    },
    { error: KernelBugError, message: /not registered on this mm/ },
  );
  add(
    'mmu_notifier_unregister',
    'on another mm',
    () => mmuNotifierUnregister(f.legacy, f.freshMm()),
    {
      error: KernelBugError,
      message: /not registered on this mm/,
    },
  );
  add(
    'mmu_notifier_unregister',
    'after the last mmu_notifier_put (mm_count dropped twice)',
    async () => {
      const ops: MmuNotifierOps = {
        allocNotifier: () => new MmuNotifier(ops),
        freeNotifier: () => {},
      };
      const mn = (await mmuNotifierGet(ops, f.mm)) as MmuNotifier;
      await mmuNotifierPut(mn);
      try {
        return await mmuNotifierUnregister(mn, f.mm);
      } finally {
        await mmuNotifierSynchronize(f.sched);
      }
    },
    { error: KernelBugError, message: /already released by its last mmu_notifier_put/ },
  );
  add(
    'mmu_notifier_get',
    'ops without alloc_notifier/free_notifier',
    () => mmuNotifierGet({}, f.mm),
    { error: KernelBugError, message: /without alloc_notifier/ },
  );
  add(
    'mmu_notifier_get',
    'alloc_notifier fails with -ENOMEM',
    () => mmuNotifierGet({ allocNotifier: () => -ENOMEM, freeNotifier: () => {} }, f.mm),
    {
      errno: -ENOMEM,
    },
  );
  add(
    'mmu_notifier_get_locked',
    'alloc_notifier returns garbage',
    () => mmuNotifierGet({ allocNotifier: () => ({}) as never, freeNotifier: () => {} }, f.mm),
    {
      error: KernelBugError,
      message: /alloc_notifier returned/,
    },
  );
  add(
    'mmu_notifier_get_locked',
    'without mmap_sem held for write',
    () => mmuNotifierGetLocked(f.getOps, f.mm),
    { error: KernelBugError, message: /without mmap_sem/ },
  );
  add('mmu_notifier_put', 'never got', () => mmuNotifierPut(new MmuNotifier(f.getOps)), {
    error: KernelBugError,
    message: /not registered/,
  });
  add(
    'mmu_notifier_put',
    'one put too many',
    async () => {
      const ops: MmuNotifierOps = {
        allocNotifier: () => new MmuNotifier(ops),
        freeNotifier: () => {},
      };
      const mn = (await mmuNotifierGet(ops, f.mm)) as MmuNotifier;
      await mmuNotifierPut(mn);
      try {
        return await mmuNotifierPut(mn);
      } finally {
        await mmuNotifierSynchronize(f.sched);
      }
    },
    { error: KernelBugError, message: /users already 0/ },
  );
  add(
    'mmu_notifier_synchronize',
    'sched = null',
    () => mmuNotifierSynchronize(null as never),
    invalid,
  );
  add(
    'mmuNotifierSetOptions',
    "unpairedStartEnd = 'v5.5'",
    () => mmuNotifierSetOptions(f.mm, { unpairedStartEnd: 'v5.5' as never }),
    invalid,
  );
  add(
    'mmuNotifierSetOptions',
    'insertRequires = 1',
    () => mmuNotifierSetOptions(f.mm, { insertRequires: 1 as never }),
    invalid,
  );
  add(
    'mmuNotifierSetOptions',
    'mm = null',
    () => mmuNotifierSetOptions(null as never, {}),
    invalid,
  );
  add(
    'mmuNotifierSetOptions',
    'opts = null',
    () => mmuNotifierSetOptions(f.mm, null as never),
    invalid,
  );

  // ---- the hooks the core mm calls ----
  for (const [what, v] of BAD_NUMBERS) {
    for (const field of ['start', 'end'] as const) {
      // Built good, then broken (mmu_notifier_range_init refuses such bounds itself).
      const broken = () => {
        const r = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, f.mm, BASE, BASE + PAGE);
        r[field] = v;
        return r;
      };
      add(
        'invalidate_range_start',
        `range.${field} = ${what} (the core's hook)`,
        () => mmuNotifierMmOf(f.mm)?.invalidateRangeStart(broken()),
        invalid,
      );
      add(
        'invalidate_range_end',
        `range.${field} = ${what} (the core's hook)`,
        () => mmuNotifierMmOf(f.mm)?.invalidateRangeEnd(broken(), false),
        invalid,
      );
    }
    add(
      'mmu_notifier_invalidate_range',
      `start = ${what}`,
      () => mmuNotifierInvalidateRange(f.mm, v, BASE),
      invalid,
    );
    add(
      'mmu_notifier_change_pte',
      `addr = ${what}`,
      () => mmuNotifierChangePte(f.mm, v, 0, 0),
      invalid,
    );
    add(
      'mmu_notifier_clear_flush_young',
      `end = ${what}`,
      () => mmuNotifierClearFlushYoung(f.mm, BASE, v),
      invalid,
    );
    add(
      'mmu_notifier_clear_young',
      `start = ${what}`,
      () => mmuNotifierClearYoung(f.mm, v, BASE),
      invalid,
    );
    add('mmu_notifier_test_young', `addr = ${what}`, () => mmuNotifierTestYoung(f.mm, v), invalid);
  }
  add(
    'invalidate_range_start',
    "an empty range (the core's hook)",
    () => {
      const r = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, f.mm, BASE, BASE + PAGE);
      r.end = BASE;
      return mmuNotifierMmOf(f.mm)?.invalidateRangeStart(r);
    },
    { error: InvalidArgumentError, message: /is empty/ },
  );
  add(
    'invalidate_range_end',
    'ended twice',
    async () => {
      const r = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, f.mm, BASE, BASE + PAGE);
      await mmuNotifierInvalidateRangeStart(r);
      await mmuNotifierInvalidateRangeEnd(r);
      return mmuNotifierInvalidateRangeEnd(r);
    },
    { error: KernelBugError, message: /its end already ran/ },
  );
  add(
    'invalidate_range_start',
    'started twice',
    async () => {
      const r = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, f.mm, BASE, BASE + PAGE);
      await mmuNotifierInvalidateRangeStart(r);
      try {
        return await mmuNotifierInvalidateRangeStart(r);
      } finally {
        await mmuNotifierInvalidateRangeEnd(r);
      }
    },
    { error: KernelBugError, message: /already started/ },
  );

  // ---- SRCU, the interval tree, the scenario helpers, the log ----
  for (const [what, v] of BAD_NUMBERS) {
    add(
      'srcu_read_unlock',
      `idx = ${what}`,
      () => srcuReadUnlock(mmuNotifierSrcu(f.sched), v),
      invalid,
    );
    add(
      'IntervalTree.insert',
      `start = ${what}`,
      () => new IntervalTree().insert(v, 5, 1),
      invalid,
    );
    add(
      'IntervalTree.iterFirst',
      `last = ${what}`,
      () => new IntervalTree().iterFirst(0, v),
      invalid,
    );
    add(
      'IntervalTree.iterNext',
      `id = ${what}`,
      () => {
        const t = new IntervalTree<number>();
        t.insert(0, 10, 1);
        return t.iterNext(v, 0, 10);
      },
      invalid,
    );
    add('IntervalTree.remove', `id = ${what}`, () => new IntervalTree().remove(v), invalid);
    add('cpuPfnAt', `addr = ${what}`, () => cpuPfnAt(f.mm, v), invalid);
    add(
      'MirrorDriver.fault',
      `addr = ${what}`,
      () => new MirrorDriver(f.sched, f.mm).fault(v),
      invalid,
    );
  }
  add(
    'srcu_read_unlock',
    'an index no read section holds',
    () => {
      const ss = mmuNotifierSrcu(f.sched);
      const idx = srcuReadLock(ss);
      srcuReadUnlock(ss, idx);
      return srcuReadUnlock(ss, idx);
    },
    { error: KernelBugError, message: /no open read section/ },
  );
  add('IntervalTree.insert', 'last < start', () => new IntervalTree().insert(10, 5, 1), invalid);
  add('mmuNotifierLogStart', 'sched = null', () => mmuNotifierLogStart(null as never), invalid);
  add('cpuPfnAt', 'mm = null', () => cpuPfnAt(null as never, BASE), invalid);
  return out;
}

describe('bad-input table: @hmmsim/mmu-notifier', () => {
  it('answers every bad input with the errno or a typed error naming the function, and changes nothing', async () => {
    const f = await fixture();
    const table = rows(f);
    const report = await runBadInputTable('@hmmsim/mmu-notifier', table, {
      afterEach: f.afterEach,
    });
    console.log(formatBadInputReport(report));
    expect(report.failures).toEqual([]);
    expect(report.tried).toBe(table.length);
    expect(report.answers.get('accepted')).toBeUndefined();
  });
});
