import { accessReporting, noteRead, noteWrite } from './access.ts';
import { KernelBugError } from './errors.ts';
import { HandOffLock, handOff, waitForHandOff } from './handoff-lock.ts';
import type { Scheduler } from './sched-types.ts';
import type { Task } from './task.ts';

/**
 * A spinning lock. Holding it raises the holder's preemptCount (no sleeping). Contended
 * lockers spin: they are not runnable until the lock is handed to them, in arrival order
 * (like a queued spinlock). Fields are read-only outside this file.
 */
export class Spinlock extends HandOffLock {
  readonly kind = 'spinlock';
  /** Tasks spinning in spin_lock, in arrival order. */
  readonly spinners: Task[] = [];

  constructor(sched: Scheduler, name: string, obj?: string) {
    super(sched, name, 'lock.spin_lock', 'spin_lock: held by', obj);
  }
}

const spinOn = (l: HandOffLock) => l.sched.spin(l);

/**
 * Acquire `l`, spinning (not runnable) while another task holds it; raises preemptCount.
 * Mirrors include/linux/spinlock.h:spin_lock() (kernel/locking/spinlock.c:_raw_spin_lock()).
 */
export async function spinLock(l: Spinlock): Promise<void> {
  const { sched } = l;
  await sched.point(l.lockEvent);
  if (accessReporting) noteWrite(l);
  const t = sched.current;
  if (l.owner === t) {
    throw new KernelBugError(
      `BUG: spinlock recursion on ${l.name} in spin_lock(${l.name}): task '${t.name}' already holds it; expected a spinlock to be taken once`,
    );
  }
  t.preemptCount++;
  if (l.owner === undefined) l.owner = t;
  else {
    try {
      await waitForHandOff(l, l.spinners, t, spinOn);
    } catch (error) {
      t.preemptCount--;
      throw error;
    }
  }
  sched.trace.emit('lock.acquired', l.name, l.obj);
}

/**
 * Take `l` if it is free (true, preemptCount raised), else return false at once.
 * Mirrors include/linux/spinlock.h:spin_trylock().
 */
export function spinTrylock(l: Spinlock): boolean {
  if (accessReporting) noteWrite(l);
  if (l.owner !== undefined) return false;
  const t = l.sched.current;
  l.owner = t;
  t.preemptCount++;
  l.sched.trace.emit('lock.acquired', l.name, l.obj);
  return true;
}

/**
 * Release `l` (must be held by the current task), lowering preemptCount; hands it to the
 * first spinner. Mirrors include/linux/spinlock.h:spin_unlock().
 */
export function spinUnlock(l: Spinlock): void {
  const t = l.sched.current;
  if (l.owner !== t) {
    const held = l.owner === undefined ? 'it is not locked' : `it is held by '${l.owner.name}'`;
    throw new KernelBugError(
      `BUG: spin_unlock(${l.name}) by task '${t.name}', but ${held}; expected the holder to unlock it`,
    );
  }
  t.preemptCount--;
  handOff(l, l.spinners);
  l.sched.trace.emit('lock.spin_unlock', l.name, l.obj);
}

/**
 * True when `l` is held by some task.
 * Mirrors include/linux/spinlock.h:spin_is_locked().
 */
export function spinIsLocked(l: Spinlock): boolean {
  if (accessReporting) noteRead(l);
  return l.owner !== undefined;
}

/**
 * Throw KernelBugError unless `l` is held (by anyone).
 * Mirrors include/linux/spinlock.h:assert_spin_locked().
 */
export function assertSpinLocked(l: Spinlock): void {
  if (accessReporting) noteRead(l);
  if (l.owner === undefined) {
    throw new KernelBugError(
      `BUG: assert_spin_locked(${l.name}) failed: it is not locked; expected it to be held`,
    );
  }
}
