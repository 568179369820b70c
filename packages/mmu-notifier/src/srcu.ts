/**
 * Sleepable RCU, reduced to what the notifier code needs: read sections that may sleep, a grace
 * period that waits for every read section that began before it, and callbacks run once a grace
 * period has passed.
 *
 * Model: each read section is stamped with the current epoch. `synchronizeSrcu` closes the epoch
 * (later readers get a higher one) and sleeps on a wait queue until no reader of a closed epoch is
 * left — a scheduling point like any sleep. `callSrcu` closes the epoch too and queues the
 * callback; the callback never runs inside `callSrcu` itself: it runs, asynchronously as the
 * kernel's SRCU machinery would, at the first later SRCU operation on the domain that finds its
 * grace period over (the unlock of its last old reader, a later lock, synchronize or barrier), or
 * at the latest in `srcuBarrier`.
 *
 * Every read of the domain's state reports `noteRead(ss)`, every change `noteWrite(ss)` (one
 * object, for the explorer's partial-order reduction).
 *
 * Mirrors kernel/rcu/srcutree.c (struct srcu_struct, srcu_read_lock/unlock, synchronize_srcu,
 * call_srcu, srcu_barrier).
 */
import {
  accessReporting,
  checkUlong,
  KernelBugError,
  mightSleep,
  noteRead,
  noteWrite,
  ObjectSlot,
  type Scheduler,
  WaitQueueHead,
  waitEvent,
  waitqueueActive,
  wakeUpAll,
} from '@hmmsim/kernel';

/** A callback queued by call_srcu(), run after the grace period it waits for. Model-only. */
export interface PendingCallback {
  /** Readers of epochs <= this must be gone before `fn` runs. */
  readonly epoch: number;
  /** The callback itself. */
  readonly fn: () => void;
}

/** One SRCU domain. Mirrors include/linux/srcutree.h:struct srcu_struct. */
export class SrcuStruct {
  /** Epoch stamped on new read sections. */
  epoch = 0;
  /** Open read sections per epoch. */
  readonly readers = new Map<number, number>();
  /** Open read sections, all epochs. */
  nrReaders = 0;
  /** Callbacks waiting for their grace period, oldest first. */
  readonly pending: PendingCallback[] = [];
  /** Grace periods completed (synchronize returns and callback batches). Statistics. */
  completed = 0;
  readonly wq: WaitQueueHead;
  private running = false;

  constructor(
    readonly sched: Scheduler,
    readonly name: string,
  ) {
    this.wq = new WaitQueueHead(sched, `${name}.gp`);
  }

  /** True when no read section of an epoch <= `epoch` is open. */
  quiescentUpTo(epoch: number): boolean {
    if (accessReporting) noteRead(this);
    if (this.nrReaders === 0) return true;
    for (const [e, n] of this.readers) if (e <= epoch && n > 0) return false;
    return true;
  }

  /** Run every queued callback whose grace period is over (in queue order, never re-entered). */
  runDueCallbacks(): void {
    if (accessReporting) noteRead(this);
    if (this.running || this.pending.length === 0) return;
    if (accessReporting) noteWrite(this);
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const head = this.pending[0] as PendingCallback;
        if (!this.quiescentUpTo(head.epoch)) break;
        this.pending.shift();
        this.completed++;
        head.fn();
      }
    } finally {
      this.running = false;
    }
    if (this.pending.length === 0 && waitqueueActive(this.wq)) wakeUpAll(this.wq);
  }
}

/**
 * Enter a read section; returns the index to pass to srcuReadUnlock. Never sleeps.
 * Mirrors kernel/rcu/srcutree.c:__srcu_read_lock().
 */
export function srcuReadLock(ss: SrcuStruct): number {
  ss.runDueCallbacks();
  if (accessReporting) noteWrite(ss);
  const e = ss.epoch;
  ss.readers.set(e, (ss.readers.get(e) ?? 0) + 1);
  ss.nrReaders++;
  return e;
}

/**
 * Leave the read section entered with index `idx`; may end a grace period.
 * Mirrors kernel/rcu/srcutree.c:__srcu_read_unlock().
 */
export function srcuReadUnlock(ss: SrcuStruct, idx: number): void {
  checkUlong('srcu_read_unlock', 'idx', idx, 'the index srcu_read_lock() returned');
  if (accessReporting) noteWrite(ss);
  const n = ss.readers.get(idx);
  if (n === undefined || n <= 0) {
    throw new KernelBugError(
      `srcu_read_unlock(${ss.name}, ${idx}): no open read section with that index; expected the value returned by srcu_read_lock`,
    );
  }
  if (n === 1) ss.readers.delete(idx);
  else ss.readers.set(idx, n - 1);
  ss.nrReaders--;
  ss.runDueCallbacks();
  if (waitqueueActive(ss.wq)) wakeUpAll(ss.wq);
}

/**
 * Wait (sleep) until every read section that began before this call has ended.
 * Mirrors kernel/rcu/srcutree.c:synchronize_srcu().
 */
export async function synchronizeSrcu(ss: SrcuStruct): Promise<void> {
  mightSleep(ss.sched, 'synchronize_srcu', ss.name);
  if (accessReporting) noteWrite(ss);
  const target = ss.epoch;
  ss.epoch++;
  await waitEvent(ss.wq, () => ss.quiescentUpTo(target));
  if (accessReporting) noteWrite(ss);
  ss.completed++;
  ss.runDueCallbacks();
}

/**
 * Queue `fn` to run after a grace period (never inside this call); `fn` must not sleep.
 * Mirrors kernel/rcu/srcutree.c:call_srcu().
 */
export function callSrcu(ss: SrcuStruct, fn: () => void): void {
  if (accessReporting) noteWrite(ss);
  ss.pending.push({ epoch: ss.epoch, fn });
  ss.epoch++;
}

/**
 * Wait until every callback queued by callSrcu so far has run.
 * Mirrors kernel/rcu/srcutree.c:srcu_barrier().
 */
export async function srcuBarrier(ss: SrcuStruct): Promise<void> {
  mightSleep(ss.sched, 'srcu_barrier', ss.name);
  if (accessReporting) noteRead(ss);
  const last = ss.pending[ss.pending.length - 1];
  if (last === undefined) return;
  ss.runDueCallbacks();
  await waitEvent(ss.wq, () => {
    ss.runDueCallbacks();
    if (accessReporting) noteRead(ss);
    return !ss.pending.includes(last);
  });
}

const domains = new ObjectSlot<Scheduler, SrcuStruct>('sched.mmu_notifier_srcu');

/**
 * The one SRCU domain of the notifier code on this simulated machine (keyed by its scheduler).
 * Mirrors mm/mmu_notifier.c:srcu (DEFINE_STATIC_SRCU).
 */
export function mmuNotifierSrcu(sched: Scheduler): SrcuStruct {
  let ss = domains.get(sched);
  if (ss === undefined) {
    ss = new SrcuStruct(sched, 'mmu_notifier_srcu');
    domains.set(sched, ss);
  }
  return ss;
}
