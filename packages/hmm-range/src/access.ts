/**
 * Access reports of runs of array elements (the driver's pfns / hmm_pfns entries, page-table
 * slots) for the explorer's partial-order reduction: one noteRead/noteWrite per element, and
 * nothing but one check when no explorer asks for reports (reportingAccesses).
 *
 * Mirrors: model-only (see @hmmsim/kernel's noteRead/noteWrite).
 */
import { noteRead, noteWrite, reportingAccesses } from '@hmmsim/kernel';

/**
 * The running task reads elements [from, to) of the shared array `arr`.
 * Mirrors: model-only.
 */
export function noteElementsRead(arr: object, from: number, to: number): void {
  if (!reportingAccesses()) return;
  for (let k = from; k < to; k++) noteRead(arr, k);
}

/**
 * The running task writes (or reads and writes) elements [from, to) of the shared array `arr`.
 * Mirrors: model-only.
 */
export function noteElementsWrite(arr: object, from: number, to: number): void {
  if (!reportingAccesses()) return;
  for (let k = from; k < to; k++) noteWrite(arr, k);
}
