/**
 * Chapter 4b, step 1 (a9ae8731e6e5): moving find_vma() under mmap_sem and taking
 * mmget_not_zero() changes nothing the explorer can see — the model's VMA lookup is one atomic
 * step and its mm is never freed under a reader — so the verdicts are v5.4's: on legacy every
 * invalidation breaks it (the seed race, one preemption; migration, none), on the shim the four
 * races are gone (bound 2, exhausted) and migration still fails.
 */
import { describe, expect, it } from 'vitest';
import { findEntry } from '../src/catalog.ts';
import { runEntry } from '../src/run.ts';

const entry = findEntry('userptr-v5.5-find-vma');
if (entry === undefined) throw new Error('userptr-v5.5-find-vma is not in the catalogue');

describe('userptr-v5.5-find-vma on the legacy hmm_mirror', async () => {
  const r = await runEntry(entry, { impl: 'legacy' });
  it('fails under every invalidation, as v5.4 did', () => {
    expect(r.asExpected).toBe(true);
    const got = r.runs.map((x) => [x.result.minimal?.kind, x.result.minimal?.preemptions]);
    expect(got).toEqual([
      ['invariant', 1],
      ['invariant', 1],
      ['invariant', 1],
      ['invariant', 1],
      ['invariant', 0],
    ]);
    expect(r.runs[0]?.result.minimal?.message).toMatch(/now belongs to mm\d+ \(another process\)/);
  });
});

describe('userptr-v5.5-find-vma on the compat shim', async () => {
  const r = await runEntry(entry, { impl: 'shim' });
  it('is clean under munmap, mprotect, reclaim and fork (bound 2, exhausted); migration fails', () => {
    expect(r.asExpected).toBe(true);
    for (const run of r.runs.slice(0, 4)) {
      expect(run.result.violation?.message, run.scenario).toBeUndefined();
      expect(run.result.exhausted, run.scenario).toBe(true);
    }
    const m = r.runs[4]?.result.minimal;
    expect([m?.kind, m?.preemptions]).toEqual(['invariant', 0]);
  });
});
