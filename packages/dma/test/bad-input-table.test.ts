/**
 * The bad-input table of @hmmsim/dma: every public function that takes a page, offset, size,
 * bus address, mask, count or direction, with each bad number (NaN, ±Infinity, a fraction, -1,
 * 2^53), on a device behind an IOMMU and on a direct-mapped one, plus the misuse the DMA-API
 * debug code catches (unmapping twice, another size or direction, a mask change under live
 * mappings) and the errnos of the hmm_range_dma_* calls. Each row must get the kernel's errno or
 * a typed error naming the function; after each row both devices' checks, the mm's and the
 * migration invariants hold, nothing stays mapped, and a normal map/read/unmap still works.
 */
import {
  EBUSY,
  EFAULT,
  EINVAL,
  EIO,
  ENOMEM,
  InvalidArgumentError,
  KernelBugError,
} from '@hmmsim/kernel';
import {
  BAD_NUMBERS,
  type BadInputRow,
  formatBadInputReport,
  runBadInputTable,
} from '@hmmsim/kernel/testing';
import { assertMigrateInvariants } from '@hmmsim/migrate';
import { allocUserPage, assertMachineInvariants, mmPutPage } from '@hmmsim/mm';
import { writePage } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  allocIova,
  assertDmaDeviceInvariants,
  createDmaDevice,
  DMA_BIDIRECTIONAL,
  DMA_BIT_MASK,
  DMA_FROM_DEVICE,
  DMA_NONE,
  DMA_TO_DEVICE,
  type DmaDataDirection,
  type DmaDevice,
  deviceDmaRead,
  deviceDmaWrite,
  dmaMapPage,
  dmaMappedPfns,
  dmaMappingError,
  dmaSetMask,
  dmaUnmapPage,
  freeIova,
  hmmRangeDmaMap,
  hmmRangeDmaUnmap,
  IovaDomain,
  iovaLimitPfn,
} from '../src/index.ts';
import { fill, locked, mapAnon, PAGE, rangeOf, setup } from './helpers.ts';

function numbers(fn: string, arg: string, call: (v: number) => unknown): BadInputRow[] {
  return BAD_NUMBERS.map(([name, v]) => ({
    fn,
    input: `${arg} = ${name}`,
    call: () => call(v),
    expect: { error: InvalidArgumentError },
  }));
}

type World = ReturnType<typeof setup>;

/** Map one page of `w` on `dev`, run `misuse` with its address, then unmap it properly. */
function mapped(
  w: World,
  dev: DmaDevice,
  misuse: (daddr: number, page: number) => unknown,
  dir: DmaDataDirection = DMA_TO_DEVICE,
): () => unknown {
  return () => {
    const page = allocUserPage(w.machine, 0);
    const daddr = dmaMapPage(dev, page, 0, PAGE, dir);
    try {
      return misuse(daddr, page);
    } finally {
      if (dev.live.has(daddr)) dmaUnmapPage(dev, daddr, PAGE, dir);
      mmPutPage(w.machine, page);
    }
  };
}

function deviceRows(w: World, dev: DmaDevice, label: string): BadInputRow[] {
  const page = () => {
    const p = allocUserPage(w.machine, 0);
    mmPutPage(w.machine, p); // pfn of a page that is free again: only reached by bad rows
    return p;
  };
  return [
    ...numbers('dma_map_page', `page (${label})`, (v) =>
      dmaMapPage(dev, v, 0, PAGE, DMA_TO_DEVICE),
    ),
    ...numbers('dma_map_page', `offset (${label})`, (v) =>
      dmaMapPage(dev, page(), v, 8, DMA_TO_DEVICE),
    ),
    ...numbers('dma_map_page', `size (${label})`, (v) =>
      dmaMapPage(dev, page(), 0, v, DMA_TO_DEVICE),
    ),
    ...numbers('dma_map_page', `dir (${label})`, (v) =>
      dmaMapPage(dev, page(), 0, PAGE, v as DmaDataDirection),
    ),
    ...numbers('dma_unmap_page', `addr (${label})`, (v) =>
      dmaUnmapPage(dev, v, PAGE, DMA_TO_DEVICE),
    ),
    ...numbers('dma_unmap_page', `size (${label})`, (v) =>
      mapped(w, dev, (d) => dmaUnmapPage(dev, d, v, DMA_TO_DEVICE))(),
    ),
    ...numbers('dma_mapping_error', `dma_addr (${label})`, (v) => dmaMappingError(dev, v)),
    ...numbers('dma_set_mask', `mask (${label})`, (v) => dmaSetMask(dev, v)),
    ...numbers('deviceDmaRead', `daddr (${label})`, (v) => deviceDmaRead(dev, v, 1)),
    ...numbers('deviceDmaRead', `len (${label})`, (v) => deviceDmaRead(dev, 0x1000, v)),
    ...numbers('deviceDmaWrite', `daddr (${label})`, (v) =>
      deviceDmaWrite(dev, v, new Uint8Array(1)),
    ),
    {
      fn: 'dma_map_page',
      input: `DMA_NONE (${label})`,
      call: () => dmaMapPage(dev, page(), 0, PAGE, DMA_NONE),
      expect: { error: KernelBugError, message: /valid_dma_direction/ },
    },
    {
      fn: 'dma_map_page',
      input: `a free page (${label})`,
      call: () => dmaMapPage(dev, page(), 0, PAGE, DMA_TO_DEVICE),
      expect: { error: KernelBugError, message: /not an allocated page/ },
    },
    {
      fn: 'dma_map_page',
      input: `a pfn past the memmap (${label})`,
      call: () => dmaMapPage(dev, w.machine.phys.memmapEnd, 0, PAGE, DMA_TO_DEVICE),
      expect: { error: KernelBugError, message: /not an allocated page/ },
    },
    {
      fn: 'dma_map_page',
      input: `a device-private page, seen through dma_mapping_error (${label})`,
      call: () => {
        const dp = w.devmem.allocPage();
        try {
          return dmaMappingError(dev, dmaMapPage(dev, dp, 0, PAGE, DMA_BIDIRECTIONAL));
        } finally {
          w.machine.phys.flags[dp] = (w.machine.phys.flags[dp] as number) & ~1;
          w.machine.phys.refcount[dp] = 1;
          w.devmem.pageFree(dp);
        }
      },
      expect: { errno: -ENOMEM },
    },
    {
      fn: 'dma_map_page',
      input: `offset + size past the last page (${label})`,
      call: () => dmaMapPage(dev, w.machine.phys.memmapEnd - 1, 0, 2 * PAGE, DMA_TO_DEVICE),
      expect: { error: KernelBugError },
    },
    {
      fn: 'dma_unmap_page',
      input: `twice (${label})`,
      call: mapped(w, dev, (d) => {
        dmaUnmapPage(dev, d, PAGE, DMA_TO_DEVICE);
        return dmaUnmapPage(dev, d, PAGE, DMA_TO_DEVICE);
      }),
      expect: { error: KernelBugError, message: /not allocated/ },
    },
    {
      fn: 'dma_unmap_page',
      input: `another size (${label})`,
      call: mapped(w, dev, (d) => dmaUnmapPage(dev, d, 8, DMA_TO_DEVICE)),
      expect: { error: KernelBugError, message: /different size/ },
    },
    {
      fn: 'dma_unmap_page',
      input: `another direction (${label})`,
      call: mapped(w, dev, (d) => dmaUnmapPage(dev, d, PAGE, DMA_FROM_DEVICE)),
      expect: { error: KernelBugError, message: /different direction/ },
    },
    {
      fn: 'dma_set_mask',
      input: `with live mappings (${label})`,
      call: mapped(w, dev, () => dmaSetMask(dev, DMA_BIT_MASK(40))),
      expect: { error: KernelBugError, message: /live/ },
    },
    {
      fn: 'dma_set_mask',
      input: `a mask that cannot address a page (${label})`,
      call: () => dmaSetMask(dev, 100),
      expect: { errno: -EIO },
    },
    {
      fn: 'deviceDmaWrite',
      input: `bytes not a Uint8Array (${label})`,
      call: () => deviceDmaWrite(dev, 0x1000, [1] as unknown as Uint8Array),
      expect: { error: InvalidArgumentError },
    },
  ];
}

function rangeRows(w: World, addr: number): BadInputRow[] {
  const range = () => rangeOf(w.mm, addr, addr + 2 * PAGE);
  const map = (r = range(), daddrs: unknown = new Float64Array(2)) =>
    locked(w.mm, () => hmmRangeDmaMap(r, w.dma, daddrs as Float64Array, 0));
  return [
    ...numbers('hmm_range_dma_unmap', 'range->start', (v) =>
      hmmRangeDmaUnmap({ ...range(), start: v }, w.dma, new Float64Array(2), false),
    ),
    ...numbers('hmm_range_dma_unmap', 'range->end', (v) =>
      hmmRangeDmaUnmap({ ...range(), end: v }, w.dma, new Float64Array(2), false),
    ),
    {
      fn: 'hmm_range_dma_map',
      input: 'daddrs shorter than the range',
      call: () => map(range(), new Float64Array(1)),
      expect: { error: KernelBugError },
    },
    {
      fn: 'hmm_range_dma_map',
      input: 'daddrs a plain array',
      call: () => map(range(), [0, 0]),
      expect: { error: InvalidArgumentError },
    },
    {
      fn: 'hmm_range_dma_map',
      input: 'device not a DmaDevice',
      call: () =>
        locked(w.mm, () => hmmRangeDmaMap(range(), {} as DmaDevice, new Float64Array(2), 0)),
      expect: { error: InvalidArgumentError },
    },
    {
      fn: 'hmm_range_dma_map',
      input: 'an unaligned range',
      call: () => map(rangeOf(w.mm, addr + 1, addr + PAGE)),
      expect: { errno: -EINVAL },
    },
    {
      fn: 'hmm_range_dma_map',
      input: 'a range running past the vma',
      call: () => map(rangeOf(w.mm, addr, addr + 8 * PAGE), new Float64Array(8)),
      expect: { errno: -EFAULT },
    },
    {
      fn: 'hmm_range_dma_map',
      input: 'a range invalidated while mapping (legacy valid flag false)',
      call: () => map(rangeOf(w.mm, addr, addr + 2 * PAGE, { valid: false })),
      expect: { errno: -EBUSY },
    },
    {
      fn: 'hmm_range_dma_unmap',
      input: 'an empty range',
      call: () => hmmRangeDmaUnmap(rangeOf(w.mm, addr, addr), w.dma, new Float64Array(1), false),
      expect: { errno: -EINVAL },
    },
    {
      fn: 'hmm_range_dma_unmap',
      input: 'no daddrs',
      call: () => hmmRangeDmaUnmap(range(), w.dma, null, false),
      expect: { errno: -EINVAL },
    },
    {
      fn: 'hmm_range_dma_unmap',
      input: 'twice (the second with stale addresses of another mapping)',
      call: async () => {
        const r = range();
        const daddrs = new Float64Array(2);
        if ((await map(r, daddrs)) !== 2) throw new Error('map');
        const copy = { ...r, pfns: r.pfns.slice() };
        const old = daddrs.slice();
        hmmRangeDmaUnmap(r, w.dma, daddrs, false);
        return hmmRangeDmaUnmap(copy, w.dma, old, false);
      },
      expect: { error: KernelBugError, message: /not a live .* mapping/ },
    },
    {
      fn: 'hmm_range_dma_unmap',
      input: 'dirty not a boolean',
      call: () => hmmRangeDmaUnmap(range(), w.dma, new Float64Array(2), 1 as unknown as boolean),
      expect: { error: InvalidArgumentError },
    },
  ];
}

function modelRows(w: World): BadInputRow[] {
  const iova = new IovaDomain(64);
  return [
    ...numbers('DMA_BIT_MASK', 'n', (v) => DMA_BIT_MASK(v)),
    ...numbers('createDmaDevice', 'opts.dmaMask', (v) =>
      createDmaDevice(w.machine, { dmaMask: v }),
    ),
    ...numbers('createDmaDevice', 'opts.iovaPages', (v) =>
      createDmaDevice(w.machine, { iovaPages: v }),
    ),
    ...numbers('iovaLimitPfn', 'mask', (v) => iovaLimitPfn(v)),
    ...numbers('IovaDomain', 'limitPfn', (v) => new IovaDomain(v)),
    ...numbers('alloc_iova_fast', 'size', (v) => allocIova(iova, v)),
    ...numbers('free_iova_fast', 'pfn', (v) => freeIova(iova, v, 1)),
    ...numbers('free_iova_fast', 'size', (v) => freeIova(iova, 1, v)),
    {
      fn: 'DMA_BIT_MASK',
      input: 'n = 65',
      call: () => DMA_BIT_MASK(65),
      expect: { error: InvalidArgumentError },
    },
    {
      fn: 'createDmaDevice',
      input: 'a mask below two pages',
      call: () => createDmaDevice(w.machine, { dmaMask: 4095 }),
      expect: { error: InvalidArgumentError },
    },
    {
      fn: 'free_iova_fast',
      input: 'a range never allocated',
      call: () => freeIova(iova, 3, 1),
      expect: { error: KernelBugError, message: /double free, or never handed out/ },
    },
    {
      fn: 'free_iova_fast',
      input: 'twice',
      call: () => {
        const first = allocIova(iova, 1);
        freeIova(iova, first, 1);
        return freeIova(iova, first, 1);
      },
      expect: { error: KernelBugError, message: /double free/ },
    },
    {
      fn: 'dma_mapping_error',
      input: 'IOVA space exhausted',
      call: () => {
        const small = createDmaDevice(w.machine, { iovaPages: 1, name: 'small' });
        const p = allocUserPage(w.machine, 0);
        const a = dmaMapPage(small, p, 0, PAGE, DMA_TO_DEVICE);
        try {
          return dmaMappingError(small, dmaMapPage(small, p, 0, PAGE, DMA_TO_DEVICE));
        } finally {
          dmaUnmapPage(small, a, PAGE, DMA_TO_DEVICE);
          mmPutPage(w.machine, p);
        }
      },
      expect: { errno: -ENOMEM },
    },
  ];
}

describe('@hmmsim/dma bad-input table', () => {
  it('answers every bad input with an errno or a typed error, state unchanged', async () => {
    const w = setup();
    const direct = createDmaDevice(w.machine, {
      iommu: false,
      dmaMask: DMA_BIT_MASK(64),
      name: 'direct0',
    });
    const addr = await mapAnon(w.mm, 2);
    await fill(w.mm, addr, new Uint8Array(2 * PAGE).fill(0x77));
    const rows = [
      ...deviceRows(w, w.dma, 'IOMMU'),
      ...deviceRows(w, direct, 'direct'),
      ...rangeRows(w, addr),
      ...modelRows(w),
    ];
    const report = await runBadInputTable('dma', rows, {
      afterEach: () => {
        for (const dev of [w.dma, direct]) {
          assertDmaDeviceInvariants(dev);
          if (dev.nrLive !== 0) throw new Error(`${dev.name}: ${dev.nrLive} mappings left`);
        }
        assertMachineInvariants(w.machine);
        assertMigrateInvariants(w.machine, {
          quiescent: true,
          freeLists: [w.devmem],
          dmaPfns: dmaMappedPfns(w.dma),
        });
        // A normal operation on each device: map, device read and write, unmap.
        for (const dev of [w.dma, direct]) {
          const p = allocUserPage(w.machine, 0);
          writePage(w.machine.phys, p, 0, new Uint8Array([9]));
          const d = dmaMapPage(dev, p, 0, PAGE, DMA_BIDIRECTIONAL);
          const r = deviceDmaRead(dev, d, 1);
          if (!r.ok || r.data?.[0] !== 9) throw new Error(`${dev.name}: a normal read failed`);
          if (!deviceDmaWrite(dev, d, new Uint8Array([1])).ok) throw new Error('write failed');
          dmaUnmapPage(dev, d, PAGE, DMA_BIDIRECTIONAL);
          mmPutPage(w.machine, p);
        }
      },
    });
    console.log(formatBadInputReport(report));
    expect(report.failures).toEqual([]);
    for (const dev of [w.dma, direct]) expect(dev.faults).toEqual([]);
  });
});
