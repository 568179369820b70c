/**
 * The in-run baseline below every implementation: hmm_range_fault() on the same range with no
 * notifier at all (the legacy path with a bare per-mm handle and `valid` always true), no
 * registration, no driver lock and no device page table — the page walk itself.
 */
import { driverRange, setRequests } from '@hmmsim/hmm-mirror';
import { HMM_FAULT_SNAPSHOT, type HmmRange, hmmRangeFault } from '@hmmsim/hmm-range';
import { downRead, upRead } from '@hmmsim/kernel';
import type { FaultMode } from './fault-mode.ts';
import type { FaultWorld } from './fault-world.ts';

/** A range over the world's mapping that hmm_range_fault() accepts without any notifier. */
export function bareRange(w: FaultWorld): HmmRange {
  const range = driverRange(w.start, w.npages);
  range.hmm = { mmuNotifier: { mm: w.mm } };
  range.valid = true;
  return range;
}

/** One bare hmm_range_fault() of the whole range in `mode`; throws unless every page was done. */
export async function bareWalk(w: FaultWorld, range: HmmRange, mode: FaultMode): Promise<void> {
  if (mode !== 'snapshot') setRequests(range, mode === 'fault-write');
  await downRead(w.mm.mmapSem);
  const ret = await hmmRangeFault(range, mode === 'snapshot' ? HMM_FAULT_SNAPSHOT : 0);
  upRead(w.mm.mmapSem);
  if (ret !== w.npages)
    throw new Error(`bare hmm_range_fault returned ${ret}, expected ${w.npages}`);
}
