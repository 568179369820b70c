/**
 * The per-entry decision table of hmm_range_fault() in v5.7 (mm/hmm.c after the 2020
 * "hmm_range_fault() cleanups" series): `hmmRangeFault(range, { version: '5.7' })`, the
 * two-entry flags table [VALID, WRITE], values [ERROR, NONE, SPECIAL], `devPrivateOwner`, an
 * interval notifier, the page count returned. Every row is also a "what changed since v5.5" row.
 */
import { createScheduler, type Task } from '@hmmsim/kernel';
import {
  createDeviceFile,
  FAULT_FLAG_WRITE,
  findVma,
  fork,
  MADV_DONTNEED,
  MAP_FIXED,
  MAP_SHARED,
  type MmFile,
  madvise,
  mmap,
  mprotect,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  reclaimPage,
  unlockPageWake,
  VM_IO,
  VM_MIXEDMAP,
  VM_PFNMAP,
} from '@hmmsim/mm';
import {
  makeHwpoisonEntry,
  pmdAlloc,
  pmdOffset,
  setPmd,
  swpEntryToPteBits,
} from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import { hmmQuirksFor, v57 } from '../src/index.ts';
import {
  BASE,
  countingHandler,
  cpuEnt,
  type Env,
  ERROR,
  ent,
  env,
  mapAnon,
  NONE,
  out,
  PAGE,
  pfnAt,
  SPECIAL,
  setPteAt,
  switchAt,
  touch,
  V,
  W,
} from './helpers.ts';
import {
  addOwnedDeviceMemory,
  addVmFlags,
  devicePage,
  fault57,
  migratingPmd,
  migratingPte,
  OWNER_A,
  OWNER_B,
  protnonePmd,
  protnonePte,
  range57,
  retryLoop,
  S,
  specialOrPoison,
  twoThps,
  underSem,
} from './helpers-gen.ts';

describe('v5.7 pte_none / pmd_none', () => {
  it('pmd_none, nothing requested: NONE everywhere; the count is 0 (last stays at the hole start)', async () => {
    const e = env();
    await mapAnon(e, BASE, 8);
    const r = await range57(e, BASE, 8);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(0);
    expect(out(r)).toEqual(Array(8).fill(NONE));
  });

  it('pte_none next to a present PTE: NONE; the table walk counts every page', async () => {
    const e = env();
    await mapAnon(e, BASE, 8);
    await touch(e, BASE, 1);
    const r = await range57(e, BASE, 8);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(8);
    expect(out(r)).toEqual([ent(pfnAt(e, BASE), V | W), ...Array(7).fill(NONE)]);
  });

  it('read request on untouched memory: faulted, the zero page reported as a normal read-only pfn', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const h = countingHandler(e);
    const r = await range57(e, BASE, 4, { defaultFlags: V });
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(4);
    expect(h.calls.map((c) => c.addr)).toEqual([0, 1, 2, 3].map((i) => BASE + i * PAGE));
    expect(h.calls.every((c) => (c.flags & FAULT_FLAG_WRITE) === 0)).toBe(true);
    expect(out(r)).toEqual(Array(4).fill(ent(e.machine.phys.zeroPfn, V)));
  });

  it('write request on untouched memory: every page faulted writable, VALID|WRITE', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const r = await range57(e, BASE, 4, { defaultFlags: V | W });
    expect(await fault57(e, r)).toBe(4);
    for (let i = 0; i < 4; i++) expect(r.pfns[i]).toBe(ent(pfnAt(e, BASE + i * PAGE), V | W));
    expect(e.mm.rssPages).toBe(4);
  });

  it('write request on a VMA without VM_WRITE: -EPERM, nothing faulted, entries untouched', async () => {
    const e = env();
    await mapAnon(e, BASE, 4, PROT_READ);
    const h = countingHandler(e);
    const r = await range57(e, BASE, 4, { defaultFlags: V | W });
    r.pfns.fill(S);
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(-1);
    expect(h.calls).toEqual([]);
    expect(out(r)).toEqual(Array(4).fill(S));
  });

  it('pte_none with a fault: the entry keeps its request while faulting (not NONE first)', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    await touch(e, BASE, 1);
    const seen: number[] = [];
    const r = await range57(e, BASE, 4, { defaultFlags: V, pfnFlagsMask: W });
    r.pfns.fill(W); // request bits the kernel must not overwrite before the fault
    const h = countingHandler(e, async (vma, addr, flags) => {
      seen.push(r.pfns[(addr - BASE) / PAGE] as number);
      const { handleMmFault } = await import('@hmmsim/mm');
      return handleMmFault(vma, addr, flags);
    });
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(4);
    expect(seen).toEqual([W, W, W]);
    for (let i = 0; i < 4; i++) expect(r.pfns[i]).toBe(cpuEnt(e, BASE + i * PAGE));
  });

  it('Q2: a fault at one page faults every page to the end of the chunk; off: only requested pages', async () => {
    for (const q2 of [true, false]) {
      const e = env();
      await mapAnon(e, BASE, 4);
      await touch(e, BASE, 4, false); // a PTE table of zero-page PTEs
      const h = countingHandler(e);
      const r = await range57(e, BASE, 4, { pfnFlagsMask: V | W });
      r.pfns.set([0, V | W, 0, 0]); // write request at page 1 only
      const ret = await fault57(e, r, {
        faultHandler: h.handler,
        quirks: { q2FaultWholeChunk: q2 },
      });
      // The write faults replace the zero page: a COW, which invalidates the notifier's range.
      expect(ret).toBe(-16);
      expect(h.calls.map((c) => (c.addr - BASE) / PAGE)).toEqual(q2 ? [1, 2, 3] : [1]);
      expect(h.calls.every((c) => (c.flags & FAULT_FLAG_WRITE) !== 0)).toBe(true);
      const zero = e.machine.phys.zeroPfn;
      expect(pfnAt(e, BASE)).toBe(zero);
      expect(pfnAt(e, BASE + 3 * PAGE) === zero).toBe(!q2);
    }
  });
});

describe('v5.7 zero page', () => {
  it('snapshot: a normal read-only pfn (no SPECIAL, no -EFAULT)', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    await touch(e, BASE, 2, false);
    const r = await range57(e, BASE, 4);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(4);
    const z = e.machine.phys.zeroPfn;
    expect(out(r)).toEqual([ent(z, V), ent(z, V), NONE, NONE]);
  });

  it('write request: COW into a private page (after the -EBUSY the COW invalidation causes)', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 2, false);
    const r = await range57(e, BASE, 2, { defaultFlags: V | W });
    const res = await retryLoop(
      r,
      () => {},
      () => fault57(e, r),
    );
    expect(res).toEqual({ ret: 2, calls: 2 });
    expect(pfnAt(e, BASE)).not.toBe(e.machine.phys.zeroPfn);
    expect(out(r)).toEqual([ent(pfnAt(e, BASE), V | W), ent(pfnAt(e, BASE + PAGE), V | W)]);
  });
});

async function cowParent(e: Env): Promise<void> {
  await mapAnon(e, BASE, 2);
  await touch(e, BASE, 2);
  const child = await fork(e.mm);
  if (typeof child === 'number') throw new Error('fork failed');
}

describe('v5.7 present PTE, read-only', () => {
  it('nothing requested: VALID without WRITE', async () => {
    const e = env();
    await cowParent(e);
    const r = await range57(e, BASE, 2);
    expect(await fault57(e, r)).toBe(2);
    expect(out(r)).toEqual([ent(pfnAt(e, BASE), V), ent(pfnAt(e, BASE + PAGE), V)]);
  });

  it('read request: nothing to fault', async () => {
    const e = env();
    await cowParent(e);
    const h = countingHandler(e);
    const r = await range57(e, BASE, 2, { defaultFlags: V });
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(2);
    expect(h.calls).toEqual([]);
    expect(r.pfns[1]).toBe(ent(pfnAt(e, BASE + PAGE), V));
  });

  it('write request: COW broken, reported VALID|WRITE', async () => {
    const e = env();
    await cowParent(e);
    const shared = pfnAt(e, BASE);
    const r = await range57(e, BASE, 2, { defaultFlags: V | W });
    const res = await retryLoop(
      r,
      () => {},
      () => fault57(e, r),
    );
    expect(res.ret).toBe(2);
    expect(pfnAt(e, BASE)).not.toBe(shared);
    expect(out(r)).toEqual([ent(pfnAt(e, BASE), V | W), ent(pfnAt(e, BASE + PAGE), V | W)]);
  });

  it('write request without VM_WRITE: -EPERM, nothing faulted, entries untouched', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 2);
    expect(await mprotect(e.mm, BASE, 2 * PAGE, PROT_READ)).toBe(0);
    const h = countingHandler(e);
    const r = await range57(e, BASE, 2, { defaultFlags: V | W });
    r.pfns.fill(S);
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(-1);
    expect(h.calls).toEqual([]);
    expect(out(r)).toEqual([S, S]);
  });

  it('WRITE without VALID requests nothing', async () => {
    const e = env();
    await cowParent(e);
    const h = countingHandler(e);
    const r = await range57(e, BASE, 2, { defaultFlags: W });
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(2);
    expect(h.calls).toEqual([]);
    expect(r.pfns[0]).toBe(ent(pfnAt(e, BASE), V));
  });

  it('per-page requests through pfnFlagsMask: only the page that asks for WRITE is faulted', async () => {
    const e = env();
    await cowParent(e);
    const h = countingHandler(e);
    const r = await range57(e, BASE, 2, { defaultFlags: V, pfnFlagsMask: W });
    const res = await retryLoop(
      r,
      () => r.pfns.set([0, W]),
      () => fault57(e, r, { faultHandler: h.handler }),
    );
    expect(res.ret).toBe(2);
    expect(h.calls.map((c) => c.addr)).toEqual([BASE + PAGE]);
    expect(out(r)).toEqual([ent(pfnAt(e, BASE), V), ent(pfnAt(e, BASE + PAGE), V | W)]);
  });
});

describe('v5.7 PTE-level PROT_NONE', () => {
  it('not faulted: pfn|VALID (Q12 in v5.7); Q12 off: the bare pfn', async () => {
    const e = env();
    const pfn = await protnonePte(e, BASE);
    expect(hmmQuirksFor('5.7').q12ProtnoneReportedValid).toBe(true);
    const r = await range57(e, BASE, 2);
    expect(await fault57(e, r)).toBe(2);
    expect(r.pfns[0]).toBe(ent(pfn, V));
    const fixed = await range57(e, BASE, 2);
    expect(await fault57(e, fixed, { quirks: { q12ProtnoneReportedValid: false } })).toBe(2);
    expect(fixed.pfns[0]).toBe(ent(pfn, 0));
  });

  it('read request: faulted accessible again, then reported', async () => {
    const e = env();
    const pfn = await protnonePte(e, BASE);
    const h = countingHandler(e);
    const r = await range57(e, BASE, 2, { defaultFlags: V });
    const res = await retryLoop(
      r,
      () => {},
      () => fault57(e, r, { faultHandler: h.handler }),
    );
    expect(res.ret).toBe(2);
    expect(h.calls[0]?.addr).toBe(BASE);
    expect(pfnAt(e, BASE)).toBe(pfn);
    expect(r.pfns[0]).toBe(cpuEnt(e, BASE));
  });
});

describe('v5.7 swap entry', () => {
  it('nothing requested: NONE; read request: swapped in', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 2);
    expect(await reclaimPage(e.machine, pfnAt(e, BASE))).toBe(0);
    const r = await range57(e, BASE, 2);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(2);
    expect(out(r)).toEqual([NONE, ent(pfnAt(e, BASE + PAGE), V | W)]);
    const h = countingHandler(e);
    const f = await range57(e, BASE, 2, { defaultFlags: V });
    expect(await fault57(e, f, { faultHandler: h.handler })).toBe(2);
    expect(h.calls.map((c) => c.addr)).toEqual([BASE, BASE + PAGE]); // Q2: to the chunk end
    expect(f.pfns[0]).toBe(cpuEnt(e, BASE));
    expect(f.pfns[0]).not.toBe(NONE);
  });
});

describe('v5.7 migration entry (PTE)', () => {
  it('nothing requested: NONE, no wait', async () => {
    const e = env();
    await migratingPte(e, BASE);
    const h = countingHandler(e);
    const r = await range57(e, BASE, 2);
    r.pfns.fill(S);
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(2);
    expect(h.calls).toEqual([]);
    expect(r.pfns[0]).toBe(NONE);
  });

  it('fault requested: waits for the migration (page unlock), re-walks, reports the page', async () => {
    const e = env();
    const { pfn, bits } = await migratingPte(e, BASE);
    const log: string[] = [];
    const r = await range57(e, BASE, 2, { defaultFlags: V });
    const h = countingHandler(e);
    e.sched.spawn('cpu1', async () => {
      log.push('fault start');
      log.push(`ret ${await fault57(e, r, { faultHandler: h.handler })}`);
    });
    e.sched.spawn('migrate', async () => {
      log.push('migration done');
      setPteAt(e, BASE, bits, pfn);
      unlockPageWake(e.machine, pfn);
    });
    const res = await e.sched.run();
    expect(res.errors).toEqual([]);
    expect(log).toEqual(['fault start', 'migration done', 'ret 2']);
    expect(h.calls).toEqual([]); // migration_entry_wait(), not handle_mm_fault()
    expect(r.pfns[0]).toBe(ent(pfn, V | W));
  });
});

describe('v5.7 migration entry (PMD)', () => {
  it('nothing requested: NONE for the chunk (Q5 off), no wait', async () => {
    const e = env({ thp: 'always' });
    const [h0] = await twoThps(e, BASE);
    migratingPmd(e, BASE, h0);
    const r = await range57(e, BASE, 1024);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(1024);
    expect(r.pfns[0]).toBe(NONE);
    expect(r.pfns[511]).toBe(NONE);
    expect(r.pfns[512]).toBe(cpuEnt(e, BASE + 512 * PAGE));
  });

  it('fault requested: waits for the THP migration, re-walks, reports the huge page', async () => {
    const e = env({ thp: 'always' });
    const [h0] = await twoThps(e, BASE);
    const s = pmdOffset(e.mm.pt, BASE);
    const bits = e.mm.pt.bits[s] as number;
    migratingPmd(e, BASE, h0);
    const log: string[] = [];
    const r = await range57(e, BASE, 512, { defaultFlags: V });
    const h = countingHandler(e);
    e.sched.spawn('cpu1', async () => {
      log.push('fault start');
      log.push(`ret ${await fault57(e, r, { faultHandler: h.handler })}`);
    });
    e.sched.spawn('migrate', async () => {
      log.push('migration done');
      e.mm.pt.bits[s] = bits;
      e.mm.pt.val[s] = h0;
      unlockPageWake(e.machine, h0);
    });
    const res = await e.sched.run();
    expect(res.errors).toEqual([]);
    expect(log).toEqual(['fault start', 'migration done', 'ret 512']);
    expect(h.calls).toEqual([]); // pmd_migration_entry_wait(), not handle_mm_fault()
    expect(r.pfns[0]).toBe(ent(h0, V | W));
    expect(r.pfns[511]).toBe(ent(h0 + 511, V | W));
  });
});

describe('v5.7 device-private entry and dev_private_owner', () => {
  for (const write of [false, true]) {
    const kind = write ? 'writable' : 'read-only';
    it(`owner matches, ${kind} entry: pfn|VALID${write ? '|WRITE' : ''} with no fault requested`, async () => {
      const e = env();
      const dev = await devicePage(e, BASE, write, OWNER_A);
      const r = await range57(e, BASE, 2, { devPrivateOwner: OWNER_A });
      expect(await fault57(e, r)).toBe(2);
      expect(r.pfns[0]).toBe(ent(dev.first, write ? V | W : V));
      expect(dev.migrated).toEqual([]);
    });

    it(`owner matches, ${kind} entry, VALID|WRITE requested: reported, never faulted`, async () => {
      const e = env();
      const dev = await devicePage(e, BASE, write, OWNER_A);
      const h = countingHandler(e);
      const r = await range57(e, BASE, 2, { defaultFlags: V | W, devPrivateOwner: OWNER_A });
      expect(await fault57(e, r, { faultHandler: h.handler })).toBe(2);
      expect(h.calls).toEqual([]);
      expect(dev.migrated).toEqual([]);
      expect(r.pfns[0]).toBe(ent(dev.first, write ? V | W : V));
    });
  }

  for (const owner of [OWNER_B, null] as const) {
    const who = owner === null ? 'a range with no owner' : "another driver's page";
    it(`${who}, nothing requested: NONE (not reported)`, async () => {
      const e = env();
      const dev = await devicePage(e, BASE, true, OWNER_A);
      const r = await range57(e, BASE, 2, { devPrivateOwner: owner });
      r.pfns.fill(S);
      expect(await fault57(e, r)).toBe(2);
      expect(out(r)).toEqual([NONE, cpuEnt(e, BASE + PAGE)]);
      expect(dev.migrated).toEqual([]);
    });

    it(`${who}, fault requested: -EFAULT with nothing written (Q13, until v5.19)`, async () => {
      const e = env();
      const dev = await devicePage(e, BASE, true, OWNER_A);
      expect(hmmQuirksFor('5.7').q13ForeignPrivateFaultFails).toBe(true);
      const h = countingHandler(e);
      const r = await range57(e, BASE, 2, { defaultFlags: V, devPrivateOwner: owner });
      r.pfns.fill(S);
      expect(await fault57(e, r, { faultHandler: h.handler })).toBe(-14);
      expect(h.calls).toEqual([]);
      expect(dev.migrated).toEqual([]);
      expect(out(r)).toEqual([S, S]);
    });

    it(`${who}, fault requested, Q13 off (8a295dbbaf72): migrated back through its owner's migrate_to_ram`, async () => {
      const e = env();
      const dev = await devicePage(e, BASE, true, OWNER_A);
      const r = await range57(e, BASE, 2, { defaultFlags: V, devPrivateOwner: owner });
      expect(await fault57(e, r, { quirks: { q13ForeignPrivateFaultFails: false } })).toBe(2);
      expect(dev.migrated).toEqual([dev.first]);
      expect(pfnAt(e, BASE)).toBeLessThan(e.machine.phys.nrPages);
      expect(out(r)).toEqual([cpuEnt(e, BASE), cpuEnt(e, BASE + PAGE)]);
    });
  }
});

describe('v5.7 special PTE and hwpoison', () => {
  it('special PTE, nothing requested: the SPECIAL value and the walk goes on (Q10 off)', async () => {
    const e = env();
    await specialOrPoison(e, BASE, 'special');
    const r = await range57(e, BASE, 4);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(4);
    expect(out(r)).toEqual([cpuEnt(e, BASE), SPECIAL, NONE, NONE]);
  });

  it('special PTE, read fault requested: -EFAULT, nothing written from it on', async () => {
    const e = env();
    await specialOrPoison(e, BASE, 'special');
    const h = countingHandler(e);
    const r = await range57(e, BASE, 4, { pfnFlagsMask: V });
    r.pfns.set([0, V, 0, 0]);
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(-14);
    expect(h.calls).toEqual([]);
    expect(out(r)).toEqual([cpuEnt(e, BASE), V, 0, 0]);
  });

  it('hwpoison, nothing requested: NONE; fault requested: -EFAULT, nothing written', async () => {
    const e = env();
    await specialOrPoison(e, BASE, 'hwpoison');
    const r = await range57(e, BASE, 4);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(4);
    expect(out(r)).toEqual([cpuEnt(e, BASE), NONE, NONE, NONE]);
    const h = countingHandler(e);
    const f = await range57(e, BASE, 4, { defaultFlags: V });
    f.pfns.fill(S);
    expect(await fault57(e, f, { faultHandler: h.handler })).toBe(-14);
    expect(h.calls).toEqual([]);
    expect(out(f)).toEqual([cpuEnt(e, BASE), S, S, S]);
  });
});

describe('v5.7 VM_IO / VM_PFNMAP / VM_MIXEDMAP and VMAs without VM_READ', () => {
  async function layout(e: Env, kind: 'pfnmap' | 'mixedmap' | 'io' | 'noread'): Promise<void> {
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 2);
    if (kind === 'pfnmap' || kind === 'mixedmap') {
      const file = createDeviceFile(e.machine, kind, 2) as MmFile;
      const a = await mmap(
        e.mm,
        BASE + 2 * PAGE,
        2 * PAGE,
        PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_FIXED,
        file,
      );
      expect(a).toBe(BASE + 2 * PAGE);
    } else if (kind === 'io') {
      await mapAnon(e, BASE + 2 * PAGE, 2, PROT_READ); // not merged with the first VMA
      addVmFlags(findVma(e.mm, BASE + 2 * PAGE), VM_IO);
    } else {
      await mapAnon(e, BASE + 2 * PAGE, 2, PROT_NONE);
    }
    await mapAnon(e, BASE + 4 * PAGE, 2);
    await touch(e, BASE + 4 * PAGE, 2);
  }

  for (const kind of ['io', 'pfnmap', 'mixedmap', 'noread'] as const) {
    it(`${kind}, nothing requested: ERROR for the VMA, skipped, the walk goes on`, async () => {
      const e = env();
      await layout(e, kind);
      if (kind === 'pfnmap') {
        expect((findVma(e.mm, BASE + 2 * PAGE)?.vmFlags ?? 0) & VM_PFNMAP).not.toBe(0);
      }
      if (kind === 'mixedmap') {
        expect((findVma(e.mm, BASE + 2 * PAGE)?.vmFlags ?? 0) & VM_MIXEDMAP).not.toBe(0);
      }
      const r = await range57(e, BASE, 6);
      r.pfns.fill(S);
      expect(await fault57(e, r)).toBe(6);
      expect(out(r)).toEqual([
        cpuEnt(e, BASE),
        cpuEnt(e, BASE + PAGE),
        ERROR,
        ERROR,
        cpuEnt(e, BASE + 4 * PAGE),
        cpuEnt(e, BASE + 5 * PAGE),
      ]);
    });

    it(`${kind}, a fault requested in it: -EFAULT; entries before it written, the rest untouched`, async () => {
      const e = env();
      await layout(e, kind);
      const h = countingHandler(e);
      const r = await range57(e, BASE, 6, { pfnFlagsMask: V });
      r.pfns.set([0, 0, 0, V, 0, 0]);
      expect(await fault57(e, r, { faultHandler: h.handler })).toBe(-14);
      expect(h.calls).toEqual([]);
      expect(out(r)).toEqual([cpuEnt(e, BASE), cpuEnt(e, BASE + PAGE), 0, V, 0, 0]);
    });
  }
});

describe('v5.7 holes without a VMA', () => {
  async function gap(e: Env): Promise<void> {
    await mapAnon(e, BASE, 2);
    await mapAnon(e, BASE + 4 * PAGE, 2);
    await touch(e, BASE, 2);
    await touch(e, BASE + 4 * PAGE, 2);
  }

  it('snapshot: ERROR in the gap (5.5 said NONE)', async () => {
    const e = env();
    await gap(e);
    const r = await range57(e, BASE, 6);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(6);
    expect(out(r)).toEqual([
      cpuEnt(e, BASE),
      cpuEnt(e, BASE + PAGE),
      ERROR,
      ERROR,
      cpuEnt(e, BASE + 4 * PAGE),
      cpuEnt(e, BASE + 5 * PAGE),
    ]);
  });

  it('a fault requested in the gap: -EFAULT, nothing written there (no ERROR marker)', async () => {
    const e = env();
    await gap(e);
    const h = countingHandler(e);
    const r = await range57(e, BASE, 6, { defaultFlags: V });
    r.pfns.fill(S);
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(-14);
    expect(h.calls).toEqual([]);
    expect(out(r)).toEqual([cpuEnt(e, BASE), cpuEnt(e, BASE + PAGE), S, S, S, S]);
  });

  it('a range past the last VMA: ERROR after it', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 2);
    const r = await range57(e, BASE, 4);
    r.pfns.fill(S);
    await fault57(e, r);
    expect(out(r)).toEqual([cpuEnt(e, BASE), cpuEnt(e, BASE + PAGE), ERROR, ERROR]);
  });

  it('a range outside any VMA: ERROR everywhere, count 0; with a request -EFAULT and untouched', async () => {
    const e = env();
    await gap(e);
    const r = await range57(e, 2 ** 40, 4);
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(0);
    expect(out(r)).toEqual(Array(4).fill(ERROR));
    const f = await range57(e, 2 ** 40, 4, { defaultFlags: V });
    f.pfns.fill(S);
    expect(await fault57(e, f)).toBe(-14);
    expect(out(f)).toEqual(Array(4).fill(S));
  });
});

describe('v5.7 PMD huge leaves (THP)', () => {
  it('snapshot: every 4 KiB entry from the PMD, full and partial ranges', async () => {
    const e = env({ thp: 'always' });
    const [h0, h1] = await twoThps(e, BASE);
    const r = await range57(e, BASE, 1024);
    expect(await fault57(e, r)).toBe(1024);
    for (let i = 0; i < 1024; i++) {
      expect(r.pfns[i]).toBe(ent(i < 512 ? h0 + i : h1 + i - 512, V | W));
    }
    const p = await range57(e, BASE + 100 * PAGE, 500);
    expect(await fault57(e, p)).toBe(500);
    for (let i = 0; i < 500; i++) {
      const k = 100 + i;
      expect(p.pfns[i]).toBe(ent(k < 512 ? h0 + k : h1 + k - 512, V | W));
    }
  });

  it('read-only THP (forked): VALID only; a read request faults nothing', async () => {
    const e = env({ thp: 'always' });
    const [h0] = await twoThps(e, BASE);
    expect(typeof (await fork(e.mm))).not.toBe('number');
    const h = countingHandler(e);
    const r = await range57(e, BASE, 512, { defaultFlags: V });
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(512);
    expect(h.calls).toEqual([]);
    expect(r.pfns[0]).toBe(ent(h0, V));
    expect(r.pfns[511]).toBe(ent(h0 + 511, V));
  });

  it('read-only THP, default write request: the whole chunk faulted writable, then VALID|WRITE', async () => {
    const e = env({ thp: 'always' });
    await twoThps(e, BASE);
    expect(typeof (await fork(e.mm))).not.toBe('number');
    const r = await range57(e, BASE, 512, { defaultFlags: V | W });
    const res = await retryLoop(
      r,
      () => {},
      () => fault57(e, r),
    );
    expect(res.ret).toBe(512);
    for (const i of [0, 7, 511]) expect(r.pfns[i]).toBe(cpuEnt(e, BASE + i * PAGE));
    expect((r.pfns[7] as number) % 4).toBe(V | W);
  });

  it('read-only THP, a per-page write request at one page: one decision, every page of the chunk write-faulted', async () => {
    const e = env({ thp: 'always' });
    await twoThps(e, BASE);
    expect(typeof (await fork(e.mm))).not.toBe('number');
    const h = countingHandler(e);
    const r = await range57(e, BASE, 512, { defaultFlags: V, pfnFlagsMask: W });
    const res = await retryLoop(
      r,
      () => {
        r.pfns.fill(0);
        r.pfns[300] = W;
      },
      () => fault57(e, r, { faultHandler: h.handler }),
    );
    expect(res.ret).toBe(512);
    // The first call: hmm_vma_fault(addr = PMD start, end = PMD end) with FAULT_FLAG_WRITE.
    const firstPass = h.calls.slice(0, 512);
    expect(firstPass.map((c) => (c.addr - BASE) / PAGE)).toEqual([...Array(512).keys()]);
    expect(firstPass.every((c) => (c.flags & FAULT_FLAG_WRITE) !== 0)).toBe(true);
    for (const i of [0, 300, 511]) expect(r.pfns[i]).toBe(cpuEnt(e, BASE + i * PAGE));
    expect((r.pfns[300] as number) % 4).toBe(V | W);
  });

  it('PMD-level PROT_NONE: pfn|VALID for the chunk in v5.7 (Q12); Q12 off: bare pfns', async () => {
    const e = env({ thp: 'always' });
    const [h0] = await twoThps(e, BASE);
    protnonePmd(e, BASE);
    const r = await range57(e, BASE, 1024);
    expect(await fault57(e, r)).toBe(1024);
    expect(r.pfns[0]).toBe(ent(h0, V));
    expect(r.pfns[511]).toBe(ent(h0 + 511, V));
    expect(r.pfns[512]).toBe(cpuEnt(e, BASE + 512 * PAGE));
    const fixed = await range57(e, BASE, 512);
    expect(await fault57(e, fixed, { quirks: { q12ProtnoneReportedValid: false } })).toBe(512);
    expect(fixed.pfns[0]).toBe(ent(h0, 0));
    expect(fixed.pfns[511]).toBe(ent(h0 + 511, 0));
  });

  it('PMD-level PROT_NONE with a read request: the chunk is faulted (handle_mm_fault from the PMD start), then reported', async () => {
    const e = env({ thp: 'always' });
    const [h0] = await twoThps(e, BASE);
    const s = pmdOffset(e.mm.pt, BASE);
    const accessible = e.mm.pt.bits[s] as number;
    protnonePmd(e, BASE);
    // The mm model has no do_huge_pmd_numa_page(): the handler restores the PMD as it would.
    const h = countingHandler(e, async () => {
      e.mm.pt.bits[s] = accessible;
      return 0;
    });
    const r = await range57(e, BASE, 512, { defaultFlags: V });
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(512);
    expect(h.calls.length).toBe(512);
    expect(h.calls[0]?.addr).toBe(BASE);
    expect(h.calls.every((c) => (c.flags & FAULT_FLAG_WRITE) === 0)).toBe(true);
    expect(r.pfns[0]).toBe(ent(h0, V | W));
    expect(r.pfns[511]).toBe(ent(h0 + 511, V | W));
  });

  for (const bad of ['hwpoison', 'bad'] as const) {
    it(`${bad} PMD: ERROR for the chunk with nothing requested, -EFAULT with a request`, async () => {
      const e = env({ thp: 'always' });
      const [h0] = await twoThps(e, BASE);
      const s = pmdOffset(e.mm.pt, BASE);
      if (bad === 'hwpoison') {
        e.mm.pt.bits[s] = swpEntryToPteBits(makeHwpoisonEntry(h0));
        e.mm.pt.val[s] = h0;
      } else {
        e.mm.pt.bits[s] = 0x3;
        e.mm.pt.val[s] = 0;
      }
      const r = await range57(e, BASE, 512);
      r.pfns.fill(S);
      expect(await fault57(e, r)).toBe(0);
      expect(r.pfns[0]).toBe(ERROR);
      expect(r.pfns[511]).toBe(ERROR);
      const f = await range57(e, BASE, 512, { defaultFlags: V });
      f.pfns.fill(S);
      expect(await fault57(e, f)).toBe(-14);
      expect(f.pfns[0]).toBe(S);
      expect(f.pfns[511]).toBe(S);
    });
  }
});

describe('v5.7 devmap (ZONE_DEVICE mapped by the CPU)', () => {
  it('pte_devmap (x86 sets _PAGE_SPECIAL with it): SPECIAL, no get_dev_pagemap check (no -EBUSY with the pgmap gone)', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE + PAGE, 1);
    const dev = addOwnedDeviceMemory(e, 512, 7, OWNER_A);
    setPteAt(e, BASE, 0x1 | 0x4 | 0x20 | 0x200 | 0x400, dev.first); // present|user|accessed|special|devmap
    e.machine.devPagemaps.delete(7);
    const r = await range57(e, BASE, 2);
    expect(await fault57(e, r)).toBe(2);
    expect(out(r)).toEqual([SPECIAL, cpuEnt(e, BASE + PAGE)]);
    // A read request fails: the DAX case fixed only by 4b42fb213678 (v6.0).
    const f = await range57(e, BASE, 2, { defaultFlags: V });
    f.pfns.fill(S);
    expect(await fault57(e, f)).toBe(-14);
    expect(out(f)).toEqual([S, S]);
  });

  it('pmd_devmap: every 4 KiB entry reported, with or without the pgmap registered', async () => {
    const e = env();
    await mapAnon(e, BASE, 512);
    const dev = addOwnedDeviceMemory(e, 1024, 7, OWNER_A);
    const head = Math.ceil(dev.first / 512) * 512;
    const slot = pmdAlloc(e.mm.pt, BASE);
    setPmd(e.mm.pt, slot, 0x1 | 0x2 | 0x4 | 0x20 | 0x40 | 0x80 | 0x400, head); // RW huge devmap
    for (const registered of [true, false]) {
      if (!registered) e.machine.devPagemaps.delete(7);
      const r = await range57(e, BASE, 512, { defaultFlags: V });
      expect(await fault57(e, r)).toBe(512);
      expect(r.pfns[0]).toBe(ent(head, V | W));
      expect(r.pfns[511]).toBe(ent(head + 511, V | W));
    }
  });
});

describe('v5.7 errno', () => {
  it('-EBUSY: an invalidation racing through the scheduler; entries to be faulted untouched', async () => {
    let cpu0: Task | undefined;
    const e = env({ sched: createScheduler({ policy: switchAt('fault', 1, () => cpu0) }) });
    await mapAnon(e, BASE, 8);
    await touch(e, BASE + PAGE, 7);
    const r = await range57(e, BASE, 8, { defaultFlags: V | W });
    r.pfns.fill(S);
    const log: string[] = [];
    e.sched.spawn('cpu1', async () => {
      log.push(`cpu1 ${await fault57(e, r)}`);
    });
    cpu0 = e.sched.spawn('cpu0', async () => {
      log.push('cpu0 madvise');
      expect(await madvise(e.mm, BASE + 5 * PAGE, PAGE, MADV_DONTNEED)).toBe(0);
    });
    const res = await e.sched.run();
    expect(res.errors).toEqual([]);
    expect(log).toEqual(['cpu0 madvise', 'cpu1 -16']);
    // The fault at page 0 ran, but nothing was written: the collision check comes first.
    expect(out(r)).toEqual(Array(8).fill(S));
  });

  it('-EBUSY: a stale sequence fails at once, nothing faulted; a new read_begin succeeds', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    await touch(e, BASE, 4);
    const r = await range57(e, BASE, 4, { defaultFlags: V | W });
    expect(await madvise(e.mm, BASE, PAGE, MADV_DONTNEED)).toBe(0);
    const h = countingHandler(e);
    r.pfns.fill(S);
    expect(await fault57(e, r, { faultHandler: h.handler })).toBe(-16);
    expect(h.calls).toEqual([]);
    expect(out(r)).toEqual(Array(4).fill(S));
    const res = await retryLoop(
      r,
      () => {},
      () => fault57(e, r),
    );
    expect(res).toEqual({ ret: 4, calls: 1 });
  });

  it('-EFAULT: VM_FAULT_OOM is a VM_FAULT_ERROR, with no ERROR marker written', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const { setAllocFailure } = await import('@hmmsim/mm');
    setAllocFailure(e.machine, () => true);
    const r = await range57(e, BASE, 4, { defaultFlags: V | W });
    r.pfns.fill(S);
    expect(await fault57(e, r)).toBe(-14);
    expect(out(r)).toEqual(Array(4).fill(S));
  });

  it('-EINVAL: empty or unaligned ranges, nothing changed', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const h = countingHandler(e);
    for (const [start, end] of [
      [BASE, BASE],
      [BASE + 1, BASE + PAGE],
      [BASE, BASE + PAGE + 7],
      [BASE + PAGE, BASE],
    ] as const) {
      const r = await range57(e, BASE, 4, { defaultFlags: V });
      r.start = start;
      r.end = end;
      r.pfns.fill(S);
      expect(await fault57(e, r, { faultHandler: h.handler })).toBe(-22);
      expect(out(r)).toEqual(Array(4).fill(S));
    }
    expect(h.calls).toEqual([]);
    expect(e.mm.rssPages).toBe(0);
  });

  it('v57.hmmRangeFault is the same call', async () => {
    const e = env();
    await mapAnon(e, BASE, 2);
    await touch(e, BASE, 1);
    const r = await range57(e, BASE, 2);
    expect(await underSem(e, () => v57.hmmRangeFault(r))).toBe(2);
    expect(out(r)).toEqual([cpuEnt(e, BASE), NONE]);
  });
});
