/**
 * Chapter 5a's claims about the v5.7 and v5.8 SVM drivers: both clean and exhausted under the
 * seven checks; with `devPrivateOwner` naming the GPU, a page the driver moved into its own VRAM
 * is mapped from VRAM without being migrated back; without it (v5.7 nouveau before ed710a6ed797)
 * the GPU fault on that page fails with -EFAULT; another driver's device page is not shown at all
 * and a fault on it fails with -EFAULT (until v5.19). v5.8's request and result bits alias.
 */
import { deviceMirrorViolations } from '@hmmsim/hmm-mirror';
import {
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
} from '@hmmsim/hmm-range/v5.8';
import { createScheduler, EFAULT, InvalidArgumentError, PAGE_SIZE } from '@hmmsim/kernel';
import { devicePrivatePteAt } from '@hmmsim/migrate';
import { describe, expect, it } from 'vitest';
import { createGuideWorld, findEntry, GUIDE_BASE, GUIDE_NPAGES, runEntry } from '../src/index.ts';
import { SVM_CHECK_NAMES } from '../src/svm/catalog.ts';
import { nouveauDmemMigrateVma, vramViolations } from '../src/svm/gpu.ts';
import { SvmmV57 } from '../src/svm/v57.ts';
import { SvmmV58 } from '../src/svm/v58.ts';

describe('svm-v5.7 and svm-v5.8', () => {
  for (const id of ['svm-v5.7', 'svm-v5.8']) {
    it(`${id}: clean and exhausted under the seven checks`, async () => {
      const r = await runEntry(findEntry(id)!);
      expect(r.runs.map((x) => x.scenario)).toEqual(SVM_CHECK_NAMES.map((c) => `guide-${id}-${c}`));
      for (const run of r.runs) {
        expect(run.result.violation?.message, run.scenario).toBeUndefined();
        expect(run.result.exhausted, run.scenario).toBe(true);
      }
    });
  }

  for (const [name, make] of [
    ['v5.7', (mm: never) => new SvmmV57(mm, GUIDE_BASE, GUIDE_NPAGES)],
    ['v5.8', (mm: never) => new SvmmV58(mm, GUIDE_BASE, GUIDE_NPAGES)],
  ] as const) {
    it(`${name}: with devPrivateOwner, a page in the GPU's own VRAM is mapped from VRAM and stays there`, async () => {
      const w = await createGuideWorld(createScheduler());
      const d = make(w.mm as never);
      expect(await d.bind()).toBe(0);
      expect(await d.fault(true)).toBe(0);
      const gpu = d.vmm!;
      expect(await nouveauDmemMigrateVma(gpu, w.mm, GUIDE_BASE, GUIDE_BASE + PAGE_SIZE)).toBe(1);
      expect(d.dev.entry(0)).toBeNull(); // the migration's invalidation cleared the old PTE
      expect(await d.fault(true)).toBe(0);
      const dp = devicePrivatePteAt(w.mm, GUIDE_BASE)!;
      expect(gpu.ownsPage(dp.pfn)).toBe(true);
      expect(gpu.vram.entry(0)).toEqual({ pfn: dp.pfn, write: true });
      expect(gpu.dmem.stats.cpuFaults).toBe(0);
      expect(gpu.dmem.stats.copiedOut).toBe(0);
      expect(vramViolations(gpu, w.mm)).toEqual([]);
      expect(deviceMirrorViolations(d.dev, w.mm)).toEqual([]);
    });
  }

  it('v5.7 without devPrivateOwner (nouveau before ed710a6ed797): the GPU fault on its own VRAM page fails with -EFAULT', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new SvmmV57(w.mm, GUIDE_BASE, GUIDE_NPAGES, { forgetOwner: true });
    expect(await d.bind()).toBe(0);
    const gpu = d.vmm!;
    expect(await nouveauDmemMigrateVma(gpu, w.mm, GUIDE_BASE, GUIDE_BASE + PAGE_SIZE)).toBe(1);
    expect(await d.fault(true)).toBe(-EFAULT);
    expect(gpu.vram.mappedCount()).toBe(0);
    expect(devicePrivatePteAt(w.mm, GUIDE_BASE)).not.toBeNull();
    expect(gpu.dmem.stats.cpuFaults).toBe(0);
  });

  it('v5.7: another driver’s device page is not this GPU’s to map; a fault requested on it fails with -EFAULT', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new SvmmV57(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(await d.bind()).toBe(0);
    expect(await w.devmem.migrateToDevice(w.mm, GUIDE_BASE, GUIDE_BASE + PAGE_SIZE)).toBe(1);
    expect(await d.fault(true)).toBe(-EFAULT);
    expect(d.vmm!.vram.mappedCount() + d.dev.mappedCount()).toBe(0);
    expect(w.devmem.stats.cpuFaults).toBe(0);
  });

  it('v5.8: requests and results share the bits (REQ_FAULT is VALID, REQ_WRITE is WRITE)', () => {
    expect(HMM_PFN_REQ_FAULT).toBe(HMM_PFN_VALID);
    expect(HMM_PFN_REQ_WRITE).toBe(HMM_PFN_WRITE);
  });

  it('refuses bad options', async () => {
    const w = await createGuideWorld(createScheduler());
    expect(() => new SvmmV57(w.mm, GUIDE_BASE, 2, { forgetOwner: 0 as never })).toThrow(
      /forgetOwner is 0; expected a boolean/,
    );
    expect(() => new SvmmV58(w.mm, GUIDE_BASE, 2, { name: 7 as never })).toThrow(
      InvalidArgumentError,
    );
  });
});
