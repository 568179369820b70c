import {
  EACCES,
  EBADF,
  EEXIST,
  EINVAL,
  ENOMEM,
  EPERM,
  InvalidArgumentError,
  TASK_SIZE,
  ULONG_MAX,
} from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  cpuRead,
  cpuWrite,
  createFile,
  EOPNOTSUPP,
  FMODE_READ,
  findVma,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_WILLNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  madvise,
  mmap,
  mprotect,
  munmap,
  openFile,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  snapshotMm,
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_HUGEPAGE,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  vmaSnapshot,
} from '../src/index.ts';
import { bytes, check, MiB, PAGE, setup, starts } from './helpers.ts';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const BASE = 0x10000000;

async function populated() {
  const s = setup();
  const a = await mmap(s.mm, BASE, 8 * PAGE, RW, ANON | MAP_FIXED);
  expect(a).toBe(BASE);
  await cpuWrite(s.mm, BASE, bytes(8 * PAGE, 3));
  s.rec.clear();
  return s;
}

async function unchanged(
  s: Awaited<ReturnType<typeof populated>>,
  op: () => Promise<number>,
  errno: number,
): Promise<void> {
  const before = snapshotMm(s.mm);
  expect(await op()).toBe(errno);
  expect(snapshotMm(s.mm)).toEqual(before);
  expect(s.rec.log).toEqual([]);
  check(s.machine);
}

/** `op` throws InvalidArgumentError matching `why` (a value no C caller could pass) and changes nothing. */
async function refused(
  s: Awaited<ReturnType<typeof populated>>,
  op: () => Promise<number>,
  why: RegExp,
): Promise<void> {
  const before = snapshotMm(s.mm);
  await expect(op()).rejects.toThrow(InvalidArgumentError);
  await expect(op()).rejects.toThrow(why);
  expect(snapshotMm(s.mm)).toEqual(before);
  expect(s.rec.log).toEqual([]);
  check(s.machine);
}

describe('mmap', () => {
  it('rejects bad arguments with the Linux errno and changes nothing', async () => {
    const s = await populated();
    const { mm } = s;
    const file = createFile(s.machine, { size: 4 * PAGE });
    const ro = openFile(file, FMODE_READ);
    await unchanged(s, () => mmap(mm, BASE + 1, PAGE, RW, ANON | MAP_FIXED), -EINVAL);
    await unchanged(s, () => mmap(mm, 0, 0, RW, ANON), -EINVAL);
    await unchanged(s, () => mmap(mm, 0, PAGE, RW, MAP_ANONYMOUS), -EINVAL);
    await unchanged(
      s,
      () => mmap(mm, 0, PAGE, RW, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS),
      -EINVAL,
    );
    await unchanged(s, () => mmap(mm, 0, TASK_SIZE + PAGE, RW, ANON), -ENOMEM);
    await unchanged(s, () => mmap(mm, 0, ULONG_MAX, RW, ANON), -ENOMEM); // a "negative" size_t
    await refused(s, () => mmap(mm, 0, -1, RW, ANON), /mmap: len is -1, below 0/);
    await unchanged(s, () => mmap(mm, TASK_SIZE - PAGE, 2 * PAGE, RW, ANON | MAP_FIXED), -ENOMEM);
    await unchanged(s, () => mmap(mm, 2 ** 47, PAGE, RW, ANON | MAP_FIXED), -ENOMEM);
    await unchanged(s, () => mmap(mm, BASE + PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE), -EEXIST);
    await unchanged(s, () => mmap(mm, 0x1000, PAGE, RW, ANON | MAP_FIXED), -EPERM);
    await unchanged(s, () => mmap(mm, 0, PAGE, RW, MAP_PRIVATE), -EBADF);
    await unchanged(s, () => mmap(mm, 0, PAGE, RW, MAP_SHARED, ro), -EACCES);
    await unchanged(
      s,
      () => mmap(mm, 0, PAGE, RW, MAP_SHARED_VALIDATE | 0x80000, file),
      -EOPNOTSUPP,
    );
    await unchanged(s, () => mmap(mm, 0, PAGE, RW, 0, file), -EINVAL);
    await refused(s, () => mmap(mm, 0.5, PAGE, RW, ANON), /mmap: addr is 0.5, not an integer/);
    await refused(s, () => mmap(mm, 0, Number.NaN, RW, ANON), /mmap: len is NaN/);
    await refused(s, () => mmap(mm, 0, PAGE, RW, ANON, null, -1), /mmap: pgoff is -1/);
  });

  it('picks addresses top-down, honours hints and merges adjacent anonymous mappings', async () => {
    const { mm, machine } = setup();
    const a = await mmap(mm, 0, PAGE, RW, ANON);
    const b = await mmap(mm, 0, PAGE, RW, ANON);
    expect(b).toBe(a - PAGE);
    expect(mm.vmas.length).toBe(1); // merged
    expect(mm.vmas[0]!.vmFlags & VM_ACCOUNT).toBe(VM_ACCOUNT);
    const hint = await mmap(mm, 0x20000000, PAGE, PROT_READ, ANON);
    expect(hint).toBe(0x20000000);
    const clash = await mmap(mm, 0x20000000, PAGE, PROT_READ, ANON);
    expect(clash).not.toBe(0x20000000);
    const fixed = await mmap(mm, 0x20000000, PAGE, RW, ANON | MAP_FIXED);
    expect(fixed).toBe(0x20000000);
    expect(findVma(mm, fixed)!.vmFlags & VM_WRITE).toBe(VM_WRITE);
    check(machine);
  });

  it('MAP_FIXED over populated memory unmaps it first (UNMAP invalidation)', async () => {
    const s = await populated();
    expect(await mmap(s.mm, BASE + 2 * PAGE, 2 * PAGE, PROT_READ, ANON | MAP_FIXED)).toBe(
      BASE + 2 * PAGE,
    );
    expect(starts(s.rec)).toEqual(['UNMAP 0x10002000-0x10004000']);
    const r = await cpuRead(s.mm, BASE + 2 * PAGE, 4);
    expect(r.ok && r.data).toEqual(bytes(4, 0));
    expect(s.mm.vmas.map((v) => [v.vmStart, v.vmEnd])).toEqual([
      [BASE, BASE + 2 * PAGE],
      [BASE + 2 * PAGE, BASE + 4 * PAGE],
      [BASE + 4 * PAGE, BASE + 8 * PAGE],
    ]);
    check(s.machine);
  });

  it('MAP_POPULATE prefaults (private writable: real pages; read-only: zero page)', async () => {
    const { mm, machine } = setup();
    const a = await mmap(mm, 0, 4 * PAGE, RW, ANON | MAP_POPULATE);
    expect(mm.rss[1]).toBe(4);
    const b = await mmap(mm, 0, 4 * PAGE, PROT_READ, ANON | MAP_POPULATE);
    expect(mm.rss[1]).toBe(4);
    expect(snapshotMm(mm).entries.filter((e) => e.addr >= b && e.addr < b + 4 * PAGE)).toHaveLength(
      4,
    );
    expect(a).toBeGreaterThan(b);
    check(machine);
  });

  it('shared file mapping of a read-only file drops VM_SHARED/VM_MAYWRITE', async () => {
    const { mm, machine } = setup();
    const ro = openFile(createFile(machine, { size: PAGE }), FMODE_READ);
    const a = await mmap(mm, 0, PAGE, PROT_READ, MAP_SHARED, ro);
    const v = findVma(mm, a)!;
    expect(v.vmFlags & (VM_SHARED | VM_MAYWRITE)).toBe(0);
    expect(v.vmFlags & VM_MAYSHARE).toBe(VM_MAYSHARE);
    expect(await mprotect(mm, a, PAGE, RW)).toBe(-EACCES);
  });
});

describe('munmap', () => {
  it('rejects bad arguments and changes nothing', async () => {
    const s = await populated();
    await unchanged(s, () => munmap(s.mm, BASE + 1, PAGE), -EINVAL);
    await unchanged(s, () => munmap(s.mm, BASE, 0), -EINVAL);
    await unchanged(s, () => munmap(s.mm, BASE, TASK_SIZE), -EINVAL);
    await unchanged(s, () => munmap(s.mm, TASK_SIZE + PAGE, PAGE), -EINVAL);
    await unchanged(s, () => munmap(s.mm, ULONG_MAX - PAGE + 1, PAGE), -EINVAL);
    await refused(s, () => munmap(s.mm, -PAGE, PAGE), /munmap: addr is -4096, below 0/);
    await refused(
      s,
      () => munmap(s.mm, BASE, 2 ** 53),
      /munmap: len is 9007199254740992, past 2\^53/,
    );
  });

  it('unmapping a hole is fine and fires nothing', async () => {
    const s = await populated();
    await unchanged(s, () => munmap(s.mm, 0x30000000, 4 * PAGE), 0);
  });

  it('fires one UNMAP over the requested range (holes included), pages freed after', async () => {
    const s = await populated();
    const before = s.machine.phys.freeArea.nrFree;
    expect(await munmap(s.mm, BASE + PAGE, 2 * PAGE + 1)).toBe(0);
    expect(s.rec.lines()).toEqual([
      'start UNMAP 0x10001000-0x10004000',
      'end UNMAP 0x10001000-0x10004000',
      'range 0x10001000-0x10004000',
    ]);
    expect(s.machine.phys.freeArea.nrFree).toBe(before + 3);
    expect(vmaSnapshot(s.mm).map((v) => [v.start, v.end])).toEqual([
      [BASE, BASE + PAGE],
      [BASE + 4 * PAGE, BASE + 8 * PAGE],
    ]);
    s.rec.clear();
    expect(await munmap(s.mm, BASE, 16 * PAGE)).toBe(0);
    expect(starts(s.rec)).toEqual(['UNMAP 0x10000000-0x10010000']);
    expect(s.mm.vmas).toEqual([]);
    expect(s.mm.pt.nrTables).toBe(1);
    check(s.machine);
  });

  it('accessing unmapped memory gives SIGSEGV/SEGV_MAPERR', async () => {
    const s = await populated();
    await munmap(s.mm, BASE, PAGE);
    expect(await cpuRead(s.mm, BASE, 1)).toEqual({
      ok: false,
      signal: 'SIGSEGV',
      code: 'SEGV_MAPERR',
      addr: BASE,
    });
    expect(await cpuWrite(s.mm, BASE + PAGE - 2, bytes(4, 1))).toEqual({
      ok: false,
      signal: 'SIGSEGV',
      code: 'SEGV_MAPERR',
      addr: BASE + PAGE - 2,
    });
  });
});

describe('mprotect', () => {
  it('rejects bad arguments and changes nothing', async () => {
    const s = await populated();
    await unchanged(s, () => mprotect(s.mm, BASE + 1, PAGE, PROT_READ), -EINVAL);
    await unchanged(s, () => mprotect(s.mm, BASE, PAGE, 0x10), -EINVAL);
    await unchanged(s, () => mprotect(s.mm, BASE, PAGE, PROT_READ | 0x03000000), -EINVAL);
    await unchanged(s, () => mprotect(s.mm, BASE, PAGE, PROT_READ | 0x01000000), -EINVAL);
    await unchanged(s, () => mprotect(s.mm, BASE - PAGE, 2 * PAGE, PROT_READ), -ENOMEM);
    await unchanged(s, () => mprotect(s.mm, 0x30000000, PAGE, PROT_READ), -ENOMEM);
    await unchanged(s, () => mprotect(s.mm, BASE, 0, PROT_READ), 0);
    await unchanged(s, () => mprotect(s.mm, BASE, ULONG_MAX, PROT_READ), -ENOMEM);
    await unchanged(s, () => mprotect(s.mm, BASE, PAGE, 2 ** 40), -EINVAL);
    await refused(s, () => mprotect(s.mm, BASE, -1, PROT_READ), /mprotect: len is -1/);
  });

  it('-EACCES when asking write on a shared mapping without VM_MAYWRITE', async () => {
    const s = setup();
    const ro = openFile(createFile(s.machine, { size: PAGE }), FMODE_READ);
    const a = await mmap(s.mm, 0, PAGE, PROT_READ, MAP_SHARED, ro);
    s.rec.clear();
    const before = snapshotMm(s.mm);
    expect(await mprotect(s.mm, a, PAGE, PROT_READ | PROT_WRITE)).toBe(-EACCES);
    expect(snapshotMm(s.mm)).toEqual(before);
  });

  it('splits, fires PROTECTION_VMA from the first populated PMD, and enforces the protection', async () => {
    const s = await populated();
    expect(await mprotect(s.mm, BASE + 2 * PAGE, 2 * PAGE, PROT_READ)).toBe(0);
    expect(s.rec.lines()).toEqual([
      'start PROTECTION_VMA 0x10002000-0x10004000',
      'end PROTECTION_VMA 0x10002000-0x10004000',
    ]);
    expect(s.mm.vmas.length).toBe(3);
    expect(await cpuWrite(s.mm, BASE + 2 * PAGE, bytes(1, 1))).toEqual({
      ok: false,
      signal: 'SIGSEGV',
      code: 'SEGV_ACCERR',
      addr: BASE + 2 * PAGE,
    });
    const r = await cpuRead(s.mm, BASE + 2 * PAGE, 2);
    expect(r.ok && r.data).toEqual(bytes(2, 3));
    expect(await mprotect(s.mm, BASE, 8 * PAGE, PROT_NONE)).toBe(0);
    expect(s.mm.vmas.length).toBe(1);
    expect((await cpuRead(s.mm, BASE, 1)).ok).toBe(false);
    expect(await mprotect(s.mm, BASE, 8 * PAGE, RW)).toBe(0);
    expect(s.mm.vmas.length).toBe(1);
    expect(await cpuWrite(s.mm, BASE + 5 * PAGE, bytes(3, 9))).toEqual({ ok: true });
    const r2 = await cpuRead(s.mm, BASE + 5 * PAGE, 4);
    expect(r2.ok && r2.data).toEqual(Uint8Array.from([9, 9, 9, 3]));
    check(s.machine);
  });

  it('stops at a hole with -ENOMEM after changing the vma before it (Linux behaviour)', async () => {
    const s = await populated();
    await munmap(s.mm, BASE + 4 * PAGE, PAGE);
    s.rec.clear();
    expect(await mprotect(s.mm, BASE, 8 * PAGE, PROT_READ)).toBe(-ENOMEM);
    expect(findVma(s.mm, BASE)!.vmFlags & (VM_READ | VM_WRITE)).toBe(VM_READ);
    expect(findVma(s.mm, BASE + 5 * PAGE)!.vmFlags & VM_WRITE).toBe(VM_WRITE);
    expect(starts(s.rec)).toEqual(['PROTECTION_VMA 0x10000000-0x10004000']);
    check(s.machine);
  });

  it('an empty range of page tables fires no invalidation; exec prot is accepted', async () => {
    const { mm, rec } = setup();
    const a = await mmap(mm, 0, 4 * PAGE, RW, ANON);
    expect(await mprotect(mm, a, 4 * PAGE, PROT_READ | PROT_EXEC)).toBe(0);
    expect(rec.log).toEqual([]);
  });
});

describe('madvise', () => {
  it('rejects bad arguments and changes nothing', async () => {
    const s = await populated();
    await unchanged(s, () => madvise(s.mm, BASE, PAGE, 999), -EINVAL);
    await unchanged(s, () => madvise(s.mm, BASE, PAGE, 8 /* MADV_FREE: not modelled */), -EINVAL);
    await unchanged(s, () => madvise(s.mm, BASE + 1, PAGE, MADV_DONTNEED), -EINVAL);
    await unchanged(s, () => madvise(s.mm, BASE, ULONG_MAX, MADV_DONTNEED), -EINVAL);
    await refused(s, () => madvise(s.mm, BASE, -1, MADV_DONTNEED), /madvise: len is -1/);
    await refused(s, () => madvise(s.mm, BASE, PAGE, Number.NaN), /madvise: behavior is NaN/);
    await unchanged(s, () => madvise(s.mm, 0x30000000, PAGE, MADV_DONTNEED), -ENOMEM);
    await unchanged(s, () => madvise(s.mm, BASE, 0, MADV_DONTNEED), 0);
    await unchanged(s, () => madvise(s.mm, BASE, PAGE, MADV_WILLNEED), 0);
  });

  it('DONTNEED fires CLEAR per vma and private anon reads back zeros', async () => {
    const s = await populated();
    await mprotect(s.mm, BASE + 4 * PAGE, 4 * PAGE, PROT_READ);
    s.rec.clear();
    expect(await madvise(s.mm, BASE + 2 * PAGE, 4 * PAGE, MADV_DONTNEED)).toBe(0);
    expect(starts(s.rec)).toEqual(['CLEAR 0x10002000-0x10004000', 'CLEAR 0x10004000-0x10006000']);
    const r = await cpuRead(s.mm, BASE + PAGE, 6 * PAGE);
    expect(r.ok && Array.from(r.data!.subarray(PAGE - 1, PAGE + 1))).toEqual([3, 0]);
    expect(r.ok && r.data![5 * PAGE]).toBe(3);
    check(s.machine);
  });

  it('holes give -ENOMEM after advising the mapped parts', async () => {
    const s = await populated();
    await munmap(s.mm, BASE + 2 * PAGE, PAGE);
    s.rec.clear();
    expect(await madvise(s.mm, BASE, 8 * PAGE, MADV_DONTNEED)).toBe(-ENOMEM);
    expect(starts(s.rec)).toEqual(['CLEAR 0x10000000-0x10002000', 'CLEAR 0x10003000-0x10008000']);
    expect(s.mm.rss[1]).toBe(0);
    check(s.machine);
  });

  it('HUGEPAGE / NOHUGEPAGE / DONTFORK / DOFORK set flags, split and merge vmas', async () => {
    const { mm, machine } = setup();
    const a = await mmap(mm, 0, 8 * PAGE, RW, ANON);
    expect(await madvise(mm, a + 2 * PAGE, 2 * PAGE, MADV_HUGEPAGE)).toBe(0);
    expect(mm.vmas.length).toBe(3);
    expect(findVma(mm, a + 2 * PAGE)!.vmFlags & VM_HUGEPAGE).toBe(VM_HUGEPAGE);
    expect(await madvise(mm, a + 2 * PAGE, 2 * PAGE, MADV_NOHUGEPAGE)).toBe(0);
    expect(findVma(mm, a + 2 * PAGE)!.vmFlags & (VM_HUGEPAGE | VM_NOHUGEPAGE)).toBe(VM_NOHUGEPAGE);
    expect(await madvise(mm, a, 8 * PAGE, MADV_DONTFORK)).toBe(0);
    expect(mm.vmas.every((v) => (v.vmFlags & VM_DONTCOPY) !== 0)).toBe(true);
    expect(await madvise(mm, a, 8 * PAGE, MADV_DOFORK)).toBe(0);
    expect(mm.vmas.length).toBe(3);
    check(machine);
  });

  it('a 64 MiB-class request outside the window with DONTNEED on an unmapped tail is -ENOMEM', async () => {
    const s = await populated();
    expect(await madvise(s.mm, BASE, 64 * MiB, MADV_DONTNEED)).toBe(-ENOMEM);
    expect(s.mm.rss[1]).toBe(0);
  });
});
