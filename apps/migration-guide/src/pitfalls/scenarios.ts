/**
 * The scenarios of chapter 6. Each is the guide's scenario (CPU0 runs an invalidation while
 * CPU1's device accesses the range; the device/CPU invariant after every step), either as is for
 * one of the five invalidations, or in one of the few shapes a pitfall needs to show itself:
 *
 * - `mprotect-read`: the device access is a read, and it must succeed (a read of a read-only
 *   page is legal);
 * - `munmap-close`: CPU1's access is followed by closing the device file;
 * - `munmap-reclaim`: a third CPU reclaims the other page while CPU0 munmaps, so two
 *   invalidation windows can overlap;
 * - `mprotect-oom-reap`: a third CPU is the OOM reaper, whose invalidation may not sleep;
 * - `mprotect-storm`: a third CPU keeps changing the range's protection until the access
 *   returns, and the virtual clock runs 50 ms per scheduling point so a 1000 ms deadline can
 *   pass within one run.
 */
import { defineScenario, type Scenario, type ScenarioTask } from '@hmmsim/explorer';
import { cpuMappingAt } from '@hmmsim/hmm-mirror';
import {
  checkIntIn,
  checkUlong,
  downReadTrylock,
  EBUSY,
  EFAULT,
  EPERM,
  InvalidArgumentError,
  KernelBugError,
  PAGE_SIZE,
  upRead,
} from '@hmmsim/kernel';
import {
  MMU_NOTIFY_UNMAP,
  type MmStruct,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStartNonblock,
  mmuNotifierRangeInit,
  mprotect,
  PROT_READ,
  PROT_WRITE,
  reclaimPage,
  tlbFinishMmu,
  tlbGatherMmu,
  unmapPageRange,
  vmaIsAnonymous,
} from '@hmmsim/mm';
import { checkMmStruct } from '@hmmsim/mmu-notifier';
import type { GuideDriver } from '../harness/driver.ts';
import { INVALIDATIONS, type Invalidation } from '../harness/invalidation.ts';
import { type GuideState, guideScenario } from '../harness/scenario.ts';
import { GUIDE_BASE, GUIDE_NPAGES, type GuideWorld } from '../harness/world.ts';
import { Dmirror } from './reference.ts';

/**
 * Where a pitfall is shown: one of the five invalidations (the device writes), or a shape.
 * Mirrors: model-only.
 */
export type PitfallShape =
  | Invalidation
  | 'mprotect-read'
  | 'munmap-close'
  | 'munmap-reclaim'
  | 'mprotect-oom-reap'
  | 'mprotect-storm';

/**
 * Every shape, in the order the chapter uses them.
 * Mirrors: model-only.
 */
export const PITFALL_SHAPES: readonly PitfallShape[] = Object.freeze([
  ...INVALIDATIONS,
  'mprotect-read',
  'munmap-close',
  'munmap-reclaim',
  'mprotect-oom-reap',
  'mprotect-storm',
]);

/**
 * Builds the driver of a scenario on its world.
 * Mirrors: model-only.
 */
export type DmirrorFactory = (w: GuideWorld) => Dmirror;

/**
 * Virtual nanoseconds per scheduling point in the storm shape (50 ms: the driver's 1000 ms
 * deadline passes after about twenty steps, so every bounded run ends well inside a schedule).
 * Mirrors: model-only.
 */
export const STORM_NS_PER_STEP = 50_000_000;

/**
 * Scheduler steps a storm run may take before the explorer calls it a livelock (a bounded driver
 * needs well under 200).
 * Mirrors: model-only.
 */
export const STORM_MAX_STEPS = 600;

/** Attempts of the OOM reaper before it gives up on the mm. Mirrors mm/oom_kill.c:MAX_OOM_REAP_RETRIES (10), shortened. */
export const OOM_REAP_ATTEMPTS = 3;

/** What the shape's third CPU (or CPU1's extra step) does, for the scenario description. */
const SHAPE_TEXT: Readonly<Record<PitfallShape, string>> = Object.freeze({
  munmap: '',
  mprotect: '',
  reclaim: '',
  fork: '',
  migrate: '',
  'mprotect-read': '',
  'munmap-close': '; then CPU1 closes the device file',
  'munmap-reclaim': '; CPU2 reclaims page 0 meanwhile',
  'mprotect-oom-reap': '; CPU2, the OOM reaper, reaps the range with a non-blockable invalidation',
  'mprotect-storm':
    '; CPU2 keeps flipping the range read-write and read-only while the device keeps retrying (50 ms of virtual time per step)',
});

/** The invalidation CPU0 runs in a shape. */
function opOf(shape: PitfallShape): Invalidation {
  if ((INVALIDATIONS as readonly string[]).includes(shape)) return shape as Invalidation;
  return shape.startsWith('munmap') ? 'munmap' : 'mprotect';
}

/**
 * The OOM reaper on the mirrored process: with mmap_sem taken for read by trylock, each
 * anonymous vma of the range is unmapped inside a non-blockable invalidation; a notifier that
 * cannot proceed without sleeping makes the start fail (-EAGAIN) and the reaper try again
 * later. True when everything was reaped.
 * Mirrors mm/oom_kill.c:oom_reap_task() / __oom_reap_task_mm() (v5.5), restricted to the range.
 */
export async function oomReapRange(
  mm: MmStruct,
  start: number,
  end: number,
  attempts: number = OOM_REAP_ATTEMPTS,
): Promise<boolean> {
  checkMmStruct('oomReapRange', 'mm', mm);
  checkUlong('oomReapRange', 'start', start, 'an address');
  checkUlong('oomReapRange', 'end', end, 'an address');
  checkIntIn('oomReapRange', 'attempts', attempts, 1, 1000, 'an attempt count in [1, 1000]');
  const sched = mm.machine.sched;
  for (let a = 0; a < attempts; a++) {
    if (a > 0) await sched.point({ kind: 'oom.reap_retry', label: 'schedule_timeout_idle()' });
    if (downReadTrylock(mm.mmapSem) === 0) continue;
    let done = true;
    try {
      for (const vma of [...mm.vmas]) {
        const s = Math.max(vma.vmStart, start);
        const e = Math.min(vma.vmEnd, end);
        if (s >= e || !vmaIsAnonymous(vma)) continue;
        const range = mmuNotifierRangeInit(MMU_NOTIFY_UNMAP, 0, vma, mm, s, e);
        const tlb = tlbGatherMmu(mm, s, e);
        if ((await mmuNotifierInvalidateRangeStartNonblock(range)) !== 0) {
          tlbFinishMmu(tlb);
          done = false;
          continue;
        }
        await unmapPageRange(tlb, vma, s, e);
        await mmuNotifierInvalidateRangeEnd(range);
        tlbFinishMmu(tlb);
      }
    } finally {
      upRead(mm.mmapSem);
    }
    if (done) return true;
  }
  return false;
}

/** Passes the scenario's driver has started (0 for a driver that does not count them). */
function passesOf(s: GuideState): number {
  return s.driver instanceof Dmirror ? s.driver.stats.passes : 0;
}

/** CPU1's access followed by closing the device file, as one GuideDriver. */
function accessThenClose(d: Dmirror): GuideDriver {
  return {
    dev: d.dev,
    bind: () => d.bind(),
    async fault(write) {
      const ret = await d.fault(write);
      await d.unbind();
      return ret;
    },
    // Closed by the access already.
    unbind: async () => {},
  };
}

/** The third CPU of a shape, if it has one. */
function extraTasks(shape: PitfallShape): ScenarioTask<GuideState>[] {
  const len = GUIDE_NPAGES * PAGE_SIZE;
  switch (shape) {
    case 'munmap-reclaim':
      return [
        {
          name: 'cpu2 reclaim',
          async run(s) {
            const victim = cpuMappingAt(s.world.mm, GUIDE_BASE);
            if (victim === null) return;
            const ret = await reclaimPage(s.world.machine, victim.pfn);
            // A page that is locked or referenced at that moment stays: that is reclaim's answer.
            if (ret !== 0 && ret !== -EBUSY)
              throw new KernelBugError(`cpu2 reclaim returned ${ret}`);
          },
        },
      ];
    case 'mprotect-oom-reap':
      return [
        {
          name: 'cpu2 oom reaper',
          async run(s) {
            await oomReapRange(s.world.mm, GUIDE_BASE, GUIDE_BASE + len);
          },
        },
      ];
    case 'mprotect-storm':
      return [
        {
          name: 'cpu2 mprotect storm',
          async run(s) {
            const rw = PROT_READ | PROT_WRITE;
            let seen = passesOf(s);
            while (s.faultRet === undefined) {
              if ((await mprotect(s.world.mm, GUIDE_BASE, len, rw)) !== 0)
                throw new KernelBugError('cpu2 mprotect(rw) failed');
              if ((await mprotect(s.world.mm, GUIDE_BASE, len, PROT_READ)) !== 0)
                throw new KernelBugError('cpu2 mprotect(r) failed');
              // Aimed at the device: it goes on while the fault loop keeps starting new passes,
              // and stops when a whole round went by without one (so that a CPU the scheduler
              // simply did not run is not mistaken for a driver that cannot make progress).
              const now = passesOf(s);
              if (now === seen) break;
              seen = now;
            }
          },
        },
      ];
    default:
      return [];
  }
}

/** Device access results a correct driver may return in a shape. */
function acceptableIn(shape: PitfallShape): readonly number[] {
  switch (shape) {
    // A read of pages that stay readable must succeed.
    case 'mprotect-read':
      return [0];
    // The migrated page is in the device's own memory: the device maps it there.
    case 'migrate':
      return [0];
    // Under a storm that never lets up, giving up at the deadline is the right answer.
    case 'mprotect-storm':
      return [0, -EBUSY];
    default:
      return [0, -EFAULT, -EPERM, -EBUSY];
  }
}

/**
 * The scenario `guide-<entryId>-<shape>` for a driver: the guide's scenario with the shape's
 * access kind, extra step or third CPU, and acceptable results.
 * Mirrors: model-only.
 */
export function pitfallScenario(
  entryId: string,
  shape: PitfallShape,
  make: DmirrorFactory,
  driverText: string,
  expect: 'violation' | 'pass',
): Scenario<GuideState> {
  if (!PITFALL_SHAPES.includes(shape)) {
    throw new InvalidArgumentError(
      `pitfallScenario: shape '${String(shape)}'; expected one of ${PITFALL_SHAPES.join(', ')}`,
    );
  }
  if (typeof entryId !== 'string' || !/^[a-z0-9]+(-[a-z0-9.]+)*$/.test(entryId)) {
    throw new InvalidArgumentError(
      `pitfallScenario: entryId '${String(entryId)}'; expected a kebab-case catalogue id ('pitfall-forgot-set-seq')`,
    );
  }
  if (typeof make !== 'function') {
    throw new InvalidArgumentError(
      `pitfallScenario: make is ${String(make)}; expected a function (world) => Dmirror`,
    );
  }
  const base = guideScenario({
    name: `guide-${entryId}-${shape}`,
    driverText: `${driverText}${SHAPE_TEXT[shape]}`,
    expect,
    driver: shape === 'munmap-close' ? (w) => accessThenClose(make(w)) : make,
    op: opOf(shape),
    write: shape !== 'mprotect-read' && shape !== 'mprotect-storm',
    acceptable: acceptableIn(shape),
    extraTasks: extraTasks(shape),
  });
  if (shape !== 'mprotect-storm') return base;
  return defineScenario({ ...base, nsPerStep: STORM_NS_PER_STEP, maxSteps: STORM_MAX_STEPS });
}
