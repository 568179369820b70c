import { PAGE_SIZE } from '@hmmsim/kernel';
import { fork, type MmStruct, mmput, munmap, pteLookup } from '@hmmsim/mm';
import { ptePresent, pteWrite } from '@hmmsim/pagetable';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDevice, devicePrivatePteAt, peekUser } from '../src/index.ts';
import {
  checkAll,
  expectSameBytes,
  mmapAnon,
  PAGE,
  randomBytes,
  read,
  seeded,
  setup,
  write,
} from './helpers.ts';

afterEach(() => checkAll());

function presentPte(mm: MmStruct, addr: number): { pfn: number; write: boolean } | null {
  const slot = pteLookup(mm, addr);
  if (slot < 0) return null;
  const bits = mm.pt.bits[slot] as number;
  return ptePresent(bits) ? { pfn: mm.pt.val[slot] as number, write: pteWrite(bits) } : null;
}

describe('CPU access to device-private memory', () => {
  it('a CPU read of a migrated page brings it back through migrate_to_ram', async () => {
    const { machine, mm, dev } = setup();
    const { rng } = seeded(7);
    const addr = await mmapAnon(mm, 4);
    const data = randomBytes(rng, 4 * PAGE);
    await write(mm, addr, data);
    expect(await dev.migrateToDevice(mm, addr, addr + 4 * PAGE)).toBe(4);
    const devPfn = devicePrivatePteAt(mm, addr + PAGE)!.pfn;
    expectSameBytes(await read(mm, addr + PAGE + 10, 100), data.subarray(PAGE + 10, PAGE + 110));
    expect(dev.stats.cpuFaults).toBe(1);
    expect(devicePrivatePteAt(mm, addr + PAGE)).toBeNull();
    const back = presentPte(mm, addr + PAGE)!;
    expect(back.pfn).toBeLessThan(machine.phys.nrPages);
    expect(back.write).toBe(true); // write migration entry -> writable PTE again
    expect(dev.isFree(devPfn)).toBe(true); // page_free on the return to refcount 1
    // the other three pages are still on the device
    for (const i of [0, 2, 3]) expect(devicePrivatePteAt(mm, addr + i * PAGE)).not.toBeNull();
    expectSameBytes(peekUser(mm, addr, 4 * PAGE), data);
  });

  it('a CPU write to a migrated page brings it back and lands', async () => {
    const { mm, dev } = setup();
    const addr = await mmapAnon(mm, 2);
    await write(mm, addr, new Uint8Array(2 * PAGE).fill(0x5a));
    expect(await dev.migrateToDevice(mm, addr, addr + 2 * PAGE)).toBe(2);
    await write(mm, addr + PAGE - 2, new Uint8Array([1, 2, 3, 4]));
    expect(dev.stats.cpuFaults).toBe(2);
    const want = new Uint8Array(2 * PAGE).fill(0x5a);
    want.set([1, 2, 3, 4], PAGE - 2);
    expectSameBytes(await read(mm, addr, 2 * PAGE), want);
  });

  it('the device sees the data and its own writes come back to the CPU', async () => {
    const { mm, dev } = setup();
    const addr = await mmapAnon(mm, 1);
    await write(mm, addr, new Uint8Array([42]));
    await dev.migrateToDevice(mm, addr, addr + PAGE);
    const pfn = devicePrivatePteAt(mm, addr)!.pfn;
    expect(dev.readDevice(pfn, 0, 1)[0]).toBe(42);
    dev.writeDevice(pfn, 1, new Uint8Array([43]));
    expectSameBytes(await read(mm, addr, 2), new Uint8Array([42, 43]));
  });

  it('munmap of a range holding device pages frees them through page_free', async () => {
    const { mm, dev } = setup({ devicePages: 16 });
    const addr = await mmapAnon(mm, 16);
    await write(mm, addr, new Uint8Array(16 * PAGE).fill(1));
    expect(await dev.migrateToDevice(mm, addr, addr + 16 * PAGE)).toBe(16);
    expect(dev.nrFree).toBe(0);
    expect(dev.pgmap.pageFreeCalls).toBe(0);
    expect(await munmap(mm, addr + 4 * PAGE, 8 * PAGE)).toBe(0);
    expect(dev.pgmap.pageFreeCalls).toBe(8);
    expect(dev.nrFree).toBe(8);
    expect(await munmap(mm, addr, 16 * PAGE)).toBe(0);
    expect(dev.pgmap.pageFreeCalls).toBe(16);
    expect(dev.nrFree).toBe(16);
  });

  it('process exit frees device pages through page_free', async () => {
    const { mm, dev } = setup({ devicePages: 4 });
    const addr = await mmapAnon(mm, 4);
    await write(mm, addr, new Uint8Array(4 * PAGE).fill(1));
    expect(await dev.migrateToDevice(mm, addr, addr + 4 * PAGE)).toBe(4);
    await mmput(mm);
    expect(dev.nrFree).toBe(4);
    expect(dev.pgmap.pageFreeCalls).toBe(4);
  });

  it('fork downgrades a write device-private entry to read in parent and child', async () => {
    const { machine, mm, dev } = setup();
    const addr = await mmapAnon(mm, 2);
    const data = new Uint8Array(2 * PAGE).fill(0x77);
    await write(mm, addr, data);
    expect(await dev.migrateToDevice(mm, addr, addr + 2 * PAGE)).toBe(2);
    const before = devicePrivatePteAt(mm, addr)!;
    expect(before.write).toBe(true);
    const child = (await fork(mm)) as MmStruct;
    expect(typeof child).toBe('object');
    const p = devicePrivatePteAt(mm, addr)!;
    const c = devicePrivatePteAt(child, addr)!;
    expect(p).toEqual({ pfn: before.pfn, write: false });
    expect(c).toEqual({ pfn: before.pfn, write: false });
    const pm = machine.phys;
    expect(pm.mapcount[before.pfn]).toBe(2);
    expect(pm.refcount[before.pfn]).toBe(3); // idle 1 + two mappings
    // The child writes: the page comes back to RAM (mapped in both, read-only), then COW.
    await write(child, addr + 5, new Uint8Array([9]));
    expect(devicePrivatePteAt(mm, addr)).toBeNull();
    expect(dev.isFree(before.pfn)).toBe(true);
    expect((await read(mm, addr, PAGE))[5]).toBe(0x77);
    expect((await read(child, addr, PAGE))[5]).toBe(9);
    expectSameBytes(await read(child, addr + PAGE, PAGE), data.subarray(PAGE));
    await mmput(child);
    expectSameBytes(await read(mm, addr + PAGE, PAGE), data.subarray(PAGE));
  });

  it('a shared anonymous mapping cannot take device pages (insert refuses, nothing moves)', async () => {
    const { mm, dev } = setup();
    const { mmap, MAP_SHARED, MAP_ANONYMOUS, PROT_READ, PROT_WRITE } = await import('@hmmsim/mm');
    const addr = await mmap(
      mm,
      0,
      2 * PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_SHARED | MAP_ANONYMOUS,
    );
    await write(mm, addr, new Uint8Array([1]));
    expect(await dev.migrateToDevice(mm, addr, addr + 2 * PAGE)).toBe(0);
    expect((await read(mm, addr, 1))[0]).toBe(1);
    expect(dev.nrFree).toBe(dev.nrPages);
  });
});

describe('R10 (2019): migrate_vma has no owner filter', () => {
  it("another device's migration collects (and takes) this device's pages", async () => {
    const { machine, mm, dev: a, rec } = setup({ devicePages: 4 });
    const b = createTestDevice(machine, { nrPages: 4 });
    const addr = await mmapAnon(mm, 2);
    await write(mm, addr, new Uint8Array(2 * PAGE).fill(0x3c));
    expect(await a.migrateToDevice(mm, addr, addr + 2 * PAGE)).toBe(2);
    rec.clear();
    expect(await b.migrateToDevice(mm, addr, addr + 2 * PAGE)).toBe(2);
    expect(b.owns(devicePrivatePteAt(mm, addr)!.pfn)).toBe(true);
    expect(a.nrFree).toBe(4); // A's pages went back through A's page_free
    expect(rec.starts(mm)).toEqual([
      { event: 1, start: addr, end: addr + 2 * PAGE, blockable: true },
    ]);
    expectSameBytes(await read(mm, addr, 2 * PAGE), new Uint8Array(2 * PAGE).fill(0x3c));
    expect(b.stats.cpuFaults).toBe(2);
    // (checkAll only knows A's free list; B's pages are all back, so nothing is missed.)
    expect(b.nrFree).toBe(4);
  });
});
