import { InvalidArgumentError, KernelBugError } from '@hmmsim/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  _PAGE_PSE,
  _PAGE_SWP_ENTRY,
  _PAGE_SWP_SOFT_DIRTY,
  _PAGE_SWP_TYPE_SHIFT,
  devicePrivateEntryToPfn,
  isDevicePrivateEntry,
  isHwpoisonEntry,
  isMigrationEntry,
  isPmdMigrationEntry,
  isSwapPte,
  isWriteDevicePrivateEntry,
  isWriteMigrationEntry,
  MAX_SWAPFILES,
  MAX_SWAPFILES_SHIFT,
  makeDevicePrivateEntry,
  makeDevicePrivateEntryRead,
  makeHwpoisonEntry,
  makeMigrationEntry,
  makeMigrationEntryRead,
  migrationEntryToPfn,
  nonSwapEntry,
  PAGE_SHARED,
  pmdPresent,
  pmdToSwpEntry,
  pmdTransHuge,
  pteNone,
  ptePresent,
  pteSwpClearSoftDirty,
  pteSwpMksoftDirty,
  pteSwpSoftDirty,
  pteToSwpEntry,
  SWP_DEVICE_NUM,
  SWP_DEVICE_READ,
  SWP_DEVICE_WRITE,
  SWP_HWPOISON,
  SWP_HWPOISON_NUM,
  SWP_MIGRATION_NUM,
  SWP_MIGRATION_READ,
  SWP_MIGRATION_WRITE,
  SWP_OFFSET_MAX,
  swpEntry,
  swpEntryToPmd,
  swpEntryToPte,
  swpEntryToPteBits,
  swpOffset,
  swpType,
} from '../src/index.ts';
import { fcSeed } from './fc-seed.ts';

const type = fc.integer({ min: 0, max: 31 });
const offset = fc.integer({ min: 0, max: SWP_OFFSET_MAX });
const opts = { seed: fcSeed, numRuns: 500 };

describe('swap entry types', () => {
  it('follow the v5.4 numbering', () => {
    expect(MAX_SWAPFILES_SHIFT).toBe(5);
    expect(SWP_DEVICE_NUM + SWP_MIGRATION_NUM + SWP_HWPOISON_NUM).toBe(5);
    expect(MAX_SWAPFILES).toBe(27);
    expect([
      SWP_HWPOISON,
      SWP_MIGRATION_READ,
      SWP_MIGRATION_WRITE,
      SWP_DEVICE_WRITE,
      SWP_DEVICE_READ,
    ]).toEqual([27, 28, 29, 30, 31]);
  });
});

describe('swpEntry round trips (property)', () => {
  it('type/offset survive swpEntry and the PTE/PMD encodings', () => {
    fc.assert(
      fc.property(type, offset, fc.boolean(), (t, off, softDirty) => {
        const e = swpEntry(t, off);
        expect(Number.isSafeInteger(e)).toBe(true);
        expect(swpType(e)).toBe(t);
        expect(swpOffset(e)).toBe(off);
        expect(nonSwapEntry(e)).toBe(t >= MAX_SWAPFILES);
        const pte = swpEntryToPte(e);
        expect(pte.val).toBe(off);
        expect(swpEntryToPteBits(e)).toBe(pte.bits);
        expect(pte.bits).toBe(_PAGE_SWP_ENTRY | (t << _PAGE_SWP_TYPE_SHIFT));
        expect(pte.bits & _PAGE_SWP_SOFT_DIRTY).toBe(0);
        const bits = softDirty ? pteSwpMksoftDirty(pte.bits) : pte.bits;
        expect(pteSwpSoftDirty(bits)).toBe(softDirty);
        expect(pteSwpClearSoftDirty(bits)).toBe(pte.bits);
        expect(pteNone(bits)).toBe(false);
        expect(ptePresent(bits)).toBe(false);
        expect(isSwapPte(bits)).toBe(true);
        expect(pteToSwpEntry(bits, pte.val)).toBe(e);
        const pmd = swpEntryToPmd(e);
        expect(pmdPresent(pmd.bits)).toBe(false);
        expect(pmdTransHuge(pmd.bits)).toBe(false);
        expect(pmdToSwpEntry(pmd.bits, pmd.val)).toBe(e);
        expect(isPmdMigrationEntry(pmd.bits)).toBe(
          t === SWP_MIGRATION_READ || t === SWP_MIGRATION_WRITE,
        );
      }),
      opts,
    );
  });

  it('migration entries carry the pfn and the write bit', () => {
    fc.assert(
      fc.property(offset, fc.boolean(), (pfn, write) => {
        const e = makeMigrationEntry(pfn, write);
        expect(isMigrationEntry(e)).toBe(true);
        expect(isWriteMigrationEntry(e)).toBe(write);
        expect(isDevicePrivateEntry(e)).toBe(false);
        expect(migrationEntryToPfn(e)).toBe(pfn);
        const r = makeMigrationEntryRead(e);
        expect(isWriteMigrationEntry(r)).toBe(false);
        expect(migrationEntryToPfn(r)).toBe(pfn);
        const p = swpEntryToPte(e);
        expect(isMigrationEntry(pteToSwpEntry(p.bits, p.val))).toBe(true);
      }),
      opts,
    );
  });

  it('device-private entries carry the pfn and the write bit', () => {
    fc.assert(
      fc.property(offset, fc.boolean(), (pfn, write) => {
        const e = makeDevicePrivateEntry(pfn, write);
        expect(isDevicePrivateEntry(e)).toBe(true);
        expect(isWriteDevicePrivateEntry(e)).toBe(write);
        expect(isMigrationEntry(e)).toBe(false);
        expect(nonSwapEntry(e)).toBe(true);
        expect(devicePrivateEntryToPfn(e)).toBe(pfn);
        const r = makeDevicePrivateEntryRead(e);
        expect(isWriteDevicePrivateEntry(r)).toBe(false);
        expect(devicePrivateEntryToPfn(r)).toBe(pfn);
        const p = swpEntryToPte(e);
        expect(devicePrivateEntryToPfn(pteToSwpEntry(p.bits, p.val))).toBe(pfn);
        expect(isPmdMigrationEntry(p.bits)).toBe(false);
      }),
      opts,
    );
  });

  it('hwpoison entries', () => {
    const e = makeHwpoisonEntry(77);
    expect(isHwpoisonEntry(e)).toBe(true);
    expect(swpOffset(e)).toBe(77);
    expect(nonSwapEntry(e)).toBe(true);
    expect(isHwpoisonEntry(swpEntry(0, 77))).toBe(false);
  });
});

describe('bad input', () => {
  it('rejects out-of-range types, offsets and pfns', () => {
    for (const [t, o] of [
      [-1, 0],
      [32, 0],
      [1.5, 0],
      [0, -1],
      [0, 2 ** 32],
      [0, 0.5],
    ] as const) {
      expect(() => swpEntry(t, o)).toThrow(InvalidArgumentError);
    }
    expect(() => makeMigrationEntry(2 ** 32, true)).toThrow(InvalidArgumentError);
    expect(() => makeDevicePrivateEntry(-1, false)).toThrow(InvalidArgumentError);
    expect(() => makeHwpoisonEntry(0.5)).toThrow(InvalidArgumentError);
  });

  it('decoders refuse entries of the wrong kind', () => {
    expect(() => migrationEntryToPfn(makeDevicePrivateEntry(1, true))).toThrow(KernelBugError);
    expect(() => devicePrivateEntryToPfn(makeMigrationEntry(1, true))).toThrow(KernelBugError);
    expect(() => pteToSwpEntry(PAGE_SHARED, 5)).toThrow(KernelBugError);
    expect(() => pteToSwpEntry(0, 0)).toThrow(KernelBugError);
    expect(isSwapPte(PAGE_SHARED)).toBe(false);
    expect(isSwapPte(0)).toBe(false);
    expect(isPmdMigrationEntry(PAGE_SHARED | _PAGE_PSE)).toBe(false);
  });
});
