/**
 * Chapter 2a's claims about the v5.4 SVM driver: on the legacy hmm_mirror implementation the
 * explorer finds the reclaim, copy-on-write (fork, reading GPU) and migration races and nothing
 * else (mmap_sem held until the GPU is programmed shuts munmap, mprotect and fork's write-protect
 * out); on the compat shim all seven checks are clean and exhausted at bound 2. The driver's
 * own pieces (the PTE table, the VRAM conversion) and its argument checks.
 */
import { cpuMappingAt, deviceMirrorViolations, shimHmmMirrorApi } from '@hmmsim/hmm-mirror';
import {
  HMM_PFN_DEVICE_PRIVATE,
  HMM_PFN_ERROR,
  HMM_PFN_NONE,
  HMM_PFN_SPECIAL,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmEntryComplement,
} from '@hmmsim/hmm-range';
import { createScheduler, InvalidArgumentError, PAGE_SIZE } from '@hmmsim/kernel';
import { devicePrivatePteAt } from '@hmmsim/migrate';
import { describe, expect, it } from 'vitest';
import {
  createGuideWorld,
  type EntryRun,
  findEntry,
  GUIDE_BASE,
  GUIDE_NPAGES,
  type GuideImpl,
  minimalTrace,
  runEntry,
} from '../src/index.ts';
import { SVM_CHECK_NAMES, svmScenarios, svmViolationsOf } from '../src/svm/catalog.ts';
import { nouveauDmemMigrateVma, vramViolations } from '../src/svm/gpu.ts';
import { NOUVEAU_SVM_PFN_FLAGS, NOUVEAU_SVM_PFN_VALUES, SvmmV54 } from '../src/svm/v54.ts';
import { expectRowsInOrder } from './helpers.ts';

/** Each implementation's run of svm-v5.4, explored once and shared by the tests below. */
const runs = new Map<GuideImpl, Promise<EntryRun>>();
function svmV54(impl: GuideImpl): Promise<EntryRun> {
  let r = runs.get(impl);
  if (r === undefined) {
    r = runEntry(findEntry('svm-v5.4')!, { impl });
    runs.set(impl, r);
  }
  return r;
}

/** Rows of `text` matching each pattern, in this order (throws naming the first one missing). */

describe('svm-v5.4: the v5.4 SVM driver (mmap_sem held until the GPU is programmed)', () => {
  for (const impl of ['legacy', 'shim'] as const satisfies readonly GuideImpl[]) {
    it(`on ${impl}: violations exactly in ${svmViolationsOf('svm-v5.4', impl).join(', ') || 'none'}; every other check clean and exhausted`, async () => {
      const r = await svmV54(impl);
      const want = svmViolationsOf('svm-v5.4', impl);
      expect(r.runs.map((x) => x.scenario)).toEqual(
        SVM_CHECK_NAMES.map((c) => `guide-svm-v5.4-${c}`),
      );
      for (const run of r.runs) {
        const check = run.scenario.replace('guide-svm-v5.4-', '');
        if (want.includes(check)) {
          expect(run.result.violation?.kind, run.scenario).toBe('invariant');
        } else {
          expect(run.result.violation?.message, run.scenario).toBeUndefined();
          expect(run.result.exhausted, run.scenario).toBe(true);
        }
      }
      expect(r.asExpected).toBe(true);
    });
  }

  it('reclaim on legacy: a whole invalidation between hmm_range_fault() and the locked valid check goes unseen (R1), and the GPU maps a page another process now owns', async () => {
    const r = await svmV54('legacy');
    const run = r.runs.find((x) => x.scenario === 'guide-svm-v5.4-reclaim')!;
    const v = run.result.minimal!;
    expect(v.kind).toBe('invariant');
    expect(v.preemptions).toBe(1);
    expect(v.message).toMatch(
      /^stale device mapping: svm-v5\.4-gpu page 0 \(0x10000000\) -> pfn \d+ on the device, but the CPU maps nothing there; pfn \d+ now belongs to mm\d+ \(another process\) at 0x20000000$/,
    );
    expectRowsInOrder(minimalTrace(run.result), [
      /lock\.down_read mmap_sem/,
      /driver\.hmm_range_fault returned 2/,
      /lock\.mutex_lock svmm\.mutex/,
      /preempted -> T1/,
      /hmm\.invalidate_start CLEAR/,
      /driver\.pfnclr 0x10000000-0x10001000: 0/,
      /hmm\.invalidate_end CLEAR .*notifiers=0/,
      /mm\.fault handle_mm_fault \[mm\d+\]/, // the other process faults the freed page in
      /driver\.range_done hmm_range_valid: true/,
      /driver\.pfnmap 0x10000000-0x10002000: pfn \d+ rw, pfn \d+ rw/,
    ]);
  });

  it('fork with a reading GPU on legacy: copy-on-write replaces the parent page under the GPU; the stale page is the child', async () => {
    const r = await svmV54('legacy');
    const fr = r.runs.find((x) => x.scenario === 'guide-svm-v5.4-fork-read')!.result.minimal!;
    expect(fr.message).toMatch(
      /stale device mapping: svm-v5\.4-gpu page 0 .* but the CPU maps pfn \d+ writable there; pfn \d+ now belongs to mm\d+ \(the child\)/,
    );
    const mig = r.runs.find((x) => x.scenario === 'guide-svm-v5.4-migrate')!.result.minimal!;
    expect(mig.message).toMatch(
      /stale device mapping: svm-v5\.4-gpu page 0 .* the CPU maps nothing there/,
    );
  });

  it('the PTE table: hmm_range_fault() writes the GPU words V=0x1, W=0x2, VRAM=0x10; errors and special pages lose V', () => {
    expect(NOUVEAU_SVM_PFN_FLAGS[HMM_PFN_VALID]).toBe(0x1);
    expect(NOUVEAU_SVM_PFN_FLAGS[HMM_PFN_WRITE]).toBe(0x2);
    expect(NOUVEAU_SVM_PFN_FLAGS[HMM_PFN_DEVICE_PRIVATE]).toBe(0x10);
    expect(NOUVEAU_SVM_PFN_VALUES[HMM_PFN_ERROR]).toBe(hmmEntryComplement(0x1));
    expect(NOUVEAU_SVM_PFN_VALUES[HMM_PFN_NONE]).toBe(0);
    expect(NOUVEAU_SVM_PFN_VALUES[HMM_PFN_SPECIAL]).toBe(hmmEntryComplement(0x1));
  });

  it('v5.4 walks each VMA twice (Q1): the first walk’s VRAM flag becomes a request, and the GPU fault pulls its own VRAM page back to system memory', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new SvmmV54(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(await d.bind()).toBe(0);
    expect(await nouveauDmemMigrateVma(d.gpu, w.mm, GUIDE_BASE, GUIDE_BASE + PAGE_SIZE)).toBe(1);
    expect(devicePrivatePteAt(w.mm, GUIDE_BASE)).not.toBeNull();
    expect(await d.fault(true)).toBe(0);
    expect(d.gpu.dmem.stats.cpuFaults).toBe(1); // migrate_to_ram ran
    expect(devicePrivatePteAt(w.mm, GUIDE_BASE)).toBeNull();
    expect(d.dev.entry(0)).toEqual({ pfn: cpuMappingAt(w.mm, GUIDE_BASE)!.pfn, write: true });
    expect(d.gpu.vram.mappedCount()).toBe(0);
    expect(vramViolations(d.gpu, w.mm)).toEqual([]);
    expect(deviceMirrorViolations(d.dev, w.mm)).toEqual([]);
  });

  it('refuses bad arguments with what it expected', async () => {
    const w = await createGuideWorld(createScheduler());
    expect(() => new SvmmV54(null as never, GUIDE_BASE, 2)).toThrow(InvalidArgumentError);
    expect(() => new SvmmV54(w.mm, GUIDE_BASE + 1, 2)).toThrow(/not page aligned/);
    expect(() => new SvmmV54(w.mm, GUIDE_BASE, 0)).toThrow(InvalidArgumentError);
    expect(() => new SvmmV54(w.mm, GUIDE_BASE, 2, { api: {} as never })).toThrow(
      /expected legacyHmmMirrorApi or shimHmmMirrorApi/,
    );
    expect(
      () => new SvmmV54(w.mm, GUIDE_BASE, 2, { api: shimHmmMirrorApi, holdMmapSem: 1 as never }),
    ).toThrow(/holdMmapSem is 1; expected a boolean/);
    const d = new SvmmV54(w.mm, GUIDE_BASE, 2);
    await expect(d.fault('yes' as never)).rejects.toThrow(/write is yes; expected a boolean/);
    expect(() => svmScenarios('x', 'x', () => d, ['nope'])).toThrow(
      /check 'nope'; expected one of/,
    );
    await expect(d.gpu.pfnmap(GUIDE_BASE, [0], 13.5)).rejects.toThrow(/pageShift 13.5/);
    expect(() => d.gpu.vramPageOf(1)).toThrow(/is not this GPU's VRAM/);
  });
});
