/**
 * anon_teardown's third mode (a port addition, not in the kernel test): the same race at the
 * smallest size — CPU0 munmaps page 1 while CPU1 has the device READ two pages — under every
 * schedule with at most two preemptions (the explorer's bounded DFS), checking at every
 * scheduling decision that no device entry is stale. The kernel's loop almost never lands its
 * munmap inside the window that matters; this mode covers the window exhaustively. On the legacy
 * build it finds race R1.
 *
 * Mirrors: model-only (scenarios.ts, explored with @hmmsim/explorer).
 */
import { explore } from '@hmmsim/explorer';
import { teardownRaceScenario } from '../../scenarios.ts';
import { SelftestFailure } from '../failure.ts';
import type { SelftestContext } from '../selftest-case.ts';

/** Preemption bound of the explored mode. Mirrors: model-only. */
export const TEARDOWN_EXPLORE_BOUND = 2;

/** Explore the miniature race on `ctx.impl`; a violation fails the test (R1 on legacy). Mirrors: model-only. */
export async function exploreTeardown(ctx: SelftestContext): Promise<void> {
  const scenario = teardownRaceScenario(ctx.impl);
  const r = await explore(scenario, { bound: TEARDOWN_EXPLORE_BOUND });
  const label = `anon_teardown [explored: 2-page READ vs munmap, <= ${TEARDOWN_EXPLORE_BOUND} preemptions]`;
  const v = r.minimal ?? r.violation;
  if (v === undefined) {
    ctx.log(`${label}: ${r.schedules} schedules${r.exhausted ? ' (all)' : ''}, no stale entry`);
    return;
  }
  const what = `schedule '${v.schedule}' (${v.preemptions} preemption${v.preemptions === 1 ? '' : 's'}): ${v.message}`;
  ctx.log(`${label}: violation after ${r.schedules} schedules; minimal ${what}`);
  ctx.log(`replay: hmmsim explore ${scenario.name} --replay '${v.schedule}'`);
  throw new SelftestFailure(
    `a device READ committed a page the CPU had unmapped: ${what}`,
    ctx.impl === 'legacy' ? 'R1' : undefined,
  );
}
