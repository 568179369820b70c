/**
 * Linux errno numbers (include/uapi/asm-generic/errno-base.h and errno.h, x86-64 values).
 * Kernel-style functions return these negated (`-EBUSY`).
 */
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ERANGE = 34;
export const ENOSYS = 38;
export const EOVERFLOW = 75;
export const EHWPOISON = 133;

const NAMES: ReadonlyMap<number, string> = new Map([
  [EPERM, 'EPERM'],
  [ENOENT, 'ENOENT'],
  [ESRCH, 'ESRCH'],
  [EINTR, 'EINTR'],
  [EIO, 'EIO'],
  [ENXIO, 'ENXIO'],
  [E2BIG, 'E2BIG'],
  [EBADF, 'EBADF'],
  [EAGAIN, 'EAGAIN'],
  [ENOMEM, 'ENOMEM'],
  [EACCES, 'EACCES'],
  [EFAULT, 'EFAULT'],
  [EBUSY, 'EBUSY'],
  [EEXIST, 'EEXIST'],
  [ENODEV, 'ENODEV'],
  [EINVAL, 'EINVAL'],
  [EFBIG, 'EFBIG'],
  [ENOSPC, 'ENOSPC'],
  [ERANGE, 'ERANGE'],
  [ENOSYS, 'ENOSYS'],
  [EOVERFLOW, 'EOVERFLOW'],
  [EHWPOISON, 'EHWPOISON'],
]);

/**
 * Symbolic name of an errno, accepting either sign: `errnoName(-16) === 'EBUSY'`;
 * numbers that are not a known errno give `'errno(<n>)'`.
 * Mirrors lib/errname.c:errname() (new in v5.5).
 */
export function errnoName(n: number): string {
  return NAMES.get(Math.abs(n)) ?? `errno(${n})`;
}
