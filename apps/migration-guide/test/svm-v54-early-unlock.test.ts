/**
 * The v5.4 SVM driver with mmap_sem dropped right after hmm_range_fault() (the order amdgpu and
 * the v5.4 usage example use): on the legacy implementation every one of the six invalidation
 * checks breaks it, munmap and mprotect included; on the shim all seven checks are clean.
 * `svm-v5.4-seed-race` is the munmap case alone, the race chapter 1 shows.
 */
import { describe, expect, it } from 'vitest';
import { findEntry, type GuideImpl, minimalTrace, runEntry } from '../src/index.ts';
import { svmViolationsOf } from '../src/svm/catalog.ts';
import { expectRowsInOrder } from './helpers.ts';

/** Rows of `text` matching each pattern, in this order. */

describe('svm-v5.4-early-unlock: mmap_sem dropped before the GPU is programmed', () => {
  for (const impl of ['legacy', 'shim'] as const satisfies readonly GuideImpl[]) {
    it(`on ${impl}: violations exactly in ${svmViolationsOf('svm-v5.4-early-unlock', impl).join(', ') || 'none'}`, async () => {
      const r = await runEntry(findEntry('svm-v5.4-early-unlock')!, { impl });
      const want = svmViolationsOf('svm-v5.4-early-unlock', impl);
      for (const run of r.runs) {
        const check = run.scenario.replace('guide-svm-v5.4-early-unlock-', '');
        if (want.includes(check)) {
          expect(run.result.minimal?.kind, run.scenario).toBe('invariant');
          expect(run.result.minimal?.preemptions, run.scenario).toBe(1);
        } else {
          expect(run.result.violation?.message, run.scenario).toBeUndefined();
          expect(run.result.exhausted, run.scenario).toBe(true);
        }
      }
      if (impl === 'legacy') {
        const mp = r.runs.find((x) => x.scenario.endsWith('-mprotect'))!.result.minimal!;
        expect(mp.message).toMatch(
          /^device write without CPU write: svm-v5\.4-gpu page 0 \(0x10000000\) -> pfn \d+ is writable on the device, but the CPU maps pfn \d+ read-only/,
        );
      }
      expect(r.asExpected).toBe(true);
    });
  }

  it('svm-v5.4-seed-race: munmap frees page 1 between the snapshot and the locked check; the GPU maps it after another process got it', async () => {
    const r = await runEntry(findEntry('svm-v5.4-seed-race')!, { impl: 'legacy' });
    expect(r.runs.map((x) => x.scenario)).toEqual(['guide-svm-v5.4-seed-race-munmap']);
    const run = r.runs[0]!;
    const v = run.result.minimal!;
    expect(v.schedule).toBe('2x7.1');
    expect(v.message).toMatch(
      /^stale device mapping: svm-v5\.4-gpu page 1 \(0x10001000\) -> pfn (\d+) on the device, but the CPU maps nothing there; pfn \1 now belongs to mm\d+ \(another process\) at 0x20000000$/,
    );
    expectRowsInOrder(minimalTrace(run.result), [
      /hmm\.range_register .* valid=true/,
      /driver\.hmm_range_fault returned 2/,
      /lock\.up_read mmap_sem/,
      /lock\.mutex_lock svmm\.mutex/,
      /preempted -> T1/,
      /lock\.down_write mmap_sem/,
      /hmm\.invalidate_start UNMAP 0x10001000-0x10002000/,
      /driver\.pfnclr 0x10001000-0x10002000: 0/,
      /mm\.zap zap PTEs \[0x10001000, 0x10002000\)/,
      /hmm\.invalidate_end UNMAP .*notifiers=0/,
      /mm\.fault handle_mm_fault \[mm\d+\]/,
      /driver\.range_done hmm_range_valid: true/,
      /driver\.pfnmap 0x10000000-0x10002000: pfn \d+ rw, pfn \d+ rw/,
    ]);
    const shim = await runEntry(findEntry('svm-v5.4-seed-race')!, { impl: 'shim' });
    expect(shim.runs[0]!.result.violation).toBeUndefined();
    expect(shim.runs[0]!.result.exhausted).toBe(true);
  });
});
