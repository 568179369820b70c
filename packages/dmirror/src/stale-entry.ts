/**
 * A model-only check of the key safety property of the device page table: when the device
 * copies through an entry (under the mirror mutex), the CPU must still map that page at that
 * address — directly, or as a device-private entry whose backing page it is. An entry that fails
 * this is stale: an invalidation was missed (the legacy `valid` flag's race R1) and the device
 * is about to read or write a page the process no longer owns.
 *
 * Mirrors: model-only (the property lib/test_hmm.c relies on: "the notifier erases entries before
 * the CPU-side mapping changes").
 */
import { cpuMappingAt } from '@hmmsim/hmm-mirror';
import { PAGE_SIZE } from '@hmmsim/kernel';
import { devicePrivatePteAt } from '@hmmsim/migrate';
import { pageCount } from '@hmmsim/pagetable';
import { chunkPageData, dmirrorPageToChunk } from './devmem/dmirror-chunk.ts';
import type { Dmirror } from './dmirror.ts';

/** True if the page is not allocated any more (refcount 0). Mirrors: model-only. */
export function pageFreed(dmirror: Dmirror, page: number): boolean {
  const pm = dmirror.mm.machine.phys;
  return page >= pm.memmapEnd || pageCount(pm, page) <= 0;
}

/**
 * '' when the entry `page` at page number `vpn` is live, else why it is stale.
 * Mirrors: model-only.
 */
export function dmirrorEntryStale(dmirror: Dmirror, vpn: number, page: number): string {
  if (pageFreed(dmirror, page)) return `page ${page} was freed (use after free)`;
  const mm = dmirror.mm;
  const addr = vpn * PAGE_SIZE;
  const cpu = cpuMappingAt(mm, addr);
  if (cpu?.pfn === page) return '';
  const dp = devicePrivatePteAt(mm, addr);
  const chunk = dp === null ? null : dmirrorPageToChunk(mm.machine, dp.pfn);
  if (dp !== null && chunk !== null && chunkPageData(chunk, dp.pfn) === page) return '';
  const now = cpu !== null ? `pfn ${cpu.pfn}` : dp !== null ? `device pfn ${dp.pfn}` : 'nothing';
  return `the CPU maps ${now} there, the device entry page ${page}`;
}

/** Count and describe a stale copy. Model-only. */
export function recordStale(dmirror: Dmirror, vpn: number, why: string): void {
  dmirror.stats.staleCopies++;
  dmirror.stats.lastStale = `0x${(vpn * PAGE_SIZE).toString(16)}: ${why}`;
}

/**
 * Every stale entry of the table (address and reason). For tests and explorer invariants.
 * Mirrors: model-only.
 */
export function dmirrorStaleEntries(dmirror: Dmirror): { addr: number; why: string }[] {
  const out: { addr: number; why: string }[] = [];
  for (const vpn of dmirror.pt.vpns()) {
    const e = dmirror.pt.load(vpn);
    if (e === null) continue;
    const why = dmirrorEntryStale(dmirror, vpn, e.page);
    if (why !== '') out.push({ addr: vpn * PAGE_SIZE, why });
  }
  return out;
}
