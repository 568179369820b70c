/**
 * Where a contention run lives: an address space of populated pages, the driver's range inside
 * it (f = its share of the space), and a scratch area for the page mover.
 */
import { PAGE_SIZE } from '@hmmsim/kernel';

/** Sizes of a contention run, in pages. */
export interface ContentionLayout {
  /** Pages of the address space the invalidations pick from (uniformly). */
  readonly spacePages: number;
  /** First page of the driver's range within the space. */
  readonly rangeFirst: number;
  /** Pages of the driver's range. */
  readonly rangePages: number;
  /** Scratch pages for the page mover (reused when they run out). */
  readonly scratchPages: number;
}

/** The default: a 16-page range in the middle of a 64-page space (f = 1/4). */
export const DEFAULT_LAYOUT: ContentionLayout = {
  spacePages: 64,
  rangeFirst: 24,
  rangePages: 16,
  scratchPages: 16_384,
};

/** First address of the space (1 GiB aligned, above 2^31). */
export const SPACE_BASE = 2 ** 40;
/** First address of the scratch area. */
export const SCRATCH_BASE = 2 ** 41;

/** f: the fraction of the address space the range covers. */
export function rangeFraction(l: ContentionLayout): number {
  return l.rangePages / l.spacePages;
}

/** First address of the driver's range. */
export function rangeStart(l: ContentionLayout): number {
  return SPACE_BASE + l.rangeFirst * PAGE_SIZE;
}

/** True when space page `page` lies inside the driver's range. */
export function inRange(l: ContentionLayout, page: number): boolean {
  return page >= l.rangeFirst && page < l.rangeFirst + l.rangePages;
}
