import { accessReporting, noteRead, noteWrite } from './access.ts';
import { checkIntIn, checkUlong, isUlong } from './validate.ts';

/** Timer interrupt frequency (CONFIG_HZ=250): one jiffy is 4 ms. */
export const HZ = 250;
/** Milliseconds per second. Mirrors include/vdso/time64.h:MSEC_PER_SEC. */
export const MSEC_PER_SEC = 1000;
/** Nanoseconds per millisecond. Mirrors include/vdso/time64.h:NSEC_PER_MSEC. */
export const NSEC_PER_MSEC = 1_000_000;
/** Nanoseconds per second. Mirrors include/vdso/time64.h:NSEC_PER_SEC. */
export const NSEC_PER_SEC = 1_000_000_000;
/** Nanoseconds per jiffy. */
export const TICK_NSEC = NSEC_PER_SEC / HZ;
/** "Forever" for schedule_timeout(): kernel LONG_MAX, here the largest safe integer. */
export const MAX_SCHEDULE_TIMEOUT = Number.MAX_SAFE_INTEGER;
/** Largest jiffies offset (kernel (LONG_MAX >> 1) - 1, scaled down to stay a safe integer). */
export const MAX_JIFFY_OFFSET = 2 ** 52 - 2;

/**
 * Milliseconds to jiffies, rounded up; negative input gives MAX_JIFFY_OFFSET.
 * Mirrors include/linux/jiffies.h:msecs_to_jiffies() (the HZ-divides-1000 case).
 */
export function msecsToJiffies(m: number): number {
  checkIntIn(
    'msecsToJiffies',
    'm',
    m,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER,
    'milliseconds (a safe integer; a negative one means "forever")',
  );
  if (m < 0) return MAX_JIFFY_OFFSET;
  return Math.ceil(m / (MSEC_PER_SEC / HZ));
}

/**
 * Jiffies to milliseconds (exact at HZ=250).
 * Mirrors kernel/time/time.c:jiffies_to_msecs().
 */
export function jiffiesToMsecs(j: number): number {
  checkIntIn(
    'jiffiesToMsecs',
    'j',
    j,
    0,
    Math.floor(Number.MAX_SAFE_INTEGER / (MSEC_PER_SEC / HZ)),
    'jiffies (a safe integer >= 0 whose milliseconds stay below 2^53)',
  );
  return j * (MSEC_PER_SEC / HZ);
}

/**
 * Virtual time in nanoseconds. Only the scheduler moves it: by `nsPerStep` at each scheduling
 * point and forward to a timer's expiry when a timer fires. It never goes backwards.
 *
 * For the explorer the clock is one shared object: reading it is a read, moving it a write. With
 * `nsPerStep` > 0 every step moves it, so a step that reads the time depends on every other
 * step; with `nsPerStep` 0 (the explorer's default) only a timer firing moves it.
 */
export class Clock {
  private ns = 0;

  /** Virtual nanoseconds since boot. */
  get now(): number {
    if (accessReporting) noteRead(this);
    return this.ns;
  }

  /** Jiffies since boot (the kernel starts at INITIAL_JIFFIES; the model starts at 0). */
  get jiffies(): number {
    if (accessReporting) noteRead(this);
    return Math.floor(this.ns / TICK_NSEC);
  }

  /** Advance by `ns` nanoseconds (scheduler use); InvalidArgumentError unless `ns` is a ulong. */
  advance(ns: number): void {
    if (!isUlong(ns) || !isUlong(this.ns + ns)) {
      checkUlong('Clock.advance', 'ns', ns, 'nanoseconds');
      checkUlong('Clock.advance', 'now + ns', this.ns + ns, 'a time below 2^53 ns');
    }
    if (ns === 0) return;
    if (accessReporting) noteWrite(this);
    this.ns += ns;
  }

  /** Move forward to `ns` if it is later than now (scheduler use; never goes back). */
  advanceTo(ns: number): void {
    if (!isUlong(ns)) checkUlong('Clock.advanceTo', 'ns', ns, 'a time in nanoseconds');
    if (ns <= this.ns) return;
    if (accessReporting) noteWrite(this);
    this.ns = ns;
  }

  /** Same as the free function msecsToJiffies(). */
  msecsToJiffies(m: number): number {
    return msecsToJiffies(m);
  }

  /** Same as the free function jiffiesToMsecs(). */
  jiffiesToMsecs(j: number): number {
    return jiffiesToMsecs(j);
  }
}
