/**
 * Consistency checks of a DMA device: every live mapping record holds page numbers and maps
 * allocated, non-device-private pages of this machine inside the DMA mask, the bus-page index
 * and the IOVA allocator match the live mappings. Used after every
 * test and by higher layers (with @hmmsim/migrate's invariant 18: pass dmaMappedPfns()).
 * Model checks (cf. kernel/dma/debug.c).
 */
import { isUlong, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { isDevicePrivatePage } from '@hmmsim/migrate';
import { compoundHead, pfnValid } from '@hmmsim/pagetable';
import type { DmaDevice, DmaMapping } from './dma-device.ts';

/** The pfns behind every live mapping of `dev` (each page of multi-page mappings). Model check (cf. kernel/dma/debug.c). */
export function dmaMappedPfns(dev: DmaDevice): number[] {
  const out: number[] = [];
  for (const list of dev.live.values()) {
    for (const m of list) for (let k = 0; k < m.nrPages; k++) out.push(m.pfn + k);
  }
  return out;
}

/** What is wrong with the numbers of a mapping record ('' when they describe pages). */
function recordProblem(m: DmaMapping): string {
  for (const [k, v] of [
    ['daddr', m.daddr],
    ['pfn', m.pfn],
    ['busPage', m.busPage],
  ] as const) {
    if (!isUlong(v)) return `${k} ${v} is not a page number/address`;
  }
  if (!isUlong(m.size) || m.size < 1) return `size ${m.size} is not a positive size`;
  if (!(isUlong(m.offset) && m.offset < PAGE_SIZE)) return `offset ${m.offset} is not in the page`;
  const nr = Math.ceil((m.offset + m.size) / PAGE_SIZE);
  if (m.nrPages !== nr) return `nrPages ${m.nrPages}, but offset + size cover ${nr}`;
  return '';
}

/** Each page of one mapping: allocated, not device-private. */
function checkPages(dev: DmaDevice, m: DmaMapping, at: string, out: string[]): void {
  const pm = dev.machine.phys;
  for (let p = m.pfn; p < m.pfn + m.nrPages; p++) {
    if (!pfnValid(pm, p)) {
      out.push(`${at}: pfn ${p} is not a page of this machine (a mapping of a non-page)`);
    } else if ((pm.refcount[compoundHead(pm, p)] as number) <= 0) {
      out.push(`${at}: pfn ${p} was freed while still DMA-mapped`);
    } else if (isDevicePrivatePage(dev.machine, p)) {
      out.push(`${at}: pfn ${p} is device-private (invariant 18)`);
    }
  }
}

/** The translation index: every bus page of every live mapping, and nothing else. */
function checkBusIndex(dev: DmaDevice, out: string[]): void {
  let expected = 0;
  for (const list of dev.live.values()) {
    for (const m of list) {
      if (recordProblem(m) !== '') continue;
      for (let b = m.busPage; b < m.busPage + m.nrPages; b++) {
        expected++;
        if (!(dev.byBusPage.get(b) ?? []).includes(m)) {
          out.push(
            `${dev.name}: bus page 0x${b.toString(16)} of mapping 0x${m.daddr.toString(16)} is missing from the translation index`,
          );
        }
      }
    }
  }
  let indexed = 0;
  for (const list of dev.byBusPage.values()) indexed += list.length;
  if (indexed !== expected) {
    out.push(
      `${dev.name}: the translation index holds ${indexed} bus-page entries, live mappings cover ${expected}`,
    );
  }
}

/** The IOVA allocator agrees with the live mappings: each one's range allocated, nothing else. */
function checkIova(dev: DmaDevice, pages: number, out: string[]): void {
  const iova = dev.iova;
  if (iova === null) return;
  if (iova.inUse !== pages) {
    out.push(
      `${dev.name}: IOVA allocator counts ${iova.inUse} pages in use, live mappings cover ${pages}`,
    );
  }
  let ranges = 0;
  for (const list of dev.live.values()) {
    for (const m of list) {
      ranges++;
      if (iova.allocated.get(m.busPage) !== m.nrPages) {
        out.push(
          `${dev.name}: mapping 0x${m.daddr.toString(16)} has no IOVA range of ${m.nrPages} pages allocated at 0x${String(m.busPage.toString(16))}`,
        );
      }
    }
  }
  if (iova.allocated.size !== ranges) {
    out.push(
      `${dev.name}: ${iova.allocated.size} IOVA ranges allocated for ${ranges} live mappings`,
    );
  }
}

/**
 * Violations of the device's mapping state (empty = consistent): every live mapping record holds
 * page numbers (a NaN/infinite/fractional pfn or address is "a mapping of a non-page"), maps
 * allocated, non-device-private pages of this machine, lies inside the DMA mask, and is indexed
 * under each of its bus pages; the translation index holds nothing else; behind an IOMMU the
 * allocator's ranges and count match the live mappings. Model check (cf. kernel/dma/debug.c).
 */
export function checkDmaDevice(dev: DmaDevice): string[] {
  const out: string[] = [];
  let pages = 0;
  for (const [key, list] of dev.live) {
    for (const m of list) {
      const at = `${dev.name} mapping 0x${Number(m.daddr).toString(16)} (pfn ${m.pfn})`;
      const bad = recordProblem(m);
      if (bad !== '') {
        out.push(`${at}: ${bad} (a mapping of a non-page)`);
        continue;
      }
      pages += m.nrPages;
      if (key !== m.daddr) out.push(`${at}: filed under address 0x${key.toString(16)}`);
      if (m.daddr + m.size - 1 > dev.dmaMask) out.push(`${at} lies beyond the DMA mask`);
      checkPages(dev, m, at, out);
      if (m.busPage !== Math.floor(m.daddr / PAGE_SIZE))
        out.push(`${at}: bus page bookkeeping is off`);
    }
  }
  checkBusIndex(dev, out);
  checkIova(dev, pages, out);
  return out;
}

/** Throw KernelBugError listing every violation of checkDmaDevice(). Model check (cf. kernel/dma/debug.c). */
export function assertDmaDeviceInvariants(dev: DmaDevice): void {
  const errs = checkDmaDevice(dev);
  if (errs.length > 0) throw new KernelBugError(errs.join('\n'));
}
