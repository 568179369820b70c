/**
 * The GPU every SVM driver of the guide programs: a virtual memory manager that takes page-table
 * updates as arrays of its own 64-bit PTE words (nvif's PFNMAP method) and clears ranges
 * (PFNCLR), plus the GPU's own memory (VRAM) exposed to the kernel as device-private pages.
 *
 * Two apertures, two tables: system pages the GPU reaches over the bus live in `dev` (the table
 * the guide's invariant compares with the CPU page table), VRAM pages in `vram` (compared with the
 * CPU's device-private entries by `vramViolations`). The drivers of v5.4 → v5.9 differ in how they
 * fill the PTE words, never in the GPU.
 *
 * Mirrors: model-only (the nvif VMM object of drivers/gpu/drm/nouveau and its PFNMAP / PFNCLR
 * methods; the device memory of nouveau_dmem.c, here a @hmmsim/migrate TestDevice with a
 * dev_pagemap owner).
 */
import {
  checkDeviceSpan,
  type DeviceMirrorViolation,
  DevicePageTable,
  describeSpan,
} from '@hmmsim/hmm-mirror';
import { checkUlong, InvalidArgumentError, PAGE_SIZE } from '@hmmsim/kernel';
import { createTestDevice, devicePrivatePteAt, type TestDevice } from '@hmmsim/migrate';
import type { MmStruct } from '@hmmsim/mm';
import { checkMmStruct } from '@hmmsim/mmu-notifier';

// #region pte-format
/** The PTE maps something. Mirrors include/nvif/if000c.h:NVIF_VMM_PFNMAP_V0_V. */
export const NVIF_VMM_PFNMAP_V0_V = 0x1;
/** The GPU may write through the PTE. Mirrors NVIF_VMM_PFNMAP_V0_W. */
export const NVIF_VMM_PFNMAP_V0_W = 0x2;
/** Aperture: system memory, reached over the bus. Mirrors NVIF_VMM_PFNMAP_V0_HOST. */
export const NVIF_VMM_PFNMAP_V0_HOST = 0x0;
/** Aperture: the GPU's own memory. Mirrors NVIF_VMM_PFNMAP_V0_VRAM. */
export const NVIF_VMM_PFNMAP_V0_VRAM = 0x10;
/** The aperture field. Mirrors NVIF_VMM_PFNMAP_V0_APER. */
export const NVIF_VMM_PFNMAP_V0_APER = 0xf0;
/** "Nothing here": an unmapped PTE. Mirrors NVIF_VMM_PFNMAP_V0_NONE. */
export const NVIF_VMM_PFNMAP_V0_NONE = 0x0;
/** The page address sits above the low 12 flag bits. Mirrors NVIF_VMM_PFNMAP_V0_ADDR_SHIFT. */
export const NVIF_VMM_PFNMAP_V0_ADDR_SHIFT = 12;
// #endregion pte-format

/** 2^ADDR_SHIFT: a PTE word is `page * ADDR_SCALE + flags` (exact for safe integers). */
const ADDR_SCALE = 2 ** NVIF_VMM_PFNMAP_V0_ADDR_SHIFT;

/**
 * The page number a PTE word carries (a system pfn for HOST, a VRAM page index for VRAM).
 * Mirrors: model-only (word >> NVIF_VMM_PFNMAP_V0_ADDR_SHIFT).
 */
export function nvifPteAddr(word: number): number {
  return Math.floor(word / ADDR_SCALE);
}

/**
 * A PTE word for `page` with `flags` (V, W, aperture).
 * Mirrors: model-only (page << NVIF_VMM_PFNMAP_V0_ADDR_SHIFT | flags).
 */
export function nvifPte(page: number, flags: number): number {
  return page * ADDR_SCALE + flags;
}

/**
 * Build an hmm flags[] or values[] table indexed by the HMM_PFN_* index constants, from
 * [index, value] pairs (a C designated initializer). Mirrors: model-only.
 */
export function hmmTable(entries: readonly (readonly [number, number])[]): readonly number[] {
  const t: number[] = new Array<number>(entries.length).fill(0);
  for (const [i, v] of entries) t[i] = v;
  return Object.freeze(t);
}

/** Pages of VRAM the GPU exposes per mirrored page (one each is enough for every example). */
const VRAM_PER_PAGE = 1;

/**
 * The GPU of one SVM client: its page tables over `[start, start + npages pages)` and its VRAM.
 * Mirrors: model-only (nouveau's nvif VMM + nouveau_dmem).
 */
export class SvmGpu {
  /** System-memory PTEs (the table the guide's invariant checks). */
  readonly dev: DevicePageTable;
  /** VRAM PTEs: the device-private pfn each address maps (checked by vramViolations). */
  readonly vram: DevicePageTable;
  /** The GPU's memory, as device-private pages; its dev_pagemap owner is `owner`. */
  readonly dmem: TestDevice;
  /** The dev_pagemap owner of this GPU's VRAM (nouveau uses its drm device pointer). */
  readonly owner: object;
  /** PFNMAP calls, PFNCLR calls, and PFNMAP calls that mapped a large (order > 0) page. */
  maps = 0;
  clears = 0;
  largeMaps = 0;

  constructor(
    readonly mm: MmStruct,
    start: number,
    npages: number,
    readonly name: string,
  ) {
    checkMmStruct(`SvmGpu ${name}`, 'mm', mm);
    checkDeviceSpan(`SvmGpu ${name}`, start, npages);
    this.dev = new DevicePageTable(name, start, npages);
    this.vram = new DevicePageTable(`${name}.vram`, start, npages);
    this.owner = Object.freeze({ drmDevice: name });
    this.dmem = createTestDevice(mm.machine, {
      nrPages: npages * VRAM_PER_PAGE,
      owner: this.owner,
    });
  }

  /** True if the device-private page `pfn` is this GPU's VRAM. Mirrors nouveau_dmem_page() (v5.4). */
  ownsPage(pfn: number): boolean {
    return this.dmem.owns(pfn);
  }

  /** The VRAM page index of this GPU's device-private page `pfn`. Mirrors nouveau_dmem_page_addr() >> PAGE_SHIFT. */
  vramPageOf(pfn: number): number {
    if (!this.dmem.owns(pfn)) {
      throw new InvalidArgumentError(
        `SvmGpu ${this.name}.vramPageOf: pfn ${pfn} is not this GPU's VRAM; expected a pfn in [${this.dmem.firstPfn}, ${this.dmem.firstPfn + this.dmem.nrPages})`,
      );
    }
    return pfn - this.dmem.firstPfn;
  }

  /**
   * PFNMAP: write `words.length` PTEs from `addr`, each `1 << pageShift` bytes (12: 4 KiB PTEs;
   * 21: one 2 MiB PTE per word, mapping 512 consecutive pages). A word without V unmaps; HOST words map a system pfn, VRAM words
   * a page of this GPU's memory. Addresses outside the mirrored range are ignored (the GPU's
   * own VMM clips). The method waits for the GPU (a scheduling point) before the update lands.
   * Call with the driver's lock held. Returns the 4 KiB entries now mapped.
   */
  async pfnmap(addr: number, words: ArrayLike<number>, pageShift = 12): Promise<number> {
    const fn = `SvmGpu ${this.name}.pfnmap`;
    checkUlong(fn, 'addr', addr, 'a page-aligned address');
    if (!Number.isInteger(pageShift) || pageShift < 12 || pageShift > 30) {
      throw new InvalidArgumentError(
        `${fn}: pageShift ${String(pageShift)}; expected an integer in [12, 30] (12: 4 KiB PTEs)`,
      );
    }
    const sched = this.mm.machine.sched;
    await sched.point({ kind: 'driver.pfnmap', label: 'GPU page-table update' });
    const sub = 2 ** (pageShift - 12);
    let mapped = 0;
    for (let k = 0; k < words.length; k++) {
      const w = words[k] as number;
      for (let j = 0; j < sub; j++) {
        const i = this.dev.indexOf(addr + (k * sub + j) * PAGE_SIZE);
        if (i < 0) continue;
        mapped += this.writePte(i, w, j);
      }
    }
    this.maps++;
    if (pageShift > 12) this.largeMaps++;
    if (sched.trace.enabled) {
      const span = { start: addr, end: addr + words.length * sub * PAGE_SIZE };
      sched.trace.emit('driver.pfnmap', `${describeSpan(span)}: ${describeWords(words)}`);
    }
    return mapped;
  }

  /** One 4 KiB entry from word `w` (the `j`th 4 KiB piece of a large PTE). */
  private writePte(i: number, w: number, j: number): number {
    this.dev.clear(i);
    this.vram.clear(i);
    if ((w & NVIF_VMM_PFNMAP_V0_V) === 0) return 0;
    const write = (w & NVIF_VMM_PFNMAP_V0_W) !== 0;
    const page = nvifPteAddr(w) + j;
    if ((w & NVIF_VMM_PFNMAP_V0_APER) === NVIF_VMM_PFNMAP_V0_VRAM) {
      this.vram.set(i, this.dmem.firstPfn + page, write);
    } else {
      this.dev.set(i, page, write);
    }
    return 1;
  }

  /** PFNCLR: unmap `[addr, addr + size)` in both apertures. Returns the entries that were mapped. */
  pfnclr(addr: number, size: number): number {
    const fn = `SvmGpu ${this.name}.pfnclr`;
    checkUlong(fn, 'addr', addr, 'an address');
    checkUlong(fn, 'size', size, 'a size in bytes');
    const n = this.dev.clearRange(addr, addr + size) + this.vram.clearRange(addr, addr + size);
    this.clears++;
    const trace = this.mm.machine.sched.trace;
    if (trace.enabled)
      trace.emit('driver.pfnclr', `${describeSpan({ start: addr, end: addr + size })}: ${n}`);
    return n;
  }
}

/** 'V W HOST pfn 1, NONE' for a trace. */
function describeWords(words: ArrayLike<number>): string {
  const out: string[] = [];
  for (let k = 0; k < words.length; k++) {
    const w = words[k] as number;
    if ((w & NVIF_VMM_PFNMAP_V0_V) === 0) {
      out.push('unmap');
      continue;
    }
    const vram = (w & NVIF_VMM_PFNMAP_V0_APER) === NVIF_VMM_PFNMAP_V0_VRAM;
    const rw = (w & NVIF_VMM_PFNMAP_V0_W) !== 0 ? 'rw' : 'r';
    out.push(`${vram ? 'vram' : 'pfn'} ${nvifPteAddr(w)} ${rw}`);
  }
  return out.join(', ');
}

/**
 * The VRAM half of the guide's invariant: every VRAM PTE of `gpu` maps the device-private page
 * the CPU page table names at that address (the page the CPU would migrate back on a CPU fault),
 * and is writable only if that entry is. Returns the broken entries.
 * Mirrors: model-only (spec invariant 3 for the owning device).
 */
export function vramViolations(gpu: SvmGpu, mm: MmStruct): DeviceMirrorViolation[] {
  const out: DeviceMirrorViolation[] = [];
  for (let i = 0; i < gpu.vram.npages; i++) {
    const d = gpu.vram.entry(i);
    if (d === null) continue;
    const addr = gpu.vram.start + i * PAGE_SIZE;
    const cpu = mm.exited ? null : devicePrivatePteAt(mm, addr);
    if (cpu === null || cpu.pfn !== d.pfn)
      out.push({ index: i, addr, device: d, cpu, kind: 'stale' });
    else if (d.write && !cpu.write) out.push({ index: i, addr, device: d, cpu, kind: 'writable' });
  }
  return out;
}

/**
 * Record hmm_range_fault()'s return in the trace (what the minimal traces of the chapters show).
 * Mirrors: model-only.
 */
export function traceFault(mm: MmStruct, ret: number): void {
  const trace = mm.machine.sched.trace;
  if (trace.enabled) trace.emit('driver.hmm_range_fault', `returned ${ret}`);
}

/**
 * Move `[start, end)` of `mm` into this GPU's VRAM (best effort; the migration's invalidation is
 * the v5.4 MMU_NOTIFY_CLEAR, which every notifier sees). Returns the pages moved or an errno.
 * Mirrors drivers/gpu/drm/nouveau/nouveau_dmem.c:nouveau_dmem_migrate_vma() (v5.4–v5.8), as
 * reached from the SVM_BIND ioctl (nouveau_svmm_bind()).
 */
export function nouveauDmemMigrateVma(
  gpu: SvmGpu,
  mm: MmStruct,
  start: number,
  end: number,
): Promise<number> {
  return gpu.dmem.migrateToDevice(mm, start, end);
}
