import { ENOSPC, PMD_SIZE } from '@hmmsim/kernel';
import { isSwapPte, nrFreePages, pteOffset } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  cpuRead,
  cpuWrite,
  createFile,
  fileRead,
  fileSync,
  fileWrite,
  fork,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  type MmStruct,
  madvise,
  mmap,
  mmput,
  munmap,
  PROT_READ,
  PROT_WRITE,
  reclaimPage,
  shrinkMm,
} from '../src/index.ts';
import { bytes, check, PAGE, setup, starts } from './helpers.ts';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const A = 0x10000000;

function pfnAt(mm: MmStruct, addr: number): number {
  return mm.pt.val[pteOffset(mm.pt, addr)]!;
}

describe('reclaim', () => {
  it('swaps an anonymous page out (CLEAR + invalidateRange) and back in with its bytes (MAJOR)', async () => {
    const { mm, machine, rec } = setup();
    await mmap(mm, A, 2 * PAGE, RW, ANON | MAP_FIXED);
    const data = Uint8Array.from({ length: PAGE }, (_, i) => i % 251);
    await cpuWrite(mm, A, data);
    const pfn = pfnAt(mm, A);
    rec.clear();
    const free = nrFreePages(machine.phys);
    expect(await reclaimPage(machine, pfn)).toBe(0);
    expect(rec.lines()).toEqual([
      'start CLEAR 0x10000000-0x10001000',
      'range 0x10000000-0x10001000',
      'end CLEAR 0x10000000-0x10001000',
    ]);
    expect(nrFreePages(machine.phys)).toBe(free + 1);
    expect(isSwapPte(mm.pt.bits[pteOffset(mm.pt, A)]!)).toBe(true);
    expect(mm.rss).toEqual([0, 0, 1, 0]);
    expect(machine.swap.inuse).toBe(1);
    check(machine);
    const { handleMmFault, findVma, VM_FAULT_MAJOR } = await import('../src/index.ts');
    expect(await handleMmFault(findVma(mm, A)!, A, 0)).toBe(VM_FAULT_MAJOR);
    const r = await cpuRead(mm, A, PAGE);
    expect(r.ok && r.data).toEqual(data);
    expect(machine.swap.inuse).toBe(0);
    expect(mm.rss).toEqual([0, 1, 0, 0]);
    check(machine);
  });

  it('unmaps through rmap from parent and child (one CLEAR per mm) and frees the slot on exit', async () => {
    const { mm, machine, rec } = setup();
    await mmap(mm, A, PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(PAGE, 6));
    const child = (await fork(mm)) as MmStruct;
    rec.attach(child);
    rec.clear();
    const pfn = pfnAt(mm, A);
    expect(machine.phys.mapcount[pfn]).toBe(2);
    expect(await reclaimPage(machine, pfn)).toBe(0);
    expect(rec.starts(mm)).toHaveLength(1);
    expect(rec.starts(child)).toHaveLength(1);
    expect(machine.swap.swapMap[1]).toBe(2);
    check(machine);
    const r = await cpuRead(child, A, 2);
    expect(r.ok && Array.from(r.data!)).toEqual([6, 6]);
    expect(machine.swap.inuse).toBe(1); // the parent still refers to the slot (via swap cache)
    check(machine);
    await cpuWrite(child, A, bytes(1, 1)); // COW: the swap-cache page is shared with the parent's slot
    const p = await cpuRead(mm, A, 2);
    expect(p.ok && Array.from(p.data!)).toEqual([6, 6]);
    check(machine);
    await mmput(child);
    await mmput(mm);
    expect(machine.swap.inuse).toBe(0);
    check(machine);
  });

  it('munmap of a swapped-out page frees its slot', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(1, 1));
    expect(await reclaimPage(machine, pfnAt(mm, A))).toBe(0);
    expect(machine.swap.inuse).toBe(1);
    await munmap(mm, A, PAGE);
    expect(machine.swap.inuse).toBe(0);
    expect(mm.rss).toEqual([0, 0, 0, 0]);
    check(machine);
  });

  it('refuses what it cannot reclaim', async () => {
    const { mm, machine } = setup({ swapPages: 2 });
    await mmap(mm, A, 3 * PAGE, RW, ANON | MAP_FIXED);
    await cpuRead(mm, A + 2 * PAGE, 1);
    await cpuWrite(mm, A, bytes(2 * PAGE, 1));
    expect(await reclaimPage(machine, 0)).toBe(-22);
    expect(await reclaimPage(machine, machine.phys.nrPages - 1)).toBe(-22);
    expect(await reclaimPage(machine, pfnAt(mm, A))).toBe(0);
    expect(await reclaimPage(machine, pfnAt(mm, A + PAGE))).toBe(-ENOSPC);
    check(machine);
  });

  it('reclaims a THP by splitting its PMD mapping and the compound page', async () => {
    const { mm, machine, rec } = setup({ thp: 'always' });
    await mmap(mm, 0x40000000, PMD_SIZE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, 0x40000000, bytes(PMD_SIZE, 3));
    const head =
      mm.pt.val[
        mm.pt.val.length > 0 ? (await import('@hmmsim/pagetable')).pmdOffset(mm.pt, 0x40000000) : 0
      ]!;
    rec.clear();
    expect(await reclaimPage(machine, head + 5)).toBe(0);
    expect(starts(rec)).toEqual(['CLEAR 0x40000000-0x40200000', 'CLEAR 0x40005000-0x40006000']);
    expect(mm.rss).toEqual([0, 511, 1, 0]);
    check(machine);
    const r = await cpuRead(mm, 0x40005000, 2);
    expect(r.ok && Array.from(r.data!)).toEqual([3, 3]);
    check(machine);
  });

  it('shrinkMm ages young pages first (second chance) and MADV_PAGEOUT reclaims a range', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, 8 * PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(8 * PAGE, 2));
    expect(await shrinkMm(mm, 3)).toBe(3);
    expect(mm.rss[1]).toBe(5);
    expect(await madvise(mm, A, 8 * PAGE, MADV_PAGEOUT)).toBe(0);
    expect(mm.rss[1]).toBe(0);
    expect(mm.rss[2]).toBe(8);
    const r = await cpuRead(mm, A, 8 * PAGE);
    expect(r.ok && r.data).toEqual(bytes(8 * PAGE, 2));
    check(machine);
  });
});

describe('files', () => {
  it('MAP_SHARED writes reach the file; MAP_PRIVATE writes do not', async () => {
    const { mm, machine } = setup();
    const f = createFile(machine, { data: bytes(2 * PAGE, 1) });
    const s = await mmap(mm, 0, 2 * PAGE, RW, MAP_SHARED, f);
    const p = await mmap(mm, 0, 2 * PAGE, RW, MAP_PRIVATE, f);
    await cpuWrite(mm, s + 10, bytes(3, 9));
    await cpuWrite(mm, p + 20, bytes(3, 8));
    const r = fileRead(machine, f, 8, 16) as Uint8Array;
    expect(Array.from(r)).toEqual([1, 1, 9, 9, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(fileWrite(machine, f, PAGE, bytes(2, 5))).toBe(2);
    const v = await cpuRead(mm, s + PAGE, 3);
    expect(v.ok && Array.from(v.data!)).toEqual([5, 5, 1]);
    const pv = await cpuRead(mm, p + PAGE, 3);
    expect(pv.ok && Array.from(pv.data!)).toEqual([5, 5, 1]); // not yet COWed: sees the page cache
    const pv0 = await cpuRead(mm, p + 19, 5);
    expect(pv0.ok && Array.from(pv0.data!)).toEqual([1, 8, 8, 8, 1]);
    expect(mm.rss).toEqual([3, 1, 0, 0]);
    check(machine);
  });

  it('reclaiming a dirty shared file page writes it back and drops it from the page cache', async () => {
    const { mm, machine, rec } = setup();
    const f = createFile(machine, { size: PAGE });
    const s = await mmap(mm, 0, PAGE, RW, MAP_SHARED, f);
    await cpuWrite(mm, s, bytes(4, 7));
    const pfn = pfnAt(mm, s);
    rec.clear();
    expect(await reclaimPage(machine, pfn)).toBe(0);
    expect(rec.lines()).toEqual([
      `start CLEAR 0x${s.toString(16)}-0x${(s + PAGE).toString(16)}`,
      `end CLEAR 0x${s.toString(16)}-0x${(s + PAGE).toString(16)}`,
    ]);
    expect(f.inode.mapping.nrpages).toBe(0);
    expect(f.inode.writebacks).toBe(1);
    const r = await cpuRead(mm, s, 5);
    expect(r.ok && Array.from(r.data!)).toEqual([7, 7, 7, 7, 0]);
    expect(fileSync(machine, f)).toBe(0);
    check(machine);
  });

  it('shared anonymous (shmem) pages are not reclaimable', async () => {
    const { mm, machine } = setup();
    const s = await mmap(mm, 0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
    await cpuWrite(mm, s, bytes(1, 1));
    expect(await reclaimPage(machine, pfnAt(mm, s))).toBe(-22);
  });
});
