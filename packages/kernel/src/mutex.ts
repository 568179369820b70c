import { accessReporting, noteRead, noteWrite } from './access.ts';
import { KernelBugError } from './errors.ts';
import { HandOffLock, handOff, waitForHandOff } from './handoff-lock.ts';
import { mightSleep } from './might-sleep.ts';
import type { Scheduler } from './sched-types.ts';
import type { Task } from './task.ts';

/**
 * A sleeping lock with an owner. On unlock the lock is handed to the first waiter (FIFO).
 * Fields are read-only outside this file.
 */
export class Mutex extends HandOffLock {
  readonly kind = 'mutex';
  /** Tasks sleeping in mutex_lock, in arrival order. */
  readonly waiters: Task[] = [];

  constructor(sched: Scheduler, name: string, obj?: string) {
    super(sched, name, 'lock.mutex_lock', 'mutex_lock: owned by', obj);
  }
}

const sleepOn = (m: HandOffLock) => m.sched.sleep(m);

/**
 * Acquire `m`, sleeping in FIFO order while another task owns it.
 * Mirrors kernel/locking/mutex.c:mutex_lock().
 */
export async function mutexLock(m: Mutex): Promise<void> {
  const { sched } = m;
  mightSleep(sched, 'mutex_lock', m.name);
  await sched.point(m.lockEvent);
  if (accessReporting) noteWrite(m);
  const t = sched.current;
  if (m.owner === t) {
    throw new KernelBugError(
      `BUG: possible recursive locking in mutex_lock(${m.name}): task '${t.name}' already owns mutex ${m.name}; expected it to be taken once`,
    );
  }
  if (m.owner !== undefined) await waitForHandOff(m, m.waiters, t, sleepOn);
  else m.owner = t;
  sched.trace.emit('lock.acquired', m.name, m.obj);
}

/**
 * Like mutexLock(); returns 0 (the model has no fatal signals, so it is never -EINTR).
 * Mirrors kernel/locking/mutex.c:mutex_lock_killable().
 */
export async function mutexLockKillable(m: Mutex): Promise<number> {
  await mutexLock(m);
  return 0;
}

/**
 * Take `m` if it is free (1), else 0 at once; does not sleep.
 * Mirrors kernel/locking/mutex.c:mutex_trylock().
 */
export function mutexTrylock(m: Mutex): number {
  if (accessReporting) noteWrite(m);
  if (m.owner !== undefined) return 0;
  m.owner = m.sched.current;
  m.sched.trace.emit('lock.acquired', m.name, m.obj);
  return 1;
}

/**
 * Release `m` (the current task must own it) and hand it to the first waiter.
 * Mirrors kernel/locking/mutex.c:mutex_unlock().
 */
export function mutexUnlock(m: Mutex): void {
  const t = m.sched.current;
  if (m.owner !== t) {
    const why = m.owner === undefined ? 'it is not locked' : `it is owned by '${m.owner.name}'`;
    throw new KernelBugError(
      `BUG: mutex_unlock(${m.name}) by task '${t.name}', but ${why}; expected the owner to unlock it`,
    );
  }
  handOff(m, m.waiters);
  m.sched.trace.emit('lock.mutex_unlock', m.name, m.obj);
}

/**
 * True when some task owns `m`.
 * Mirrors kernel/locking/mutex.c:mutex_is_locked().
 */
export function mutexIsLocked(m: Mutex): boolean {
  if (accessReporting) noteRead(m);
  return m.owner !== undefined;
}
