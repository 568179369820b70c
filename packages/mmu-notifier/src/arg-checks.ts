/**
 * The object arguments of the notifier APIs, checked at the boundary before anything changes: a
 * C caller can only pass a pointer of the right type (or NULL), so anything else — a number, a
 * plain object, undefined — is an InvalidArgumentError naming the function, the argument, what
 * was given and what is expected. Numbers go through @hmmsim/kernel's vocabulary (checkUlong).
 *
 * Mirrors: model-only (the type system of the C API).
 */
import { InvalidArgumentError, Mutex, RwSemaphore, Spinlock } from '@hmmsim/kernel';
import { MmStruct } from '@hmmsim/mm';

/** 'null', 'a number', 'an Array', 'a Foo' — what a bad argument was, for messages. Model helper. */
export function describeArgument(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v !== 'object') return `a ${typeof v}`;
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name !== 'string' || name === '' || name === 'Object') return 'a plain object';
  return /^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
}

/**
 * Throw InvalidArgumentError unless `v` is an instance of `cls`: "fn: arg is a number; expected
 * <what>". Model helper.
 */
export function checkInstance<T>(
  fn: string,
  arg: string,
  v: unknown,
  cls: abstract new (...args: never[]) => T,
  what: string,
): asserts v is T {
  if (!(v instanceof cls)) {
    throw new InvalidArgumentError(`${fn}: ${arg} is ${describeArgument(v)}; expected ${what}`);
  }
}

/**
 * Throw InvalidArgumentError unless `v` is an mm_struct (`MmStruct` of @hmmsim/mm).
 * Model helper.
 */
export function checkMmStruct(fn: string, arg: string, v: unknown): asserts v is MmStruct {
  checkInstance(fn, arg, v, MmStruct, 'an mm_struct (MmStruct from createMm)');
}

/**
 * Throw InvalidArgumentError unless `v` is a lock a callback may declare (`ops.userLock`): a
 * Mutex, Spinlock or RwSemaphore. Model helper.
 */
export function checkUserLock(fn: string, arg: string, v: unknown): void {
  if (v instanceof Mutex || v instanceof Spinlock || v instanceof RwSemaphore) return;
  throw new InvalidArgumentError(
    `${fn}: ${arg} is ${describeArgument(v)}; expected a Mutex, Spinlock or RwSemaphore (the lock invalidate() takes)`,
  );
}

/**
 * Throw InvalidArgumentError unless `v` is a non-null object (an ops table, options).
 * Model helper.
 */
export function checkObject(
  fn: string,
  arg: string,
  v: unknown,
  what: string,
): asserts v is object {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new InvalidArgumentError(`${fn}: ${arg} is ${describeArgument(v)}; expected ${what}`);
  }
}
