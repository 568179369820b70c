/**
 * Chapter 5a's claims about the v5.9 SVM driver: clean and exhausted under the seven checks and
 * under its own migration racing a GPU fault; its mm-wide notifier skips the MMU_NOTIFY_MIGRATE
 * invalidations it causes itself (and only those), the migration remapping the GPU to VRAM before
 * the old page is released; a page the CPU maps with a 2 MiB PMD is mapped with one 2 MiB GPU PTE.
 */
import { deviceMirrorViolations } from '@hmmsim/hmm-mirror';
import { createScheduler, downRead, PAGE_SIZE, PMD_SIZE, upRead } from '@hmmsim/kernel';
import { createMigrateVma, devicePrivatePteAt, MIGRATE_VMA_SELECT_SYSTEM } from '@hmmsim/migrate';
import {
  cpuWrite,
  createMachine,
  createMm,
  findVma,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  mmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import { createGuideWorld, findEntry, GUIDE_BASE, GUIDE_NPAGES, runEntry } from '../src/index.ts';
import { SVM_CHECK_NAMES } from '../src/svm/catalog.ts';
import { vramViolations } from '../src/svm/gpu.ts';
import { SvmmV58 } from '../src/svm/v58.ts';
import { SvmmV59 } from '../src/svm/v59.ts';

describe('svm-v5.9: the v5.9 SVM driver', () => {
  it('clean and exhausted under the seven checks and under its own migration racing a GPU fault', async () => {
    const r = await runEntry(findEntry('svm-v5.9')!);
    expect(r.runs.map((x) => x.scenario)).toEqual([
      ...SVM_CHECK_NAMES.map((c) => `guide-svm-v5.9-${c}`),
      'guide-svm-v5.9-own-migrate',
    ]);
    for (const run of r.runs) {
      expect(run.result.violation?.message, run.scenario).toBeUndefined();
      expect(run.result.exhausted, run.scenario).toBe(true);
    }
    expect(r.asExpected).toBe(true);
  });

  it('its own migration: no GPU teardown from the notifier; the migration itself points the GPU at the new VRAM page', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new SvmmV59(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(await d.bind()).toBe(0);
    expect(await d.fault(true)).toBe(0);
    const gpu = d.vmm!;
    const clears = gpu.clears;
    const maps = gpu.maps;
    expect(await d.migrateToVram(GUIDE_BASE, GUIDE_BASE + PAGE_SIZE)).toBe(1);
    expect(gpu.clears).toBe(clears); // the MMU_NOTIFY_MIGRATE of this GPU: skipped
    expect(gpu.maps).toBe(maps + 1); // the migration's own PFNMAP
    const dp = devicePrivatePteAt(w.mm, GUIDE_BASE)!;
    expect(gpu.vram.entry(0)).toEqual({ pfn: dp.pfn, write: true });
    expect(d.dev.entry(0)).toBeNull();
    expect(d.dev.entry(1)).not.toBeNull();
    expect(vramViolations(gpu, w.mm)).toEqual([]);
    expect(deviceMirrorViolations(d.dev, w.mm)).toEqual([]);
  });

  it('the skip is only safe because the migration remaps: a migration of this GPU’s that does not leaves the GPU on the freed page', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new SvmmV59(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(await d.bind()).toBe(0);
    expect(await d.fault(true)).toBe(0);
    const gpu = d.vmm!;
    const old = d.dev.entry(0)!.pfn;
    await downRead(w.mm.mmapSem);
    const args = createMigrateVma(findVma(w.mm, GUIDE_BASE)!, GUIDE_BASE, GUIDE_BASE + PAGE_SIZE);
    args.pgmapOwner = gpu.owner; // announced as this GPU's migration...
    args.flags = MIGRATE_VMA_SELECT_SYSTEM;
    expect(await gpu.dmem.migrateChunk(args, 'to-device', { version: '5.9' })).toBe(1); // ...but no remap
    upRead(w.mm.mmapSem);
    expect(d.dev.entry(0)).toEqual({ pfn: old, write: true });
    expect(deviceMirrorViolations(d.dev, w.mm).map((v) => v.kind)).toEqual(['stale']);
  });

  it('another driver’s MMU_NOTIFY_MIGRATE (another owner) still tears the GPU’s PTEs down', async () => {
    const w = await createGuideWorld(createScheduler());
    const d = new SvmmV59(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(await d.bind()).toBe(0);
    expect(await d.fault(true)).toBe(0);
    const clears = d.vmm!.clears;
    await downRead(w.mm.mmapSem);
    const args = createMigrateVma(findVma(w.mm, GUIDE_BASE)!, GUIDE_BASE, GUIDE_BASE + PAGE_SIZE);
    args.pgmapOwner = w.devmem.pgmap.owner;
    args.flags = MIGRATE_VMA_SELECT_SYSTEM;
    expect(await w.devmem.migrateChunk(args, 'to-device', { version: '5.9' })).toBe(1);
    upRead(w.mm.mmapSem);
    expect(d.vmm!.clears).toBeGreaterThan(clears);
    expect(d.dev.entry(0)).toBeNull();
    expect(deviceMirrorViolations(d.dev, w.mm)).toEqual([]);
  });

  it('the map order: a THP the CPU maps with a PMD is mapped with one 2 MiB GPU PTE (v5.8: 32 windows of 16 pages)', async () => {
    for (const [make, maps, large] of [
      [SvmmV59, 1, 1],
      [SvmmV58, 32, 0],
    ] as const) {
      const machine = createMachine({
        ramBytes: 16 * 2 ** 20,
        thp: 'always',
        sched: createScheduler(),
      });
      const mm = createMm(machine);
      const addr = await mmap(
        mm,
        0,
        2 * PMD_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
      );
      const huge = Math.ceil(addr / PMD_SIZE) * PMD_SIZE;
      expect((await cpuWrite(mm, huge, new Uint8Array([1]))).ok).toBe(true);
      const d = new make(mm, huge, PMD_SIZE / PAGE_SIZE);
      expect(await d.bind()).toBe(0);
      expect(await d.fault(true)).toBe(0);
      expect(d.vmm!.maps).toBe(maps);
      expect(d.vmm!.largeMaps).toBe(large);
      expect(d.dev.mappedCount()).toBe(512);
      expect(deviceMirrorViolations(d.dev, mm)).toEqual([]);
    }
  });
});
