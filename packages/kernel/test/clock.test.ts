import { describe, expect, it } from 'vitest';
import {
  Clock,
  HZ,
  InvalidArgumentError,
  jiffiesToMsecs,
  MAX_JIFFY_OFFSET,
  msecsToJiffies,
  TICK_NSEC,
} from '../src/index.ts';

describe('jiffies conversions (HZ=250)', () => {
  it('msecsToJiffies rounds up', () => {
    expect(HZ).toBe(250);
    expect(msecsToJiffies(0)).toBe(0);
    expect(msecsToJiffies(1)).toBe(1);
    expect(msecsToJiffies(4)).toBe(1);
    expect(msecsToJiffies(5)).toBe(2);
    expect(msecsToJiffies(1000)).toBe(250);
    expect(msecsToJiffies(-1)).toBe(MAX_JIFFY_OFFSET);
  });

  it('jiffiesToMsecs is exact', () => {
    expect(jiffiesToMsecs(0)).toBe(0);
    expect(jiffiesToMsecs(250)).toBe(1000);
    expect(jiffiesToMsecs(msecsToJiffies(400))).toBe(400);
  });

  it('rejects non-integers', () => {
    expect(() => msecsToJiffies(1.5)).toThrow(InvalidArgumentError);
    expect(() => msecsToJiffies(Number.NaN)).toThrow(
      /msecsToJiffies: m is NaN; expected milliseconds/,
    );
    expect(() => jiffiesToMsecs(-1)).toThrow(InvalidArgumentError);
  });
});

describe('Clock', () => {
  it('counts nanoseconds and jiffies, never backwards', () => {
    const c = new Clock();
    expect([c.now, c.jiffies]).toEqual([0, 0]);
    c.advance(TICK_NSEC - 1);
    expect(c.jiffies).toBe(0);
    c.advance(1);
    expect(c.jiffies).toBe(1);
    c.advanceTo(10 * TICK_NSEC);
    expect(c.now).toBe(10 * TICK_NSEC);
    c.advanceTo(5);
    expect(c.now).toBe(10 * TICK_NSEC);
    expect(c.msecsToJiffies(8)).toBe(2);
    expect(c.jiffiesToMsecs(2)).toBe(8);
  });
});
