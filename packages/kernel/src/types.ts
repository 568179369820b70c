import { InvalidArgumentError } from './errors.ts';
import { VA_BITS } from './page.ts';

/** A virtual address checked to be a safe integer in [0, 2^48). */
export type Vaddr = number & { readonly __brand: 'Vaddr' };
/** A page frame number checked to be a safe integer in [0, 2^36). */
export type Pfn = number & { readonly __brand: 'Pfn' };

/** Exclusive upper bound of a Vaddr (2^48). */
export const VADDR_LIMIT = 2 ** VA_BITS;
/** Exclusive upper bound of a Pfn (2^36 frames = 256 TiB of 4 KiB pages). */
export const PFN_LIMIT = 2 ** 36;

/** What is wrong with `n` as an integer in [0, limit), or undefined when it is fine. */
function problemWith(n: unknown, limit: number, limitText: string): string | undefined {
  if (typeof n !== 'number') return `got a ${typeof n}, not a number`;
  if (Number.isNaN(n)) return 'got NaN';
  if (!Number.isFinite(n)) return `got ${n}, which is not finite`;
  if (!Number.isInteger(n)) return `got ${n}, which is not an integer`;
  if (!Number.isSafeInteger(n)) return `got ${n}, which is not a safe integer`;
  if (n < 0) return `got ${n}, which is negative`;
  if (n >= limit) return `got ${n}, which is >= ${limitText}`;
  return undefined;
}

/**
 * Brand `n` as a Vaddr; throws InvalidArgumentError unless it is a safe integer in [0, 2^48).
 * Mirrors: nothing in the kernel (model-only boundary check; `unsigned long` cannot be wrong).
 */
export function toVaddr(n: number): Vaddr {
  const problem = problemWith(n, VADDR_LIMIT, '2^48');
  if (problem !== undefined) {
    throw new InvalidArgumentError(
      `toVaddr: ${problem}; expected a safe integer in [0, 2^48) (a 48-bit virtual address)`,
    );
  }
  return n as Vaddr;
}

/**
 * True when `n` is a safe integer in [0, 2^48).
 * Mirrors: nothing in the kernel (model-only boundary check).
 */
export function isVaddr(n: unknown): n is Vaddr {
  return problemWith(n, VADDR_LIMIT, '2^48') === undefined;
}

/**
 * Brand `n` as a Pfn; throws InvalidArgumentError unless it is a safe integer in [0, 2^36).
 * Mirrors: nothing in the kernel (model-only boundary check).
 */
export function toPfn(n: number): Pfn {
  const problem = problemWith(n, PFN_LIMIT, '2^36');
  if (problem !== undefined) {
    throw new InvalidArgumentError(
      `toPfn: ${problem}; expected a safe integer in [0, 2^36) (a page frame number)`,
    );
  }
  return n as Pfn;
}

/**
 * True when `n` is a safe integer in [0, 2^36).
 * Mirrors: nothing in the kernel (model-only boundary check).
 */
export function isPfn(n: unknown): n is Pfn {
  return problemWith(n, PFN_LIMIT, '2^36') === undefined;
}
