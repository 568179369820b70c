/**
 * Chapter 4b, step 3 and the finished v5.5 driver. Step 3 (81fa1af31b5d) is clean under munmap,
 * mprotect, reclaim and fork (bound 2, exhausted) and still hands a device-private page to the
 * GPU after a migration (no preemption needed). The finished driver is clean under all five
 * invalidations (bound 2, exhausted), brings a migrated page back to system memory, and cannot
 * make its check without notifier_lock. The two FIXME pitfalls break under munmap with one
 * preemption, and name the finished driver as their fix.
 */

import { explore, replaySchedule, type Scenario, type Violation } from '@hmmsim/explorer';
import { cpuMappingAt } from '@hmmsim/hmm-mirror';
import { createScheduler, KernelBugError, type TraceEvent } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { findEntry } from '../src/catalog.ts';
import {
  createGuideWorld,
  GUIDE_BASE,
  GUIDE_NPAGES,
  type GuideState,
  guideScenario,
} from '../src/index.ts';
import { runEntry } from '../src/run.ts';
import { USERPTR_ACCEPTABLE } from '../src/userptr/catalog.ts';
import {
  amdgpuTtmTtGetUserPages,
  amdgpuTtmTtGetUserPagesDone,
  UserptrV55Driver,
} from '../src/userptr/v55.ts';

/** Events of `events` matching each [task prefix, pattern on "kind label"] in this order. */
function rowsInOrder(events: readonly TraceEvent[], rows: readonly [string, RegExp][]): void {
  let i = 0;
  for (const [task, re] of rows) {
    const hit = (e: TraceEvent) => e.taskName.startsWith(task) && re.test(`${e.kind} ${e.label}`);
    while (i < events.length && !hit(events[i]!)) i++;
    expect(i, `row ${task} ${re} not found in order`).toBeLessThan(events.length);
    i++;
  }
}

/** The state at the end of the run with no preemption (CPU0's operation first, then CPU1's). */
async function finalStateWithoutPreemption(s: Scenario<GuideState>): Promise<GuideState> {
  let last: GuideState | undefined;
  const watched: Scenario<GuideState> = {
    ...s,
    finalCheck(st) {
      s.finalCheck?.(st);
      last = st;
    },
  };
  const r = await replaySchedule(watched, '', { trace: false });
  expect(r.failure?.message).toBeUndefined();
  if (last === undefined) throw new Error('the run did not finish');
  return last;
}

describe('step 3 (81fa1af31b5d)', async () => {
  const entry = findEntry('userptr-v5.5-interval-notifier');
  if (entry === undefined) throw new Error('userptr-v5.5-interval-notifier is missing');
  const r = await runEntry(entry);

  it('is clean under munmap, mprotect, reclaim and fork (bound 2, exhausted)', () => {
    expect(r.asExpected).toBe(true);
    for (const run of r.runs.slice(0, 4)) {
      expect(run.result.violation?.message, run.scenario).toBeUndefined();
      expect(run.result.exhausted, run.scenario).toBe(true);
    }
  });

  it('hands a device-private page to the GPU after a migration, with no preemption', () => {
    const res = r.runs[4]!.result;
    const v: Violation = res.minimal!;
    expect([v.kind, v.preemptions]).toEqual(['invariant', 0]);
    expect(v.message).toMatch(
      /^stale device mapping: amdgpu-vm page 0 \(0x10000000\) -> pfn (\d+) on the device, but the CPU maps nothing there$/,
    );
    rowsInOrder(res.trace!.events, [
      ['cpu0', /^migrate migrate_vma_finalize/],
      ['cpu1', /^mmu_interval\.read_begin/],
      ['cpu1', /^amdgpu\.get_user_pages hmm_range_fault=2: pfn \d+, pfn \d+$/],
      ['cpu1', /^amdgpu\.get_user_pages_done read_retry=false$/],
      ['cpu1', /^amdgpu\.publish GPU VM rw/],
    ]);
  });
});

describe('the finished v5.5 driver', async () => {
  const entry = findEntry('userptr-v5.5');
  if (entry === undefined) throw new Error('userptr-v5.5 is missing');
  const r = await runEntry(entry);

  it('is clean under all five invalidations (bound 2, exhausted)', () => {
    expect(r.asExpected).toBe(true);
    expect(r.runs.map((x) => x.scenario)).toEqual([
      'guide-userptr-v5.5-munmap',
      'guide-userptr-v5.5-mprotect',
      'guide-userptr-v5.5-reclaim',
      'guide-userptr-v5.5-fork',
      'guide-userptr-v5.5-migrate',
    ]);
    for (const run of r.runs) {
      expect(run.result.violation?.message, run.scenario).toBeUndefined();
      expect(run.result.exhausted, run.scenario).toBe(true);
      expect(run.result.bound).toBe(2);
    }
  });

  it('brings a migrated page back to system memory and maps that page', async () => {
    const st = await finalStateWithoutPreemption(
      guideScenario({
        name: 'userptr-v5.5-migrate-back',
        driverText: 'the finished v5.5 userptr driver',
        expect: 'pass',
        driver: (w) => new UserptrV55Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES),
        op: 'migrate',
        acceptable: USERPTR_ACCEPTABLE,
      }),
    );
    expect(st.faultRet).toBe(0);
    const cpu = cpuMappingAt(st.world.mm, GUIDE_BASE);
    expect(cpu).not.toBeNull();
    expect(st.driver.dev.entry(0)).toEqual({ pfn: cpu?.pfn, write: true });
    expect(st.driver.dev.mappedCount()).toBe(GUIDE_NPAGES);
  });

  it('cannot make its check without notifier_lock (the notifier declares it)', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new UserptrV55Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(await d.bind()).toBe(0);
    expect(await amdgpuTtmTtGetUserPages(d.bo, w.machine.clock.jiffies + 1000)).toBe(0);
    const pages = new Float64Array(GUIDE_NPAGES);
    expect(() => amdgpuTtmTtGetUserPagesDone(d.bo, pages)).toThrow(KernelBugError);
    expect(() => amdgpuTtmTtGetUserPagesDone(d.bo, pages)).not.toThrow(); // range consumed: false
  });
});

describe('the FIXME pitfalls of 81fa1af31b5d', () => {
  for (const id of ['userptr-pitfall-ignore-done', 'userptr-pitfall-publish-before-check']) {
    it(`${id}: a stale GPU mapping under munmap with one preemption; fixed by userptr-v5.5`, async () => {
      const entry = findEntry(id);
      if (entry === undefined) throw new Error(`${id} is missing`);
      expect(entry.kind).toBe('pitfall');
      expect(entry.fixedBy).toBe('userptr-v5.5');
      const munmap = entry.scenarios(undefined)[0]!;
      expect(munmap.name).toBe(`guide-${id}-munmap`);
      const res = await explore(munmap, { strategy: 'dfs', bound: 2 });
      const v = res.minimal!;
      expect([v.kind, v.preemptions]).toEqual(['invariant', 1]);
      expect(v.message).toMatch(
        /^stale device mapping: amdgpu-vm page 1 \(0x10001000\) -> pfn \d+ on the device, but the CPU maps nothing there; pfn \d+ now belongs to mm\d+ \(another process\) at 0x20000000$/,
      );
      rowsInOrder(res.trace!.events, [
        ['cpu1', /^amdgpu\.get_user_pages hmm_range_fault=2/],
        ['cpu0', /^mmu_notifier\.invalidate_range_start UNMAP/],
        ['cpu0', /^mm\.zap/],
        ['cpu1', /^amdgpu\.publish GPU VM rw/],
      ]);
    });
  }
});
