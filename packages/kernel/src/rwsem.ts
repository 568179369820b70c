import { accessReporting, noteRead, noteWrite } from './access.ts';
import { KernelBugError } from './errors.ts';
import { mightSleep } from './might-sleep.ts';
import type { SchedEvent, Scheduler, WaitHead } from './sched-types.ts';
import type { Task } from './task.ts';

/** A queued down_read/down_write; `granted` is set when the lock is handed over. */
export interface RwsemWaiter {
  readonly task: Task;
  readonly write: boolean;
  granted: boolean;
}

/**
 * A reader/writer semaphore with a FIFO wait queue: once anyone waits, new readers queue
 * too (so a waiting writer is not starved). On release the lock is handed to the head
 * writer, or to the readers at the head up to the first writer. Fields are read-only
 * outside this file.
 */
export class RwSemaphore implements WaitHead {
  readonly kind = 'rwsem';
  readonly obj: string | undefined;
  writer: Task | undefined = undefined;
  /** Read holds per task (a task may hold several). */
  readonly readers = new Map<Task, number>();
  readCount = 0;
  readonly waiters: RwsemWaiter[] = [];
  readonly readEvent: SchedEvent;
  readonly writeEvent: SchedEvent;

  constructor(
    readonly sched: Scheduler,
    readonly name: string,
    obj?: string,
  ) {
    this.obj = obj;
    this.readEvent = { kind: 'lock.down_read', label: name, obj };
    this.writeEvent = { kind: 'lock.down_write', label: name, obj };
  }

  describeWaiter(task: Task): string {
    const w = this.waiters.find((x) => x.task === task);
    const op = w?.write === true ? 'down_write' : 'down_read';
    const readers = [...this.readers.keys()].map((r) => `'${r.name}'`).join(', ');
    const held =
      this.writer !== undefined
        ? `write-held by '${this.writer.name}'`
        : `read-held by ${readers || 'nobody'}`;
    return `${op}: ${held}; ${this.waiters.length} queued`;
  }
}

/** Record one read hold of `sem` by `t`. */
function grantRead(sem: RwSemaphore, t: Task): void {
  sem.readers.set(t, (sem.readers.get(t) ?? 0) + 1);
  sem.readCount++;
}

/** Hand the lock to the head writer, or to the leading readers, if it is available. */
function rwsemWake(sem: RwSemaphore): void {
  if (sem.writer !== undefined) return;
  const head = sem.waiters[0];
  if (head === undefined) return;
  if (head.write) {
    if (sem.readCount > 0) return;
    sem.waiters.shift();
    sem.writer = head.task;
    handOver(sem, head);
    return;
  }
  while (sem.waiters[0] !== undefined && !sem.waiters[0].write) {
    const w = sem.waiters.shift()!;
    grantRead(sem, w.task);
    handOver(sem, w);
  }
}

/** Mark `w` granted and wake its task. */
function handOver(sem: RwSemaphore, w: RwsemWaiter): void {
  w.granted = true;
  sem.sched.wake(w.task);
}

/** Queue the current task and sleep until rwsemWake() grants the lock. */
async function waitForGrant(sem: RwSemaphore, t: Task, write: boolean): Promise<void> {
  const w: RwsemWaiter = { task: t, write, granted: false };
  sem.waiters.push(w);
  sem.sched.trace.emit('lock.contended', sem.name, sem.obj);
  try {
    while (!w.granted) await sem.sched.sleep(sem);
  } catch (error) {
    sem.waiters.splice(sem.waiters.indexOf(w), 1);
    throw error;
  }
}

/** Throw if the current task already holds `sem` in a way that makes `op` self-deadlock. */
function checkRecursion(sem: RwSemaphore, t: Task, op: string, write: boolean): void {
  const held =
    sem.writer === t ? 'for write' : write && sem.readers.has(t) ? 'for read' : undefined;
  if (held !== undefined) {
    throw new KernelBugError(
      `BUG: possible recursive locking: ${op}(${sem.name}) by task '${t.name}', which already holds it ${held}; ` +
        'expected it not to be held by the caller (this would deadlock)',
    );
  }
}

/**
 * Acquire `sem` for read; sleeps while a writer holds it or anyone is queued.
 * Mirrors kernel/locking/rwsem.c:down_read().
 */
export async function downRead(sem: RwSemaphore): Promise<void> {
  const { sched } = sem;
  mightSleep(sched, 'down_read', sem.name);
  await sched.point(sem.readEvent);
  if (accessReporting) noteWrite(sem);
  const t = sched.current;
  checkRecursion(sem, t, 'down_read', false);
  if (sem.writer === undefined && sem.waiters.length === 0) grantRead(sem, t);
  else await waitForGrant(sem, t, false);
  sched.trace.emit('lock.acquired', sem.name, sem.obj);
}

/**
 * Take `sem` for read without sleeping: 1 on success, 0 if a writer holds it or anyone waits.
 * Mirrors kernel/locking/rwsem.c:down_read_trylock().
 */
export function downReadTrylock(sem: RwSemaphore): number {
  if (accessReporting) noteWrite(sem);
  if (sem.writer !== undefined || sem.waiters.length > 0) return 0;
  grantRead(sem, sem.sched.current);
  sem.sched.trace.emit('lock.acquired', sem.name, sem.obj);
  return 1;
}

/**
 * Drop one read hold of the current task; the last reader hands the lock on.
 * Mirrors kernel/locking/rwsem.c:up_read().
 */
export function upRead(sem: RwSemaphore): void {
  if (accessReporting) noteWrite(sem);
  const t = sem.sched.current;
  const n = sem.readers.get(t);
  if (n === undefined) {
    throw new KernelBugError(
      `BUG: up_read(${sem.name}) by task '${t.name}', which does not hold it for read; expected a matching down_read`,
    );
  }
  if (n === 1) sem.readers.delete(t);
  else sem.readers.set(t, n - 1);
  sem.readCount--;
  if (sem.readCount === 0) rwsemWake(sem);
  sem.sched.trace.emit('lock.up_read', sem.name, sem.obj);
}

/**
 * Acquire `sem` for write; sleeps while anyone holds it or is queued ahead.
 * Mirrors kernel/locking/rwsem.c:down_write().
 */
export async function downWrite(sem: RwSemaphore): Promise<void> {
  const { sched } = sem;
  mightSleep(sched, 'down_write', sem.name);
  await sched.point(sem.writeEvent);
  if (accessReporting) noteWrite(sem);
  const t = sched.current;
  checkRecursion(sem, t, 'down_write', true);
  if (sem.writer === undefined && sem.readCount === 0 && sem.waiters.length === 0) sem.writer = t;
  else await waitForGrant(sem, t, true);
  sched.trace.emit('lock.acquired', sem.name, sem.obj);
}

/**
 * Take `sem` for write without sleeping: 1 on success, 0 if it is held or anyone waits.
 * Mirrors kernel/locking/rwsem.c:down_write_trylock().
 */
export function downWriteTrylock(sem: RwSemaphore): number {
  if (accessReporting) noteWrite(sem);
  if (sem.writer !== undefined || sem.readCount > 0 || sem.waiters.length > 0) return 0;
  sem.writer = sem.sched.current;
  sem.sched.trace.emit('lock.acquired', sem.name, sem.obj);
  return 1;
}

/** Throw unless the current task write-holds `sem`. */
function checkWriter(sem: RwSemaphore, op: string): Task {
  const t = sem.sched.current;
  if (sem.writer !== t) {
    const why =
      sem.writer === undefined
        ? 'it is not write-locked'
        : `it is write-held by '${sem.writer.name}'`;
    throw new KernelBugError(
      `BUG: ${op}(${sem.name}) by task '${t.name}', but ${why}; expected the writer to call it`,
    );
  }
  return t;
}

/**
 * Release the write hold of the current task and hand the lock on.
 * Mirrors kernel/locking/rwsem.c:up_write().
 */
export function upWrite(sem: RwSemaphore): void {
  if (accessReporting) noteWrite(sem);
  checkWriter(sem, 'up_write');
  sem.writer = undefined;
  rwsemWake(sem);
  sem.sched.trace.emit('lock.up_write', sem.name, sem.obj);
}

/**
 * Turn the current task's write hold into a read hold and let the leading readers in.
 * Mirrors kernel/locking/rwsem.c:downgrade_write().
 */
export function downgradeWrite(sem: RwSemaphore): void {
  if (accessReporting) noteWrite(sem);
  const t = checkWriter(sem, 'downgrade_write');
  sem.writer = undefined;
  grantRead(sem, t);
  rwsemWake(sem);
  sem.sched.trace.emit('lock.downgrade_write', sem.name, sem.obj);
}

/**
 * True when `sem` is held for read or write.
 * Mirrors include/linux/rwsem.h:rwsem_is_locked().
 */
export function rwsemIsLocked(sem: RwSemaphore): boolean {
  if (accessReporting) noteRead(sem);
  return sem.writer !== undefined || sem.readCount > 0;
}

/**
 * True when `sem` is held for write.
 * Mirrors kernel/locking/rwsem.c's RWSEM_WRITER_LOCKED test (what lockdep_assert_held_write() checks).
 */
export function rwsemIsWriteLocked(sem: RwSemaphore): boolean {
  if (accessReporting) noteRead(sem);
  return sem.writer !== undefined;
}
