import { PAGE_SIZE, ULONG_MAX } from '@hmmsim/kernel';
import {
  cpuWrite,
  findVma,
  followPte,
  fork,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MMU_NOTIFY_RELEASE,
  madvise,
  mmap,
  mmput,
  mprotect,
  munmap,
  PROT_READ,
  PROT_WRITE,
  reclaimPage,
  splitHugePmdAddress,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  assertMmuNotifierHistory,
  assertMmuNotifierInvariants,
  mmuIntervalNotifierRemove,
  mmuNotifierLogStart,
} from '../src/index.ts';
import { TestDriver, world } from './helpers.ts';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

async function mapped(pages: number, thp: 'always' | 'never' = 'never') {
  const w = world({ thp });
  const addr = await mmap(w.mm, 0, pages * PAGE_SIZE, RW, ANON);
  expect(addr).toBeGreaterThan(0);
  const d = new TestDriver(w.sched, 'drv');
  expect(await d.insert(w.mm, addr, pages * PAGE_SIZE)).toBe(0);
  return { ...w, addr, d, log: mmuNotifierLogStart(w.sched) };
}

async function touch(
  mm: Parameters<typeof cpuWrite>[0],
  addr: number,
  pages: number,
): Promise<void> {
  for (let i = 0; i < pages; i++) {
    const r = await cpuWrite(mm, addr + i * PAGE_SIZE, new Uint8Array([i + 1]));
    expect(r.ok).toBe(true);
  }
}

describe('the mm fires the right events into interval notifiers', () => {
  it('munmap → UNMAP over the unmapped range', async () => {
    const { mm, addr, d, log } = await mapped(4);
    await touch(mm, addr, 4);
    expect(await munmap(mm, addr + PAGE_SIZE, PAGE_SIZE)).toBe(0);
    expect(d.seen()).toEqual([
      `UNMAP 0x${(addr + PAGE_SIZE).toString(16)}-0x${(addr + 2 * PAGE_SIZE).toString(16)}`,
    ]);
    expect(d.calls[0]!.blockable).toBe(true);
    assertMmuNotifierInvariants(mm);
    assertMmuNotifierHistory(log.events, { final: true });
  });

  it('mprotect → PROTECTION_VMA', async () => {
    const { mm, addr, d } = await mapped(2);
    await touch(mm, addr, 2);
    expect(await mprotect(mm, addr, 2 * PAGE_SIZE, PROT_READ)).toBe(0);
    expect(d.calls.map((c) => c.event)).toContain('PROTECTION_VMA');
  });

  it('COW break → CLEAR of the page, after fork write-protected the parent (PROTECTION_PAGE)', async () => {
    const { mm, addr, d } = await mapped(2);
    await touch(mm, addr, 2);
    const child = await fork(mm);
    expect(typeof child).not.toBe('number');
    expect(d.calls.map((c) => c.event)).toEqual(['PROTECTION_PAGE']);
    expect(await cpuWrite(mm, addr, new Uint8Array([9]))).toMatchObject({ ok: true });
    expect(d.seen()[1]).toBe(`CLEAR 0x${addr.toString(16)}-0x${(addr + PAGE_SIZE).toString(16)}`);
  });

  it('madvise(DONTNEED) → CLEAR', async () => {
    const { mm, addr, d } = await mapped(3);
    await touch(mm, addr, 3);
    expect(await madvise(mm, addr, 3 * PAGE_SIZE, MADV_DONTNEED)).toBe(0);
    expect(d.calls.map((c) => c.event)).toEqual(['CLEAR']);
  });

  it('reclaim → CLEAR of the page', async () => {
    const { mm, machine, addr, d } = await mapped(1);
    await touch(mm, addr, 1);
    const pfn = followPte(mm, addr)?.pfn ?? null;
    expect(pfn).not.toBeNull();
    await reclaimPage(machine, pfn as number);
    expect(d.seen()).toContain(`CLEAR 0x${addr.toString(16)}-0x${(addr + PAGE_SIZE).toString(16)}`);
  });

  it('huge-PMD split → CLEAR of the 2 MiB range', async () => {
    const w = world({ thp: 'always' });
    const len = 4 * 2 ** 20;
    const raw = await mmap(w.mm, 0, len, RW, ANON);
    const addr = Math.ceil(raw / 2 ** 21) * 2 ** 21;
    expect(await madvise(w.mm, raw, len, MADV_HUGEPAGE)).toBe(0);
    await touch(w.mm, addr, 1);
    const d = new TestDriver(w.sched, 'drv');
    expect(await d.insert(w.mm, addr, 2 ** 21)).toBe(0);
    const vma = findVma(w.mm, addr)!;
    await splitHugePmdAddress(vma, addr + PAGE_SIZE);
    expect(d.seen()).toContain(`CLEAR 0x${addr.toString(16)}-0x${(addr + 2 ** 21).toString(16)}`);
  });

  it('exit → RELEASE over [0, ULONG_MAX) before any page is freed, then UNMAP', async () => {
    const { mm, addr, d, log } = await mapped(2);
    await touch(mm, addr, 2);
    let rssAtRelease = -1;
    d.onInvalidate = (range) => {
      if (range.event === MMU_NOTIFY_RELEASE) rssAtRelease = range.mm.rssPages;
    };
    await mmput(mm); // the last user: exit_mmap
    expect(d.calls[0]).toMatchObject({
      event: 'RELEASE',
      start: 0,
      end: ULONG_MAX,
      blockable: true,
    });
    expect(rssAtRelease).toBe(2);
    expect(d.calls.slice(1).map((c) => c.event)).toEqual(['UNMAP']);
    // The notifier stays in the tree (and pins the struct) until its owner removes it.
    expect(mm.freed).toBe(false);
    await mmuIntervalNotifierRemove(d.mni);
    expect(mm.freed).toBe(true);
    assertMmuNotifierHistory(log.events, { final: true });
  });
});
