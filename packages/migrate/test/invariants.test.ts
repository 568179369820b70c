import { downRead, KernelBugError, upRead } from '@hmmsim/kernel';
import { findVma, pteLookup } from '@hmmsim/mm';
import { getPage, putPage } from '@hmmsim/pagetable';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkDevicePageFree,
  checkDevicePrivateNotExposed,
  checkMigrationEntries,
  checkPageRefcounts,
  createMigrateVma,
  devicePrivatePteAt,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
} from '../src/index.ts';
import { checkAll, mmapAnon, PAGE, setup, write } from './helpers.ts';

afterEach(() => checkAll());

describe('the invariant checks catch what they are about', () => {
  it('16: a leftover reference; 20: migration entries in flight and after; 18: DMA of a device page', async () => {
    const { machine, mm, dev } = setup();
    const addr = await mmapAnon(mm, 2);
    await write(mm, addr, new Uint8Array(2 * PAGE).fill(1));
    const pfn = mm.pt.val[pteLookup(mm, addr)] as number;
    getPage(machine.phys, pfn);
    expect(checkPageRefcounts(machine).join()).toMatch(
      new RegExp(`RAM pfn ${pfn} refcount 2, expected 1`),
    );
    putPage(machine.phys, pfn);
    expect(checkPageRefcounts(machine)).toEqual([]);

    await downRead(mm.mmapSem);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + 2 * PAGE);
    expect(await migrateVmaSetup(args)).toBe(0);
    expect(checkMigrationEntries(machine, { quiescent: false })).toEqual([]);
    expect(checkMigrationEntries(machine, { quiescent: true })).toHaveLength(2);
    await migrateVmaPages(args);
    await migrateVmaFinalize(args);
    upRead(mm.mmapSem);
    expect(checkMigrationEntries(machine, { quiescent: true })).toEqual([]);

    await dev.migrateToDevice(mm, addr, addr + PAGE);
    const dp = devicePrivatePteAt(mm, addr)!.pfn;
    expect(checkDevicePrivateNotExposed(machine, { dmaPfns: [dp] }).join()).toMatch(/DMA mapping/);
  });

  it('19: a device page idle but not on its free list (leak) is reported', () => {
    const { machine, dev } = setup({ devicePages: 2 });
    const leaked = {
      owns: (p: number) => dev.owns(p),
      isFree: (p: number) => p !== dev.firstPfn && dev.isFree(p),
    };
    expect(checkDevicePageFree(machine, [leaked]).join()).toMatch(/not on its driver's free list/);
    expect(checkDevicePageFree(machine, [dev])).toEqual([]);
  });

  it('pages/finalize on arguments setup never filled do nothing; with pages but no vma they are bugs', async () => {
    const { mm } = setup();
    const addr = await mmapAnon(mm, 1);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + PAGE);
    await migrateVmaPages(args);
    await migrateVmaFinalize(args);
    expect(args.npages).toBe(0);
    await expect(migrateVmaFinalize({ ...args, vma: null, npages: 1 })).rejects.toThrow(
      KernelBugError,
    );
  });
});
