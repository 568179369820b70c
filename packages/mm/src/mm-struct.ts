/**
 * The address space of a process: mmap_sem, page tables, the VMA list, the two reference
 * counts, RSS counters and the notifier hook slot. Mirrors include/linux/mm_types.h:struct mm_struct
 * and the lifetime helpers of kernel/fork.c (mmget/mmput/mmgrab/mmdrop).
 */
import {
  accessReporting,
  checkIntIn,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  RwSemaphore,
  type SchedEvent,
  TASK_SIZE,
  WaitQueueHead,
} from '@hmmsim/kernel';
import { createPageTables, MAX_TABLES_LIMIT, type PageTables } from '@hmmsim/pagetable';
import type { Machine } from './machine.ts';
import { machineNextId } from './machine.ts';
import type { MmuNotifierHooks } from './mmu-notifier-hooks.ts';
import type { VmArea } from './vma.ts';

/** Resident file pages. Mirrors include/linux/mm_types_task.h:MM_FILEPAGES. */
export const MM_FILEPAGES = 0;
/** Resident anonymous pages. Mirrors include/linux/mm_types_task.h:MM_ANONPAGES. */
export const MM_ANONPAGES = 1;
/** Swap entries. Mirrors include/linux/mm_types_task.h:MM_SWAPENTS. */
export const MM_SWAPENTS = 2;
/** Resident shmem pages. Mirrors include/linux/mm_types_task.h:MM_SHMEMPAGES. */
export const MM_SHMEMPAGES = 3;
/** Number of RSS counters. Mirrors include/linux/mm_types_task.h:NR_MM_COUNTERS. */
export const NR_MM_COUNTERS = 4;

/** Lowest address mmap may use without privilege. Mirrors mm/util.c:mmap_min_addr (CONFIG_DEFAULT_MMAP_MIN_ADDR 65536). */
export const MMAP_MIN_ADDR = 65536;
/** Default top of the top-down mmap area (no ASLR in the model). */
export const DEFAULT_MMAP_BASE = 0x7f0000000000;
/** Start of the bottom-up search (TASK_SIZE / 3, page aligned). Mirrors arch/x86/include/asm/processor.h:TASK_UNMAPPED_BASE. */
export const TASK_UNMAPPED_BASE = Math.floor(TASK_SIZE / 3 / 4096) * 4096;

/** Options of createMm(). */
export interface CreateMmOptions {
  /** Top of the top-down mmap search (default DEFAULT_MMAP_BASE). */
  readonly mmapBase?: number;
  /** Page-table pool limit in tables (default: the pagetable package's). */
  readonly maxPageTables?: number;
}

// Elements of an MmStruct in access reports (noteRead/noteWrite(mm, element)), one per mutable
// field: MM_USERS 0, MM_COUNT 1, MM_NOTIFIER 2, MM_EXITED 3, MM_FREED 4, MM_INVALIDATES 5,
// MM_FIELD_VMAS 6 (shared-access.ts). The accessors write them as literals, the name in a
// comment, for the reason given at VmArea's (vma.ts).

/**
 * One address space. Mirrors include/linux/mm_types.h:struct mm_struct.
 *
 * The mutable fields are accessors that report every read and write to the explorer's
 * partial-order reduction, each field as its own element of the mm (`noteRead(mm, field)`);
 * reading `vmas` reports a read of the VMA list (its writers report the write). The RSS counters
 * report as elements `MM_FILEPAGES..MM_SHMEMPAGES` of the `rss` array.
 */
export class MmStruct {
  readonly id: number;
  readonly machine: Machine;
  readonly mmapSem: RwSemaphore;
  readonly pt: PageTables;
  private readonly _vmas: VmArea[] = [];
  private _mmUsers = 1;
  private _mmCount = 1;
  private _notifier: MmuNotifierHooks | null = null;
  /** RSS counters indexed by MM_FILEPAGES..MM_SHMEMPAGES (use addMmCounter / getMmCounter). */
  readonly rss: number[] = [0, 0, 0, 0];
  readonly mmapBase: number;
  private _exited = false;
  private _freed = false;
  /** The scheduling point at the start of each page fault (preallocated: faults are hot). */
  readonly faultEvent: SchedEvent;
  private _invalidatesInFlight = 0;
  /** Woken when `invalidatesInFlight` drops to 0. */
  readonly invalidatesDone: WaitQueueHead;

  /** VMAs sorted by vmStart, non-overlapping (a reported read of the list). */
  get vmas(): VmArea[] {
    if (accessReporting) noteRead(this, 6 /* MM_FIELD_VMAS */);
    return this._vmas;
  }

  /** Users of the address space (page tables alive while > 0). */
  get mmUsers(): number {
    if (accessReporting) noteRead(this, 0 /* MM_USERS */);
    return this._mmUsers;
  }
  set mmUsers(n: number) {
    if (accessReporting) noteWrite(this, 0 /* MM_USERS */);
    this._mmUsers = n;
  }

  /** References to the struct itself (mm_users counts as one). */
  get mmCount(): number {
    if (accessReporting) noteRead(this, 1 /* MM_COUNT */);
    return this._mmCount;
  }
  set mmCount(n: number) {
    if (accessReporting) noteWrite(this, 1 /* MM_COUNT */);
    this._mmCount = n;
  }

  /** The invalidation listener (mmu_notifier_mm), null until one installs itself. */
  get notifier(): MmuNotifierHooks | null {
    if (accessReporting) noteRead(this, 2 /* MM_NOTIFIER */);
    return this._notifier;
  }
  set notifier(hooks: MmuNotifierHooks | null) {
    if (accessReporting) noteWrite(this, 2 /* MM_NOTIFIER */);
    this._notifier = hooks;
  }

  /** True once exit_mmap ran (page tables gone). */
  get exited(): boolean {
    if (accessReporting) noteRead(this, 3 /* MM_EXITED */);
    return this._exited;
  }
  set exited(v: boolean) {
    if (accessReporting) noteWrite(this, 3 /* MM_EXITED */);
    this._exited = v;
  }

  /** True once the last mmdrop freed the struct. */
  get freed(): boolean {
    if (accessReporting) noteRead(this, 4 /* MM_FREED */);
    return this._freed;
  }
  set freed(v: boolean) {
    if (accessReporting) noteWrite(this, 4 /* MM_FREED */);
    this._freed = v;
  }

  /**
   * Invalidations between their start and end hooks, whether or not a listener is installed
   * (the ones holding rmap locks are what mm_take_all_locks() waits out).
   */
  get invalidatesInFlight(): number {
    if (accessReporting) noteRead(this, 5 /* MM_INVALIDATES */);
    return this._invalidatesInFlight;
  }
  set invalidatesInFlight(n: number) {
    if (accessReporting) noteWrite(this, 5 /* MM_INVALIDATES */);
    this._invalidatesInFlight = n;
  }

  constructor(machine: Machine, opts: CreateMmOptions = {}) {
    this.machine = machine;
    this.id = machineNextId(machine);
    this.mmapSem = new RwSemaphore(machine.sched, 'mmap_sem', `mm${this.id}`);
    this.pt =
      opts.maxPageTables === undefined
        ? createPageTables()
        : createPageTables({ maxTables: opts.maxPageTables });
    this.mmapBase = opts.mmapBase ?? DEFAULT_MMAP_BASE;
    this.faultEvent = { kind: 'mm.fault', label: 'handle_mm_fault', obj: `mm${this.id}` };
    this.invalidatesDone = new WaitQueueHead(machine.sched, 'mm.invalidates_done', `mm${this.id}`);
  }

  /** Number of VMAs. Mirrors mm_struct.map_count. */
  get mapCount(): number {
    return this.vmas.length;
  }

  /** Resident pages (file + anon + shmem). Mirrors include/linux/mm.h:get_mm_rss(). */
  get rssPages(): number {
    if (accessReporting) noteRead(this.rss);
    return (
      (this.rss[MM_FILEPAGES] as number) +
      (this.rss[MM_ANONPAGES] as number) +
      (this.rss[MM_SHMEMPAGES] as number)
    );
  }

  /** Mapped pages over all VMAs. Mirrors mm_struct.total_vm. */
  get totalVm(): number {
    let n = 0;
    for (const v of this.vmas) n += (v.vmEnd - v.vmStart) / 4096;
    return n;
  }
}

/**
 * A new, empty address space with mm_users = mm_count = 1. Mirrors kernel/fork.c:mm_alloc().
 */
export function createMm(machine: Machine, opts: CreateMmOptions = {}): MmStruct {
  if (typeof machine !== 'object' || machine === null || !(machine.mms instanceof Set)) {
    throw new InvalidArgumentError('createMm: machine is not a Machine; expected createMachine()');
  }
  if (opts.mmapBase !== undefined) {
    checkIntIn(
      'createMm',
      'mmapBase',
      opts.mmapBase,
      MMAP_MIN_ADDR,
      TASK_SIZE,
      'an address in [MMAP_MIN_ADDR, TASK_SIZE]',
    );
    if (opts.mmapBase % PAGE_SIZE !== 0) {
      throw new InvalidArgumentError(
        `createMm: mmapBase ${opts.mmapBase} is not page aligned; expected a page-aligned address`,
      );
    }
  }
  if (opts.maxPageTables !== undefined) {
    checkIntIn(
      'createMm',
      'maxPageTables',
      opts.maxPageTables,
      1,
      MAX_TABLES_LIMIT,
      'a table count in [1, 2^22]',
    );
  }
  const mm = new MmStruct(machine, opts);
  if (accessReporting) noteWrite(machine.mms);
  machine.mms.add(mm);
  return mm;
}

/** InvalidArgumentError unless `member` is MM_FILEPAGES..MM_SHMEMPAGES. */
function checkMember(fn: string, member: number): void {
  if (!(member >>> 0 === member && member < NR_MM_COUNTERS)) {
    checkIntIn(
      fn,
      'member',
      member,
      0,
      NR_MM_COUNTERS - 1,
      'an rss counter (MM_FILEPAGES..MM_SHMEMPAGES)',
    );
  }
}

/** Add `delta` to RSS counter `member`. Mirrors include/linux/mm.h:add_mm_counter(). */
export function addMmCounter(mm: MmStruct, member: number, delta: number): void {
  checkMember('addMmCounter', member);
  if (!Number.isSafeInteger(delta)) {
    checkIntIn(
      'addMmCounter',
      'delta',
      delta,
      Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
      'a page count (a safe integer, negative to subtract)',
    );
  }
  if (accessReporting) noteWrite(mm.rss, member);
  mm.rss[member] = (mm.rss[member] as number) + delta;
}

/** Value of RSS counter `member`. Mirrors include/linux/mm.h:get_mm_counter(). */
export function getMmCounter(mm: MmStruct, member: number): number {
  checkMember('getMmCounter', member);
  if (accessReporting) noteRead(mm.rss, member);
  return mm.rss[member] as number;
}

/** InvalidArgumentError unless `mm` is an MmStruct. */
function checkIsMm(fn: string, mm: unknown): asserts mm is MmStruct {
  if (!(mm instanceof MmStruct)) {
    throw new InvalidArgumentError(`${fn}: mm is not an MmStruct; expected an mm from createMm()`);
  }
}

/** Take an mm_users reference (caller already has one). Mirrors include/linux/sched/mm.h:mmget(). */
export function mmget(mm: MmStruct): void {
  checkIsMm('mmget', mm);
  if (mm.mmUsers <= 0)
    throw new KernelBugError(`mmget: mm${mm.id} has mm_users ${mm.mmUsers}; use mmgetNotZero`);
  mm.mmUsers++;
}

/** Take an mm_users reference unless the address space is already dying. Mirrors include/linux/sched/mm.h:mmget_not_zero(). */
export function mmgetNotZero(mm: MmStruct): boolean {
  checkIsMm('mmgetNotZero', mm);
  if (mm.mmUsers <= 0) return false;
  mm.mmUsers++;
  return true;
}

/** Pin the struct (not the address space). Mirrors include/linux/sched/mm.h:mmgrab(). */
export function mmgrab(mm: MmStruct): void {
  checkIsMm('mmgrab', mm);
  if (mm.mmCount <= 0) throw new KernelBugError(`mmgrab: mm${mm.id} is already freed`);
  mm.mmCount++;
}

/**
 * Drop a struct pin; the last one frees it (notifier container destroyed). KernelBugError, with
 * nothing changed, when no pin is left or the last one would go while mm_users still holds it.
 * Mirrors include/linux/sched/mm.h:mmdrop() (→ kernel/fork.c:__mmdrop()).
 */
export function mmdrop(mm: MmStruct): void {
  checkIsMm('mmdrop', mm);
  if (mm.mmCount <= 0) {
    throw new KernelBugError(`mmdrop: mm${mm.id} mm_count is already 0; expected a pin to drop`);
  }
  if (mm.mmCount === 1 && mm.mmUsers !== 0) {
    throw new KernelBugError(
      `mmdrop: __mmdrop of mm${mm.id} with mm_users ${mm.mmUsers}; expected mm_users to hold its own mm_count`,
    );
  }
  mm.mmCount--;
  if (mm.mmCount === 0) {
    mm.notifier?.destroy?.(mm);
    mm.notifier = null;
    mm.freed = true;
  }
}
