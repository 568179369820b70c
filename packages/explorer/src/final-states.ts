import { Clock, DIAGNOSTICS_ONLY, Tracer } from '@hmmsim/kernel';
import { dporSearch } from './dpor.ts';
import { type ExploreOptions, type ExploreResult, explore } from './explore.ts';
import type { Scenario } from './scenario.ts';

/** Hex of a 32-bit FNV-1a hash of `text`, started from `seed`. */
function fnv(text: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Two 32-bit FNV-1a hashes of a typed array's bytes, as hex (no string of the bytes is built). */
function bytesHash(view: ArrayBufferView): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < bytes.length; i++) {
    const x = bytes[i]!;
    a = Math.imul(a ^ x, 0x01000193) >>> 0;
    b = Math.imul(b ^ x, 0x01000193) >>> 0;
    b = (b + i) >>> 0;
  }
  return `${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}${bytes.length.toString(16)}`;
}

/** True for the scheduler's own objects, which a final state leaves out (step counts, time). */
function isSchedulerPart(o: object): boolean {
  if (o instanceof Clock || o instanceof Tracer) return true;
  const r = o as { spawn?: unknown; park?: unknown };
  return typeof r.spawn === 'function' || typeof r.park === 'function';
}

/** A task referred to from the state (a lock owner, a waiter): by id, not by contents. */
function taskRef(o: object): string | undefined {
  const t = o as { park?: unknown; id?: unknown };
  return typeof t.park === 'function' && typeof t.id === 'number' ? `T${t.id}` : undefined;
}

/**
 * A canonical text of everything reachable from `state`: primitives, arrays and typed arrays in
 * order, the own enumerable properties of objects with their class, Map and Set contents in
 * sorted order (insertion order is not state); tasks by id; the scheduler, its clock and tracer,
 * objects marked DIAGNOSTICS_ONLY, all functions and every property named `step` left out; an object met again as a back-reference.
 */
function canonical(value: unknown, seen: Map<object, number>): string {
  if (value === null || value === undefined) return String(value);
  const type = typeof value;
  if (type === 'number' || type === 'boolean' || type === 'bigint') return String(value);
  if (type === 'string') return JSON.stringify(value);
  if (type !== 'object') return type; // functions and symbols: left out
  const o = value as object;
  const ref = taskRef(o);
  if (ref !== undefined) return ref;
  if (isSchedulerPart(o)) return 'sched';
  if ((o as { [DIAGNOSTICS_ONLY]?: unknown })[DIAGNOSTICS_ONLY] === true) return 'diagnostics';
  const again = seen.get(o);
  if (again !== undefined) return `@${again}`;
  seen.set(o, seen.size);
  if (ArrayBuffer.isView(o)) return `${o.constructor.name}:${bytesHash(o)}`;
  if (Array.isArray(o)) return `[${o.map((x) => canonical(x, seen)).join(',')}]`;
  if (o instanceof Map) {
    const entries = [...o].map(([k, v]) => `${canonical(k, seen)}=>${canonical(v, seen)}`);
    return `Map{${entries.sort().join(',')}}`;
  }
  if (o instanceof Set)
    return `Set{${[...o]
      .map((x) => canonical(x, seen))
      .sort()
      .join(',')}}`;
  if (o instanceof WeakMap || o instanceof WeakSet || o instanceof Promise) return 'opaque';
  const name = (o.constructor as { name?: string } | undefined)?.name ?? 'Object';
  // A scheduler step number a log recorded says when something happened, not what state it
  // left: schedules that differ only in the order of independent steps record different ones.
  const fields = Object.keys(o)
    .filter((k) => k !== 'step')
    .map((k) => `${k}:${canonical((o as Record<string, unknown>)[k], seen)}`);
  return `${name}{${fields.join(',')}}`;
}

/**
 * The canonical text of a scenario's state that stateFingerprint() hashes (to see what differs
 * between two final states). Mirrors: model-only.
 */
export function stateText(state: unknown): string {
  return canonical(state, new Map());
}

/**
 * A fingerprint of a scenario's state: equal for two states whose reachable data are equal (the
 * scheduler, its clock and trace left out; Map and Set order ignored).
 * Mirrors: model-only (a state hash, as a model checker keeps).
 */
export function stateFingerprint(state: unknown): string {
  const text = canonical(state, new Map());
  return `${fnv(text, 0x811c9dc5)}${fnv(text, 0x01000193)}${text.length.toString(16)}`;
}

/** The distinct final states an exploration reached, and its result. */
export interface FinalStates {
  /** Sorted fingerprints, each followed by how the schedule ended ('ok' or a failure kind). */
  readonly states: readonly string[];
  readonly result: ExploreResult;
}

/**
 * Explore `scenario` (without minimising) and collect the fingerprint of the final state of
 * every schedule run, to compare what two searches reach.
 * Mirrors: model-only.
 */
export async function finalStates<S>(
  scenario: Scenario<S>,
  opts: Omit<ExploreOptions<S>, 'onSchedule' | 'minimise'>,
): Promise<FinalStates> {
  const seen = new Set<string>();
  const result = await explore(scenario, {
    ...opts,
    minimise: false,
    onSchedule: (state, outcome) => {
      seen.add(`${stateFingerprint(state)} ${outcome.failure?.kind ?? 'ok'}`);
    },
  });
  return { states: [...seen].sort(), result };
}

/** The distinct final states the reduced pass alone reached, and how it ended. */
export interface ReducedFinalStates {
  /** Sorted fingerprints, each followed by how the schedule ended ('ok' or a failure kind). */
  readonly states: readonly string[];
  readonly schedules: number;
  readonly exhausted: boolean;
}

/**
 * Run the partial-order reduced search of `scenario` alone (dporSearch: without the bounded pass
 * explore() runs in front of it, whose schedules would add states of their own, and past any
 * violation) and collect the fingerprint of every final state: what a comparison with the full
 * search (finalStates with reduction 'none') must find equal for the reduction to be sound.
 * Mirrors: model-only.
 */
export async function reducedFinalStates<S>(scenario: Scenario<S>): Promise<ReducedFinalStates> {
  const seen = new Set<string>();
  const r = await dporSearch(scenario, {
    maxSchedules: Number.POSITIVE_INFINITY,
    visit: () => false,
    onSchedule: (state, outcome) => {
      seen.add(`${stateFingerprint(state)} ${outcome.failure?.kind ?? 'ok'}`);
    },
  });
  return { states: [...seen].sort(), schedules: r.schedules, exhausted: r.exhausted };
}
