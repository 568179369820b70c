import type { Task } from './task.ts';

/** One recorded event: which task did what, at which step and virtual time. */
export interface TraceEvent {
  readonly step: number;
  readonly taskId: number;
  readonly taskName: string;
  /** `<family>.<kernel_function>` e.g. 'lock.mutex_lock', 'lock.acquired', 'wait.wake_up'. */
  readonly kind: string;
  /** Usually the lock / queue name. */
  readonly label: string;
  readonly obj?: string;
  /** Virtual nanoseconds. */
  readonly time: number;
}

/** Where the tracer reads the step, current task and time from (the scheduler). */
export interface TraceSource {
  readonly step: number;
  readonly current: Task;
  readonly clock: { readonly now: number };
}

/**
 * Event recorder. When disabled, emit() is a single boolean test. Event kinds used by the
 * kernel package: `lock.<fn>` (points before acquiring), `lock.acquired`, `lock.contended`,
 * `lock.<release fn>`, `wait.<fn>`, `wait.sleep`, `completion.<fn>`, `sched.switch`,
 * `sched.block`, `sched.wake`, `sched.timer`, `sched.deadlock`, `task.start|exit|error`.
 */
export class Tracer {
  enabled: boolean;
  readonly events: TraceEvent[] = [];

  constructor(
    private readonly source: TraceSource,
    enabled = false,
  ) {
    this.enabled = enabled;
  }

  /** Record an event for the current task (no-op when disabled). */
  emit(kind: string, label: string, obj?: string): void {
    if (!this.enabled) return;
    const { step, current, clock } = this.source;
    const base = { step, taskId: current.id, taskName: current.name, kind, label, time: clock.now };
    this.events.push(obj === undefined ? base : { ...base, obj });
  }

  /** Forget all recorded events. */
  clear(): void {
    this.events.length = 0;
  }
}

/**
 * One line per event: `step  time  T<id>:<name>  kind label [obj]`.
 * Mirrors: model-only (a per-CPU trace in the spirit of kernel/trace/ftrace output).
 */
export function formatTrace(events: readonly TraceEvent[]): string {
  return events
    .map((e) => {
      const obj = e.obj === undefined ? '' : ` [${e.obj}]`;
      return `${e.step}\t${e.time}\tT${e.taskId}:${e.taskName}\t${e.kind} ${e.label}${obj}`;
    })
    .join('\n');
}
