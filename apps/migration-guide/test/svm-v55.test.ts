/**
 * Chapter 4a's claims for steps 2 and 3 (step 1: svm-v55-1.test.ts). Step 2 (20fef4ef84bf: a per-fault interval notifier, the sequence under the svmm
 * mutex) is clean under the six invalidation checks but walks an exited mm when the process exits
 * mid-fault; step 3 (the v5.5 driver: mmget_not_zero, a deadline) is clean under all seven.
 */
import { deviceMirrorViolations } from '@hmmsim/hmm-mirror';
import { createScheduler, PAGE_SIZE } from '@hmmsim/kernel';
import { devicePrivatePteAt } from '@hmmsim/migrate';
import { mmput } from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  createGuideWorld,
  exploreBounded,
  findEntry,
  GUIDE_BASE,
  GUIDE_NPAGES,
  guideScenario,
  minimalTrace,
  runEntry,
} from '../src/index.ts';
import { nouveauDmemMigrateVma, vramViolations } from '../src/svm/gpu.ts';
import { SvmmV551 } from '../src/svm/v55-1-notifier.ts';
import { SvmmV552 } from '../src/svm/v55-2-interval.ts';
import { SvmmV55 } from '../src/svm/v55-3-lifetime.ts';
import { expectChecks, expectRowsInOrder } from './helpers.ts';

/** Rows of `text` matching each pattern, in this order. */

/** Every check of `r` is a violation exactly when `want` names it, and clean + exhausted otherwise. */

describe('port step 2: svm-v5.5-2-interval', () => {
  it('clean and exhausted under the six invalidation checks; the exit check finds the fault path using an mm with no users', async () => {
    const r = await runEntry(findEntry('svm-v5.5-2-interval')!);
    expectChecks(r, 'svm-v5.5-2-interval', ['exit']);
    const run = r.runs.find((x) => x.scenario.endsWith('-exit'))!;
    const v = run.result.minimal!;
    expect(v.kind).toBe('task-error');
    expect(v.preemptions).toBe(1);
    expect(v.message).toMatch(
      /task 'cpu1 device access' threw KernelBugError: BUG: mmu_interval_notifier_insert\(mm\d+\) on an mm that has exited \(mm_users 0\)/,
    );
    expectRowsInOrder(minimalTrace(run.result), [
      /mm\.zap zap PTEs \[0x10000000, 0x10002000\)/,
      /preempted -> T2/,
      /lock\.up_read mmap_sem/, // after the VMA lookup
      /threw KernelBugError: BUG: mmu_interval_notifier_insert/,
    ]);
  });
});

describe('port step 3: svm-v5.5, the v5.5 driver', () => {
  it('clean and exhausted under all seven checks', async () => {
    const r = await runEntry(findEntry('svm-v5.5')!);
    expectChecks(r, 'svm-v5.5', []);
  });

  it('maps a page in its own VRAM from VRAM; another driver’s device page is shown to it and dropped with a warning (no owner check before v5.7)', async () => {
    const sched = createScheduler({ trace: true });
    const w = await createGuideWorld(sched);
    const d = new SvmmV55(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(await d.bind()).toBe(0);
    const gpu = d.vmm!;
    expect(await nouveauDmemMigrateVma(gpu, w.mm, GUIDE_BASE, GUIDE_BASE + PAGE_SIZE)).toBe(1);
    expect(
      await w.devmem.migrateToDevice(w.mm, GUIDE_BASE + PAGE_SIZE, GUIDE_BASE + 2 * PAGE_SIZE),
    ).toBe(1);
    const from = sched.trace.events.length;
    expect(await d.fault(true)).toBe(0);
    const own = devicePrivatePteAt(w.mm, GUIDE_BASE)!;
    expect(gpu.vram.entry(0)).toEqual({ pfn: own.pfn, write: true });
    expect(d.dev.entry(1)).toBeNull();
    expect(gpu.vram.entry(1)).toBeNull();
    const foreign = devicePrivatePteAt(w.mm, GUIDE_BASE + PAGE_SIZE)!;
    expect(w.devmem.owns(foreign.pfn)).toBe(true); // still on the other device
    expect(
      sched.trace.events
        .slice(from)
        .some((e) => e.kind === 'driver.warn' && e.label.includes(`pfn ${foreign.pfn}`)),
    ).toBe(true);
    expect(gpu.dmem.stats.cpuFaults + w.devmem.stats.cpuFaults).toBe(0);
    expect(vramViolations(gpu, w.mm)).toEqual([]);
    expect(deviceMirrorViolations(d.dev, w.mm)).toEqual([]);
  });

  it('at exit: the notifier has no release callback, so the GPU keeps PTEs to the pages exit_mmap() frees', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new SvmmV55(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(await d.bind()).toBe(0);
    expect(await d.fault(true)).toBe(0);
    expect(d.dev.mappedCount()).toBe(2);
    await mmput(w.mm); // the process exits
    expect(w.mm.exited).toBe(true);
    expect(d.dev.mappedCount()).toBe(2);
    expect(deviceMirrorViolations(d.dev, w.mm).map((v) => v.kind)).toEqual(['stale', 'stale']);
  });

  it("the first fault switches the interval tree on, and it cannot land inside reclaim's invalidation (mm_take_all_locks)", async () => {
    const s = guideScenario({
      name: 'guide-svm-v5.5-first-insert-reclaim',
      driverText: "the v5.5 SVM driver, its first fault inserting the mm's first interval notifier",
      expect: 'pass',
      driver: (w) => new SvmmV55(w.mm, GUIDE_BASE, GUIDE_NPAGES),
      op: 'reclaim',
    });
    const r = await exploreBounded(s);
    expect(r.violation?.message).toBeUndefined();
    expect(r.exhausted).toBe(true);
  });

  it('refuses bad options', async () => {
    const w = await createGuideWorld(createScheduler());
    expect(() => new SvmmV552(w.mm, GUIDE_BASE, 2, { name: '' })).toThrow(/non-empty string/);
    expect(() => new SvmmV551(w.mm, GUIDE_BASE, 2, { api: {} as never })).toThrow(
      /expected legacyHmmMirrorApi or shimHmmMirrorApi/,
    );
    await expect(new SvmmV55(w.mm, GUIDE_BASE, 2).fault(1 as never)).rejects.toThrow(
      /write is 1; expected a boolean/,
    );
  });
});
