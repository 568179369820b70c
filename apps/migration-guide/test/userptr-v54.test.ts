/**
 * Chapter 2b's claims about the v5.4 userptr driver: on the legacy hmm_mirror every one of the
 * five invalidations breaks it — four through the seed race (a whole invalidation between
 * hmm_range_fault() and the hmm_range_valid() check under amn->lock, one preemption), migration
 * with no preemption at all (amdgpu's flag table has no device-private bit) — and on the compat
 * shim the same code is clean under munmap, mprotect, reclaim and fork (bound 2, exhausted) while
 * migration still fails the same way.
 */

import { shimHmmMirrorApi } from '@hmmsim/hmm-mirror';
import type { TraceEvent } from '@hmmsim/kernel';
import { createScheduler, EAGAIN, InvalidArgumentError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { findEntry } from '../src/catalog.ts';
import { createGuideWorld, GUIDE_BASE, GUIDE_NPAGES } from '../src/index.ts';
import { type EntryRun, runEntry } from '../src/run.ts';
import { checkUserptrArgs, drmIoctl } from '../src/userptr/common.ts';
import { AmdgpuMn, UserptrV54Driver } from '../src/userptr/v54.ts';

/** Events of `events` matching each [task prefix, pattern on "kind label"] in this order. */
function rowsInOrder(events: readonly TraceEvent[], rows: readonly [string, RegExp][]): number[] {
  const at: number[] = [];
  let i = 0;
  for (const [task, re] of rows) {
    while (
      i < events.length &&
      !(events[i]!.taskName.startsWith(task) && re.test(`${events[i]!.kind} ${events[i]!.label}`))
    )
      i++;
    expect(i, `row ${task} ${re} not found in order`).toBeLessThan(events.length);
    at.push(i++);
  }
  return at;
}

/** The run of `op` in an entry run. */
function runOf(r: EntryRun, op: string) {
  const run = r.runs.find((x) => x.scenario.endsWith(`-${op}`));
  if (run === undefined) throw new Error(`no ${op} scenario`);
  return run.result;
}

describe('userptr-v5.4 on the legacy hmm_mirror: every invalidation breaks it', async () => {
  const entry = findEntry('userptr-v5.4');
  if (entry === undefined) throw new Error('userptr-v5.4 is not in the catalogue');
  const r = await runEntry(entry, { impl: 'legacy' });

  it('is as the catalogue says', () => {
    expect(r.asExpected).toBe(true);
    expect(r.runs.map((x) => x.result.violation !== undefined)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  it('munmap: the seed race, one preemption, the freed page in another process', () => {
    const res = runOf(r, 'munmap');
    const v = res.minimal!;
    expect(v.kind).toBe('invariant');
    expect(v.preemptions).toBe(1);
    expect(v.message).toMatch(
      /stale device mapping: amdgpu-vm page 1 \(0x10001000\) -> pfn \d+ on the device, but the CPU maps nothing there; pfn \d+ now belongs to mm\d+ \(another process\)/,
    );
    // CPU1 looked the pages up and was preempted at amn->lock; CPU0's whole munmap ran (the
    // range marked invalid, then valid again at its end); the check then said valid.
    rowsInOrder(res.trace!.events, [
      // amdgpu_mn_get() of the submission: mn_lock, then mmap_sem for write, for a lookup.
      ['cpu1', /^lock\.acquired adev->mn_lock$/],
      ['cpu1', /^lock\.acquired mmap_sem/],
      ['cpu1', /^lock\.up_write mmap_sem/],
      ['cpu1', /^amdgpu\.get_user_pages hmm_range_fault=2: pfn \d+, pfn \d+$/],
      ['cpu1', /^lock\.down_write amn->lock$/],
      ['cpu0', /^mmu_notifier\.invalidate_range_start UNMAP/],
      ['cpu0', /^amdgpu\.wait_idle jobs using the BO: 0 page/],
      ['cpu0', /^mm\.zap/],
      ['cpu0', /^hmm\.invalidate_end UNMAP .* notifiers=0$/],
      ['cpu1', /^amdgpu\.get_user_pages_done hmm_range_valid=true$/],
      ['cpu1', /^amdgpu\.publish GPU VM rw/],
    ]);
  });

  it('mprotect, reclaim, fork: the same race, one preemption each', () => {
    const m = runOf(r, 'mprotect').minimal!;
    expect([m.kind, m.preemptions]).toEqual(['invariant', 1]);
    expect(m.message).toMatch(
      /device write without CPU write: amdgpu-vm page 0 .* but the CPU maps pfn \d+ read-only/,
    );
    const rc = runOf(r, 'reclaim').minimal!;
    expect([rc.kind, rc.preemptions]).toEqual(['invariant', 1]);
    expect(rc.message).toMatch(
      /stale device mapping: amdgpu-vm page 0 .* now belongs to mm\d+ \(another process\)/,
    );
    const f = runOf(r, 'fork').minimal!;
    expect([f.kind, f.preemptions]).toEqual(['invariant', 1]);
    expect(f.message).toMatch(
      /stale device mapping: amdgpu-vm page 0 .* but the CPU maps pfn \d+ writable there/,
    );
    expect(f.message).toMatch(/now belongs to mm\d+ \(the child\)/);
  });

  it('migrate: no preemption needed, a device-private page handed to the GPU', () => {
    const res = runOf(r, 'migrate');
    const v = res.minimal!;
    expect([v.kind, v.preemptions]).toEqual(['invariant', 0]);
    expect(v.message).toMatch(
      /stale device mapping: amdgpu-vm page 0 \(0x10000000\) -> pfn \d+ on the device, but the CPU maps nothing there$/,
    );
    rowsInOrder(res.trace!.events, [
      ['cpu0', /^migrate migrate_vma_finalize/],
      ['cpu1', /^amdgpu\.get_user_pages hmm_range_fault=2: pfn \d+, pfn \d+$/],
      ['cpu1', /^amdgpu\.get_user_pages_done hmm_range_valid=true$/],
      ['cpu1', /^amdgpu\.publish GPU VM rw/],
    ]);
  });
});

describe('userptr-v5.4 on the compat shim: the race is gone, migration still fails', async () => {
  const entry = findEntry('userptr-v5.4');
  if (entry === undefined) throw new Error('userptr-v5.4 is not in the catalogue');
  const r = await runEntry(entry, { impl: 'shim' });

  it('is as the catalogue says', () => {
    expect(r.asExpected).toBe(true);
  });

  for (const op of ['munmap', 'mprotect', 'reclaim', 'fork']) {
    it(`${op}: clean under every schedule with at most 2 preemptions`, () => {
      const res = runOf(r, op);
      expect(res.violation?.message).toBeUndefined();
      expect(res.exhausted).toBe(true);
      expect(res.bound).toBe(2);
    });
  }

  it('migrate: the same zero-preemption failure as on legacy', () => {
    const v = runOf(r, 'migrate').minimal!;
    expect([v.kind, v.preemptions]).toEqual(['invariant', 0]);
    expect(v.message).toMatch(/^stale device mapping: amdgpu-vm page 0 \(0x10000000\)/);
  });
});

describe('registration', () => {
  it('hmm_mirror_register() without mmap_sem held for write is refused', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new UserptrV54Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    const amn = new AmdgpuMn(d.adev, w.mm);
    await expect(d.adev.api.hmmMirrorRegister(amn, w.mm)).rejects.toThrow(
      /without mmap_sem held for write/,
    );
    expect(await d.bind()).toBe(0); // amdgpuMnGet() takes it
  });

  it('user space reissues an ioctl that answers -EAGAIN, three times in all by default', async () => {
    const w = await createGuideWorld(createScheduler());
    const { maxTries } = checkUserptrArgs('t', w.mm, GUIDE_BASE, GUIDE_NPAGES, {});
    expect(maxTries).toBe(3);
    let calls = 0;
    const again = async () => {
      calls++;
      return calls < 5 ? -EAGAIN : 0;
    };
    expect(await drmIoctl(again, maxTries)).toBe(-EAGAIN);
    expect(calls).toBe(3);
  });
});

describe('UserptrV54Driver refuses bad arguments', () => {
  it('names what was wrong and what it expected', async () => {
    const w = await createGuideWorld(createScheduler());
    const mk =
      (...a: unknown[]) =>
      () =>
        new UserptrV54Driver(...(a as ConstructorParameters<typeof UserptrV54Driver>));
    expect(mk(null, GUIDE_BASE, 2)).toThrow(InvalidArgumentError);
    expect(mk(w.mm, GUIDE_BASE + 1, 2)).toThrow(/not page aligned/);
    expect(mk(w.mm, GUIDE_BASE, 0)).toThrow(/npages/);
    expect(mk(w.mm, GUIDE_BASE, 2, { api: {} })).toThrow(/opts\.api is not an HmmMirrorApi/);
    expect(mk(w.mm, GUIDE_BASE, 2, { maxTries: 0 })).toThrow(/opts\.maxTries/);
    expect(mk(w.mm, GUIDE_BASE, 2, { readonly: 'yes' })).toThrow(
      /opts\.readonly is yes; expected a boolean/,
    );
    expect(mk(w.mm, GUIDE_BASE, 2, null)).toThrow(/opts is null/);
    const d = new UserptrV54Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES, { api: shimHmmMirrorApi });
    expect(() => d.fault('yes' as unknown as boolean)).toThrow(/write is yes; expected a boolean/);
    await expect(drmIoctl(null as never, 3)).rejects.toThrow(
      /ioctl is a null; expected a function/,
    );
    await expect(drmIoctl(async () => 0, 0)).rejects.toThrow(InvalidArgumentError);
  });
});
