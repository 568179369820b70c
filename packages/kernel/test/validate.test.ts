import { describe, expect, it } from 'vitest';
import {
  checkIntIn,
  checkUlong,
  EINVAL,
  failIntIn,
  InvalidArgumentError,
  integerProblem,
  isUlong,
  KernelBugError,
} from '../src/index.ts';
import { BAD_NUMBERS, formatBadInputReport, runBadInputTable } from '../src/testing.ts';

describe('the number vocabulary', () => {
  it('names what is wrong with each bad number', () => {
    expect(integerProblem(Number.NaN, 0, 10)).toBe('is NaN');
    expect(integerProblem(Number.POSITIVE_INFINITY, 0, 10)).toBe('is Infinity, not finite');
    expect(integerProblem(0.5, 0, 10)).toBe('is 0.5, not an integer');
    expect(integerProblem(2 ** 53, 0, 2 ** 60)).toMatch(/past 2\^53/);
    expect(integerProblem(-1, 0, 10)).toBe('is -1, below 0');
    expect(integerProblem(11, 0, 10)).toBe('is 11, above 10');
    expect(integerProblem('3', 0, 10)).toBe('is a string, not a number');
    expect(integerProblem(3, 0, 10)).toBeUndefined();
  });

  it('checkUlong throws an InvalidArgumentError naming function, argument and expectation', () => {
    for (const [, v] of BAD_NUMBERS) {
      expect(() => checkUlong('munmap', 'len', v)).toThrow(InvalidArgumentError);
    }
    expect(() => checkUlong('munmap', 'len', Number.NaN)).toThrow(
      'munmap: len is NaN; expected an unsigned long (a safe integer >= 0)',
    );
    expect(() => checkIntIn('f', 'n', 5, 0, 4, 'an index')).toThrow(
      'f: n is 5, above 4; expected an index',
    );
    expect(isUlong(0)).toBe(true);
    expect(isUlong(-0.5)).toBe(false);
  });
});

describe('runBadInputTable', () => {
  it('counts answers, flags wrong ones and state checks that fail', async () => {
    let broken = false;
    const r = await runBadInputTable(
      'demo',
      [
        { fn: 'f', input: 'x = -1', call: () => -EINVAL, expect: { errno: -EINVAL } },
        {
          fn: 'f',
          input: 'x = NaN',
          call: () => checkUlong('f', 'x', Number.NaN),
          expect: { error: InvalidArgumentError },
        },
        { fn: 'f', input: 'x = 0.5', call: () => 0, expect: { errno: -EINVAL } },
        {
          fn: 'g',
          input: 'y = NaN',
          call: () => {
            broken = true;
            throw new InvalidArgumentError('other: y is NaN');
          },
          expect: { error: InvalidArgumentError },
        },
      ],
      {
        afterEach: () => {
          if (broken) throw new Error('state corrupted');
        },
      },
    );
    expect(r.tried).toBe(4);
    expect(r.answers.get('EINVAL')).toBe(1);
    expect(r.answers.get('InvalidArgumentError')).toBe(2);
    expect(r.answers.get('accepted')).toBe(1);
    expect(r.failures).toEqual([
      'f(x = 0.5): accepted it (returned 0); expected -22 (EINVAL)',
      'g(y = NaN): threw InvalidArgumentError: other: y is NaN; expected InvalidArgumentError, naming the function',
      'g(y = NaN): state wrong afterwards: state corrupted',
    ]);
    expect(formatBadInputReport(r)).toMatch(
      /^demo: 4 bad inputs: InvalidArgumentError 2, EINVAL 1, accepted 1; 3 wrong/,
    );
  });
});

describe('failIntIn', () => {
  it("throws checkIntIn's error for a value out of range, and KernelBugError for one in range", () => {
    for (const bad of [5, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 2]) {
      let want: unknown;
      try {
        checkIntIn('f', 'n', bad, 0, 4, 'an index');
      } catch (e) {
        want = e;
      }
      expect(want).toBeInstanceOf(InvalidArgumentError);
      expect(() => failIntIn('f', 'n', bad, 0, 4, 'an index')).toThrow((want as Error).message);
    }
    expect(() => failIntIn('f', 'n', 3, 0, 4, 'an index')).toThrow(KernelBugError);
  });
});
