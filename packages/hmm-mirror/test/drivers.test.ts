import { HMM_PFN_FLAGS_MASK_ALL, hmmEntryComplement } from '@hmmsim/hmm-range';
import {
  EAGAIN,
  EBUSY,
  EFAULT,
  EPERM,
  InvalidArgumentError,
  mutexTrylock,
  mutexUnlock,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import {
  MMU_NOTIFY_CLEAR,
  mmput,
  mmuNotifierInvalidateRangeStartNonblock,
  mmuNotifierRangeInit,
  mprotect,
  munmap,
  PROT_READ,
  reclaimPage,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  cpuMappingAt,
  DevicePageTable,
  DRIVER_PFN_FLAGS,
  DRIVER_PFN_VALUES,
  DRV_ADDR_SHIFT,
  DRV_V,
  DRV_VRAM,
  DRV_W,
  describeResults,
  describeSpan,
  describeViolations,
  deviceMirrorViolations,
  driverRange,
  findPfnMappings,
  IntervalDriver,
  LegacyDriver,
  legacyHmmMirrorApi,
  programDevice,
  setRequests,
  shimHmmMirrorApi,
} from '../src/index.ts';
import { BASE, invalidateSlowly, NPAGES, runTasks, world } from './helpers.ts';

describe('DevicePageTable', () => {
  it('maps, clears and counts entries by page index', () => {
    const d = new DevicePageTable('dev', BASE, 4);
    expect(d.end).toBe(BASE + 4 * PAGE_SIZE);
    expect([d.indexOf(BASE - 1), d.indexOf(BASE + 0x1fff), d.indexOf(d.end)]).toEqual([-1, 1, -1]);
    d.set(0, 10, true);
    d.set(2, 12, false);
    expect(d.entry(0)).toEqual({ pfn: 10, write: true });
    expect(d.entry(1)).toBeNull();
    expect(d.mappedCount()).toBe(2);
    expect(d.clearRange(0, BASE + 0x1000)).toBe(1); // clipped to the table
    expect(d.clearAll()).toBe(1);
    expect(d.programmed).toBe(2);
  });

  it('rejects bad construction and indexes', () => {
    expect(() => new DevicePageTable('d', BASE + 1, 1)).toThrow(InvalidArgumentError);
    expect(() => new DevicePageTable('d', BASE, 0)).toThrow(InvalidArgumentError);
    const d = new DevicePageTable('d', BASE, 1);
    expect(() => d.set(1, 0, false)).toThrow(InvalidArgumentError);
    expect(() => d.entry(-1)).toThrow(InvalidArgumentError);
    expect(() => d.clear(0.5)).toThrow(InvalidArgumentError);
  });

  it('checks invariants 1–2 against the CPU page table', async () => {
    const { mm, machine } = await world();
    const d = new DevicePageTable('dev', BASE, NPAGES);
    const p0 = cpuMappingAt(mm, BASE);
    expect(p0?.write).toBe(true);
    d.set(0, p0!.pfn, true);
    expect(deviceMirrorViolations(d, mm)).toEqual([]);
    d.set(1, 999, false);
    expect(deviceMirrorViolations(d, mm).map((v) => v.kind)).toEqual(['stale']);
    d.clear(1);
    expect(await mprotect(mm, BASE, PAGE_SIZE, PROT_READ)).toBe(0);
    const v = deviceMirrorViolations(d, mm);
    expect(v.map((x) => x.kind)).toEqual(['writable']);
    expect(describeViolations(d, v)).toMatch(
      /writable on the device, but the CPU maps pfn \d+ read-only/,
    );
    expect(await reclaimPage(machine, p0!.pfn)).toBe(0);
    expect(cpuMappingAt(mm, BASE)).toBeNull();
    expect(describeViolations(d, deviceMirrorViolations(d, mm))).toMatch(/CPU maps nothing there/);
    expect(
      findPfnMappings(cpuMappingAt(mm, BASE + PAGE_SIZE)!.pfn, [
        { mm, start: BASE, end: BASE + 0x4000 },
      ]),
    ).toEqual([{ mm, addr: BASE + PAGE_SIZE }]);
    expect(describeSpan({ start: 0x1000, end: 0x2000 })).toBe('0x1000-0x2000');
    await mmput(mm);
    expect(cpuMappingAt(mm, BASE + PAGE_SIZE)).toBeNull();
  });
});

describe('the driver encoding (nouveau 2019 table)', () => {
  it('flags, values, shift', () => {
    expect(DRIVER_PFN_FLAGS).toEqual([DRV_V, DRV_W, DRV_VRAM]);
    expect(DRIVER_PFN_VALUES).toEqual([hmmEntryComplement(1), 0, hmmEntryComplement(1)]);
    const r = driverRange(BASE, 2);
    expect([r.end, r.pfnShift, r.pfnFlagsMask, r.defaultFlags]).toEqual([
      BASE + 0x2000,
      DRV_ADDR_SHIFT,
      HMM_PFN_FLAGS_MASK_ALL,
      0,
    ]);
    setRequests(r, true);
    expect([...r.pfns]).toEqual([DRV_V | DRV_W, DRV_V | DRV_W]);
    setRequests(r, false);
    expect([...r.pfns]).toEqual([DRV_V, DRV_V]);
  });

  it('programs valid entries, clears NONE/ERROR and device-private ones', () => {
    const r = driverRange(BASE, 4);
    r.pfns.set([
      5 * 2 ** DRV_ADDR_SHIFT + DRV_V + DRV_W,
      6 * 2 ** DRV_ADDR_SHIFT + DRV_V,
      0,
      7 * 2 ** DRV_ADDR_SHIFT + DRV_V + DRV_VRAM,
    ]);
    const d = new DevicePageTable('d', BASE, 4);
    d.set(2, 1, true);
    expect(programDevice(d, r)).toBe(2);
    expect([d.entry(0), d.entry(1), d.entry(2), d.entry(3)]).toEqual([
      { pfn: 5, write: true },
      { pfn: 6, write: false },
      null,
      null,
    ]);
    expect(describeResults(r)).toBe('pfn 5 rw, pfn 6 r, none, pfn 7 r');
  });
});

for (const api of [legacyHmmMirrorApi, shimHmmMirrorApi]) {
  describe(`LegacyDriver on the ${api.name} API`, () => {
    it('binds, faults the range in (write), and its sync clears what an munmap removes', async () => {
      const { mm } = await world();
      const drv = new LegacyDriver(api, mm, BASE, NPAGES);
      expect(await drv.bind()).toBe(0);
      expect(await drv.fault(true)).toBe(0);
      expect(drv.dev.mappedCount()).toBe(NPAGES);
      expect(drv.dev.entry(0)).toEqual({ pfn: cpuMappingAt(mm, BASE)?.pfn, write: true });
      expect(drv.faults).toEqual([{ ret: 0, tries: 1 }]);
      expect(await munmap(mm, BASE + PAGE_SIZE, PAGE_SIZE)).toBe(0);
      expect(drv.syncCalls).toBe(1);
      expect(drv.dev.entry(1)).toBeNull();
      expect(deviceMirrorViolations(drv.dev, mm)).toEqual([]);
      // The hole now fails the next fault; nothing stays registered.
      expect(await drv.fault(false)).toBe(-EFAULT);
      await drv.unbind();
    });

    it('read-only after mprotect: a write fault is refused with -EPERM', async () => {
      const { mm } = await world();
      const drv = new LegacyDriver(api, mm, BASE, NPAGES);
      expect(await drv.bind()).toBe(0);
      expect(await mprotect(mm, BASE, NPAGES * PAGE_SIZE, PROT_READ)).toBe(0);
      expect(await drv.fault(true)).toBe(-EPERM);
      expect(await drv.fault(false)).toBe(0);
      expect(drv.dev.entry(0)?.write).toBe(false);
      await drv.unbind();
    });

    it('refuses non-blockable syncs with -EAGAIN; release at exit clears the device', async () => {
      const { mm } = await world();
      const drv = new LegacyDriver(api, mm, BASE, NPAGES);
      expect(await drv.bind()).toBe(0);
      expect(await drv.fault(false)).toBe(0);
      const nb = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, BASE, BASE + PAGE_SIZE);
      expect(await mmuNotifierInvalidateRangeStartNonblock(nb)).toBe(-EAGAIN);
      expect(drv.syncRefused).toBe(1);
      expect(drv.dev.mappedCount()).toBe(NPAGES);
      if (api.name === 'legacy') {
        await mmput(mm);
        expect(drv.releaseCalls).toBe(1);
        expect(drv.dev.mappedCount()).toBe(0);
      }
    });

    it('gives up with -EBUSY when the range stays invalid past the wait budget', async () => {
      const { mm, sched } = await world();
      const drv = new LegacyDriver(api, mm, BASE, NPAGES);
      expect(await drv.bind()).toBe(0);
      const users = mm.mmUsers;
      let ret: number | undefined;
      await runTasks(sched, {
        async invalidator() {
          await invalidateSlowly(mm, BASE, BASE + PAGE_SIZE, 3000);
        },
        async device() {
          ret = await drv.fault(false);
        },
      });
      expect(ret).toBe(-EBUSY);
      expect(mm.mmUsers).toBe(users); // the range was unregistered
    });
  });
}

describe('LegacyDriver options', () => {
  it('R6 (leakRangeOnTimeout): nouveau v5.4 leaves the range registered and an mm_users reference behind', async () => {
    const { mm, sched } = await world();
    const drv = new LegacyDriver(legacyHmmMirrorApi, mm, BASE, NPAGES, {
      leakRangeOnTimeout: true,
    });
    expect(await drv.bind()).toBe(0);
    const users = mm.mmUsers;
    await runTasks(sched, {
      async invalidator() {
        await invalidateSlowly(mm, BASE, BASE + PAGE_SIZE, 3000);
      },
      async device() {
        expect(await drv.fault(false)).toBe(-EBUSY);
      },
    });
    expect(mm.mmUsers).toBe(users + 1);
    expect(drv.mirror.hmm?.ranges.length).toBe(1);
    await expect(drv.unbind()).rejects.toThrow(/still registered/);
  });

  it('rejects a bad maxTries', async () => {
    const { mm } = await world();
    expect(() => new LegacyDriver(legacyHmmMirrorApi, mm, BASE, 1, { maxTries: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new IntervalDriver(mm, BASE, 1, { maxTries: 1.5 })).toThrow(InvalidArgumentError);
  });
});

describe('IntervalDriver (native v5.5)', () => {
  it('inserts its notifier, faults the range in, and its invalidate clears + set_seq under the lock', async () => {
    const { mm } = await world();
    const drv = new IntervalDriver(mm, BASE, NPAGES);
    expect(await drv.bind()).toBe(0);
    expect(await drv.fault(true)).toBe(0);
    expect(drv.dev.mappedCount()).toBe(NPAGES);
    const seq = drv.mni.invalidateSeq;
    expect(await munmap(mm, BASE, PAGE_SIZE)).toBe(0);
    expect(drv.invalidateCalls).toBe(1);
    expect(drv.mni.invalidateSeq).not.toBe(seq);
    expect(drv.dev.entry(0)).toBeNull();
    expect(deviceMirrorViolations(drv.dev, mm)).toEqual([]);
    expect(await drv.fault(false)).toBe(-EFAULT);
    await drv.unbind();
    expect(drv.mni.state).toBe('idle');
  });

  it('refuses a non-blockable invalidation when its lock is taken; -EFAULT on a dead mm', async () => {
    const { mm } = await world();
    const drv = new IntervalDriver(mm, BASE, NPAGES);
    expect(await drv.bind()).toBe(0);
    const nb = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, BASE, BASE + PAGE_SIZE);
    expect(mutexTrylock(drv.lock)).toBe(1); // the driver lock is busy
    expect(await mmuNotifierInvalidateRangeStartNonblock(nb)).toBe(-EAGAIN);
    mutexUnlock(drv.lock);
    expect(drv.invalidateRefused).toBe(1);
    await mmput(mm);
    expect(await drv.fault(false)).toBe(-EFAULT);
  });
});
