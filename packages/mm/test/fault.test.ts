import { PMD_SIZE } from '@hmmsim/kernel';
import {
  _PAGE_RW,
  _PAGE_SPECIAL,
  nrFreePages,
  pmdOffset,
  pmdTransHuge,
  pteOffset,
} from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  cpuRead,
  cpuWrite,
  createDeviceFile,
  FAULT_FLAG_WRITE,
  findVma,
  handleMmFault,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  type MmFile,
  madvise,
  mmap,
  mprotect,
  munmap,
  PROT_READ,
  PROT_WRITE,
  remapPfnRange,
  setAllocFailure,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  VM_IO,
  VM_MIXEDMAP,
  VM_PFNMAP,
} from '../src/index.ts';
import { bytes, check, PAGE, setup, starts } from './helpers.ts';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

describe('anonymous faults', () => {
  it('a read maps the shared zero page read-only and special; a write breaks it with a CLEAR bracket', async () => {
    const { mm, machine, rec } = setup();
    const a = await mmap(mm, 0x10000000, PAGE, RW, ANON | MAP_FIXED);
    const vma = findVma(mm, a)!;
    expect(await handleMmFault(vma, a + 5, 0)).toBe(0);
    const slot = pteOffset(mm.pt, a);
    expect(mm.pt.val[slot]).toBe(machine.phys.zeroPfn);
    expect(mm.pt.bits[slot]! & (_PAGE_SPECIAL | _PAGE_RW)).toBe(_PAGE_SPECIAL);
    expect(mm.rss[1]).toBe(0);
    expect(await handleMmFault(vma, a, FAULT_FLAG_WRITE)).toBe(8 /* VM_FAULT_WRITE */);
    expect(rec.lines()).toEqual([
      'start CLEAR 0x10000000-0x10001000',
      'range 0x10000000-0x10001000',
      'changePte 0x10000000-0x10001000',
      'end CLEAR 0x10000000-0x10001000',
    ]);
    expect(rec.log[3]!.onlyEnd).toBe(true);
    expect(mm.pt.bits[slot]! & _PAGE_RW).toBe(_PAGE_RW);
    expect(mm.rss[1]).toBe(1);
    check(machine);
  });

  it('a write to an empty PTE allocates a zeroed page without any invalidation', async () => {
    const { mm, machine, rec } = setup();
    const a = await mmap(mm, 0, PAGE, RW, ANON);
    expect(await cpuWrite(mm, a + 100, bytes(4, 0xaa))).toEqual({ ok: true });
    expect(rec.log).toEqual([]);
    const r = await cpuRead(mm, a + 98, 8);
    expect(r.ok && Array.from(r.data!)).toEqual([0, 0, 0xaa, 0xaa, 0xaa, 0xaa, 0, 0]);
    check(machine);
  });

  it('a write fault on a read-only vma is VM_FAULT_SIGSEGV; any access to PROT_NONE too', async () => {
    const { mm } = setup();
    const a = await mmap(mm, 0, PAGE, PROT_READ, ANON);
    expect(await handleMmFault(findVma(mm, a)!, a, FAULT_FLAG_WRITE)).toBe(VM_FAULT_SIGSEGV);
    await mprotect(mm, a, PAGE, 0);
    expect(await handleMmFault(findVma(mm, a)!, a, 0)).toBe(VM_FAULT_SIGSEGV);
    expect(await cpuRead(mm, a, 1)).toMatchObject({ ok: false, code: 'SEGV_ACCERR' });
  });

  it('out of memory gives VM_FAULT_OOM and SIGKILL for the access', async () => {
    const { mm, machine } = setup();
    const a = await mmap(mm, 0, PAGE, RW, ANON);
    setAllocFailure(machine, () => true);
    expect(await cpuWrite(mm, a, bytes(1, 1))).toEqual({
      ok: false,
      signal: 'SIGKILL',
      code: 'OOM',
      addr: a,
    });
    setAllocFailure(machine, null);
    expect(await cpuWrite(mm, a, bytes(1, 1))).toEqual({ ok: true });
    check(machine);
  });
});

describe('transparent huge pages', () => {
  async function thpSetup(policy: 'always' | 'madvise' = 'madvise') {
    const s = setup({ thp: policy });
    const a = await mmap(s.mm, 0x40000000, 2 * PMD_SIZE, RW, ANON | MAP_FIXED);
    if (policy === 'madvise') expect(await madvise(s.mm, a, 2 * PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
    s.rec.clear();
    return { ...s, a };
  }

  it('faults a PMD-mapped THP on an aligned range inside a VM_HUGEPAGE vma', async () => {
    const { mm, machine, a } = await thpSetup();
    const free = nrFreePages(machine.phys);
    expect(await cpuWrite(mm, a + 12345, bytes(10, 5))).toEqual({ ok: true });
    expect(pmdTransHuge(mm.pt.bits[pmdOffset(mm.pt, a)]!)).toBe(true);
    expect(mm.rss[1]).toBe(512);
    expect(free - nrFreePages(machine.phys)).toBe(512);
    const r = await cpuRead(mm, a + 12345, 10);
    expect(r.ok && r.data).toEqual(bytes(10, 5));
    check(machine);
  });

  it('falls back to 4 KiB pages when the order-9 allocation fails', async () => {
    const { mm, machine, a } = await thpSetup();
    setAllocFailure(machine, (order) => order === 9);
    expect(await cpuWrite(mm, a, bytes(1, 5))).toEqual({ ok: true });
    expect(pmdTransHuge(mm.pt.bits[pmdOffset(mm.pt, a)]!)).toBe(false);
    expect(mm.rss[1]).toBe(1);
    check(machine);
  });

  it('no THP outside VM_HUGEPAGE under madvise, or for a vma that cannot hold 2 MiB', async () => {
    const s = setup({ thp: 'always' });
    const a = await mmap(s.mm, 0x40000000 + PAGE, PMD_SIZE, RW, ANON | MAP_FIXED);
    await cpuWrite(s.mm, a, bytes(1, 1));
    expect(s.mm.rss[1]).toBe(1);
    const t = setup({ thp: 'madvise' });
    const b = await mmap(t.mm, 0x40000000, PMD_SIZE, RW, ANON | MAP_FIXED);
    await cpuWrite(t.mm, b, bytes(1, 1));
    expect(t.mm.rss[1]).toBe(1);
  });

  it('partial munmap of a THP splits it (CLEAR over the 2 MiB) then unmaps (UNMAP)', async () => {
    const { mm, machine, rec, a } = await thpSetup('always');
    await cpuWrite(mm, a, bytes(PMD_SIZE, 7));
    rec.clear();
    expect(await munmap(mm, a + PMD_SIZE - 4 * PAGE, 4 * PAGE)).toBe(0);
    expect(starts(rec)).toEqual(['CLEAR 0x40000000-0x40200000', 'UNMAP 0x401fc000-0x40200000']);
    expect(mm.rss[1]).toBe(508);
    const r = await cpuRead(mm, a + PMD_SIZE - 5 * PAGE, 4);
    expect(r.ok && r.data).toEqual(bytes(4, 7));
    check(machine);
    await munmap(mm, a, PMD_SIZE);
    expect(mm.rss[1]).toBe(0);
    check(machine);
  });

  it('madvise DONTNEED of part of a THP nests the split CLEAR inside its own CLEAR', async () => {
    const { mm, machine, rec, a } = await thpSetup('always');
    await cpuWrite(mm, a, bytes(4, 7));
    rec.clear();
    expect(await madvise(mm, a, PAGE, MADV_DONTNEED)).toBe(0);
    expect(rec.lines().filter((l) => !l.startsWith('range'))).toEqual([
      'start CLEAR 0x40000000-0x40001000',
      'start CLEAR 0x40000000-0x40200000',
      'end CLEAR 0x40000000-0x40200000',
      'end CLEAR 0x40000000-0x40001000',
    ]);
    expect(mm.rss[1]).toBe(511);
    check(machine);
  });

  it('mprotect of part of a THP splits it at the vma boundary, then PROTECTION_VMA', async () => {
    const { mm, machine, rec, a } = await thpSetup('always');
    await cpuWrite(mm, a, bytes(4, 7));
    rec.clear();
    expect(await mprotect(mm, a, 16 * PAGE, PROT_READ)).toBe(0);
    expect(starts(rec)).toEqual([
      'CLEAR 0x40000000-0x40200000',
      'PROTECTION_VMA 0x40000000-0x40010000',
    ]);
    expect((await cpuWrite(mm, a, bytes(1, 1))).ok).toBe(false);
    expect((await cpuWrite(mm, a + 16 * PAGE, bytes(1, 1))).ok).toBe(true);
    check(machine);
  });

  it('whole-PMD mprotect changes the huge PMD in place', async () => {
    const { mm, machine, rec, a } = await thpSetup('always');
    await cpuWrite(mm, a, bytes(4, 7));
    rec.clear();
    expect(await mprotect(mm, a, PMD_SIZE, PROT_READ)).toBe(0);
    expect(starts(rec)).toEqual(['PROTECTION_VMA 0x40000000-0x40200000']);
    expect(pmdTransHuge(mm.pt.bits[pmdOffset(mm.pt, a)]!)).toBe(true);
    check(machine);
  });
});

describe('file and device faults', () => {
  it('VM_PFNMAP device mappings are populated at mmap; faults beyond are SIGBUS', async () => {
    const { mm, machine } = setup();
    const dev = createDeviceFile(machine, 'pfnmap', 2) as MmFile;
    const a = await mmap(mm, 0, 2 * PAGE, RW, MAP_SHARED, dev);
    const vma = findVma(mm, a)!;
    expect(vma.vmFlags & (VM_IO | VM_PFNMAP)).toBe(VM_IO | VM_PFNMAP);
    expect(await cpuWrite(mm, a, bytes(4, 3))).toEqual({ ok: true });
    expect(mm.rss).toEqual([0, 0, 0, 0]);
    check(machine);
    const b = await mmap(mm, 0, 2 * PAGE, RW, MAP_SHARED, dev);
    await mprotect(mm, b, 2 * PAGE, RW);
    await munmap(mm, b + PAGE, PAGE);
    expect(await handleMmFault(findVma(mm, b)!, b, 0)).toBe(0);
    check(machine);
    const r = await cpuRead(mm, b, 4);
    expect(r.ok && r.data).toEqual(bytes(4, 3));
  });

  it('VM_MIXEDMAP device pages are inserted at fault time', async () => {
    const { mm, machine } = setup();
    const dev = createDeviceFile(machine, 'mixedmap', 2) as MmFile;
    const a = await mmap(mm, 0, 2 * PAGE, RW, MAP_SHARED, dev);
    expect(findVma(mm, a)!.vmFlags & VM_MIXEDMAP).toBe(VM_MIXEDMAP);
    expect(await cpuWrite(mm, a + PAGE, bytes(2, 1))).toEqual({ ok: true });
    expect(mm.rss[0]).toBe(1);
    check(machine);
  });

  it('remapPfnRange maps raw pfns into an existing vma', async () => {
    const { mm, machine } = setup();
    const dev = createDeviceFile(machine, 'mixedmap', 1) as MmFile;
    const a = await mmap(mm, 0, PAGE, RW, MAP_SHARED, dev);
    const vma = findVma(mm, a)!;
    expect(remapPfnRange(vma, a, dev.inode.device!.pfns[0]!, PAGE, vma.vmPageProt)).toBe(0);
    expect(vma.vmFlags & VM_PFNMAP).toBe(VM_PFNMAP);
    expect(remapPfnRange(vma, a, 1, PAGE, vma.vmPageProt)).toBe(-16);
    expect(remapPfnRange(vma, a + PAGE, 1, PAGE, vma.vmPageProt)).toBe(-22);
    expect(await handleMmFault(vma, a, 0)).toBe(0);
  });

  it('a fault beyond the end of a file is SIGBUS', async () => {
    const { mm, machine } = setup();
    const { createFile } = await import('../src/index.ts');
    const f = createFile(machine, { size: 100 });
    const a = await mmap(mm, 0, 2 * PAGE, PROT_READ, MAP_PRIVATE, f);
    expect((await cpuRead(mm, a, 4)).ok).toBe(true);
    expect(await handleMmFault(findVma(mm, a)!, a + PAGE, 0)).toBe(VM_FAULT_SIGBUS);
    expect(await cpuRead(mm, a + PAGE, 1)).toMatchObject({
      ok: false,
      signal: 'SIGBUS',
      code: 'BUS_ADRERR',
    });
  });
});
