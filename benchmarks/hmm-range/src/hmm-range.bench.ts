/**
 * @hmmsim/hmm-range benchmark: hmm_range_fault() over 1 GiB, in one run —
 *   - snapshot (HMM_FAULT_SNAPSHOT) of 1 GiB of populated 4 KiB pages, and of 1 GiB of THP;
 *   - fault-in (request VALID|WRITE for every page, v5.5) of a fresh, empty 1 GiB mapping, with
 *     4 KiB pages and with THP ('always'; the 2019 code faults every 4 KiB page of a PMD chunk,
 *     quirk Q2, so this is 512 handle_mm_fault calls per THP);
 * each as pages/s and as a ratio to a raw typed-array fill of the same number of entries (a JS
 * loop writing one Float64Array entry per page). Ratio = raw time / task time.
 * The range uses an mmu_interval_notifier (read_begin before each call), as a v5.5 driver does.
 *
 * Run: pnpm --filter @hmmsim-bench/hmm-range bench   (or, from this folder, `pnpm bench`)
 */
import {
  createHmmRange,
  HMM_FAULT_SNAPSHOT,
  HMM_PFN_DEVICE_PRIVATE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  type HmmRange,
  hmmRangeFault,
} from '@hmmsim/hmm-range';
import { downRead, PAGE_SIZE, PMD_SIZE, upRead } from '@hmmsim/kernel';
import { createMachine, createMm, type Machine, type MmStruct, mmput } from '@hmmsim/mm';
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalSetSeq,
} from '@hmmsim/mmu-notifier';
import {
  createRawFill,
  faultInWrite,
  mapAnonFixed,
  type Row,
  runSuite,
} from '@hmmsim-bench/common';

const NR_PAGES = 262_144; // 1 GiB of 4 KiB pages
const LEN = NR_PAGES * PAGE_SIZE;
const BASE = 2 ** 40; // 1 GiB (and 2 MiB) aligned user address
const RAM_BYTES = LEN + 64 * 2 ** 20;
const FLAGS = [1 << 0, 1 << 1, 1 << 3];
const VALUES = [2 ** 53 - 2, 0, 2 ** 53 - 4];

/** One mm with 1 GiB mapped, an interval notifier over it and a range. */
interface World {
  readonly mm: MmStruct;
  readonly mni: MmuIntervalNotifier;
  readonly range: HmmRange;
}

async function createWorld(machine: Machine): Promise<World> {
  const mm = createMm(machine);
  await mapAnonFixed(mm, BASE, LEN);
  const mni = new MmuIntervalNotifier();
  const ret = await mmuIntervalNotifierInsert(mni, mm, BASE, LEN, {
    invalidate(n, _range, curSeq) {
      mmuIntervalSetSeq(n, curSeq);
      return true;
    },
  });
  if (ret !== 0) throw new Error(`insert failed: ${ret}`);
  const range = createHmmRange({
    start: BASE,
    end: BASE + LEN,
    flags: FLAGS,
    values: VALUES,
    notifier: mni,
    defaultFlags: (FLAGS[HMM_PFN_VALID] as number) | (FLAGS[HMM_PFN_WRITE] as number),
  });
  if ((FLAGS[HMM_PFN_DEVICE_PRIVATE] as number) === 0) throw new Error('unreachable');
  return { mm, mni, range };
}

async function destroyWorld(w: World): Promise<void> {
  await mmuIntervalNotifierRemove(w.mni);
  await mmput(w.mm);
}

/** CPU write faults: every page (4 KiB) or one per 2 MiB (THP). */
async function populate(w: World, step: number): Promise<void> {
  await faultInWrite(w.mm, BASE, LEN, step);
  if (w.mm.rssPages !== NR_PAGES) throw new Error(`rss ${w.mm.rssPages}`);
}

/** The mm's own cost: handle_mm_fault(write) on every 4 KiB page, as the fault-in does (Q2). */
async function mmFaultAlone(w: World): Promise<void> {
  await downRead(w.mm.mmapSem);
  await populate(w, PAGE_SIZE);
  upRead(w.mm.mmapSem);
}

/** read_begin, down_read, hmm_range_fault, up_read; checks the page count. */
async function rangeFault(w: World, flags: number): Promise<void> {
  w.range.notifierSeq = await mmuIntervalReadBegin(w.mni);
  await downRead(w.mm.mmapSem);
  const ret = await hmmRangeFault(w.range, flags);
  upRead(w.mm.mmapSem);
  if (ret !== NR_PAGES) throw new Error(`hmm_range_fault returned ${ret}`);
}

const raw = createRawFill(NR_PAGES);

const RAW = 'raw Float64Array fill (262144 entries)';
const SNAP_4K = 'snapshot 1 GiB, 4 KiB pages';
const SNAP_THP = 'snapshot 1 GiB, THP';
const FAULT_4K = 'fault-in 1 GiB from empty, 4 KiB pages (write)';
const FAULT_THP = 'fault-in 1 GiB from empty, THP (write)';
const RESIDENT_4K = 'fault mode (VALID|WRITE requested), 1 GiB already resident, 4 KiB pages';
const RESIDENT_THP = 'fault mode (VALID|WRITE requested), 1 GiB already resident, THP';
const MM_4K = 'handle_mm_fault alone on every page, 4 KiB pages (write)';
const MM_THP = 'handle_mm_fault alone on every 4 KiB page, THP (write)';

/** Fault-in rebuilds a 1 GiB world before each operation: fewer iterations. */
const FAULT_SUITE = { iterations: 5 } as const;

async function main(): Promise<void> {
  const small = createMachine({ ramBytes: RAM_BYTES, thp: 'never', swapPages: 0 });
  const huge = createMachine({ ramBytes: RAM_BYTES, thp: 'always', swapPages: 0 });
  const snap4k = await createWorld(small);
  await populate(snap4k, PAGE_SIZE);
  const snapThp = await createWorld(huge);
  await populate(snapThp, PMD_SIZE);
  const rows = await runSuite('@hmmsim/hmm-range snapshot', [
    [RAW, raw.fill],
    [SNAP_4K, () => rangeFault(snap4k, HMM_FAULT_SNAPSHOT)],
    [SNAP_THP, () => rangeFault(snapThp, HMM_FAULT_SNAPSHOT)],
    [RESIDENT_4K, () => rangeFault(snap4k, 0)],
    [RESIDENT_THP, () => rangeFault(snapThp, 0)],
  ]);
  await destroyWorld(snap4k);
  await destroyWorld(snapThp);

  let fresh: World | undefined;
  const freshWorld = (machine: Machine) => async () => {
    if (fresh !== undefined) await destroyWorld(fresh);
    fresh = await createWorld(machine);
  };
  rows.push(
    ...(await runSuite(
      '@hmmsim/hmm-range fault-in',
      [
        [FAULT_4K, () => rangeFault(fresh as World, 0), freshWorld(small)],
        [MM_4K, () => mmFaultAlone(fresh as World), freshWorld(small)],
      ],
      FAULT_SUITE,
    )),
  );
  if (fresh !== undefined) await destroyWorld(fresh);
  fresh = undefined;
  rows.push(
    ...(await runSuite(
      '@hmmsim/hmm-range fault-in THP',
      [
        [FAULT_THP, () => rangeFault(fresh as World, 0), freshWorld(huge)],
        [MM_THP, () => mmFaultAlone(fresh as World), freshWorld(huge)],
      ],
      FAULT_SUITE,
    )),
  );
  report(rows);
}

function report(rows: Row[]): void {
  const ms = (task: string) => rows.find((r) => r.task === task)?.ms ?? Number.NaN;
  const rawMs = ms(RAW);
  console.table(
    rows.map((r) => ({
      task: r.task,
      'ms/op': r.ms.toFixed(3),
      'ns/page': ((r.ms * 1e6) / NR_PAGES).toFixed(2),
      'Mpages/s': (NR_PAGES / r.ms / 1000).toFixed(2),
      'x raw fill': (rawMs / r.ms).toPrecision(3),
    })),
  );
  const ratio = (task: string) => rawMs / ms(task);
  const line = (task: string, target: string) =>
    console.log(
      `${task}: ${(NR_PAGES / ms(task) / 1000).toFixed(2)} Mpages/s, ${ratio(task).toPrecision(3)}x raw fill (${target})`,
    );
  line(SNAP_4K, 'target >= 0.25x');
  line(SNAP_THP, 'target >= 0.5x');
  console.log(
    `${FAULT_4K}: ${(NR_PAGES / ms(FAULT_4K) / 1000).toFixed(3)} Mpages/s, ${ratio(FAULT_4K).toPrecision(3)}x raw fill, ` +
      `${(ms(SNAP_4K) / ms(FAULT_4K)).toPrecision(3)}x snapshot (target >= 0.2x snapshot)`,
  );
  console.log(
    `${FAULT_THP}: ${(NR_PAGES / ms(FAULT_THP) / 1000).toFixed(3)} Mpages/s, ${ratio(FAULT_THP).toPrecision(3)}x raw fill, ` +
      `${(ms(SNAP_THP) / ms(FAULT_THP)).toPrecision(3)}x snapshot (target >= 0.2x snapshot)`,
  );
  for (const [resident, snap] of [
    [RESIDENT_4K, SNAP_4K],
    [RESIDENT_THP, SNAP_THP],
  ] as const) {
    console.log(
      `${resident}: ${(ms(snap) / ms(resident)).toPrecision(3)}x snapshot (the request check on every entry, no fault needed)`,
    );
  }
  const share = (fault: string, alone: string) =>
    `${((100 * ms(alone)) / ms(fault)).toFixed(0)}% of it is handle_mm_fault itself ` +
    `(hmm_range_fault adds ${(((ms(fault) - ms(alone)) * 1e6) / NR_PAGES).toFixed(0)} ns per page)`;
  console.log(`fault-in, 4 KiB pages: ${share(FAULT_4K, MM_4K)}`);
  console.log(`fault-in, THP: ${share(FAULT_THP, MM_THP)}`);
}

await main();
