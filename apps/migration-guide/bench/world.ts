/**
 * The benchmark's machine: one process with an N-page mirrored range, populated by CPU writes,
 * and a one-page mapping of its own elsewhere in the same process (an invalidation there is one
 * the device's range does not cover). Unlike the guide's two-page scenario world, no explorer
 * runs here: the default scheduler runs every task to completion.
 */
import { HPAGE_PMD_NR, InvalidArgumentError, PAGE_SIZE } from '@hmmsim/kernel';
import {
  cpuWrite,
  createMachine,
  createMm,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Machine,
  type MmStruct,
  madvise,
  mmap,
  mmput,
  mprotect,
  munmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';

/**
 * Where the mirrored range starts (below 2^32, like the guide's scenarios).
 * Mirrors: model-only.
 */
export const BENCH_BASE = 0x10000000;

/**
 * The unmirrored page of the same process (far above any mirrored range the bench builds).
 * Mirrors: model-only.
 */
export const BENCH_OUTSIDE = 0x40000000;

/**
 * A scratch page of the same process, unmapped and mapped again by `settle` (never timed).
 * Mirrors: model-only.
 */
export const BENCH_SCRATCH = BENCH_OUTSIDE + 16 * PAGE_SIZE;

/**
 * The most pages a bench range may have (the range must end below BENCH_OUTSIDE).
 * Mirrors: model-only.
 */
export const BENCH_MAX_PAGES = (BENCH_OUTSIDE - BENCH_BASE) / PAGE_SIZE;

/**
 * One process with a populated mirrored range of `npages` pages at `start`.
 * Mirrors: model-only.
 */
export interface BenchWorld {
  readonly machine: Machine;
  readonly mm: MmStruct;
  readonly start: number;
  readonly npages: number;
}

const RW = PROT_READ | PROT_WRITE;
const ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

/** Throw unless a set-up step returned what it should (a broken world is a bug of the bench). */
function expectRet(what: string, ret: number, want: number): void {
  if (ret !== want) throw new Error(`bench world: ${what} returned ${ret}, expected ${want}`);
}

/** CPU writes one byte into each of `n` pages from `addr` (so each is present and writable). */
async function touch(mm: MmStruct, addr: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await cpuWrite(mm, addr + i * PAGE_SIZE, new Uint8Array([i & 0xff]));
    if (!r.ok)
      throw new Error(`bench world: CPU write at 0x${(addr + i * PAGE_SIZE).toString(16)} failed`);
  }
}

/**
 * Check the page count of a bench range.
 * Mirrors: model-only.
 */
export function checkBenchPages(fn: string, npages: unknown): asserts npages is number {
  if (
    typeof npages !== 'number' ||
    !Number.isSafeInteger(npages) ||
    npages < 1 ||
    npages > BENCH_MAX_PAGES
  ) {
    throw new InvalidArgumentError(
      `${fn}: npages is ${String(npages)}; expected an integer in [1, ${BENCH_MAX_PAGES}]`,
    );
  }
}

/**
 * Options of createBenchWorld.
 * Mirrors: model-only.
 */
export interface BenchWorldOptions {
  /**
   * Transparent huge pages ('always'): the CPU's first write to each 2 MiB of the range maps a
   * huge page with one PMD. `npages` must then be a multiple of 512. Default false (4 KiB pages).
   */
  readonly thp?: boolean;
}

/**
 * A fresh machine and process: `npages` mapped read-write at BENCH_BASE (2 MiB aligned) and
 * written by the CPU, and one page at BENCH_OUTSIDE, also written.
 * Mirrors: model-only.
 */
export async function createBenchWorld(
  npages: number,
  opts: BenchWorldOptions = {},
): Promise<BenchWorld> {
  checkBenchPages('createBenchWorld', npages);
  const thp = opts.thp ?? false;
  if (typeof thp !== 'boolean') {
    throw new InvalidArgumentError(
      `createBenchWorld: opts.thp is ${String(thp)}; expected a boolean`,
    );
  }
  if (thp && npages % HPAGE_PMD_NR !== 0) {
    throw new InvalidArgumentError(
      `createBenchWorld: npages is ${npages} with opts.thp; expected a multiple of ${HPAGE_PMD_NR} (whole 2 MiB huge pages)`,
    );
  }
  const len = npages * PAGE_SIZE;
  const machine = createMachine({
    ramBytes: len + 16 * 2 ** 20,
    swapPages: 0,
    thp: thp ? 'always' : 'never',
  });
  const mm = createMm(machine);
  expectRet('mmap of the range', await mmap(mm, BENCH_BASE, len, RW, ANON_FIXED), BENCH_BASE);
  await touch(mm, BENCH_BASE, npages);
  const w = { machine, mm, start: BENCH_BASE, npages };
  await mapOutside(w);
  expectRet(
    'mmap scratch',
    await mmap(mm, BENCH_SCRATCH, PAGE_SIZE, RW, ANON_FIXED),
    BENCH_SCRATCH,
  );
  await touch(mm, BENCH_SCRATCH, 1);
  return w;
}

/**
 * The process exits.
 * Mirrors: model-only.
 */
export function destroyBenchWorld(w: BenchWorld): Promise<void> {
  return mmput(w.mm);
}

/**
 * The address of the range's last page: the one munmap and mprotect hit.
 * Mirrors: model-only.
 */
export function victimPage(w: BenchWorld): number {
  return w.start + (w.npages - 1) * PAGE_SIZE;
}

/**
 * Zap the whole range (MADV_DONTNEED), so the next device access faults every page in again.
 * Mirrors: model-only.
 */
export async function emptyRange(w: BenchWorld): Promise<void> {
  expectRet(
    'madvise(DONTNEED)',
    await madvise(w.mm, w.start, w.npages * PAGE_SIZE, MADV_DONTNEED),
    0,
  );
}

/**
 * Map the victim page again (after a munmap) and write it.
 * Mirrors: model-only.
 */
export async function remapVictim(w: BenchWorld): Promise<void> {
  const page = victimPage(w);
  expectRet('mmap of the victim page', await mmap(w.mm, page, PAGE_SIZE, RW, ANON_FIXED), page);
  await touch(w.mm, page, 1);
}

/**
 * Make the victim page writable again (after an mprotect) and write it.
 * Mirrors: model-only.
 */
export async function unprotectVictim(w: BenchWorld): Promise<void> {
  expectRet('mprotect(RW)', await mprotect(w.mm, victimPage(w), PAGE_SIZE, RW), 0);
  await touch(w.mm, victimPage(w), 1);
}

/**
 * Map and write the page outside the mirrored range.
 * Mirrors: model-only.
 */
export async function mapOutside(w: BenchWorld): Promise<void> {
  expectRet(
    'mmap outside',
    await mmap(w.mm, BENCH_OUTSIDE, PAGE_SIZE, RW, ANON_FIXED),
    BENCH_OUTSIDE,
  );
  await touch(w.mm, BENCH_OUTSIDE, 1);
}

/**
 * One throwaway munmap + mmap + write of the scratch page. A set-up step that ends with a device
 * fault leaves work behind (garbage, cold caches) that the next operation pays for, and a fault
 * that makes more calls leaves more: measured, the first munmap after a v5.9 SVM fault of 512
 * pages one at a time took twice as long as the same munmap one operation later. Ending the
 * set-up with this step makes the timed invalidation pay for itself only.
 * Mirrors: model-only.
 */
export async function settle(w: BenchWorld): Promise<void> {
  expectRet('munmap scratch', await munmap(w.mm, BENCH_SCRATCH, PAGE_SIZE), 0);
  expectRet(
    'mmap scratch',
    await mmap(w.mm, BENCH_SCRATCH, PAGE_SIZE, RW, ANON_FIXED),
    BENCH_SCRATCH,
  );
  await touch(w.mm, BENCH_SCRATCH, 1);
}

/**
 * The three timed invalidations: munmap or mprotect(PROT_READ) of the victim page, or munmap of
 * the page outside the range. Each returns the syscall's result.
 * Mirrors: model-only.
 */
export const INVALIDATE = Object.freeze({
  munmap: (w: BenchWorld) => munmap(w.mm, victimPage(w), PAGE_SIZE),
  mprotect: (w: BenchWorld) => mprotect(w.mm, victimPage(w), PAGE_SIZE, PROT_READ),
  'munmap-outside': (w: BenchWorld) => munmap(w.mm, BENCH_OUTSIDE, PAGE_SIZE),
});
