/**
 * Access reports: what a step of a task touched, for the explorer's partial-order reduction.
 *
 * Two steps of different tasks commute unless one writes something the other reads or writes.
 * The explorer can only skip reorderings that commute if every piece of state tasks share says
 * when it is read or written, so the shared structures of every package report their accesses
 * here: locks, wait queues and completions in this package, page tables, the memmap, notifier
 * sequences and device tables in theirs. Outside an exploration that asked for reports (every
 * ordinary run) a report is one load of a module variable and a branch (`accessReporting`).
 *
 * Accesses are reported per object (the lock, the page table, the notifier), never per byte:
 * coarser than the kernel's memory model, which only costs reduction, never soundness.
 */

/**
 * Receives the accesses of the running task; installed by a scheduler whose policy asks.
 * `index` (an integer 0 <= index < 2^32) names one element of `obj` (a page table slot, a pfn);
 * without it the access is to all of `obj`.
 */
export type AccessHook = (obj: object, write: boolean, index?: number) => void;

/** Where reports go during a run whose policy takes them (set and cleared by the scheduler). */
export interface AccessSink {
  /** Receives noteRead / noteWrite. */
  hook: AccessHook | undefined;
  /** Receives noteGlobalAccess. */
  global: (() => void) | undefined;
}

/**
 * The hook of the run in progress (what accessSink.hook sets), read by every report: a module
 * variable, which the checks of inlined reports load more cheaply than an object's property.
 */
let currentHook: AccessHook | undefined;

/**
 * True while a run's policy takes access reports (a live binding: it changes with
 * accessSink.hook). Every report site in the packages reads it first —
 * `if (accessReporting) noteRead(obj, i)` — so that outside an exploration a report is one load
 * and a branch that never calls, and the compiler does not count noteRead's body against the
 * inlining budget of the accessor or helper around it (measured: without the guard, the
 * page-table and vma accessors stop being inlined on the fault path and it runs about 6 % more
 * instructions). Mirrors: model-only.
 */
export let accessReporting = false;

/** The sink of the run in progress, if its policy wants accesses. */
export const accessSink: AccessSink = {
  get hook(): AccessHook | undefined {
    return currentHook;
  },
  set hook(h: AccessHook | undefined) {
    currentHook = h;
    accessReporting = h !== undefined;
  },
  global: undefined,
};

/**
 * The current task reads shared `obj` (element `index` of it when given: a slot, a pfn; an
 * integer 0 <= index < 2^32), all of it otherwise.
 * Mirrors include/asm-generic/rwonce.h:READ_ONCE() (as a report of a shared read, not its value).
 */
export function noteRead(obj: object, index?: number): void {
  const hook = currentHook;
  if (hook !== undefined) hook(obj, false, index);
}

/**
 * The current task writes (or reads and writes) shared `obj`, or element `index` of it.
 * Mirrors include/asm-generic/rwonce.h:WRITE_ONCE() (as a report of a shared write).
 */
export function noteWrite(obj: object, index?: number): void {
  const hook = currentHook;
  if (hook !== undefined) hook(obj, true, index);
}

/**
 * The current step depends on every other step: it touched state that reports no finer access
 * (the conservative report for state whose reads and writes cannot be told apart).
 * Mirrors: model-only (the conservative access of a partial-order reduction).
 */
export function noteGlobalAccess(): void {
  const global = accessSink.global;
  if (global !== undefined) global();
}

/**
 * Marks an object that holds diagnostics only (an event log, a trace): nothing a task does reads
 * it back, so it reports no accesses and a fingerprint of the machine's state leaves it out.
 * Set it as a property with the value true.
 */
export const DIAGNOSTICS_ONLY: unique symbol = Symbol.for('hmmsim.diagnostics-only');

/**
 * True while a run's policy takes access reports: a loop over many elements tests this once and
 * reports per element only then, so that no run without an explorer pays a call per element.
 * Mirrors: model-only.
 */
export function reportingAccesses(): boolean {
  return accessReporting;
}
