/**
 * A DMA-capable device: its DMA mask, its bus address space (behind an IOMMU with an IOVA
 * allocator, or direct: bus address = physical address), the live streaming mappings (tracked as
 * CONFIG_DMA_API_DEBUG does) and the IOMMU faults it raised.
 * Mirrors the DMA side of include/linux/device.h:struct device (dma_mask) plus an IOMMU domain.
 */
import { checkIntIn, checkUlong, InvalidArgumentError, PAGE_SIZE } from '@hmmsim/kernel';
import type { Machine } from '@hmmsim/mm';
import { DMA_BIT_MASK, type DmaDataDirection } from './dma-direction.ts';
import { IovaDomain } from './iova.ts';

/** Options of createDmaDevice(). */
export interface DmaDeviceOptions {
  /** Shown in messages (default 'dma0'). */
  readonly name?: string;
  /** The DMA mask (default DMA_BIT_MASK(32)). */
  readonly dmaMask?: number;
  /** Translate through an IOMMU (default true); false = direct mapping without bounce buffers. */
  readonly iommu?: boolean;
  /** IOMMU aperture in pages (default: all the mask allows); small values make exhaustion testable. */
  readonly iovaPages?: number;
}

/** One live streaming mapping. Mirrors the entry kernel/dma/debug.c keeps per dma_map_page(). */
export interface DmaMapping {
  /** The address dma_map_page() returned. */
  readonly daddr: number;
  readonly size: number;
  readonly dir: DmaDataDirection;
  /** First pfn mapped, and the byte offset into it. */
  readonly pfn: number;
  readonly offset: number;
  /** First bus page (daddr / PAGE_SIZE) and the number of bus pages covered. */
  readonly busPage: number;
  readonly nrPages: number;
}

/** Why a device access was refused. */
export type IommuFaultReason = 'unmapped' | 'permission' | 'stale-page';

/**
 * A device access that was not served: no live mapping ('unmapped': never mapped, or unmapped),
 * a direction the mapping does not allow ('permission'), or — a model detection — the page
 * behind the mapping was freed while still mapped ('stale-page'). Mirrors an IOMMU fault report
 * (e.g. drivers/iommu/intel-iommu.c DMAR fault) / a DMA-API debug error.
 */
export interface IommuFault {
  readonly daddr: number;
  readonly write: boolean;
  readonly reason: IommuFaultReason;
}

/** Counters of a DmaDevice. */
export interface DmaStats {
  maps: number;
  unmaps: number;
  mappingErrors: number;
  /** dma_map_page() calls refused because the page is device-private (see dmaMapPage). */
  devicePrivateRefused: number;
}

/** A DMA-capable device. Model of struct device's DMA state plus its IOMMU domain. */
export class DmaDevice {
  readonly name: string;
  readonly machine: Machine;
  readonly iommu: boolean;
  dmaMask: number;
  /** The IOVA space (IOMMU only). */
  iova: IovaDomain | null;
  /** Live mappings by the address dma_map_page() returned. */
  readonly live = new Map<number, DmaMapping[]>();
  /** Live mappings by bus page, for translating device accesses. */
  readonly byBusPage = new Map<number, DmaMapping[]>();
  /** Every refused device access, in order. */
  readonly faults: IommuFault[] = [];
  readonly stats: DmaStats = { maps: 0, unmaps: 0, mappingErrors: 0, devicePrivateRefused: 0 };
  /** IOMMU aperture in pages as configured (undefined = the mask's). */
  readonly iovaPages: number | undefined;

  constructor(machine: Machine, opts: DmaDeviceOptions) {
    checkDmaDeviceOptions(opts);
    this.machine = machine;
    this.name = opts.name ?? 'dma0';
    this.iommu = opts.iommu ?? true;
    this.dmaMask = opts.dmaMask ?? DMA_BIT_MASK(32);
    this.iovaPages = opts.iovaPages;
    this.iova = this.iommu ? new IovaDomain(iovaLimitPfn(this.dmaMask, opts.iovaPages)) : null;
  }

  /** Number of live mappings. */
  get nrLive(): number {
    let n = 0;
    for (const list of this.live.values()) n += list.length;
    return n;
  }
}

/** InvalidArgumentError unless `dev` is a DmaDevice. Model helper. */
export function assertIsDmaDevice(fn: string, dev: unknown): asserts dev is DmaDevice {
  if (!(dev instanceof DmaDevice)) {
    throw new InvalidArgumentError(
      `${fn}: dev is ${dev === null ? 'null' : typeof dev}, not a DmaDevice; expected createDmaDevice()`,
    );
  }
}

/** The smallest mask the model accepts: one whole page above IOVA page 0. */
const MIN_MASK = 2 * PAGE_SIZE - 1;

/**
 * Check createDmaDevice()'s options: a mask that could not be a dma_addr_t, or one that cannot
 * address a page, an aperture that is not a positive page count, a name that is not a string:
 * InvalidArgumentError naming the option. Model helper.
 */
export function checkDmaDeviceOptions(opts: DmaDeviceOptions): void {
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidArgumentError(`createDmaDevice: opts is ${String(opts)}; expected an object`);
  }
  if (opts.name !== undefined && typeof opts.name !== 'string') {
    throw new InvalidArgumentError('createDmaDevice: opts.name is not a string');
  }
  if (opts.dmaMask !== undefined) {
    checkIntIn(
      'createDmaDevice',
      'opts.dmaMask',
      opts.dmaMask,
      MIN_MASK,
      Number.MAX_SAFE_INTEGER,
      `a DMA mask of at least ${MIN_MASK} (use DMA_BIT_MASK)`,
    );
  }
  if (opts.iovaPages !== undefined) {
    checkIntIn(
      'createDmaDevice',
      'opts.iovaPages',
      opts.iovaPages,
      1,
      Number.MAX_SAFE_INTEGER,
      'a positive page count',
    );
  }
}

/**
 * Highest IOVA page a mask (and optional aperture) allows; numbers that are not a mask or a page
 * count throw InvalidArgumentError. Model helper (the IOVA domain limit of intel-iommu/dma-iommu,
 * page granular).
 */
export function iovaLimitPfn(mask: number, aperturePages?: number): number {
  checkUlong('iovaLimitPfn', 'mask', mask, 'a DMA mask');
  if (aperturePages !== undefined)
    checkUlong('iovaLimitPfn', 'aperturePages', aperturePages, 'a page count');
  const byMask = Math.floor((mask + 1) / PAGE_SIZE) - 1;
  return aperturePages === undefined ? byMask : Math.min(byMask, aperturePages);
}

/**
 * Create a DMA device on `machine`; options that are not usable throw InvalidArgumentError
 * (checkDmaDeviceOptions). Model entry point (a PCI probe with dma_set_mask done).
 */
export function createDmaDevice(machine: Machine, opts: DmaDeviceOptions = {}): DmaDevice {
  return new DmaDevice(machine, opts);
}
