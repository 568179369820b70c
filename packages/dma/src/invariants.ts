/**
 * Consistency checks of a DMA device: every live mapping maps an allocated, non-device-private
 * page inside the DMA mask, and the IOVA accounting matches the live mappings. Used after every
 * test and by higher layers (with @hmmsim/migrate's invariant 18: pass dmaMappedPfns()).
 * Model checks (cf. kernel/dma/debug.c).
 */
import { KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import { isDevicePrivatePage } from '@hmmsim/migrate';
import { compoundHead, pfnValid } from '@hmmsim/pagetable';
import type { DmaDevice } from './dma-device.ts';

/** The pfns behind every live mapping of `dev` (each page of multi-page mappings). Model check (cf. kernel/dma/debug.c). */
export function dmaMappedPfns(dev: DmaDevice): number[] {
  const out: number[] = [];
  for (const list of dev.live.values()) {
    for (const m of list) for (let k = 0; k < m.nrPages; k++) out.push(m.pfn + k);
  }
  return out;
}

/** Violations of the device's mapping state (empty = consistent). Model check (cf. kernel/dma/debug.c). */
export function checkDmaDevice(dev: DmaDevice): string[] {
  const out: string[] = [];
  const pm = dev.machine.phys;
  let pages = 0;
  for (const list of dev.live.values()) {
    for (const m of list) {
      pages += m.nrPages;
      const at = `${dev.name} mapping 0x${m.daddr.toString(16)} (pfn ${m.pfn})`;
      if (m.daddr + m.size - 1 > dev.dmaMask) out.push(`${at} lies beyond the DMA mask`);
      for (let p = m.pfn; p < m.pfn + m.nrPages; p++) {
        if (!pfnValid(pm, p) || (pm.refcount[compoundHead(pm, p)] as number) <= 0) {
          out.push(`${at}: pfn ${p} was freed while still DMA-mapped`);
        } else if (isDevicePrivatePage(dev.machine, p)) {
          out.push(`${at}: pfn ${p} is device-private (invariant 18)`);
        }
      }
      if (m.busPage !== Math.floor(m.daddr / PAGE_SIZE))
        out.push(`${at}: bus page bookkeeping is off`);
    }
  }
  if (dev.iova !== null && dev.iova.inUse !== pages) {
    out.push(
      `${dev.name}: IOVA allocator counts ${dev.iova.inUse} pages in use, live mappings cover ${pages}`,
    );
  }
  return out;
}

/** Throw KernelBugError listing every violation of checkDmaDevice(). Model check (cf. kernel/dma/debug.c). */
export function assertDmaDeviceInvariants(dev: DmaDevice): void {
  const errs = checkDmaDevice(dev);
  if (errs.length > 0) throw new KernelBugError(errs.join('\n'));
}
