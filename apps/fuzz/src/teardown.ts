/**
 * The end of a run: every process closes its device files and exits, vmscan reclaims the
 * swap-cache pages nothing maps, and then nothing may be left — every device page back on its
 * free list (calloc = cfree), no mm alive, no swap slot in use, every RAM page but the zero page
 * free — besides the machine-wide invariants.
 */
import { dmirrorRelease } from '@hmmsim/dmirror';
import { mmput, reclaimPage } from '@hmmsim/mm';
import { machineProblems } from './checks/machine-checks.ts';
import type { FuzzRun } from './step.ts';
import { FuzzViolation } from './violation.ts';

/** What is left after every process exited (empty: nothing). */
function leftovers(run: FuzzRun): string[] {
  const { machine, devices } = run.world;
  const out: string[] = [];
  for (const d of devices) {
    if (d.calloc !== d.cfree) out.push(`${d.name}: ${d.calloc - d.cfree} device pages never freed`);
  }
  if (machine.mms.size > 0) out.push(`${machine.mms.size} mm(s) outlived their processes`);
  if (machine.swap.inuse > 0) out.push(`${machine.swap.inuse} swap slot(s) still in use`);
  const pm = machine.phys;
  const used = pm.nrPages - 1 - pm.freeArea.nrFree;
  if (used !== 0) out.push(`${used} RAM page(s) still allocated (besides the zero page)`);
  return out;
}

/**
 * Reclaim the swap-cache pages nothing maps or names any more, as vmscan eventually does: an
 * exit's free_swap_and_cache() leaves the page in the swap cache when it cannot lock it (a
 * racing migration held it) — not a leak. The number reclaimed.
 */
async function reclaimOrphanSwapCache(run: FuzzRun): Promise<number> {
  const machine = run.world.machine;
  const sd = machine.swap;
  let n = 0;
  for (let off = 1; off < sd.nrPages; off++) {
    const pfn = (sd.cachePfn[off] as number) - 1;
    if (pfn < 0 || sd.swapMap[off] !== 0) continue;
    if ((await reclaimPage(machine, pfn)) === 0) n++;
  }
  return n;
}

/**
 * Close and exit every process, let vmscan reclaim what nothing maps, then check that nothing is
 * left. Model helper.
 */
export async function endRun(run: FuzzRun): Promise<void> {
  for (const proc of run.world.procs.values()) {
    for (const f of proc.files) await dmirrorRelease(f);
    await mmput(proc.mm);
  }
  run.world.procs.clear();
  run.model.procs.clear();
  run.stats.orphanSwapCache += await reclaimOrphanSwapCache(run);
  const problems = [...machineProblems(run.world), ...leftovers(run)];
  run.stats.staleCopies += run.world.staleCopies;
  if (problems.length > 0) throw new FuzzViolation(problems, 'end of run: every process exited');
}
