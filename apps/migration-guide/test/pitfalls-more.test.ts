/**
 * Chapter 6, part 3: the pitfalls of the later API steps and the ones that are not about the
 * device/CPU invariant — v5.7's return check on v5.8 (and what 0 meant before), the missing
 * devPrivateOwner (with the count of migrations back per device fault) and mmap_sem held across
 * the programming (the stall measured) — plus the v5.7 reference, clean at bound 2. The retry
 * loop without a deadline is in pitfalls-storm.test.ts.
 */
import { explore, type Scenario } from '@hmmsim/explorer';
import { createHmmRange, hmmRangeFault } from '@hmmsim/hmm-range/v5.7';
import {
  createScheduler,
  downRead,
  EBUSY,
  EFAULT,
  PAGE_SIZE,
  type SchedulePolicy,
  upRead,
} from '@hmmsim/kernel';
import { devicePrivatePteAt } from '@hmmsim/migrate';
import {
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  mmap,
  munmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
} from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import { exploreBounded, minimalViolation } from '../src/harness/check.ts';
import type { GuideState } from '../src/harness/scenario.ts';
import { createGuideWorld, GUIDE_BASE, GUIDE_NPAGES } from '../src/harness/world.ts';
import { MmapSemAcrossProgramDriver } from '../src/pitfalls/mmap-sem-across-program.ts';
import { NoDevPrivateOwnerDriver } from '../src/pitfalls/no-dev-private-owner.ts';
import { Dmirror, type DmirrorOptions } from '../src/pitfalls/reference.ts';
import { STORM_NS_PER_STEP } from '../src/pitfalls/scenarios.ts';
import { entry, expectInOrder, exploreOnly, rows } from './helpers.ts';

describe('pitfall-v57-return-check', () => {
  it('every success is read as "again": a livelock with no invalidation at all', async () => {
    const r = await exploreOnly('pitfall-v57-return-check');
    const v = minimalViolation(r);
    expect(v.kind).toBe('step-limit');
    expect(v.preemptions).toBe(0);
    expect(v.message).toMatch(
      /livelock: 'cpu1 device access' repeated the same \d+-event turn [\d,]+ times until the step limit/,
    );
    expect(v.message).toContain('hmm.range_fault v5.8 [0x10000000, 0x10002000) seq=1 (now 1) -> 0');
    // the device is never programmed
    expect(rows(r).some((x) => x.includes('dmirror.program page'))).toBe(false);
  });

  it('when the deadline can pass within a run, no access succeeds: it spins to -EBUSY', async () => {
    const [s] = entry('pitfall-v57-return-check').scenarios(undefined);
    const outcomes: { ret: number | undefined; passes: number; programmed: number }[] = [];
    const r = await explore(
      { ...(s as Scenario<GuideState>), nsPerStep: STORM_NS_PER_STEP },
      {
        strategy: 'dfs',
        bound: 0,
        onSchedule: (st) => {
          const d = st.driver as Dmirror;
          outcomes.push({
            ret: st.faultRet,
            passes: d.stats.passes,
            programmed: d.stats.programmed,
          });
        },
      },
    );
    expect(r.violation?.message).toBeUndefined();
    // -EFAULT where the munmap ran first (page 1 has no VMA any more); never a success.
    expect(outcomes.filter((o) => o.ret === -EBUSY).length).toBeGreaterThan(0);
    for (const o of outcomes) {
      expect([-EBUSY, -EFAULT]).toContain(o.ret);
      expect(o.programmed).toBe(0);
      if (o.ret === -EBUSY) expect(o.passes).toBeGreaterThan(1);
    }
  });
});

describe('what 0 meant before v5.8 (hmm_range_fault of v5.7 returns the pages it walked)', () => {
  it('0 for a range that asks for nothing and has no page table; a page count otherwise', async () => {
    const machine = createMachine({ ramBytes: 4 * 2 ** 20, thp: 'never' });
    const mm = createMm(machine);
    const n = 4;
    const rw = PROT_READ | PROT_WRITE;
    expect(await mmap(mm, GUIDE_BASE, n * PAGE_SIZE, rw, MAP_PRIVATE | MAP_ANONYMOUS)).toBe(
      GUIDE_BASE,
    );
    const mni = new MmuIntervalNotifier();
    expect(
      await mmuIntervalNotifierInsert(mni, mm, GUIDE_BASE, n * PAGE_SIZE, {
        invalidate: async () => true,
      }),
    ).toBe(0);
    const call = async (requests: readonly number[]) => {
      const range = createHmmRange({
        start: GUIDE_BASE,
        end: GUIDE_BASE + n * PAGE_SIZE,
        flags: [1, 2],
        values: [4, 0, 8],
        pfnFlagsMask: 3,
        notifier: mni,
      });
      range.pfns.set(requests);
      range.notifierSeq = await mmuIntervalReadBegin(mni);
      await downRead(mm.mmapSem);
      const ret = await hmmRangeFault(range);
      upRead(mm.mmapSem);
      return { ret, pfns: [...range.pfns] };
    };
    // Nothing populated, nothing asked: 0 pages walked, every entry NONE. Not an error.
    expect(await call([0, 0, 0, 0])).toEqual({ ret: 0, pfns: [0, 0, 0, 0] });
    // Every page asked for: every page walked.
    expect((await call([3, 3, 3, 3])).ret).toBe(n);
    // The last page unmapped, nothing asked there: 3 walked, the hole reported ERROR.
    expect(await munmap(mm, GUIDE_BASE + 3 * PAGE_SIZE, PAGE_SIZE)).toBe(0);
    const short = await call([3, 3, 3, 0]);
    expect(short.ret).toBe(3);
    expect(short.pfns[3]).toBe(4);
  });
});

describe('pitfall-reference-v57', () => {
  for (const s of entry('pitfall-reference-v57').scenarios(undefined)) {
    it(`${s.name}: clean, exhausted at bound 2`, async () => {
      const r = await exploreBounded(s);
      expect(r.violation?.message).toBeUndefined();
      expect(r.exhausted).toBe(true);
    });
  }
});

describe('pitfall-no-dev-private-owner', () => {
  it("v5.8: the device's own page is refused with -EFAULT (Q13), no preemption needed", async () => {
    const r = await exploreOnly('pitfall-no-dev-private-owner');
    const v = minimalViolation(r);
    expect(v.kind).toBe('final-check');
    expect(v.preemptions).toBe(0);
    expect(v.message).toBe(`the device access returned ${-EFAULT}`);
    expectInOrder(rows(r), [
      /^cpu0 migrate: mmu_notifier\.invalidate_range_start CLEAR/,
      /^cpu1 device access: hmm\.range_fault v5\.8 .* -> -14$/,
    ]);
  });

  /** Device faults on page 0, migrated to the device's memory before each; what it costs. */
  async function rounds(
    cls: typeof Dmirror | typeof NoDevPrivateOwnerDriver,
    q13: boolean,
    n: number,
  ): Promise<{ rets: number[]; toDevice: number; back: number; vram: number }> {
    const sched = createScheduler();
    const w = await createGuideWorld(sched);
    const opts: DmirrorOptions = {
      devmem: w.devmem,
      hmm: { quirks: { q13ForeignPrivateFaultFails: q13 } },
    };
    const d = new cls(w.mm, GUIDE_BASE, GUIDE_NPAGES, opts);
    expect(await d.bind()).toBe(0);
    const rets: number[] = [];
    let toDevice = 0;
    let back = 0;
    for (let i = 0; i < n; i++) {
      if (devicePrivatePteAt(w.mm, GUIDE_BASE) === null) {
        expect(await w.devmem.migrateToDevice(w.mm, GUIDE_BASE, GUIDE_BASE + PAGE_SIZE)).toBe(1);
        toDevice++;
      }
      const before = w.devmem.stats.cpuFaults;
      rets.push(await d.fault(false));
      back += w.devmem.stats.cpuFaults - before;
    }
    return { rets, toDevice, back, vram: d.vram.size };
  }

  it('the count of migrations back per device fault: 1 without the owner (v5.19+), 0 with it', async () => {
    const n = 4;
    const fixed = await rounds(Dmirror, false, n);
    expect(fixed).toEqual({ rets: [0, 0, 0, 0], toDevice: 1, back: 0, vram: 1 });
    const broken = await rounds(NoDevPrivateOwnerDriver, false, n);
    expect(broken).toEqual({ rets: [0, 0, 0, 0], toDevice: n, back: n, vram: 0 });
    // v5.7–v5.18 (Q13): every fault on the page fails instead, and it stays on the device.
    const v58 = await rounds(NoDevPrivateOwnerDriver, true, n);
    expect(v58).toEqual({
      rets: [-EFAULT, -EFAULT, -EFAULT, -EFAULT],
      toDevice: 1,
      back: 0,
      vram: 0,
    });
    console.log(
      `device faults on a page in the device's own memory, ${n} rounds: with the owner ${fixed.back} migrations back; ` +
        `without it ${broken.back} (v5.19+) or ${v58.rets.filter((x) => x === -EFAULT).length} x -EFAULT (v5.7–v5.18)`,
    );
  });
});

describe('pitfall-mmap-sem-across-program', () => {
  it('the explorer finds nothing: the five invalidations are clean at bound 2', async () => {
    for (const s of entry('pitfall-mmap-sem-across-program').scenarios(undefined)) {
      const r = await exploreBounded(s);
      expect(r.violation?.message, s.name).toBeUndefined();
      expect(r.exhausted).toBe(true);
    }
  });

  /**
   * Let the device access run until it programs its first entry, then start CPU2's operation;
   * from then on free-running. How long (virtual µs) CPU2's operation took.
   */
  async function stall(
    cls: typeof Dmirror | typeof MmapSemAcrossProgramDriver,
    npages: number,
    op: 'mmap elsewhere' | 'munmap in the range',
  ): Promise<number> {
    let switched = false;
    const policy: SchedulePolicy = {
      name: 'cpu2 at the first device write',
      pick(ctx) {
        const tasks = ctx.choices.filter((c) => c.type === 'task');
        if (!switched && ctx.event?.kind === 'dmirror.program') {
          const other = tasks.find((c) => c.type === 'task' && c.task !== ctx.current);
          if (other !== undefined) {
            switched = true;
            return other;
          }
        }
        return tasks.find((c) => c.type === 'task' && c.task === ctx.current) ?? ctx.choices[0]!;
      },
    };
    const sched = createScheduler({ policy });
    const machine = createMachine({ ramBytes: 8 * 2 ** 20, sched, thp: 'never' });
    const mm = createMm(machine);
    const rw = PROT_READ | PROT_WRITE;
    const anon = MAP_PRIVATE | MAP_ANONYMOUS;
    expect(await mmap(mm, GUIDE_BASE, npages * PAGE_SIZE, rw, anon)).toBe(GUIDE_BASE);
    expect((await cpuWrite(mm, GUIDE_BASE, new Uint8Array(npages * PAGE_SIZE))).ok).toBe(true);
    const d = new cls(mm, GUIDE_BASE, npages);
    expect(await d.bind()).toBe(0);
    let took = -1;
    let faultRet: number | undefined;
    sched.spawn('cpu1 device access', async () => {
      faultRet = await d.fault(true);
    });
    sched.spawn('cpu2', async () => {
      const t0 = sched.clock.now;
      if (op === 'mmap elsewhere') {
        expect(await mmap(mm, 0x40000000, PAGE_SIZE, rw, anon)).toBe(0x40000000);
      } else {
        expect(await munmap(mm, GUIDE_BASE, PAGE_SIZE)).toBe(0);
      }
      took = (sched.clock.now - t0) / 1000;
    });
    const res = await sched.run();
    expect(res.errors).toEqual([]);
    expect(switched).toBe(true);
    expect(faultRet).toBe(0);
    return took;
  }

  it('an unrelated mmap() waits for the whole programming; an munmap of the range waits either way', async () => {
    const npages = 64;
    const mmapFixed = await stall(Dmirror, npages, 'mmap elsewhere');
    const mmapBroken = await stall(MmapSemAcrossProgramDriver, npages, 'mmap elsewhere');
    const munmapFixed = await stall(Dmirror, npages, 'munmap in the range');
    const munmapBroken = await stall(MmapSemAcrossProgramDriver, npages, 'munmap in the range');
    // One device command per page is one scheduling point (1 µs of virtual time).
    expect(mmapFixed).toBe(1);
    expect(mmapBroken).toBe(npages);
    // The munmap's callback needs the mutex the programming holds: it waits in both.
    expect(munmapFixed).toBe(69);
    expect(munmapBroken).toBe(69);
    console.log(
      `programming ${npages} entries: an mmap() elsewhere took ${mmapFixed} us with the reference, ${mmapBroken} us with mmap_sem held; ` +
        `an munmap() in the range took ${munmapFixed} us and ${munmapBroken} us`,
    );
  });
});
