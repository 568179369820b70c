import { EFAULT, ENOENT, PAGE_SIZE, PMD_SIZE } from '@hmmsim/kernel';
import { devicePrivatePteAt } from '@hmmsim/migrate';
import {
  fork,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_SHARED,
  type MmStruct,
  madvise,
  mmput,
  mprotect,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  DmirrorConfigError,
  dmirrorIoctl,
  dmirrorPageToDevice,
  dmirrorRelease,
  HMM_DMIRROR_FLAG_FAIL_ALLOC,
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
} from '../src/index.ts';
import { anon, cmd, IMPLS, open, read, words, world, write } from './helpers.ts';

/** Is `addr` of `mm` a device-private entry of device `minor`? */
function onDevice(mm: MmStruct, addr: number, minor: number): boolean {
  const e = devicePrivatePteAt(mm, addr);
  return e !== null && dmirrorPageToDevice(mm.machine, e.pfn)?.minor === minor;
}

describe('commands beyond the 11 scenarios', () => {
  for (const impl of IMPLS) {
    it(`${impl}: MIGRATE_TO_SYS brings this device's pages back, counts them, erases the entries`, async () => {
      const w = world();
      const f = await open(w, impl);
      const ptr = await anon(w.mm, 16);
      const mirror = await anon(w.mm, 16);
      await write(w.mm, ptr, words(16));
      expect(await dmirrorIoctl(f, HMM_DMIRROR_MIGRATE_TO_DEV, cmd(ptr, mirror, 16))).toBe(0);
      expect(onDevice(w.mm, ptr, 0)).toBe(true);
      const c = cmd(ptr, mirror, 16);
      expect(await dmirrorIoctl(f, HMM_DMIRROR_MIGRATE_TO_SYS, c)).toBe(0);
      expect(c.cpages).toBe(16);
      expect(onDevice(w.mm, ptr, 0)).toBe(false);
      expect(f.privateData?.pt.size).toBe(0);
      expect([...(await read(w.mm, ptr, 16 * PAGE_SIZE))]).toEqual([...words(16)]);
      const again = cmd(ptr, mirror, 16);
      expect(await dmirrorIoctl(f, HMM_DMIRROR_MIGRATE_TO_SYS, again)).toBe(0);
      expect(again.cpages).toBe(0); // nothing of this device left
      expect(w.module.devices[0]?.cfree).toBe(16);
    });

    it(`${impl}: shared anonymous memory is not migrated (read-back -ENOENT)`, async () => {
      const w = world();
      const f = await open(w, impl);
      const mirror = await anon(w.mm, 4);
      const ptr = await anon(w.mm, 4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
      const c = cmd(ptr, mirror, 4);
      expect(await dmirrorIoctl(f, HMM_DMIRROR_MIGRATE_TO_DEV, c)).toBe(-ENOENT);
      expect(c.cpages).toBe(0);
    });

    it(`${impl}: a page on another device is faulted back for a READ (dev_private_owner)`, async () => {
      const w = world();
      const f0 = await open(w, impl, 0);
      const f1 = await open(w, impl, 1);
      const ptr = await anon(w.mm, 6);
      const mirror = await anon(w.mm, 6);
      await write(w.mm, ptr, words(6));
      expect(await dmirrorIoctl(f1, HMM_DMIRROR_MIGRATE_TO_DEV, cmd(ptr, mirror, 6))).toBe(0);
      expect(onDevice(w.mm, ptr, 1)).toBe(true);
      await write(w.mm, mirror, new Uint8Array(6 * PAGE_SIZE));
      const c = cmd(ptr, mirror, 6);
      expect(await dmirrorIoctl(f0, HMM_DMIRROR_READ, c)).toBe(0);
      expect([c.cpages, c.faults]).toEqual([6, 1]);
      expect([...(await read(w.mm, mirror, 6 * PAGE_SIZE))]).toEqual([...words(6)]);
      expect(onDevice(w.mm, ptr, 1)).toBe(false);
    });

    it(`${impl}: SNAPSHOT reports PMD for a THP, and READ after mprotect`, async () => {
      const w = world();
      const f = await open(w, impl);
      const mirror = await anon(w.mm, 512);
      const raw = await anon(w.mm, 1024);
      const map = Math.ceil(raw / PMD_SIZE) * PMD_SIZE;
      expect(await madvise(w.mm, map, PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
      await write(w.mm, map, words(512));
      const c = cmd(map, mirror, 512);
      expect(await dmirrorIoctl(f, HMM_DMIRROR_SNAPSHOT, c)).toBe(0);
      expect(c.cpages).toBe(512);
      const bytes = await read(w.mm, mirror, 512);
      expect(new Set(bytes)).toEqual(new Set([HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PMD]));
      expect(await mprotect(w.mm, map, PMD_SIZE, PROT_READ)).toBe(0);
      expect(await dmirrorIoctl(f, HMM_DMIRROR_SNAPSHOT, cmd(map, mirror, 512))).toBe(0);
      expect(new Set(await read(w.mm, mirror, 512))).toEqual(
        new Set([HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_PMD]),
      );
    });

    it(`${impl}: a forked child reaching the parent's file mirrors the parent's mm`, async () => {
      const w = world();
      const f = await open(w, impl);
      const ptr = await anon(w.mm, 2);
      const mirror = await anon(w.mm, 2);
      await write(w.mm, ptr, words(2));
      const child = (await fork(w.mm)) as MmStruct;
      await write(
        child,
        ptr,
        words(2, (k) => -k),
      ); // COW: the child's own copy
      const c = cmd(ptr, mirror, 2);
      expect(await dmirrorIoctl(f, HMM_DMIRROR_READ, c, child)).toBe(0);
      expect([...(await read(child, mirror, 2 * PAGE_SIZE))]).toEqual([...words(2)]);
      await mmput(child);
    });

    it(`${impl}: FLAGS stores the flags word; the mirror's own migrations are not invalidations`, async () => {
      const w = world();
      const f = await open(w, impl);
      const d = f.privateData!;
      expect(await dmirrorIoctl(f, HMM_DMIRROR_FLAGS, cmd(0, 0, HMM_DMIRROR_FLAG_FAIL_ALLOC))).toBe(
        0,
      );
      expect(d.flags).toBe(HMM_DMIRROR_FLAG_FAIL_ALLOC);
      const ptr = await anon(w.mm, 4);
      const mirror = await anon(w.mm, 4);
      expect(await dmirrorIoctl(f, HMM_DMIRROR_MIGRATE_TO_DEV, cmd(ptr, mirror, 4))).toBe(0);
      expect(d.stats.ownMigrationsIgnored).toBeGreaterThan(0);
      expect(d.pt.size).toBe(4);
      expect(await dmirrorRelease(f)).toBe(0);
    });
  }

  it('after fork, a write to the own read-only device pages: -EFAULT (report: interval, the kernel) or COW (fault: hmm_mirror emulation)', async () => {
    const cases = [
      ['interval', 'report'],
      ['shim', 'report'],
      ['shim', 'fault'],
      ['legacy', 'fault'],
    ] as const;
    for (const [impl, mode] of cases) {
      const w = world();
      const f = await open(w, impl);
      const ptr = await anon(w.mm, 4);
      const mirror = await anon(w.mm, 4);
      await write(w.mm, ptr, words(4));
      expect(await dmirrorIoctl(f, HMM_DMIRROR_MIGRATE_TO_DEV, cmd(ptr, mirror, 4))).toBe(0);
      const child = (await fork(w.mm)) as MmStruct;
      expect(devicePrivatePteAt(child, ptr)?.write).toBe(false);
      const cf = await open(w, impl, 0, child, { ownReadOnlyWrite: mode });
      await write(
        child,
        mirror,
        words(4, (k) => -k),
      );
      const c = cmd(ptr, mirror, 4);
      const ret = await dmirrorIoctl(cf, HMM_DMIRROR_WRITE, c, child);
      if (mode === 'report') {
        expect(ret, impl).toBe(-EFAULT);
        expect(devicePrivatePteAt(child, ptr)?.write).toBe(false); // never faulted
      } else {
        expect(ret, impl).toBe(0);
        expect([c.cpages, c.faults]).toEqual([4, 1]);
        expect([...(await read(child, ptr, 4 * PAGE_SIZE))]).toEqual([...words(4, (k) => -k)]);
      }
      expect([...(await read(w.mm, ptr, 4 * PAGE_SIZE))]).toEqual([...words(4)]);
      expect(await dmirrorRelease(cf)).toBe(0);
      await mmput(child);
    }
  });

  it("interval: the v5.8+ core never faults owned pages, so ownReadOnlyWrite 'fault' is refused at open", async () => {
    const w = world();
    await expect(open(w, 'interval', 0, w.mm, { ownReadOnlyWrite: 'fault' })).rejects.toThrow(
      DmirrorConfigError,
    );
  });

  for (const impl of IMPLS) {
    it(`${impl}: foreignPrivateFault 'efault' (v5.7–v5.18, Q13): READ of another device's page fails, the page stays`, async () => {
      const w = world();
      const f0 = await open(w, impl, 0, w.mm, { foreignPrivateFault: 'efault' });
      const f1 = await open(w, impl, 1);
      const ptr = await anon(w.mm, 3);
      const mirror = await anon(w.mm, 3);
      await write(w.mm, ptr, words(3));
      expect(await dmirrorIoctl(f1, HMM_DMIRROR_MIGRATE_TO_DEV, cmd(ptr, mirror, 3))).toBe(0);
      const c = cmd(ptr, mirror, 3);
      expect(await dmirrorIoctl(f0, HMM_DMIRROR_READ, c)).toBe(-EFAULT);
      expect([c.cpages, c.faults]).toEqual([0, 0]);
      expect(onDevice(w.mm, ptr, 1)).toBe(true);
      // A snapshot never faults: the page is invisible to device 0 (NONE), local to device 1.
      expect(await dmirrorIoctl(f0, HMM_DMIRROR_SNAPSHOT, cmd(ptr, mirror, 1))).toBe(0);
      expect([...(await read(w.mm, mirror, 1))]).toEqual([HMM_DMIRROR_PROT_NONE]);
      expect(await dmirrorIoctl(f1, HMM_DMIRROR_SNAPSHOT, cmd(ptr, mirror, 1))).toBe(0);
      expect([...(await read(w.mm, mirror, 1))]).toEqual([
        HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE,
      ]);
    });

    it(`${impl}: MIGRATE_TO_DEV collects system pages only (MIGRATE_VMA_SELECT_SYSTEM): another device's page stays, read-back -ENOENT`, async () => {
      const w = world();
      const f0 = await open(w, impl, 0);
      const f1 = await open(w, impl, 1);
      const ptr = await anon(w.mm, 2);
      const mirror = await anon(w.mm, 2);
      await write(w.mm, ptr, words(2));
      expect(await dmirrorIoctl(f1, HMM_DMIRROR_MIGRATE_TO_DEV, cmd(ptr, mirror, 1))).toBe(0);
      const c = cmd(ptr, mirror, 2);
      expect(await dmirrorIoctl(f0, HMM_DMIRROR_MIGRATE_TO_DEV, c)).toBe(-ENOENT);
      expect(onDevice(w.mm, ptr, 1)).toBe(true);
      expect(onDevice(w.mm, ptr + PAGE_SIZE, 0)).toBe(true);
      // MIGRATE_TO_SYS of device 0 brings back only its own page.
      const back = cmd(ptr, mirror, 2);
      expect(await dmirrorIoctl(f0, HMM_DMIRROR_MIGRATE_TO_SYS, back)).toBe(0);
      expect(back.cpages).toBe(1);
      expect(onDevice(w.mm, ptr, 1)).toBe(true);
    });
  }

  it("interval: hmmVersion '5.8' (no hmm_pfn_to_map_order) reports a THP without the PMD bit", async () => {
    const w = world();
    const f = await open(w, 'interval', 0, w.mm, { hmmVersion: '5.8' });
    const mirror = await anon(w.mm, 512);
    const raw = await anon(w.mm, 1024);
    const map = Math.ceil(raw / PMD_SIZE) * PMD_SIZE;
    expect(await madvise(w.mm, map, PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
    await write(w.mm, map, words(512));
    expect(await dmirrorIoctl(f, HMM_DMIRROR_SNAPSHOT, cmd(map, mirror, 512))).toBe(0);
    expect(new Set(await read(w.mm, mirror, 512))).toEqual(new Set([HMM_DMIRROR_PROT_WRITE]));
    expect(await dmirrorIoctl(f, HMM_DMIRROR_READ, cmd(map, mirror, 512))).toBe(0);
    expect([...(await read(w.mm, mirror, 512 * PAGE_SIZE))]).toEqual([...words(512)]);
  });

  it('legacy: the mm going away runs the mirror release, which empties the table', async () => {
    const w = world();
    const f = await open(w, 'legacy');
    const ptr = await anon(w.mm, 2);
    const mirror = await anon(w.mm, 2);
    expect(await dmirrorIoctl(f, HMM_DMIRROR_READ, cmd(ptr, mirror, 2))).toBe(0);
    expect(f.privateData?.pt.size).toBe(2);
    await mmput(w.mm);
    expect(f.privateData?.pt.size).toBe(0);
    expect(await dmirrorRelease(f)).toBe(0);
  });
});
