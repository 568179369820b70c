/**
 * The seed race, made visible: explorer scenarios in which CPU0 changes the CPU mapping of a page
 * of a mirrored range while CPU1 runs a device fault, each built for three drivers:
 *
 * - `legacy`:   the v5.4 nouveau-style driver on the legacy API (`valid` flag) — violates the
 *               invariant when CPU0's whole invalidation runs between CPU1's hmm_range_fault() and
 *               its locked hmm_range_valid() check (the seed commit's timeline);
 * - `shim`:     the same driver, unchanged, on the compat shim — clean;
 * - `interval`: a native v5.5 driver (read_begin / read_retry / set_seq) — clean.
 *
 * CPU0's operations: `munmap` of one page of the range (the freed page is then reallocated to
 * another process, which faults a page in and deterministically receives the same pfn), `mprotect`
 * of the range to read-only (write access dropped), `reclaim` of one page (swapped out, freed,
 * and reallocated to the other process).
 *
 * Invariant, checked after every step (so in particular after every invalidation's
 * end): no device entry maps a page the CPU does not map at that address, and none is writable
 * where the CPU entry is not (invariants 1–4 of docs/kernel/invariants.md; 3 and 4 hold by construction of the drivers).
 *
 * Mirrors: model-only (race R1 of docs/kernel/races.md).
 */
import { defineScenario, type Scenario } from '@hmmsim/explorer';
import {
  accessReporting,
  EBUSY,
  EFAULT,
  EPERM,
  InvalidArgumentError,
  KernelBugError,
  noteWrite,
  PAGE_SIZE,
  type Scheduler,
} from '@hmmsim/kernel';
import {
  assertMmInvariants,
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type Machine,
  type MmStruct,
  mmap,
  mprotect,
  munmap,
  PROT_READ,
  PROT_WRITE,
  reclaimPage,
} from '@hmmsim/mm';
import { assertMmuNotifierInvariants } from '@hmmsim/mmu-notifier';
import type { HmmMirrorApi } from './api.ts';
import { legacyHmmMirrorApi } from './api.ts';
import {
  cpuMappingAt,
  type DeviceMirrorViolation,
  describeViolations,
  deviceMirrorViolations,
  findPfnMappings,
} from './drivers/device-pagetable.ts';
import {
  INTERVAL_DRIVER_MISTAKES,
  IntervalDriver,
  type IntervalDriverMistake,
} from './drivers/interval-driver.ts';
import { LegacyDriver } from './drivers/legacy-driver.ts';
import { assertHmmMirrorInvariants } from './invariants.ts';
import { shimHmmMirrorApi } from './shim/index.ts';

/**
 * The three drivers of the race scenarios.
 * Mirrors: model-only.
 */
export type RaceImpl = 'legacy' | 'shim' | 'interval';

/**
 * Every implementation, in report order.
 * Mirrors: model-only.
 */
export const RACE_IMPLS: readonly RaceImpl[] = Object.freeze(['legacy', 'shim', 'interval']);

/**
 * What CPU0 does to the mirrored range.
 * Mirrors: model-only.
 */
export type RaceOp = 'munmap' | 'mprotect' | 'reclaim';

/**
 * Every operation, in report order.
 * Mirrors: model-only.
 */
export const RACE_OPS: readonly RaceOp[] = Object.freeze(['munmap', 'mprotect', 'reclaim']);

/**
 * Where the mirrored range starts (two pages).
 * Mirrors: model-only.
 */
export const RACE_BASE = 0x10000000;
/**
 * Pages in the mirrored range.
 * Mirrors: model-only.
 */
export const RACE_NPAGES = 2;
/**
 * Where the other process maps the page that receives the freed pfn.
 * Mirrors: model-only.
 */
export const RACE_OTHER_ADDR = 0x20000000;

/** The page of the range each operation hits (mprotect: the whole range). */
const VICTIM_INDEX: Readonly<Record<RaceOp, number>> = { munmap: 1, mprotect: 0, reclaim: 0 };

/**
 * State of one run of a race scenario. The tasks only read the readonly fields (set by the
 * setup) and write the result fields, each reported as an element of the state object
 * (0: `cpu0Ret`, 1: `otherPfn`, 2: `faultRet`).
 * Mirrors: model-only.
 */
export interface RaceState {
  readonly impl: RaceImpl;
  readonly op: RaceOp;
  readonly machine: Machine;
  /** The mirrored process. */
  readonly mm: MmStruct;
  /** The other process, which receives the freed page. */
  readonly other: MmStruct;
  readonly driver: LegacyDriver | IntervalDriver;
  /** Page index of the range that CPU0 hits. */
  readonly victimIndex: number;
  /** The pfn the CPU mapped there before CPU0 ran. */
  readonly victimPfn: number;
  /** CPU0's syscall / reclaim result. */
  cpu0Ret: number | undefined;
  /** The pfn the other process received (munmap and reclaim). */
  otherPfn: number | null;
  /** CPU1's device fault result. */
  faultRet: number | undefined;
}

/** Elements of a RaceState reported for its result fields (see RaceState). */
const RACE_STATE_CPU0_RET = 0;
const RACE_STATE_OTHER_PFN = 1;
const RACE_STATE_FAULT_RET = 2;

/** Throw InvalidArgumentError unless `v` is one of `allowed`. */
function checkChoice(fn: string, arg: string, v: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(v as string)) {
    throw new InvalidArgumentError(
      `${fn}: ${arg} is '${String(v)}'; expected one of ${allowed.map((x) => `'${x}'`).join(', ')}`,
    );
  }
}

/** Throw unless `ok`. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new KernelBugError(`race scenario setup: ${what}`);
}

/** The API object of a legacy-API implementation. */
function apiOf(impl: Exclude<RaceImpl, 'interval'>): HmmMirrorApi {
  return impl === 'legacy' ? legacyHmmMirrorApi : shimHmmMirrorApi;
}

/**
 * Variations of the legacy driver in a race scenario.
 * Mirrors: model-only.
 */
export interface RaceScenarioOptions {
  /**
   * The legacy driver keeps mmap_sem from before hmm_range_fault() until the device is programmed
   * (nouveau v5.4). munmap and mprotect then cannot run in between (they need mmap_sem for write);
   * reclaim still can. Default false (mmap_sem dropped after the fault, as amdgpu did).
   */
  readonly holdMmapSem?: boolean;
  /** The interval driver is built with this porting mistake (impl 'interval' only). */
  readonly mistake?: IntervalDriverMistake;
  /** The interval driver names its lock to the notifier core (default true). */
  readonly lockdepHint?: boolean;
}

/** Build the machine, the two processes and the bound driver. */
async function raceSetup(
  sched: Scheduler,
  op: RaceOp,
  impl: RaceImpl,
  opts: RaceScenarioOptions,
): Promise<RaceState> {
  const machine = createMachine({ ramBytes: 4 * 2 ** 20, swapPages: 64, sched, thp: 'never' });
  const mm = createMm(machine);
  const len = RACE_NPAGES * PAGE_SIZE;
  check(
    (await mmap(mm, RACE_BASE, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)) ===
      RACE_BASE,
    'mmap of the mirrored range',
  );
  check((await cpuWrite(mm, RACE_BASE, new Uint8Array(len).fill(7))).ok, 'first touch');
  const other = createMm(machine);
  check(
    (await mmap(
      other,
      RACE_OTHER_ADDR,
      PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    )) === RACE_OTHER_ADDR,
    'mmap in the other process',
  );
  const driver =
    impl === 'interval'
      ? new IntervalDriver(mm, RACE_BASE, RACE_NPAGES, {
          ...(opts.mistake === undefined ? {} : { mistake: opts.mistake }),
          ...(opts.lockdepHint === undefined ? {} : { lockdepHint: opts.lockdepHint }),
        })
      : new LegacyDriver(apiOf(impl), mm, RACE_BASE, RACE_NPAGES, {
          holdMmapSem: opts.holdMmapSem ?? false,
        });
  check((await driver.bind()) === 0, 'driver bind');
  const victimIndex = VICTIM_INDEX[op];
  const victim = cpuMappingAt(mm, RACE_BASE + victimIndex * PAGE_SIZE);
  check(victim !== null, 'the victim page is mapped');
  return {
    impl,
    op,
    machine,
    mm,
    other,
    driver,
    victimIndex,
    victimPfn: victim?.pfn ?? -1,
    cpu0Ret: undefined,
    otherPfn: null,
    faultRet: undefined,
  };
}

/** The other process touches its page: the page allocator hands it the lowest free pfn. */
async function otherProcessFaults(s: RaceState): Promise<void> {
  const r = await cpuWrite(s.other, RACE_OTHER_ADDR, new Uint8Array([0x42]));
  if (!r.ok) throw new KernelBugError(`the other process could not fault its page in: ${r.signal}`);
  if (accessReporting) noteWrite(s, RACE_STATE_OTHER_PFN);
  s.otherPfn = cpuMappingAt(s.other, RACE_OTHER_ADDR)?.pfn ?? null;
}

/** CPU0's work for `op`. */
async function cpu0(s: RaceState): Promise<void> {
  const victimAddr = RACE_BASE + s.victimIndex * PAGE_SIZE;
  let ret: number;
  if (s.op === 'munmap') ret = await munmap(s.mm, victimAddr, PAGE_SIZE);
  else if (s.op === 'mprotect')
    ret = await mprotect(s.mm, RACE_BASE, RACE_NPAGES * PAGE_SIZE, PROT_READ);
  else ret = await reclaimPage(s.machine, s.victimPfn);
  if (accessReporting) noteWrite(s, RACE_STATE_CPU0_RET);
  s.cpu0Ret = ret;
  if (s.op !== 'mprotect') await otherProcessFaults(s);
}

/**
 * The broken device entries of a race state (empty when the invariant holds).
 * Mirrors: model-only.
 */
export function raceViolations(s: RaceState): DeviceMirrorViolation[] {
  return deviceMirrorViolations(s.driver.dev, s.mm);
}

/**
 * Who owns `pfn` among the processes of the scenario, as text ('' if nobody maps it).
 * Mirrors: model-only.
 */
export function describePfnOwner(s: RaceState, pfn: number): string {
  const owners = findPfnMappings(pfn, [
    { mm: s.other, start: RACE_OTHER_ADDR, end: RACE_OTHER_ADDR + PAGE_SIZE },
    { mm: s.mm, start: RACE_BASE, end: RACE_BASE + RACE_NPAGES * PAGE_SIZE },
  ]);
  return owners
    .map(
      (o) =>
        `mm${o.mm.id}${o.mm === s.other ? ' (another process)' : ''} at 0x${o.addr.toString(16)}`,
    )
    .join(', ');
}

/**
 * Invariants 1–2 (the message names the page's new owner when it was reallocated), then the
 * notifier and hmm_mirror state checks of the mirrored mm.
 */
function raceInvariant(s: RaceState): void {
  const v = raceViolations(s);
  if (v.length === 0) {
    assertMmuNotifierInvariants(s.mm);
    assertHmmMirrorInvariants(s.mm);
    return;
  }
  const owners = v
    .filter((x) => x.kind === 'stale')
    .map((x) => {
      const who = describePfnOwner(s, x.device.pfn);
      return who === '' ? '' : `; pfn ${x.device.pfn} now belongs to ${who}`;
    })
    .join('');
  throw new KernelBugError(`${describeViolations(s.driver.dev, v)}${owners}`);
}

/** The fault results a correct run may end with. */
const ACCEPTABLE_FAULT: ReadonlySet<number> = new Set([0, -EFAULT, -EPERM, -EBUSY]);

/**
 * The race scenario for one operation and one implementation (`opts` vary the legacy driver; the
 * name then ends in '-hold-mmap-sem').
 * Mirrors: model-only (race R1, docs/kernel/races.md).
 */
export function raceScenario(
  op: RaceOp,
  impl: RaceImpl,
  opts: RaceScenarioOptions = {},
): Scenario<RaceState> {
  checkChoice('raceScenario', 'op', op, RACE_OPS);
  checkChoice('raceScenario', 'impl', impl, RACE_IMPLS);
  const what: Record<RaceOp, string> = {
    munmap: 'munmaps a mirrored page (then another process gets the freed pfn)',
    mprotect: 'mprotects the mirrored range read-only',
    reclaim: 'reclaims a mirrored page (then another process gets the freed pfn)',
  };
  const driver: Record<RaceImpl, string> = {
    legacy: 'a v5.4 hmm_mirror driver (valid flag): stale device mapping found',
    shim: 'the same driver on the compat shim: no stale mapping',
    interval: 'a native mmu_interval_notifier driver: no stale mapping',
  };
  return defineScenario<RaceState>({
    name: `hmm-race-${op}-${impl}${opts.holdMmapSem === true ? '-hold-mmap-sem' : ''}`,
    description: `CPU0 ${what[op]} while CPU1 faults the range with ${driver[impl]}`,
    expect: impl === 'legacy' ? 'violation' : 'pass',
    // Every package these tasks run through reports its shared accesses (test/dpor.test.ts).
    accesses: 'reported',
    setup: (sched) => raceSetup(sched, op, impl, opts),
    tasks: [
      { name: `cpu0 ${op}`, run: (s) => cpu0(s) },
      {
        name: 'cpu1 device fault',
        async run(s) {
          const ret = await s.driver.fault(true);
          if (accessReporting) noteWrite(s, RACE_STATE_FAULT_RET);
          s.faultRet = ret;
        },
      },
    ],
    invariant: raceInvariant,
    finalCheck(s) {
      raceInvariant(s);
      if (s.cpu0Ret !== 0) throw new KernelBugError(`cpu0 ${s.op} returned ${s.cpu0Ret}`);
      if (s.faultRet === undefined || !ACCEPTABLE_FAULT.has(s.faultRet)) {
        throw new KernelBugError(`the device fault returned ${s.faultRet}`);
      }
      assertMmInvariants(s.mm);
    },
  });
}

/**
 * What each porting mistake breaks, as the first line a driver author reads.
 * Mirrors: model-only.
 */
export const MISTAKE_DESCRIPTIONS: Readonly<Record<IntervalDriverMistake, string>> = Object.freeze({
  'forgot-set-seq':
    'invalidate() never calls mmu_interval_set_seq(): mmu_interval_read_retry() cannot see the invalidation',
  'set-seq-outside-lock':
    'invalidate() bumps the sequence and clears the device without the driver lock: a fault can pass read_retry and program after the clear',
  'retry-outside-lock':
    'mmu_interval_read_retry() is checked before taking the driver lock: a whole invalidation can run before the device is programmed',
  'program-before-retry':
    'the device is programmed before mmu_interval_read_retry() is checked: the stale entry is live until the retry pass',
  'begin-after-fault':
    'mmu_interval_read_begin() is taken after hmm_range_fault() instead of before: an invalidation in between is never seen',
  'begin-under-lock':
    'mmu_interval_read_begin() is called with the driver lock held: it waits for the invalidation, which waits for the lock',
  'refuse-blockable':
    'invalidate() returns false for a blockable range: only a non-blockable range may be refused',
  'retry-with-stale-seq':
    'after -EBUSY, hmm_range_fault() is retried with the old sequence (no new mmu_interval_read_begin()) and no deadline: it never succeeds again',
});

/**
 * The munmap race with the native driver built with `mistake`: every one is caught (a stale
 * device entry, a deadlock, or the core's WARN); the description says what the mistake breaks.
 * Mirrors: model-only (the conversion rules of the v5.5 series).
 */
export function mistakeScenario(
  mistake: IntervalDriverMistake,
  opts: { readonly lockdepHint?: boolean } = {},
): Scenario<RaceState> {
  checkChoice('mistakeScenario', 'mistake', mistake, INTERVAL_DRIVER_MISTAKES);
  const base = raceScenario('munmap', 'interval', { mistake, ...opts });
  const hint = opts.lockdepHint === false;
  return defineScenario<RaceState>({
    ...base,
    name: `hmm-mistake-${mistake}${hint ? '-no-lockdep' : ''}`,
    description:
      `porting mistake: ${MISTAKE_DESCRIPTIONS[mistake]} (CPU0 munmaps a mirrored page while CPU1 faults the range` +
      `${hint ? '; the notifier is not told which lock is the driver lock, so no lockdep check helps' : ''})`,
    expect: 'violation',
    accesses: 'reported',
  });
}

/** The lock mistakes, which a lockdep-style check catches when the driver names its lock. */
const LOCK_MISTAKES: readonly IntervalDriverMistake[] = [
  'set-seq-outside-lock',
  'retry-outside-lock',
];

/**
 * Every race scenario (each operation × each implementation; legacy expected to violate), then
 * the native driver with each porting mistake.
 * Mirrors: model-only.
 */
export const scenarios: readonly Scenario[] = [
  ...RACE_OPS.flatMap((op) => RACE_IMPLS.map((impl) => raceScenario(op, impl) as Scenario)),
  ...INTERVAL_DRIVER_MISTAKES.map((m) => mistakeScenario(m) as Scenario),
  ...LOCK_MISTAKES.map((m) => mistakeScenario(m, { lockdepHint: false }) as Scenario),
];
