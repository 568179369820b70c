/**
 * The catalogue entries of src/svm/ (see ../catalog-types.ts): the nouveau-style SVM driver at
 * v5.4, at each step of its port to mmu_interval_notifier (v5.5), and through the
 * hmm_range_fault() cleanups of v5.7, v5.8 and v5.9. Every entry is checked against the same six
 * scenarios: the five invalidations while the GPU writes, and fork while the GPU only reads (a
 * read-only GPU mapping is exactly what copy-on-write leaves behind).
 */
import { defineScenario, type Scenario } from '@hmmsim/explorer';
import {
  describeViolations,
  deviceMirrorViolations,
  legacyHmmMirrorApi,
  shimHmmMirrorApi,
} from '@hmmsim/hmm-mirror';
import { EBUSY, EFAULT, InvalidArgumentError, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { type MmStruct, mmput, pteLookup } from '@hmmsim/mm';
import { assertMmuNotifierInvariants } from '@hmmsim/mmu-notifier';
import { isMigrationEntry, isSwapPte, migrationEntryToPfn, pteToSwpEntry } from '@hmmsim/pagetable';
import type { GuideEntry, GuideImpl } from '../catalog-types.ts';
import type { GuideDriver } from '../harness/driver.ts';
import type { Invalidation } from '../harness/invalidation.ts';
import { guideScenario } from '../harness/scenario.ts';
import {
  createGuideWorld,
  GUIDE_BASE,
  GUIDE_NPAGES,
  type GuideWorld,
  setupCheck,
} from '../harness/world.ts';
import { vramViolations } from './gpu.ts';
import { SvmmV54 } from './v54.ts';
import { SvmmV551 } from './v55-1-notifier.ts';
import { SvmmV552 } from './v55-2-interval.ts';
import { SvmmV55 } from './v55-3-lifetime.ts';
import { SvmmV57 } from './v57.ts';
import { SvmmV58 } from './v58.ts';
import { SvmmV59 } from './v59.ts';

/** One check every SVM entry runs: an invalidation, and whether the GPU writes or reads. Mirrors: model-only. */
export interface SvmCheck {
  /** The scenario name's last part: the invalidation, plus '-read' for a reading GPU. */
  readonly name: string;
  readonly op: Invalidation;
  readonly write: boolean;
}

/** The six invalidation checks, in the order the chapters show them. Mirrors: model-only. */
export const SVM_CHECKS: readonly SvmCheck[] = Object.freeze([
  { name: 'munmap', op: 'munmap', write: true },
  { name: 'mprotect', op: 'mprotect', write: true },
  { name: 'reclaim', op: 'reclaim', write: true },
  { name: 'fork', op: 'fork', write: true },
  { name: 'fork-read', op: 'fork', write: false },
  { name: 'migrate', op: 'migrate', write: true },
]);

/** Every check's name: the six above and 'exit' (the lifetime check). Mirrors: model-only. */
export const SVM_CHECK_NAMES: readonly string[] = Object.freeze([
  ...SVM_CHECKS.map((c) => c.name),
  'exit',
]);

/** The state of an exit check. */
interface SvmExitState {
  readonly world: GuideWorld;
  readonly driver: GuideDriver;
  faultRet: number | undefined;
}

/** GPU fault results an exit check accepts: programmed, cancelled (no mm / no VMA), timed out. */
const EXIT_ACCEPTABLE: readonly number[] = [0, -EFAULT, -EBUSY];

/**
 * The lifetime check: CPU0 is the process exiting (it drops its last mm_users reference, which
 * tears the address space down) while CPU1's GPU faults on the range. What is checked: the fault
 * path never walks a torn-down address space (no task error: hmm_range_fault() on an mm without
 * users is a kernel bug) and ends with 0, -EFAULT or -EBUSY. The GPU's PTEs after the exit are
 * not checked (nouveau's notifier has no release callback; its PTEs go with the channel).
 * Mirrors: model-only.
 */
export function svmExitScenario(
  id: string,
  driverText: string,
  driver: (w: GuideWorld) => GuideDriver,
  expect: 'violation' | 'pass',
): Scenario<SvmExitState> {
  return defineScenario<SvmExitState>({
    name: `guide-${id}-exit`,
    description: `CPU0: the process exits while CPU1's GPU faults on the range, with ${driverText}`,
    expect,
    async setup(sched) {
      const world = await createGuideWorld(sched);
      const d = driver(world);
      setupCheck((await d.bind()) === 0, 'driver bind');
      return { world, driver: d, faultRet: undefined };
    },
    tasks: [
      {
        name: 'cpu0 exit',
        async run(s) {
          await mmput(s.world.mm);
        },
      },
      {
        name: 'cpu1 device access',
        async run(s) {
          s.faultRet = await s.driver.fault(true);
        },
      },
    ],
    invariant() {},
    finalCheck(s) {
      if (s.faultRet === undefined || !EXIT_ACCEPTABLE.includes(s.faultRet)) {
        throw new KernelBugError(`the device access returned ${s.faultRet}`);
      }
    },
  });
}

/** The chapters of this part. Mirrors: model-only. */
export const SVM_CHAPTERS = Object.freeze({
  v54: '02a-the-v5.4-svm-driver',
  port: '04a-porting-the-svm-driver-to-v5.5',
  cleanups: '05a-the-svm-driver-through-v5.7-v5.8-v5.9',
});

/** The mirroring implementation of an hmm_mirror driver (the legacy one by default). */
function apiOf(impl: GuideImpl | undefined) {
  return impl === 'shim' ? shimHmmMirrorApi : legacyHmmMirrorApi;
}

/** The state of the own-migration check. */
interface SvmOwnMigrationState {
  readonly world: GuideWorld;
  readonly driver: SvmmV59;
  migrateRet: number | undefined;
  faultRet: number | undefined;
}

/** The pfn a migration entry at `addr` of `mm` names, or null when the PTE is anything else. */
function migrationEntryPfnAt(mm: MmStruct, addr: number): number | null {
  const slot = pteLookup(mm, addr);
  if (slot < 0) return null;
  const bits = mm.pt.bits[slot] as number;
  if (!isSwapPte(bits)) return null;
  const entry = pteToSwpEntry(bits, mm.pt.val[slot] as number);
  return isMigrationEntry(entry) ? migrationEntryToPfn(entry) : null;
}

/**
 * The GPU's PTEs against the CPU page table while this GPU migrates pages itself: as the guide's
 * invariant, except that while a page is under migration (its CPU PTE a migration entry, the page
 * locked and held by the migration, so it can be neither freed nor reused) the GPU may still map
 * the old page, or already the new VRAM page. Returns the remaining violations as text.
 */
function ownMigrationProblems(s: SvmOwnMigrationState, strict: boolean): string {
  const mm = s.world.mm;
  const gpu = s.driver.vmm;
  if (gpu === null) return '';
  const sys = deviceMirrorViolations(gpu.dev, mm).filter(
    (v) => strict || !(v.kind === 'stale' && migrationEntryPfnAt(mm, v.addr) === v.device.pfn),
  );
  const vram = vramViolations(gpu, mm).filter(
    (v) => strict || !(v.kind === 'stale' && migrationEntryPfnAt(mm, v.addr) !== null),
  );
  return [describeViolations(gpu.dev, sys), describeViolations(gpu.vram, vram)]
    .filter((t) => t !== '')
    .join('\n');
}

/**
 * The v5.9 check of a driver's own migration: the GPU has both pages mapped; CPU0 is the driver
 * moving page 0 into its VRAM (MMU_NOTIFY_MIGRATE with this GPU as owner, which its mm-wide
 * notifier skips) while CPU1's GPU faults on the range. After every step: no GPU PTE maps a page
 * the CPU does not map there, except the old or new page of a migration in flight; at the end,
 * with no exception. Mirrors: model-only.
 */
export function svmOwnMigrationScenario(id: string): Scenario<SvmOwnMigrationState> {
  const problems = (s: SvmOwnMigrationState, strict: boolean) => {
    const text = ownMigrationProblems(s, strict);
    if (text !== '') throw new KernelBugError(text);
    assertMmuNotifierInvariants(s.world.mm);
  };
  return defineScenario<SvmOwnMigrationState>({
    name: `guide-${id}-own-migrate`,
    description:
      "CPU0: the driver migrates a mapped page into its own VRAM while CPU1's GPU faults on the range, with the v5.9 SVM driver",
    expect: 'pass',
    async setup(sched) {
      const world = await createGuideWorld(sched);
      const driver = new SvmmV59(world.mm, GUIDE_BASE, GUIDE_NPAGES);
      setupCheck((await driver.bind()) === 0, 'driver bind');
      setupCheck((await driver.fault(true)) === 0, 'the GPU maps the range');
      return { world, driver, migrateRet: undefined, faultRet: undefined };
    },
    tasks: [
      {
        name: 'cpu0 own migration',
        async run(s) {
          s.migrateRet = await s.driver.migrateToVram(GUIDE_BASE, GUIDE_BASE + PAGE_SIZE);
        },
      },
      {
        name: 'cpu1 device access',
        async run(s) {
          s.faultRet = await s.driver.fault(true);
        },
      },
    ],
    invariant: (s) => problems(s, false),
    finalCheck(s) {
      problems(s, true);
      if (s.migrateRet !== 1) throw new KernelBugError(`the migration returned ${s.migrateRet}`);
      if (s.faultRet !== 0 && s.faultRet !== -EBUSY) {
        throw new KernelBugError(`the device access returned ${s.faultRet}`);
      }
    },
  });
}

/**
 * The scenarios of entry `id`: one per check named (all six by default), each called
 * `guide-<id>-<check>`; `violates` lists the checks the explorer finds a violation in.
 * Mirrors: model-only.
 */
export function svmScenarios(
  id: string,
  driverText: string,
  driver: (w: GuideWorld) => GuideDriver,
  violates: readonly string[],
  only?: readonly string[],
): Scenario[] {
  for (const name of [...violates, ...(only ?? [])]) {
    if (!SVM_CHECK_NAMES.includes(name)) {
      throw new InvalidArgumentError(
        `svmScenarios(${id}): check '${name}'; expected one of ${SVM_CHECK_NAMES.join(', ')}`,
      );
    }
  }
  const out: Scenario[] = SVM_CHECKS.filter((c) => only === undefined || only.includes(c.name)).map(
    (c) =>
      guideScenario({
        name: `guide-${id}-${c.name}`,
        driverText,
        expect: violates.includes(c.name) ? 'violation' : 'pass',
        driver,
        op: c.op,
        write: c.write,
      }),
  );
  if (only === undefined || only.includes('exit')) {
    const expect = violates.includes('exit') ? 'violation' : 'pass';
    out.push(svmExitScenario(id, driverText, driver, expect) as unknown as Scenario);
  }
  return out;
}

/**
 * Which checks each entry fails, per implementation (what the tests assert, scenario by scenario).
 * Mirrors: model-only.
 */
export const SVM_VIOLATIONS: Readonly<
  Record<string, Readonly<Record<GuideImpl, readonly string[]>>>
> = Object.freeze({
  'svm-v5.4': { legacy: ['reclaim', 'fork-read', 'migrate'], shim: [] },
  'svm-v5.4-early-unlock': {
    legacy: ['munmap', 'mprotect', 'reclaim', 'fork', 'fork-read', 'migrate'],
    shim: [],
  },
  'svm-v5.4-seed-race': { legacy: ['munmap'], shim: [] },
  'svm-v5.5-1-notifier': { legacy: ['reclaim', 'fork-read', 'migrate'], shim: [] },
  'svm-v5.5-2-interval': { legacy: ['exit'], shim: ['exit'] },
});

/**
 * The checks entry `id` fails on `impl` (none for an entry that is not in SVM_VIOLATIONS).
 * Mirrors: model-only.
 */
export function svmViolationsOf(id: string, impl: GuideImpl | undefined): readonly string[] {
  return SVM_VIOLATIONS[id]?.[impl ?? 'legacy'] ?? [];
}

/** A v5.4 entry (an hmm_mirror driver: runs on legacy and on the shim). */
function v54Entry(
  id: string,
  title: string,
  holdMmapSem: boolean,
  only?: readonly string[],
): GuideEntry {
  return {
    id,
    kind: 'example',
    chapter: SVM_CHAPTERS.v54,
    title,
    file: 'src/svm/v54.ts',
    impls: ['legacy', 'shim'],
    expect: { legacy: 'violation', shim: 'pass' },
    scenarios: (impl) =>
      svmScenarios(
        id,
        `the v5.4 SVM driver${holdMmapSem ? '' : ' with mmap_sem dropped early'} on ${apiOf(impl).name}`,
        (w) => new SvmmV54(w.mm, GUIDE_BASE, GUIDE_NPAGES, { api: apiOf(impl), holdMmapSem }),
        svmViolationsOf(id, impl),
        only,
      ),
  };
}

/** An entry whose driver no longer uses hmm_mirror (one implementation). */
function nativeEntry(
  id: string,
  chapter: string,
  title: string,
  file: string,
  driverText: string,
  driver: (w: GuideWorld) => GuideDriver,
): GuideEntry {
  const violates = svmViolationsOf(id, undefined);
  return {
    id,
    kind: 'example',
    chapter,
    title,
    file,
    expect: violates.length > 0 ? 'violation' : 'pass',
    scenarios: () => svmScenarios(id, driverText, driver, violates),
  };
}

/** Every runnable entry of this part of the guide. Mirrors: model-only. */
export const ENTRIES: readonly GuideEntry[] = [
  v54Entry(
    'svm-v5.4',
    'the v5.4 SVM driver (hmm_mirror, mmap_sem held until the GPU is programmed)',
    true,
  ),
  v54Entry(
    'svm-v5.4-race',
    'the v5.4 SVM driver against reclaim alone: a race that holding mmap_sem does not keep out',
    true,
    ['reclaim'],
  ),
  v54Entry(
    'svm-v5.4-early-unlock',
    'the v5.4 SVM driver with mmap_sem dropped right after hmm_range_fault()',
    false,
  ),
  v54Entry(
    'svm-v5.4-seed-race',
    'the seed race: munmap frees a page the v5.4 SVM driver is about to map (mmap_sem dropped early)',
    false,
    ['munmap'],
  ),
  {
    id: 'svm-v5.5-1-notifier',
    kind: 'example',
    chapter: SVM_CHAPTERS.port,
    title: 'port step 1 (c625c274ee00): the GPU invalidation moves to a plain mmu_notifier',
    file: 'src/svm/v55-1-notifier.ts',
    impls: ['legacy', 'shim'],
    expect: { legacy: 'violation', shim: 'pass' },
    scenarios: (impl) =>
      svmScenarios(
        'svm-v5.5-1-notifier',
        `the SVM driver after port step 1 on ${apiOf(impl).name}`,
        (w) => new SvmmV551(w.mm, GUIDE_BASE, GUIDE_NPAGES, { api: apiOf(impl) }),
        svmViolationsOf('svm-v5.5-1-notifier', impl),
      ),
  },
  nativeEntry(
    'svm-v5.5-2-interval',
    SVM_CHAPTERS.port,
    'port step 2 (20fef4ef84bf): a per-fault mmu_interval_notifier replaces hmm_mirror',
    'src/svm/v55-2-interval.ts',
    'the SVM driver after port step 2',
    (w) => new SvmmV552(w.mm, GUIDE_BASE, GUIDE_NPAGES),
  ),
  nativeEntry(
    'svm-v5.5',
    SVM_CHAPTERS.port,
    'the v5.5 SVM driver (port step 3: an mm reference per fault, a deadline on the retries)',
    'src/svm/v55-3-lifetime.ts',
    'the v5.5 SVM driver',
    (w) => new SvmmV55(w.mm, GUIDE_BASE, GUIDE_NPAGES),
  ),
  nativeEntry(
    'svm-v5.7',
    SVM_CHAPTERS.cleanups,
    'the v5.7 SVM driver: hmm_range_fault(range), devPrivateOwner',
    'src/svm/v57.ts',
    'the v5.7 SVM driver',
    (w) => new SvmmV57(w.mm, GUIDE_BASE, GUIDE_NPAGES),
  ),
  nativeEntry(
    'svm-v5.8',
    SVM_CHAPTERS.cleanups,
    'the v5.8 SVM driver: hmmPfns, HMM_PFN_REQ_FAULT/REQ_WRITE, 0 or -errno',
    'src/svm/v58.ts',
    'the v5.8 SVM driver',
    (w) => new SvmmV58(w.mm, GUIDE_BASE, GUIDE_NPAGES),
  ),
  {
    id: 'svm-v5.9',
    kind: 'example',
    chapter: SVM_CHAPTERS.cleanups,
    title: 'the v5.9 SVM driver: one page per fault, the map order, its own migrations filtered',
    file: 'src/svm/v59.ts',
    expect: 'pass',
    scenarios: () => [
      ...svmScenarios(
        'svm-v5.9',
        'the v5.9 SVM driver',
        (w) => new SvmmV59(w.mm, GUIDE_BASE, GUIDE_NPAGES),
        [],
      ),
      svmOwnMigrationScenario('svm-v5.9') as unknown as Scenario,
    ],
  },
];
