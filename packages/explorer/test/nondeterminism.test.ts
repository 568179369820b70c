import { describe, expect, it } from 'vitest';
import { explore, lostUpdate, verifyReplay } from '../src/index.ts';
import { flaky } from './helpers.ts';

describe('non-determinism', () => {
  it('is detected when a replayed prefix offers a different event', async () => {
    const r = await explore(flaky('label'));
    expect(r.violation?.kind).toBe('nondeterminism');
    expect(r.violation?.message).toMatch(/scenario 'flaky-label' is not deterministic/);
    expect(r.violation?.message).toMatch(/'flaky.point run 1'.*'flaky.point run 0'/);
    expect(r.exhausted).toBe(false);
  });

  it('is detected when a replay makes different decisions', async () => {
    const r = await explore(flaky('structure'), { bound: Number.POSITIVE_INFINITY });
    expect(r.violation?.kind).toBe('nondeterminism');
    expect(r.violation?.message).toMatch(
      /random numbers, the wall clock or state kept between runs/,
    );
  });

  it('is reported when the found violation does not replay the same', async () => {
    let calls = 0;
    const firstRunOnly = {
      ...lostUpdate,
      name: 'first-run-only',
      finalCheck: () => {
        if (calls++ === 0) throw new Error('failed once');
      },
    };
    const r = await explore(firstRunOnly);
    expect(r.violation?.kind).toBe('final-check');
    expect(r.minimal?.kind).toBe('nondeterminism');
    expect(r.minimal?.message).toMatch(
      /replaying schedule '' gave no violation, where the first run gave final-check/,
    );
  });

  it('verifyReplay flags a violation that no longer happens', async () => {
    const v = {
      kind: 'final-check' as const,
      message: 'x is 3',
      schedule: '1.1.2',
      preemptions: 1,
      steps: 7,
      decisions: 5,
      run: 0,
      seed: undefined,
    };
    const checked = await verifyReplay(lostUpdate, v);
    expect(checked.violation.kind).toBe('nondeterminism');
    expect(checked.violation.message).toMatch(/gave final-check after 7 steps .*: lost update/);
  });
});
