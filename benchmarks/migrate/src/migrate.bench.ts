/**
 * @hmmsim/migrate benchmark: pages per second for migrating 1 GiB of anonymous memory to device
 * memory and back (migrate_vma_setup/pages/finalize through the test device) with 1, 16 and 512
 * pages per call, printed with the ratio of each to 1 page per call, all from the same run.
 * Target: 512 pages per call >= 10x faster per page than 1.
 *
 * The pages are populated by write faults but never written, so they carry no contents buffer:
 * the device's copy is a metadata operation and the figures measure the migrate_vma machinery
 * (walk, locking, migration entries, rmap, refcounts, finalize), not a 4 KiB memcpy.
 * Set HMMSIM_BENCH_MIB to run a smaller size (default 1024).
 *
 * Two set-ups, each measured at 1, 16 and 512 pages per call: a bare one (nobody listens to the
 * mm's invalidations) and a mirrored one, where the device also mirrors the range through an
 * mmu_interval_notifier as a real driver does (nouveau, dmirror): then every migrate_vma call's
 * MMU_NOTIFY_CLEAR invalidation reaches the driver's callback, which takes the driver lock and
 * calls mmu_interval_set_seq: the per-call cost that batching amortises.
 *
 * Run: pnpm --filter @hmmsim-bench/migrate bench   (or, from this folder, `pnpm bench`)
 */
import { Mutex, mutexLock, mutexUnlock, PAGE_SIZE } from '@hmmsim/kernel';
import { createTestDevice, type TestDevice } from '@hmmsim/migrate';
import {
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type MmStruct,
  mmap,
  mmPopulate,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalSetSeq,
} from '@hmmsim/mmu-notifier';
import { runSuite } from '@hmmsim-bench/common';

const MIB = Number(process.env['HMMSIM_BENCH_MIB'] ?? 1024);
const BYTES = MIB * 2 ** 20;
const PAGES = BYTES / PAGE_SIZE;
const PER_CALL = [1, 16, 512] as const;
const TARGET = 10;

interface World {
  readonly mm: MmStruct;
  readonly dev: TestDevice;
  readonly addr: number;
}

/** Mirror [addr, addr + BYTES) as a driver does: invalidate takes the driver lock and sets the seq. */
async function mirror(w: World): Promise<void> {
  const lock = new Mutex(w.mm.machine.sched, 'driver.lock');
  const ret = await mmuIntervalNotifierInsert(new MmuIntervalNotifier(), w.mm, w.addr, BYTES, {
    async invalidate(mni, _range, curSeq) {
      await mutexLock(lock);
      mmuIntervalSetSeq(mni, curSeq);
      mutexUnlock(lock);
      return true;
    },
    userLock: lock,
  });
  if (ret !== 0) throw new Error(`mmu_interval_notifier_insert: ${ret}`);
}

async function build(): Promise<World> {
  const machine = createMachine({ ramBytes: BYTES + 64 * 2 ** 20, swapPages: 0, thp: 'never' });
  const mm = createMm(machine);
  const dev = createTestDevice(machine, { nrPages: PAGES });
  const addr = await mmap(mm, 0, BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (addr < 0) throw new Error(`mmap: ${addr}`);
  const ret = await mmPopulate(mm, addr, BYTES);
  if (ret !== 0) throw new Error(`populate: ${ret}`);
  return { mm, dev, addr };
}

/** One round trip of the whole range with `per` pages per migrate_vma call. */
async function roundTrip(w: World, per: number): Promise<void> {
  const there = await w.dev.migrateToDevice(w.mm, w.addr, w.addr + BYTES, { pagesPerCall: per });
  const back = await w.dev.migrateToSystem(w.mm, w.addr, w.addr + BYTES, { pagesPerCall: per });
  if (there !== PAGES || back !== PAGES) {
    throw new Error(`moved ${there} there and ${back} back, expected ${PAGES} each`);
  }
}

const SUITE = { time: 0, iterations: 3, warmupTime: 0, warmupIterations: 1 } as const;

type Rows = { task: string; pagesPerSecond: number; seconds: number }[];

/** Round trips at 1, 16 and 512 pages per call on one world; pages/s both ways. */
async function measure(label: string, w: World): Promise<Rows> {
  const tasks = PER_CALL.map((per) => [`${per} pages/call`, () => roundTrip(w, per)] as const);
  const suite = await runSuite(`migrate (${label})`, tasks, SUITE);
  return suite.map((r) => {
    const seconds = r.ms / 1000;
    return { task: r.task, pagesPerSecond: (2 * PAGES) / seconds, seconds };
  });
}

async function main(): Promise<void> {
  const bare = await build();
  report('bare', 'nobody listens to the mm', await measure('bare', bare));
  const mirrored = await build();
  await mirror(mirrored);
  report('mirrored', 'the device mirrors the range', await measure('mirrored', mirrored));
}

/** Prints one set-up's table and its 512-vs-1 ratio against the target. */
function report(label: string, what: string, rows: Rows): void {
  const base = rows[0]!.pagesPerSecond;
  console.log(
    `\nmigrate ${MIB} MiB (${PAGES} pages) to device memory and back, ${label} (${what}):`,
  );
  console.table(
    rows.map((r) => ({
      'pages per call': r.task,
      'round trip (s)': r.seconds.toFixed(2),
      'pages/s (both ways)': Math.round(r.pagesPerSecond).toLocaleString('en-US'),
      'x vs 1/call': (r.pagesPerSecond / base).toFixed(1),
    })),
  );
  const ratio = rows[rows.length - 1]!.pagesPerSecond / base;
  console.log(
    `${label}: 512 pages/call is ${ratio.toFixed(1)}x faster per page than 1 (target >= ${TARGET}x): ${ratio >= TARGET ? 'met' : 'NOT met'}`,
  );
}

await main();
