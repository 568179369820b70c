/**
 * The model's one vocabulary for checking numbers that cross an API boundary.
 *
 * A C `unsigned long` cannot be NaN, infinite, fractional, negative or wider than 64 bits, so the
 * kernel has no errno for those: every public function of every package rejects such values with
 * an InvalidArgumentError naming the function, the argument, what was wrong and what is expected
 * (checkUlong, checkIntIn). A value the kernel *can* receive but refuses (an unaligned address, a
 * length past TASK_SIZE, a pfn beyond the memmap) keeps the kernel's own answer — its errno — and
 * is the caller's logic, after the check here. Nothing is changed before a check throws.
 */
import { InvalidArgumentError, KernelBugError } from './errors.ts';

/** What is wrong with `v` as an integer in [min, max], or undefined when it is fine. Model helper. */
export function integerProblem(v: unknown, min: number, max: number): string | undefined {
  if (typeof v !== 'number') return `is a ${v === null ? 'null' : typeof v}, not a number`;
  if (Number.isNaN(v)) return 'is NaN';
  if (!Number.isFinite(v)) return `is ${v}, not finite`;
  if (!Number.isInteger(v)) return `is ${v}, not an integer`;
  if (!Number.isSafeInteger(v)) return `is ${v}, past 2^53 (not exactly representable)`;
  if (v < min) return `is ${v}, below ${min}`;
  if (v > max) return `is ${v}, above ${max}`;
  return undefined;
}

/**
 * Throw InvalidArgumentError unless `v` is an integer in [min, max]:
 * "fn: arg is NaN; expected <expected>". Model helper (the boundary check of every package).
 */
export function checkIntIn(
  fn: string,
  arg: string,
  v: unknown,
  min: number,
  max: number,
  expected: string,
): asserts v is number {
  const problem = integerProblem(v, min, max);
  if (problem !== undefined)
    throw new InvalidArgumentError(`${fn}: ${arg} ${problem}; expected ${expected}`);
}

/**
 * Throw checkIntIn's InvalidArgumentError for `v`, which the caller's own fast test found
 * outside [min, max]: the failure path of a small check, kept out of line so that the check stays
 * small enough to inline. KernelBugError if `v` is in range after all (the fast test was wrong).
 * Model helper.
 */
export function failIntIn(
  fn: string,
  arg: string,
  v: unknown,
  min: number,
  max: number,
  expected: string,
): never {
  checkIntIn(fn, arg, v, min, max, expected);
  throw new KernelBugError(
    `${fn}: ${arg} ${v} was refused, but it is an integer in [${min}, ${max}]`,
  );
}

/**
 * Throw InvalidArgumentError unless `v` could be a C `unsigned long` (a safe integer >= 0):
 * addresses, lengths, counts, masks, sequence numbers. Past this check a value the kernel
 * refuses gets the kernel's errno. Model helper.
 */
export function checkUlong(
  fn: string,
  arg: string,
  v: unknown,
  what = 'an unsigned long',
): asserts v is number {
  checkIntIn(fn, arg, v, 0, Number.MAX_SAFE_INTEGER, `${what} (a safe integer >= 0)`);
}

/** True if `v` could be a C `unsigned long` (a safe integer >= 0). Model helper. */
export function isUlong(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Throw InvalidArgumentError unless `v` is a pfn of a machine with `memmapEnd` struct pages
 * (an integer in [0, memmapEnd)). Model helper.
 */
export function checkPfnBelow(
  fn: string,
  arg: string,
  v: unknown,
  memmapEnd: number,
): asserts v is number {
  checkIntIn(
    fn,
    arg,
    v,
    0,
    memmapEnd - 1,
    `a pfn of this machine (an integer in [0, ${memmapEnd}))`,
  );
}

/** Throw InvalidArgumentError unless `v` is a function. Model helper. */
export function checkFunction(fn: string, arg: string, v: unknown): void {
  if (typeof v !== 'function') {
    throw new InvalidArgumentError(
      `${fn}: ${arg} is a ${v === null ? 'null' : typeof v}; expected a function`,
    );
  }
}
