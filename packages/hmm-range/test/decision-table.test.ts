/**
 * Every row of the per-entry decision table (spec hmm.md §6.4) under v5.4, the seed and v5.5.
 */
import { PAGE_SIZE, pteIndex } from '@hmmsim/kernel';
import {
  createDeviceFile,
  fork,
  MAP_FIXED,
  MAP_SHARED,
  type MmFile,
  type MmStruct,
  mmap,
  mprotect,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  reclaimPage,
  unlockPageWake,
} from '@hmmsim/mm';
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
import { describe, expect, it } from 'vitest';
import { HMM_FAULT_SNAPSHOT, hmmDeviceEntryToPage } from '../src/index.ts';
import {
  addDeviceMemory,
  BASE,
  countingHandler,
  cpuEnt,
  DP,
  type Env,
  ERROR,
  ent,
  env,
  existingSlot,
  fault,
  legacyRange,
  mapAnon,
  NONE,
  out,
  PAGE,
  pfnAt,
  SPECIAL,
  setPteAt,
  touch,
  V,
  VERSIONS,
  W,
} from './helpers.ts';

const S = 77; // sentinel: an entry the call never wrote

describe('pte_none / pmd_none / pud_none', () => {
  for (const version of VERSIONS) {
    it(`${version}: snapshot of untouched memory is NONE and returns 0 (last stays at the hole start)`, async () => {
      const e = env();
      await mapAnon(e, BASE, 8);
      const r = legacyRange(e, BASE, 8);
      r.pfns.fill(S);
      expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(0);
      expect(out(r)).toEqual(Array(8).fill(NONE));
    });

    it(`${version}: pte_none next to present PTEs is NONE; the table walk returns every page`, async () => {
      const e = env();
      await mapAnon(e, BASE, 8);
      await touch(e, BASE, 1);
      const r = legacyRange(e, BASE, 8);
      expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(8);
      expect(out(r)).toEqual([cpuEnt(e, BASE), ...Array(7).fill(NONE)]);
      expect(r.pfns[0]).toBe(ent(pfnAt(e, BASE), V | W));
    });

    it(`${version}: a write request faults every page in (VALID|WRITE entries)`, async () => {
      const e = env();
      await mapAnon(e, BASE, 8);
      const r = legacyRange(e, BASE, 8, { defaultFlags: V | W });
      expect(await fault(e, r, 0, { version })).toBe(8);
      for (let i = 0; i < 8; i++) expect(r.pfns[i]).toBe(ent(pfnAt(e, BASE + i * PAGE), V | W));
      expect(e.mm.rssPages).toBe(8);
    });

    it(`${version}: a write request on a VMA without VM_WRITE is -EPERM without faulting`, async () => {
      const e = env();
      await mapAnon(e, BASE, 4, PROT_READ);
      const h = countingHandler(e);
      const r = legacyRange(e, BASE, 4, { defaultFlags: V | W });
      r.pfns.fill(S);
      expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(-1);
      expect(h.calls).toEqual([]);
      // v5.4 fills NONE from walk.last (Q8); v5.5 leaves the entries as they were.
      expect(out(r)).toEqual(Array(4).fill(version === '5.5' ? S : NONE));
    });
  }
});

describe('zero page', () => {
  for (const version of VERSIONS) {
    it(`${version}: snapshot (Q3: SPECIAL + -EFAULT in v5.4 only)`, async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      await touch(e, BASE, 2, false); // read faults map the zero page
      expect(pfnAt(e, BASE)).toBe(e.machine.phys.zeroPfn);
      const r = legacyRange(e, BASE, 4);
      r.pfns.fill(S);
      const ret = await fault(e, r, HMM_FAULT_SNAPSHOT, { version });
      if (version === '5.4') {
        expect(ret).toBe(-14);
        // The SPECIAL marker of page 0 is overwritten by the NONE fill (Q8).
        expect(out(r)).toEqual(Array(4).fill(NONE));
      } else {
        expect(ret).toBe(4);
        expect(out(r)).toEqual([ent(0, V), ent(0, V), NONE, NONE]);
      }
    });

    it(`${version}: a write request breaks COW into a private page`, async () => {
      const e = env();
      await mapAnon(e, BASE, 2);
      await touch(e, BASE, 2, false);
      const r = legacyRange(e, BASE, 2, { defaultFlags: V | W });
      expect(await fault(e, r, 0, { version })).toBe(2);
      expect(pfnAt(e, BASE)).not.toBe(e.machine.phys.zeroPfn);
      expect(out(r)).toEqual([cpuEnt(e, BASE), cpuEnt(e, BASE + PAGE)]);
      expect(r.pfns[0]).toBe(ent(pfnAt(e, BASE), V | W));
    });
  }

  it('5.4: with Q8 off the SPECIAL marker stays', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 1, false);
    const r = legacyRange(e, BASE, 2);
    expect(
      await fault(e, r, HMM_FAULT_SNAPSHOT, {
        version: '5.4',
        quirks: { q8NoneFillOnError: false },
      }),
    ).toBe(-14);
    expect(r.pfns[0]).toBe(SPECIAL);
  });

  it('5.4: faulting untouched memory for read fails on the zero page it just mapped', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    const r = legacyRange(e, BASE, 2, { defaultFlags: V });
    expect(await fault(e, r, 0, { version: '5.4' })).toBe(-14);
    expect(pfnAt(e, BASE)).toBe(e.machine.phys.zeroPfn);
    const r55 = legacyRange(e, BASE, 2, { defaultFlags: V });
    expect(await fault(e, r55, 0)).toBe(2);
    expect(out(r55)).toEqual([ent(0, V), ent(0, V)]);
  });
});

/** A parent whose 2 pages were written, then forked: its PTEs are read-only (COW). */
async function cowParent(e: Env): Promise<MmStruct> {
  await mapAnon(e, BASE, 2);
  await touch(e, BASE, 2);
  const child = await fork(e.mm);
  if (typeof child === 'number') throw new Error('fork failed');
  return child;
}

describe('present PTE, read-only, write requested', () => {
  for (const version of VERSIONS) {
    it(`${version}: snapshot reports VALID without WRITE`, async () => {
      const e = env();
      await cowParent(e);
      const r = legacyRange(e, BASE, 2);
      expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(2);
      expect(out(r)).toEqual([ent(pfnAt(e, BASE), V), ent(pfnAt(e, BASE + PAGE), V)]);
    });

    it(`${version}: a write request breaks COW and reports WRITE`, async () => {
      const e = env();
      const child = await cowParent(e);
      const shared = pfnAt(e, BASE);
      const r = legacyRange(e, BASE, 2, { defaultFlags: V | W });
      expect(await fault(e, r, 0, { version })).toBe(2);
      expect(pfnAt(e, BASE)).not.toBe(shared);
      expect(out(r)).toEqual([ent(pfnAt(e, BASE), V | W), ent(pfnAt(e, BASE + PAGE), V | W)]);
      expect(pfnAt({ ...e, mm: child }, BASE)).toBe(shared); // the child keeps the shared page
    });

    it(`${version}: no VM_WRITE gives -EPERM and faults nothing`, async () => {
      const e = env();
      await mapAnon(e, BASE, 2);
      await touch(e, BASE, 2);
      expect(await mprotect(e.mm, BASE, 2 * PAGE, PROT_READ)).toBe(0);
      const before = pfnAt(e, BASE);
      const h = countingHandler(e);
      const r = legacyRange(e, BASE, 2, { defaultFlags: V | W });
      expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(-1);
      expect(h.calls).toEqual([]);
      expect(pfnAt(e, BASE)).toBe(before);
    });

    it(`${version}: WRITE without VALID requests nothing`, async () => {
      const e = env();
      await cowParent(e);
      const h = countingHandler(e);
      const r = legacyRange(e, BASE, 2, { defaultFlags: W });
      expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(2);
      expect(h.calls).toEqual([]);
      expect(r.pfns[0]).toBe(ent(pfnAt(e, BASE), V));
    });
  }
});

describe('PTE-level PROT_NONE (NUMA hinting)', () => {
  async function numa(e: Env): Promise<number> {
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 2);
    const slot = existingSlot(e, BASE);
    const pfn = e.mm.pt.val[slot] as number;
    setPteAt(e, BASE, pteModify(e.mm.pt.bits[slot] as number, PAGE_NONE), pfn);
    return pfn;
  }

  for (const version of VERSIONS) {
    it(`${version}: not faulted, it is reported pfn|VALID (Q12)`, async () => {
      const e = env();
      const pfn = await numa(e);
      const r = legacyRange(e, BASE, 2);
      expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(2);
      expect(r.pfns[0]).toBe(ent(pfn, V));
      const fixed = legacyRange(e, BASE, 2);
      await fault(e, fixed, HMM_FAULT_SNAPSHOT, {
        version,
        quirks: { q12ProtnoneReportedValid: false },
      });
      expect(fixed.pfns[0]).toBe(NONE);
    });

    it(`${version}: a read request faults it accessible again`, async () => {
      const e = env();
      const pfn = await numa(e);
      const h = countingHandler(e);
      const r = legacyRange(e, BASE, 2, { defaultFlags: V });
      expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(2);
      expect(h.calls.length).toBeGreaterThan(0);
      expect(r.pfns[0]).toBe(cpuEnt(e, BASE));
      expect(pfnAt(e, BASE)).toBe(pfn);
    });
  }
});

describe('swap entry', () => {
  for (const version of VERSIONS) {
    it(`${version}: NONE in a snapshot; a read request swaps it in`, async () => {
      const e = env();
      await mapAnon(e, BASE, 2);
      await touch(e, BASE, 2);
      expect(await reclaimPage(e.machine, pfnAt(e, BASE))).toBe(0);
      const r = legacyRange(e, BASE, 2);
      expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(2);
      expect(out(r)).toEqual([NONE, ent(pfnAt(e, BASE + PAGE), V | W)]);
      const f = legacyRange(e, BASE, 2, { defaultFlags: V });
      expect(await fault(e, f, 0, { version })).toBe(2);
      expect(f.pfns[0]).toBe(cpuEnt(e, BASE));
      expect(f.pfns[0]).not.toBe(NONE);
    });
  }
});

describe('migration entry', () => {
  async function migrating(e: Env): Promise<{ pfn: number; bits: number }> {
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 2);
    const slot = existingSlot(e, BASE);
    const pfn = e.mm.pt.val[slot] as number;
    const bits = e.mm.pt.bits[slot] as number;
    const pm = e.machine.phys;
    pm.flags[pfn] = (pm.flags[pfn] as number) | PG_locked;
    setPteAt(e, BASE, swpEntryToPteBits(makeMigrationEntry(pfn, true)), pfn);
    return { pfn, bits };
  }

  for (const version of VERSIONS) {
    it(`${version}: NONE even when a fault is requested, without waiting (Q4)`, async () => {
      const e = env();
      await migrating(e);
      const h = countingHandler(e);
      const r = legacyRange(e, BASE, 2, { defaultFlags: V | W });
      expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(2);
      expect(h.calls).toEqual([]);
      expect(r.pfns[0]).toBe(NONE);
    });
  }

  it('Q4 off: waits for the migration to finish, then reports the page', async () => {
    const e = env();
    const { pfn, bits } = await migrating(e);
    const log: string[] = [];
    const r = legacyRange(e, BASE, 2, { defaultFlags: V });
    e.sched.spawn('cpu1', async () => {
      log.push('fault start');
      log.push(`ret ${await fault(e, r, 0, { quirks: { q4MigrationNoWait: false } })}`);
    });
    e.sched.spawn('migrate', async () => {
      log.push('migration done');
      setPteAt(e, BASE, bits, pfn);
      unlockPageWake(e.machine, pfn);
    });
    const res = await e.sched.run();
    expect(res.errors).toEqual([]);
    expect(log).toEqual(['fault start', 'migration done', 'ret 2']);
    expect(r.pfns[0]).toBe(ent(pfn, V | W));
  });
});

describe('device-private entry', () => {
  async function devicePage(e: Env, write: boolean) {
    await mapAnon(e, BASE, 2);
    await touch(e, BASE + PAGE, 1);
    const dev = addDeviceMemory(e, 512);
    setPteAt(e, BASE, swpEntryToPteBits(makeDevicePrivateEntry(dev.first, write)), dev.first);
    return dev;
  }

  for (const version of VERSIONS) {
    it(`${version}: reported VALID|DEVICE_PRIVATE[|WRITE] with the device pfn`, async () => {
      for (const write of [false, true]) {
        const e = env();
        const dev = await devicePage(e, write);
        const r = legacyRange(e, BASE, 2);
        expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(2);
        expect(r.pfns[0]).toBe(ent(dev.first, V | DP | (write ? W : 0)));
      }
    });

    it(`${version}: a VALID|WRITE request without DEVICE_PRIVATE does not fault it`, async () => {
      const e = env();
      const dev = await devicePage(e, false);
      const h = countingHandler(e);
      const r = legacyRange(e, BASE, 2, { defaultFlags: V | W });
      expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(2);
      expect(h.calls).toEqual([]);
      expect(r.pfns[0]).toBe(ent(dev.first, V | DP));
      expect(dev.migrated).toEqual([]);
    });

    it(`${version}: with DEVICE_PRIVATE requested it is migrated back to RAM`, async () => {
      const e = env();
      const dev = await devicePage(e, true);
      const r = legacyRange(e, BASE, 2, { defaultFlags: V | DP });
      expect(await fault(e, r, 0, { version })).toBe(2);
      expect(dev.migrated).toEqual([dev.first]);
      expect(pfnAt(e, BASE)).toBeLessThan(e.machine.phys.nrPages);
      expect(r.pfns[0]).toBe(cpuEnt(e, BASE));
    });
  }

  it('Q9: with flags[DEVICE_PRIVATE] = 0 the page looks like ordinary memory', async () => {
    const e = env();
    const dev = await devicePage(e, true);
    const r = legacyRange(e, BASE, 2, { defaultFlags: V | W });
    r.flags = [V, W, 0];
    expect(await fault(e, r, 0)).toBe(2);
    expect(r.pfns[0]).toBe(ent(dev.first, V | W));
    expect(hmmDeviceEntryToPage(r, r.pfns[0] as number)).toBe(dev.first);
    expect(dev.migrated).toEqual([]);
  });
});

describe('special PTE and other non-present entries', () => {
  async function special(e: Env, kind: 'special' | 'hwpoison'): Promise<void> {
    await mapAnon(e, BASE, 4);
    await touch(e, BASE, 1);
    const pfn = pfnAt(e, BASE);
    if (kind === 'special') setPteAt(e, BASE + PAGE, PAGE_READONLY | _PAGE_SPECIAL, pfn);
    else setPteAt(e, BASE + PAGE, swpEntryToPteBits(makeHwpoisonEntry(pfn)), pfn);
  }

  for (const version of VERSIONS) {
    for (const kind of ['special', 'hwpoison'] as const) {
      it(`${version}: ${kind} fails with -EFAULT even in a snapshot (Q10)`, async () => {
        const e = env();
        await special(e, kind);
        const r = legacyRange(e, BASE, 4);
        r.pfns.fill(S);
        expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(-14);
        const marker = kind === 'special' ? SPECIAL : ERROR;
        expect(out(r)).toEqual(
          version === '5.5' ? [cpuEnt(e, BASE), marker, S, S] : [cpuEnt(e, BASE), NONE, NONE, NONE], // Q8 overwrites the marker
        );
      });
    }
  }

  it('Q10 off: the marker is written and the walk goes on', async () => {
    const e = env();
    await special(e, 'special');
    const r = legacyRange(e, BASE, 4);
    const q = { q10SpecialFailsInSnapshot: false };
    expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { quirks: q })).toBe(4);
    expect(out(r)).toEqual([cpuEnt(e, BASE), SPECIAL, NONE, NONE]);
  });
});

describe('VM_IO / VM_PFNMAP / VM_MIXEDMAP', () => {
  for (const mode of ['pfnmap', 'mixedmap'] as const) {
    for (const version of VERSIONS) {
      it(`${version}: a ${mode} VMA fails with -EFAULT; entries of the VMA before it are written`, async () => {
        const e = env();
        await mapAnon(e, BASE, 2);
        await touch(e, BASE, 2);
        const file = createDeviceFile(e.machine, mode, 2) as MmFile;
        const a = await mmap(
          e.mm,
          BASE + 2 * PAGE,
          2 * PAGE,
          PROT_READ | PROT_WRITE,
          MAP_SHARED | MAP_FIXED,
          file,
        );
        expect(a).toBe(BASE + 2 * PAGE);
        const r = legacyRange(e, BASE, 4);
        r.pfns.fill(S);
        expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(-14);
        expect(out(r)).toEqual([cpuEnt(e, BASE), cpuEnt(e, BASE + PAGE), S, S]);
        const only = legacyRange(e, BASE + 2 * PAGE, 2);
        only.pfns.fill(S);
        expect(await fault(e, only, 0, { version })).toBe(-14);
        expect(out(only)).toEqual([S, S]);
      });
    }
  }
});

describe('PMD huge leaves (THP)', () => {
  async function thp(e: Env): Promise<[number, number]> {
    await mapAnon(e, BASE, 1024);
    await touch(e, BASE, 1);
    await touch(e, BASE + 512 * PAGE, 1);
    const pt = e.mm.pt;
    const s0 = pmdOffset(pt, BASE);
    const s1 = pmdOffset(pt, BASE + 512 * PAGE);
    expect(pt.bits[s0]! & 0x80).toBe(0x80);
    return [pt.val[s0] as number, pt.val[s1] as number];
  }

  for (const version of VERSIONS) {
    it(`${version}: every 4 KiB entry from the PMD, full and partial ranges`, async () => {
      const e = env({ thp: 'always' });
      const [h0, h1] = await thp(e);
      const r = legacyRange(e, BASE, 1024);
      expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(1024);
      for (let i = 0; i < 1024; i++)
        expect(r.pfns[i]).toBe(ent(i < 512 ? h0 + i : h1 + i - 512, V | W));
      const p = legacyRange(e, BASE + 100 * PAGE, 500);
      expect(await fault(e, p, HMM_FAULT_SNAPSHOT, { version })).toBe(500);
      for (let i = 0; i < 500; i++) {
        const k = 100 + i;
        expect(p.pfns[i]).toBe(ent(k < 512 ? h0 + k : h1 + k - 512, V | W));
      }
    });

    it(`${version}: a read request on a THP faults nothing; a write request on a COW THP does`, async () => {
      const e = env({ thp: 'always' });
      await thp(e);
      const h = countingHandler(e);
      const r = legacyRange(e, BASE, 1024, { defaultFlags: V });
      expect(await fault(e, r, 0, { version, faultHandler: h.handler })).toBe(1024);
      expect(h.calls).toEqual([]);
      const child = await fork(e.mm);
      expect(typeof child).not.toBe('number');
      const ro = legacyRange(e, BASE, 512);
      await fault(e, ro, HMM_FAULT_SNAPSHOT, { version });
      expect(ro.pfns[7]! % 4).toBe(V);
      const w = legacyRange(e, BASE, 512, { defaultFlags: V | W });
      expect(await fault(e, w, 0, { version })).toBe(512);
      for (const i of [0, 7, 511]) expect(w.pfns[i]).toBe(cpuEnt(e, BASE + i * PAGE));
      expect(w.pfns[7]! % 4).toBe(V | W);
    });

    it(`${version}: PMD-level PROT_NONE is NONE for the chunk (unlike the PTE case)`, async () => {
      const e = env({ thp: 'always' });
      await thp(e);
      const s = pmdOffset(e.mm.pt, BASE);
      setPmd(e.mm.pt, s, pmdModify(e.mm.pt.bits[s] as number, PAGE_NONE), e.mm.pt.val[s] as number);
      const r = legacyRange(e, BASE, 1024);
      await fault(e, r, HMM_FAULT_SNAPSHOT, { version });
      expect(r.pfns[0]).toBe(NONE);
      expect(r.pfns[511]).toBe(NONE);
      expect(r.pfns[512]).toBe(cpuEnt(e, BASE + 512 * PAGE));
    });

    it(`${version}: a THP-migration PMD leaves the request bits in place (Q5)`, async () => {
      const e = env({ thp: 'always' });
      const [h0] = await thp(e);
      const s = pmdOffset(e.mm.pt, BASE);
      setPmd(e.mm.pt, s, swpEntryToPteBits(makeMigrationEntry(h0, true)), h0);
      const r = legacyRange(e, BASE, 1024);
      r.pfns.fill(S);
      expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(1024);
      expect(r.pfns[0]).toBe(S);
      expect(r.pfns[511]).toBe(S);
      expect(r.pfns[512]).toBe(cpuEnt(e, BASE + 512 * PAGE));
      const fixed = legacyRange(e, BASE, 512);
      fixed.pfns.fill(S);
      await fault(e, fixed, HMM_FAULT_SNAPSHOT, {
        version,
        quirks: { q5PmdMigrationLeavesRequests: false },
      });
      expect(out(fixed)).toEqual(Array(512).fill(NONE));
    });

    it(`${version}: other non-present and bad PMDs are ERROR for the chunk and the walk goes on`, async () => {
      for (const bad of ['hwpoison', 'bad'] as const) {
        const e = env({ thp: 'always' });
        const [h0] = await thp(e);
        const s = pmdOffset(e.mm.pt, BASE);
        if (bad === 'hwpoison') setPmd(e.mm.pt, s, swpEntryToPteBits(makeHwpoisonEntry(h0)), h0);
        else {
          // Present, not huge, not a well-formed table pointer: pmd_bad(). setPmd() refuses it.
          e.mm.pt.bits[s] = 0x3;
          e.mm.pt.val[s] = 0;
        }
        const r = legacyRange(e, BASE, 1024);
        expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(1024);
        expect(r.pfns[0]).toBe(ERROR);
        expect(r.pfns[511]).toBe(ERROR);
        expect(r.pfns[512]).toBe(cpuEnt(e, BASE + 512 * PAGE));
      }
    });
  }
});

describe('holes without a VMA', () => {
  async function gap(e: Env): Promise<void> {
    await mapAnon(e, BASE, 2);
    await mapAnon(e, BASE + 4 * PAGE, 2);
    await touch(e, BASE, 2);
    await touch(e, BASE + 4 * PAGE, 2);
  }

  for (const version of VERSIONS) {
    it(`${version}: a gap between VMAs is NONE in a snapshot`, async () => {
      const e = env();
      await gap(e);
      const r = legacyRange(e, BASE, 6);
      expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version })).toBe(6);
      expect(out(r)).toEqual([
        cpuEnt(e, BASE),
        cpuEnt(e, BASE + PAGE),
        NONE,
        NONE,
        cpuEnt(e, BASE + 4 * PAGE),
        cpuEnt(e, BASE + 5 * PAGE),
      ]);
    });

    it(`${version}: a fault requested in the gap marks its first page ERROR and fails -EFAULT`, async () => {
      const e = env();
      await gap(e);
      const r = legacyRange(e, BASE, 6, { defaultFlags: V });
      r.pfns.fill(S);
      expect(await fault(e, r, 0, { version })).toBe(-14);
      const head = [cpuEnt(e, BASE), cpuEnt(e, BASE + PAGE)];
      expect(out(r)).toEqual(
        version === '5.5' ? [...head, ERROR, S, S, S] : [...head, NONE, NONE, NONE, NONE],
      );
    });

    it(`${version}: a range past the last VMA`, async () => {
      const e = env();
      await mapAnon(e, BASE, 2);
      await touch(e, BASE, 2);
      const r = legacyRange(e, BASE, 4);
      r.pfns.fill(S);
      const ret = await fault(e, r, HMM_FAULT_SNAPSHOT, { version });
      const head = [cpuEnt(e, BASE), cpuEnt(e, BASE + PAGE)];
      if (version === '5.5') {
        expect(ret).toBe(2); // last stops at the start of the trailing hole
        expect(out(r)).toEqual([...head, NONE, NONE]);
      } else {
        expect(ret).toBe(-14); // find_vma() finds nothing for the second iteration
        expect(out(r)).toEqual([...head, S, S]);
      }
    });

    it(`${version}: a range outside any VMA`, async () => {
      const e = env();
      await gap(e);
      const r = legacyRange(e, 2 ** 40, 4);
      r.pfns.fill(S);
      const ret = await fault(e, r, HMM_FAULT_SNAPSHOT, { version });
      if (version === '5.5') {
        expect(ret).toBe(0);
        expect(out(r)).toEqual(Array(4).fill(NONE));
      } else {
        expect(ret).toBe(-14);
        expect(out(r)).toEqual(Array(4).fill(S));
      }
    });
  }

  it('5.4: a range starting in a hole is checked against the VMA above it (R7)', async () => {
    const e = env();
    await mapAnon(e, BASE + 2 * PAGE, 2, PROT_NONE);
    const r = legacyRange(e, BASE, 4);
    r.pfns.fill(S);
    expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version: '5.4' })).toBe(-1);
    expect(out(r)).toEqual(Array(4).fill(NONE));
    const r55 = legacyRange(e, BASE, 4);
    expect(await fault(e, r55, HMM_FAULT_SNAPSHOT)).toBe(4);
    expect(out(r55)).toEqual(Array(4).fill(NONE));
  });
});

describe('VMA without VM_READ', () => {
  async function layout(e: Env): Promise<void> {
    await mapAnon(e, BASE, 2);
    await mapAnon(e, BASE + 2 * PAGE, 2, PROT_NONE);
    await mapAnon(e, BASE + 4 * PAGE, 2);
    await touch(e, BASE, 2);
    await touch(e, BASE + 4 * PAGE, 2);
  }

  for (const version of VERSIONS) {
    it(`${version}: snapshot`, async () => {
      const e = env();
      await layout(e);
      const r = legacyRange(e, BASE, 6);
      r.pfns.fill(S);
      const ret = await fault(e, r, HMM_FAULT_SNAPSHOT, { version });
      if (version === '5.5') {
        expect(ret).toBe(6);
        expect(out(r)).toEqual([
          cpuEnt(e, BASE),
          cpuEnt(e, BASE + PAGE),
          NONE,
          NONE,
          cpuEnt(e, BASE + 4 * PAGE),
          cpuEnt(e, BASE + 5 * PAGE),
        ]);
      } else {
        expect(ret).toBe(-1); // -EPERM, whole array NONE
        expect(out(r)).toEqual(Array(6).fill(NONE));
      }
    });

    it(`${version}: a fault requested there`, async () => {
      const e = env();
      await layout(e);
      const r = legacyRange(e, BASE, 6, { defaultFlags: V });
      r.pfns.fill(S);
      const ret = await fault(e, r, 0, { version });
      if (version === '5.5') {
        expect(ret).toBe(-14);
        expect(out(r)).toEqual([cpuEnt(e, BASE), cpuEnt(e, BASE + PAGE), S, S, S, S]);
      } else {
        expect(ret).toBe(-1);
        expect(out(r)).toEqual(Array(6).fill(NONE));
      }
    });
  }
});

describe('pte_devmap (ZONE_DEVICE mapped in a PTE)', () => {
  it('reports the pfn while its dev_pagemap is live, -EBUSY (livelock in the model) otherwise', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE + PAGE, 1);
    const dev = addDeviceMemory(e, 512, 7);
    setPteAt(e, BASE, 0x1 | 0x4 | 0x20 | 0x200 | 0x400, dev.first); // present|user|accessed|special|devmap
    const r = legacyRange(e, BASE, 2);
    expect(await fault(e, r, HMM_FAULT_SNAPSHOT)).toBe(2);
    expect(r.pfns[0]).toBe(ent(dev.first, V));
    e.machine.devPagemaps.delete(7);
    await expect(fault(e, legacyRange(e, BASE, 2), HMM_FAULT_SNAPSHOT)).rejects.toThrow(/livelock/);
    expect(pteIndex(BASE)).toBe(0);
    expect(PAGE_SIZE).toBe(PAGE);
  });
});
