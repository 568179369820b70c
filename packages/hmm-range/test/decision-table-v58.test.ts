/**
 * The per-entry decision table of hmm_range_fault() in v5.8 (2733ea144dcc, the fixed hmm_pfns
 * format, 0 or -errno returned) and v5.9 (3b50a6e536d2, the map order): whole-word outputs
 * (model entry = pfn * 256 + flag byte), HMM_PFN_REQ_FAULT / HMM_PFN_REQ_WRITE requests through
 * defaultFlags and pfnFlagsMask, dev_private_owner, HMM_PFN_ERROR for what cannot be mirrored.
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
  setAllocFailure,
  unlockPageWake,
  VM_IO,
} from '@hmmsim/mm';
import {
  _PAGE_ACCESSED,
  _PAGE_DEVMAP,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_USER,
  makeHwpoisonEntry,
  pmdAlloc,
  pmdOffset,
  pudAlloc,
  setPmd,
  setPud,
  swpEntryToPteBits,
} from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import { hmmQuirksFor, hmmRangeFault, v58, v59 } from '../src/index.ts';
import {
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnToMapOrder,
  hmmPfnToPage,
} from '../src/v5.9.ts';
import {
  BASE,
  countingHandler,
  type Env,
  env,
  existingSlot,
  mapAnon,
  PAGE,
  pfnAt,
  setPteAt,
  switchAt,
  touch,
} from './helpers.ts';
import {
  addOwnedDeviceMemory,
  addVmFlags,
  devicePage,
  faultPfns,
  migratingPmd,
  migratingPte,
  OWNER_A,
  OWNER_B,
  outPfns,
  PFNS_VERSIONS,
  pe,
  protnonePmd,
  protnonePte,
  rangePfns,
  retryLoop,
  S58,
  specialOrPoison,
  twoThps,
  underSem,
} from './helpers-gen.ts';

const VA = HMM_PFN_VALID;
const WR = HMM_PFN_WRITE;
const REQ = HMM_PFN_REQ_FAULT;
const REQ_W = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;

/** The entry of the present PTE or huge PMD at `addr` for `version` (order 9 for a PMD in v5.9). */
function cpuPfn(e: Env, addr: number, version: '5.8' | '5.9'): number {
  const pt = e.mm.pt;
  const pmd = pmdOffset(pt, addr);
  const pb = pt.bits[pmd] as number;
  if ((pb & 0x80) !== 0) {
    const pfn = (pt.val[pmd] as number) + ((addr / PAGE) % 512);
    return pe(pfn, VA | ((pb & 2) !== 0 ? WR : 0) | (version === '5.9' ? 9 : 0));
  }
  const s = existingSlot(e, addr);
  return pe(pt.val[s] as number, VA | (((pt.bits[s] as number) & 2) !== 0 ? WR : 0));
}

async function cowParent(e: Env): Promise<void> {
  await mapAnon(e, BASE, 2);
  await touch(e, BASE, 2);
  const child = await fork(e.mm);
  if (typeof child === 'number') throw new Error('fork failed');
}

for (const version of PFNS_VERSIONS) {
  describe(`v${version} pte_none / pmd_none`, () => {
    it('pmd_none, nothing requested: 0 (the whole word), returns 0', async () => {
      const e = env();
      await mapAnon(e, BASE, 8);
      const r = await rangePfns(e, BASE, 8);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual(Array(8).fill(0));
    });

    it('pte_none next to a present PTE: 0; the present one pfn|VALID|WRITE; returns 0 (not a count)', async () => {
      const e = env();
      await mapAnon(e, BASE, 8);
      await touch(e, BASE, 1);
      const r = await rangePfns(e, BASE, 8);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual([pe(pfnAt(e, BASE), VA | WR), ...Array(7).fill(0)]);
      expect(hmmPfnToPage(r.hmmPfns[0] as number)).toBe(pfnAt(e, BASE));
    });

    it('REQ_FAULT on untouched memory: faulted; the zero page is a normal read-only pfn', async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      const h = countingHandler(e);
      const r = await rangePfns(e, BASE, 4, { defaultFlags: REQ });
      expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(0);
      expect(h.calls.length).toBe(4);
      expect(outPfns(r)).toEqual(Array(4).fill(pe(e.machine.phys.zeroPfn, VA)));
    });

    it('REQ_FAULT|REQ_WRITE on untouched memory: VALID|WRITE on fresh pages', async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      const r = await rangePfns(e, BASE, 4, { defaultFlags: REQ_W });
      expect(await faultPfns(e, r, version)).toBe(0);
      for (let i = 0; i < 4; i++) expect(r.hmmPfns[i]).toBe(pe(pfnAt(e, BASE + i * PAGE), VA | WR));
    });

    it('REQ_WRITE without REQ_FAULT does nothing', async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      await touch(e, BASE, 2, false);
      const h = countingHandler(e);
      const r = await rangePfns(e, BASE, 4, { defaultFlags: HMM_PFN_REQ_WRITE });
      expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(0);
      expect(h.calls).toEqual([]);
      const z = e.machine.phys.zeroPfn;
      expect(outPfns(r)).toEqual([pe(z, VA), pe(z, VA), 0, 0]);
    });

    it('a write request on a VMA without VM_WRITE: -EPERM, nothing faulted, entries untouched', async () => {
      const e = env();
      await mapAnon(e, BASE, 4, PROT_READ);
      const h = countingHandler(e);
      const r = await rangePfns(e, BASE, 4, { defaultFlags: REQ_W });
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(-1);
      expect(h.calls).toEqual([]);
      expect(outPfns(r)).toEqual(Array(4).fill(S58));
    });

    it('per-page REQ_FAULT through pfnFlagsMask: faults from that page to the chunk end (Q2), not before', async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      await touch(e, BASE + 3 * PAGE, 1);
      const h = countingHandler(e);
      const r = await rangePfns(e, BASE, 4, { pfnFlagsMask: REQ_W });
      r.hmmPfns.set([0, REQ, 0, 0]);
      expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(0);
      expect(h.calls.map((c) => (c.addr - BASE) / PAGE)).toEqual([1, 2, 3]);
      const z = e.machine.phys.zeroPfn;
      expect(outPfns(r)).toEqual([0, pe(z, VA), pe(z, VA), pe(pfnAt(e, BASE + 3 * PAGE), VA | WR)]);
    });

    it('pfnFlagsMask 0: the array contents are not requests', async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      const h = countingHandler(e);
      const r = await rangePfns(e, BASE, 4);
      r.hmmPfns.fill(REQ_W);
      expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(0);
      expect(h.calls).toEqual([]);
      expect(outPfns(r)).toEqual(Array(4).fill(0));
    });
  });

  describe(`v${version} present PTE`, () => {
    it('read-only, nothing requested: pfn|VALID; the request bits of the word do not survive', async () => {
      const e = env();
      await cowParent(e);
      const r = await rangePfns(e, BASE, 2, { pfnFlagsMask: REQ_W });
      r.hmmPfns.set([HMM_PFN_REQ_WRITE, HMM_PFN_REQ_WRITE | 0x1f]); // no REQ_FAULT: no request
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual([pe(pfnAt(e, BASE), VA), pe(pfnAt(e, BASE + PAGE), VA)]);
      expect(hmmPfnToMapOrder(r.hmmPfns[0] as number)).toBe(0);
    });

    it('read-only, REQ_FAULT|REQ_WRITE: COW broken, VALID|WRITE', async () => {
      const e = env();
      await cowParent(e);
      const shared = pfnAt(e, BASE);
      const r = await rangePfns(e, BASE, 2, { defaultFlags: REQ_W });
      const res = await retryLoop(
        r,
        () => {},
        () => faultPfns(e, r, version),
      );
      expect(res.ret).toBe(0);
      expect(pfnAt(e, BASE)).not.toBe(shared);
      expect(outPfns(r)).toEqual([pe(pfnAt(e, BASE), VA | WR), pe(pfnAt(e, BASE + PAGE), VA | WR)]);
    });

    it('read-only, per-page write request: only that page faulted', async () => {
      const e = env();
      await cowParent(e);
      const h = countingHandler(e);
      const r = await rangePfns(e, BASE, 2, { pfnFlagsMask: REQ_W });
      const res = await retryLoop(
        r,
        () => r.hmmPfns.set([0, REQ_W]),
        () => faultPfns(e, r, version, { faultHandler: h.handler }),
      );
      expect(res.ret).toBe(0);
      expect(h.calls.map((c) => c.addr)).toEqual([BASE + PAGE]);
      expect(outPfns(r)).toEqual([pe(pfnAt(e, BASE), VA), pe(pfnAt(e, BASE + PAGE), VA | WR)]);
    });

    it('read-only without VM_WRITE, write request: -EPERM, untouched', async () => {
      const e = env();
      await mapAnon(e, BASE, 2);
      await touch(e, BASE, 2);
      expect(await mprotect(e.mm, BASE, 2 * PAGE, PROT_READ)).toBe(0);
      const h = countingHandler(e);
      const r = await rangePfns(e, BASE, 2, { defaultFlags: REQ_W });
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(-1);
      expect(h.calls).toEqual([]);
      expect(outPfns(r)).toEqual([S58, S58]);
    });

    it('PROT_NONE PTE, nothing requested: the bare pfn (no flags, Q12 off from v5.8)', async () => {
      const e = env();
      const pfn = await protnonePte(e, BASE);
      expect(hmmQuirksFor(version).q12ProtnoneReportedValid).toBe(false);
      const r = await rangePfns(e, BASE, 2);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(r.hmmPfns[0]).toBe(pe(pfn, 0));
    });

    it('PROT_NONE PTE, REQ_FAULT: faulted accessible again', async () => {
      const e = env();
      const pfn = await protnonePte(e, BASE);
      const r = await rangePfns(e, BASE, 2, { defaultFlags: REQ });
      const res = await retryLoop(
        r,
        () => {},
        () => faultPfns(e, r, version),
      );
      expect(res.ret).toBe(0);
      expect(pfnAt(e, BASE)).toBe(pfn);
      expect(r.hmmPfns[0]).toBe(cpuPfn(e, BASE, version));
      expect((r.hmmPfns[0] as number) & VA).toBe(VA);
    });
  });

  describe(`v${version} swap and migration entries`, () => {
    it('swap, nothing requested: 0; REQ_FAULT: swapped in', async () => {
      const e = env();
      await mapAnon(e, BASE, 2);
      await touch(e, BASE, 2);
      expect(await reclaimPage(e.machine, pfnAt(e, BASE))).toBe(0);
      const r = await rangePfns(e, BASE, 2);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual([0, pe(pfnAt(e, BASE + PAGE), VA | WR)]);
      const f = await rangePfns(e, BASE, 2, { defaultFlags: REQ });
      expect(await faultPfns(e, f, version)).toBe(0);
      expect(f.hmmPfns[0]).toBe(cpuPfn(e, BASE, version));
      expect((f.hmmPfns[0] as number) & VA).toBe(VA);
    });

    it('PTE migration entry, nothing requested: 0 without waiting', async () => {
      const e = env();
      await migratingPte(e, BASE);
      const r = await rangePfns(e, BASE, 2);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(r.hmmPfns[0]).toBe(0);
    });

    it('PTE migration entry, REQ_FAULT: waits for the page unlock, then reports the page', async () => {
      const e = env();
      const { pfn, bits } = await migratingPte(e, BASE);
      const log: string[] = [];
      const r = await rangePfns(e, BASE, 2, { defaultFlags: REQ });
      const h = countingHandler(e);
      e.sched.spawn('cpu1', async () => {
        log.push('fault start');
        log.push(`ret ${await faultPfns(e, r, version, { faultHandler: h.handler })}`);
      });
      e.sched.spawn('migrate', async () => {
        log.push('migration done');
        e.mm.pt.bits[existingSlot(e, BASE)] = bits;
        e.mm.pt.val[existingSlot(e, BASE)] = pfn;
        unlockPageWake(e.machine, pfn);
      });
      const res = await e.sched.run();
      expect(res.errors).toEqual([]);
      expect(log).toEqual(['fault start', 'migration done', 'ret 0']);
      expect(h.calls).toEqual([]); // migration_entry_wait(), not handle_mm_fault()
      expect(r.hmmPfns[0]).toBe(pe(pfn, VA | WR));
    });

    it('PMD migration entry: 0 for the chunk without a request; with one, waits and reports the THP', async () => {
      const e = env({ thp: 'always' });
      const [h0] = await twoThps(e, BASE);
      const s = pmdOffset(e.mm.pt, BASE);
      const bits = e.mm.pt.bits[s] as number;
      migratingPmd(e, BASE, h0);
      const r = await rangePfns(e, BASE, 1024);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(r.hmmPfns[0]).toBe(0);
      expect(r.hmmPfns[511]).toBe(0);
      expect(r.hmmPfns[512]).toBe(cpuPfn(e, BASE + 512 * PAGE, version));
      const log: string[] = [];
      const f = await rangePfns(e, BASE, 512, { defaultFlags: REQ });
      const h = countingHandler(e);
      e.sched.spawn('cpu1', async () => {
        log.push('fault start');
        log.push(`ret ${await faultPfns(e, f, version, { faultHandler: h.handler })}`);
      });
      e.sched.spawn('migrate', async () => {
        log.push('migration done');
        e.mm.pt.bits[s] = bits;
        e.mm.pt.val[s] = h0;
        unlockPageWake(e.machine, h0);
      });
      const res = await e.sched.run();
      expect(res.errors).toEqual([]);
      expect(log).toEqual(['fault start', 'migration done', 'ret 0']);
      expect(h.calls).toEqual([]);
      expect(f.hmmPfns[0]).toBe(pe(h0, VA | WR | (version === '5.9' ? 9 : 0)));
    });
  });

  describe(`v${version} device-private entries and dev_private_owner`, () => {
    for (const write of [false, true]) {
      it(`owner matches, ${write ? 'writable' : 'read-only'}: pfn|VALID${write ? '|WRITE' : ''}, never faulted even for REQ_WRITE`, async () => {
        const e = env();
        const dev = await devicePage(e, BASE, write, OWNER_A);
        const h = countingHandler(e);
        const r = await rangePfns(e, BASE, 2, { defaultFlags: REQ_W, devPrivateOwner: OWNER_A });
        expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(0);
        expect(h.calls).toEqual([]);
        expect(dev.migrated).toEqual([]);
        expect(r.hmmPfns[0]).toBe(pe(dev.first, write ? VA | WR : VA));
        expect(hmmPfnToPage(r.hmmPfns[0] as number)).toBe(dev.first);
      });
    }

    for (const owner of [OWNER_B, null] as const) {
      const who = owner === null ? 'range without an owner' : 'another owner';
      it(`${who}, nothing requested: 0`, async () => {
        const e = env();
        await devicePage(e, BASE, true, OWNER_A);
        const r = await rangePfns(e, BASE, 2, { devPrivateOwner: owner });
        r.hmmPfns.fill(S58);
        expect(await faultPfns(e, r, version)).toBe(0);
        expect(outPfns(r)).toEqual([0, cpuPfn(e, BASE + PAGE, version)]);
      });

      it(`${who}, REQ_FAULT: -EFAULT, nothing written (Q13); Q13 off: migrated back`, async () => {
        const e = env();
        const dev = await devicePage(e, BASE, true, OWNER_A);
        const r = await rangePfns(e, BASE, 2, { defaultFlags: REQ, devPrivateOwner: owner });
        r.hmmPfns.fill(S58);
        expect(await faultPfns(e, r, version)).toBe(-14);
        expect(outPfns(r)).toEqual([S58, S58]);
        expect(dev.migrated).toEqual([]);
        const q = { q13ForeignPrivateFaultFails: false };
        expect(await faultPfns(e, r, version, { quirks: q })).toBe(0);
        expect(dev.migrated).toEqual([dev.first]);
        expect(outPfns(r)).toEqual([cpuPfn(e, BASE, version), cpuPfn(e, BASE + PAGE, version)]);
      });
    }
  });

  describe(`v${version} special PTE, hwpoison, unsupported VMAs, holes`, () => {
    it('special PTE, nothing requested: HMM_PFN_ERROR, returns 0', async () => {
      const e = env();
      await specialOrPoison(e, BASE, 'special');
      const r = await rangePfns(e, BASE, 4);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual([cpuPfn(e, BASE, version), HMM_PFN_ERROR, 0, 0]);
    });

    it('special PTE, REQ_FAULT: -EFAULT, nothing written from it on', async () => {
      const e = env();
      await specialOrPoison(e, BASE, 'special');
      const r = await rangePfns(e, BASE, 4, { defaultFlags: REQ });
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(-14);
      expect(outPfns(r)).toEqual([cpuPfn(e, BASE, version), S58, S58, S58]);
    });

    it('hwpoison: 0 with nothing requested, -EFAULT with REQ_FAULT', async () => {
      const e = env();
      await specialOrPoison(e, BASE, 'hwpoison');
      const r = await rangePfns(e, BASE, 4);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual([cpuPfn(e, BASE, version), 0, 0, 0]);
      const f = await rangePfns(e, BASE, 4, { defaultFlags: REQ });
      f.hmmPfns.fill(S58);
      expect(await faultPfns(e, f, version)).toBe(-14);
      expect(outPfns(f)).toEqual([cpuPfn(e, BASE, version), S58, S58, S58]);
    });

    for (const kind of ['io', 'pfnmap', 'mixedmap', 'noread'] as const) {
      it(`${kind} VMA: HMM_PFN_ERROR and skipped; -EFAULT when a page there requests a fault`, async () => {
        const e = env();
        await mapAnon(e, BASE, 2);
        await touch(e, BASE, 2);
        if (kind === 'pfnmap' || kind === 'mixedmap') {
          const file = createDeviceFile(e.machine, kind, 2) as MmFile;
          await mmap(
            e.mm,
            BASE + 2 * PAGE,
            2 * PAGE,
            PROT_READ | PROT_WRITE,
            MAP_SHARED | MAP_FIXED,
            file,
          );
        } else if (kind === 'io') {
          await mapAnon(e, BASE + 2 * PAGE, 2, PROT_READ);
          addVmFlags(findVma(e.mm, BASE + 2 * PAGE), VM_IO);
        } else {
          await mapAnon(e, BASE + 2 * PAGE, 2, PROT_NONE);
        }
        const r = await rangePfns(e, BASE, 4);
        r.hmmPfns.fill(S58);
        expect(await faultPfns(e, r, version)).toBe(0);
        const head = [cpuPfn(e, BASE, version), cpuPfn(e, BASE + PAGE, version)];
        expect(outPfns(r)).toEqual([...head, HMM_PFN_ERROR, HMM_PFN_ERROR]);
        const f = await rangePfns(e, BASE, 4, { pfnFlagsMask: REQ });
        f.hmmPfns.set([0, 0, 0, REQ]);
        expect(await faultPfns(e, f, version)).toBe(-14);
        expect(outPfns(f)).toEqual([...head, 0, REQ]);
      });
    }

    it('a gap without a VMA: HMM_PFN_ERROR; with REQ_FAULT -EFAULT and nothing written there', async () => {
      const e = env();
      await mapAnon(e, BASE, 2);
      await mapAnon(e, BASE + 4 * PAGE, 2);
      await touch(e, BASE, 2);
      await touch(e, BASE + 4 * PAGE, 2);
      const r = await rangePfns(e, BASE, 6);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      const c = (i: number) => cpuPfn(e, BASE + i * PAGE, version);
      expect(outPfns(r)).toEqual([c(0), c(1), HMM_PFN_ERROR, HMM_PFN_ERROR, c(4), c(5)]);
      const f = await rangePfns(e, BASE, 6, { defaultFlags: REQ });
      f.hmmPfns.fill(S58);
      expect(await faultPfns(e, f, version)).toBe(-14);
      expect(outPfns(f)).toEqual([c(0), c(1), S58, S58, S58, S58]);
    });

    it('a range outside any VMA: HMM_PFN_ERROR everywhere', async () => {
      const e = env();
      await mapAnon(e, BASE, 2);
      const r = await rangePfns(e, 2 ** 40, 4);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual(Array(4).fill(HMM_PFN_ERROR));
    });
  });

  describe(`v${version} PMD huge leaves (THP)`, () => {
    const order = version === '5.9' ? 9 : 0;

    it(`snapshot: every 4 KiB entry, map order ${order}, full and partial ranges`, async () => {
      const e = env({ thp: 'always' });
      const [h0, h1] = await twoThps(e, BASE);
      const r = await rangePfns(e, BASE, 1024);
      expect(await faultPfns(e, r, version)).toBe(0);
      for (let i = 0; i < 1024; i++) {
        expect(r.hmmPfns[i]).toBe(pe(i < 512 ? h0 + i : h1 + i - 512, VA | WR | order));
      }
      expect(hmmPfnToMapOrder(r.hmmPfns[600] as number)).toBe(order);
      expect(hmmPfnToPage(r.hmmPfns[600] as number)).toBe(h1 + 88);
      const p = await rangePfns(e, BASE + 100 * PAGE, 500);
      expect(await faultPfns(e, p, version)).toBe(0);
      for (const i of [0, 411, 412, 499]) {
        const k = 100 + i;
        expect(p.hmmPfns[i]).toBe(pe(k < 512 ? h0 + k : h1 + k - 512, VA | WR | order));
      }
    });

    it('read-only THP: VALID (and the order); REQ_FAULT faults nothing', async () => {
      const e = env({ thp: 'always' });
      const [h0] = await twoThps(e, BASE);
      expect(typeof (await fork(e.mm))).not.toBe('number');
      const h = countingHandler(e);
      const r = await rangePfns(e, BASE, 512, { defaultFlags: REQ });
      expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(0);
      expect(h.calls).toEqual([]);
      expect(r.hmmPfns[0]).toBe(pe(h0, VA | order));
      expect(r.hmmPfns[511]).toBe(pe(h0 + 511, VA | order));
    });

    it('read-only THP, a per-page REQ_WRITE at one page: one write decision for the whole PMD chunk', async () => {
      const e = env({ thp: 'always' });
      await twoThps(e, BASE);
      expect(typeof (await fork(e.mm))).not.toBe('number');
      const h = countingHandler(e);
      const r = await rangePfns(e, BASE, 512, { pfnFlagsMask: REQ_W });
      const res = await retryLoop(
        r,
        () => {
          r.hmmPfns.fill(0);
          r.hmmPfns[300] = REQ_W;
        },
        () => faultPfns(e, r, version, { faultHandler: h.handler }),
      );
      expect(res.ret).toBe(0);
      const first = h.calls.slice(0, 512);
      expect(first.map((c) => (c.addr - BASE) / PAGE)).toEqual([...Array(512).keys()]);
      expect(first.every((c) => (c.flags & FAULT_FLAG_WRITE) !== 0)).toBe(true);
      for (const i of [0, 300, 511]) {
        expect(r.hmmPfns[i]).toBe(cpuPfn(e, BASE + i * PAGE, version));
        expect((r.hmmPfns[i] as number) & WR).toBe(WR);
      }
    });

    it('PMD-level PROT_NONE: the bare pfn, no flags and no order', async () => {
      const e = env({ thp: 'always' });
      const [h0] = await twoThps(e, BASE);
      protnonePmd(e, BASE);
      const r = await rangePfns(e, BASE, 1024);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(r.hmmPfns[0]).toBe(pe(h0, 0));
      expect(r.hmmPfns[511]).toBe(pe(h0 + 511, 0));
      expect(hmmPfnToMapOrder(r.hmmPfns[0] as number)).toBe(0);
      expect(r.hmmPfns[512]).toBe(cpuPfn(e, BASE + 512 * PAGE, version));
    });

    for (const bad of ['hwpoison', 'bad'] as const) {
      it(`${bad} PMD: HMM_PFN_ERROR for the chunk; -EFAULT with REQ_FAULT`, async () => {
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
        const r = await rangePfns(e, BASE, 1024);
        r.hmmPfns.fill(S58);
        expect(await faultPfns(e, r, version)).toBe(0);
        expect(r.hmmPfns[0]).toBe(HMM_PFN_ERROR);
        expect(r.hmmPfns[511]).toBe(HMM_PFN_ERROR);
        expect(r.hmmPfns[512]).toBe(cpuPfn(e, BASE + 512 * PAGE, version));
        const f = await rangePfns(e, BASE, 512, { defaultFlags: REQ });
        f.hmmPfns.fill(S58);
        expect(await faultPfns(e, f, version)).toBe(-14);
        expect(outPfns(f)).toEqual(Array(512).fill(S58));
      });
    }
  });

  describe(`v${version} devmap`, () => {
    it('pte_devmap (with _PAGE_SPECIAL): HMM_PFN_ERROR, -EFAULT with REQ_FAULT (until 4b42fb213678, v6.0)', async () => {
      const e = env();
      await mapAnon(e, BASE, 2);
      const dev = addOwnedDeviceMemory(e, 512, 7, OWNER_A);
      setPteAt(e, BASE, 0x1 | 0x4 | 0x20 | 0x200 | 0x400, dev.first);
      const r = await rangePfns(e, BASE, 2);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(0);
      expect(outPfns(r)).toEqual([HMM_PFN_ERROR, 0]);
      const f = await rangePfns(e, BASE, 2, { pfnFlagsMask: REQ });
      f.hmmPfns.set([REQ, 0]);
      expect(await faultPfns(e, f, version)).toBe(-14);
      expect(outPfns(f)).toEqual([REQ, 0]);
    });

    it(`pmd_devmap: reported (order ${version === '5.9' ? 9 : 0}) with no get_dev_pagemap check`, async () => {
      const e = env();
      await mapAnon(e, BASE, 512);
      const dev = addOwnedDeviceMemory(e, 1024, 7, OWNER_A);
      const head = Math.ceil(dev.first / 512) * 512;
      const slot = pmdAlloc(e.mm.pt, BASE);
      setPmd(e.mm.pt, slot, 0x1 | 0x4 | 0x20 | 0x80 | 0x400, head); // read-only huge devmap
      e.machine.devPagemaps.delete(7);
      const r = await rangePfns(e, BASE, 512, { defaultFlags: REQ });
      expect(await faultPfns(e, r, version)).toBe(0);
      const o = version === '5.9' ? 9 : 0;
      expect(r.hmmPfns[0]).toBe(pe(head, VA | o));
      expect(r.hmmPfns[511]).toBe(pe(head + 511, VA | o));
    });
  });

  describe(`v${version} errno`, () => {
    it('-EBUSY only from the notifier check: a stale sequence, nothing faulted or written', async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      await touch(e, BASE, 4);
      const r = await rangePfns(e, BASE, 4, { defaultFlags: REQ_W });
      expect(await madvise(e.mm, BASE, PAGE, MADV_DONTNEED)).toBe(0);
      const h = countingHandler(e);
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(-16);
      expect(h.calls).toEqual([]);
      expect(outPfns(r)).toEqual(Array(4).fill(S58));
    });

    it('-EBUSY leaves outputs below the collision point, which read as requests (VALID aliases REQ_FAULT)', async () => {
      let cpu0: Task | undefined;
      const e = env({ sched: createScheduler({ policy: switchAt('fault', 1, () => cpu0) }) });
      await mapAnon(e, BASE, 4);
      await touch(e, BASE, 2);
      const p0 = pfnAt(e, BASE);
      const p1 = pfnAt(e, BASE + PAGE);
      const r = await rangePfns(e, BASE, 4, { pfnFlagsMask: REQ_W });
      r.hmmPfns.set([0, 0, REQ, 0]); // read page 2; nothing asked for pages 0 and 1
      let ret = 0;
      e.sched.spawn('cpu1', async () => {
        ret = await faultPfns(e, r, version);
      });
      cpu0 = e.sched.spawn('cpu0', async () => {
        expect(await madvise(e.mm, BASE, PAGE, MADV_DONTNEED)).toBe(0);
      });
      const res = await e.sched.run();
      expect(res.errors).toEqual([]);
      expect(ret).toBe(-16);
      // Outputs below the fault point, the request still in place at it (not zeroed before the fault).
      expect(outPfns(r)).toEqual([pe(p0, VA | WR), pe(p1, VA | WR), REQ, 0]);
      expect(HMM_PFN_VALID).toBe(HMM_PFN_REQ_FAULT);
      // A caller that retries without re-initialising the requests write-faults page 0 back in.
      const naive = countingHandler(e);
      expect(e.mm.pt.bits[existingSlot(e, BASE)]).toBe(0);
      const again = await retryLoop(
        r,
        () => {}, // the bug: hmmPfns still holds the outputs of the collided call
        () => faultPfns(e, r, version, { faultHandler: naive.handler }),
      );
      expect(again.ret).toBe(0);
      expect(naive.calls[0]?.addr).toBe(BASE);
      expect((naive.calls[0]?.flags ?? 0) & FAULT_FLAG_WRITE).toBe(FAULT_FLAG_WRITE);
      expect(r.hmmPfns[0]).toBe(pe(pfnAt(e, BASE), VA | WR));
    });

    it('-EBUSY then a correct retry (requests re-initialised): page 0 stays unrequested', async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      await touch(e, BASE, 2);
      const r = await rangePfns(e, BASE, 4, { pfnFlagsMask: REQ_W });
      expect(await madvise(e.mm, BASE, PAGE, MADV_DONTNEED)).toBe(0);
      const h = countingHandler(e);
      const res = await retryLoop(
        r,
        () => r.hmmPfns.set([0, 0, REQ, 0]),
        () => faultPfns(e, r, version, { faultHandler: h.handler }),
      );
      expect(res).toEqual({ ret: 0, calls: 1 });
      expect(h.calls.map((c) => (c.addr - BASE) / PAGE)).toEqual([2, 3]);
      expect(r.hmmPfns[0]).toBe(0);
    });

    it('-EFAULT: VM_FAULT_OOM, nothing written', async () => {
      const e = env();
      await mapAnon(e, BASE, 4);
      setAllocFailure(e.machine, () => true);
      const r = await rangePfns(e, BASE, 4, { defaultFlags: REQ_W });
      r.hmmPfns.fill(S58);
      expect(await faultPfns(e, r, version)).toBe(-14);
      expect(outPfns(r)).toEqual(Array(4).fill(S58));
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
        const r = await rangePfns(e, BASE, 4, { defaultFlags: REQ });
        r.start = start;
        r.end = end;
        r.hmmPfns.fill(S58);
        expect(await faultPfns(e, r, version, { faultHandler: h.handler })).toBe(-22);
        expect(outPfns(r)).toEqual(Array(4).fill(S58));
      }
      expect(h.calls).toEqual([]);
    });
  });
}

describe('map order (v5.9 hmm_pfn_to_map_order)', () => {
  it('v5.9: 0 for a 4 KiB PTE, 9 for a THP; v5.8 never sets order bits', async () => {
    const e = env({ thp: 'always' });
    await twoThps(e, BASE);
    await mapAnon(e, BASE + 1024 * PAGE, 4, PROT_READ); // not THP-eligible by size
    await touch(e, BASE + 1024 * PAGE, 1, false);
    const r59 = await rangePfns(e, BASE, 1025);
    expect(await faultPfns(e, r59, '5.9')).toBe(0);
    expect(hmmPfnToMapOrder(r59.hmmPfns[0] as number)).toBe(9);
    expect(hmmPfnToMapOrder(r59.hmmPfns[1023] as number)).toBe(9);
    expect(hmmPfnToMapOrder(r59.hmmPfns[1024] as number)).toBe(0);
    expect((r59.hmmPfns[1024] as number) & VA).toBe(VA);
    const r58 = await rangePfns(e, BASE, 1025);
    expect(await faultPfns(e, r58, '5.8')).toBe(0);
    for (const i of [0, 511, 1023, 1024]) {
      expect(hmmPfnToMapOrder(r58.hmmPfns[i] as number)).toBe(0);
      expect(hmmPfnToPage(r58.hmmPfns[i] as number)).toBe(hmmPfnToPage(r59.hmmPfns[i] as number));
    }
  });

  it('v5.9: 18 for a PUD leaf (devmap 1 GiB mapping); v5.8: none', async () => {
    const e = env();
    await mapAnon(e, BASE, 4);
    const slot = pudAlloc(e.mm.pt, BASE);
    expect(slot).toBeGreaterThanOrEqual(0);
    const head = 2 ** 18; // a 1 GiB-aligned pfn
    const bits = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PSE;
    setPud(e.mm.pt, slot, bits | _PAGE_DEVMAP, head);
    const r = await rangePfns(e, BASE, 4);
    expect(await faultPfns(e, r, '5.9')).toBe(0);
    expect(outPfns(r)).toEqual([0, 1, 2, 3].map((i) => pe(head + i, VA | WR | 18)));
    expect(hmmPfnToMapOrder(r.hmmPfns[3] as number)).toBe(18);
    const r58 = await rangePfns(e, BASE, 4);
    expect(await faultPfns(e, r58, '5.8')).toBe(0);
    expect(outPfns(r58)).toEqual([0, 1, 2, 3].map((i) => pe(head + i, VA | WR)));
  });

  it('v58 / v59 facades run their own generation on the same range', async () => {
    const e = env({ thp: 'always' });
    const [h0] = await twoThps(e, BASE);
    const r = await rangePfns(e, BASE, 2);
    expect(await underSem(e, () => v58.hmmRangeFault(r))).toBe(0);
    expect(outPfns(r)).toEqual([pe(h0, VA | WR), pe(h0 + 1, VA | WR)]);
    expect(await underSem(e, () => v59.hmmRangeFault(r))).toBe(0);
    expect(outPfns(r)).toEqual([pe(h0, VA | WR | 9), pe(h0 + 1, VA | WR | 9)]);
    expect(await underSem(e, () => hmmRangeFault(r))).toBe(0); // the one-argument default is v5.8
    expect(outPfns(r)).toEqual([pe(h0, VA | WR), pe(h0 + 1, VA | WR)]);
  });
});
