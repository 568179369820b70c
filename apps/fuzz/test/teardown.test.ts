/**
 * The end of a run: a swap-cache page nothing maps and no swap PTE names (what an exit leaves
 * when free_swap_and_cache() finds the page locked) is reclaimed, as vmscan would, and is not a
 * leak; a page still allocated besides it is. Regression for the 1,000,000-operation interval
 * campaign (seed 1) that stopped at 809,867 operations on such a page.
 */
import { addToSwap, allocUserPage, mmPutPage } from '@hmmsim/mm';
import { PG_anon } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import { endRun } from '../src/teardown.ts';
import { freshRun, thrown } from './helpers.ts';

/** An anonymous page in the swap cache, unmapped, whose slot no swap PTE names. */
async function orphanSwapCachePage(run: Awaited<ReturnType<typeof freshRun>>): Promise<number> {
  const machine = run.world.machine;
  const pfn = allocUserPage(machine, 0);
  expect(pfn).toBeGreaterThan(0);
  machine.phys.flags[pfn] = (machine.phys.flags[pfn] as number) | PG_anon;
  expect(addToSwap(machine, pfn)).toBeGreaterThan(0);
  mmPutPage(machine, pfn); // the allocation's reference: only the swap cache holds it now
  return pfn;
}

describe('end of run', () => {
  it('reclaims an orphaned swap-cache page and counts it', async () => {
    const run = await freshRun('interval');
    const pfn = await orphanSwapCachePage(run);
    expect(await thrown(() => endRun(run))).toBe('');
    expect(run.stats.orphanSwapCache).toBe(1);
    expect(run.world.machine.phys.refcount[pfn]).toBe(0);
    expect(run.world.machine.swap.inuse).toBe(0);
  });

  it('still reports a page something keeps a reference to', async () => {
    const run = await freshRun('shim');
    const machine = run.world.machine;
    const pfn = allocUserPage(machine, 0);
    expect(pfn).toBeGreaterThan(0);
    expect(await thrown(() => endRun(run))).toMatch(/1 RAM page\(s\) still allocated/);
  });
});
