/**
 * The invalidation-scaling set-up: n one-page slots laid out with a one-page gap between them
 * above 2^32 (addresses never go through bitwise operators), and one single-page invalidation
 * (start + end through the mm's hooks) of slot k, with k walking the slots in a fixed order.
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import {
  MMU_NOTIFY_CLEAR,
  type MmStruct,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from '@hmmsim/mm';

/** Address of slot 0. */
export const SLOT_BASE = 2 ** 32;
/** Distance between slots: each covers one page, with a one-page gap to the next. */
export const SLOT_STRIDE = 2 * PAGE_SIZE;

/** Address of slot `i`. */
export function slotAddress(i: number): number {
  return SLOT_BASE + i * SLOT_STRIDE;
}

/** An operation doing one single-page invalidation of the next of `n` slots of `mm` per call. */
export function singlePageInvalidator(mm: MmStruct, n: number): () => Promise<void> {
  let k = 0;
  return async () => {
    k = (k * 7_919 + 1) % n;
    const start = slotAddress(k);
    const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, start, start + PAGE_SIZE);
    await mmuNotifierInvalidateRangeStart(range);
    await mmuNotifierInvalidateRangeEnd(range);
  };
}
