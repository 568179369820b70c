/**
 * @hmmsim/mmu-notifier benchmark: the cost of one single-page invalidation (start + end through
 * the mm's hooks) with n = 1, 10, 100, 1,000 and 10,000 registered non-overlapping interval
 * notifiers, and with n legacy (hlist) notifiers, printed as ratios to n = 1 of the same run.
 * Target: interval at 10,000 <= 25x its cost at 1. Also: does the typed-array interval tree pay
 * against a one-object-per-node tree?
 *
 * Run: pnpm --filter @hmmsim-bench/mmu-notifier bench   (or, from this folder, `pnpm bench`)
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { createMachine, createMm, type MmStruct } from '@hmmsim/mm';
import {
  IntervalTree,
  IT_NIL,
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  MmuNotifier,
  type MmuNotifierOps,
  mmuIntervalNotifierInsert,
  mmuIntervalSetSeq,
  mmuNotifierRegister,
} from '@hmmsim/mmu-notifier';
import {
  runSuite,
  SLOT_BASE,
  SLOT_STRIDE,
  singlePageInvalidator,
  slotAddress,
} from '@hmmsim-bench/common';
import { ObjectIntervalTree } from './object-interval-tree.ts';

const SIZES = [1, 10, 100, 1_000, 10_000] as const;
const BASE = SLOT_BASE; // notifier i covers slot i: one page, with a one-page gap to the next
const STRIDE = SLOT_STRIDE;
const TARGET = 25;

let calls = 0;
const intervalOps: MmuIntervalNotifierOps = {
  invalidate(mni, _range, curSeq) {
    mmuIntervalSetSeq(mni, curSeq);
    calls++;
    return true;
  },
};
const legacyOps: MmuNotifierOps = {
  invalidateRangeStart() {
    calls++;
    return 0;
  },
  invalidateRangeEnd() {
    calls++;
  },
};

/** An mm with n interval notifiers (or n legacy ones). */
async function buildMm(n: number, kind: 'interval' | 'legacy'): Promise<MmStruct> {
  const machine = createMachine({ ramBytes: 4 * 2 ** 20, swapPages: 0 });
  const mm = createMm(machine);
  for (let i = 0; i < n; i++) {
    const ret =
      kind === 'interval'
        ? await mmuIntervalNotifierInsert(
            new MmuIntervalNotifier(),
            mm,
            slotAddress(i),
            PAGE_SIZE,
            intervalOps,
          )
        : await mmuNotifierRegister(new MmuNotifier(legacyOps), mm);
    if (ret !== 0) throw new Error(`registration ${i} failed: ${ret}`);
  }
  return mm;
}

type Row = { task: string; ns: number };

const SUITE = { time: 400, iterations: 200, warmupTime: 100 } as const;

/** The suite's rows in ns per operation. */
async function runBench(name: string, tasks: [string, () => unknown][]): Promise<Row[]> {
  const rows = await runSuite(name, tasks, SUITE);
  return rows.map((r) => ({ task: r.task, ns: r.ms * 1e6 }));
}

/** Insert N intervals into both trees and query single pages: typed arrays vs objects. */
async function treeComparison(): Promise<Row[]> {
  const N = 10_000;
  const typed = new IntervalTree<number>();
  const objects = new ObjectIntervalTree<number>();
  for (let i = 0; i < N; i++) {
    typed.insert(BASE + i * STRIDE, BASE + i * STRIDE + PAGE_SIZE - 1, i);
    objects.insert(BASE + i * STRIDE, BASE + i * STRIDE + PAGE_SIZE - 1, i);
  }
  let sink = 0;
  const queries = 1_000;
  const qTyped = () => {
    for (let q = 0; q < queries; q++) {
      const s = BASE + ((q * 7_919) % N) * STRIDE;
      for (
        let id = typed.iterFirst(s, s + PAGE_SIZE - 1);
        id !== IT_NIL;
        id = typed.iterNext(id, s, s + PAGE_SIZE - 1)
      )
        sink += typed.payload(id);
    }
  };
  const qObjects = () => {
    for (let q = 0; q < queries; q++) {
      const s = BASE + ((q * 7_919) % N) * STRIDE;
      for (
        let n = objects.iterFirst(s, s + PAGE_SIZE - 1);
        n !== null;
        n = objects.iterNext(n, s, s + PAGE_SIZE - 1)
      )
        sink += n.payload as number;
    }
  };
  const buildTyped = () => {
    const t = new IntervalTree<number>();
    for (let i = 0; i < N; i++) t.insert(BASE + i * STRIDE, BASE + i * STRIDE + PAGE_SIZE - 1, i);
    sink += t.size;
  };
  const buildObjects = () => {
    const t = new ObjectIntervalTree<number>();
    for (let i = 0; i < N; i++) t.insert(BASE + i * STRIDE, BASE + i * STRIDE + PAGE_SIZE - 1, i);
    sink += t.root.max;
  };
  const rows = await runBench('interval tree: typed arrays vs objects', [
    ['typed: 1,000 single-page queries, n = 10,000', qTyped],
    ['objects: 1,000 single-page queries, n = 10,000', qObjects],
    ['typed: build n = 10,000', buildTyped],
    ['objects: build n = 10,000', buildObjects],
  ]);
  if (sink === 0) throw new Error('unreachable');
  return rows;
}

async function main(): Promise<void> {
  const tasks: [string, () => unknown][] = [];
  for (const kind of ['interval', 'legacy'] as const) {
    for (const n of SIZES)
      tasks.push([`${kind} n=${n}`, singlePageInvalidator(await buildMm(n, kind), n)]);
  }
  const rows = await runBench('@hmmsim/mmu-notifier single-page invalidation', tasks);
  const ns = (task: string) => rows.find((r) => r.task === task)?.ns ?? Number.NaN;
  console.table(
    SIZES.map((n) => ({
      n,
      'interval ns/op': ns(`interval n=${n}`).toFixed(0),
      'interval x n=1': (ns(`interval n=${n}`) / ns('interval n=1')).toFixed(2),
      'legacy ns/op': ns(`legacy n=${n}`).toFixed(0),
      'legacy x n=1': (ns(`legacy n=${n}`) / ns('legacy n=1')).toFixed(2),
    })),
  );
  const ratio = ns('interval n=10000') / ns('interval n=1');
  console.log(
    `interval notifiers: one single-page invalidation at n = 10,000 costs ${ratio.toFixed(2)}x n = 1 ` +
      `(target <= ${TARGET}x: ${ratio <= TARGET ? 'met' : 'NOT met'})`,
  );
  console.log(
    `legacy notifiers: ${(ns('legacy n=10000') / ns('legacy n=1')).toFixed(0)}x at n = 10,000 ` +
      '(every hlist subscriber is called for every invalidation)',
  );
  const tree = await treeComparison();
  console.table(tree.map((r) => ({ task: r.task, 'us/op': (r.ns / 1000).toFixed(1) })));
  const t = (task: string) => tree.find((r) => r.task.startsWith(task))?.ns ?? Number.NaN;
  console.log(
    `typed-array tree vs object tree: queries ${(t('objects: 1,000') / t('typed: 1,000')).toFixed(2)}x, ` +
      `build ${(t('objects: build') / t('typed: build')).toFixed(2)}x (> 1 = typed arrays faster)`,
  );
  if (calls === 0) throw new Error('no callback ran');
}

await main();
