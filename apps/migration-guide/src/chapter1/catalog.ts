/**
 * Chapter 1's entry: the seed race itself, on the smallest stage — the v5.4 userptr driver of
 * chapter 2b, one munmap against one command submission — on the v5.4 API and on the compat shim.
 */
import type { Scenario } from '@hmmsim/explorer';
import { legacyHmmMirrorApi, shimHmmMirrorApi } from '@hmmsim/hmm-mirror';
import type { GuideEntry, GuideImpl } from '../catalog-types.ts';
import { guideScenario } from '../harness/scenario.ts';
import { GUIDE_BASE, GUIDE_NPAGES } from '../harness/world.ts';
import { USERPTR_ACCEPTABLE } from '../userptr/catalog.ts';
import { UserptrV54Driver } from '../userptr/v54.ts';

/** The seed race's scenario on `impl`: CPU0 munmaps a page while CPU1 submits a job. */
function seedRace(impl: GuideImpl | undefined): readonly Scenario[] {
  const api = impl === 'shim' ? shimHmmMirrorApi : legacyHmmMirrorApi;
  return [
    guideScenario({
      name: 'guide-why-seed-race-munmap',
      driverText: `the v5.4 userptr driver on ${impl === 'shim' ? 'the compat shim' : 'the v5.4 hmm_mirror API'}`,
      expect: impl === 'shim' ? 'pass' : 'violation',
      driver: (w) => new UserptrV54Driver(w.mm, GUIDE_BASE, GUIDE_NPAGES, { api }),
      op: 'munmap',
      acceptable: USERPTR_ACCEPTABLE,
    }) as Scenario,
  ];
}

/** Every runnable entry of chapter 1. */
export const ENTRIES: readonly GuideEntry[] = [
  {
    id: 'why-seed-race',
    kind: 'example',
    chapter: '01-why-the-api-changed',
    title: 'the seed race: a whole munmap between hmm_range_fault() and hmm_range_valid()',
    file: 'src/userptr/v54.ts',
    impls: ['legacy', 'shim'],
    expect: { legacy: 'violation', shim: 'pass' },
    scenarios: seedRace,
    source:
      'commit 04ec32fbc2b2 "mm/hmm: allow hmm_range to be used with a mmu_interval_notifier or hmm_mirror" (<20191112202231.3856-4-jgg@ziepe.ca>)',
  },
];
