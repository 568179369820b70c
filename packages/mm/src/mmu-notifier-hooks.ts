/**
 * The invalidation hook points of the core mm (include/linux/mmu_notifier.h, the inline wrappers).
 *
 * The mm calls these exactly where Linux calls `mmu_notifier_*`; it knows nothing of who listens.
 * A listener (the `@hmmsim/mmu-notifier` package, or the {@link InvalidationRecorder} below)
 * installs one {@link MmuNotifierHooks} object per mm with {@link mmuNotifierSetHooks}. With no
 * hooks installed every call is a no-op, as when an mm has no `mmu_notifier_mm` container.
 */
import {
  accessReporting,
  checkIntIn,
  InvalidArgumentError,
  noteRead,
  noteWrite,
  wakeUpAll,
} from '@hmmsim/kernel';
import { checkAddr, checkMm, checkVma, checkWord } from './check-args.ts';
import type { MmStruct } from './mm-struct.ts';
import type { VmArea } from './vma.ts';

/** Range is being unmapped (munmap, exit). Mirrors include/linux/mmu_notifier.h:MMU_NOTIFY_UNMAP. */
export const MMU_NOTIFY_UNMAP = 0;
/** PTEs cleared for another reason (COW, DONTNEED, reclaim, THP split). Mirrors MMU_NOTIFY_CLEAR. */
export const MMU_NOTIFY_CLEAR = 1;
/** Protection changed uniformly from the vma (mprotect). Mirrors MMU_NOTIFY_PROTECTION_VMA. */
export const MMU_NOTIFY_PROTECTION_VMA = 2;
/** Per-page protection change (fork write-protect). Mirrors MMU_NOTIFY_PROTECTION_PAGE. */
export const MMU_NOTIFY_PROTECTION_PAGE = 3;
/** Soft-dirty clearing. Mirrors include/linux/mmu_notifier.h:MMU_NOTIFY_SOFT_DIRTY. */
export const MMU_NOTIFY_SOFT_DIRTY = 4;
/** Interval-tree teardown at exit (v5.5). Mirrors include/linux/mmu_notifier.h:MMU_NOTIFY_RELEASE. */
export const MMU_NOTIFY_RELEASE = 5;
/**
 * migrate_vma_setup()'s collect invalidation (v5.9): `migratePgmapOwner` names the device whose
 * migration caused it, so that device may skip it. Mirrors include/linux/mmu_notifier.h:MMU_NOTIFY_MIGRATE.
 */
export const MMU_NOTIFY_MIGRATE = 6;

/** Event numbers 0..6 of `enum mmu_notifier_event` (6, MIGRATE, from v5.9). */
export type MmuNotifierEvent = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** The range may sleep in its callbacks. Mirrors MMU_NOTIFIER_RANGE_BLOCKABLE (1 << 0). */
export const MMU_NOTIFIER_RANGE_BLOCKABLE = 1;

const EVENT_NAMES = [
  'MMU_NOTIFY_UNMAP',
  'MMU_NOTIFY_CLEAR',
  'MMU_NOTIFY_PROTECTION_VMA',
  'MMU_NOTIFY_PROTECTION_PAGE',
  'MMU_NOTIFY_SOFT_DIRTY',
  'MMU_NOTIFY_RELEASE',
  'MMU_NOTIFY_MIGRATE',
] as const;

/** Kernel name of an event number ('MMU_NOTIFY_CLEAR' for 1). Model helper for traces and tests. */
export function mmuNotifyEventName(event: number): string {
  checkIntIn('mmuNotifyEventName', 'event', event, 0, 2 ** 31 - 1, 'an event number (an int >= 0)');
  return EVENT_NAMES[event] ?? `MMU_NOTIFY_<${event}>`;
}

/**
 * One invalidation: `[start, end)` half-open, page aligned. `vma` may be null.
 * `migratePgmapOwner` is the dev_pagemap owner of a v5.9 MMU_NOTIFY_MIGRATE range, null otherwise
 * (the field does not exist before v5.9; null there).
 * Mirrors include/linux/mmu_notifier.h:struct mmu_notifier_range.
 */
export interface MmuNotifierRange {
  mm: MmStruct;
  vma: VmArea | null;
  start: number;
  end: number;
  flags: number;
  event: MmuNotifierEvent;
  migratePgmapOwner: unknown;
}

/**
 * What a listener implements; the mm calls these at the Linux call sites.
 * `invalidateRangeEnd`'s `onlyEnd` is true where Linux calls `..._range_only_end` (the caller already
 * issued `invalidateRange` under the page-table lock), so a legacy dispatcher can skip
 * `invalidate_range` for hlist subscribers. Mirrors include/linux/mmu_notifier.h:struct mmu_notifier_ops
 * as seen from the core (one dispatcher per mm).
 */
export interface MmuNotifierHooks {
  /** Returns 0, or -EAGAIN only when the range is not blockable. */
  invalidateRangeStart(range: MmuNotifierRange): Promise<number>;
  /** The end of a range whose start returned 0 (`onlyEnd`: the caller already flushed under the PTL). */
  invalidateRangeEnd(range: MmuNotifierRange, onlyEnd: boolean): Promise<void>;
  /** Secondary TLB flush before pages are freed (may be a sub-range, may be outside start/end). */
  invalidateRange?(mm: MmStruct, start: number, end: number): void;
  /** A PTE was replaced inside a CLEAR bracket (COW): `bits`/`val` of the new entry. */
  changePte?(mm: MmStruct, addr: number, bits: number, val: number): void;
  /** Age `[start, end)` in the secondary MMU and flush; non-zero if any page was young. */
  clearFlushYoung?(mm: MmStruct, start: number, end: number): number;
  /** Age `[start, end)` in the secondary MMU without a flush; non-zero if any page was young. */
  clearYoung?(mm: MmStruct, start: number, end: number): number;
  /** Non-zero if the secondary MMU accessed `addr` since it was last aged. */
  testYoung?(mm: MmStruct, addr: number): number;
  /** The address space is being torn down; called before any page is freed. */
  release(mm: MmStruct): Promise<void>;
  /** The mm struct itself is freed (last mmdrop). Mirrors mm/mmu_notifier.c:__mmu_notifier_mm_destroy(). */
  destroy?(mm: MmStruct): void;
}

/**
 * Install (or with null remove) the hook object of `mm`; returns the previous one so a listener can chain.
 * Mirrors mm/mmu_notifier.c:__mmu_notifier_register() publishing `mm->mmu_notifier_mm`.
 */
export function mmuNotifierSetHooks(
  mm: MmStruct,
  hooks: MmuNotifierHooks | null,
): MmuNotifierHooks | null {
  checkMm('mmuNotifierSetHooks', mm);
  if (hooks !== null) {
    const h = hooks as unknown as Record<string, unknown>;
    for (const name of ['invalidateRangeStart', 'invalidateRangeEnd', 'release']) {
      if (typeof h?.[name] !== 'function') {
        throw new InvalidArgumentError(
          `mmuNotifierSetHooks: hooks.${name} is ${typeof h?.[name]}; expected an MmuNotifierHooks object (or null)`,
        );
      }
    }
  }
  const prev = mm.notifier;
  mm.notifier = hooks;
  return prev;
}

/** The checks shared by the range initialisers (nothing is built on bad input). */
function checkRangeArgs(
  fn: string,
  flags: number,
  vma: VmArea | null,
  mm: MmStruct,
  start: number,
  end: number,
): void {
  checkWord(fn, 'flags', flags);
  checkMm(fn, mm);
  if (vma !== null) checkVma(fn, vma);
  checkAddr(fn, 'start', start);
  checkAddr(fn, 'end', end);
  if (start > end) {
    throw new InvalidArgumentError(`${fn}: start ${start} > end ${end}; expected start <= end`);
  }
}

/**
 * Fill an invalidation range (flags as given; the start entry point sets BLOCKABLE; no owner).
 * Mirrors include/linux/mmu_notifier.h:mmu_notifier_range_init().
 */
export function mmuNotifierRangeInit(
  event: MmuNotifierEvent,
  flags: number,
  vma: VmArea | null,
  mm: MmStruct,
  start: number,
  end: number,
): MmuNotifierRange {
  checkRangeArgs('mmu_notifier_range_init', flags, vma, mm, start, end);
  checkIntIn('mmu_notifier_range_init', 'event', event, 0, 6, 'an MMU_NOTIFY_* event (0..6)');
  return { mm, vma, start, end, flags, event, migratePgmapOwner: null };
}

/**
 * Fill an MMU_NOTIFY_MIGRATE range carrying `owner` (the migrating dev_pagemap owner, or null)
 * in `migratePgmapOwner`. Mirrors include/linux/mmu_notifier.h:mmu_notifier_range_init_migrate() (v5.9).
 */
export function mmuNotifierRangeInitMigrate(
  flags: number,
  vma: VmArea | null,
  mm: MmStruct,
  start: number,
  end: number,
  owner: unknown,
): MmuNotifierRange {
  checkRangeArgs('mmu_notifier_range_init_migrate', flags, vma, mm, start, end);
  const range = mmuNotifierRangeInit(MMU_NOTIFY_MIGRATE, flags, vma, mm, start, end);
  range.migratePgmapOwner = owner ?? null;
  return range;
}

/** True when the range's callbacks may sleep. Mirrors include/linux/mmu_notifier.h:mmu_notifier_range_blockable(). */
export function mmuNotifierRangeBlockable(range: MmuNotifierRange): boolean {
  return (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0;
}

/**
 * True only for a PROTECTION_VMA range whose vma still has VM_READ.
 * Mirrors mm/mmu_notifier.c:mmu_notifier_range_update_to_read_only().
 */
export function mmuNotifierRangeUpdateToReadOnly(range: MmuNotifierRange): boolean {
  if (range.vma === null) return false;
  return range.event === MMU_NOTIFY_PROTECTION_VMA && (range.vma.vmFlags & 0x1) !== 0;
}

/**
 * Blocking start of an invalidation: sets BLOCKABLE, calls the listener, ignores its result.
 * Mirrors include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_start().
 */
export async function mmuNotifierInvalidateRangeStart(range: MmuNotifierRange): Promise<void> {
  const hooks = range.mm.notifier;
  range.flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
  range.mm.invalidatesInFlight++;
  if (hooks === null) return;
  try {
    await hooks.invalidateRangeStart(range);
  } catch (error) {
    invalidationDone(range.mm); // a start the listener rejected as misuse did not begin
    throw error;
  }
}

/** One invalidation of `mm` is over: wake a registration waiting for none to be in flight. */
function invalidationDone(mm: MmStruct): void {
  if (mm.invalidatesInFlight === 0) return; // an unmatched end with no listener to object to it
  mm.invalidatesInFlight--;
  if (mm.invalidatesInFlight === 0) wakeUpAll(mm.invalidatesDone);
}

/**
 * Non-blocking start (OOM reaper style): clears BLOCKABLE and returns the listener's result; on
 * non-zero the caller must not send an end. Mirrors mmu_notifier_invalidate_range_start_nonblock().
 */
export async function mmuNotifierInvalidateRangeStartNonblock(
  range: MmuNotifierRange,
): Promise<number> {
  const hooks = range.mm.notifier;
  range.flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
  range.mm.invalidatesInFlight++;
  if (hooks === null) return 0;
  let ret: number;
  try {
    ret = await hooks.invalidateRangeStart(range);
  } catch (error) {
    invalidationDone(range.mm);
    throw error;
  }
  if (ret !== 0) invalidationDone(range.mm); // no end follows a failed start
  return ret;
}

/** End of an invalidation. Mirrors include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_end(). */
export async function mmuNotifierInvalidateRangeEnd(range: MmuNotifierRange): Promise<void> {
  const hooks = range.mm.notifier;
  if (hooks !== null) await hooks.invalidateRangeEnd(range, false);
  invalidationDone(range.mm);
}

/**
 * End of an invalidation whose secondary-TLB flush was already issued.
 * Mirrors include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_only_end().
 */
export async function mmuNotifierInvalidateRangeOnlyEnd(range: MmuNotifierRange): Promise<void> {
  const hooks = range.mm.notifier;
  if (hooks !== null) await hooks.invalidateRangeEnd(range, true);
  invalidationDone(range.mm);
}

/** Secondary TLB flush of `[start, end)`. Mirrors include/linux/mmu_notifier.h:mmu_notifier_invalidate_range(). */
export function mmuNotifierInvalidateRange(mm: MmStruct, start: number, end: number): void {
  checkAddr('mmu_notifier_invalidate_range', 'start', start);
  checkAddr('mmu_notifier_invalidate_range', 'end', end);
  mm.notifier?.invalidateRange?.(mm, start, end);
}

/** A PTE was replaced (set_pte_at_notify). Mirrors include/linux/mmu_notifier.h:mmu_notifier_change_pte(). */
export function mmuNotifierChangePte(mm: MmStruct, addr: number, bits: number, val: number): void {
  checkAddr('mmu_notifier_change_pte', 'addr', addr);
  checkWord('mmu_notifier_change_pte', 'bits', bits);
  checkWord('mmu_notifier_change_pte', 'val', val);
  mm.notifier?.changePte?.(mm, addr, bits, val);
}

/** OR of the listeners' young bits, clearing them. Mirrors mmu_notifier_clear_flush_young(). */
export function mmuNotifierClearFlushYoung(mm: MmStruct, start: number, end: number): number {
  checkAddr('mmu_notifier_clear_flush_young', 'start', start);
  checkAddr('mmu_notifier_clear_flush_young', 'end', end);
  return mm.notifier?.clearFlushYoung?.(mm, start, end) ?? 0;
}

/** OR of the listeners' young bits, clearing them without flush. Mirrors mmu_notifier_clear_young(). */
export function mmuNotifierClearYoung(mm: MmStruct, start: number, end: number): number {
  checkAddr('mmu_notifier_clear_young', 'start', start);
  checkAddr('mmu_notifier_clear_young', 'end', end);
  return mm.notifier?.clearYoung?.(mm, start, end) ?? 0;
}

/** Non-zero if a listener saw an access at `addr`. Mirrors mmu_notifier_test_young(). */
export function mmuNotifierTestYoung(mm: MmStruct, addr: number): number {
  checkAddr('mmu_notifier_test_young', 'addr', addr);
  return mm.notifier?.testYoung?.(mm, addr) ?? 0;
}

/**
 * Teardown notification, first thing in exit_mmap, before any page is freed.
 * Mirrors include/linux/mmu_notifier.h:mmu_notifier_release() (→ __mmu_notifier_release()).
 */
export async function mmuNotifierRelease(mm: MmStruct): Promise<void> {
  const hooks = mm.notifier;
  if (hooks === null) return;
  await hooks.release(mm);
}

/** One recorded hook call. */
export interface RecordedInvalidation {
  kind: 'start' | 'end' | 'range' | 'changePte' | 'release';
  event: number;
  start: number;
  end: number;
  blockable: boolean;
  mm: MmStruct;
  onlyEnd?: boolean;
  /** The range's `migratePgmapOwner` (start and end records only). */
  migratePgmapOwner?: unknown;
}

/**
 * Test/demo listener: installs itself as the hook of one or more mms and records every call
 * `{kind, event, start, end, blockable}` in order. It forwards to the hooks it replaced, so it can
 * sit in front of a real listener. Model utility (no kernel counterpart).
 *
 * Access reports: the log reports on its array (reading `log` is a read, recording a write), the
 * chained hooks on their map, the two callbacks as elements 0 and 1 of the recorder.
 */
export class InvalidationRecorder implements MmuNotifierHooks {
  private readonly _log: RecordedInvalidation[] = [];
  private _onRelease: ((mm: MmStruct) => void) | null = null;
  private _onStart: ((range: MmuNotifierRange) => number | undefined) | null = null;
  private readonly next = new Map<MmStruct, MmuNotifierHooks | null>();

  /** Every recorded call, in order (a reported read). */
  get log(): RecordedInvalidation[] {
    if (accessReporting) noteRead(this._log);
    return this._log;
  }

  /** Called inside `release` (before forwarding); tests use it to inspect memory at that moment. */
  get onRelease(): ((mm: MmStruct) => void) | null {
    if (accessReporting) noteRead(this, 0);
    return this._onRelease;
  }
  set onRelease(fn: ((mm: MmStruct) => void) | null) {
    if (accessReporting) noteWrite(this, 0);
    this._onRelease = fn;
  }

  /** Called inside `invalidateRangeStart`; may return a non-zero value to refuse a non-blockable start. */
  get onStart(): ((range: MmuNotifierRange) => number | undefined) | null {
    if (accessReporting) noteRead(this, 1);
    return this._onStart;
  }
  set onStart(fn: ((range: MmuNotifierRange) => number | undefined) | null) {
    if (accessReporting) noteWrite(this, 1);
    this._onStart = fn;
  }

  /** Append one record (a reported write of the log). */
  private record(r: RecordedInvalidation): void {
    if (accessReporting) noteWrite(this._log);
    this._log.push(r);
  }

  /** The hooks this recorder replaced on `mm` (a reported read). */
  private chained(mm: MmStruct): MmuNotifierHooks | null | undefined {
    if (accessReporting) noteRead(this.next);
    return this.next.get(mm);
  }

  /** Install on `mm` (chaining to whatever was installed). */
  attach(mm: MmStruct): this {
    if (mm.notifier === this) return this;
    if (accessReporting) noteWrite(this.next);
    this.next.set(mm, mmuNotifierSetHooks(mm, this));
    return this;
  }

  /** Remove from `mm`, restoring the hooks it replaced. */
  detach(mm: MmStruct): void {
    if (mm.notifier !== this) return;
    if (accessReporting) noteWrite(this.next);
    mmuNotifierSetHooks(mm, this.next.get(mm) ?? null);
    this.next.delete(mm);
  }

  /** Forget everything recorded so far. */
  clear(): void {
    if (accessReporting) noteWrite(this._log);
    this._log.length = 0;
  }

  /** The start calls only, as `{event, start, end, blockable}` (the common assertion shape). */
  starts(mm?: MmStruct): { event: number; start: number; end: number; blockable: boolean }[] {
    return this.log
      .filter((r) => r.kind === 'start' && (mm === undefined || r.mm === mm))
      .map(({ event, start, end, blockable }) => ({ event, start, end, blockable }));
  }

  /** Compact trace lines such as `start CLEAR 0x1000-0x2000`. */
  lines(mm?: MmStruct): string[] {
    return this.log
      .filter((r) => mm === undefined || r.mm === mm)
      .map((r) => {
        const ev =
          r.kind === 'start' || r.kind === 'end' ? ` ${mmuNotifyEventName(r.event).slice(11)}` : '';
        return `${r.kind}${ev} 0x${r.start.toString(16)}-0x${r.end.toString(16)}`;
      });
  }

  async invalidateRangeStart(range: MmuNotifierRange): Promise<number> {
    const blockable = mmuNotifierRangeBlockable(range);
    this.record({
      kind: 'start',
      event: range.event,
      start: range.start,
      end: range.end,
      blockable,
      mm: range.mm,
      migratePgmapOwner: range.migratePgmapOwner,
    });
    const veto = this.onStart?.(range);
    if (veto !== undefined && veto !== 0) return veto;
    const next = this.chained(range.mm);
    return next ? next.invalidateRangeStart(range) : 0;
  }

  /** Record the end, then pass it on to the chained hooks. */
  async invalidateRangeEnd(range: MmuNotifierRange, onlyEnd: boolean): Promise<void> {
    this.record({
      kind: 'end',
      event: range.event,
      start: range.start,
      end: range.end,
      blockable: mmuNotifierRangeBlockable(range),
      mm: range.mm,
      onlyEnd,
      migratePgmapOwner: range.migratePgmapOwner,
    });
    const next = this.chained(range.mm);
    if (next) await next.invalidateRangeEnd(range, onlyEnd);
  }

  invalidateRange(mm: MmStruct, start: number, end: number): void {
    this.record({ kind: 'range', event: -1, start, end, blockable: false, mm });
    this.chained(mm)?.invalidateRange?.(mm, start, end);
  }

  changePte(mm: MmStruct, addr: number, bits: number, val: number): void {
    this.record({
      kind: 'changePte',
      event: -1,
      start: addr,
      end: addr + 4096,
      blockable: false,
      mm,
    });
    this.chained(mm)?.changePte?.(mm, addr, bits, val);
  }

  async release(mm: MmStruct): Promise<void> {
    this.record({
      kind: 'release',
      event: MMU_NOTIFY_RELEASE,
      start: 0,
      end: 0,
      blockable: true,
      mm,
    });
    this.onRelease?.(mm);
    const next = this.chained(mm);
    if (next) await next.release(mm);
  }

  destroy(mm: MmStruct): void {
    if (accessReporting) noteWrite(this.next);
    const next = this.next.get(mm);
    next?.destroy?.(mm);
    this.next.delete(mm);
  }
}
