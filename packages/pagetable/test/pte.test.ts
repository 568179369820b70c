import { describe, expect, it } from 'vitest';
import {
  _HPAGE_CHG_MASK,
  _PAGE_ACCESSED,
  _PAGE_CHG_MASK,
  _PAGE_DEVMAP,
  _PAGE_DIRTY,
  _PAGE_NX,
  _PAGE_PRESENT,
  _PAGE_PROTNONE,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_SOFT_DIRTY,
  _PAGE_SPECIAL,
  _PAGE_SWP_ENTRY,
  _PAGE_TABLE,
  _PAGE_USER,
  entryIsTable,
  makeMigrationEntry,
  PAGE_COPY,
  PAGE_COPY_EXEC,
  PAGE_NONE,
  PAGE_READONLY,
  PAGE_READONLY_EXEC,
  PAGE_SHARED,
  PAGE_SHARED_EXEC,
  pmdBad,
  pmdDevmap,
  pmdDirty,
  pmdHuge,
  pmdLarge,
  pmdMkdevmap,
  pmdMkhuge,
  pmdModify,
  pmdNone,
  pmdPresent,
  pmdProtnone,
  pmdTransHuge,
  pmdWrite,
  pmdYoung,
  pteDevmap,
  pteDirty,
  pteExec,
  pteMkclean,
  pteMkdevmap,
  pteMkdirty,
  pteMkold,
  pteMkspecial,
  pteMkwrite,
  pteMkyoung,
  pteModify,
  pteNone,
  ptePresent,
  pteProtnone,
  pteSoftDirty,
  pteSpecial,
  pteWrite,
  pteWrprotect,
  pteYoung,
  pudDevmap,
  pudLarge,
  pudNone,
  pudPresent,
  pudTransHuge,
  swpEntryToPteBits,
} from '../src/index.ts';

const RW_PAGE = PAGE_SHARED | _PAGE_DIRTY;
const SWAP_BITS = swpEntryToPteBits(makeMigrationEntry(5, true));

describe('PTE predicates', () => {
  it('none / present / protnone / swap', () => {
    expect(pteNone(0)).toBe(true);
    expect(pteNone(SWAP_BITS)).toBe(false);
    expect(ptePresent(RW_PAGE)).toBe(true);
    expect(ptePresent(PAGE_NONE)).toBe(true);
    expect(pteProtnone(PAGE_NONE)).toBe(true);
    expect(pteProtnone(RW_PAGE)).toBe(false);
    expect(ptePresent(SWAP_BITS)).toBe(false);
    expect(ptePresent(0)).toBe(false);
  });

  it('flag predicates', () => {
    expect(pteWrite(RW_PAGE)).toBe(true);
    expect(pteWrite(PAGE_READONLY)).toBe(false);
    expect(pteDirty(RW_PAGE)).toBe(true);
    expect(pteYoung(PAGE_READONLY)).toBe(true);
    expect(pteSpecial(PAGE_READONLY | _PAGE_SPECIAL)).toBe(true);
    expect(pteDevmap(PAGE_READONLY | _PAGE_DEVMAP)).toBe(true);
    expect(pteSoftDirty(_PAGE_SOFT_DIRTY | _PAGE_PRESENT)).toBe(true);
    expect(pteExec(PAGE_READONLY_EXEC)).toBe(true);
    expect(pteExec(PAGE_READONLY)).toBe(false);
  });

  it('modifiers', () => {
    const b = PAGE_COPY;
    expect(pteWrite(pteMkwrite(b))).toBe(true);
    expect(pteWrite(pteWrprotect(pteMkwrite(b)))).toBe(false);
    expect(pteMkdirty(b) & (_PAGE_DIRTY | _PAGE_SOFT_DIRTY)).toBe(_PAGE_DIRTY | _PAGE_SOFT_DIRTY);
    expect(pteDirty(pteMkclean(pteMkdirty(b)))).toBe(false);
    expect(pteYoung(pteMkold(b))).toBe(false);
    expect(pteYoung(pteMkyoung(pteMkold(b)))).toBe(true);
    expect(pteSpecial(pteMkspecial(b))).toBe(true);
    expect(pteMkdevmap(b) & (_PAGE_SPECIAL | _PAGE_DEVMAP)).toBe(_PAGE_SPECIAL | _PAGE_DEVMAP);
  });

  it('pteModify keeps _PAGE_CHG_MASK bits and takes the rest from the new protection', () => {
    const old = PAGE_SHARED | _PAGE_DIRTY | _PAGE_SPECIAL | _PAGE_SOFT_DIRTY;
    const m = pteModify(old, PAGE_READONLY);
    expect(m & _PAGE_CHG_MASK).toBe(old & _PAGE_CHG_MASK);
    expect(pteWrite(m)).toBe(false);
    expect(ptePresent(m)).toBe(true);
    const none = pteModify(old, PAGE_NONE);
    expect(pteProtnone(none)).toBe(true);
    expect(pteDirty(none)).toBe(true);
  });

  it('protection constants match x86', () => {
    expect(PAGE_SHARED).toBe(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX);
    expect(PAGE_SHARED_EXEC & _PAGE_NX).toBe(0);
    expect(PAGE_COPY).toBe(PAGE_READONLY);
    expect(PAGE_COPY_EXEC).toBe(PAGE_READONLY_EXEC);
    expect(PAGE_NONE & _PAGE_PRESENT).toBe(0);
    expect(PAGE_NONE & _PAGE_PROTNONE).toBe(_PAGE_PROTNONE);
  });
});

describe('PMD / PUD predicates', () => {
  const huge = pmdMkhuge(RW_PAGE);
  it('distinguish tables, huge leaves, devmap leaves and swap-format entries', () => {
    expect(pmdNone(0)).toBe(true);
    expect(pmdPresent(_PAGE_TABLE)).toBe(true);
    expect(pmdBad(_PAGE_TABLE)).toBe(false);
    expect(pmdBad(huge)).toBe(true);
    expect(pmdHuge(_PAGE_TABLE)).toBe(false);
    expect(entryIsTable(_PAGE_TABLE)).toBe(true);
    expect(entryIsTable(huge)).toBe(false);
    expect(entryIsTable(SWAP_BITS)).toBe(false);
    expect(pmdTransHuge(huge)).toBe(true);
    expect(pmdLarge(huge)).toBe(true);
    expect(pmdHuge(huge)).toBe(true);
    expect(pmdWrite(huge) && pmdDirty(huge) && pmdYoung(huge)).toBe(true);
    const dev = pmdMkdevmap(huge);
    expect(pmdDevmap(dev)).toBe(true);
    expect(pmdTransHuge(dev)).toBe(false);
    expect(pmdPresent(SWAP_BITS)).toBe(false);
    expect(pmdHuge(SWAP_BITS)).toBe(true);
    expect(pmdProtnone(pmdMkhuge(PAGE_NONE))).toBe(true);
    expect(pmdPresent(pmdMkhuge(PAGE_NONE))).toBe(true);
    expect(pmdModify(huge, PAGE_READONLY) & _PAGE_PSE).toBe(_PAGE_PSE);
    expect(_HPAGE_CHG_MASK & _PAGE_PSE).toBe(_PAGE_PSE);
    expect(pmdWrite(pmdModify(huge, PAGE_READONLY))).toBe(false);
  });

  it('PUD predicates', () => {
    expect(pudNone(0)).toBe(true);
    expect(pudPresent(_PAGE_TABLE)).toBe(true);
    expect(pudLarge(_PAGE_TABLE)).toBe(false);
    const leaf = PAGE_SHARED | _PAGE_PSE | _PAGE_DEVMAP;
    expect(pudLarge(leaf)).toBe(true);
    expect(pudDevmap(leaf)).toBe(true);
    expect(pudTransHuge(leaf)).toBe(false);
    expect(pudTransHuge(PAGE_SHARED | _PAGE_PSE)).toBe(true);
  });

  it('the swap marker is outside every protection constant', () => {
    for (const p of [PAGE_NONE, PAGE_SHARED, PAGE_COPY, PAGE_READONLY, _PAGE_TABLE]) {
      expect(p & _PAGE_SWP_ENTRY).toBe(0);
    }
  });
});
