import { describe, expect, it } from 'vitest';
import {
  formatSchedule,
  parseSchedule,
  ScheduleSyntaxError,
  TIMER_CODE,
  trimDefaults,
} from '../src/index.ts';

describe('schedule strings', () => {
  it('formats task ids and the timer, compressing runs of three or more', () => {
    expect(formatSchedule([1, 1, 2])).toBe('1.1.2');
    expect(formatSchedule([1, 1, 1, 2, TIMER_CODE, 12, 12, 12, 12])).toBe('1x3.2.t.12x4');
    expect(formatSchedule([])).toBe('');
  });

  it('parses what it formats', () => {
    const codes = [1, 1, 1, 1, 2, 0, 0, 0, 3, 10, 1];
    expect(parseSchedule(formatSchedule(codes))).toEqual(codes);
    expect(parseSchedule(' 2.tx2 ')).toEqual([2, 0, 0]);
    expect(parseSchedule('')).toEqual([]);
  });

  it('rejects bad tokens with a message naming them', () => {
    for (const bad of ['1..2', '0', 'x', '1.a', '1x0', '-1', '1,2', '01']) {
      expect(() => parseSchedule(bad)).toThrow(ScheduleSyntaxError);
    }
    expect(() => parseSchedule('1.q')).toThrow(/bad token 'q'/);
  });

  it('trims trailing default choices only', () => {
    expect(trimDefaults([1, 2, 2, 1], [1, 1, 2, 1])).toEqual([1, 2]);
    expect(trimDefaults([1, 1], [1, 1])).toEqual([]);
  });
});
