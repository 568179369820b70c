import { describe, expect, it } from 'vitest';
import { DMIRROR_SELFTESTS, formatTap, runSelftests, selftestFullName } from '../src/index.ts';

describe('the conformance suite (the 11 scenarios of hmm-tests.c)', () => {
  it('lists the 11 shared scenarios in kernel order with their catalogue ids', () => {
    expect(DMIRROR_SELFTESTS.map((c) => `${c.id} ${selftestFullName(c)}`)).toEqual([
      'T01 hmm.open_close',
      'T02 hmm.anon_read',
      'T03 hmm.anon_read_prot',
      'T04 hmm.anon_write',
      'T05 hmm.anon_write_prot',
      'T06 hmm.anon_write_child',
      'T08 hmm.anon_write_huge',
      'T12 hmm.migrate',
      'T14 hmm.migrate_fault',
      'T20 hmm.anon_teardown',
      'T22 hmm2.snapshot',
    ]);
  });

  for (const impl of ['interval', 'shim'] as const) {
    it(`${impl}: all 11 pass (free-running, seeded random and explored teardown)`, async () => {
      const report = await runSelftests({ impl, seed: 11 });
      expect(report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`)).toEqual([]);
      expect(report.passed).toBe(11);
      const teardown = report.results.find((r) => r.name === 'hmm.anon_teardown');
      expect(teardown?.diagnostics.join('\n')).toMatch(
        /\[free-running\]: 10 iterations: READ ok 10, failed 0; 0 stale copies/,
      );
      expect(teardown?.diagnostics.join('\n')).toMatch(
        /\[seeded random, seed 11\]: 10 iterations: .*; 0 stale copies/,
      );
      expect(teardown?.diagnostics.join('\n')).toMatch(
        /\[explored: .*\]: \d+ schedules \(all\), no stale entry/,
      );
      expect(formatTap(report).at(-2)).toBe('# PASSED: 11 / 11 tests passed.');
    });
  }

  it('legacy: the ten single-threaded scenarios pass; anon_teardown fails for race R1 only', async () => {
    const report = await runSelftests({ impl: 'legacy' });
    const failed = report.results.filter((r) => !r.ok);
    expect(failed.map((r) => [r.name, r.reason])).toEqual([['hmm.anon_teardown', 'R1']]);
    expect(failed[0]?.message).toMatch(
      /committed a page the CPU had unmapped: schedule '[\dx.]+' \(1 preemption\)/,
    );
    expect(formatTap(report)).toContain('not ok 10 hmm.anon_teardown # legacy R1');
  });

  it("legacy: the kernel's own loop (free-running and random, several seeds) never returns stale data", async () => {
    for (const seed of [1, 2, 3]) {
      const report = await runSelftests({
        impl: 'legacy',
        filter: 'anon_teardown',
        seed,
        teardownModes: ['free-running', 'random'],
        teardownIterations: 4,
      });
      expect(report.results[0]?.ok, report.results[0]?.message).toBe(true);
    }
  });

  it('seeded random teardown on every implementation: success always implies consistent data', async () => {
    for (const impl of ['interval', 'legacy', 'shim'] as const) {
      for (const seed of [5, 6]) {
        const report = await runSelftests({
          impl,
          filter: 'hmm.anon_teardown',
          seed,
          teardownModes: ['random'],
          teardownIterations: 3,
        });
        expect(report.results[0]?.ok, `${impl} seed ${seed}: ${report.results[0]?.message}`).toBe(
          true,
        );
        expect(report.results[0]?.diagnostics[0]).toMatch(
          new RegExp(`seed ${seed}\\]: 3 iterations`),
        );
      }
    }
  });
});
