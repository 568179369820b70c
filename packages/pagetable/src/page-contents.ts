/**
 * Page contents: a 4 KiB Uint8Array per page, created on the first write and dropped when the
 * page is freed or cleared; a page never written reads as zeros. ZONE_DEVICE pages have
 * contents too (they stand for the device's memory).
 * Access reports: the contents of page pfn on element pfn of `pm.contents`; the liveness check
 * reads the memmap (element pfn and its head on the PhysMem).
 */
import {
  accessReporting,
  checkIntIn,
  HPAGE_PMD_NR,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import { assertPfnValid } from './memmap.ts';
import { PG_tail } from './page-flags.ts';
import type { PhysMem } from './physmem.ts';

function checkLive(pm: PhysMem, pfn: number, fn: string, write: boolean): void {
  assertPfnValid(pm, pfn, fn);
  if (write && pfn === pm.zeroPfn) {
    throw new KernelBugError(`${fn}: writing the shared zero page (pfn ${pfn}) is forbidden`);
  }
  if (accessReporting) noteRead(pm, pfn);
  const head = ((pm.flags[pfn] as number) & PG_tail) === 0 ? pfn : pfn - (pfn % HPAGE_PMD_NR);
  if (accessReporting) noteRead(pm, head);
  if ((pm.refcount[head] as number) <= 0) {
    throw new KernelBugError(`${fn}: pfn ${pfn} is free (refcount 0): use after free`);
  }
}

function checkSpan(fn: string, offset: number, buf: unknown, arg: string): number {
  if (!(buf instanceof Uint8Array)) {
    throw new InvalidArgumentError(
      `${fn}: ${arg} is ${buf === null ? 'null' : typeof buf}; expected a Uint8Array`,
    );
  }
  const len = buf.length;
  checkIntIn(fn, 'offset', offset, 0, PAGE_SIZE, `a byte offset in [0, ${PAGE_SIZE}]`);
  if (offset + len > PAGE_SIZE) {
    throw new InvalidArgumentError(
      `${fn}: bytes [${offset}, ${offset + len}) are not inside a ${PAGE_SIZE}-byte page; expected offset + ${arg}.length <= ${PAGE_SIZE}`,
    );
  }
  return len;
}

/** Copy bytes [offset, offset + dst.length) of page `pfn` into `dst`. Model of kmap() + memcpy() (include/linux/highmem.h). */
export function readPage(pm: PhysMem, pfn: number, offset: number, dst: Uint8Array): void {
  checkLive(pm, pfn, 'readPage', false);
  checkSpan('readPage', offset, dst, 'dst');
  if (accessReporting) noteRead(pm.contents, pfn);
  const data = pm.contents.get(pfn);
  if (data === undefined) dst.fill(0);
  else if (offset === 0 && dst.length === PAGE_SIZE) dst.set(data);
  else dst.set(data.subarray(offset, offset + dst.length));
}

/** Copy `src` into page `pfn` at `offset`, allocating the page's buffer on first write. Model of kmap() + memcpy() (include/linux/highmem.h). */
export function writePage(pm: PhysMem, pfn: number, offset: number, src: Uint8Array): void {
  checkLive(pm, pfn, 'writePage', true);
  checkSpan('writePage', offset, src, 'src');
  if (accessReporting) noteWrite(pm.contents, pfn);
  let data = pm.contents.get(pfn);
  if (data === undefined) {
    data = new Uint8Array(PAGE_SIZE);
    pm.contents.set(pfn, data);
  }
  data.set(src, offset);
}

/** Copy the whole page `src` over `dst`. Mirrors include/linux/highmem.h:copy_highpage(). */
export function copyPage(pm: PhysMem, dst: number, src: number): void {
  checkLive(pm, src, 'copyPage', false);
  checkLive(pm, dst, 'copyPage', true);
  if (dst === src) return;
  if (accessReporting) noteRead(pm.contents, src);
  if (accessReporting) noteWrite(pm.contents, dst);
  const data = pm.contents.get(src);
  if (data === undefined) pm.contents.delete(dst);
  else pm.contents.set(dst, data.slice());
}

/** Zero page `pfn` (drops its buffer). Mirrors include/linux/highmem.h:clear_highpage(). */
export function clearPage(pm: PhysMem, pfn: number): void {
  checkLive(pm, pfn, 'clearPage', true);
  if (accessReporting) noteWrite(pm.contents, pfn);
  pm.contents.delete(pfn);
}

/** True if page `pfn` holds a contents buffer (written since allocation or clearing). Model helper, no kernel counterpart. */
export function pageHasContents(pm: PhysMem, pfn: number): boolean {
  assertPfnValid(pm, pfn, 'pageHasContents');
  if (accessReporting) noteRead(pm.contents, pfn);
  return pm.contents.has(pfn);
}
