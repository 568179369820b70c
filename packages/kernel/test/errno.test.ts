import { describe, expect, it } from 'vitest';
import {
  EAGAIN,
  EBUSY,
  EFAULT,
  EHWPOISON,
  EINVAL,
  ENOMEM,
  EPERM,
  errnoName,
} from '../src/index.ts';

describe('errno', () => {
  it('has the Linux x86-64 numbers', () => {
    expect([EPERM, EAGAIN, ENOMEM, EFAULT, EBUSY, EINVAL, EHWPOISON]).toEqual([
      1, 11, 12, 14, 16, 22, 133,
    ]);
  });

  it('errnoName accepts both signs', () => {
    expect(errnoName(16)).toBe('EBUSY');
    expect(errnoName(-16)).toBe('EBUSY');
    expect(errnoName(-EHWPOISON)).toBe('EHWPOISON');
  });

  it('errnoName of an unknown number says so', () => {
    expect(errnoName(0)).toBe('errno(0)');
    expect(errnoName(-99)).toBe('errno(-99)');
  });
});
