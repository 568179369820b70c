/**
 * The dmirror's device page table: an XArray keyed by virtual page number (`va >> PAGE_SHIFT`)
 * whose values are the page the device accesses plus a small pointer tag (3 = writable, 1 =
 * atomic, 0 = read-only). It holds no page references: the invalidate callback erases entries
 * before the CPU mapping changes.
 *
 * Model: a Map from page number to `page * 4 + tag` (pages are pfns; no BigInt, no object per
 * entry). Every operation is synchronous, so each one is atomic with respect to the scheduler, as
 * the XArray's own lock makes it in the kernel.
 *
 * Access reports (for the explorer's partial-order reduction) are made on the table object, one
 * element per page number (`vpn` modulo 2^32: page numbers that share an element only make the
 * explorer more careful); whole-table operations report the whole object.
 *
 * Mirrors lib/test_hmm.c: struct dmirror.pt, DPT_XA_TAG_WRITE, DPT_XA_TAG_ATOMIC, xa_store(),
 * xa_load(), xa_erase(), dmirror_do_update().
 */
import {
  accessReporting,
  checkIntIn,
  checkUlong,
  isUlong,
  noteRead,
  noteWrite,
} from '@hmmsim/kernel';

/** Tag of a read-only entry (no tag). Mirrors lib/test_hmm.c (an untagged xa pointer). */
export const DPT_XA_TAG_READ = 0;
/** Tag of an atomic (device-exclusive) entry. Mirrors lib/test_hmm.c:DPT_XA_TAG_ATOMIC. */
export const DPT_XA_TAG_ATOMIC = 1;
/** Tag of a writable entry. Mirrors lib/test_hmm.c:DPT_XA_TAG_WRITE. */
export const DPT_XA_TAG_WRITE = 3;

/** One entry: the page (pfn) the device accesses and its tag. Mirrors an xa_tag_pointer() value. */
export interface DptEntry {
  readonly page: number;
  readonly tag: number;
}

const TAGS = 4;

/** Ranges of at most this many pages report each page; larger ones the whole table. */
const ELEMENT_REPORT_LIMIT = 512;

/** InvalidArgumentError unless `vpn` is a page number (an unsigned long). */
function checkVpn(fn: string, vpn: number): void {
  if (!isUlong(vpn)) checkUlong(fn, 'index', vpn, 'a virtual page number');
}

/**
 * A device page table. Page numbers and pages that are not unsigned longs, and tags outside
 * 0..3, throw InvalidArgumentError (a NaN key would otherwise be stored and never erased).
 * Mirrors struct xarray as lib/test_hmm.c uses it for `dmirror->pt`.
 */
export class DmirrorPageTable {
  private readonly entries = new Map<number, number>();

  /** Number of present entries. Model helper. */
  get size(): number {
    if (accessReporting) noteRead(this);
    return this.entries.size;
  }

  /** The entry at page number `vpn`, or null. Mirrors xa_load() + xa_untag_pointer()/xa_pointer_tag(). */
  load(vpn: number): DptEntry | null {
    checkVpn('xa_load', vpn);
    if (accessReporting) noteRead(this, vpn >>> 0);
    const v = this.entries.get(vpn);
    if (v === undefined) return null;
    return { page: Math.floor(v / TAGS), tag: v % TAGS };
  }

  /** Store `page` with `tag` at `vpn` (replacing any entry). Mirrors xa_store(xa_tag_pointer()). */
  store(vpn: number, page: number, tag: number): void {
    checkVpn('xa_store', vpn);
    checkIntIn('xa_store', 'page', page, 0, (Number.MAX_SAFE_INTEGER - (TAGS - 1)) / TAGS, 'a pfn');
    checkIntIn('xa_store', 'tag', tag, 0, TAGS - 1, 'a DPT_XA_TAG_* value in [0, 3]');
    if (accessReporting) noteWrite(this, vpn >>> 0);
    this.entries.set(vpn, page * TAGS + tag);
  }

  /** Remove the entry at `vpn` (if any). Mirrors xa_erase(). */
  erase(vpn: number): void {
    checkVpn('xa_erase', vpn);
    if (accessReporting) noteWrite(this, vpn >>> 0);
    this.entries.delete(vpn);
  }

  /**
   * Remove every entry from `firstVpn` through `lastVpn` inclusive; returns how many there were.
   * Mirrors the xa_for_each_range() + xa_erase() loop of dmirror_do_update().
   */
  eraseRange(firstVpn: number, lastVpn: number): number {
    checkUlong('dmirror_do_update', 'first', firstVpn, 'a virtual page number');
    checkUlong('dmirror_do_update', 'last', lastVpn, 'a virtual page number');
    // Every page of the range is read (is it there?) and possibly erased: a write of each.
    if (lastVpn >= firstVpn && lastVpn - firstVpn < ELEMENT_REPORT_LIMIT) {
      for (let vpn = firstVpn; vpn <= lastVpn; vpn++) noteWrite(this, vpn >>> 0);
    } else if (lastVpn >= firstVpn) noteWrite(this);
    let n = 0;
    if (lastVpn - firstVpn >= this.entries.size) {
      for (const vpn of [...this.entries.keys()]) {
        if (vpn < firstVpn || vpn > lastVpn) continue;
        this.entries.delete(vpn);
        n++;
      }
      return n;
    }
    for (let vpn = firstVpn; vpn <= lastVpn; vpn++) if (this.entries.delete(vpn)) n++;
    return n;
  }

  /** Present page numbers in increasing order. Model helper (xa_for_each()). */
  vpns(): number[] {
    if (accessReporting) noteRead(this);
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  /** Drop every entry. Mirrors xa_destroy(). */
  destroy(): void {
    if (accessReporting) noteWrite(this);
    this.entries.clear();
  }
}
