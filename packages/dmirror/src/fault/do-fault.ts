/**
 * Commit a consistent fault pass to the device page table: every page becomes an entry, tagged
 * WRITE when the CPU mapping is writable. A device-private page of this device is stored as its
 * backing page (the page that holds the data). A write pass that got a read-only page fails with
 * -EFAULT (the kernel WARNs there). Call with the mirror mutex held.
 *
 * Mirrors lib/test_hmm.c:dmirror_do_fault().
 */
import type { HmmRange } from '@hmmsim/hmm-range';
import { EFAULT, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { DPT_XA_TAG_READ, DPT_XA_TAG_WRITE } from '../device-page-table.ts';
import { backingPage } from '../devmem/dmirror-chunk.ts';
import type { Dmirror } from '../dmirror.ts';
import {
  entryDevicePrivate,
  entryError,
  entryPfn,
  entryValid,
  entryWrite,
} from '../range/pfn-encoding.ts';

/** The page an entry gives the device: the page itself, or a device page's backing page. */
function devicePage(dmirror: Dmirror, e: number): number {
  const pfn = entryPfn(e);
  return entryDevicePrivate(e) ? backingPage(dmirror.mdevice.machine, pfn) : pfn;
}

/**
 * Store the results of `range` in the table: 0, or -EFAULT when a write pass got a read-only
 * page. A result that is not VALID (hmm_range_fault() broke its contract) throws KernelBugError.
 * Mirrors lib/test_hmm.c:dmirror_do_fault().
 */
export function dmirrorDoFault(dmirror: Dmirror, range: HmmRange, write: boolean): number {
  const first = range.start / PAGE_SIZE;
  for (let i = 0; i < range.pfns.length; i++) {
    const e = range.pfns[i] as number;
    if (entryError(e) || !entryValid(e)) {
      throw new KernelBugError(
        `WARN: dmirror_do_fault: entry ${i} of a successful fault pass is not HMM_PFN_VALID; ` +
          'expected hmm_range_fault() to fault every page in',
      );
    }
    let tag = DPT_XA_TAG_READ;
    if (entryWrite(e)) tag = DPT_XA_TAG_WRITE;
    else if (write) return -EFAULT;
    dmirror.pt.store(first + i, devicePage(dmirror, e), tag);
  }
  return 0;
}
