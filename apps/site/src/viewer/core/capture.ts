/**
 * What the viewer shows at each step, read from a scenario's state without changing it: the CPU
 * and device page tables over the mirrored range (with the broken entries marked), the notifier
 * sequences and legacy `valid` flags, and — from the trace — which locks each task holds.
 */
import { cpuMappingAt, deviceMirrorViolations, type Hmm, hmmsOf, shim } from '@hmmsim/hmm-mirror';
import { PAGE_SIZE, type TraceEvent } from '@hmmsim/kernel';
import { mmuNotifierMmOf } from '@hmmsim/mmu-notifier';
import type { StateProbe } from './registry.ts';
import type {
  HmmView,
  IntervalView,
  LaneInfo,
  LaneState,
  LockHold,
  PageView,
  StateView,
} from './types.ts';

/** An interval notifier as read from the state; the fault path's sample is filled in later. */
interface RawInterval extends Omit<IntervalView, 'sample' | 'retry'> {
  /** The shim range's own sample (undefined for a driver's notifier). */
  readonly shimSample: number | undefined;
  readonly isShim: boolean;
}

/** The state part of a StateView, read at one scheduling point. */
export interface RawState {
  /** Trace events recorded when it was read. */
  readonly eventCount: number;
  readonly pages: readonly PageView[];
  readonly mmSeq: number | undefined;
  readonly activeInvalidations: number;
  readonly intervals: readonly RawInterval[];
  readonly hmms: readonly HmmView[];
}

/** The pages of the mirrored range: CPU entry, device entry, and what is wrong with the latter. */
export function capturePages(probe: StateProbe): PageView[] {
  const { dev, mm } = probe;
  const bad = new Map(deviceMirrorViolations(dev, mm).map((v) => [v.index, v]));
  const pages: PageView[] = [];
  for (let i = 0; i < dev.npages; i++) {
    const addr = dev.start + i * PAGE_SIZE;
    const cpu = cpuMappingAt(mm, addr);
    const device = dev.entry(i);
    const v = bad.get(i);
    pages.push({
      index: i,
      addr,
      cpu: cpu === null ? null : { pfn: cpu.pfn, write: cpu.write },
      device: device === null ? null : { pfn: device.pfn, write: device.write },
      problem: v?.kind,
      owner: v?.kind === 'stale' && device !== null ? probe.owner(device.pfn) : '',
    });
  }
  return pages;
}

/** The struct hmm objects of the mm, with each registered range's hmm_range_valid() answer. */
function captureHmms(probe: StateProbe): HmmView[] {
  return hmmsOf(probe.mm).map((h: Hmm) => ({
    kind: h.kind,
    notifiers: h.notifiers,
    ranges: h.ranges.map((r) => ({
      start: r.start,
      end: r.end,
      // The shim answers hmm_range_valid() with !mmu_interval_read_retry(notifier, sample).
      valid:
        h.kind === 'shim' && r.notifier !== null
          ? r.notifier.invalidateSeq === r.notifierSeq
          : r.valid,
    })),
  }));
}

/** Read everything but the locks from a scenario state. */
export function captureState(probe: StateProbe, eventCount: number): RawState {
  const m = mmuNotifierMmOf(probe.mm);
  const intervals: RawInterval[] = [];
  if (m !== null) {
    for (const id of m.itree.inOrder()) {
      const mni = m.itree.payload(id);
      const isShim = mni instanceof shim.ShimRangeNotifier;
      const range = isShim ? (mni as InstanceType<typeof shim.ShimRangeNotifier>).range : null;
      intervals.push({
        label: isShim
          ? range === null
            ? 'shim notifier (range unregistered)'
            : 'shim range notifier'
          : 'driver notifier',
        start: mni.itStart,
        last: mni.itLast,
        seq: mni.invalidateSeq,
        shimSample: range === null ? undefined : range.notifierSeq,
        isShim,
      });
    }
  }
  return {
    eventCount,
    pages: capturePages(probe),
    mmSeq: m === null || !m.hasItree ? undefined : m.invalidateSeq,
    activeInvalidations: m?.activeInvalidateRanges ?? 0,
    intervals,
    hmms: captureHmms(probe),
  };
}

/** The lock a lock event names: 'mmap_sem [mm1]'. */
function lockKey(e: TraceEvent): string {
  return e.obj === undefined ? e.label : `${e.label} [${e.obj}]`;
}

/** The hold mode each lock point event asks for. */
const POINT_MODE: Readonly<Record<string, LockHold['mode']>> = {
  'lock.down_read': 'read',
  'lock.down_write': 'write',
  'lock.mutex_lock': 'mutex',
  'lock.spin_lock': 'spin',
};

/** The events that release a lock. */
const RELEASES: ReadonlySet<string> = new Set([
  'lock.mutex_unlock',
  'lock.spin_unlock',
  'lock.up_read',
  'lock.up_write',
]);

/** One task as the trace shows it. */
interface LaneTrack {
  status: LaneState['status'];
  readonly holds: Map<string, LockHold['mode']>;
  /** Mode asked for by the last lock point, per lock. */
  readonly asked: Map<string, LockHold['mode']>;
  waitingFor: string | undefined;
}

/**
 * Follows a run's trace events in order and knows, after each one, each task's status, the locks
 * it holds and the one it is queued on, and the last sequence mmu_interval_read_begin() returned.
 */
export class LaneTracker {
  private readonly tracks = new Map<number, LaneTrack>();
  private readonly idByName: Map<string, number>;
  /** Events fed so far. */
  fed = 0;
  /** The last mmu_interval_read_begin() result in the trace. */
  lastReadBegin: number | undefined = undefined;

  constructor(private readonly lanes: readonly LaneInfo[]) {
    this.idByName = new Map(lanes.map((l) => [l.name, l.id]));
    for (const l of lanes) {
      this.tracks.set(l.id, {
        status: 'not started',
        holds: new Map(),
        asked: new Map(),
        waitingFor: undefined,
      });
    }
  }

  /** Feed events [fed, upTo) of `events`. */
  feedTo(events: readonly TraceEvent[], upTo: number): void {
    for (; this.fed < upTo && this.fed < events.length; this.fed++) this.feed(events[this.fed]!);
  }

  private setStatus(id: number | undefined, status: LaneState['status']): void {
    const t = id === undefined ? undefined : this.tracks.get(id);
    if (t !== undefined && t.status !== 'exited') t.status = status;
  }

  private feed(e: TraceEvent): void {
    const t = this.tracks.get(e.taskId);
    switch (e.kind) {
      case 'task.start':
        this.setStatus(e.taskId, 'running');
        return;
      case 'task.exit':
        this.setStatus(e.taskId, 'exited');
        t?.asked.clear();
        return;
      case 'sched.block':
        this.setStatus(e.taskId, 'blocked');
        return;
      case 'sched.wake':
        if (this.tracks.get(this.idByName.get(e.label) ?? -1)?.status === 'blocked') {
          this.setStatus(this.idByName.get(e.label), 'runnable');
        }
        return;
      case 'sched.switch': {
        const to = this.idByName.get(e.label);
        if (to === e.taskId) return;
        if (t !== undefined && t.status === 'running') t.status = 'runnable';
        const next = to === undefined ? undefined : this.tracks.get(to);
        if (next !== undefined && next.status !== 'not started') this.setStatus(to, 'running');
        return;
      }
      case 'mmu_interval.read_begin': {
        const m = /seq=(\d+)/.exec(e.label);
        if (m !== null) this.lastReadBegin = Number(m[1]);
        return;
      }
      default:
        break;
    }
    if (t === undefined || !e.kind.startsWith('lock.')) return;
    const key = lockKey(e);
    const asked = POINT_MODE[e.kind];
    if (asked !== undefined) t.asked.set(key, asked);
    else if (e.kind === 'lock.contended') t.waitingFor = key;
    else if (e.kind === 'lock.acquired') {
      t.holds.set(key, t.asked.get(key) ?? 'held');
      t.asked.delete(key);
      if (t.waitingFor === key) t.waitingFor = undefined;
    } else if (e.kind === 'lock.downgrade_write') t.holds.set(key, 'read');
    else if (RELEASES.has(e.kind)) t.holds.delete(key);
  }

  /** Each lane's status, holds and wait now. */
  snapshot(): LaneState[] {
    return this.lanes.map((l) => {
      const t = this.tracks.get(l.id)!;
      return {
        lane: l.id,
        name: l.name,
        status: t.status,
        holds: [...t.holds.entries()].map(([lock, mode]) => ({ lock, mode })),
        taking: [...t.asked.keys()].find((k) => k !== t.waitingFor),
        waitingFor: t.waitingFor,
      };
    });
  }
}

/** The StateView of `raw`, with the locks and read_begin sample of `tracker` (fed up to raw.eventCount). */
export function stateView(raw: RawState, tracker: LaneTracker): StateView {
  const sample = tracker.lastReadBegin;
  const intervals = raw.intervals.map((iv): IntervalView => {
    const s = iv.isShim ? iv.shimSample : sample;
    return {
      label: iv.label,
      start: iv.start,
      last: iv.last,
      seq: iv.seq,
      sample: s,
      retry: s === undefined ? undefined : iv.seq !== s,
    };
  });
  return {
    pages: raw.pages,
    seq: {
      mmSeq: raw.mmSeq,
      activeInvalidations: raw.activeInvalidations,
      intervals,
      hmms: raw.hmms,
    },
    lanes: tracker.snapshot(),
    problems: raw.pages.filter((p) => p.problem !== undefined).length,
  };
}
