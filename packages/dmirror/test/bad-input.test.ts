import {
  EBADF,
  EFAULT,
  EINVAL,
  ENOMEM,
  InvalidArgumentError,
  PAGE_SIZE,
  TASK_SIZE,
} from '@hmmsim/kernel';
import { createMm, mmput } from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  dmirrorIoctl,
  dmirrorRelease,
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
  iowr,
} from '../src/index.ts';
import { anon, IMPLS, open, read, words, world, write } from './helpers.ts';

const ALL = [
  HMM_DMIRROR_READ,
  HMM_DMIRROR_WRITE,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_SNAPSHOT,
];

/** A world with 4 written pages, a 4-page user buffer and an open file. */
async function fixture(impl: (typeof IMPLS)[number]) {
  const w = world();
  const ptr = await anon(w.mm, 4);
  const mirror = await anon(w.mm, 4);
  await write(w.mm, ptr, words(4));
  await write(
    w.mm,
    mirror,
    words(4, (k) => -k),
  );
  const f = await open(w, impl);
  return { w, ptr, mirror, f };
}

/** What must not change: the block, the table, the user buffer, the mm's layout and rss. */
async function snapshotState(s: Awaited<ReturnType<typeof fixture>>) {
  const d = s.f.privateData;
  return {
    table: d === null ? -1 : d.pt.size,
    mirror: [...(await read(s.w.mm, s.mirror, 4 * PAGE_SIZE))].join(','),
    vmas: s.w.mm.vmas.map((v) => `${v.vmStart}-${v.vmEnd}:${v.vmFlags}`).join(' '),
    rss: s.w.mm.rssPages,
  };
}

describe('bad commands return the kernel errno and change nothing', () => {
  for (const impl of IMPLS) {
    it(`${impl}: preamble errors (unaligned, zero pages, 64-bit wrap, unknown command)`, async () => {
      const s = await fixture(impl);
      const before = await snapshotState(s);
      const cases: [number, HmmDmirrorCmd, number][] = [];
      for (const req of ALL) {
        cases.push([
          req,
          { addr: s.ptr + 8, ptr: s.mirror, npages: 1, cpages: 7, faults: 7 },
          -EINVAL,
        ]);
        cases.push([req, { addr: s.ptr, ptr: s.mirror, npages: 0, cpages: 7, faults: 7 }, -EINVAL]);
        cases.push([
          req,
          { addr: 0, ptr: s.mirror, npages: 2 ** 52, cpages: 7, faults: 7 },
          -EINVAL,
        ]);
        cases.push([
          req,
          { addr: 2 * PAGE_SIZE, ptr: s.mirror, npages: 2 ** 52 - 1, cpages: 7, faults: 7 },
          -EINVAL,
        ]);
      }
      for (const req of [
        iowr('H', 0x09, 40),
        iowr('H', 0x00, 48),
        0,
        HMM_DMIRROR_EXCLUSIVE,
        HMM_DMIRROR_RELEASE,
      ]) {
        cases.push([req, { addr: s.ptr, ptr: s.mirror, npages: 1, cpages: 7, faults: 7 }, -EINVAL]);
      }
      for (const [req, c, want] of cases) {
        expect(await dmirrorIoctl(s.f, req, c)).toBe(want);
        expect([c.cpages, c.faults]).toEqual([7, 7]);
      }
      expect(await snapshotState(s)).toEqual(before);
    });

    it(`${impl}: a closed device gives -EINVAL, a second close -EBADF, a null block -EFAULT`, async () => {
      const s = await fixture(impl);
      const c = { addr: s.ptr, ptr: s.mirror, npages: 1, cpages: 7, faults: 7 };
      expect(await dmirrorIoctl(s.f, HMM_DMIRROR_READ, null)).toBe(-EFAULT);
      expect(await dmirrorRelease(s.f)).toBe(0);
      for (const req of ALL) expect(await dmirrorIoctl(s.f, req, c)).toBe(-EINVAL);
      expect(await dmirrorIoctl(s.f, HMM_DMIRROR_READ, null)).toBe(-EINVAL); // no mirror first
      expect([c.cpages, c.faults]).toEqual([7, 7]);
      expect(await dmirrorRelease(s.f)).toBe(-EBADF);
      expect([...(await read(s.w.mm, s.mirror, 8))]).toEqual([
        ...words(4, (k) => -k).subarray(0, 8),
      ]);
    });

    it(`${impl}: a range beyond the mm: READ/WRITE -EFAULT, MIGRATE -EINVAL, SNAPSHOT ERROR bytes`, async () => {
      const s = await fixture(impl);
      const before = await snapshotState(s);
      for (const addr of [TASK_SIZE, 2 ** 48 - PAGE_SIZE, 2 ** 50]) {
        for (const [req, want] of [
          [HMM_DMIRROR_READ, -EFAULT],
          [HMM_DMIRROR_WRITE, -EFAULT],
          [HMM_DMIRROR_MIGRATE_TO_DEV, -EINVAL],
          [HMM_DMIRROR_MIGRATE_TO_SYS, -EINVAL],
        ] as const) {
          const c = { addr, ptr: s.mirror, npages: 2, cpages: 7, faults: 7 };
          expect(await dmirrorIoctl(s.f, req, c), `${req} at ${addr}`).toBe(want);
          expect([c.cpages, c.faults]).toEqual([7, 7]);
        }
      }
      expect(await snapshotState(s)).toEqual(before);
      // The kernel's snapshot of an address with no VMA succeeds with ERROR bytes.
      const c = { addr: 2 ** 48 - PAGE_SIZE, ptr: s.mirror, npages: 2, cpages: 0, faults: 0 };
      expect(await dmirrorIoctl(s.f, HMM_DMIRROR_SNAPSHOT, c)).toBe(0);
      expect(c.cpages).toBe(2);
      expect([...(await read(s.w.mm, s.mirror, 2))]).toEqual([
        HMM_DMIRROR_PROT_ERROR,
        HMM_DMIRROR_PROT_ERROR,
      ]);
    });

    it(`${impl}: a range running into a hole fails as a whole; nothing is copied out`, async () => {
      const s = await fixture(impl);
      const { munmap } = await import('@hmmsim/mm');
      expect(await munmap(s.w.mm, s.ptr + 2 * PAGE_SIZE, 2 * PAGE_SIZE)).toBe(0);
      const before = await snapshotState(s);
      for (const [req, want] of [
        [HMM_DMIRROR_READ, -EFAULT],
        [HMM_DMIRROR_WRITE, -EFAULT],
      ] as const) {
        const c = { addr: s.ptr, ptr: s.mirror, npages: 4, cpages: 7, faults: 7 };
        expect(await dmirrorIoctl(s.f, req, c)).toBe(want);
        expect([c.cpages, c.faults]).toEqual([7, 7]);
      }
      expect((await snapshotState(s)).mirror).toEqual(before.mirror);
      // MIGRATE fails at the hole even though the first two pages already moved.
      const c = { addr: s.ptr, ptr: s.mirror, npages: 4, cpages: 7, faults: 7 };
      expect(await dmirrorIoctl(s.f, HMM_DMIRROR_MIGRATE_TO_DEV, c)).toBe(-EINVAL);
      expect([c.cpages, c.faults]).toEqual([7, 7]);
      expect(s.w.module.devices[0]?.calloc).toBe(2);
    });
  }

  it('a bad user pointer gives -EFAULT (READ copies out nothing, WRITE reads nothing)', async () => {
    const s = await fixture('interval');
    const c = { addr: s.ptr, ptr: 0x10000, npages: 1, cpages: 7, faults: 7 };
    expect(await dmirrorIoctl(s.f, HMM_DMIRROR_READ, c)).toBe(-EFAULT);
    expect(await dmirrorIoctl(s.f, HMM_DMIRROR_WRITE, c)).toBe(-EFAULT);
    expect(await dmirrorIoctl(s.f, HMM_DMIRROR_SNAPSHOT, c)).toBe(-EFAULT);
    expect([c.cpages, c.faults]).toEqual([7, 7]);
    expect([...(await read(s.w.mm, s.ptr, 8))]).toEqual([...words(1).subarray(0, 8)]);
  });

  it('a bounce buffer larger than RAM gives -ENOMEM', async () => {
    const s = await fixture('interval');
    const c = { addr: s.ptr, ptr: s.mirror, npages: 2 ** 20, cpages: 7, faults: 7 };
    expect(await dmirrorIoctl(s.f, HMM_DMIRROR_READ, c)).toBe(-ENOMEM);
    expect(await dmirrorIoctl(s.f, HMM_DMIRROR_WRITE, c)).toBe(-ENOMEM);
  });

  it('fields that are not u64 values throw InvalidArgumentError', async () => {
    const s = await fixture('interval');
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
      const c = { addr: s.ptr, ptr: s.mirror, npages: bad, cpages: 0, faults: 0 };
      await expect(dmirrorIoctl(s.f, HMM_DMIRROR_READ, c)).rejects.toThrow(InvalidArgumentError);
    }
  });

  it('after the mirrored process exited: MIGRATE/SNAPSHOT -EINVAL; READ would spin, so it throws', async () => {
    const s = await fixture('interval');
    const other = createMm(s.w.machine);
    const buf = await anon(other, 4);
    await mmput(s.w.mm);
    const c = { addr: s.ptr, ptr: buf, npages: 1, cpages: 7, faults: 7 };
    expect(await dmirrorIoctl(s.f, HMM_DMIRROR_MIGRATE_TO_DEV, c, other)).toBe(-EINVAL);
    expect(await dmirrorIoctl(s.f, HMM_DMIRROR_SNAPSHOT, c, other)).toBe(-EINVAL);
    await expect(dmirrorIoctl(s.f, HMM_DMIRROR_READ, c, other)).rejects.toThrow(/livelock/);
    expect([c.cpages, c.faults]).toEqual([7, 7]);
    expect(await dmirrorRelease(s.f)).toBe(0);
  });

  it('CHECK_EXCLUSIVE is 0 (no atomic entries exist)', async () => {
    const s = await fixture('interval');
    const c = { addr: s.ptr, ptr: s.mirror, npages: 4, cpages: 0, faults: 0 };
    expect(await dmirrorIoctl(s.f, HMM_DMIRROR_CHECK_EXCLUSIVE, c)).toBe(0);
  });
});
