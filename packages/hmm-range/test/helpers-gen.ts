/**
 * Helpers for the v5.7 / v5.8 / v5.9 generations: ranges with an inserted interval notifier (the
 * only collision check from v5.7 on), calls under mmap_sem, the driver retry loop, device memory
 * with a dev_pagemap owner, and a few page-table constructors.
 */
import { downRead, upRead } from '@hmmsim/kernel';
import type { VmArea } from '@hmmsim/mm';
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
  mmuIntervalSetSeq,
} from '@hmmsim/mmu-notifier';
import {
  _PAGE_SPECIAL,
  makeDevicePrivateEntry,
  makeHwpoisonEntry,
  makeMigrationEntry,
  PAGE_NONE,
  PAGE_READONLY,
  PG_locked,
  pmdModify,
  pmdOffset,
  pteModify,
  setPmd,
  swpEntryToPteBits,
} from '@hmmsim/pagetable';
import { expect } from 'vitest';
import {
  createHmmPfnsRange,
  createHmmRange,
  type HmmPfnsRange,
  type HmmRange,
  type HmmRangeFaultOptions,
  hmmPfnMake,
  hmmRangeFault,
} from '../src/index.ts';
import {
  addDeviceMemory,
  type Env,
  existingSlot,
  mapAnon,
  PAGE,
  pfnAt,
  SHIFT,
  setPteAt,
  touch,
  VALUES,
} from './helpers.ts';

/** The v5.7 driver flags table: [HMM_PFN_VALID, HMM_PFN_WRITE] (no DEVICE_PRIVATE). */
export const FLAGS57 = [1, 2] as const;
/** Sentinel: an entry the call never wrote (a v5.7 table range). */
export const S = 77;
/** Sentinel of an hmm_pfns range: pfn 3 with flag byte 0x1f (no REQ_* bit, an order no output has). */
export const S58 = 3 * 256 + 0x1f;

/** The two owners of the device-memory tests (compared by identity, as the kernel's void *). */
export const OWNER_A = { name: 'driver A' };
export const OWNER_B = { name: 'driver B' };

/** Generations with the hmm_pfns format. */
export const PFNS_VERSIONS = ['5.8', '5.9'] as const;

/** An interval notifier over [start, start + pages * PAGE) whose invalidate bumps the sequence. */
export async function insertNotifier(
  e: Env,
  start: number,
  pages: number,
): Promise<MmuIntervalNotifier> {
  const mni = new MmuIntervalNotifier();
  const ret = await mmuIntervalNotifierInsert(mni, e.mm, start, pages * PAGE, {
    invalidate(n, _range, curSeq) {
      mmuIntervalSetSeq(n, curSeq);
      return true;
    },
  });
  expect(ret).toBe(0);
  return mni;
}

export interface Init {
  readonly defaultFlags?: number;
  readonly pfnFlagsMask?: number;
  readonly devPrivateOwner?: unknown;
}

/** A v5.7 range: two-entry flags table, the test driver's values, a notifier and a fresh sequence. */
export async function range57(
  e: Env,
  start: number,
  pages: number,
  init: Init = {},
): Promise<HmmRange> {
  const notifier = await insertNotifier(e, start, pages);
  return createHmmRange({
    start,
    end: start + pages * PAGE,
    flags: [...FLAGS57],
    values: [...VALUES],
    pfnShift: SHIFT,
    notifier,
    notifierSeq: await mmuIntervalReadBegin(notifier),
    ...init,
  });
}

/** A v5.8+ range (hmm_pfns) with a notifier and a fresh sequence. */
export async function rangePfns(
  e: Env,
  start: number,
  pages: number,
  init: Init = {},
): Promise<HmmPfnsRange> {
  const notifier = await insertNotifier(e, start, pages);
  return createHmmPfnsRange({
    start,
    end: start + pages * PAGE,
    notifier,
    notifierSeq: await mmuIntervalReadBegin(notifier),
    ...init,
  });
}

/** down_read(mmap_sem); fn(); up_read. */
export async function underSem(e: Env, fn: () => Promise<number>): Promise<number> {
  await downRead(e.mm.mmapSem);
  try {
    return await fn();
  } finally {
    upRead(e.mm.mmapSem);
  }
}

/** hmmRangeFault(range, { version: '5.7' }) under mmap_sem. */
export function fault57(
  e: Env,
  r: HmmRange,
  opts: Omit<HmmRangeFaultOptions, 'version'> = {},
): Promise<number> {
  return underSem(e, () => hmmRangeFault(r, { ...opts, version: '5.7' }));
}

/** hmmRangeFault(range, { version }) on an hmm_pfns range under mmap_sem. */
export function faultPfns(
  e: Env,
  r: HmmPfnsRange,
  version: '5.8' | '5.9' = '5.8',
  opts: Omit<HmmRangeFaultOptions, 'version'> = {},
): Promise<number> {
  return underSem(e, () => hmmRangeFault(r, { ...opts, version }));
}

/**
 * The driver loop of Documentation/vm/hmm.rst: take a sequence, (re-)initialise the requests, call;
 * again while the call returns -EBUSY. Returns the last result and the number of calls.
 */
export async function retryLoop(
  r: HmmRange | HmmPfnsRange,
  reinit: () => void,
  call: () => Promise<number>,
): Promise<{ ret: number; calls: number }> {
  const notifier = r.notifier as MmuIntervalNotifier;
  for (let calls = 1; calls <= 10; calls++) {
    r.notifierSeq = await mmuIntervalReadBegin(notifier);
    reinit();
    const ret = await call();
    if (ret !== -16) return { ret, calls };
  }
  throw new Error('retryLoop: -EBUSY ten times');
}

/** [...hmmPfns]. */
export function outPfns(r: HmmPfnsRange): number[] {
  return [...r.hmmPfns];
}

/** An hmm_pfns model entry. */
export function pe(pfn: number, flags: number): number {
  return hmmPfnMake(pfn, flags);
}

/** addDeviceMemory() with `dev_pagemap.owner` set. */
export function addOwnedDeviceMemory(
  e: Env,
  pages: number,
  pgmapId: number,
  owner: unknown,
): { first: number; migrated: number[] } {
  const dev = addDeviceMemory(e, pages, pgmapId);
  const ops = e.machine.devPagemaps.get(pgmapId);
  if (ops === undefined) throw new Error('no pgmap');
  e.machine.devPagemaps.set(pgmapId, { migrateToRam: ops.migrateToRam, owner });
  return dev;
}

/** Page 0 of [BASE, BASE + 2 pages) becomes a device-private entry of a pgmap owned by `owner`; page 1 is RAM. */
export async function devicePage(
  e: Env,
  base: number,
  write: boolean,
  owner: unknown,
): Promise<{ first: number; migrated: number[] }> {
  await mapAnon(e, base, 2);
  await touch(e, base + PAGE, 1);
  const dev = addOwnedDeviceMemory(e, 512, 5, owner);
  setPteAt(e, base, swpEntryToPteBits(makeDevicePrivateEntry(dev.first, write)), dev.first);
  return dev;
}

/** Two written pages, then page 0's PTE made PROT_NONE (NUMA hinting); returns its pfn. */
export async function protnonePte(e: Env, base: number): Promise<number> {
  await mapAnon(e, base, 2);
  await touch(e, base, 2);
  const slot = existingSlot(e, base);
  const pfn = e.mm.pt.val[slot] as number;
  setPteAt(e, base, pteModify(e.mm.pt.bits[slot] as number, PAGE_NONE), pfn);
  return pfn;
}

/** Two written pages, page 0 locked and replaced by a writable migration entry. */
export async function migratingPte(e: Env, base: number): Promise<{ pfn: number; bits: number }> {
  await mapAnon(e, base, 2);
  await touch(e, base, 2);
  const slot = existingSlot(e, base);
  const pfn = e.mm.pt.val[slot] as number;
  const bits = e.mm.pt.bits[slot] as number;
  const pm = e.machine.phys;
  pm.flags[pfn] = (pm.flags[pfn] as number) | PG_locked;
  setPteAt(e, base, swpEntryToPteBits(makeMigrationEntry(pfn, true)), pfn);
  return { pfn, bits };
}

/** Four pages, page 0 written; page 1 becomes a special PTE or a hwpoison entry. */
export async function specialOrPoison(
  e: Env,
  base: number,
  kind: 'special' | 'hwpoison',
): Promise<void> {
  await mapAnon(e, base, 4);
  await touch(e, base, 1);
  const pfn = pfnAt(e, base);
  if (kind === 'special') setPteAt(e, base + PAGE, PAGE_READONLY | _PAGE_SPECIAL, pfn);
  else setPteAt(e, base + PAGE, swpEntryToPteBits(makeHwpoisonEntry(pfn)), pfn);
}

/** 1024 pages with THP 'always', both PMDs populated by a write fault; the two head pfns. */
export async function twoThps(e: Env, base: number): Promise<[number, number]> {
  await mapAnon(e, base, 1024);
  await touch(e, base, 1);
  await touch(e, base + 512 * PAGE, 1);
  const pt = e.mm.pt;
  const s0 = pmdOffset(pt, base);
  const s1 = pmdOffset(pt, base + 512 * PAGE);
  expect((pt.bits[s0] as number) & 0x80).toBe(0x80);
  expect((pt.bits[s1] as number) & 0x80).toBe(0x80);
  return [pt.val[s0] as number, pt.val[s1] as number];
}

/** The huge PMD at `addr` made PROT_NONE. */
export function protnonePmd(e: Env, addr: number): void {
  const s = pmdOffset(e.mm.pt, addr);
  setPmd(e.mm.pt, s, pmdModify(e.mm.pt.bits[s] as number, PAGE_NONE), e.mm.pt.val[s] as number);
}

/** The huge PMD at `addr` replaced by a THP migration entry for `head` (locked). */
export function migratingPmd(e: Env, addr: number, head: number): void {
  const pm = e.machine.phys;
  pm.flags[head] = (pm.flags[head] as number) | PG_locked;
  const s = pmdOffset(e.mm.pt, addr);
  setPmd(e.mm.pt, s, swpEntryToPteBits(makeMigrationEntry(head, true)), head);
}

/** Add `flags` (VM_IO, ...) to the VMA at `addr`. */
export function addVmFlags(vma: VmArea | undefined, flags: number): void {
  if (vma === undefined) throw new Error('no vma');
  vma.vmFlags |= flags;
}
