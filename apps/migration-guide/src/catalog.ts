/**
 * The whole catalogue, in reading order: chapter 1's race, the SVM and userptr drivers through
 * every step of the port, then the pitfalls.
 */
import type { GuideEntry } from './catalog-types.ts';
import { ENTRIES as CHAPTER1 } from './chapter1/catalog.ts';
import { ENTRIES as PITFALLS } from './pitfalls/catalog.ts';
import { ENTRIES as SVM } from './svm/catalog.ts';
import { ENTRIES as USERPTR } from './userptr/catalog.ts';

/** Every entry of the guide. */
export const GUIDE_ENTRIES: readonly GuideEntry[] = Object.freeze([
  ...CHAPTER1,
  ...SVM,
  ...USERPTR,
  ...PITFALLS,
]);

/** The entry with this id, or undefined. */
export function findEntry(id: string): GuideEntry | undefined {
  return GUIDE_ENTRIES.find((e) => e.id === id);
}
