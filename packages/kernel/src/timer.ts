import type { TaskImpl } from './task.ts';

/** A sleeper's timeout: wake `task` with 'timeout' when jiffies reaches `expires`. */
export interface Timer {
  readonly task: TaskImpl;
  readonly expires: number;
  readonly seq: number;
}

/**
 * Pending timeouts, earliest first (ties in registration order). Few sleepers at once, so
 * a plain array is enough. Plays the role of kernel/time/timer.c's timer wheel.
 */
export class TimerList {
  private readonly timers: Timer[] = [];
  private seq = 0;

  get size(): number {
    return this.timers.length;
  }

  /** Register a timer for `task` expiring at jiffy `expires`. */
  add(task: TaskImpl, expires: number): Timer {
    const timer: Timer = { task, expires, seq: this.seq++ };
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.expires > expires) i--;
    this.timers.splice(i, 0, timer);
    return timer;
  }

  /** Cancel `timer` (no-op if it already fired). */
  remove(timer: Timer): void {
    const i = this.timers.indexOf(timer);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** The timer that fires next, if any. */
  earliest(): Timer | undefined {
    return this.timers[0];
  }

  clear(): void {
    this.timers.length = 0;
  }
}
