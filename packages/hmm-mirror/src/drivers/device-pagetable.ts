/**
 * A simulated device page table: one entry per page of the mirrored range, in typed arrays
 * (pfn, and a flags byte with VALID/WRITE), plus the checks of invariants 1–2 (docs/kernel/invariants.md) against the
 * CPU page table of the mirrored mm (read without side effects: no accessed bits are set).
 *
 * Mirrors: model-only (the GPU page table nouveau programs with its PFNMAP method / amdgpu's
 * GART binding, reduced to what the invariants look at).
 */
import {
  accessReporting,
  checkIntIn,
  checkUlong,
  InvalidArgumentError,
  isUlong,
  noteRead,
  noteWrite,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import { followPte, type MmStruct } from '@hmmsim/mm';
import { checkMmStruct } from '@hmmsim/mmu-notifier';

/**
 * Device entry flag: the entry maps a page.
 * Mirrors: model-only.
 */
export const DEV_PTE_VALID = 1;
/**
 * Device entry flag: the device may write the page.
 * Mirrors: model-only.
 */
export const DEV_PTE_WRITE = 2;

/** Largest device page table (2^26 entries: 256 GiB mirrored, 576 MiB of typed arrays). */
const MAX_DEVICE_PAGES = 2 ** 26;

/**
 * Throw InvalidArgumentError (naming `fn`) unless `[start, start + npages pages)` can be a device
 * page table: a page-aligned address and a page count in [1, 2^26] ending below 2^53.
 * Model helper (the drivers check their own arguments with it).
 */
export function checkDeviceSpan(fn: string, start: unknown, npages: unknown): void {
  checkUlong(fn, 'start', start, 'a page-aligned address');
  if (start % PAGE_SIZE !== 0) {
    throw new InvalidArgumentError(
      `${fn}: start 0x${start.toString(16)} is not page aligned; expected a multiple of ${PAGE_SIZE}`,
    );
  }
  checkIntIn(fn, 'npages', npages, 1, MAX_DEVICE_PAGES, 'a page count in [1, 2^26]');
  if (!Number.isSafeInteger(start + npages * PAGE_SIZE)) {
    throw new InvalidArgumentError(
      `${fn}: [0x${start.toString(16)}, +${npages} pages) ends past 2^53; expected a range of addresses`,
    );
  }
}

/**
 * What the CPU maps at an address: the pfn and whether it is writable.
 * Mirrors: model-only.
 */
export interface CpuMapping {
  readonly pfn: number;
  readonly write: boolean;
}

/**
 * The CPU's present, accessible mapping of `addr` in `mm` (4 KiB or THP), or null once the mm
 * has exited; no side effects. PROT_NONE/NUMA-hinting entries count as not mapped.
 * Mirrors mm/memory.c:follow_pte() (@hmmsim/mm's followPte, which this calls).
 */
export function cpuMappingAt(mm: MmStruct, addr: number): CpuMapping | null {
  if (!(isUlong(addr) && typeof mm === 'object' && mm !== null)) {
    checkMmStruct('cpuMappingAt', 'mm', mm);
    checkUlong('cpuMappingAt', 'addr', addr, 'an address');
  }
  return mm.exited ? null : followPte(mm, addr);
}

/**
 * A device page table over `[start, start + npages * PAGE_SIZE)` of one mm.
 *
 * Access reports (for the explorer's partial-order reduction) are made on the table object:
 * element `i` is page `i` (its pfn and flags), element `npages` the `programmed` counter. Code
 * that writes `pfn` / `flags` directly (programDevice) reports the same way.
 * Mirrors: model-only.
 */
export class DevicePageTable {
  /** pfn per page (meaningful when VALID is set). */
  readonly pfn: Float64Array;
  /** DEV_PTE_* bits per page. */
  readonly flags: Uint8Array;
  /** Entries programmed over the device's life (for tests and reports). */
  programmed = 0;

  constructor(
    readonly name: string,
    readonly start: number,
    readonly npages: number,
  ) {
    checkDeviceSpan('DevicePageTable', start, npages);
    this.pfn = new Float64Array(npages);
    this.flags = new Uint8Array(npages);
  }

  /** One past the last address covered. */
  get end(): number {
    return this.start + this.npages * PAGE_SIZE;
  }

  /** Page index of `addr`, or -1 outside the table. */
  indexOf(addr: number): number {
    if (!isUlong(addr))
      checkUlong(`DevicePageTable ${this.name}.indexOf`, 'addr', addr, 'an address');
    if (addr < this.start || addr >= this.end) return -1;
    return Math.floor((addr - this.start) / PAGE_SIZE);
  }

  /** Map page `i` to `pfn`, writable or not. */
  set(i: number, pfn: number, write: boolean): void {
    this.checkIndex(i);
    checkUlong(`DevicePageTable ${this.name}.set`, 'pfn', pfn, 'a pfn (a safe integer >= 0)');
    if (typeof write !== 'boolean') {
      throw new InvalidArgumentError(
        `DevicePageTable ${this.name}.set: write is ${String(write)}; expected a boolean`,
      );
    }
    if (accessReporting) noteWrite(this, i);
    this.pfn[i] = pfn;
    this.flags[i] = DEV_PTE_VALID | (write ? DEV_PTE_WRITE : 0);
    if (accessReporting) noteWrite(this, this.npages);
    this.programmed++;
  }

  /** Unmap page `i`. */
  clear(i: number): void {
    this.checkIndex(i);
    if (accessReporting) noteWrite(this, i);
    this.flags[i] = 0;
    this.pfn[i] = 0;
  }

  /** Unmap every page of `[start, end)` (clipped to the table); returns how many were mapped. */
  clearRange(start: number, end: number): number {
    const fn = `DevicePageTable ${this.name}.clearRange`;
    if (!isUlong(start)) checkUlong(fn, 'start', start, 'an address');
    if (!isUlong(end)) checkUlong(fn, 'end', end, 'an address');
    const lo = Math.max(start, this.start);
    const hi = Math.min(end, this.end);
    let n = 0;
    for (let a = lo; a < hi; a += PAGE_SIZE) {
      const i = this.indexOf(a);
      // clear(i) reports the write (which covers this read) in the same step.
      if (((this.flags[i] as number) & DEV_PTE_VALID) !== 0) n++;
      this.clear(i);
    }
    return n;
  }

  /** Unmap everything. */
  clearAll(): number {
    return this.clearRange(this.start, this.end);
  }

  /** The device's mapping of page `i`, or null. */
  entry(i: number): CpuMapping | null {
    this.checkIndex(i);
    if (accessReporting) noteRead(this, i);
    const f = this.flags[i] as number;
    if ((f & DEV_PTE_VALID) === 0) return null;
    return { pfn: this.pfn[i] as number, write: (f & DEV_PTE_WRITE) !== 0 };
  }

  /** Number of mapped entries. */
  mappedCount(): number {
    if (accessReporting) noteRead(this);
    let n = 0;
    for (let i = 0; i < this.npages; i++)
      if (((this.flags[i] as number) & DEV_PTE_VALID) !== 0) n++;
    return n;
  }

  private checkIndex(i: number): void {
    if (!(isUlong(i) && i < this.npages)) {
      checkIntIn(
        `DevicePageTable ${this.name}`,
        'page index',
        i,
        0,
        this.npages - 1,
        `an index in [0, ${this.npages})`,
      );
    }
  }
}

/**
 * One broken device entry.
 * Mirrors: model-only.
 */
export interface DeviceMirrorViolation {
  readonly index: number;
  readonly addr: number;
  /** The device's entry. */
  readonly device: CpuMapping;
  /** What the CPU maps there (null: nothing). */
  readonly cpu: CpuMapping | null;
  /** 'stale' (invariant 1) or 'writable' (invariant 2). */
  readonly kind: 'stale' | 'writable';
}

/**
 * Invariants 1–2 (docs/kernel/invariants.md) for one device: every device entry maps the page the CPU maps at that
 * address, and is writable only where the CPU entry is. Returns the broken entries.
 * Mirrors: model-only (hmmsim invariants 1 and 2, docs/kernel/invariants.md).
 */
export function deviceMirrorViolations(
  dev: DevicePageTable,
  mm: MmStruct,
): DeviceMirrorViolation[] {
  const out: DeviceMirrorViolation[] = [];
  for (let i = 0; i < dev.npages; i++) {
    const d = dev.entry(i);
    if (d === null) continue;
    const addr = dev.start + i * PAGE_SIZE;
    const cpu = cpuMappingAt(mm, addr);
    if (cpu === null || cpu.pfn !== d.pfn)
      out.push({ index: i, addr, device: d, cpu, kind: 'stale' });
    else if (d.write && !cpu.write) out.push({ index: i, addr, device: d, cpu, kind: 'writable' });
  }
  return out;
}

/**
 * Where else `pfn` is mapped: every (mm, address) of the given mms whose CPU page table maps it
 * within `[start, end)` ranges given per mm. Used to show the freed page's new owner.
 * Mirrors: model-only (a reverse lookup over a few known mappings).
 */
export function findPfnMappings(
  pfn: number,
  candidates: readonly { readonly mm: MmStruct; readonly start: number; readonly end: number }[],
): { mm: MmStruct; addr: number }[] {
  checkUlong('findPfnMappings', 'pfn', pfn, 'a pfn');
  const out: { mm: MmStruct; addr: number }[] = [];
  for (const c of candidates) {
    for (let a = c.start; a < c.end; a += PAGE_SIZE) {
      if (cpuMappingAt(c.mm, a)?.pfn === pfn) out.push({ mm: c.mm, addr: a });
    }
  }
  return out;
}

/**
 * A message for a list of violations ('' when none).
 * Mirrors: model-only.
 */
export function describeViolations(
  dev: DevicePageTable,
  violations: readonly DeviceMirrorViolation[],
): string {
  return violations
    .map((v) => {
      const at = `${dev.name} page ${v.index} (0x${v.addr.toString(16)})`;
      const cpu =
        v.cpu === null ? 'nothing' : `pfn ${v.cpu.pfn}${v.cpu.write ? ' writable' : ' read-only'}`;
      return v.kind === 'stale'
        ? `stale device mapping: ${at} -> pfn ${v.device.pfn} on the device, but the CPU maps ${cpu} there`
        : `device write without CPU write: ${at} -> pfn ${v.device.pfn} is writable on the device, but the CPU maps ${cpu}`;
    })
    .join('\n');
}

/**
 * '0x10001000-0x10002000' for an address span (traces).
 * Mirrors: model-only.
 */
export function describeSpan(span: { readonly start: number; readonly end: number }): string {
  return `0x${span.start.toString(16)}-0x${span.end.toString(16)}`;
}
