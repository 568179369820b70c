/**
 * Device-private pages and their CPU page-table entries: the predicates of include/linux/mm.h and
 * include/linux/swapops.h that need to know a page's dev_pagemap type, plus zone_device_data.
 * The entry encoders themselves (makeDevicePrivateEntry, …) live in @hmmsim/pagetable.
 */
import {
  accessReporting,
  checkUlong,
  isUlong,
  KernelBugError,
  noteRead,
  noteWrite,
} from '@hmmsim/kernel';
import type { Machine, MmStruct } from '@hmmsim/mm';
import { pteLookup } from '@hmmsim/mm';
import {
  devicePrivateEntryToPfn,
  isDevicePrivateEntry,
  isSwapPte,
  isWriteDevicePrivateEntry,
  pteToSwpEntry,
} from '@hmmsim/pagetable';
import { DevPagemap, getDevPagemap, MEMORY_DEVICE_PRIVATE } from './memremap.ts';
import { devPagemapById, pfnInMemmap, pgPgmap, ptBits, ptVal } from './shared-access.ts';

/**
 * True for a ZONE_DEVICE page whose pgmap is MEMORY_DEVICE_PRIVATE (false beyond the memmap);
 * a pfn that is not an unsigned long throws InvalidArgumentError.
 * Mirrors include/linux/mm.h:is_device_private_page().
 */
export function isDevicePrivatePage(machine: Machine, pfn: number): boolean {
  if (!isUlong(pfn)) checkUlong('is_device_private_page', 'pfn', pfn, 'a pfn');
  const pm = machine.phys;
  if (pfn < pm.nrPages || !pfnInMemmap(pm, pfn)) return false;
  const id = pgPgmap(pm, pfn);
  if (id === 0) return false;
  const pgmap = devPagemapById(machine, id);
  return pgmap instanceof DevPagemap && pgmap.type === MEMORY_DEVICE_PRIVATE;
}

/**
 * The device page named by a device-private swap entry (its pfn; the model's struct page *).
 * KernelBugError for other entries. Mirrors include/linux/swapops.h:device_private_entry_to_page().
 */
export function devicePrivateEntryToPage(entry: number): number {
  return devicePrivateEntryToPfn(entry);
}

/** What the CPU page table holds at one address, as far as device-private memory is concerned. */
export interface DevicePrivatePte {
  /** The device page. */
  readonly pfn: number;
  /** SWP_DEVICE_WRITE (true) or SWP_DEVICE_READ (false). */
  readonly write: boolean;
}

/**
 * The device-private entry mapped at `addr` in `mm`, or null when the PTE is anything else
 * (InvalidArgumentError for an addr that is not an unsigned long). Read-only look-up. Model helper (the PTE decode of mm/memory.c:do_swap_page()).
 */
export function devicePrivatePteAt(mm: MmStruct, addr: number): DevicePrivatePte | null {
  if (!isUlong(addr)) checkUlong('devicePrivatePteAt', 'addr', addr, 'an address');
  const slot = pteLookup(mm, addr);
  if (slot < 0) return null;
  const bits = ptBits(mm.pt, slot);
  if (!isSwapPte(bits)) return null;
  const entry = pteToSwpEntry(bits, ptVal(mm.pt, slot));
  if (!isDevicePrivateEntry(entry)) return null;
  return { pfn: devicePrivateEntryToPfn(entry), write: isWriteDevicePrivateEntry(entry) };
}

/**
 * The driver's per-page pointer of a device page (undefined when unset or not a device page of a
 * registered pgmap). Mirrors the read of struct page.zone_device_data.
 */
export function pageZoneDeviceData(machine: Machine, pfn: number): unknown {
  const pgmap = getDevPagemap(machine, pfn);
  const res = pgmap?.res ?? null;
  if (pgmap === null || res === null) return undefined;
  const off = pfn - res.start;
  if (accessReporting) noteRead(pgmap, off);
  return pgmap.zoneDeviceData[off];
}

/**
 * Set the driver's per-page pointer of a device page; KernelBugError for a page without a
 * registered pgmap. Mirrors the write of struct page.zone_device_data.
 */
export function setPageZoneDeviceData(machine: Machine, pfn: number, data: unknown): void {
  const pgmap = getDevPagemap(machine, pfn);
  const res = pgmap?.res ?? null;
  if (pgmap === null || res === null) {
    throw new KernelBugError(
      `setPageZoneDeviceData: pfn ${pfn} is not a page of a registered dev_pagemap`,
    );
  }
  const off = pfn - res.start;
  if (accessReporting) noteWrite(pgmap, off);
  pgmap.zoneDeviceData[off] = data;
}
