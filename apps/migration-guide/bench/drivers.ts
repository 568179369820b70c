/**
 * The drivers the benchmark measures, as factories over a bench world. Drivers are grouped in
 * families (the SVM driver through each step of the port, the userptr driver, and the reference
 * drivers of @hmmsim/hmm-mirror); every figure is a ratio to its family's first driver, the v5.4
 * driver on the legacy hmm_mirror API, measured in the same run.
 */
import {
  IntervalDriver,
  LegacyDriver,
  legacyHmmMirrorApi,
  shimHmmMirrorApi,
} from '@hmmsim/hmm-mirror';
import type { GuideDriver } from '../src/harness/driver.ts';
import { SvmmV54 } from '../src/svm/v54.ts';
import { SvmmV551 } from '../src/svm/v55-1-notifier.ts';
import { SvmmV552 } from '../src/svm/v55-2-interval.ts';
import { SvmmV55 } from '../src/svm/v55-3-lifetime.ts';
import { SvmmV57 } from '../src/svm/v57.ts';
import { SvmmV58 } from '../src/svm/v58.ts';
import { SvmmV59 } from '../src/svm/v59.ts';
import { UserptrV54Driver } from '../src/userptr/v54.ts';
import { UserptrV55Driver } from '../src/userptr/v55.ts';
import { UserptrV55FindVmaDriver } from '../src/userptr/v55-1-find-vma.ts';
import { UserptrV55IntervalInsertDriver } from '../src/userptr/v55-2-interval-insert.ts';
import { UserptrV55IntervalNotifierDriver } from '../src/userptr/v55-3-interval-notifier.ts';
import { UserptrV57Driver } from '../src/userptr/v57.ts';
import { UserptrV58Driver } from '../src/userptr/v58.ts';
import type { BenchWorld } from './world.ts';

/**
 * One measured driver: how to build it over a world's range, and where it sits in the port.
 * Mirrors: model-only.
 */
export interface BenchDriver {
  /** Stable id ('svm-v5.4@legacy', 'hmm-mirror-interval'). */
  readonly id: string;
  /** Its family: the figures compare drivers of one family only. */
  readonly family: string;
  /** The step of the port ('v5.4', 'v5.5', …) and, for a v5.4 driver, its implementation. */
  readonly step: string;
  /** One line: what it is. */
  readonly title: string;
  /** Build it (not yet bound) over `[w.start, w.start + w.npages pages)`. */
  create(w: BenchWorld): GuideDriver;
}

/**
 * The reference drivers of @hmmsim/hmm-mirror: its v5.4 LegacyDriver on the legacy API and on the
 * compat shim, and its native v5.5 IntervalDriver. They check the bench itself and are the
 * yardstick the guide's own drivers can be read against.
 * Mirrors: model-only.
 */
export const HMM_MIRROR_BENCH_DRIVERS: readonly BenchDriver[] = Object.freeze([
  {
    id: 'hmm-mirror-legacy',
    family: 'hmm-mirror',
    step: 'v5.4 legacy',
    title: "@hmmsim/hmm-mirror's LegacyDriver on legacyHmmMirrorApi",
    create: (w: BenchWorld) => new LegacyDriver(legacyHmmMirrorApi, w.mm, w.start, w.npages),
  },
  {
    id: 'hmm-mirror-shim',
    family: 'hmm-mirror',
    step: 'v5.4 shim',
    title: 'the same driver on shimHmmMirrorApi (mmu_interval_notifier underneath)',
    create: (w: BenchWorld) => new LegacyDriver(shimHmmMirrorApi, w.mm, w.start, w.npages),
  },
  {
    id: 'hmm-mirror-interval',
    family: 'hmm-mirror',
    step: 'v5.5',
    title: "@hmmsim/hmm-mirror's IntervalDriver (mmu_interval_notifier)",
    create: (w: BenchWorld) => new IntervalDriver(w.mm, w.start, w.npages),
  },
]);

/**
 * The SVM driver (nouveau-style) through the port: v5.4 on the legacy API (the baseline) and on
 * the compat shim, then each v5.5 step.
 * Mirrors: model-only.
 */
export const SVM_BENCH_DRIVERS: readonly BenchDriver[] = Object.freeze([
  {
    id: 'svm-v5.4@legacy',
    family: 'svm',
    step: 'v5.4 legacy',
    title: 'the v5.4 SVM driver on the hmm_mirror API',
    create: (w: BenchWorld) => new SvmmV54(w.mm, w.start, w.npages, { api: legacyHmmMirrorApi }),
  },
  {
    id: 'svm-v5.4@shim',
    family: 'svm',
    step: 'v5.4 shim',
    title: 'the same driver on the compat shim',
    create: (w: BenchWorld) => new SvmmV54(w.mm, w.start, w.npages, { api: shimHmmMirrorApi }),
  },
  {
    id: 'svm-v5.5-1-notifier',
    family: 'svm',
    step: 'v5.5 step 1',
    title: 'the GPU invalidation on a plain mmu_notifier (ranges still on hmm_mirror, legacy)',
    create: (w: BenchWorld) => new SvmmV551(w.mm, w.start, w.npages, { api: legacyHmmMirrorApi }),
  },
  {
    id: 'svm-v5.5-2-interval',
    family: 'svm',
    step: 'v5.5 step 2',
    title: 'a per-fault mmu_interval_notifier replaces hmm_mirror',
    create: (w: BenchWorld) => new SvmmV552(w.mm, w.start, w.npages),
  },
  {
    id: 'svm-v5.5',
    family: 'svm',
    step: 'v5.5',
    title: 'the v5.5 SVM driver (an mm reference per fault, a deadline on the retries)',
    create: (w: BenchWorld) => new SvmmV55(w.mm, w.start, w.npages),
  },
  {
    id: 'svm-v5.7',
    family: 'svm',
    step: 'v5.7',
    title: 'hmm_range_fault(range) without flags; devPrivateOwner names the GPU',
    create: (w: BenchWorld) => new SvmmV57(w.mm, w.start, w.npages),
  },
  {
    id: 'svm-v5.8',
    family: 'svm',
    step: 'v5.8',
    title: 'fixed hmmPfns bits, 0 or -errno; the driver converts each entry to a PTE word',
    create: (w: BenchWorld) => new SvmmV58(w.mm, w.start, w.npages),
  },
  {
    id: 'svm-v5.9',
    family: 'svm',
    step: 'v5.9',
    title: 'one page per fault with defaultFlags, the map order, MMU_NOTIFY_MIGRATE',
    create: (w: BenchWorld) => new SvmmV59(w.mm, w.start, w.npages),
  },
]);

/**
 * The userptr driver (amdgpu-style) through the port: v5.4 on the legacy API (the baseline) and
 * on the compat shim, then each v5.5 step.
 * Mirrors: model-only.
 */
export const USERPTR_BENCH_DRIVERS: readonly BenchDriver[] = Object.freeze([
  {
    id: 'userptr-v5.4@legacy',
    family: 'userptr',
    step: 'v5.4 legacy',
    title: 'the v5.4 userptr driver on the hmm_mirror API',
    create: (w: BenchWorld) =>
      new UserptrV54Driver(w.mm, w.start, w.npages, { api: legacyHmmMirrorApi }),
  },
  {
    id: 'userptr-v5.4@shim',
    family: 'userptr',
    step: 'v5.4 shim',
    title: 'the same driver on the compat shim',
    create: (w: BenchWorld) =>
      new UserptrV54Driver(w.mm, w.start, w.npages, { api: shimHmmMirrorApi }),
  },
  {
    id: 'userptr-v5.5-find-vma',
    family: 'userptr',
    step: 'v5.5 step 1',
    title: 'find_vma under mmap_sem, mmget_not_zero (still hmm_mirror, legacy)',
    create: (w: BenchWorld) =>
      new UserptrV55FindVmaDriver(w.mm, w.start, w.npages, { api: legacyHmmMirrorApi }),
  },
  {
    id: 'userptr-v5.5-interval-insert',
    family: 'userptr',
    step: 'v5.5 step 2',
    title: 'an interval notifier per BO (submit still checks the hmm_mirror range, legacy)',
    create: (w: BenchWorld) =>
      new UserptrV55IntervalInsertDriver(w.mm, w.start, w.npages, { api: legacyHmmMirrorApi }),
  },
  {
    id: 'userptr-v5.5-interval-notifier',
    family: 'userptr',
    step: 'v5.5 step 3',
    title: "the BO's interval notifier is the collision check; hmm_mirror gone",
    create: (w: BenchWorld) => new UserptrV55IntervalNotifierDriver(w.mm, w.start, w.npages),
  },
  {
    id: 'userptr-v5.5',
    family: 'userptr',
    step: 'v5.5',
    title: 'the v5.5 userptr driver, its FIXMEs answered',
    create: (w: BenchWorld) => new UserptrV55Driver(w.mm, w.start, w.npages),
  },
  {
    id: 'userptr-v5.7',
    family: 'userptr',
    step: 'v5.7',
    title: 'hmm_range_fault(range) without flags; no device-private owner',
    create: (w: BenchWorld) => new UserptrV57Driver(w.mm, w.start, w.npages),
  },
  {
    id: 'userptr-v5.8',
    family: 'userptr',
    step: 'v5.8',
    title: 'fixed hmmPfns bits and defaultFlags requests, 0 or -errno',
    create: (w: BenchWorld) => new UserptrV58Driver(w.mm, w.start, w.npages),
  },
]);

/**
 * The guide's own drivers, family by family, each family starting with its v5.4 driver on the
 * legacy API (the baseline of its ratios).
 * Mirrors: model-only.
 */
export const GUIDE_BENCH_DRIVERS: readonly BenchDriver[] = Object.freeze([
  ...SVM_BENCH_DRIVERS,
  ...USERPTR_BENCH_DRIVERS,
]);

/**
 * Every driver the benchmark measures by default: the guide's, then the reference drivers.
 * Mirrors: model-only.
 */
export const BENCH_DRIVERS: readonly BenchDriver[] = Object.freeze([
  ...GUIDE_BENCH_DRIVERS,
  ...HMM_MIRROR_BENCH_DRIVERS,
]);
