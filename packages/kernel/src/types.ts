import { VA_BITS } from './page.ts';
import { checkIntIn, integerProblem } from './validate.ts';

/** A virtual address checked to be a safe integer in [0, 2^48). */
export type Vaddr = number & { readonly __brand: 'Vaddr' };
/** A page frame number checked to be a safe integer in [0, 2^36). */
export type Pfn = number & { readonly __brand: 'Pfn' };

/** Exclusive upper bound of a Vaddr (2^48). */
export const VADDR_LIMIT = 2 ** VA_BITS;
/** Exclusive upper bound of a Pfn (2^36 frames = 256 TiB of 4 KiB pages). */
export const PFN_LIMIT = 2 ** 36;

/**
 * Brand `n` as a Vaddr; throws InvalidArgumentError unless it is a safe integer in [0, 2^48).
 * Mirrors: nothing in the kernel (model-only boundary check; `unsigned long` cannot be wrong).
 */
export function toVaddr(n: number): Vaddr {
  checkIntIn(
    'toVaddr',
    'n',
    n,
    0,
    VADDR_LIMIT - 1,
    'a safe integer in [0, 2^48) (a 48-bit virtual address)',
  );
  return n as Vaddr;
}

/**
 * True when `n` is a safe integer in [0, 2^48).
 * Mirrors: nothing in the kernel (model-only boundary check).
 */
export function isVaddr(n: unknown): n is Vaddr {
  return integerProblem(n, 0, VADDR_LIMIT - 1) === undefined;
}

/**
 * Brand `n` as a Pfn; throws InvalidArgumentError unless it is a safe integer in [0, 2^36).
 * Mirrors: nothing in the kernel (model-only boundary check).
 */
export function toPfn(n: number): Pfn {
  checkIntIn(
    'toPfn',
    'n',
    n,
    0,
    PFN_LIMIT - 1,
    'a safe integer in [0, 2^36) (a page frame number)',
  );
  return n as Pfn;
}

/**
 * True when `n` is a safe integer in [0, 2^36).
 * Mirrors: nothing in the kernel (model-only boundary check).
 */
export function isPfn(n: unknown): n is Pfn {
  return integerProblem(n, 0, PFN_LIMIT - 1) === undefined;
}
