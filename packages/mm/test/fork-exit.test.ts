import { ULONG_MAX } from '@hmmsim/kernel';
import { nrFreePages, pteOffset } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  cpuRead,
  cpuWrite,
  createMm,
  fork,
  InvalidationRecorder,
  MADV_DONTFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MMU_NOTIFY_RELEASE,
  type MmStruct,
  madvise,
  mmap,
  mmdrop,
  mmget,
  mmgetNotZero,
  mmgrab,
  mmput,
  PROT_READ,
  PROT_WRITE,
} from '../src/index.ts';
import { bytes, check, PAGE, setup, starts } from './helpers.ts';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const A = 0x10000000;
const S = 0x20000000;

async function read(mm: MmStruct, addr: number, n: number): Promise<number[]> {
  const r = await cpuRead(mm, addr, n);
  if (!r.ok) throw new Error(`read fault ${r.code}`);
  return Array.from(r.data!);
}

describe('fork', () => {
  it('write-protects COW mappings in both mms with PROTECTION_PAGE on the parent only', async () => {
    const { mm, machine, rec } = setup();
    await mmap(mm, A, 4 * PAGE, RW, ANON | MAP_FIXED);
    await mmap(mm, A + 8 * PAGE, 4 * PAGE, RW, ANON | MAP_FIXED); // never touched: no anon_vma
    await mmap(mm, S, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED);
    await cpuWrite(mm, A, bytes(4 * PAGE, 1));
    await cpuWrite(mm, S, bytes(2 * PAGE, 2));
    rec.clear();
    const child = (await fork(mm)) as MmStruct;
    const crec = new InvalidationRecorder().attach(child);
    expect(rec.lines()).toEqual([
      'start PROTECTION_PAGE 0x10000000-0x10004000',
      'end PROTECTION_PAGE 0x10000000-0x10004000',
    ]);
    expect(rec.log.every((r) => r.mm === mm)).toBe(true);
    for (const m of [mm, child]) {
      const slot = pteOffset(m.pt, A);
      expect(m.pt.bits[slot]! & 2).toBe(0);
    }
    expect(child.rss[1]).toBe(4);
    expect(child.rss[3]).toBe(0); // shared pages are faulted in by the child
    check(machine);
    // COW isolation
    await cpuWrite(child, A + 10, bytes(2, 9));
    await cpuWrite(mm, A + PAGE, bytes(2, 8));
    expect(await read(mm, A + 9, 4)).toEqual([1, 1, 1, 1]);
    expect(await read(child, A + 9, 4)).toEqual([1, 9, 9, 1]);
    expect(await read(child, A + PAGE, 2)).toEqual([1, 1]);
    expect(await read(mm, A + PAGE, 2)).toEqual([8, 8]);
    expect(starts(crec)).toEqual(['CLEAR 0x10000000-0x10001000']);
    // shared stays shared
    await cpuWrite(child, S + PAGE, bytes(1, 7));
    expect(await read(mm, S + PAGE, 2)).toEqual([7, 2]);
    check(machine);
    // the last sharer of a COW page reuses it (no CLEAR)
    rec.clear();
    await cpuWrite(mm, A + 2 * PAGE, bytes(1, 5)); // still shared with the child: copy
    await cpuWrite(child, A + 2 * PAGE, bytes(1, 6)); // now the only mapping: reuse
    expect(starts(rec)).toEqual(['CLEAR 0x10002000-0x10003000']);
    expect(starts(crec)).toEqual(['CLEAR 0x10000000-0x10001000']);
    await mmput(child);
    await mmput(mm);
    check(machine);
  });

  it('VM_DONTCOPY vmas are not copied', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, 2 * PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(1, 1));
    await madvise(mm, A, PAGE, MADV_DONTFORK);
    const child = (await fork(mm)) as MmStruct;
    expect(child.vmas.map((v) => [v.vmStart, v.vmEnd])).toEqual([[A + PAGE, A + 2 * PAGE]]);
    expect((await cpuRead(child, A, 1)).ok).toBe(false);
    check(machine);
  });

  it('a fault with the page-table pool exhausted is VM_FAULT_OOM (SIGKILL) and allocates nothing', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, 2 * PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(2 * PAGE, 4));
    const free = nrFreePages(machine.phys);
    const tiny = createMm(machine, { maxPageTables: 2 });
    await mmap(tiny, A, PAGE, RW, ANON | MAP_FIXED);
    expect(await cpuWrite(tiny, A, bytes(1, 1))).toMatchObject({ ok: false, code: 'OOM' });
    expect(nrFreePages(machine.phys)).toBe(free);
    check(machine);
  });
});

describe('exit', () => {
  it('runs release first, while every page is still allocated, then one UNMAP [0, ULONG_MAX)', async () => {
    const { mm, machine, rec } = setup();
    await mmap(mm, A, 4 * PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(4 * PAGE, 1));
    const pfn = mm.pt.val[pteOffset(mm.pt, A)]!;
    let refAtRelease = -1;
    rec.onRelease = () => {
      refAtRelease = machine.phys.refcount[pfn]!;
    };
    rec.clear();
    const free = nrFreePages(machine.phys);
    await mmput(mm);
    expect(refAtRelease).toBe(1);
    expect(rec.log.map((r) => r.kind)).toEqual(['release', 'start', 'end', 'range']);
    expect(rec.log[0]!.event).toBe(MMU_NOTIFY_RELEASE);
    expect(rec.log[1]).toMatchObject({ event: 0, start: 0, end: ULONG_MAX, blockable: true });
    expect(machine.phys.refcount[pfn]).toBe(0);
    expect(nrFreePages(machine.phys)).toBe(free + 4);
    expect(mm.exited && mm.freed).toBe(true);
    expect(mm.pt.nrTables).toBe(1);
    check(machine);
  });

  it('an mm without vmas only gets release', async () => {
    const { mm, rec } = setup();
    await mmput(mm);
    expect(rec.log.map((r) => r.kind)).toEqual(['release']);
  });

  it('mm_users and mm_count follow mmget/mmput and mmgrab/mmdrop', async () => {
    const { mm } = setup();
    mmget(mm);
    expect(mmgetNotZero(mm)).toBe(true);
    mmgrab(mm);
    await mmput(mm);
    await mmput(mm);
    expect(mm.exited).toBe(false);
    await mmput(mm);
    expect(mm.exited).toBe(true);
    expect(mmgetNotZero(mm)).toBe(false);
    expect(mm.freed).toBe(false);
    mmdrop(mm);
    expect(mm.freed).toBe(true);
    expect(() => mmdrop(mm)).toThrow(/mm_count/);
    await expect(mmput(mm)).rejects.toThrow(/mm_users/);
  });
});
