import { createScheduler } from '@hmmsim/kernel';
import { mmuNotifierSynchronize } from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import {
  createGuideWorld,
  findEntry,
  GUIDE_BASE,
  GUIDE_NPAGES,
  type GuideImpl,
  minimalTrace,
  runEntry,
} from '../src/index.ts';
import { svmViolationsOf } from '../src/svm/catalog.ts';
import { SvmmV551 } from '../src/svm/v55-1-notifier.ts';
import { expectChecks, expectRowsInOrder } from './helpers.ts';

/** Rows of `text` matching each pattern, in this order. */

/** Every check of `r` is a violation exactly when `want` names it, and clean + exhausted otherwise. */

describe('port step 1: svm-v5.5-1-notifier', () => {
  for (const impl of ['legacy', 'shim'] as const satisfies readonly GuideImpl[]) {
    it(`on ${impl}: violations exactly in ${svmViolationsOf('svm-v5.5-1-notifier', impl).join(', ') || 'none'}`, async () => {
      const r = await runEntry(findEntry('svm-v5.5-1-notifier')!, { impl });
      expectChecks(r, 'svm-v5.5-1-notifier', svmViolationsOf('svm-v5.5-1-notifier', impl));
      if (impl === 'legacy') {
        const run = r.runs.find((x) => x.scenario.endsWith('-reclaim'))!;
        expect(run.result.minimal!.message).toMatch(
          /^stale device mapping: svm-v5\.5-1-gpu page 0 .* now belongs to mm\d+ \(another process\)/,
        );
        // The plain notifier clears the GPU, hmm's end makes the range valid again, the check passes.
        expectRowsInOrder(minimalTrace(run.result), [
          /driver\.hmm_range_fault returned 2/,
          /hmm\.invalidate_start CLEAR/,
          /driver\.pfnclr 0x10000000-0x10001000: 0/,
          /hmm\.invalidate_end CLEAR .*notifiers=0/,
          /driver\.range_done hmm_range_valid: true/,
          /driver\.pfnmap /,
        ]);
      }
    });
  }

  it('fini forgets the GPU under the mutex and the last put frees the svmm after a grace period', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new SvmmV551(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(await d.bind()).toBe(0);
    expect(await d.fault(true)).toBe(0);
    await d.unbind();
    expect(d.vmm).toBeNull();
    await mmuNotifierSynchronize(w.machine.sched);
    expect(d.freed).toBe(true);
  });
});
