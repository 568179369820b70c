import { Mutex, mutexLock, mutexTrylock, mutexUnlock, type Scheduler } from '@hmmsim/kernel';
import {
  createMachine,
  createMm,
  type Machine,
  type MmStruct,
  type MmuNotifierRange,
  mmuNotifierRangeBlockable,
  mmuNotifyEventName,
} from '@hmmsim/mm';
import {
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  mmuIntervalNotifierInsert,
  mmuIntervalSetSeq,
} from '../src/index.ts';

/** A fresh machine and mm (16 MiB of RAM). */
export function world(opts: { thp?: 'always' | 'madvise' | 'never'; sched?: Scheduler } = {}): {
  machine: Machine;
  mm: MmStruct;
  sched: Scheduler;
} {
  const machine = createMachine({
    ramBytes: 16 * 2 ** 20,
    ...(opts.thp === undefined ? {} : { thp: opts.thp }),
    ...(opts.sched === undefined ? {} : { sched: opts.sched }),
  });
  return { machine, mm: createMm(machine), sched: machine.sched };
}

/** One recorded interval callback. */
export interface Call {
  readonly name: string;
  readonly event: string;
  readonly start: number;
  readonly end: number;
  readonly blockable: boolean;
  readonly curSeq: number;
}

/** Callback log shared by several drivers (ordering tests). */
export type Journal = string[];

/**
 * A driver following the rules: invalidate locks its user lock (trylock when not blockable),
 * calls set_seq unconditionally, records the call, unlocks.
 */
export class TestDriver {
  readonly mni = new MmuIntervalNotifier();
  readonly lock: Mutex;
  readonly calls: Call[] = [];
  /** Return false instead of proceeding (non-blockable refusal) when set. */
  refuse = false;
  /** Skip set_seq (the bug the explorer must catch). */
  forgetSetSeq = false;
  /** Called inside invalidate, under the user lock (tests inspect state there). */
  onInvalidate: ((range: MmuNotifierRange) => void) | null = null;
  readonly ops: MmuIntervalNotifierOps;

  constructor(
    readonly sched: Scheduler,
    readonly name: string,
    readonly journal: Journal = [],
    declareLock = true,
  ) {
    this.lock = new Mutex(sched, `${name}.user_lock`);
    const invalidate = async (
      mni: MmuIntervalNotifier,
      range: MmuNotifierRange,
      curSeq: number,
    ): Promise<boolean> => {
      const blockable = mmuNotifierRangeBlockable(range);
      if (this.refuse) return false;
      if (blockable) await mutexLock(this.lock);
      else if (mutexTrylock(this.lock) === 0) return false;
      if (!this.forgetSetSeq) mmuIntervalSetSeq(mni, curSeq);
      this.calls.push({
        name: this.name,
        event: mmuNotifyEventName(range.event).slice(11),
        start: range.start,
        end: range.end,
        blockable,
        curSeq,
      });
      this.journal.push(`${this.name}:invalidate`);
      this.onInvalidate?.(range);
      mutexUnlock(this.lock);
      return true;
    };
    this.ops = declareLock ? { invalidate, userLock: this.lock } : { invalidate };
  }

  /** Insert this driver's notifier for [start, start + length - 1]. */
  insert(mm: MmStruct, start: number, length: number): Promise<number> {
    return mmuIntervalNotifierInsert(this.mni, mm, start, length, this.ops);
  }

  /** Events seen, as 'CLEAR 0x1000-0x2000'. */
  seen(): string[] {
    return this.calls.map((c) => `${c.event} 0x${c.start.toString(16)}-0x${c.end.toString(16)}`);
  }
}
