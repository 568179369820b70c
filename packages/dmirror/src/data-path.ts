/**
 * The device's data path through its page table: copy every page of a range between the table's
 * pages and the bounce buffer, stopping with -ENOENT at the first page that has no usable entry
 * (no entry, or for a write no WRITE tag), so the caller can fault from there. Call with the
 * mirror mutex held; each call is synchronous, hence atomic in the model.
 *
 * Model-only addition: every entry is checked against the CPU page table before the copy
 * (stale-entry.ts); a stale entry is counted in `dmirror.stats.staleCopies`, a freed page reads
 * as zeros and is not written (the kernel would silently use freed memory).
 *
 * Mirrors lib/test_hmm.c: dmirror_do_read(), dmirror_do_write().
 */
import { ENOENT, PAGE_SIZE } from '@hmmsim/kernel';
import { readPage, writePage } from '@hmmsim/pagetable';
import { bouncePage, type DmirrorBounce } from './bounce.ts';
import { DPT_XA_TAG_WRITE } from './device-page-table.ts';
import type { Dmirror } from './dmirror.ts';
import { dmirrorEntryStale, pageFreed, recordStale } from './stale-entry.ts';

/** Check one entry before the device touches it; true if the page may be accessed. */
function checkEntry(dmirror: Dmirror, vpn: number, page: number): boolean {
  const why = dmirrorEntryStale(dmirror, vpn, page);
  if (why !== '') recordStale(dmirror, vpn, why);
  return !pageFreed(dmirror, page);
}

/**
 * Copy `[start, end)` from the table's pages into `bounce`: 0, or -ENOENT at the first page with
 * no entry (`bounce.cpages` counts the pages copied). Mirrors lib/test_hmm.c:dmirror_do_read().
 */
export function dmirrorDoRead(
  dmirror: Dmirror,
  start: number,
  end: number,
  bounce: DmirrorBounce,
): number {
  const pm = dmirror.mm.machine.phys;
  for (let va = start; va < end; va += PAGE_SIZE) {
    const vpn = va / PAGE_SIZE;
    const e = dmirror.pt.load(vpn);
    if (e === null) return -ENOENT;
    const dst = bouncePage(bounce, va);
    if (checkEntry(dmirror, vpn, e.page)) readPage(pm, e.page, 0, dst);
    else dst.fill(0);
    bounce.cpages++;
  }
  return 0;
}

/**
 * Copy `bounce` into the table's pages over `[start, end)`: 0, or -ENOENT at the first page with
 * no writable entry. Mirrors lib/test_hmm.c:dmirror_do_write().
 */
export function dmirrorDoWrite(
  dmirror: Dmirror,
  start: number,
  end: number,
  bounce: DmirrorBounce,
): number {
  const pm = dmirror.mm.machine.phys;
  for (let va = start; va < end; va += PAGE_SIZE) {
    const vpn = va / PAGE_SIZE;
    const e = dmirror.pt.load(vpn);
    if (e === null || e.tag !== DPT_XA_TAG_WRITE) return -ENOENT;
    if (checkEntry(dmirror, vpn, e.page)) writePage(pm, e.page, 0, bouncePage(bounce, va));
    bounce.cpages++;
  }
  return 0;
}
