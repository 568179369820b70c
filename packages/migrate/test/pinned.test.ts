import { downRead, upRead } from '@hmmsim/kernel';
import { findVma, pteLookup } from '@hmmsim/mm';
import { getPage, putPage } from '@hmmsim/pagetable';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkPinnedNotMigrated,
  checkPinnedPagesStayed,
  createMigrateVma,
  devicePrivatePteAt,
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
} from '../src/index.ts';
import { checkAll, mmapAnon, PAGE, pins, read, setup, write } from './helpers.ts';

afterEach(() => checkAll());

function pfnAt(mm: Parameters<typeof pteLookup>[0], addr: number): number {
  return mm.pt.val[pteLookup(mm, addr)] as number;
}

describe('pinned pages (extra references) are not migrated', () => {
  it('a GUP-style pin keeps its page mapped; the others move', async () => {
    const { machine, mm, dev } = setup();
    const addr = await mmapAnon(mm, 4);
    await write(mm, addr, new Uint8Array(4 * PAGE).fill(8));
    const pinned = pfnAt(mm, addr + 2 * PAGE);
    getPage(machine.phys, pinned); // get_user_pages
    pins.set(pinned, 1);
    await downRead(mm.mmapSem);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + 4 * PAGE);
    expect(await migrateVmaSetup(args)).toBe(0);
    // the pinned slot was restored by prepare: src 0, still mapped
    expect(args.src![2]).toBe(0);
    expect(args.cpages).toBe(3);
    for (let i = 0; i < 4; i++) {
      const s = migratePfnToPage(args.src![i]!);
      if (s < 0) continue;
      const d = dev.allocPage();
      machine.phys.contents.set(d, new Uint8Array(PAGE).fill(8));
      args.dst![i] = migratePfn(d) + MIGRATE_PFN_LOCKED;
    }
    await migrateVmaPages(args);
    expect(checkPinnedNotMigrated(machine, args, new Set([pinned]))).toEqual([]);
    await migrateVmaFinalize(args);
    upRead(mm.mmapSem);
    expect(checkPinnedPagesStayed(mm, [{ addr: addr + 2 * PAGE, pfn: pinned }])).toEqual([]);
    for (const i of [0, 1, 3]) expect(devicePrivatePteAt(mm, addr + i * PAGE)).not.toBeNull();
    expect(await read(mm, addr, 4 * PAGE)).toEqual(new Uint8Array(4 * PAGE).fill(8));
    putPage(machine.phys, pinned);
    pins.clear();
  });

  it('through the driver: the pinned page stays, migrateToDevice reports the rest', async () => {
    const { machine, mm, dev } = setup();
    const addr = await mmapAnon(mm, 3);
    await write(mm, addr, new Uint8Array(3 * PAGE).fill(1));
    const pinned = pfnAt(mm, addr);
    getPage(machine.phys, pinned);
    pins.set(pinned, 1);
    expect(await dev.migrateToDevice(mm, addr, addr + 3 * PAGE)).toBe(2);
    expect(pfnAt(mm, addr)).toBe(pinned);
  });

  it('a reference taken between setup and pages makes migrate_page fail (-EAGAIN): restored', async () => {
    const { machine, mm, dev } = setup();
    const addr = await mmapAnon(mm, 1);
    await write(mm, addr, new Uint8Array([5]));
    const page = pfnAt(mm, addr);
    await downRead(mm.mmapSem);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + PAGE);
    expect(await migrateVmaSetup(args)).toBe(0);
    expect(migratePfnHas(args.src![0]!, MIGRATE_PFN_MIGRATE)).toBe(true);
    getPage(machine.phys, page); // someone pins it now (a waiter on the migration entry would too)
    const d = dev.allocPage();
    args.dst![0] = migratePfn(d) + MIGRATE_PFN_LOCKED;
    await migrateVmaPages(args);
    expect(migratePfnHas(args.src![0]!, MIGRATE_PFN_MIGRATE)).toBe(false);
    await migrateVmaFinalize(args);
    upRead(mm.mmapSem);
    expect(pfnAt(mm, addr)).toBe(page);
    expect(dev.isFree(d)).toBe(true);
    putPage(machine.phys, page);
  });

  it('device-private pages are always movable, even with extra references', async () => {
    const { machine, mm, dev } = setup();
    const addr = await mmapAnon(mm, 1);
    await write(mm, addr, new Uint8Array([6]));
    await dev.migrateToDevice(mm, addr, addr + PAGE);
    const dpfn = devicePrivatePteAt(mm, addr)!.pfn;
    getPage(machine.phys, dpfn); // extra reference on the device page
    pins.set(dpfn, 1);
    await downRead(mm.mmapSem);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + PAGE);
    expect(await migrateVmaSetup(args)).toBe(0);
    expect(migratePfnToPage(args.src![0]!)).toBe(dpfn);
    expect(migratePfnHas(args.src![0]!, MIGRATE_PFN_MIGRATE)).toBe(true); // the pin test says yes
    await migrateVmaPages(args); // no dst: restored
    await migrateVmaFinalize(args);
    upRead(mm.mmapSem);
    // Back to RAM: migrate_page refuses (refcount != expected 2), so the page stays on the device.
    expect(await dev.migrateToSystem(mm, addr, addr + PAGE)).toBe(0);
    expect(devicePrivatePteAt(mm, addr)?.pfn).toBe(dpfn);
    putPage(machine.phys, dpfn);
    pins.clear();
    expect(await dev.migrateToSystem(mm, addr, addr + PAGE)).toBe(1);
    expect((await read(mm, addr, 1))[0]).toBe(6);
  });
});
