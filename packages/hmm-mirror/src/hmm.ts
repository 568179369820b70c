/**
 * `struct hmm`: one per mm, shared by every mirror of that mm, registered as a legacy
 * `mmu_notifier` through the get/put scheme (`mmu_notifier_get_locked` allocates it on the first
 * mirror, `mmu_notifier_put` by the last mirror frees it after an SRCU grace period). It keeps the
 * registered ranges, the mirrors, and `notifiers`, the number of invalidations of the mm that
 * started and have not ended yet.
 *
 * The legacy notifier callbacks live here too: invalidate_range_start marks overlapping ranges
 * invalid, counts the invalidation and calls every mirror's sync_cpu_device_pagetables;
 * invalidate_range_end counts it down and, when no invalidation of the mm is left, marks **every**
 * registered range valid and wakes the waiters (races R1 and R2 come from exactly this).
 *
 * Mirrors include/linux/hmm.h:struct hmm (seed) and mm/hmm.c (v5.4): hmm_alloc_notifier(),
 * hmm_free_notifier(), hmm_release(), notifiers_decrement(), hmm_invalidate_range_start(),
 * hmm_invalidate_range_end(), hmm_mmu_notifier_ops.
 */

import type { HmmRange } from '@hmmsim/hmm-range';
import {
  accessReporting,
  checkUlong,
  downRead,
  downReadTrylock,
  EAGAIN,
  InvalidArgumentError,
  isUlong,
  KernelBugError,
  noteRead,
  noteWrite,
  ObjectSlot,
  RwSemaphore,
  reportingAccesses,
  Spinlock,
  spinLock,
  spinUnlock,
  type Task,
  upRead,
  WaitQueueHead,
  wakeUpAll,
} from '@hmmsim/kernel';
import {
  type MmStruct,
  type MmuNotifierRange,
  mmuNotifierRangeBlockable,
  mmuNotifyEventName,
} from '@hmmsim/mm';
import { checkMmStruct, MmuNotifier, type MmuNotifierOps } from '@hmmsim/mmu-notifier';
import type { HmmMirror } from './hmm-mirror.ts';

/**
 * Which API a struct hmm serves: the v5.4 `valid`-flag implementation, or the compat shim (whose
 * ranges are tracked by interval notifiers; its struct hmm only delivers mirror callbacks).
 * Mirrors: model-only.
 */
export type HmmKind = 'legacy' | 'shim';

/**
 * Version switches of the legacy code.
 * Mirrors: model-only (the 2019 behaviour vs an exact overlap test).
 */
export interface HmmOptions {
  /**
   * Quirk Q11. 'v5.4' (default): hmm_invalidate_range_start treats a range that merely touches
   * the invalidated one (`range.start == update.end`) as overlapping and marks it invalid
   * (conservative, harmless). 'exact': half-open intersection only.
   */
  readonly overlapTest: 'v5.4' | 'exact';
}

/**
 * The faithful 2019 settings.
 * Mirrors: model-only.
 */
export const DEFAULT_HMM_OPTIONS: HmmOptions = Object.freeze({ overlapTest: 'v5.4' });

const optionsByMm = new ObjectSlot<MmStruct, HmmOptions>('mm.hmm_options');
/** Every struct hmm ever allocated for an mm (live ones are filtered by hmmsOf()). */
const hmmsByMm = new ObjectSlot<MmStruct, Hmm[]>('mm.hmm');

/**
 * Set the version switches for the struct hmm of `mm`; returns the options now in force.
 * Mirrors: model-only.
 */
export function hmmSetOptions(mm: MmStruct, opts: Partial<HmmOptions>): HmmOptions {
  checkMmStruct('hmmSetOptions', 'mm', mm);
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidArgumentError(
      `hmmSetOptions: opts is ${opts === null ? 'null' : `a ${typeof opts}`}; expected an object of HmmOptions`,
    );
  }
  const next = { ...hmmOptionsOf(mm), ...opts };
  if (next.overlapTest !== 'v5.4' && next.overlapTest !== 'exact') {
    throw new InvalidArgumentError(
      `hmmSetOptions: overlapTest is '${String(next.overlapTest)}'; expected 'v5.4' or 'exact'`,
    );
  }
  if (accessReporting) noteWrite(optionsByMm);
  optionsByMm.set(mm, next);
  return next;
}

/**
 * The switches in force for `mm` (DEFAULT_HMM_OPTIONS unless set).
 * Mirrors: model-only.
 */
export function hmmOptionsOf(mm: MmStruct): HmmOptions {
  if (accessReporting) noteRead(optionsByMm);
  return optionsByMm.get(mm) ?? DEFAULT_HMM_OPTIONS;
}

/**
 * The per-mm HMM state. It *is* the legacy mmu_notifier subscriber (the kernel embeds one and uses
 * container_of); `mmuNotifier` returns itself so that `range.hmm.mmuNotifier.mm` reads as in C.
 * Fields are read-only outside this package.
 *
 * Access reports (for the explorer's partial-order reduction): `notifiers` and `releasing` (and
 * the notifier fields `mm` / `freed` this package reads) are reported on the struct hmm itself,
 * `ranges` on the `ranges` array, `mirrors` on the `mirrors` array, each as a whole object.
 * Mirrors include/linux/hmm.h:struct hmm.
 */
export class Hmm extends MmuNotifier {
  /** Protects `ranges` and `notifiers`. */
  readonly rangesLock: Spinlock;
  /** Registered ranges, most recently registered first (list_add at the head). */
  readonly ranges: HmmRange[] = [];
  /** Registered mirrors, most recently registered first. */
  readonly mirrors: HmmMirror[] = [];
  /** Protects `mirrors`; held for read around the mirror callbacks. */
  readonly mirrorsSem: RwSemaphore;
  /** Woken when `notifiers` drops to 0. */
  readonly wq: WaitQueueHead;
  /** Invalidations of the mm whose start ran and whose end has not (legacy only). */
  notifiers = 0;
  /** The task running hmm_release (model: catches hmm_mirror_unregister from release). */
  releasing: Task | null = null;

  constructor(
    ops: MmuNotifierOps,
    mm: MmStruct,
    readonly kind: HmmKind,
  ) {
    super(ops);
    const sched = mm.machine.sched;
    const obj = `mm${mm.id}`;
    this.rangesLock = new Spinlock(sched, 'hmm.ranges_lock', obj);
    this.mirrorsSem = new RwSemaphore(sched, 'hmm.mirrors_sem', obj);
    this.wq = new WaitQueueHead(sched, 'hmm.wq', obj);
    if (accessReporting) noteWrite(hmmsByMm);
    const list = hmmsByMm.get(mm);
    if (list === undefined) hmmsByMm.set(mm, [this]);
    else {
      // Forget the ones that are gone (freed, or allocated but never registered) as we go.
      const live = list.filter((h) => !h.freed && h.mm !== null);
      live.push(this);
      hmmsByMm.set(mm, live);
    }
  }

  /** The embedded notifier (`&hmm->mmu_notifier`): this object itself. */
  get mmuNotifier(): MmuNotifier {
    return this;
  }
}

/**
 * The struct hmm objects of `mm` that are registered and not yet freed (legacy and shim; after
 * exit too, while mirrors still hold them). Model helper (for the invariant checks).
 */
export function hmmsOf(mm: MmStruct): Hmm[] {
  return (hmmsByMm.get(mm) ?? []).filter((h) => !h.freed && h.mm === mm);
}

/**
 * The struct hmm behind a notifier handed to a callback; KernelBugError if it is not one.
 * Mirrors the container_of(mn, struct hmm, mmu_notifier) of mm/hmm.c.
 */
export function asHmm(mn: MmuNotifier): Hmm {
  if (!(mn instanceof Hmm)) {
    throw new KernelBugError(
      'hmm_mmu_notifier_ops called with a notifier that is not a struct hmm; expected container_of() to be valid',
    );
  }
  return mn;
}

/**
 * True when the legacy start marks `range` invalid for `update`: not (update.end < range.start or
 * update.start >= range.end) — Q11, touching ranges count — or the exact half-open test.
 * Mirrors the overlap test of mm/hmm.c:hmm_invalidate_range_start() (v5.4).
 */
export function hmmRangeOverlaps(
  range: Pick<HmmRange, 'start' | 'end'>,
  update: Pick<MmuNotifierRange, 'start' | 'end'>,
  overlapTest: HmmOptions['overlapTest'] = 'v5.4',
): boolean {
  const fn = 'hmmRangeOverlaps';
  if (!isUlong(range.start)) checkUlong(fn, 'range.start', range.start, 'an address');
  if (!isUlong(range.end)) checkUlong(fn, 'range.end', range.end, 'an address');
  if (!isUlong(update.start)) checkUlong(fn, 'update.start', update.start, 'an address');
  if (!isUlong(update.end)) checkUlong(fn, 'update.end', update.end, 'an address');
  return overlaps(range, update, overlapTest === 'exact');
}

/** The test itself, unchecked: the invalidation loop runs it once per registered range. */
function overlaps(
  range: Pick<HmmRange, 'start' | 'end'>,
  update: Pick<MmuNotifierRange, 'start' | 'end'>,
  exact: boolean,
): boolean {
  if (exact) return update.start < range.end && update.end > range.start;
  return !(update.end < range.start || update.start >= range.end);
}

/**
 * 'UNMAP 0x1000-0x2000' for messages.
 * Mirrors: model-only.
 */
export function describeUpdate(update: MmuNotifierRange): string {
  return `${mmuNotifyEventName(update.event).slice(11)} 0x${update.start.toString(16)}-0x${update.end.toString(16)}`;
}

/**
 * Count one invalidation down; the last one makes every registered range valid and wakes every
 * waiter.
 * Mirrors mm/hmm.c:notifiers_decrement().
 */
export async function hmmNotifiersDecrement(hmm: Hmm): Promise<void> {
  await spinLock(hmm.rangesLock);
  if (accessReporting) noteWrite(hmm);
  if (hmm.notifiers <= 0) {
    spinUnlock(hmm.rangesLock);
    throw new KernelBugError(
      `hmm: notifiers_decrement with notifiers ${hmm.notifiers}; expected an end for every counted start`,
    );
  }
  hmm.notifiers--;
  if (hmm.notifiers === 0) {
    if (accessReporting) noteRead(hmm.ranges);
    const reporting = reportingAccesses();
    for (const range of hmm.ranges) {
      if (reporting) noteWrite(range);
      range.valid = true;
    }
    wakeUpAll(hmm.wq);
  }
  spinUnlock(hmm.rangesLock);
}

/**
 * Call every mirror's sync_cpu_device_pagetables (newest mirror first) under mirrors_sem for
 * read (trylock when not blockable). Returns 0 or -EAGAIN (non-blockable and the semaphore or a
 * mirror would have to sleep). A mirror returning anything else, or an error in a blockable
 * call, is the WARN of the kernel: KernelBugError.
 * Mirrors the mirror loop of mm/hmm.c:hmm_invalidate_range_start() (v5.4).
 */
export async function hmmSyncMirrors(hmm: Hmm, update: MmuNotifierRange): Promise<number> {
  const blockable = mmuNotifierRangeBlockable(update);
  if (blockable) await downRead(hmm.mirrorsSem);
  else if (downReadTrylock(hmm.mirrorsSem) === 0) return -EAGAIN;
  let ret = 0;
  try {
    for (const mirror of hmm.mirrors) {
      // Every iteration reads the list again, in the step after the previous callback.
      if (accessReporting) noteRead(hmm.mirrors);
      if (accessReporting) noteRead(mirror);
      const ops = mirror.ops;
      if (ops === null) {
        throw new KernelBugError(
          'hmm: a registered mirror has no ops; expected hmm_mirror_register() to have refused it',
        );
      }
      const rc = await ops.syncCpuDevicePagetables(mirror, update);
      if (rc === 0) continue;
      if (blockable || rc !== -EAGAIN) {
        throw new KernelBugError(
          `WARN: hmm_mirror sync_cpu_device_pagetables returned ${rc} for ${describeUpdate(update)} in a ` +
            `${blockable ? '' : 'non-'}blockable context; expected 0, or -EAGAIN only when ` +
            'mmu_notifier_range_blockable() is false',
        );
      }
      ret = -EAGAIN;
      break;
    }
  } finally {
    if (accessReporting) noteRead(hmm.mirrors);
    upRead(hmm.mirrorsSem);
  }
  return ret;
}

/**
 * Legacy start: count the invalidation, mark every overlapping registered range invalid (before
 * any mirror runs, whatever happens next), then sync the mirrors. On -EAGAIN the count is undone
 * at once (the core sends no end), which makes the ranges valid again if it was the last one.
 * Mirrors mm/hmm.c:hmm_invalidate_range_start() (v5.4).
 */
export async function hmmInvalidateRangeStart(hmm: Hmm, update: MmuNotifierRange): Promise<number> {
  // Registered bounds are checked at registration and update bounds by the notifier core.
  const exact = hmmOptionsOf(update.mm).overlapTest === 'exact';
  await spinLock(hmm.rangesLock);
  if (accessReporting) noteWrite(hmm);
  hmm.notifiers++;
  if (accessReporting) noteRead(hmm.ranges);
  // One report per range, and none at all unless an explorer takes them (a long list is the
  // point of the legacy design's cost).
  const reporting = reportingAccesses();
  for (const range of hmm.ranges) {
    if (overlaps(range, update, exact)) {
      if (reporting) noteWrite(range);
      range.valid = false;
    } else if (reporting) {
      if (accessReporting) noteRead(range);
    }
  }
  spinUnlock(hmm.rangesLock);
  const sched = update.mm.machine.sched;
  if (sched.trace.enabled) {
    sched.trace.emit(
      'hmm.invalidate_start',
      `${describeUpdate(update)} notifiers=${hmm.notifiers}`,
    );
  }
  let ret: number;
  try {
    ret = await hmmSyncMirrors(hmm, update);
  } catch (error) {
    await hmmNotifiersDecrement(hmm);
    throw error;
  }
  if (ret !== 0) await hmmNotifiersDecrement(hmm);
  return ret;
}

/**
 * Legacy end: count the invalidation down (the last one revalidates every range).
 * Mirrors mm/hmm.c:hmm_invalidate_range_end() (v5.4).
 */
export async function hmmInvalidateRangeEnd(hmm: Hmm, update: MmuNotifierRange): Promise<void> {
  await hmmNotifiersDecrement(hmm);
  const sched = update.mm.machine.sched;
  if (sched.trace.enabled) {
    sched.trace.emit('hmm.invalidate_end', `${describeUpdate(update)} notifiers=${hmm.notifiers}`);
  }
}

/**
 * The mm is being torn down: call every mirror's `release` (newest first) under mirrors_sem for
 * read. A registered range at this point is the kernel's WARN (registration pins mm_users, so it
 * cannot happen without a refcount bug): KernelBugError.
 * Mirrors mm/hmm.c:hmm_release() (v5.4).
 */
export async function hmmRelease(hmm: Hmm, mm: MmStruct): Promise<void> {
  if (accessReporting) noteRead(hmm.ranges);
  if (hmm.ranges.length > 0) {
    throw new KernelBugError(
      `WARN: hmm_release(mm${mm.id}) with ${hmm.ranges.length} range(s) still registered; expected ` +
        'every hmm_range_register() (which pins mm_users) to be undone before the mm exits',
    );
  }
  await downRead(hmm.mirrorsSem);
  if (accessReporting) noteWrite(hmm);
  hmm.releasing = mm.machine.sched.current;
  try {
    for (const mirror of hmm.mirrors) {
      if (accessReporting) noteRead(hmm.mirrors);
      if (accessReporting) noteRead(mirror);
      await mirror.ops?.release?.(mirror);
    }
  } finally {
    if (accessReporting) noteRead(hmm.mirrors);
    if (accessReporting) noteWrite(hmm);
    hmm.releasing = null;
    upRead(hmm.mirrorsSem);
  }
}

/**
 * The last mmu_notifier_put() ran and a grace period passed: free the struct. Ranges or mirrors
 * still listed are the kernel's WARN: KernelBugError.
 * Mirrors mm/hmm.c:hmm_free_notifier().
 */
export function hmmFreeNotifier(hmm: Hmm): void {
  if (accessReporting) noteRead(hmm.ranges);
  if (accessReporting) noteRead(hmm.mirrors);
  if (hmm.ranges.length > 0 || hmm.mirrors.length > 0) {
    throw new KernelBugError(
      `WARN: hmm_free_notifier with ${hmm.ranges.length} range(s) and ${hmm.mirrors.length} mirror(s) ` +
        'still listed; expected every range and mirror to be unregistered first',
    );
  }
}

/**
 * The legacy notifier ops of struct hmm: one object, so mmu_notifier_get_locked() finds the
 * existing struct hmm of an mm by it.
 * Mirrors mm/hmm.c:hmm_mmu_notifier_ops.
 */
export const hmmMmuNotifierOps: MmuNotifierOps = Object.freeze({
  release: (mn: MmuNotifier, mm: MmStruct) => hmmRelease(asHmm(mn), mm),
  invalidateRangeStart: (mn: MmuNotifier, r: MmuNotifierRange) =>
    hmmInvalidateRangeStart(asHmm(mn), r),
  invalidateRangeEnd: (mn: MmuNotifier, r: MmuNotifierRange) => hmmInvalidateRangeEnd(asHmm(mn), r),
  allocNotifier: (mm: MmStruct) => new Hmm(hmmMmuNotifierOps, mm, 'legacy'),
  freeNotifier: (mn: MmuNotifier) => hmmFreeNotifier(asHmm(mn)),
});

/**
 * The struct hmm a mirror points at, checked: KernelBugError when the mirror is not registered
 * (the kernel dereferences a NULL or stale pointer) or its struct hmm is of the other API.
 * Mirrors: model-only (the `mirror->hmm` dereference).
 */
export function hmmOfMirror(mirror: HmmMirror, fn: string, kind: HmmKind): Hmm {
  if (typeof mirror !== 'object' || mirror === null || !('hmm' in mirror)) {
    throw new InvalidArgumentError(
      `${fn}: mirror is ${mirror === null ? 'null' : `a ${typeof mirror === 'object' ? 'non-mirror object' : typeof mirror}`}; expected an HmmMirror`,
    );
  }
  if (accessReporting) noteRead(mirror);
  const hmm = mirror.hmm;
  if (hmm !== null) {
    if (accessReporting) noteRead(hmm.mirrors);
    if (accessReporting) noteRead(hmm); // `freed` (and, for the callers, `mm`)
  }
  if (hmm === null || !hmm.mirrors.includes(mirror)) {
    throw new KernelBugError(
      `${fn}: the mirror is not registered (mirror->hmm is ${hmm === null ? 'NULL' : 'stale'}); expected hmm_mirror_register() first`,
    );
  }
  if (hmm.kind !== kind) {
    throw new KernelBugError(
      `${fn}: the mirror was registered through the ${hmm.kind} API; expected the ${kind} API for all of a mirror's calls`,
    );
  }
  if (hmm.freed) {
    throw new KernelBugError(`${fn}: the mirror's struct hmm was already freed (use after free)`);
  }
  return hmm;
}
