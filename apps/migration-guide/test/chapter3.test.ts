/**
 * Chapter 3's claims: built on the compat shim, the v5.4 SVM driver is clean under every
 * invalidation; the v5.4 userptr driver is clean under munmap on the shim but still maps a page
 * another driver migrated to its device memory, with no preemption (its flag table, not a race).
 */
import { describe, expect, it } from 'vitest';
import { svmOn, userptrOn } from '../src/chapter3/same-driver.ts';
import { exploreBounded, minimalViolation } from '../src/harness/check.ts';
import { INVALIDATIONS } from '../src/harness/invalidation.ts';
import { guideScenario } from '../src/harness/scenario.ts';
import { GUIDE_BASE, GUIDE_NPAGES } from '../src/harness/world.ts';
import { USERPTR_ACCEPTABLE } from '../src/userptr/catalog.ts';

describe('chapter 3: the compat shim', () => {
  it('the SVM driver built by svmOn(shim): clean under every invalidation, exhausted at bound 2', async () => {
    for (const op of INVALIDATIONS) {
      const s = guideScenario({
        name: `chapter3-svm-shim-${op}`,
        driverText: 'the v5.4 SVM driver on the shim',
        expect: 'pass',
        driver: (w) => svmOn('shim', w.mm, GUIDE_BASE, GUIDE_NPAGES),
        op,
      });
      const r = await exploreBounded(s);
      expect([op, r.violation?.message]).toEqual([op, undefined]);
      expect(r.exhausted).toBe(true);
    }
  });

  it('the same code built by svmOn(legacy) is caught under reclaim', async () => {
    const s = guideScenario({
      name: 'chapter3-svm-legacy-reclaim',
      driverText: 'the v5.4 SVM driver on the v5.4 API',
      expect: 'violation',
      driver: (w) => svmOn('legacy', w.mm, GUIDE_BASE, GUIDE_NPAGES),
      op: 'reclaim',
    });
    expect(minimalViolation(await exploreBounded(s)).message).toMatch(/stale device mapping/);
  });

  it('userptr v5.4 on the shim: munmap clean; migration maps a device-private page, 0 preemptions', async () => {
    const make = (op: 'munmap' | 'migrate') =>
      guideScenario({
        name: `chapter3-userptr-shim-${op}`,
        driverText: 'the v5.4 userptr driver on the shim',
        expect: op === 'munmap' ? 'pass' : 'violation',
        driver: (w) => userptrOn('shim', w.mm, GUIDE_BASE, GUIDE_NPAGES),
        op,
        acceptable: USERPTR_ACCEPTABLE,
      });
    const clean = await exploreBounded(make('munmap'));
    expect(clean.violation?.message).toBeUndefined();
    expect(clean.exhausted).toBe(true);
    const v = minimalViolation(await exploreBounded(make('migrate')));
    expect(v.preemptions).toBe(0);
    expect(v.message).toMatch(
      /stale device mapping: amdgpu-vm page 0 .* but the CPU maps nothing there/,
    );
  });
});
