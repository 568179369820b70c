/**
 * Chapter 6, part 2: the pitfalls that end in a deadlock or a "sleeping in atomic context" bug —
 * read_begin under the driver lock (with and without lockdep's help), remove under the lock,
 * the notifier changed from inside its own callback, a non-blockable invalidation that sleeps —
 * and the reference driver clean in the same scenarios (bound 2, exhausted).
 */
import { explore, type Scenario } from '@hmmsim/explorer';
import { KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import {
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  mmap,
  munmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import {
  MmuIntervalNotifier,
  MmuNotifier,
  mmuIntervalNotifierInsert,
  mmuNotifierRegister,
} from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import { exploreBounded, GUIDE_BOUND, minimalViolation } from '../src/harness/check.ts';
import type { GuideState } from '../src/harness/scenario.ts';
import { GUIDE_BASE, GUIDE_NPAGES } from '../src/harness/world.ts';
import { ReadBeginUnderLockDriver } from '../src/pitfalls/read-begin-under-lock.ts';
import { Dmirror } from '../src/pitfalls/reference.ts';
import { RemoveUnderLockDriver } from '../src/pitfalls/remove-under-lock.ts';
import { pitfallScenario } from '../src/pitfalls/scenarios.ts';
import { entry, expectInOrder, exploreOnly, rows } from './helpers.ts';

describe('pitfall-read-begin-under-lock', () => {
  it('a deadlock between the fault path and an invalidation of the same window', async () => {
    const r = await exploreOnly('pitfall-read-begin-under-lock');
    const v = minimalViolation(r);
    expect(v.kind).toBe('deadlock');
    expect(v.preemptions).toBe(1);
    // The waits-for cycle: cpu0 waits for the mutex cpu1 holds; cpu1 waits for the window
    // cpu0's invalidation keeps open.
    expect(v.message).toContain(
      "T1 'cpu0 munmap' sleeps on mutex dmirror.mutex: mutex_lock: owned by 'cpu1 device access'",
    );
    expect(v.message).toContain("T2 'cpu1 device access' sleeps on waitqueue mmn_mm.wq (mm1)");
    expectInOrder(rows(r), [
      // cpu0's munmap opens the window (its callback has not run yet) …
      /^cpu0 munmap: mmu_notifier\.invalidate_range_start UNMAP/,
      // … cpu2's reclaim joins it, and its callback records the window's sequence
      /^cpu2 reclaim: mmu_interval\.set_seq seq=3$/,
      // cpu1 takes the mutex and read_begin finds its notifier inside the open window: it sleeps
      /^cpu1 device access: lock\.acquired dmirror\.mutex$/,
      /^cpu1 device access: wait\.wait_event mmn_mm\.wq$/,
      // cpu0's callback needs the mutex to close the window
      /^cpu0 munmap: lock\.contended dmirror\.mutex$/,
    ]);
  });

  it('the fix (pitfall-reference-overlap) is clean: bound 2, exhausted', async () => {
    const r = await exploreOnly('pitfall-reference-overlap');
    expect(r.violation?.message).toBeUndefined();
    expect(r.exhausted).toBe(true);
  });

  it('with lockdep (ops.userLock), the first call is reported, even with no contention', async () => {
    const s = pitfallScenario(
      'pitfall-read-begin-under-lock-lockdep',
      'munmap',
      (w) =>
        new ReadBeginUnderLockDriver(w.mm, GUIDE_BASE, GUIDE_NPAGES, {
          devmem: w.devmem,
          lockdep: true,
        }),
      'ReadBeginUnderLockDriver with lockdep',
      'violation',
    );
    const v = minimalViolation(await exploreBounded(s));
    expect(v.kind).toBe('task-error');
    expect(v.preemptions).toBe(0);
    expect(v.message).toMatch(
      /lockdep: mmu_interval_read_begin\(\) called by task 'cpu1 device access' while holding mutex dmirror\.mutex, which an invalidate callback takes/,
    );
  });
});

describe('pitfall-remove-under-lock with lockdep', () => {
  it('remove() with the mutex held is reported at the first close', async () => {
    const s = pitfallScenario(
      'pitfall-remove-under-lock-lockdep',
      'munmap-close',
      (w) =>
        new RemoveUnderLockDriver(w.mm, GUIDE_BASE, GUIDE_NPAGES, {
          devmem: w.devmem,
          lockdep: true,
        }),
      'RemoveUnderLockDriver with lockdep',
      'violation',
    );
    const v = minimalViolation(await exploreBounded(s));
    expect(v.kind).toBe('task-error');
    expect(v.preemptions).toBe(0);
    expect(v.message).toMatch(
      /lockdep: mmu_interval_notifier_remove\(\) called by task 'cpu1 device access' while holding mutex dmirror\.mutex/,
    );
  });

  it('the reference driver gives lockdep nothing to report (munmap-close, bound 2, exhausted)', async () => {
    const s = pitfallScenario(
      'pitfall-reference-lockdep',
      'munmap-close',
      (w) => new Dmirror(w.mm, GUIDE_BASE, GUIDE_NPAGES, { devmem: w.devmem, lockdep: true }),
      'Dmirror with lockdep',
      'pass',
    );
    const r = await exploreBounded(s);
    expect(r.violation?.message).toBeUndefined();
    expect(r.exhausted).toBe(true);
  });
});

describe('pitfall-notifier-in-invalidate', () => {
  it('remove() from the callback waits for the window the callback itself holds open', async () => {
    const r = await exploreOnly('pitfall-notifier-in-invalidate');
    const v = minimalViolation(r);
    expect(v.kind).toBe('deadlock');
    expect(v.preemptions).toBe(0);
    expect(v.message).toContain("T1 'cpu0 munmap' sleeps on waitqueue mmn_mm.wq (mm1)");
    expectInOrder(rows(r), [
      /^cpu0 munmap: mmu_interval\.invalidate .*UNMAP 0x10001000-0x10002000/,
      /^cpu0 munmap: mmu_interval\.set_seq seq=3$/,
      /^cpu0 munmap: lock\.mutex_unlock dmirror\.mutex$/,
      /^cpu0 munmap: wait\.wait_event mmn_mm\.wq$/,
    ]);
    // the window never ends: no invalidate_range_end, no zap of page 1
    expect(rows(r).some((x) => /^cpu0 munmap: mmu_notifier\.invalidate_range_end/.test(x))).toBe(
      false,
    );
  });

  it('insert() alone, on an mm whose interval tree is on: deferred to the end of the window, no deadlock in this model', async () => {
    const machine = createMachine({ ramBytes: 2 ** 20, thp: 'never' });
    const mm = createMm(machine);
    const rw = PROT_READ | PROT_WRITE;
    expect(await mmap(mm, GUIDE_BASE, 2 * PAGE_SIZE, rw, MAP_PRIVATE | MAP_ANONYMOUS)).toBe(
      GUIDE_BASE,
    );
    expect((await cpuWrite(mm, GUIDE_BASE, new Uint8Array(2 * PAGE_SIZE))).ok).toBe(true);
    const late = new MmuIntervalNotifier();
    let deferredInCallback: boolean | undefined;
    const first = new MmuIntervalNotifier();
    expect(
      await mmuIntervalNotifierInsert(first, mm, GUIDE_BASE, 2 * PAGE_SIZE, {
        async invalidate() {
          if (late.state === 'idle') {
            expect(
              await mmuIntervalNotifierInsert(late, mm, GUIDE_BASE, PAGE_SIZE, {
                invalidate: async () => true,
              }),
            ).toBe(0);
            deferredInCallback = late.deferred;
          }
          return true;
        },
      }),
    ).toBe(0);
    expect(await munmap(mm, GUIDE_BASE + PAGE_SIZE, PAGE_SIZE)).toBe(0);
    // Linked when the window ended: what mmu_interval_notifier_insert_safe() relied on. The
    // kernel's insert() still declares might_lock(mmap_sem), which lockdep reports here
    // (munmap holds it); this model does not check might_lock.
    expect(deferredInCallback).toBe(true);
    expect(late.deferred).toBe(false);
    expect(late.state).toBe('inserted');
  });

  it('insert() that has to switch the interval tree on takes mmap_sem, which munmap holds: recursive locking', async () => {
    const machine = createMachine({ ramBytes: 2 ** 20, thp: 'never' });
    const mm = createMm(machine);
    const rw = PROT_READ | PROT_WRITE;
    expect(await mmap(mm, GUIDE_BASE, 2 * PAGE_SIZE, rw, MAP_PRIVATE | MAP_ANONYMOUS)).toBe(
      GUIDE_BASE,
    );
    expect((await cpuWrite(mm, GUIDE_BASE, new Uint8Array(2 * PAGE_SIZE))).ok).toBe(true);
    // A plain mmu_notifier (nouveau's v5.5 shape) whose callback inserts the mm's first interval
    // notifier.
    let error: unknown;
    const mn = new MmuNotifier({
      async invalidateRangeStart() {
        try {
          await mmuIntervalNotifierInsert(new MmuIntervalNotifier(), mm, GUIDE_BASE, PAGE_SIZE, {
            invalidate: async () => true,
          });
        } catch (e) {
          error = e;
        }
        return 0;
      },
    });
    expect(await mmuNotifierRegister(mn, mm)).toBe(0);
    expect(await munmap(mm, GUIDE_BASE + PAGE_SIZE, PAGE_SIZE)).toBe(0);
    expect(error).toBeInstanceOf(KernelBugError);
    expect(String(error)).toMatch(/possible recursive locking: down_write\(mmap_sem\)/);
  });
});

describe('pitfall-block-in-nonblockable', () => {
  it("the OOM reaper's non-blockable invalidation reaches a callback that sleeps", async () => {
    const r = await exploreOnly('pitfall-block-in-nonblockable');
    const v = minimalViolation(r);
    expect(v.kind).toBe('task-error');
    expect(v.preemptions).toBe(0);
    expect(v.message).toMatch(
      /^task 'cpu2 oom reaper' threw KernelBugError: BUG: mmu_interval_notifier invalidate callback slept in a non-blockable invalidation/,
    );
    expect(v.message).toMatch(
      /mutex_lock\(dmirror\.mutex\) in task 'cpu2 oom reaper' .* with preemptCount=1/,
    );
  });

  it('the fix (pitfall-reference-oom) is clean, and refuses the reaper while the mutex is held', async () => {
    const [s] = entry('pitfall-reference-oom').scenarios(undefined);
    let runs = 0;
    let refusedRuns = 0;
    const r = await explore(s as Scenario<GuideState>, {
      strategy: 'dfs',
      bound: GUIDE_BOUND,
      onSchedule: (state) => {
        runs++;
        if (state.driver instanceof Dmirror && state.driver.stats.refused > 0) refusedRuns++;
      },
    });
    expect(r.violation?.message).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(runs).toBe(r.schedules);
    // In those runs the callback answered false and the reaper got -EAGAIN (and tried again).
    expect(refusedRuns).toBe(135);
    expect(runs).toBe(1310);
    console.log(
      `pitfall-reference-oom: the callback refused the reaper in ${refusedRuns} of ${runs} schedules`,
    );
  });
});
