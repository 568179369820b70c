/**
 * A model-only check of the key safety property of the device page table: when the device
 * copies through an entry (under the mirror mutex), the CPU must still map that page at that
 * address — directly, or as a device-private entry whose backing page it is, or as a migration
 * entry of either while this device migrates it (the mirror skips its own MMU_NOTIFY_MIGRATE
 * invalidations, as lib/test_hmm.c does: the page stays locked, its data is the current data,
 * and the migration erases or replaces the entry itself). An entry that fails this is stale: an
 * invalidation was missed (the legacy `valid` flag's race R1) and the device is about to read or
 * write a page the process no longer owns.
 *
 * Mirrors: model-only (the property lib/test_hmm.c relies on: "the notifier erases entries before
 * the CPU-side mapping changes").
 */
import { cpuMappingAt } from '@hmmsim/hmm-mirror';
import { accessReporting, noteRead, noteWrite, PAGE_SIZE } from '@hmmsim/kernel';
import { devicePrivatePteAt } from '@hmmsim/migrate';
import { pteLookup } from '@hmmsim/mm';
import { isMigrationEntry, isSwapPte, pageCount, pteToSwpEntry } from '@hmmsim/pagetable';
import { chunkPageData, dmirrorPageToChunk } from './devmem/dmirror-chunk.ts';
import type { Dmirror } from './dmirror.ts';

/** True if the page is not allocated any more (refcount 0). Mirrors: model-only. */
export function pageFreed(dmirror: Dmirror, page: number): boolean {
  const pm = dmirror.mm.machine.phys;
  // memmapEnd changes only with the whole memmap (reported as a whole-object write).
  if (page >= 0 && page < 2 ** 32) noteRead(pm, page);
  else noteRead(pm);
  return page >= pm.memmapEnd || pageCount(pm, page) <= 0;
}

/** The page a migration entry at `addr` names (the page under migration), or -1. */
function migratingPageAt(mm: Dmirror['mm'], addr: number): number {
  const slot = pteLookup(mm, addr);
  if (slot < 0) return -1;
  if (accessReporting) noteRead(mm.pt, slot);
  const bits = mm.pt.bits[slot] as number;
  if (!isSwapPte(bits)) return -1;
  const val = mm.pt.val[slot] as number;
  return isMigrationEntry(pteToSwpEntry(bits, val)) ? val : -1;
}

/** True if `page` is `dpfn` itself or, for a dmirror device page, its backing page. */
function holdsData(dmirror: Dmirror, dpfn: number, page: number): boolean {
  if (dpfn === page) return true;
  const chunk = dpfn < 0 ? null : dmirrorPageToChunk(dmirror.mm.machine, dpfn);
  return chunk !== null && chunkPageData(chunk, dpfn) === page;
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
  if (cpu === null && dp === null && holdsData(dmirror, migratingPageAt(mm, addr), page)) return '';
  const now = cpu !== null ? `pfn ${cpu.pfn}` : dp !== null ? `device pfn ${dp.pfn}` : 'nothing';
  return `the CPU maps ${now} there, the device entry page ${page}`;
}

/** Count and describe a stale copy. Model-only. */
export function recordStale(dmirror: Dmirror, vpn: number, why: string): void {
  if (accessReporting) noteWrite(dmirror.stats);
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
