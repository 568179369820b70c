/**
 * Page-level helpers shared by the effect and judging rules: the pieces of a byte range per
 * page, the first page of a range failing a test, and the possible states of a page during a
 * step (before and after the process's one mutator — a racing reader may see either).
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import type { RefPage, RefProc } from '../ref-model.ts';

/** One page's part of a byte range: the page, where in it, and where in the range. */
export interface Piece {
  readonly vpn: number;
  /** Offset in the page. */
  readonly off: number;
  /** Offset in the range. */
  readonly at: number;
  readonly len: number;
}

/** The per-page pieces of `[start, start + len)` (len > 0). */
export function pieces(start: number, len: number): Piece[] {
  const out: Piece[] = [];
  for (let p = start; p < start + len; ) {
    const off = p % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, start + len - p);
    out.push({ vpn: (p - off) / PAGE_SIZE, off, at: p - start, len: n });
    p += n;
  }
  return out;
}

/** The page numbers of `npages` pages from the page-aligned `addr`. */
export function pageRange(addr: number, npages: number): number[] {
  return Array.from({ length: npages }, (_, i) => addr / PAGE_SIZE + i);
}

/** The states a page may be seen in during a step: before and after the mutator (deduplicated). */
export type StatesOf = (vpn: number) => readonly (RefPage | undefined)[];

/** StatesOf for a process whose state was `before` and is `after` at the end of the step. */
export function statesOf(before: RefProc, after: RefProc | undefined): StatesOf {
  return (vpn) => {
    const a = before.pages.get(vpn);
    const b = after?.pages.get(vpn);
    return a === b ? [a] : [a, b];
  };
}

/** `0x7f0000003000` */
export function hexAddr(vpn: number): string {
  return `0x${(vpn * PAGE_SIZE).toString(16)}`;
}
