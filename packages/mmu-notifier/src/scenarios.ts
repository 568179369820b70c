/**
 * Explorer scenarios of the notifier code, each meant to be explored exhaustively with a
 * preemption bound of 2: inserts during an invalidation are deferred, remove waits for the
 * window, read_begin sleeps only while its notifier is invalidated and read_retry judges right,
 * a driver following the collision-retry pattern never keeps a stale device mapping, and a driver
 * that forgets mmu_interval_set_seq is caught. Also: legacy unregister waits for a callback in
 * flight. Every scenario checks the state invariants at each step and the history at the end.
 * The scenarios' own shared state (driver device tables, counters, result fields) reports its
 * accesses (noteRead/noteWrite) for the explorer's partial-order reduction, as do every package
 * below (kernel primitives, pagetable, mm), so every scenario here declares
 * `accesses: 'reported'`; test/dpor.test.ts checks that the reduced search reaches the same final
 * states as the full one on each. The event log is not reported (DIAGNOSTICS_ONLY): it only
 * records, and its history checks relate events that touch a common object.
 *
 * Mirrors: model-only (the usage rules and guarantees of the sequence protocol, docs/kernel/invariants.md).
 */
import { defineScenario, type Scenario } from '@hmmsim/explorer';
import {
  accessReporting,
  checkUlong,
  downRead,
  EBUSY,
  EFAULT,
  KernelBugError,
  Mutex,
  mutexLock,
  mutexTrylock,
  mutexUnlock,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  type Scheduler,
  upRead,
} from '@hmmsim/kernel';
import {
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MMU_NOTIFY_CLEAR,
  type MmStruct,
  type MmuNotifierRange,
  mmap,
  mmgetNotZero,
  mmput,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeBlockable,
  mmuNotifierRangeInit,
  munmap,
  PROT_READ,
  PROT_WRITE,
  pteLookup,
} from '@hmmsim/mm';
import { ptePresent } from '@hmmsim/pagetable';
import { checkMmStruct } from './arg-checks.ts';
import { type MmuNotifierLog, mmuNotifierLogStart } from './event-log.ts';
import { IT_NIL } from './interval-tree.ts';
import {
  assertMmuNotifierHistory,
  assertMmuNotifierInvariants,
  checkFaultContext,
} from './invariants.ts';
import {
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from './mmu-interval-notifier.ts';
import { MmuNotifier, mmuNotifierRegister, mmuNotifierUnregister } from './mmu-notifier.ts';

/** Where the scenarios map their memory (page aligned, above mmap_min_addr). */
const BASE = 0x10000000;
/** Attempts of the driver's fault loop (the kernel bounds it by HMM_RANGE_DEFAULT_TIMEOUT). */
const MAX_TRIES = 3;

/** Insert `mni` over `[start, start + length)` of `mm`; a non-zero result fails the run (`what`). */
async function insertOrThrow(
  what: string,
  mni: MmuIntervalNotifier,
  mm: MmStruct,
  start: number,
  length: number,
  ops: MmuIntervalNotifierOps,
): Promise<void> {
  const ret = await mmuIntervalNotifierInsert(mni, mm, start, length, ops);
  if (ret !== 0) throw new KernelBugError(`${what} returned ${ret}`);
}

/**
 * The pfn the CPU maps at `addr` (4 KiB pages), or null. Read-only: no accessed bit is set.
 * Mirrors: model-only (a read-only follow_pte() without the accessed-bit update).
 */
export function cpuPfnAt(mm: MmStruct, addr: number): number | null {
  checkMmStruct('cpuPfnAt', 'mm', mm);
  checkUlong('cpuPfnAt', 'addr', addr, 'an address');
  const slot = pteLookup(mm, addr);
  if (slot < 0) return null;
  if (accessReporting) noteRead(mm.pt, slot);
  return ptePresent(mm.pt.bits[slot] as number) ? (mm.pt.val[slot] as number) : null;
}

/**
 * A mirroring device that follows the collision-retry pattern (docs/kernel/invariants.md) (or, with
 * `forgetSetSeq`, gets it wrong): a device page table, a user lock, an interval notifier.
 * Mirrors: model-only (the shape of nouveau/amdgpu after the v5.5 conversion).
 */
export class MirrorDriver {
  readonly mni = new MmuIntervalNotifier();
  readonly lock: Mutex;
  /** Device page table: address → pfn. */
  readonly device = new Map<number, number>();
  /** Faults that programmed the device (seq used). */
  readonly programmed: { addr: number; pfn: number; seq: number }[] = [];
  /** Precondition violations seen in the fault path (invariant 12). */
  readonly faultViolations: string[] = [];
  readonly ops: MmuIntervalNotifierOps;

  constructor(
    readonly sched: Scheduler,
    readonly mm: MmStruct,
    readonly forgetSetSeq = false,
  ) {
    this.lock = new Mutex(sched, 'driver.user_lock');
    this.ops = {
      invalidate: (mni, range, curSeq) => this.invalidate(mni, range, curSeq),
      userLock: this.lock,
    };
  }

  /** ops.invalidate: under the user lock, set_seq (unless buggy) and zap the device entries. */
  async invalidate(
    mni: MmuIntervalNotifier,
    range: MmuNotifierRange,
    curSeq: number,
  ): Promise<boolean> {
    if (mmuNotifierRangeBlockable(range)) await mutexLock(this.lock);
    else if (mutexTrylock(this.lock) === 0) return false;
    if (!this.forgetSetSeq) mmuIntervalSetSeq(mni, curSeq);
    if (accessReporting) noteRead(mni);
    const lo = Math.max(range.start, mni.itStart);
    const hi = Math.min(range.end - 1, mni.itLast);
    if (accessReporting) noteWrite(this.device);
    for (const addr of [...this.device.keys()])
      if (addr >= lo && addr <= hi) this.device.delete(addr);
    mutexUnlock(this.lock);
    return true;
  }

  /** Device fault on `addr`: 0, -EFAULT (no CPU page / dying mm) or -EBUSY (ran out of tries). */
  async fault(addr: number): Promise<number> {
    checkUlong('MirrorDriver.fault', 'addr', addr, 'an address');
    const mm = this.mm;
    if (!mmgetNotZero(mm)) return -EFAULT;
    try {
      for (let tries = 0; tries < MAX_TRIES; tries++) {
        const seq = await mmuIntervalReadBegin(this.mni);
        await downRead(mm.mmapSem);
        if (accessReporting) noteWrite(this.faultViolations);
        this.faultViolations.push(...checkFaultContext(mm));
        const pfn = cpuPfnAt(mm, addr); // the snapshot (hmm_range_fault stands here)
        upRead(mm.mmapSem);
        if (pfn === null) return -EFAULT;
        await mutexLock(this.lock);
        if (mmuIntervalReadRetry(this.mni, seq)) {
          mutexUnlock(this.lock);
          continue;
        }
        if (accessReporting) noteWrite(this.device);
        this.device.set(addr, pfn);
        if (accessReporting) noteWrite(this.programmed);
        this.programmed.push({ addr, pfn, seq });
        mutexUnlock(this.lock);
        return 0;
      }
      return -EBUSY;
    } finally {
      await mmput(mm);
    }
  }

  /** Invariant 1: every device entry maps what the CPU maps at that address. */
  staleMappings(): string[] {
    const out: string[] = [];
    for (const [addr, pfn] of this.device) {
      const cpu = cpuPfnAt(this.mm, addr);
      if (cpu !== pfn) {
        out.push(
          `stale device mapping: 0x${addr.toString(16)} -> pfn ${pfn} on the device, but the CPU maps ` +
            `${cpu === null ? 'nothing' : `pfn ${cpu}`} there`,
        );
      }
    }
    return out;
  }
}

/** A small interval driver used by the protocol scenarios: set_seq under its lock, record calls. */
export class SeqDriver {
  readonly mni = new MmuIntervalNotifier();
  readonly lock: Mutex;
  readonly ops: MmuIntervalNotifierOps;
  calls = 0;

  constructor(sched: Scheduler, name: string) {
    this.lock = new Mutex(sched, `${name}.user_lock`);
    this.ops = {
      invalidate: async (mni, range, curSeq) => {
        if (mmuNotifierRangeBlockable(range)) await mutexLock(this.lock);
        else if (mutexTrylock(this.lock) === 0) return false;
        mmuIntervalSetSeq(mni, curSeq);
        if (accessReporting) noteWrite(this);
        this.calls++;
        mutexUnlock(this.lock);
        return true;
      },
      userLock: this.lock,
    };
  }
}

/** Common state of the scenarios. */
export interface World {
  readonly sched: Scheduler;
  readonly mm: MmStruct;
  readonly log: MmuNotifierLog;
}

/** A machine with one mm and an active notifier log. */
function makeWorld(sched: Scheduler): World {
  const machine = createMachine({ ramBytes: 4 * 2 ** 20, swapPages: 0, sched });
  const mm = createMm(machine);
  return { sched, mm, log: mmuNotifierLogStart(sched) };
}

/** One blockable CLEAR invalidation of `[start, end)` with nothing in between (a zap stand-in). */
async function invalidate(mm: MmStruct, start: number, end: number): Promise<void> {
  const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, start, end);
  await mmuNotifierInvalidateRangeStart(range);
  await mm.machine.sched.point({
    kind: 'test.zap',
    label: `0x${start.toString(16)}-0x${end.toString(16)}`,
  });
  await mmuNotifierInvalidateRangeEnd(range);
}

/** Throw when `errs` is not empty. */
function fail(errs: readonly string[]): void {
  if (errs.length > 0) throw new KernelBugError(errs.join('\n'));
}

/** State checks at every step. */
function stepCheck(w: World): void {
  assertMmuNotifierInvariants(w.mm);
}

/** State and full history checks at the end. */
function endCheck(w: World): void {
  assertMmuNotifierInvariants(w.mm);
  assertMmuNotifierHistory(w.log.events, { final: true });
}

// ---- insert during an invalidation is deferred ----------------------------------------------------

/** State of the insert-during-invalidation scenario. Model-only. */
export interface InsertState extends World {
  readonly a: SeqDriver;
  readonly b: SeqDriver;
  seqB: number | undefined;
}

/**
 * CPU0 invalidates `[BASE, BASE + 2 pages)` hitting A; CPU1 inserts B inside that range and
 * read_begins it. B must not be called in the window it was inserted in, it is linked when the
 * window ends (before any waiter wakes), and its read_begin does not return inside that window.
 * Mirrors: model-only (the deferred insert of mm/mmu_notifier.c).
 */
export const insertDuringInvalidationDeferred: Scenario<InsertState> = defineScenario<InsertState>({
  name: 'mmu-interval-insert-deferred',
  description:
    'an insert during an invalidation window is deferred until the window ends; read_begin of it waits',
  expect: 'pass',
  accesses: 'reported',
  async setup(sched) {
    const w = makeWorld(sched);
    const a = new SeqDriver(sched, 'A');
    await insertOrThrow('setup: insert A', a.mni, w.mm, BASE, 2 * PAGE_SIZE, a.ops);
    return { ...w, a, b: new SeqDriver(sched, 'B'), seqB: undefined };
  },
  tasks: [
    { name: 'cpu0 invalidate', run: (s) => invalidate(s.mm, BASE, BASE + 2 * PAGE_SIZE) },
    {
      name: 'cpu1 insert B',
      async run(s) {
        await insertOrThrow('insert B', s.b.mni, s.mm, BASE + PAGE_SIZE, PAGE_SIZE, s.b.ops);
        const seq = await mmuIntervalReadBegin(s.b.mni);
        if (accessReporting) noteWrite(s);
        s.seqB = seq;
      },
    },
  ],
  invariant: stepCheck,
  finalCheck(s) {
    endCheck(s);
    if (s.b.mni.itNode === IT_NIL)
      throw new KernelBugError('B is not in the tree after every window ended');
    if (s.seqB === undefined) throw new KernelBugError('read_begin(B) never returned');
  },
});

// ---- remove waits for the window ------------------------------------------------------------------

/** State of the remove-waits scenario. Model-only. */
export interface RemoveState extends World {
  readonly a: SeqDriver;
  removed: boolean;
  callsAtRemove: number;
}

/**
 * CPU0 invalidates A's interval; CPU1 removes A. After remove returns, A's callback is neither
 * running nor ever called again; A is out of the tree.
 * Mirrors: model-only (mm/mmu_notifier.c:mmu_interval_notifier_remove() guarantee).
 */
export const removeWaitsForInvalidation: Scenario<RemoveState> = defineScenario<RemoveState>({
  name: 'mmu-interval-remove-waits',
  description:
    'mmu_interval_notifier_remove during an invalidation of the notifier waits for the window to end',
  expect: 'pass',
  accesses: 'reported',
  async setup(sched) {
    const w = makeWorld(sched);
    const a = new SeqDriver(sched, 'A');
    await insertOrThrow('setup: insert A', a.mni, w.mm, BASE, PAGE_SIZE, a.ops);
    return { ...w, a, removed: false, callsAtRemove: -1 };
  },
  tasks: [
    { name: 'cpu0 invalidate', run: (s) => invalidate(s.mm, BASE, BASE + PAGE_SIZE) },
    {
      name: 'cpu1 remove A',
      async run(s) {
        await mmuIntervalNotifierRemove(s.a.mni);
        if (accessReporting) noteWrite(s);
        s.removed = true;
        if (accessReporting) noteRead(s.a);
        s.callsAtRemove = s.a.calls;
      },
    },
  ],
  invariant: stepCheck,
  finalCheck(s) {
    endCheck(s);
    if (!s.removed || s.a.mni.itNode !== IT_NIL)
      throw new KernelBugError('A was not removed from the tree');
    if (s.a.calls !== s.callsAtRemove) {
      throw new KernelBugError(
        `A was called ${s.a.calls - s.callsAtRemove} time(s) after remove returned`,
      );
    }
  },
});

// ---- read_begin sleeps while invalidated, read_retry judges right ---------------------------------

/** State of the read_begin-sleeps scenario. Model-only. */
export interface ReadState extends World {
  readonly a: SeqDriver;
  readonly b: SeqDriver;
  result: { seq: number; retry: boolean } | undefined;
}

/**
 * CPU0 runs two invalidations: one of B only (must not make A's readers wait), then one of A.
 * CPU1 does read_begin(A) … lock … read_retry(A). read_begin returns outside A's window,
 * read_retry is true exactly when A's callback ran set_seq after read_begin (history check 9).
 * Mirrors: model-only (mm/mmu_notifier.c:mmu_interval_read_begin()).
 */
export const readBeginSleepsWhileInvalidated: Scenario<ReadState> = defineScenario<ReadState>({
  name: 'mmu-interval-read-begin',
  description:
    'read_begin sleeps only while its own notifier is invalidated; read_retry then judges the seq right',
  expect: 'pass',
  accesses: 'reported',
  async setup(sched) {
    const w = makeWorld(sched);
    const a = new SeqDriver(sched, 'A');
    const b = new SeqDriver(sched, 'B');
    for (const [d, start] of [
      [a, BASE],
      [b, BASE + 4 * PAGE_SIZE],
    ] as const) {
      await insertOrThrow('setup: insert', d.mni, w.mm, start, PAGE_SIZE, d.ops);
    }
    return { ...w, a, b, result: undefined };
  },
  tasks: [
    {
      name: 'cpu0 invalidate B then A',
      async run(s) {
        await invalidate(s.mm, BASE + 4 * PAGE_SIZE, BASE + 5 * PAGE_SIZE);
        await invalidate(s.mm, BASE, BASE + PAGE_SIZE);
      },
    },
    {
      name: 'cpu1 read A',
      async run(s) {
        const seq = await mmuIntervalReadBegin(s.a.mni);
        await s.sched.point({ kind: 'test.snapshot', label: 'read device data' });
        await mutexLock(s.a.lock);
        const retry = mmuIntervalReadRetry(s.a.mni, seq);
        mutexUnlock(s.a.lock);
        if (accessReporting) noteWrite(s);
        s.result = { seq, retry };
      },
    },
  ],
  invariant: stepCheck,
  finalCheck(s) {
    endCheck(s);
    if (s.result === undefined) throw new KernelBugError('read_retry never ran');
  },
});

// ---- the collision-retry driver never keeps a stale mapping ---------------------------------------

/** State of the collision-retry scenarios (a mirrored range and its device copy). Model-only. */
export interface MirrorState extends World {
  readonly drv: MirrorDriver;
  readonly addr: number;
  faultRet: number | undefined;
}

/** Map and touch one page, insert the driver's notifier over it. */
async function mirrorSetup(sched: Scheduler, forgetSetSeq: boolean): Promise<MirrorState> {
  const w = makeWorld(sched);
  const addr = await mmap(
    w.mm,
    BASE,
    PAGE_SIZE,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS,
  );
  if (addr !== BASE) throw new KernelBugError(`setup: mmap returned ${addr}`);
  const wr = await cpuWrite(w.mm, addr, new Uint8Array([1]));
  if (!wr.ok) throw new KernelBugError('setup: the first touch failed');
  const drv = new MirrorDriver(sched, w.mm, forgetSetSeq);
  await insertOrThrow('setup: insert', drv.mni, w.mm, addr, PAGE_SIZE, drv.ops);
  return { ...w, drv, addr, faultRet: undefined };
}

const mirrorTasks = [
  {
    name: 'cpu0 munmap',
    run: async (s: MirrorState) => void (await munmap(s.mm, s.addr, PAGE_SIZE)),
  },
  {
    name: 'cpu1 device fault',
    async run(s: MirrorState) {
      const ret = await s.drv.fault(s.addr);
      if (accessReporting) noteWrite(s);
      s.faultRet = ret;
    },
  },
];

/** Invariant 1 (device mirrors CPU) and invariant 12 at every step, plus the state checks. */
function mirrorStep(s: MirrorState): void {
  stepCheck(s);
  fail(s.drv.staleMappings());
  fail(s.drv.faultViolations);
}

/**
 * CPU0 munmaps a page while CPU1's driver faults it in with the collision-retry pattern. The
 * device never maps a page the CPU does not map at that address, at any step.
 * Mirrors: model-only (the driver pattern: read_begin, snapshot, lock, read_retry).
 */
export const collisionRetryNeverStale: Scenario<MirrorState> = defineScenario<MirrorState>({
  name: 'mmu-interval-collision-retry',
  description:
    'a driver using read_begin/read_retry/set_seq never keeps a stale device mapping across an munmap',
  expect: 'pass',
  accesses: 'reported',
  setup: (sched) => mirrorSetup(sched, false),
  tasks: mirrorTasks,
  invariant: mirrorStep,
  finalCheck(s) {
    mirrorStep(s);
    endCheck(s);
    if (s.faultRet !== 0 && s.faultRet !== -EFAULT)
      throw new KernelBugError(`fault returned ${s.faultRet}`);
  },
});

/**
 * The same driver without mmu_interval_set_seq in its invalidate callback: read_retry never
 * fires, so a snapshot taken before the munmap is programmed after it — a stale device mapping.
 * The explorer must find it (one preemption suffices).
 * Mirrors: model-only (include/linux/mmu_notifier.h:mmu_interval_set_seq() omitted).
 */
export const forgottenSetSeqCaught: Scenario<MirrorState> = defineScenario<MirrorState>({
  name: 'mmu-interval-forgot-set-seq',
  description: 'a driver that forgets mmu_interval_set_seq keeps a stale device mapping: caught',
  expect: 'violation',
  accesses: 'reported',
  setup: (sched) => mirrorSetup(sched, true),
  tasks: mirrorTasks,
  invariant: mirrorStep,
  finalCheck(s) {
    mirrorStep(s);
    endCheck(s);
  },
});

// ---- legacy: unregister waits for a callback in flight --------------------------------------------

/** State of the unregister-waits scenario. Model-only. */
export interface UnregisterState extends World {
  readonly mn: MmuNotifier;
  inCallback: number;
  unregistered: boolean;
}

/**
 * CPU0 runs an invalidation whose legacy callback sleeps on a driver mutex; CPU1 unregisters the
 * subscriber. When unregister returns, no callback of it is running, and none runs later.
 * Mirrors: model-only (mm/mmu_notifier.c:mmu_notifier_unregister() guarantee).
 */
export const unregisterWaitsForCallbacks: Scenario<UnregisterState> =
  defineScenario<UnregisterState>({
    name: 'mmu-notifier-unregister-waits',
    description:
      'mmu_notifier_unregister returns only after callbacks in flight on other CPUs have returned',
    expect: 'pass',
    accesses: 'reported',
    async setup(sched) {
      const w = makeWorld(sched);
      const lock = new Mutex(sched, 'kvm.lock');
      const state: UnregisterState = {
        ...w,
        mn: new MmuNotifier({}),
        inCallback: 0,
        unregistered: false,
      };
      const enter = async (): Promise<void> => {
        if (accessReporting) noteWrite(state);
        if (state.unregistered)
          throw new KernelBugError('callback after mmu_notifier_unregister returned');
        state.inCallback++;
        await mutexLock(lock);
        mutexUnlock(lock);
        if (accessReporting) noteWrite(state);
        state.inCallback--;
      };
      state.mn.ops = {
        invalidateRangeStart: async () => {
          await enter();
          return 0;
        },
        invalidateRangeEnd: enter,
        release: enter,
      };
      const ret = await mmuNotifierRegister(state.mn, w.mm);
      if (ret !== 0) throw new KernelBugError(`setup: register returned ${ret}`);
      return state;
    },
    tasks: [
      { name: 'cpu0 invalidate', run: (s) => invalidate(s.mm, BASE, BASE + PAGE_SIZE) },
      {
        name: 'cpu1 unregister',
        async run(s) {
          await mmuNotifierUnregister(s.mn, s.mm);
          if (accessReporting) noteWrite(s);
          if (s.inCallback !== 0)
            throw new KernelBugError('unregister returned while a callback was running');
          s.unregistered = true;
        },
      },
    ],
    invariant: stepCheck,
    finalCheck: endCheck,
  });

/**
 * Every scenario of this package, for `hmmsim explore --list`.
 * Mirrors: model-only.
 */
export const scenarios: readonly Scenario[] = [
  insertDuringInvalidationDeferred,
  removeWaitsForInvalidation,
  readBeginSleepsWhileInvalidated,
  collisionRetryNeverStale,
  forgottenSetSeqCaught,
  unregisterWaitsForCallbacks,
] as readonly Scenario[];
