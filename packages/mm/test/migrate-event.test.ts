import { describe, expect, it } from 'vitest';
import {
  cpuWrite,
  type DevPagemapOps,
  findVma,
  InvalidationRecorder,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_MIGRATE,
  MMU_NOTIFY_PROTECTION_VMA,
  MMU_NOTIFY_RELEASE,
  MMU_NOTIFY_SOFT_DIRTY,
  MMU_NOTIFY_UNMAP,
  type MmuNotifierHooks,
  type MmuNotifierRange,
  mmap,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  mmuNotifierRangeInitMigrate,
  mmuNotifierSetHooks,
  mmuNotifyEventName,
  munmap,
  PROT_READ,
  PROT_WRITE,
} from '../src/index.ts';
import { bytes, PAGE, setup } from './helpers.ts';

const A = 0x10000000;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** A mirror of one device: skips the MIGRATE invalidations its own migration causes. */
class SkippingMirror implements MmuNotifierHooks {
  readonly handled: string[] = [];
  readonly skipped: string[] = [];
  constructor(readonly owner: unknown) {}

  async invalidateRangeStart(range: MmuNotifierRange): Promise<number> {
    const line = `${mmuNotifyEventName(range.event)} 0x${range.start.toString(16)}`;
    if (range.event === MMU_NOTIFY_MIGRATE && range.migratePgmapOwner === this.owner) {
      this.skipped.push(line);
    } else this.handled.push(line);
    return 0;
  }

  async invalidateRangeEnd(): Promise<void> {}
  async release(): Promise<void> {}
}

async function bracket(range: MmuNotifierRange): Promise<void> {
  await mmuNotifierInvalidateRangeStart(range);
  await mmuNotifierInvalidateRangeEnd(range);
}

describe('MMU_NOTIFY_MIGRATE (v5.9)', () => {
  it('is event 6, right after MMU_NOTIFY_RELEASE, with its kernel name', () => {
    expect(MMU_NOTIFY_MIGRATE).toBe(6);
    expect(MMU_NOTIFY_MIGRATE).toBe(MMU_NOTIFY_RELEASE + 1);
    expect(mmuNotifyEventName(MMU_NOTIFY_MIGRATE)).toBe('MMU_NOTIFY_MIGRATE');
    expect(mmuNotifyEventName(MMU_NOTIFY_RELEASE)).toBe('MMU_NOTIFY_RELEASE');
    expect(mmuNotifyEventName(7)).toBe('MMU_NOTIFY_<7>');
    const all = [
      MMU_NOTIFY_UNMAP,
      MMU_NOTIFY_CLEAR,
      MMU_NOTIFY_PROTECTION_VMA,
      MMU_NOTIFY_PROTECTION_VMA + 1,
      MMU_NOTIFY_SOFT_DIRTY,
      MMU_NOTIFY_RELEASE,
      MMU_NOTIFY_MIGRATE,
    ].map(mmuNotifyEventName);
    expect(new Set(all).size).toBe(7);
  });

  it('mmuNotifierRangeInit carries no owner; mmuNotifierRangeInitMigrate carries the given one', async () => {
    const { mm } = setup();
    await mmap(mm, A, 2 * PAGE, RW, ANON | MAP_FIXED);
    const vma = findVma(mm, A)!;
    for (const ev of [MMU_NOTIFY_UNMAP, MMU_NOTIFY_CLEAR, MMU_NOTIFY_MIGRATE] as const) {
      expect(mmuNotifierRangeInit(ev, 0, vma, mm, A, A + PAGE).migratePgmapOwner).toBeNull();
    }
    const owner = { device: 'gpu0' };
    const r = mmuNotifierRangeInitMigrate(0, vma, mm, A, A + 2 * PAGE, owner);
    expect(r).toEqual({
      mm,
      vma,
      start: A,
      end: A + 2 * PAGE,
      flags: 0,
      event: MMU_NOTIFY_MIGRATE,
      migratePgmapOwner: owner,
    });
    expect(r.migratePgmapOwner).toBe(owner);
    expect(
      mmuNotifierRangeInitMigrate(MMU_NOTIFIER_RANGE_BLOCKABLE, null, mm, A, A + PAGE, null),
    ).toMatchObject({ vma: null, flags: MMU_NOTIFIER_RANGE_BLOCKABLE, migratePgmapOwner: null });
    expect(
      mmuNotifierRangeInitMigrate(0, null, mm, A, A + PAGE, undefined).migratePgmapOwner,
    ).toBeNull();
  });

  it('the recorder logs the owner of start and end; CPU-side invalidations carry null', async () => {
    const { mm, rec } = setup();
    await mmap(mm, A, 2 * PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(PAGE, 1));
    rec.clear();
    const owner = Symbol('dev0');
    await bracket(mmuNotifierRangeInitMigrate(0, findVma(mm, A)!, mm, A, A + PAGE, owner));
    expect(await munmap(mm, A, 2 * PAGE)).toBe(0);
    const startsAndEnds = rec.log.filter((r) => r.kind === 'start' || r.kind === 'end');
    expect(startsAndEnds.map((r) => [r.kind, r.event, r.migratePgmapOwner])).toEqual([
      ['start', MMU_NOTIFY_MIGRATE, owner],
      ['end', MMU_NOTIFY_MIGRATE, owner],
      ['start', MMU_NOTIFY_UNMAP, null],
      ['end', MMU_NOTIFY_UNMAP, null],
    ]);
    expect(rec.lines()[0]).toBe(`start MIGRATE 0x${A.toString(16)}-0x${(A + PAGE).toString(16)}`);
  });

  it('a listener can skip exactly the MIGRATE invalidations of its own owner', async () => {
    const { mm } = setup();
    const mine = { device: 0 };
    const other = { device: 1 };
    const mirror = new SkippingMirror(mine);
    mmuNotifierSetHooks(mm, mirror);
    const at = (i: number) => A + i * PAGE;
    const r = (i: number, owner: unknown) =>
      mmuNotifierRangeInitMigrate(0, null, mm, at(i), at(i + 1), owner);
    await bracket(r(0, mine));
    await bracket(r(1, other));
    await bracket(r(2, null));
    await bracket(mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, at(3), at(4)));
    // A CLEAR range that somehow carries the owner is still not a migration: handled.
    const clear = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, at(4), at(5));
    clear.migratePgmapOwner = mine;
    await bracket(clear);
    expect(mirror.skipped).toEqual([`MMU_NOTIFY_MIGRATE 0x${at(0).toString(16)}`]);
    expect(mirror.handled).toEqual([
      `MMU_NOTIFY_MIGRATE 0x${at(1).toString(16)}`,
      `MMU_NOTIFY_MIGRATE 0x${at(2).toString(16)}`,
      `MMU_NOTIFY_CLEAR 0x${at(3).toString(16)}`,
      `MMU_NOTIFY_CLEAR 0x${at(4).toString(16)}`,
    ]);
  });

  it('machine.devPagemaps entries expose the v5.7 dev_pagemap owner (undefined when unset)', () => {
    const { machine } = setup();
    const owner = { device: 'gpu0' };
    const withOwner: DevPagemapOps = { migrateToRam: async () => 0, owner };
    const without: DevPagemapOps = { migrateToRam: async () => 0 };
    machine.devPagemaps.set(1, withOwner);
    machine.devPagemaps.set(2, without);
    expect(machine.devPagemaps.get(1)?.owner).toBe(owner);
    expect(machine.devPagemaps.get(2)?.owner).toBeUndefined();
    expect(machine.devPagemaps.get(3)?.owner).toBeUndefined();
    machine.devPagemaps.clear();
  });

  it('a recorder in front of another listener forwards MIGRATE ranges unchanged', async () => {
    const { mm } = setup();
    const owner = { device: 0 };
    const mirror = new SkippingMirror(owner);
    mmuNotifierSetHooks(mm, mirror);
    const rec = new InvalidationRecorder().attach(mm);
    await bracket(mmuNotifierRangeInitMigrate(0, null, mm, A, A + PAGE, owner));
    expect(rec.starts().map((s) => s.event)).toEqual([MMU_NOTIFY_MIGRATE]);
    expect(mirror.skipped).toHaveLength(1);
    expect(mirror.handled).toHaveLength(0);
  });
});
