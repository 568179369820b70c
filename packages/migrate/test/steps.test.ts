import { downRead, PAGE_SIZE, upRead } from '@hmmsim/kernel';
import { findVma, pteLookup, reclaimPage } from '@hmmsim/mm';
import {
  clearPage,
  copyPage,
  isMigrationEntry,
  pageLocked,
  pteMkwrite,
  ptePresent,
  pteToSwpEntry,
  trylockPage,
  unlockPage,
} from '@hmmsim/pagetable';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMigrateVma,
  formatMigratePfn,
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_WRITE,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  peekUser,
} from '../src/index.ts';
import { checkAll, mmapAnon, PAGE, read, setup, write } from './helpers.ts';

afterEach(() => checkAll());

function pfnAt(mm: Parameters<typeof pteLookup>[0], addr: number): number {
  const slot = pteLookup(mm, addr);
  if (slot < 0) return -1;
  return ptePresent(mm.pt.bits[slot] as number) ? (mm.pt.val[slot] as number) : -1;
}

function isMigrationPte(mm: Parameters<typeof pteLookup>[0], addr: number): boolean {
  const slot = pteLookup(mm, addr);
  if (slot < 0) return false;
  const bits = mm.pt.bits[slot] as number;
  return (
    bits !== 0 &&
    !ptePresent(bits) &&
    isMigrationEntry(pteToSwpEntry(bits, mm.pt.val[slot] as number))
  );
}

describe('migrate_vma_setup page by page (v5.4 collect/prepare/unmap)', () => {
  it('produces the spec src entry for every CPU state', async () => {
    const { machine, mm, dev, rec } = setup();
    const addr = await mmapAnon(mm, 8);
    // 0 written (RW), 1 written then its PTE write-protected, 2 read-faulted (zero page),
    // 3 untouched (pte_none), 4 swapped out, 5 on the device, 6 written, 7 untouched.
    for (const i of [0, 1, 4, 5, 6]) await write(mm, addr + i * PAGE, new Uint8Array([i + 1]));
    await read(mm, addr + 2 * PAGE, 1);
    const s1 = pteLookup(mm, addr + PAGE);
    mm.pt.bits[s1] = (mm.pt.bits[s1] as number) & ~pteMkwrite(0);
    expect(await reclaimPage(machine, pfnAt(mm, addr + 4 * PAGE))).toBe(0);
    expect(await dev.migrateToDevice(mm, addr + 5 * PAGE, addr + 6 * PAGE)).toBe(1);
    const p0 = pfnAt(mm, addr);
    const p1 = pfnAt(mm, addr + PAGE);
    const p6 = pfnAt(mm, addr + 6 * PAGE);
    const devPage = dev.firstPfn; // the free list hands out the lowest page first
    rec.clear();

    await downRead(mm.mmapSem);
    const vma = findVma(mm, addr)!;
    const args = createMigrateVma(vma, addr, addr + 8 * PAGE);
    expect(await migrateVmaSetup(args)).toBe(0);
    const src = [...args.src!].map(formatMigratePfn);
    const hex = (p: number) => `pfn 0x${p.toString(16)}`;
    expect(src).toEqual([
      `${hex(p0)} VALID|MIGRATE|LOCKED|WRITE`,
      `${hex(p1)} VALID|MIGRATE|LOCKED`,
      'MIGRATE', // zero page
      'MIGRATE', // pte_none
      '0', // swap entry: not migrated
      `${hex(devPage)} VALID|MIGRATE|LOCKED|WRITE`, // device-private entry
      `${hex(p6)} VALID|MIGRATE|LOCKED|WRITE`,
      'MIGRATE',
    ]);
    expect(args.npages).toBe(8);
    expect(args.cpages).toBe(args.src!.filter((e) => migratePfnHas(e, MIGRATE_PFN_MIGRATE)).length);
    // one CLEAR invalidation of the whole range
    expect(rec.starts(mm)).toEqual([
      { event: 1, start: addr, end: addr + 8 * PAGE, blockable: true },
    ]);
    // selected pages are locked and mapped only by migration entries
    for (const i of [0, 1, 5, 6]) {
      expect(isMigrationPte(mm, addr + i * PAGE)).toBe(true);
      expect(pageLocked(machine.phys, migratePfnToPage(args.src![i]!))).toBe(true);
    }
    // The driver migrates nothing: pages clears MIGRATE, finalize restores everything.
    await migrateVmaPages(args);
    expect(args.src!.some((e) => migratePfnHas(e, MIGRATE_PFN_MIGRATE))).toBe(false);
    await migrateVmaFinalize(args);
    upRead(mm.mmapSem);
    expect(pfnAt(mm, addr)).toBe(p0);
    expect(pfnAt(mm, addr + 6 * PAGE)).toBe(p6);
    expect(peekUser(mm, addr + 5 * PAGE, 1)[0]).toBe(6);
    expect(peekUser(mm, addr + 4 * PAGE, 1)[0]).toBe(5);
  });

  it('populates holes, pte_none and the zero page in migrate_vma_pages (CLEAR from the first one)', async () => {
    const { machine, mm, dev, rec } = setup();
    const addr = await mmapAnon(mm, 4);
    await write(mm, addr, new Uint8Array([9]));
    await read(mm, addr + 2 * PAGE, 1); // zero page at 2; 1 and 3 pte_none
    await downRead(mm.mmapSem);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + 4 * PAGE);
    expect(await migrateVmaSetup(args)).toBe(0);
    expect(args.cpages).toBe(4);
    const dpages: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = dev.allocPage();
      const s = migratePfnToPage(args.src![i]!);
      if (s >= 0)
        copyPage(machine.phys, d, s); // the driver's copy
      else clearPage(machine.phys, d);
      dpages.push(d);
      args.dst![i] = migratePfn(d) + MIGRATE_PFN_LOCKED;
    }
    rec.clear();
    await migrateVmaPages(args);
    // populated slots: src becomes MIGRATE alone
    expect([...args.src!].map(formatMigratePfn).slice(1)).toEqual([
      'MIGRATE',
      'MIGRATE',
      'MIGRATE',
    ]);
    expect(rec.starts(mm)).toEqual([
      { event: 1, start: addr + PAGE, end: addr + 4 * PAGE, blockable: true },
    ]);
    await migrateVmaFinalize(args);
    upRead(mm.mmapSem);
    expect(machine.phys.mapcount[dpages[2]!]).toBe(1);
    expect(await read(mm, addr, 4)).toEqual(new Uint8Array([9, 0, 0, 0]));
    expect(dev.stats.cpuFaults).toBe(1);
  });

  it('a page someone else holds locked is dropped (best effort) and stays mapped', async () => {
    const { machine, mm, dev } = setup();
    const addr = await mmapAnon(mm, 2);
    await write(mm, addr, new Uint8Array(2 * PAGE).fill(3));
    const p0 = pfnAt(mm, addr);
    expect(trylockPage(machine.phys, p0)).toBe(true);
    expect(await dev.migrateToDevice(mm, addr, addr + 2 * PAGE)).toBe(1);
    expect(pfnAt(mm, addr)).toBe(p0);
    unlockPage(machine.phys, p0);
    expect(await read(mm, addr, 2 * PAGE)).toEqual(new Uint8Array(2 * PAGE).fill(3));
  });

  it('setup on an unaligned start computes npages before masking (v5.4)', async () => {
    const { mm } = setup();
    const addr = await mmapAnon(mm, 4);
    await downRead(mm.mmapSem);
    const args = createMigrateVma(findVma(mm, addr)!, addr + 0x800, addr + 3 * PAGE);
    expect(await migrateVmaSetup(args)).toBe(0);
    expect(args.start).toBe(addr);
    expect(args.end).toBe(addr + 3 * PAGE);
    expect(args.npages).toBe(3);
    await migrateVmaPages(args);
    await migrateVmaFinalize(args);
    upRead(mm.mmapSem);
  });

  it('MIGRATE_PFN constants have the v5.4 values', () => {
    expect([MIGRATE_PFN_VALID, MIGRATE_PFN_MIGRATE, MIGRATE_PFN_LOCKED, MIGRATE_PFN_WRITE]).toEqual(
      [1, 2, 4, 8],
    );
    expect(PAGE).toBe(PAGE_SIZE);
  });
});
