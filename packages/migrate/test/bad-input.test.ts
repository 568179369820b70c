import { downRead, EINVAL, KernelBugError, upRead } from '@hmmsim/kernel';
import {
  createDeviceFile,
  createFile,
  findVma,
  MAP_PRIVATE,
  MAP_SHARED,
  type Machine,
  type MmStruct,
  mmap,
  PROT_READ,
  PROT_WRITE,
  snapshotMm,
  VM_HUGETLB,
  VmArea,
} from '@hmmsim/mm';
import { lockPage, unlockPage } from '@hmmsim/pagetable';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMigrateVma,
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  type MigrateVma,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
} from '../src/index.ts';
import { checkAll, mmapAnon, PAGE, read, setup, write } from './helpers.ts';

let extra: ((pfn: number) => number) | undefined;
afterEach(() => {
  checkAll(extra === undefined ? {} : { extraRefs: extra });
  extra = undefined;
});

/** Everything a migration could change: page tables, vmas, rss and the memmap counters. */
function state(machine: Machine, mm: MmStruct) {
  const pm = machine.phys;
  return {
    mm: snapshotMm(mm),
    refcount: [...pm.refcount],
    mapcount: [...pm.mapcount],
    flags: [...pm.flags],
  };
}

async function withLock<T>(mm: MmStruct, fn: () => Promise<T>): Promise<T> {
  await downRead(mm.mmapSem);
  try {
    return await fn();
  } finally {
    upRead(mm.mmapSem);
  }
}

/** Run the three steps with the driver doing nothing between setup and pages. */
async function noDriver(args: MigrateVma): Promise<number> {
  const ret = await migrateVmaSetup(args);
  if (ret !== 0) return ret;
  await migrateVmaPages(args);
  await migrateVmaFinalize(args);
  return 0;
}

describe('migrate_vma_setup with bad arguments returns -EINVAL and changes nothing', () => {
  it.each([
    ['no vma', (_vma: VmArea, a: number) => createMigrateVma(null, a, a + PAGE)],
    ['empty range', (vma: VmArea, a: number) => createMigrateVma(vma, a, a)],
    ['end before start', (vma: VmArea, a: number) => createMigrateVma(vma, a + PAGE, a)],
    [
      'unaligned, less than a page',
      (vma: VmArea, a: number) => createMigrateVma(vma, a + 1, a + PAGE),
    ],
    ['start below the vma', (vma: VmArea, a: number) => createMigrateVma(vma, a - PAGE, a + PAGE)],
    ['end beyond the vma', (vma: VmArea, a: number) => createMigrateVma(vma, a, a + 5 * PAGE)],
    [
      'start at the vma end',
      (vma: VmArea, a: number) => createMigrateVma(vma, a + 4 * PAGE, a + 5 * PAGE),
    ],
    [
      'no src array',
      (vma: VmArea, a: number) => ({ ...createMigrateVma(vma, a, a + PAGE), src: null }),
    ],
    [
      'no dst array',
      (vma: VmArea, a: number) => ({ ...createMigrateVma(vma, a, a + PAGE), dst: null }),
    ],
  ])('%s', async (_name, make) => {
    const { machine, mm } = setup();
    const addr = await mmapAnon(mm, 4);
    await write(mm, addr, new Uint8Array(4 * PAGE).fill(2));
    const before = state(machine, mm);
    const ret = await withLock(mm, () => migrateVmaSetup(make(findVma(mm, addr)!, addr)));
    expect(ret).toBe(-EINVAL);
    expect(state(machine, mm)).toEqual(before);
  });

  it('a VM_SPECIAL (VM_IO|VM_PFNMAP device) vma and a hugetlb vma', async () => {
    const { machine, mm } = setup();
    const file = createDeviceFile(machine, 'pfnmap', 2);
    if (typeof file === 'number') throw new Error('device file');
    extra = (pfn) => (file.inode.device!.pfns.includes(pfn) ? 1 : 0);
    const addr = await mmap(mm, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
    const before = state(machine, mm);
    const vma = findVma(mm, addr)!;
    expect(
      await withLock(mm, () => migrateVmaSetup(createMigrateVma(vma, addr, addr + PAGE))),
    ).toBe(-EINVAL);
    const huge = new VmArea(mm, addr, addr + 2 * PAGE, VM_HUGETLB, 0, null);
    expect(
      await withLock(mm, () => migrateVmaSetup(createMigrateVma(huge, addr, addr + PAGE))),
    ).toBe(-EINVAL);
    expect(state(machine, mm)).toEqual(before);
  });

  it('an unaligned range of at least a page is aligned down and accepted', async () => {
    const { mm } = setup();
    const addr = await mmapAnon(mm, 4);
    const args = createMigrateVma(findVma(mm, addr)!, addr + 10, addr + PAGE + 10);
    expect(await withLock(mm, () => noDriver(args))).toBe(0);
    expect([args.start, args.end, args.npages]).toEqual([addr, addr + PAGE, 1]);
  });
});

describe('driver-side failures change nothing', () => {
  it('dst not prepared: pages clears MIGRATE everywhere, finalize restores', async () => {
    const { machine, mm, rec } = setup();
    const addr = await mmapAnon(mm, 4);
    await write(mm, addr, new Uint8Array(3 * PAGE).fill(4));
    const before = state(machine, mm);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + 4 * PAGE);
    await withLock(mm, async () => {
      expect(await migrateVmaSetup(args)).toBe(0);
      expect(args.cpages).toBe(4);
      await migrateVmaPages(args);
      expect(args.src!.every((e) => !migratePfnHas(e, MIGRATE_PFN_MIGRATE))).toBe(true);
      await migrateVmaFinalize(args);
    });
    const after = state(machine, mm);
    expect(after.mm.entries.map((e) => e.val)).toEqual(before.mm.entries.map((e) => e.val));
    expect(after.refcount).toEqual(before.refcount);
    expect(after.mapcount).toEqual(before.mapcount);
    expect(rec.starts(mm).length).toBeGreaterThan(0); // the CLEAR still went out (R10-style)
  });

  it('device out of memory: migrateToDevice moves nothing and nothing changes', async () => {
    const { machine, mm, dev } = setup({ devicePages: 2 });
    const addr = await mmapAnon(mm, 4);
    await write(mm, addr, new Uint8Array(4 * PAGE).fill(5));
    const before = state(machine, mm);
    dev.failAllocs = 100;
    expect(await dev.migrateToDevice(mm, addr, addr + 4 * PAGE)).toBe(0);
    dev.failAllocs = 0;
    const after = state(machine, mm);
    expect(after.mm.entries.map((e) => e.val)).toEqual(before.mm.entries.map((e) => e.val));
    expect(after.refcount).toEqual(before.refcount);
    expect(dev.nrFree).toBe(2);
    // A device smaller than the range: the first two move, the rest stay.
    expect(await dev.migrateToDevice(mm, addr, addr + 4 * PAGE)).toBe(2);
    expect(await read(mm, addr, 4 * PAGE)).toEqual(new Uint8Array(4 * PAGE).fill(5));
  });

  it('file-backed vma: setup collects page-cache pages but pages refuses device targets', async () => {
    const { machine, mm, dev } = setup();
    const file = createFile(machine, { data: new Uint8Array(2 * PAGE).fill(0x33) });
    const addr = await mmap(mm, 0, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
    await read(mm, addr, 2 * PAGE); // page-cache pages mapped read-only
    const before = state(machine, mm);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + 3 * PAGE);
    await withLock(mm, async () => {
      expect(await migrateVmaSetup(args)).toBe(0);
      expect(migratePfnHas(args.src![0]!, MIGRATE_PFN_MIGRATE)).toBe(true); // v5.4 collects them
      expect(args.src![2]).toBe(MIGRATE_PFN_MIGRATE); // pte_none in a file vma: MIGRATE too (v5.4)
      for (let i = 0; i < 3; i++) args.dst![i] = migratePfn(dev.allocPage()) + MIGRATE_PFN_LOCKED;
      await migrateVmaPages(args);
      expect(args.src!.every((e) => !migratePfnHas(e, MIGRATE_PFN_MIGRATE))).toBe(true);
      await migrateVmaFinalize(args);
    });
    const after = state(machine, mm);
    expect(after.mm.entries.map((e) => e.val)).toEqual(before.mm.entries.map((e) => e.val));
    expect(after.mapcount).toEqual(before.mapcount);
    expect(dev.nrFree).toBe(dev.nrPages);
    expect(await dev.migrateToDevice(mm, addr, addr + 3 * PAGE)).toBe(0);
    expect(await read(mm, addr, 2 * PAGE)).toEqual(new Uint8Array(2 * PAGE).fill(0x33));
  });
});

describe('misuse the kernel would not survive throws KernelBugError', () => {
  it('setup without mmap_sem', async () => {
    const { mm } = setup();
    const addr = await mmapAnon(mm, 1);
    await expect(
      migrateVmaSetup(createMigrateVma(findVma(mm, addr)!, addr, addr + PAGE)),
    ).rejects.toThrow(/mmap_sem/);
  });

  it('end < start inside the vma: v5.4 overruns src (unsigned nr_pages)', async () => {
    const { mm } = setup();
    const addr = await mmapAnon(mm, 4);
    const args = createMigrateVma(findVma(mm, addr)!, addr + 3 * PAGE, addr + PAGE);
    await expect(withLock(mm, () => migrateVmaSetup(args))).rejects.toThrow(/overrun/);
  });

  it('src/dst shorter than the range', async () => {
    const { mm } = setup();
    const addr = await mmapAnon(mm, 4);
    const args = {
      ...createMigrateVma(findVma(mm, addr)!, addr, addr + PAGE),
      end: addr + 4 * PAGE,
    };
    await expect(withLock(mm, () => migrateVmaSetup(args))).rejects.toThrow(KernelBugError);
  });

  it('a dst page the driver did not lock: thrown before anything changes, then finished cleanly', async () => {
    const { machine, mm, dev } = setup();
    const addr = await mmapAnon(mm, 1);
    await write(mm, addr, new Uint8Array([1]));
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + PAGE);
    await withLock(mm, async () => {
      expect(await migrateVmaSetup(args)).toBe(0);
      const d = dev.allocPage();
      unlockPage(machine.phys, d); // the driver forgot lock_page
      args.dst![0] = migratePfn(d);
      const src0 = args.src![0];
      await expect(migrateVmaPages(args)).rejects.toThrow(/not locked/);
      expect(args.src![0]).toBe(src0);
      lockPage(machine.phys, d);
      machine.phys.contents.set(d, new Uint8Array(PAGE).fill(1));
      await migrateVmaPages(args);
      await migrateVmaFinalize(args);
      expect(migratePfnToPage(args.dst![0]!)).toBe(d);
    });
    expect((await read(mm, addr, 1))[0]).toBe(1);
  });
});
