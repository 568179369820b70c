import type { DmirrorImpl } from '@hmmsim/dmirror';
import {
  createWorld,
  emptyStats,
  type FuzzRun,
  KNOWN_ISSUES,
  type OpSpec,
  runStep,
} from '../src/index.ts';

/** A fresh run (three processes, regions of 8 and 16 pages each) on `impl`. */
export async function freshRun(impl: DmirrorImpl = 'interval', suppress = true): Promise<FuzzRun> {
  const { world, model } = await createWorld(impl);
  return {
    world,
    model,
    stats: emptyStats(),
    decisionsPerOp: 30,
    trace: false,
    lastTrace: undefined,
    issues: suppress ? KNOWN_ISSUES : [],
    onStep: undefined,
  };
}

/** Run one step: each inner list is one CPU's operations (random schedule, seed 1). */
export function step(run: FuzzRun, ...cpus: OpSpec[][]): Promise<void> {
  return runStep(run, { cpus, schedule: { strategy: 'random', seed: 1 } });
}

/** A range operation's fields: process index, region, first page, pages. */
export function at(proc: number, region: number, page: number, npages: number) {
  return { proc, region, page, npages };
}

/** The message of what `f` throws ('' when it does not). */
export async function thrown(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return '';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
