/**
 * The device side: loads and stores the device issues at bus addresses, translated through its
 * live mappings. An access through an address no live mapping covers, or against the mapping's
 * direction, is an IOMMU fault: recorded, and never served.
 */
import { checkUlong, InvalidArgumentError, PAGE_SIZE } from '@hmmsim/kernel';
import { compoundHead, readPage, writePage } from '@hmmsim/pagetable';
import {
  assertIsDmaDevice,
  type DmaDevice,
  type DmaMapping,
  type IommuFault,
  type IommuFaultReason,
} from './dma-device.ts';
import { dmaDirAllowsDeviceRead, dmaDirAllowsDeviceWrite } from './dma-direction.ts';

/** Result of a device access: the bytes read, or the fault that stopped it. */
export type DmaAccessResult =
  | { readonly ok: true; readonly data?: Uint8Array }
  | { readonly ok: false; readonly fault: IommuFault };

function fault(
  dev: DmaDevice,
  daddr: number,
  write: boolean,
  reason: IommuFaultReason,
): DmaAccessResult {
  const f: IommuFault = { daddr, write, reason };
  dev.faults.push(f);
  return { ok: false, fault: f };
}

/** The pfn behind bus address `daddr` for an access, or the fault reason. */
function translate(dev: DmaDevice, daddr: number, write: boolean): number | IommuFaultReason {
  const bus = Math.floor(daddr / PAGE_SIZE);
  const list = dev.byBusPage.get(bus);
  if (list === undefined || list.length === 0) return 'unmapped';
  const allowed = write ? dmaDirAllowsDeviceWrite : dmaDirAllowsDeviceRead;
  const m: DmaMapping | undefined = list.find((x) => allowed(x.dir));
  if (m === undefined) return 'permission';
  const pfn = m.pfn + (bus - m.busPage);
  const pm = dev.machine.phys;
  if ((pm.refcount[compoundHead(pm, pfn)] as number) <= 0) return 'stale-page';
  return pfn;
}

/** InvalidArgumentError unless `[daddr, daddr + len)` is a span of bus addresses below 2^53. */
function checkBusSpan(fn: string, dev: DmaDevice, daddr: number, len: number): void {
  assertIsDmaDevice(fn, dev);
  checkUlong(fn, 'daddr', daddr, 'a bus address');
  checkUlong(fn, 'len', len, 'a length in bytes');
  checkUlong(fn, 'daddr + len', daddr + len, 'a span ending below 2^53');
}

/** Walk `[daddr, daddr + len)` page by page; stops at the first fault. */
function access(
  dev: DmaDevice,
  daddr: number,
  len: number,
  write: boolean,
  each: (pfn: number, off: number, at: number, n: number) => void,
): DmaAccessResult | null {
  for (let p = daddr; p < daddr + len; ) {
    const off = p % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, daddr + len - p);
    const t = translate(dev, p, write);
    if (typeof t !== 'number') return fault(dev, p, write, t);
    each(t, off, p - daddr, n);
    p += n;
  }
  return null;
}

/**
 * The device reads `len` bytes at bus address `daddr`: the bytes, or an IOMMU fault (unmapped,
 * wrong direction, or a page freed under a live mapping). An address or length that is not a
 * u64 below 2^53 throws InvalidArgumentError (it would otherwise read nothing and succeed).
 * Model of a device DMA read.
 */
export function deviceDmaRead(dev: DmaDevice, daddr: number, len: number): DmaAccessResult {
  checkBusSpan('deviceDmaRead', dev, daddr, len);
  const out = new Uint8Array(len);
  const pm = dev.machine.phys;
  const f = access(dev, daddr, len, false, (pfn, off, at, n) =>
    readPage(pm, pfn, off, out.subarray(at, at + n)),
  );
  return f ?? { ok: true, data: out };
}

/**
 * The device writes `bytes` at bus address `daddr`: done, or an IOMMU fault. Pages before the
 * faulting one are written (as a partial burst would). A bad address (as for deviceDmaRead) or
 * bytes that are not a Uint8Array throw InvalidArgumentError. Model of a device DMA write.
 */
export function deviceDmaWrite(dev: DmaDevice, daddr: number, bytes: Uint8Array): DmaAccessResult {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError('deviceDmaWrite: bytes is not a Uint8Array');
  }
  checkBusSpan('deviceDmaWrite', dev, daddr, bytes.length);
  const pm = dev.machine.phys;
  const f = access(dev, daddr, bytes.length, true, (pfn, off, at, n) =>
    writePage(pm, pfn, off, bytes.subarray(at, at + n)),
  );
  return f ?? { ok: true };
}
