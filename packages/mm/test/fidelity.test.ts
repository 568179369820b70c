/**
 * Regression tests from the fidelity review against Linux 5.4/5.5: each pins one behaviour the
 * model got wrong (errno of a syscall, a VM_FAULT_* bit, a vma layout).
 */
import { EINVAL, ENOMEM } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  cpuWrite,
  createFile,
  FAULT_FLAG_WRITE,
  findVma,
  handleMmFault,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  mmap,
  mprotect,
  munmap,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_READ,
  PROT_WRITE,
  snapshotMm,
  VM_FAULT_DONE_COW,
  VM_FAULT_MAJOR,
  VM_GROWSDOWN,
  VM_WRITE,
  vmaSnapshot,
} from '../src/index.ts';
import { bytes, check, PAGE, setup } from './helpers.ts';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const A = 0x10000000;

describe('mprotect PROT_GROWSDOWN / PROT_GROWSUP (do_mprotect_pkey)', () => {
  it('PROT_GROWSDOWN with the range below the vma found is -ENOMEM and changes nothing', async () => {
    const { mm, machine, rec } = setup();
    expect(await mmap(mm, A + 8 * PAGE, 4 * PAGE, RW, ANON | MAP_FIXED | MAP_GROWSDOWN)).toBe(
      A + 8 * PAGE,
    );
    expect(findVma(mm, A + 8 * PAGE)!.vmFlags & VM_GROWSDOWN).toBe(VM_GROWSDOWN);
    rec.clear();
    const before = snapshotMm(mm);
    // find_vma(A) is the growsdown vma at A + 8 pages, which starts at or above end = A + 2 pages.
    expect(await mprotect(mm, A, 2 * PAGE, PROT_READ | PROT_GROWSDOWN)).toBe(-ENOMEM);
    expect(snapshotMm(mm)).toEqual(before);
    expect(rec.log).toEqual([]);
    check(machine);
  });

  it('PROT_GROWSUP is -EINVAL on x86 (no VM_GROWSUP), even on a growsdown vma', async () => {
    const { mm, machine, rec } = setup();
    await mmap(mm, A, 4 * PAGE, RW, ANON | MAP_FIXED | MAP_GROWSDOWN);
    await cpuWrite(mm, A, bytes(4 * PAGE, 1));
    rec.clear();
    const before = snapshotMm(mm);
    expect(await mprotect(mm, A + PAGE, PAGE, PROT_READ | PROT_GROWSUP)).toBe(-EINVAL);
    expect(snapshotMm(mm)).toEqual(before);
    expect(rec.log).toEqual([]);
    // A hole below the range is still -ENOMEM first, as in Linux.
    expect(await mprotect(mm, A - 2 * PAGE, PAGE, PROT_READ | PROT_GROWSUP)).toBe(-ENOMEM);
    check(machine);
  });

  it('PROT_GROWSDOWN extends the change down to the start of the growsdown vma', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, 4 * PAGE, RW, ANON | MAP_FIXED | MAP_GROWSDOWN);
    expect(await mprotect(mm, A + 2 * PAGE, PAGE, PROT_READ | PROT_GROWSDOWN)).toBe(0);
    expect(vmaSnapshot(mm).map((v) => [v.start, v.end, (v.flags & VM_WRITE) !== 0])).toEqual([
      [A, A + 3 * PAGE, false],
      [A + 3 * PAGE, A + 4 * PAGE, true],
    ]);
    check(machine);
  });
});

describe('do_cow_fault return value', () => {
  it('a write fault on a private file mapping does not report VM_FAULT_DONE_COW', async () => {
    const { mm, machine } = setup();
    const f = createFile(machine, { data: bytes(2 * PAGE, 5) });
    const a = await mmap(mm, 0, 2 * PAGE, RW, MAP_PRIVATE, f);
    const vma = findVma(mm, a)!;
    // DONE_COW is only returned when a DAX ->fault handler did the copy itself.
    expect(await handleMmFault(vma, a, FAULT_FLAG_WRITE)).toBe(VM_FAULT_MAJOR); // read from "disk"
    expect(await handleMmFault(vma, a + PAGE, 0)).toBe(VM_FAULT_MAJOR);
    await munmap(mm, a + PAGE, PAGE); // the page stays in the page cache
    const b = await mmap(mm, 0, PAGE, RW, MAP_PRIVATE, f, 1);
    expect(await handleMmFault(findVma(mm, b)!, b, FAULT_FLAG_WRITE)).toBe(0); // cache hit
    expect(VM_FAULT_DONE_COW).not.toBe(0);
    check(machine);
  });
});

describe('vma_merge anon_vma rule (is_mergeable_anon_vma)', () => {
  it('a vma with an anon_vma does not merge into a neighbour without one', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, 4 * PAGE, RW, ANON | MAP_FIXED);
    expect(await mprotect(mm, A + 2 * PAGE, 2 * PAGE, PROT_READ)).toBe(0); // split, no anon_vma yet
    await cpuWrite(mm, A, bytes(1, 1)); // the lower vma gets an anon_vma, the upper one has none
    expect(mm.vmas.map((v) => v.anonVma !== null)).toEqual([true, false]);
    // The upper neighbour's anon_vma_chain is empty, not singular: Linux refuses the merge.
    expect(await mprotect(mm, A, 2 * PAGE, PROT_READ)).toBe(0);
    expect(vmaSnapshot(mm).map((v) => [v.start, v.end])).toEqual([
      [A, A + 2 * PAGE],
      [A + 2 * PAGE, A + 4 * PAGE],
    ]);
    check(machine);
  });

  it('a vma without an anon_vma merges into a neighbour whose anon_vma_chain is singular', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, 2 * PAGE, PROT_READ, ANON | MAP_FIXED);
    await mmap(mm, A + 2 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A + 2 * PAGE, bytes(1, 1));
    expect(await mprotect(mm, A, 2 * PAGE, RW)).toBe(0);
    expect(vmaSnapshot(mm).map((v) => [v.start, v.end])).toEqual([[A, A + 4 * PAGE]]);
    check(machine);
  });

  it('prev is tried first: with distinct anon_vmas on both sides only prev absorbs the range', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, 2 * PAGE, RW, ANON | MAP_FIXED);
    await mmap(mm, A + 2 * PAGE, 2 * PAGE, PROT_READ, ANON | MAP_FIXED);
    await mmap(mm, A + 4 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(1, 1));
    await cpuWrite(mm, A + 4 * PAGE, bytes(1, 1));
    expect(mm.vmas.length).toBe(3);
    // vma_merge: can_vma_merge_after(prev) holds, but prev and next have different anon_vmas,
    // so only prev is extended (case 2/5/7), next stays.
    expect(await mprotect(mm, A + 2 * PAGE, 2 * PAGE, RW)).toBe(0);
    expect(vmaSnapshot(mm).map((v) => [v.start, v.end])).toEqual([
      [A, A + 4 * PAGE],
      [A + 4 * PAGE, A + 6 * PAGE],
    ]);
    check(machine);
  });
});

describe('munmap error path', () => {
  it('a listener throwing after the downgrade surfaces its own error and releases mmap_sem', async () => {
    const {
      createMachine,
      createMm,
      mmap,
      munmap,
      InvalidationRecorder,
      MAP_ANONYMOUS,
      MAP_PRIVATE,
      PROT_READ,
      PROT_WRITE,
    } = await import('../src/index.ts');
    const { rwsemIsLocked } = await import('@hmmsim/kernel');
    const machine = createMachine({ ramBytes: 8 * 2 ** 20 });
    const mm = createMm(machine);
    const addr = await mmap(mm, 0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const rec = new InvalidationRecorder().attach(mm);
    rec.onStart = () => {
      throw new Error('listener failed');
    };
    await expect(munmap(mm, addr, 4096)).rejects.toThrow('listener failed');
    expect(rwsemIsLocked(mm.mmapSem)).toBe(false);
  });
});
