import type { Task } from '@hmmsim/kernel';
import { TIMER_CODE } from './schedule-string.ts';

/**
 * One event of a run for the partial-order reduction: what one task (or the timer) did from the
 * moment it was given the CPU to the next decision or switch, as the objects it read and wrote.
 * An access to one element of an object is keyed `objectId * 2^32 + index`; an access to a whole
 * object goes to `wholeReads`/`wholeWrites` by object id, and `objects` lists the object ids of
 * every keyed access, so that a whole-object access conflicts with each of its elements.
 */
export interface AccessEvent {
  /** Task id, or TIMER_CODE for a timer firing. */
  readonly proc: number;
  /** The decision (index into the run's choices) that started it; -1 when no choice was made. */
  readonly decision: number;
  /** Each set is created on the event's first access of its kind (most events have few kinds). */
  reads: Set<number> | undefined;
  writes: Set<number> | undefined;
  wholeReads: Set<number> | undefined;
  wholeWrites: Set<number> | undefined;
  /** Object ids of the elements in `reads` / `writes`. */
  readObjects: Set<number> | undefined;
  writeObjects: Set<number> | undefined;
  /** Depends on every other event (touched state that reports no finer access). */
  global: boolean;
}

/** 2^32: element keys are objectId * ELEMENTS + index. */
const ELEMENTS = 2 ** 32;

/** A new event of `proc`. */
function newEvent(proc: number, decision: number, global: boolean): AccessEvent {
  return {
    proc,
    decision,
    reads: undefined,
    writes: undefined,
    wholeReads: undefined,
    wholeWrites: undefined,
    readObjects: undefined,
    writeObjects: undefined,
    global,
  };
}

/**
 * The accesses of one run, split into events: a decision starts an event of the chosen task (or
 * of the timer), and an access by another task than the current event's starts one of that task
 * (a switch the scheduler made without asking: the only runnable task). Objects get ids in the
 * order the run first touches them. Muted while the explorer itself reads the state (invariants).
 * Mirrors: model-only (the trace of a stateless model checker's execution, as in DPOR).
 */
export class AccessLog {
  readonly events: AccessEvent[] = [];
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  private lastObj: object | undefined = undefined;
  private lastId = 0;
  private current: AccessEvent | undefined = undefined;
  /** True while the explorer itself reads the state (invariant checks). */
  muted = false;

  /**
   * Decision `d` chose `code` (a task id or TIMER_CODE: a timer firing, whose accesses the
   * scheduler reports like a task's).
   */
  decided(d: number, code: number): void {
    this.current = newEvent(code, d, false);
    this.events.push(this.current);
  }

  /** `task` accessed `obj` (undefined: everything), or element `index` of it. */
  access(task: Task, obj: object | undefined, write: boolean, index?: number): void {
    if (this.muted) return;
    let ev = this.current;
    // A timer firing's own accesses (the clock, the woken task) run with the previous task
    // current; they belong to the timer's event.
    if (ev === undefined || (ev.proc !== task.id && ev.proc !== TIMER_CODE)) {
      ev = newEvent(task.id, -1, false);
      this.current = ev;
      this.events.push(ev);
    }
    if (obj === undefined) {
      ev.global = true;
      return;
    }
    const id = this.idOf(obj);
    if (index === undefined || !Number.isInteger(index) || index < 0 || index >= ELEMENTS) {
      // Without an element we can key, an access to the whole object (conservative).
      if (write) ev.wholeWrites = withMember(ev.wholeWrites, id);
      else ev.wholeReads = withMember(ev.wholeReads, id);
      return;
    }
    const key = id * ELEMENTS + index;
    if (write) {
      ev.writes = withMember(ev.writes, key);
      ev.writeObjects = withMember(ev.writeObjects, id);
    } else {
      ev.reads = withMember(ev.reads, key);
      ev.readObjects = withMember(ev.readObjects, id);
    }
  }

  /** The id of `obj` (the last object asked for is remembered: accesses come in runs). */
  private idOf(obj: object): number {
    if (obj === this.lastObj) return this.lastId;
    let id = this.ids.get(obj);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(obj, id);
    }
    this.lastObj = obj;
    this.lastId = id;
    return id;
  }
}

/** `set` (a new one if absent) with `x` added. */
function withMember(set: Set<number> | undefined, x: number): Set<number> {
  if (set === undefined) return new Set([x]);
  set.add(x);
  return set;
}

/** True when some member of `a` is in `b` (either may be absent: empty). */
function meets(a: Set<number> | undefined, b: Set<number> | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (a.size > b.size) {
    const t = a;
    a = b;
    b = t;
  }
  for (const x of a) if (b.has(x)) return true;
  return false;
}

/** True when a write of `w` conflicts with an access (read or write) of `x`. */
function writeMeets(w: AccessEvent, x: AccessEvent): boolean {
  return (
    meets(w.writes, x.writes) ||
    meets(w.writes, x.reads) ||
    meets(w.wholeWrites, x.wholeWrites) ||
    meets(w.wholeWrites, x.wholeReads) ||
    meets(w.wholeWrites, x.writeObjects) ||
    meets(w.wholeWrites, x.readObjects) ||
    meets(w.writeObjects, x.wholeWrites) ||
    meets(w.writeObjects, x.wholeReads)
  );
}

/** True when `a` and `b` can affect each other: same task, a global one, or a conflicting access.
 * Mirrors: model-only (the dependency relation of partial-order reduction).
 */
export function dependent(a: AccessEvent, b: AccessEvent): boolean {
  if (a.proc === b.proc || a.global || b.global) return true;
  return writeMeets(a, b) || writeMeets(b, a);
}

/** A reversible race: event `i` then event `j` of another task, which a schedule may swap. */
export interface Race {
  readonly i: number;
  readonly j: number;
}

/**
 * The races of a run: pairs i < j of events of different tasks that are dependent and not
 * ordered by happens-before through any other event (the order of the run's events restricted
 * to dependent pairs and each task's own order, transitively closed).
 * Mirrors: model-only (race detection of dynamic partial-order reduction, Flanagan & Godefroid 2005).
 */
export function findRaces(events: readonly AccessEvent[]): Race[] {
  const n = events.length;
  // hb[j] = the set of events that happen before j, as a bitset over event indices.
  const words = Math.ceil(n / 32);
  const hb: Uint32Array[] = [];
  const races: Race[] = [];
  for (let j = 0; j < n; j++) {
    const ej = events[j]!;
    const before = new Uint32Array(words);
    const direct: number[] = [];
    for (let k = 0; k < j; k++) {
      if (!dependent(events[k]!, ej)) continue;
      direct.push(k);
      before[k >>> 5]! |= 1 << (k & 31);
      const hk = hb[k]!;
      for (let w = 0; w < words; w++) before[w]! |= hk[w]!;
    }
    hb.push(before);
    // k races j when k is a direct predecessor of another task that no later direct
    // predecessor of j already follows.
    for (let a = 0; a < direct.length; a++) {
      const k = direct[a]!;
      if (events[k]!.proc === ej.proc) continue;
      let covered = false;
      for (let b = a + 1; b < direct.length && !covered; b++) {
        const m = direct[b]!;
        if ((hb[m]![k >>> 5]! & (1 << (k & 31))) !== 0) covered = true;
      }
      if (!covered) races.push({ i: k, j });
    }
  }
  return races;
}
