import { describe, expect, it } from 'vitest';
import {
  cpuRead,
  cpuWrite,
  fork,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  type MmStruct,
  mmap,
  mmput,
  munmap,
  PROT_READ,
  PROT_WRITE,
} from '../src/index.ts';
import { bytes, check, PAGE, setup, starts } from './helpers.ts';

describe('smoke', () => {
  it('maps, writes, reads, forks, unmaps, exits', async () => {
    const { machine, mm, rec } = setup();
    const a = await mmap(mm, 0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(a).toBeGreaterThan(0);
    expect((await cpuRead(mm, a, 8)).ok).toBe(true);
    expect(await cpuWrite(mm, a, bytes(PAGE + 10, 7))).toEqual({ ok: true });
    check(machine);
    const r = await cpuRead(mm, a + PAGE, 10);
    expect(r.ok && r.data).toEqual(bytes(10, 7));
    const s = await mmap(mm, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    await cpuWrite(mm, s, bytes(4, 1));
    const child = (await fork(mm)) as MmStruct;
    check(machine);
    await cpuWrite(mm, a, bytes(4, 9));
    const cr = await cpuRead(child, a, 4);
    expect(cr.ok && cr.data).toEqual(bytes(4, 7));
    await cpuWrite(child, s, bytes(4, 5));
    const pr = await cpuRead(mm, s, 4);
    expect(pr.ok && pr.data).toEqual(bytes(4, 5));
    check(machine);
    expect(await munmap(mm, a, PAGE)).toBe(0);
    check(machine);
    await mmput(child);
    check(machine);
    await mmput(mm);
    check(machine);
    expect(starts(rec)).toContain('PROTECTION_PAGE 0x7effffffc000-0x7f0000000000');
  });
});
