/** The catalogue entries of src/pitfalls/ (see ../catalog-types.ts): chapter 6, the pitfalls. */
import type { Scenario } from '@hmmsim/explorer';
import type { GuideEntry } from '../catalog-types.ts';
import { GUIDE_BASE, GUIDE_NPAGES, type GuideWorld } from '../harness/world.ts';
import { BeginAfterFaultDriver } from './begin-after-fault.ts';
import { BlockInNonblockableDriver } from './block-in-nonblockable.ts';
import { ForgotSetSeqDriver } from './forgot-set-seq.ts';
import { MmapSemAcrossProgramDriver } from './mmap-sem-across-program.ts';
import { NoDevPrivateOwnerDriver } from './no-dev-private-owner.ts';
import { NotifierInInvalidateDriver } from './notifier-in-invalidate.ts';
import { ReadBeginUnderLockDriver } from './read-begin-under-lock.ts';
import { Dmirror, type DmirrorOptions } from './reference.ts';
import { DmirrorV57 } from './reference-v57.ts';
import { RemoveUnderLockDriver } from './remove-under-lock.ts';
import { RetryOutsideLockDriver } from './retry-outside-lock.ts';
import { type DmirrorFactory, type PitfallShape, pitfallScenario } from './scenarios.ts';
import { StaleHmmPfnsDriver } from './stale-hmm-pfns.ts';
import { UnboundedRetryDriver } from './unbounded-retry.ts';
import { V57ReturnCheckDriver } from './v57-return-check.ts';

/** The chapter every entry here belongs to. */
const CHAPTER = '06-pitfalls';

/** A driver class with the guide's constructor shape. */
type DmirrorClass = new (
  mm: GuideWorld['mm'],
  start: number,
  npages: number,
  opts?: DmirrorOptions,
) => Dmirror;

/**
 * The factory of a driver class on the guide's world: the mirrored range, and the world's
 * device memory as the device's own.
 * Mirrors: model-only.
 */
export function onGuideWorld(cls: DmirrorClass): DmirrorFactory {
  return (w) => new cls(w.mm, GUIDE_BASE, GUIDE_NPAGES, { devmem: w.devmem });
}

/** What an entry is built from. */
interface EntrySpec {
  readonly id: string;
  readonly title: string;
  readonly file: string;
  readonly cls: DmirrorClass;
  readonly shapes: readonly PitfallShape[];
  readonly expect: 'violation' | 'pass';
  readonly fixedBy?: string;
  readonly source?: string;
}

/** A catalogue entry whose scenarios are `guide-<id>-<shape>` for each of its shapes. */
function entry(spec: EntrySpec): GuideEntry {
  const make = onGuideWorld(spec.cls);
  const text = `${spec.cls.name} (${spec.title})`;
  return {
    id: spec.id,
    kind: spec.fixedBy === undefined ? 'example' : 'pitfall',
    chapter: CHAPTER,
    title: spec.title,
    file: spec.file,
    expect: spec.expect,
    scenarios: (): readonly Scenario[] =>
      spec.shapes.map(
        (shape) => pitfallScenario(spec.id, shape, make, text, spec.expect) as Scenario,
      ),
    ...(spec.fixedBy === undefined ? {} : { fixedBy: spec.fixedBy }),
    ...(spec.source === undefined ? {} : { source: spec.source }),
  };
}

/** The five invalidations, the device writing. */
const FIVE: readonly PitfallShape[] = ['munmap', 'mprotect', 'reclaim', 'fork', 'migrate'];

/** Every runnable entry of this part of the guide, in the chapter's order. */
export const ENTRIES: readonly GuideEntry[] = Object.freeze([
  entry({
    id: 'pitfall-reference',
    title: 'the reference driver (lib/test_hmm.c shape, v5.8)',
    file: 'src/pitfalls/reference.ts',
    cls: Dmirror,
    shapes: [...FIVE, 'mprotect-read', 'munmap-close'],
    expect: 'pass',
  }),
  entry({
    id: 'pitfall-reference-overlap',
    title: 'the reference driver while two invalidations overlap',
    file: 'src/pitfalls/reference.ts',
    cls: Dmirror,
    shapes: ['munmap-reclaim'],
    expect: 'pass',
  }),
  entry({
    id: 'pitfall-reference-oom',
    title: 'the reference driver under the OOM reaper',
    file: 'src/pitfalls/reference.ts',
    cls: Dmirror,
    shapes: ['mprotect-oom-reap'],
    expect: 'pass',
  }),
  entry({
    id: 'pitfall-reference-storm',
    title: 'the reference driver under an endless stream of invalidations',
    file: 'src/pitfalls/reference.ts',
    cls: Dmirror,
    shapes: ['mprotect-storm'],
    expect: 'pass',
  }),
  entry({
    id: 'pitfall-reference-v57',
    title: 'the reference driver on v5.7 (driver-defined entries, page count returned)',
    file: 'src/pitfalls/reference-v57.ts',
    cls: DmirrorV57,
    shapes: FIVE,
    expect: 'pass',
  }),
  entry({
    id: 'pitfall-forgot-set-seq',
    title: 'invalidate() never calls mmu_interval_set_seq()',
    file: 'src/pitfalls/forgot-set-seq.ts',
    cls: ForgotSetSeqDriver,
    shapes: ['munmap'],
    expect: 'violation',
    fixedBy: 'pitfall-reference',
    source: '99cb252f5e68 (mmu_interval_set_seq() kerneldoc); amdgpu 81fa1af31b5d',
  }),
  entry({
    id: 'pitfall-retry-outside-lock',
    title: 'mmu_interval_read_retry() checked before taking the driver lock',
    file: 'src/pitfalls/retry-outside-lock.ts',
    cls: RetryOutsideLockDriver,
    shapes: ['munmap'],
    expect: 'violation',
    fixedBy: 'pitfall-reference',
    source: 'Documentation/vm/hmm.rst (a22dd506400d); amdgpu FIXMEs in 81fa1af31b5d',
  }),
  entry({
    id: 'pitfall-begin-after-fault',
    title: 'mmu_interval_read_begin() called after hmm_range_fault()',
    file: 'src/pitfalls/begin-after-fault.ts',
    cls: BeginAfterFaultDriver,
    shapes: ['munmap'],
    expect: 'violation',
    fixedBy: 'pitfall-reference',
    source:
      '99cb252f5e68 (mmu_interval_read_begin()); hfi1 3889551db212 FIXME, fixed by b3deec25847b',
  }),
  entry({
    id: 'pitfall-read-begin-under-lock',
    title: 'mmu_interval_read_begin() called with the driver lock held',
    file: 'src/pitfalls/read-begin-under-lock.ts',
    cls: ReadBeginUnderLockDriver,
    shapes: ['munmap-reclaim'],
    expect: 'violation',
    fixedBy: 'pitfall-reference-overlap',
    source:
      '99cb252f5e68 (mmu_interval_read_begin(): may sleep, lockdep invalidate_range_start map)',
  }),
  entry({
    id: 'pitfall-remove-under-lock',
    title: 'mmu_interval_notifier_remove() called with the driver lock held',
    file: 'src/pitfalls/remove-under-lock.ts',
    cls: RemoveUnderLockDriver,
    shapes: ['munmap-close'],
    expect: 'violation',
    fixedBy: 'pitfall-reference',
    source: '99cb252f5e68 (mmu_interval_notifier_remove() kerneldoc)',
  }),
  entry({
    id: 'pitfall-notifier-in-invalidate',
    title: 'the notifier removed and inserted again from inside invalidate()',
    file: 'src/pitfalls/notifier-in-invalidate.ts',
    cls: NotifierInInvalidateDriver,
    shapes: ['munmap'],
    expect: 'violation',
    fixedBy: 'pitfall-reference',
    source: '99cb252f5e68 (remove() kerneldoc); <20200113224703.5917-2-rcampbell@nvidia.com>',
  }),
  entry({
    id: 'pitfall-block-in-nonblockable',
    title: 'invalidate() sleeps on its lock when the range may not block',
    file: 'src/pitfalls/block-in-nonblockable.ts',
    cls: BlockInNonblockableDriver,
    shapes: ['mprotect-oom-reap'],
    expect: 'violation',
    fixedBy: 'pitfall-reference-oom',
    source:
      "99cb252f5e68 (mmu_interval_notifier_ops); 93065ac753e4 (the OOM reaper's non-blocking mode)",
  }),
  entry({
    id: 'pitfall-stale-hmm-pfns',
    title: 'the per-page requests written once, not before every hmm_range_fault()',
    file: 'src/pitfalls/stale-hmm-pfns.ts',
    cls: StaleHmmPfnsDriver,
    shapes: ['mprotect-read'],
    expect: 'violation',
    fixedBy: 'pitfall-reference',
    source: '2733ea144dcc (nouveau FIXME); <20200506162103.GH26002@ziepe.ca>',
  }),
  entry({
    id: 'pitfall-v57-return-check',
    title: "v5.7's return check (0 or -EBUSY: again) kept on v5.8",
    file: 'src/pitfalls/v57-return-check.ts',
    cls: V57ReturnCheckDriver,
    shapes: ['munmap'],
    expect: 'violation',
    fixedBy: 'pitfall-reference',
    source: 'be957c886d92 mm/hmm: make hmm_range_fault return 0 or -1',
  }),
  entry({
    id: 'pitfall-no-dev-private-owner',
    title: 'the range does not name the device as devPrivateOwner',
    file: 'src/pitfalls/no-dev-private-owner.ts',
    cls: NoDevPrivateOwnerDriver,
    shapes: ['migrate'],
    expect: 'violation',
    fixedBy: 'pitfall-reference',
    source:
      'ed710a6ed797 (Fixes: 08ddddda667b); 5.7.y <20200727134933.700692019@linuxfoundation.org>',
  }),
  entry({
    id: 'pitfall-unbounded-retry',
    title: 'no deadline on the retry loop',
    file: 'src/pitfalls/unbounded-retry.ts',
    cls: UnboundedRetryDriver,
    shapes: ['mprotect-storm'],
    expect: 'violation',
    fixedBy: 'pitfall-reference-storm',
    source:
      '99cb252f5e68 (mmu_interval_read_begin(): the caller bounds the time); nouveau 20fef4ef84bf',
  }),
  entry({
    id: 'pitfall-mmap-sem-across-program',
    title: 'mmap_sem held across the device programming (as v5.4 nouveau)',
    file: 'src/pitfalls/mmap-sem-across-program.ts',
    cls: MmapSemAcrossProgramDriver,
    shapes: FIVE,
    expect: 'pass',
    fixedBy: 'pitfall-reference',
    source: 'nouveau 20fef4ef84bf; Documentation/vm/hmm.rst (a22dd506400d)',
  }),
]);
