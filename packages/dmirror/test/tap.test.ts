import { describe, expect, it } from 'vitest';
import { formatTap, type SelftestReport } from '../src/index.ts';

describe('kselftest TAP', () => {
  it('prints the plan, RUN/OK pairs, ok/not ok lines with the legacy reason, and the totals', () => {
    const report: SelftestReport = {
      impl: 'legacy',
      seed: 4,
      passed: 1,
      failed: 1,
      results: [
        { index: 1, name: 'hmm.open_close', ok: true, message: '', reason: '', diagnostics: [] },
        {
          index: 2,
          name: 'hmm.anon_teardown',
          ok: false,
          message: 'boom',
          reason: 'R1',
          diagnostics: ['mode x'],
        },
      ],
    };
    expect(formatTap(report)).toEqual([
      'TAP version 13',
      '1..2',
      '# Starting 2 tests from 1 test case.',
      '#  RUN           hmm.open_close ...',
      '#            OK  hmm.open_close',
      'ok 1 hmm.open_close',
      '#  RUN           hmm.anon_teardown ...',
      '# mode x',
      '# hmm.anon_teardown: boom',
      '#          FAIL  hmm.anon_teardown',
      'not ok 2 hmm.anon_teardown # legacy R1',
      '# FAILED: 1 / 2 tests passed.',
      '# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0',
    ]);
  });
});
