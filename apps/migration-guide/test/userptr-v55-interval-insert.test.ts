/**
 * Chapter 4b, step 2 (62914a99dee5): the fence wait moves into the BO's interval notifier under
 * the new notifier_lock while the submission still checks under amn->lock, and the mirror's
 * callback only takes amn->lock for read and lets go. The explorer finds a stale GPU mapping on
 * both hmm_mirror implementations — on the shim, where v5.4 and step 1 were clean, too: the
 * check passes, the invalidation's wait finds no job yet, then blocks on amn->lock until the job
 * is queued, and the CPU page table changes under it.
 */
import type { TraceEvent } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { findEntry } from '../src/catalog.ts';
import { runEntry } from '../src/run.ts';

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

const entry = findEntry('userptr-v5.5-interval-insert');
if (entry === undefined) throw new Error('userptr-v5.5-interval-insert is not in the catalogue');

describe('userptr-v5.5-interval-insert on the compat shim', async () => {
  const r = await runEntry(entry, { impl: 'shim' });

  it('breaks under every invalidation', () => {
    expect(r.asExpected).toBe(true);
    const got = r.runs.map((x) => [x.result.minimal?.kind, x.result.minimal?.preemptions]);
    expect(got).toEqual([
      ['invariant', 1],
      ['invariant', 1],
      ['invariant', 1],
      ['invariant', 1],
      ['invariant', 0],
    ]);
  });

  it('munmap: the wait under notifier_lock misses the job queued under amn->lock', () => {
    const res = r.runs[0]!.result;
    expect(res.minimal?.message).toMatch(
      /^stale device mapping: amdgpu-vm page 1 \(0x10001000\) -> pfn \d+ on the device, but the CPU maps nothing there/,
    );
    rowsInOrder(res.trace!.events, [
      ['cpu1', /^lock\.acquired amn->lock$/],
      ['cpu1', /^mmu_interval\.read_retry .* -> false$/],
      ['cpu1', /^amdgpu\.get_user_pages_done hmm_range_valid=true$/],
      ['cpu1', /^amdgpu\.publish update the GPU VM/],
      ['cpu0', /^mmu_notifier\.invalidate_range_start UNMAP/],
      ['cpu0', /^lock\.acquired adev->notifier_lock$/],
      ['cpu0', /^amdgpu\.wait_idle jobs using the BO: 0 page/],
      ['cpu0', /^lock\.contended amn->lock$/],
      ['cpu1', /^amdgpu\.publish GPU VM rw/],
      ['cpu1', /^lock\.up_write amn->lock$/],
      ['cpu0', /^mm\.zap/],
    ]);
  });
});

describe('userptr-v5.5-interval-insert on the legacy hmm_mirror', async () => {
  const r = await runEntry(entry, { impl: 'legacy' });
  it('breaks under every invalidation', () => {
    expect(r.asExpected).toBe(true);
    expect(r.runs.every((x) => x.result.minimal?.kind === 'invariant')).toBe(true);
  });
});
