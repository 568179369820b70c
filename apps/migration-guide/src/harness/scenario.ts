/**
 * One scenario shape for every driver of the guide: CPU0 runs an invalidation on the mirrored
 * process while CPU1 makes the device access the range. After every scheduler step (so in
 * particular right after each invalidation ends), no device entry may map a page the CPU does not
 * map at that address, nor be writable where the CPU entry is not; the notifier core's own
 * invariants must hold too. The violation message names the process that now owns a freed page.
 */
import { defineScenario, type Scenario, type ScenarioTask } from '@hmmsim/explorer';
import {
  assertHmmMirrorInvariants,
  cpuMappingAt,
  describeViolations,
  deviceMirrorViolations,
  findPfnMappings,
} from '@hmmsim/hmm-mirror';
import { EBUSY, EFAULT, EPERM, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { assertMmInvariants, type MmStruct } from '@hmmsim/mm';
import { assertMmuNotifierInvariants } from '@hmmsim/mmu-notifier';
import type { GuideDriver } from './driver.ts';
import {
  checkInvalidation,
  INVALIDATION_TEXT,
  type Invalidation,
  runInvalidation,
  VICTIM_INDEX,
} from './invalidation.ts';
import {
  createGuideWorld,
  GUIDE_BASE,
  GUIDE_NPAGES,
  GUIDE_OTHER_ADDR,
  type GuideWorld,
  setupCheck,
} from './world.ts';

/** The state of one run of a guide scenario. */
export interface GuideState {
  readonly world: GuideWorld;
  readonly driver: GuideDriver;
  readonly op: Invalidation;
  /** The pfn the CPU mapped at the victim page before CPU0 ran. */
  readonly victimPfn: number;
  /** CPU0's result (undefined until it finished). */
  opRet: number | undefined;
  /** fork: the child process. */
  child: MmStruct | undefined;
  /** CPU1's device access result (undefined until it finished). */
  faultRet: number | undefined;
}

/** How to build one guide scenario. */
export interface GuideScenarioSpec {
  /** Scenario name (`guide-…`). */
  readonly name: string;
  /** What the driver is, for the description ("the v5.4 SVM driver on the legacy API"). */
  readonly driverText: string;
  /** 'violation' for race-prone drivers and pitfalls, 'pass' for correct ones. */
  readonly expect: 'violation' | 'pass';
  /** The driver under test, built on the world (the harness binds it). */
  readonly driver: (w: GuideWorld) => GuideDriver;
  /** The invalidation CPU0 runs. */
  readonly op: Invalidation;
  /** The device access is a write (default true). */
  readonly write?: boolean;
  /** Device access results a correct run may end with (default 0, -EFAULT, -EPERM, -EBUSY). */
  readonly acceptable?: readonly number[];
  /** More tasks (another CPU's work), after CPU0 and CPU1. */
  readonly extraTasks?: readonly ScenarioTask<GuideState>[];
}

const DEFAULT_ACCEPTABLE: readonly number[] = [0, -EFAULT, -EPERM, -EBUSY];

/** Who maps `pfn` now, among the processes of the world ('' if nobody). */
export function describeOwner(s: GuideState, pfn: number): string {
  const w = s.world;
  const span = (mm: MmStruct, start: number, n: number) => ({
    mm,
    start,
    end: start + n * PAGE_SIZE,
  });
  const candidates = [
    span(w.other, GUIDE_OTHER_ADDR, 1),
    span(w.mm, GUIDE_BASE, GUIDE_NPAGES),
    ...(s.child === undefined ? [] : [span(s.child, GUIDE_BASE, GUIDE_NPAGES)]),
  ];
  return findPfnMappings(pfn, candidates)
    .map((o) => {
      const who = o.mm === w.other ? ' (another process)' : o.mm === s.child ? ' (the child)' : '';
      return `mm${o.mm.id}${who} at 0x${o.addr.toString(16)}`;
    })
    .join(', ');
}

/** The invariant: device entries agree with the CPU page table; notifier state consistent. */
export function guideInvariant(s: GuideState): void {
  const v = deviceMirrorViolations(s.driver.dev, s.world.mm);
  if (v.length > 0) {
    const owners = v
      .filter((x) => x.kind === 'stale')
      .map((x) => {
        const who = describeOwner(s, x.device.pfn);
        return who === '' ? '' : `; pfn ${x.device.pfn} now belongs to ${who}`;
      })
      .join('');
    throw new KernelBugError(`${describeViolations(s.driver.dev, v)}${owners}`);
  }
  assertMmuNotifierInvariants(s.world.mm);
  assertHmmMirrorInvariants(s.world.mm);
}

/** Build the world, the driver, bind it, and note the victim page's pfn. */
async function setup(
  spec: GuideScenarioSpec,
  sched: Parameters<Scenario<GuideState>['setup']>[0],
): Promise<GuideState> {
  const world = await createGuideWorld(sched);
  const driver = spec.driver(world);
  setupCheck((await driver.bind()) === 0, 'driver bind');
  const victim = cpuMappingAt(world.mm, GUIDE_BASE + VICTIM_INDEX[spec.op] * PAGE_SIZE);
  setupCheck(victim !== null, 'the victim page is mapped');
  return {
    world,
    driver,
    op: spec.op,
    victimPfn: victim?.pfn ?? -1,
    opRet: undefined,
    child: undefined,
    faultRet: undefined,
  };
}

/**
 * A scenario: CPU0 runs `spec.op`, CPU1 the device access, the invariant after every step; the
 * final check also wants CPU0's operation to have succeeded and the access to have ended with an
 * acceptable result.
 */
export function guideScenario(spec: GuideScenarioSpec): Scenario<GuideState> {
  checkInvalidation('guideScenario', spec.op);
  const write = spec.write ?? true;
  const acceptable = new Set(spec.acceptable ?? DEFAULT_ACCEPTABLE);
  return defineScenario<GuideState>({
    name: spec.name,
    description: `CPU0 ${INVALIDATION_TEXT[spec.op]} while CPU1's device ${write ? 'writes' : 'reads'} the range, with ${spec.driverText}`,
    expect: spec.expect,
    setup: (sched) => setup(spec, sched),
    tasks: [
      {
        name: `cpu0 ${spec.op}`,
        async run(s) {
          const r = await runInvalidation(s.world, s.op, s.victimPfn);
          s.child = r.child;
          s.opRet = r.ret;
        },
      },
      {
        name: 'cpu1 device access',
        async run(s) {
          s.faultRet = await s.driver.fault(write);
        },
      },
      ...(spec.extraTasks ?? []),
    ],
    invariant: guideInvariant,
    finalCheck(s) {
      guideInvariant(s);
      if (s.opRet !== 0) throw new KernelBugError(`cpu0 ${s.op} returned ${s.opRet}`);
      if (s.faultRet === undefined || !acceptable.has(s.faultRet)) {
        throw new KernelBugError(`the device access returned ${s.faultRet}`);
      }
      assertMmInvariants(s.world.mm);
    },
  });
}
