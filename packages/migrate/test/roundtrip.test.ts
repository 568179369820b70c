import { PAGE_SIZE } from '@hmmsim/kernel';
import { afterEach, describe, expect, it } from 'vitest';
import { devicePrivatePteAt, peekUser } from '../src/index.ts';
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

describe('migrate a range to device memory and back', () => {
  it('keeps every byte (random contents)', async () => {
    const { mm, dev } = setup();
    const { rng } = seeded(20191123);
    const n = 40;
    const addr = await mmapAnon(mm, n);
    const data = randomBytes(rng, n * PAGE);
    await write(mm, addr, data);
    expect(await dev.migrateToDevice(mm, addr, addr + n * PAGE, { pagesPerCall: 16 })).toBe(n);
    for (let i = 0; i < n; i++) expect(devicePrivatePteAt(mm, addr + i * PAGE_SIZE)).not.toBeNull();
    expectSameBytes(peekUser(mm, addr, n * PAGE), data);
    expect(await dev.migrateToSystem(mm, addr, addr + n * PAGE, { pagesPerCall: 7 })).toBe(n);
    for (let i = 0; i < n; i++) expect(devicePrivatePteAt(mm, addr + i * PAGE_SIZE)).toBeNull();
    expectSameBytes(await read(mm, addr, n * PAGE), data);
    expect(dev.nrFree).toBe(dev.nrPages);
  });
});

describe('pages per call and THP', () => {
  it.each([1, 16, 512])('round trip with %i pages per call keeps the data', async (per) => {
    const { mm, dev } = setup({ devicePages: 600 });
    const { rng } = seeded(1000 + per);
    const n = 520;
    const addr = await mmapAnon(mm, n);
    const data = randomBytes(rng, n * PAGE);
    await write(mm, addr, data);
    expect(await dev.migrateToDevice(mm, addr, addr + n * PAGE, { pagesPerCall: per })).toBe(n);
    expect(await dev.migrateToSystem(mm, addr, addr + n * PAGE, { pagesPerCall: per })).toBe(n);
    expectSameBytes(await read(mm, addr, n * PAGE), data);
  });

  it('a PMD-mapped THP is split by collect and its pages move', async () => {
    const { mm, dev, machine } = setup({ thp: 'always', devicePages: 16 });
    const { rng } = seeded(4242);
    const base = await mmapAnon(mm, 1024);
    const addr = Math.ceil(base / (2 * 2 ** 20)) * 2 * 2 ** 20; // a 2 MiB aligned address inside
    const data = randomBytes(rng, 8 * PAGE);
    await write(mm, addr, data);
    const pm = machine.phys;
    const { pmdOffset, pmdTransHuge } = await import('@hmmsim/pagetable');
    expect(pmdTransHuge(mm.pt.bits[pmdOffset(mm.pt, addr)] as number)).toBe(true);
    expect(await dev.migrateToDevice(mm, addr + PAGE, addr + 5 * PAGE)).toBe(4);
    expect(pmdTransHuge(mm.pt.bits[pmdOffset(mm.pt, addr)] as number)).toBe(false);
    expect(devicePrivatePteAt(mm, addr)).toBeNull();
    expect(devicePrivatePteAt(mm, addr + PAGE)).not.toBeNull();
    expectSameBytes(await read(mm, addr, 8 * PAGE), data);
    expect(pm.nrPages).toBeGreaterThan(0);
  });
});
