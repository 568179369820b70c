/**
 * Invariant 5 (no page references, refcount/mapcount unchanged by a snapshot), invariant 12
 * (mmap_sem still held on return), the scheduling points of a call, Q1 (stray pass) and Q8
 * (NONE fill) seen from outside.
 */
import { downRead, PAGE_SIZE, upRead } from '@hmmsim/kernel';
import { assertMmInvariants, reclaimPage } from '@hmmsim/mm';
import { makeDevicePrivateEntry, swpEntryToPteBits } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import { HMM_FAULT_SNAPSHOT, hmmRangeFault } from '../src/index.ts';
import {
  addDeviceMemory,
  BASE,
  env,
  fault,
  legacyRange,
  mapAnon,
  PAGE,
  pfnAt,
  setPteAt,
  touch,
  V,
  VERSIONS,
  W,
} from './helpers.ts';

describe('invariant 5: no page references', () => {
  for (const version of VERSIONS) {
    it(`${version}: a snapshot leaves every refcount and mapcount as it was`, async () => {
      const e = env({ thp: 'always' });
      await mapAnon(e, BASE, 1024);
      await touch(e, BASE, 1); // THP
      await mapAnon(e, BASE + 1024 * PAGE, 8);
      await touch(e, BASE + 1024 * PAGE, 3);
      await touch(e, BASE + 1027 * PAGE, 2, false); // zero page
      await reclaimPage(e.machine, pfnAt(e, BASE + 1025 * PAGE)); // swap entry
      const dev = addDeviceMemory(e, 512);
      setPteAt(
        e,
        BASE + 1030 * PAGE,
        swpEntryToPteBits(makeDevicePrivateEntry(dev.first, false)),
        dev.first,
      );
      const pm = e.machine.phys;
      const ref = pm.refcount.slice();
      const map = pm.mapcount.slice();
      const cmap = pm.compoundMapcounts.slice();
      const r = legacyRange(e, BASE, 1032);
      const ret = await fault(e, r, HMM_FAULT_SNAPSHOT, { version });
      expect(ret).toBe(version === '5.4' ? -14 : 1032); // 5.4: the zero page (Q3)
      expect(pm.refcount).toEqual(ref);
      expect(pm.mapcount).toEqual(map);
      expect(pm.compoundMapcounts).toEqual(cmap);
    });
  }

  it('a fault-in changes counts only through the faults, and the mm stays consistent', async () => {
    const e = env();
    await mapAnon(e, BASE, 16);
    const r = legacyRange(e, BASE, 16, { defaultFlags: V | W });
    expect(await fault(e, r, 0)).toBe(16);
    for (let i = 0; i < 16; i++) {
      const pfn = pfnAt(e, BASE + i * PAGE);
      expect(e.machine.phys.refcount[pfn]).toBe(1); // the mapping's reference only
      expect(e.machine.phys.mapcount[pfn]).toBe(1);
    }
    assertMmInvariants(e.mm);
  });
});

describe('scheduling points and mmap_sem', () => {
  it('one check and one walk point per pass, one point per fault; mmap_sem still held', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    e.sched.trace.enabled = true;
    const r = legacyRange(e, BASE, 4, { defaultFlags: V | W });
    await downRead(e.mm.mmapSem);
    expect(await hmmRangeFault(r, 0)).toBe(4);
    expect(e.mm.mmapSem.readers.get(e.sched.current)).toBe(1);
    upRead(e.mm.mmapSem);
    const labels = e.sched.trace.events
      .filter((ev) => ev.kind === 'hmm.range_fault')
      .map((ev) => ev.label);
    // Pass 1 faults the empty PMD chunk (4 pages), pass 2 finds them present.
    expect(labels).toEqual([
      'check_retry',
      'walk_page_range',
      'fault',
      'fault',
      'fault',
      'fault',
      'check_retry',
      'walk_page_range',
      // The result line (not a scheduling point): generation, range, collision state, return.
      `v5.5 [0x${BASE.toString(16)}, 0x${(BASE + 4 * PAGE).toString(16)}) valid=true -> 4`,
    ]);
  });

  it('Q1: the 5.4 loop walks each VMA once more first', async () => {
    const count = async (version: '5.4' | '5.5', q1 = true) => {
      const e = env();
      await mapAnon(e, BASE, 2);
      await mapAnon(e, BASE + 2 * PAGE, 2, 1); // PROT_READ: a second VMA
      await touch(e, BASE, 2);
      e.sched.trace.enabled = true;
      await fault(e, legacyRange(e, BASE, 4), HMM_FAULT_SNAPSHOT, {
        version,
        quirks: { q1StrayWalk: q1 },
      });
      return e.sched.trace.events.filter((ev) => ev.label === 'walk_page_range').length;
    };
    expect(await count('5.4')).toBe(4);
    expect(await count('5.4', false)).toBe(2);
    expect(await count('5.5')).toBe(1);
  });

  it('Q8: the NONE fill overwrites entries written before the error, from walk.last on', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    await touch(e, BASE, 4);
    setPteAt(e, BASE + 2 * PAGE, 0x1 | 0x4 | 0x200, pfnAt(e, BASE)); // special, not the zero page
    const r = legacyRange(e, BASE, 4);
    expect(await fault(e, r, HMM_FAULT_SNAPSHOT, { version: '5.4' })).toBe(-14);
    expect(r.pfns[1]).toBe(pfnAt(e, BASE + PAGE) * 2 ** 12 + (V | W));
    expect([r.pfns[2], r.pfns[3]]).toEqual([0, 0]);
    expect(PAGE_SIZE).toBe(PAGE);
  });
});
