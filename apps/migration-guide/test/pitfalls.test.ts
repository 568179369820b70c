/**
 * Chapter 6, part 1: the reference driver is clean in every scenario its pitfalls are shown in
 * (bound 2, exhausted), each mutant is the reference with one function changed, and the first
 * pitfalls — set_seq forgotten, read_retry outside the lock, read_begin after the fault, remove
 * under the lock, requests not rewritten — are found, with the rows of the minimal trace that
 * make the story.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '@hmmsim/kernel';
import { createMachine, createMm } from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import { exploreBounded, minimalViolation } from '../src/harness/check.ts';
import { GUIDE_BASE, GUIDE_NPAGES } from '../src/harness/world.ts';
import { ENTRIES } from '../src/pitfalls/catalog.ts';
import { Dmirror } from '../src/pitfalls/reference.ts';
import { oomReapRange, pitfallScenario } from '../src/pitfalls/scenarios.ts';
import { extractRegion, lineDiff } from '../src/snippets/regions.ts';
import { GUIDE_ROOT } from '../src/snippets/render.ts';
import { entry, expectInOrder, exploreOnly, rows } from './helpers.ts';

/** The entry `id` (the test fails if it is missing). */

/** Explore the entry's only scenario at bound 2. */

/** The minimal trace as 'task: kind label' rows. */

/** Each pattern matches a row, in this order (other rows may come between). */

describe('the reference driver (pitfall-reference)', () => {
  for (const s of entry('pitfall-reference').scenarios(undefined)) {
    it(`${s.name}: clean, exhausted at bound 2`, async () => {
      const r = await exploreBounded(s);
      expect(r.violation?.message).toBeUndefined();
      expect(r.exhausted).toBe(true);
      expect(r.bound).toBe(2);
    });
  }
});

describe('each mutant is the reference with one function changed', () => {
  /** The region each pitfall changes. */
  const CHANGED: Readonly<Record<string, string>> = {
    'pitfall-forgot-set-seq': 'invalidate',
    'pitfall-retry-outside-lock': 'range-fault',
    'pitfall-begin-after-fault': 'range-fault',
    'pitfall-read-begin-under-lock': 'range-fault',
    'pitfall-remove-under-lock': 'release',
    'pitfall-notifier-in-invalidate': 'invalidate',
    'pitfall-block-in-nonblockable': 'invalidate',
    'pitfall-stale-hmm-pfns': 'range-fault',
    'pitfall-v57-return-check': 'range-fault',
    'pitfall-no-dev-private-owner': 'range-fault',
    'pitfall-unbounded-retry': 'range-fault',
    'pitfall-mmap-sem-across-program': 'range-fault',
  };
  const read = (file: string) => readFileSync(join(GUIDE_ROOT, file), 'utf8');
  const reference = read('src/pitfalls/reference.ts');

  it('every pitfall of the catalogue is listed here', () => {
    const pitfalls = ENTRIES.filter((e) => e.kind === 'pitfall').map((e) => e.id);
    expect(pitfalls.sort()).toEqual(Object.keys(CHANGED).sort());
  });

  for (const [id, region] of Object.entries(CHANGED)) {
    it(`${id}: only region '${region}', a few lines apart`, () => {
      const mutant = read(entry(id).file);
      // The function's region (and, for the fault path, its two parts), nothing else.
      const regions = [...mutant.matchAll(/\/\/ #region (\S+)/g)].map((m) => m[1]);
      expect(regions).toEqual(
        region === 'range-fault' ? ['range-fault', 'fault-setup', 'fault-loop'] : [region],
      );
      const diff = lineDiff(
        extractRegion(reference, region, 'reference.ts'),
        extractRegion(mutant, region, id),
      )
        .split('\n')
        .filter((l) => l.startsWith('+') || l.startsWith('-'));
      expect(diff.length).toBeGreaterThan(0);
      expect(diff.length).toBeLessThanOrEqual(12);
    });
  }
});

describe('pitfall-forgot-set-seq', () => {
  it('a stale device entry for a page another process now owns; the read_retry that should have failed', async () => {
    const r = await exploreOnly('pitfall-forgot-set-seq');
    const v = minimalViolation(r);
    expect(v.kind).toBe('invariant');
    expect(v.preemptions).toBe(1);
    expect(v.message).toMatch(
      /^stale device mapping: dmirror page 1 \(0x10001000\) -> pfn \d+ on the device, but the CPU maps nothing there; pfn \d+ now belongs to mm\d+ \(another process\)/,
    );
    expectInOrder(rows(r), [
      /^cpu1 device access: mmu_interval\.read_begin seq=1$/,
      /^cpu1 device access: hmm\.range_fault v5\.8 .* -> 0$/,
      /^cpu0 munmap: mmu_interval\.invalidate .*UNMAP 0x10001000-0x10002000/,
      /^cpu0 munmap: dmirror\.invalidate drop device entries/,
      /^cpu0 munmap: mm\.zap/,
      /^cpu1 device access: mmu_interval\.read_retry seq=1 \(now 1\) -> false$/,
      /^cpu1 device access: dmirror\.program page 1 -> pfn \d+ rw$/,
    ]);
    expect(rows(r).some((x) => x.includes('mmu_interval.set_seq'))).toBe(false);
  });
});

describe('pitfall-retry-outside-lock', () => {
  it('the invalidation runs between the check and the mutex', async () => {
    const r = await exploreOnly('pitfall-retry-outside-lock');
    const v = minimalViolation(r);
    expect(v.kind).toBe('invariant');
    expect(v.message).toMatch(/^stale device mapping: dmirror page 1 .*\(another process\)/);
    expectInOrder(rows(r), [
      /^cpu1 device access: mmu_interval\.read_retry seq=1 \(now 1\) -> false$/,
      /^cpu1 device access: lock\.mutex_lock dmirror\.mutex$/,
      /^cpu0 munmap: mmu_interval\.set_seq seq=3$/,
      /^cpu0 munmap: mm\.zap/,
      /^cpu1 device access: lock\.acquired dmirror\.mutex$/,
      /^cpu1 device access: dmirror\.program page 1 -> pfn \d+ rw$/,
    ]);
  });
});

describe('pitfall-begin-after-fault', () => {
  it('the sequence is sampled after the invalidation it should have caught', async () => {
    const r = await exploreOnly('pitfall-begin-after-fault');
    const v = minimalViolation(r);
    expect(v.kind).toBe('invariant');
    expect(v.message).toMatch(/^stale device mapping: dmirror page 1 .*\(another process\)/);
    expectInOrder(rows(r), [
      // the first pass has no sequence yet: hmm_range_fault() refuses it
      /^cpu1 device access: hmm\.range_fault v5\.8 .* -> -16$/,
      /^cpu1 device access: mmu_interval\.read_begin seq=1$/,
      // the second pass walks with the sequence of before it: fine so far
      /^cpu1 device access: hmm\.range_fault v5\.8 .* seq=1 \(now 1\) -> 0$/,
      // the munmap runs before the late read_begin, which then samples its sequence
      /^cpu0 munmap: mmu_interval\.set_seq seq=3$/,
      /^cpu1 device access: mmu_interval\.read_begin seq=3$/,
      /^cpu1 device access: mmu_interval\.read_retry seq=3 \(now 3\) -> false$/,
      /^cpu1 device access: dmirror\.program page 1 -> pfn \d+ rw$/,
    ]);
  });
});

describe('pitfall-remove-under-lock', () => {
  it('a deadlock: remove waits for the window, the callback waits for the mutex', async () => {
    const r = await exploreOnly('pitfall-remove-under-lock');
    const v = minimalViolation(r);
    expect(v.kind).toBe('deadlock');
    expect(v.preemptions).toBe(1);
    expect(v.message).toContain(
      "T1 'cpu0 munmap' sleeps on mutex dmirror.mutex: mutex_lock: owned by 'cpu1 device access'",
    );
    expect(v.message).toContain("T2 'cpu1 device access' sleeps on waitqueue mmn_mm.wq (mm1)");
    expectInOrder(rows(r), [
      // the munmap's window is open and its callback is about to take the mutex
      /^cpu0 munmap: mmu_interval\.invalidate .*UNMAP/,
      /^cpu0 munmap: lock\.mutex_lock dmirror\.mutex$/,
      // the file is closed: mutex taken, then remove() waits for the window to end
      /^cpu1 device access: lock\.acquired dmirror\.mutex$/,
      /^cpu1 device access: wait\.wait_event mmn_mm\.wq$/,
      /^cpu0 munmap: lock\.contended dmirror\.mutex$/,
    ]);
  });
});

describe('pitfall-stale-hmm-pfns', () => {
  it('a read of a read-only range fails with -EPERM: the old results asked for write', async () => {
    const r = await exploreOnly('pitfall-stale-hmm-pfns');
    const v = minimalViolation(r);
    expect(v.kind).toBe('final-check');
    expect(v.message).toBe('the device access returned -1');
    expectInOrder(rows(r), [
      /^cpu1 device access: hmm\.range_fault v5\.8 .* -> 0$/,
      /^cpu0 mprotect: mmu_interval\.set_seq/,
      /^cpu1 device access: mmu_interval\.read_retry seq=1 \(now 3\) -> true$/,
      /^cpu1 device access: hmm\.range_fault v5\.8 .* -> -1$/,
    ]);
  });
});

describe('bad input', () => {
  const mm = createMm(createMachine({ ramBytes: 2 ** 20, thp: 'never' }));
  it('the driver constructor names what was wrong', () => {
    expect(() => new Dmirror({} as never, GUIDE_BASE, GUIDE_NPAGES)).toThrow(InvalidArgumentError);
    expect(() => new Dmirror(mm, GUIDE_BASE + 1, GUIDE_NPAGES)).toThrow(/not page aligned/);
    expect(() => new Dmirror(mm, GUIDE_BASE, 0)).toThrow(/npages/);
    expect(() => new Dmirror(mm, GUIDE_BASE, 2, null as never)).toThrow(
      /Dmirror: opts is null; expected an options object/,
    );
    expect(() => new Dmirror(mm, GUIDE_BASE, 2, { devmem: 'vram' as never })).toThrow(
      /opts\.devmem is vram; expected a TestDevice/,
    );
    expect(() => new Dmirror(mm, GUIDE_BASE, 2, { lockdep: 1 as never })).toThrow(
      /opts\.lockdep is 1; expected a boolean/,
    );
  });
  it('fault() wants a boolean', async () => {
    const d = new Dmirror(mm, GUIDE_BASE, 2);
    await expect(d.fault('yes' as never)).rejects.toThrow(
      /Dmirror\.fault: write is yes; expected a boolean/,
    );
  });
  it('scenario builders and the reaper check their arguments', async () => {
    const make = (w: Parameters<Parameters<typeof pitfallScenario>[2]>[0]) =>
      new Dmirror(w.mm, GUIDE_BASE, GUIDE_NPAGES);
    expect(() => pitfallScenario('x', 'exit' as never, make, 'd', 'pass')).toThrow(
      /pitfallScenario: shape 'exit'; expected one of munmap, mprotect/,
    );
    expect(() => pitfallScenario('x', 'munmap', 'd' as never, 'd', 'pass')).toThrow(
      /expected a function/,
    );
    expect(() => pitfallScenario('Pitfall X', 'munmap', make, 'd', 'pass')).toThrow(
      /entryId 'Pitfall X'; expected a kebab-case catalogue id/,
    );
    await expect(oomReapRange(mm, 0, 4096, 0)).rejects.toThrow(InvalidArgumentError);
    await expect(oomReapRange({} as never, 0, 4096)).rejects.toThrow(/oomReapRange/);
    await expect(oomReapRange(mm, -1, 4096)).rejects.toThrow(/start/);
  });
});
