/**
 * Commit a consistent fault pass to the device page table: every entry must be HMM_PFN_VALID
 * (hmm_range_fault() faulted every page in); its page (hmm_pfn_to_page) becomes a table entry,
 * tagged WRITE when the entry has HMM_PFN_WRITE. A device-private page of a dmirror device is
 * stored as its backing page (the page that holds the data). A write pass that got a read-only
 * page fails with -EFAULT (the kernel WARNs there). Call with the mirror mutex held.
 *
 * Mirrors lib/test_hmm.c:dmirror_do_fault().
 */
import { HMM_PFN_ERROR, HMM_PFN_VALID, HMM_PFN_WRITE, hmmPfnToPage } from '@hmmsim/hmm-range/v5.9';
import { EFAULT, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { DPT_XA_TAG_READ, DPT_XA_TAG_WRITE } from '../device-page-table.ts';
import { chunkPageData, dmirrorPageToChunk } from '../devmem/dmirror-chunk.ts';
import type { Dmirror } from '../dmirror.ts';

/** The page the device uses for `page`: itself, or a dmirror device page's backing page. */
function devicePage(dmirror: Dmirror, page: number): number {
  const chunk = dmirrorPageToChunk(dmirror.mdevice.machine, page);
  return chunk === null ? page : chunkPageData(chunk, page);
}

/**
 * Store the entries `hmmPfns` of the range starting at `start` in the table: 0, or -EFAULT when
 * a write pass got a read-only page. An entry with HMM_PFN_ERROR or without HMM_PFN_VALID
 * (hmm_range_fault() broke its contract) throws KernelBugError (the kernel's WARN_ON).
 * Mirrors lib/test_hmm.c:dmirror_do_fault().
 */
export function dmirrorDoFault(
  dmirror: Dmirror,
  start: number,
  hmmPfns: Float64Array,
  write: boolean,
): number {
  const first = start / PAGE_SIZE;
  for (let i = 0; i < hmmPfns.length; i++) {
    const e = hmmPfns[i] as number;
    if ((e & HMM_PFN_ERROR) !== 0 || (e & HMM_PFN_VALID) === 0) {
      throw new KernelBugError(
        `WARN: dmirror_do_fault: entry ${i} of a successful fault pass is not HMM_PFN_VALID; ` +
          'expected hmm_range_fault() to fault every page in',
      );
    }
    let tag = DPT_XA_TAG_READ;
    if ((e & HMM_PFN_WRITE) !== 0) tag = DPT_XA_TAG_WRITE;
    else if (write) return -EFAULT;
    dmirror.pt.store(first + i, devicePage(dmirror, hmmPfnToPage(e)), tag);
  }
  return 0;
}
