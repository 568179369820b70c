/** The catalogue entries of src/userptr/ (see ../catalog-types.ts). */

import type { Scenario } from '@hmmsim/explorer';
import { shimHmmMirrorApi } from '@hmmsim/hmm-mirror';
import { EAGAIN, EBUSY, EFAULT, EPERM } from '@hmmsim/kernel';
import type { GuideEntry, GuideImpl } from '../catalog-types.ts';
import type { GuideDriver } from '../harness/driver.ts';
import { INVALIDATIONS, type Invalidation } from '../harness/invalidation.ts';
import { guideScenario } from '../harness/scenario.ts';
import { GUIDE_BASE, GUIDE_NPAGES, type GuideWorld } from '../harness/world.ts';
import { UserptrIgnoreDoneDriver, UserptrPublishBeforeCheckDriver } from './pitfalls.ts';
import { UserptrV54Driver } from './v54.ts';
import { UserptrV55Driver } from './v55.ts';
import { UserptrV55FindVmaDriver } from './v55-1-find-vma.ts';
import { UserptrV55IntervalInsertDriver } from './v55-2-interval-insert.ts';
import { UserptrV55IntervalNotifierDriver } from './v55-3-interval-notifier.ts';
import { UserptrV57Driver } from './v57.ts';
import { UserptrV58Driver } from './v58.ts';

/**
 * What a submission may end with in a correct run: the default results plus -EAGAIN (user space
 * stopped reissuing the ioctl after `maxTries` invalidated submissions).
 * Mirrors: model-only.
 */
export const USERPTR_ACCEPTABLE: readonly number[] = Object.freeze([
  0,
  -EFAULT,
  -EPERM,
  -EBUSY,
  -EAGAIN,
]);

/** What the explorer finds on one invalidation. */
type Verdict = 'violation' | 'pass';

/** The same verdict for every invalidation. */
const all =
  (v: Verdict) =>
  (_op: Invalidation): Verdict =>
    v;

/**
 * Races fixed, migration not: amdgpu's flag table up to step 3 has no device-private bit, so a
 * page migrated to another driver's device memory is handed to the GPU (no preemption needed).
 */
const onlyMigrate = (op: Invalidation): Verdict => (op === 'migrate' ? 'violation' : 'pass');

/** One scenario per invalidation for the driver `make` builds. */
function scenariosFor(
  id: string,
  driverText: string,
  verdict: (op: Invalidation) => Verdict,
  make: (w: GuideWorld) => GuideDriver,
): readonly Scenario[] {
  return INVALIDATIONS.map((op) =>
    guideScenario({
      name: `guide-${id}-${op}`,
      driverText,
      expect: verdict(op),
      driver: make,
      op,
      acceptable: USERPTR_ACCEPTABLE,
    }),
  );
}

/** The hmm_mirror implementation an impl name stands for. */
function apiOf(impl: GuideImpl | undefined) {
  return impl === 'shim' ? { api: shimHmmMirrorApi } : {};
}

/**
 * The hmm_mirror steps fail on both implementations: on legacy through the seed race (and
 * migration), on the shim through migration only — except step 2, which races on the shim too.
 */
const MIRROR_EXPECT = Object.freeze({ legacy: 'violation', shim: 'violation' } as const);

/** Per invalidation, for the v5.4 driver and step 1. */
const mirrorVerdict = (impl: GuideImpl | undefined) =>
  impl === 'shim' ? onlyMigrate : all('violation');

/** Every runnable entry of this part of the guide. Mirrors: model-only. */
export const ENTRIES: readonly GuideEntry[] = [
  {
    id: 'userptr-v5.4',
    kind: 'example',
    chapter: '02b-the-v5.4-userptr-driver',
    title: 'the v5.4 amdgpu-style userptr driver (hmm_mirror; checks under amn->lock at submit)',
    file: 'src/userptr/v54.ts',
    impls: ['legacy', 'shim'],
    expect: MIRROR_EXPECT,
    scenarios: (impl) =>
      scenariosFor(
        'userptr-v5.4',
        `the v5.4 userptr driver on the ${impl ?? 'legacy'} hmm_mirror`,
        mirrorVerdict(impl),
        (w) => new UserptrV54Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES, apiOf(impl)),
      ),
  },
  {
    id: 'userptr-v5.5-find-vma',
    kind: 'example',
    chapter: '04b-porting-the-userptr-driver-to-v5.5',
    title: 'step 1, a9ae8731e6e5: find_vma under mmap_sem, mmget_not_zero (still hmm_mirror)',
    file: 'src/userptr/v55-1-find-vma.ts',
    impls: ['legacy', 'shim'],
    expect: MIRROR_EXPECT,
    scenarios: (impl) =>
      scenariosFor(
        'userptr-v5.5-find-vma',
        `step 1 of the userptr port on the ${impl ?? 'legacy'} hmm_mirror`,
        mirrorVerdict(impl),
        (w) => new UserptrV55FindVmaDriver(w.mm, GUIDE_BASE, GUIDE_NPAGES, apiOf(impl)),
      ),
  },
  {
    id: 'userptr-v5.5-interval-insert',
    kind: 'example',
    chapter: '04b-porting-the-userptr-driver-to-v5.5',
    title:
      'step 2, 62914a99dee5: a notifier per BO waits for fences under notifier_lock; the submission still checks under amn->lock',
    file: 'src/userptr/v55-2-interval-insert.ts',
    impls: ['legacy', 'shim'],
    expect: MIRROR_EXPECT,
    scenarios: (impl) =>
      scenariosFor(
        'userptr-v5.5-interval-insert',
        `step 2 of the userptr port on the ${impl ?? 'legacy'} hmm_mirror`,
        all('violation'),
        (w) => new UserptrV55IntervalInsertDriver(w.mm, GUIDE_BASE, GUIDE_NPAGES, apiOf(impl)),
      ),
  },
  {
    id: 'userptr-v5.5-interval-notifier',
    kind: 'example',
    chapter: '04b-porting-the-userptr-driver-to-v5.5',
    title: 'step 3, 81fa1af31b5d: hmm_mirror gone; set_seq and read_retry under notifier_lock',
    file: 'src/userptr/v55-3-interval-notifier.ts',
    expect: 'violation',
    scenarios: () =>
      scenariosFor(
        'userptr-v5.5-interval-notifier',
        'step 3 of the userptr port (mmu_interval_notifier)',
        onlyMigrate,
        (w) => new UserptrV55IntervalNotifierDriver(w.mm, GUIDE_BASE, GUIDE_NPAGES),
      ),
  },
  {
    id: 'userptr-v5.5',
    kind: 'example',
    chapter: '04b-porting-the-userptr-driver-to-v5.5',
    title:
      'the finished v5.5 userptr driver: the FIXMEs of 81fa1af31b5d answered, device-private pages migrated back',
    file: 'src/userptr/v55.ts',
    expect: 'pass',
    scenarios: () =>
      scenariosFor(
        'userptr-v5.5',
        'the finished v5.5 userptr driver',
        all('pass'),
        (w) => new UserptrV55Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES),
      ),
  },
  {
    id: 'userptr-v5.7',
    kind: 'example',
    chapter: '05b-the-userptr-driver-through-v5.7-and-v5.8',
    title:
      'the userptr driver on v5.7: hmm_range_fault(range), no device-private flag, devPrivateOwner NULL',
    file: 'src/userptr/v57.ts',
    expect: 'pass',
    scenarios: () =>
      scenariosFor(
        'userptr-v5.7',
        'the userptr driver on v5.7',
        all('pass'),
        (w) => new UserptrV57Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES),
      ),
  },
  {
    id: 'userptr-v5.8',
    kind: 'example',
    chapter: '05b-the-userptr-driver-through-v5.7-and-v5.8',
    title: 'the userptr driver on v5.8: hmmPfns, HMM_PFN_REQ_FAULT, 0 or -errno, hmmPfnToPage',
    file: 'src/userptr/v58.ts',
    expect: 'pass',
    scenarios: () =>
      scenariosFor(
        'userptr-v5.8',
        'the userptr driver on v5.8',
        all('pass'),
        (w) => new UserptrV58Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES),
      ),
  },
  {
    id: 'userptr-pitfall-ignore-done',
    kind: 'pitfall',
    chapter: '04b-porting-the-userptr-driver-to-v5.5',
    title: "the submission ignores get_user_pages_done()'s answer and queues the job anyway",
    file: 'src/userptr/pitfalls.ts',
    expect: 'violation',
    fixedBy: 'userptr-v5.5',
    source:
      '81fa1af31b5d (<20191112202231.3856-13-jgg@ziepe.ca>): the FIXME in amdgpu_amdkfd_gpuvm.c:update_invalid_user_pages() — the answer of get_user_pages_done() must be used, under notifier_lock',
    scenarios: () =>
      scenariosFor(
        'userptr-pitfall-ignore-done',
        'a userptr driver that ignores its collision check',
        all('violation'),
        (w) => new UserptrIgnoreDoneDriver(w.mm, GUIDE_BASE, GUIDE_NPAGES),
      ),
  },
  {
    id: 'userptr-pitfall-publish-before-check',
    kind: 'pitfall',
    chapter: '04b-porting-the-userptr-driver-to-v5.5',
    title: 'the GPU VM is updated with the pages before the check under notifier_lock is made',
    file: 'src/userptr/pitfalls.ts',
    expect: 'violation',
    fixedBy: 'userptr-v5.5',
    source:
      '81fa1af31b5d (<20191112202231.3856-13-jgg@ziepe.ca>): the FIXME in amdgpu_ttm.c:amdgpu_ttm_tt_get_user_pages() — the pages may only be used under notifier_lock',
    scenarios: () =>
      scenariosFor(
        'userptr-pitfall-publish-before-check',
        'a userptr driver that publishes before its check',
        all('violation'),
        (w) => new UserptrPublishBeforeCheckDriver(w.mm, GUIDE_BASE, GUIDE_NPAGES),
      ),
  },
];
