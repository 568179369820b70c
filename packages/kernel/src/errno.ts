/**
 * Linux errno numbers (include/uapi/asm-generic/errno-base.h and errno.h, x86-64 values).
 * Kernel-style functions return these negated (`-EBUSY`).
 */
/** EPERM: the caller may not do this. Mirrors include/uapi/asm-generic/errno-base.h:EPERM. */
export const EPERM = 1;
/** ENOENT: the named object does not exist. Mirrors include/uapi/asm-generic/errno-base.h:ENOENT. */
export const ENOENT = 2;
/** ESRCH: no such task. Mirrors include/uapi/asm-generic/errno-base.h:ESRCH. */
export const ESRCH = 3;
/** EINTR: a signal interrupted the call. Mirrors include/uapi/asm-generic/errno-base.h:EINTR. */
export const EINTR = 4;
/** EIO: an input/output failure. Mirrors include/uapi/asm-generic/errno-base.h:EIO. */
export const EIO = 5;
/** ENXIO: the device or address is not there. Mirrors include/uapi/asm-generic/errno-base.h:ENXIO. */
export const ENXIO = 6;
/** E2BIG: an argument list is too long. Mirrors include/uapi/asm-generic/errno-base.h:E2BIG. */
export const E2BIG = 7;
/** EBADF: not an open file. Mirrors include/uapi/asm-generic/errno-base.h:EBADF. */
export const EBADF = 9;
/** EAGAIN: not now: call again. Mirrors include/uapi/asm-generic/errno-base.h:EAGAIN. */
export const EAGAIN = 11;
/** ENOMEM: memory (or address space) ran out. Mirrors include/uapi/asm-generic/errno-base.h:ENOMEM. */
export const ENOMEM = 12;
/** EACCES: access is not allowed. Mirrors include/uapi/asm-generic/errno-base.h:EACCES. */
export const EACCES = 13;
/** EFAULT: the address is not usable. Mirrors include/uapi/asm-generic/errno-base.h:EFAULT. */
export const EFAULT = 14;
/** EBUSY: the resource is busy (for hmm: the range collided, retry). Mirrors include/uapi/asm-generic/errno-base.h:EBUSY. */
export const EBUSY = 16;
/** EEXIST: it exists already. Mirrors include/uapi/asm-generic/errno-base.h:EEXIST. */
export const EEXIST = 17;
/** ENODEV: no such device. Mirrors include/uapi/asm-generic/errno-base.h:ENODEV. */
export const ENODEV = 19;
/** EINVAL: an argument is not valid. Mirrors include/uapi/asm-generic/errno-base.h:EINVAL. */
export const EINVAL = 22;
/** EFBIG: the file would be too large. Mirrors include/uapi/asm-generic/errno-base.h:EFBIG. */
export const EFBIG = 27;
/** ENOSPC: no space is left. Mirrors include/uapi/asm-generic/errno-base.h:ENOSPC. */
export const ENOSPC = 28;
/** ERANGE: a result is out of range. Mirrors include/uapi/asm-generic/errno-base.h:ERANGE. */
export const ERANGE = 34;
/** ENOSYS: the call is not implemented. Mirrors include/uapi/asm-generic/errno.h:ENOSYS. */
export const ENOSYS = 38;
/** EOVERFLOW: a value does not fit its type. Mirrors include/uapi/asm-generic/errno.h:EOVERFLOW. */
export const EOVERFLOW = 75;
/** EHWPOISON: the page has a hardware memory error. Mirrors include/uapi/asm-generic/errno.h:EHWPOISON. */
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
