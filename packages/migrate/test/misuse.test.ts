/**
 * Misuse of the three-step migrate_vma API in the wrong state, and numbers a C caller could not
 * pass: each gets a typed error, changes nothing (or, for finalize, still finishes the migration
 * from the core's record), and leaves no page locked — in every generation of the API. The
 * afterEach check (invariants 16–21 plus the mm's) is what would have failed before: a second
 * setup left the first one's pages locked behind migration entries, a changed npages left the
 * tail slots locked, a duplicate destination page was unlocked twice in finalize.
 */
import { downRead, InvalidArgumentError, KernelBugError, upRead } from '@hmmsim/kernel';
import { findVma, type Machine, type MmStruct, snapshotMm } from '@hmmsim/mm';
import { copyPage, lockPage, pageLocked, unlockPage } from '@hmmsim/pagetable';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkLockedPages,
  createMigrateVma,
  MIGRATE_PFN_LOCKED,
  MIGRATE_VMA_SELECT_SYSTEM,
  MIGRATE_VMA_VERSIONS,
  type MigrateVma,
  type MigrateVmaVersion,
  migratePfn,
  migratePfnToPage,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  migrationsInFlight,
  type TestDevice,
} from '../src/index.ts';
import { checkAll, mmapAnon, PAGE, read, setup, write } from './helpers.ts';

afterEach(() => checkAll());

/** A struct for `[addr, addr + n pages)` carrying the fields `version` reads. */
function argsFor(mm: MmStruct, addr: number, n: number, version: MigrateVmaVersion): MigrateVma {
  const args = createMigrateVma(findVma(mm, addr) ?? null, addr, addr + n * PAGE);
  if (version === '5.9') {
    args.pgmapOwner = 'driver';
    args.flags = MIGRATE_VMA_SELECT_SYSTEM;
  }
  return args;
}

/** Page tables, counts and flags: everything a migration step could change. */
function state(machine: Machine, mm: MmStruct) {
  const pm = machine.phys;
  return {
    mm: snapshotMm(mm),
    refcount: [...pm.refcount],
    mapcount: [...pm.mapcount],
    flags: [...pm.flags],
  };
}

/** Four written pages and a struct set up over them (mmap_sem held on return). */
async function setUp(version: MigrateVmaVersion) {
  const w = setup();
  const addr = await mmapAnon(w.mm, 4);
  await write(w.mm, addr, new Uint8Array(4 * PAGE).fill(0x3c));
  await downRead(w.mm.mmapSem);
  const args = argsFor(w.mm, addr, 4, version);
  expect(await migrateVmaSetup(args, { version })).toBe(0);
  expect(args.cpages).toBe(4);
  return { ...w, addr, args };
}

/** The driver's part: one locked device page per slot, data copied. */
function driverFills(dev: TestDevice, machine: Machine, args: MigrateVma): number[] {
  const out: number[] = [];
  for (let i = 0; i < args.npages; i++) {
    const d = dev.allocPage();
    copyPage(machine.phys, d, migratePfnToPage(args.src![i]!)); // the driver's copy
    args.dst![i] = migratePfn(d) + MIGRATE_PFN_LOCKED;
    out.push(d);
  }
  return out;
}

async function done(mm: MmStruct, addr: number): Promise<void> {
  upRead(mm.mmapSem);
  expect(await read(mm, addr, 4 * PAGE)).toEqual(new Uint8Array(4 * PAGE).fill(0x3c));
}

describe.each(MIGRATE_VMA_VERSIONS)('migrate_vma v%s misuse', (version) => {
  it('setup twice before finalize: KernelBugError, the first migration untouched and still finishes', async () => {
    const { machine, mm, dev, addr, args } = await setUp(version);
    const before = state(machine, mm);
    const src = [...args.src!];
    await expect(migrateVmaSetup(args, { version })).rejects.toThrow(/still carry the migrate_vma/);
    // A copy of the struct shares its arrays: refused too.
    await expect(migrateVmaSetup({ ...args }, { version })).rejects.toThrow(KernelBugError);
    expect(state(machine, mm)).toEqual(before);
    expect([...args.src!]).toEqual(src);
    driverFills(dev, machine, args);
    await migrateVmaPages(args);
    await migrateVmaFinalize(args);
    expect(migrationsInFlight(machine)).toEqual([]);
    await done(mm, addr);
  });

  it('src changed between setup and pages: pages refuses with nothing changed; restored, it goes on', async () => {
    const { machine, mm, dev, addr, args } = await setUp(version);
    const before = state(machine, mm);
    const kept = args.src![1]!;
    args.src![1] = 0;
    await expect(migrateVmaPages(args)).rejects.toThrow(/args\.src\[1\] is 0, the core left pfn/);
    expect(state(machine, mm)).toEqual(before);
    args.src![1] = kept;
    driverFills(dev, machine, args);
    await migrateVmaPages(args);
    await migrateVmaFinalize(args);
    await done(mm, addr);
  });

  it('npages shrunk before finalize: finalize finishes every slot from its record, then names it', async () => {
    const { machine, mm, dev, addr, args } = await setUp(version);
    driverFills(dev, machine, args);
    await migrateVmaPages(args);
    args.npages = 2; // the last two slots would stay locked behind migration entries for good
    await expect(migrateVmaFinalize(args)).rejects.toThrow(
      /args\.npages is 2, migrate_vma_setup left 4.*finished from the core's record/,
    );
    expect(checkLockedPages(machine, { quiescent: true })).toEqual([]);
    expect(dev.nrFree).toBe(dev.nrPages - 4); // all four moved to the device
    await done(mm, addr);
  });

  it('a duplicate destination page is refused by pages before anything changes', async () => {
    const { machine, mm, dev, addr, args } = await setUp(version);
    const [d0] = driverFills(dev, machine, args);
    const d3 = migratePfnToPage(args.dst![3]!);
    args.dst![3] = migratePfn(d0!) + MIGRATE_PFN_LOCKED;
    const before = state(machine, mm);
    const src = [...args.src!];
    await expect(migrateVmaPages(args)).rejects.toThrow(/dst\[3\] \(pfn \d+\) is also dst\[0\]/);
    expect(state(machine, mm)).toEqual(before);
    expect([...args.src!]).toEqual(src);
    args.dst![3] = migratePfn(d3) + MIGRATE_PFN_LOCKED;
    await migrateVmaPages(args);
    await migrateVmaFinalize(args);
    await done(mm, addr);
  });

  it('pages twice, finalize twice: KernelBugError, nothing changed', async () => {
    const { machine, mm, dev, addr, args } = await setUp(version);
    driverFills(dev, machine, args);
    await migrateVmaPages(args);
    const before = state(machine, mm);
    await expect(migrateVmaPages(args)).rejects.toThrow(/already called/);
    expect(state(machine, mm)).toEqual(before);
    await migrateVmaFinalize(args);
    const after = state(machine, mm);
    await expect(migrateVmaFinalize(args)).rejects.toThrow(/no migration is in flight/);
    await expect(migrateVmaPages(args)).rejects.toThrow(/no migration is in flight/);
    expect(state(machine, mm)).toEqual(after);
    await done(mm, addr);
  });

  it('finalize without pages after handing in destination pages: restored, pages released, named', async () => {
    const { machine, mm, dev, addr, args } = await setUp(version);
    driverFills(dev, machine, args);
    await expect(migrateVmaFinalize(args)).rejects.toThrow(/without migrate_vma_pages/);
    expect(dev.nrFree).toBe(dev.nrPages);
    await done(mm, addr);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['0.5', 0.5],
    ['-1', -1],
    ['2^53', 2 ** 53],
  ])('start or end %s: InvalidArgumentError naming it, nothing changed', async (_n, bad) => {
    const { machine, mm } = setup();
    const addr = await mmapAnon(mm, 2);
    await write(mm, addr, new Uint8Array(2 * PAGE).fill(1));
    const before = state(machine, mm);
    await downRead(mm.mmapSem);
    for (const field of ['start', 'end'] as const) {
      const args = { ...argsFor(mm, addr, 2, version), [field]: bad };
      await expect(migrateVmaSetup(args, { version })).rejects.toThrow(
        new RegExp(`migrate_vma_setup: args\\.${field} is .*; expected an address`),
      );
    }
    upRead(mm.mmapSem);
    expect(state(machine, mm)).toEqual(before);
  });
});

describe('invariant 21: no page locked with no migration in flight', () => {
  it('sees a stray locked page, a migration never finalized, and a held source page unlocked', async () => {
    const { machine, mm, dev, addr, args } = await setUp('5.4');
    const src0 = migratePfnToPage(args.src![0]!);
    expect(checkLockedPages(machine, { quiescent: false })).toEqual([]);
    expect(checkLockedPages(machine, { quiescent: true }).join('\n')).toMatch(
      /migrate_vma of \[0x[0-9a-f]+, 0x[0-9a-f]+\) in mm\d+ \(4 slots, collected\) was set up and never finalized/,
    );
    unlockPage(machine.phys, src0); // a driver unlocking a page the migration holds
    expect(checkLockedPages(machine, { quiescent: false })).toEqual([
      expect.stringMatching(new RegExp(`pfn ${src0} is held by the migrate_vma .* but not locked`)),
    ]);
    lockPage(machine.phys, src0);
    await migrateVmaPages(args);
    await migrateVmaFinalize(args);
    upRead(mm.mmapSem);
    const d = dev.allocPage(); // allocated and locked by the driver, never handed to a migration
    expect(pageLocked(machine.phys, d)).toBe(true);
    expect(checkLockedPages(machine, { quiescent: true })).toEqual([
      `invariant 21: pfn ${d} is locked with no migration in flight`,
    ]);
    unlockPage(machine.phys, d);
    dev.machine.phys.refcount[d] = 1; // back to idle
    dev.pageFree(d);
    expect(checkLockedPages(machine, { quiescent: true })).toEqual([]);
    expect(await read(mm, addr, 1)).toEqual(new Uint8Array([0x3c]));
  });

  it('typed errors for a struct that is not one', async () => {
    const { mm } = setup();
    const addr = await mmapAnon(mm, 1);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + PAGE);
    await expect(migrateVmaSetup(null as unknown as MigrateVma)).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(migrateVmaSetup({ ...args, src: [0] as unknown as Float64Array })).rejects.toThrow(
      /args\.src is a Array; expected a Float64Array/,
    );
    await expect(migrateVmaPages({ ...args, npages: Number.NaN })).rejects.toThrow(
      /migrate_vma_pages: args\.npages is NaN/,
    );
  });
});
