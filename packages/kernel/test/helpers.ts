import {
  createRandom,
  createScheduler,
  randomPolicy,
  type SchedulePolicy,
  type Scheduler,
  type SchedulerOptions,
  type WaitHead,
} from '../src/index.ts';

/** A scheduler driven by randomPolicy(seed), tracing on. */
export function randomSched(seed: number, opts: SchedulerOptions = {}): Scheduler {
  return createScheduler({ policy: randomPolicy(createRandom(seed)), trace: true, ...opts });
}

/** A bare wait head for direct sched.sleep() tests. */
export function head(name: string): WaitHead {
  return { kind: 'test', name };
}

/** A scheduling point with a fixed label. */
export function yieldPoint(s: Scheduler, label = 'yield'): Promise<void> {
  return s.point({ kind: 'test.yield', label });
}

/** The first seed in [from, to) for which `pred` holds, printing it; undefined if none. */
export async function findSeed(
  what: string,
  from: number,
  to: number,
  pred: (seed: number) => Promise<boolean>,
): Promise<number | undefined> {
  for (let seed = from; seed < to; seed++) {
    if (await pred(seed)) {
      console.log(`${what}: found with seed ${seed}`);
      return seed;
    }
  }
  console.log(`${what}: not found for seeds [${from}, ${to})`);
  return undefined;
}

/** Switch to another runnable task whenever possible (maximal preemption, deterministic). */
export const alternatePolicy: SchedulePolicy = {
  name: 'alternate',
  pick: (ctx) =>
    ctx.choices.find((c) => c.type === 'task' && c.task !== ctx.current) ?? ctx.choices[0]!,
};

/** Fire a pending timer at every 'test.yield' point; otherwise keep the current task, else the lowest id. */
export const timerAtYieldPolicy: SchedulePolicy = {
  name: 'timer-at-yield',
  pick: (ctx) =>
    (ctx.event?.kind === 'test.yield' ? ctx.choices.find((c) => c.type === 'timer') : undefined) ??
    ctx.choices.find((c) => c.type === 'task' && c.task === ctx.current) ??
    ctx.choices[0]!,
};

/** Leave `lock` held forever by a task of a finished run (so the boot task cannot get it). */
export async function holdForever(s: Scheduler, take: () => Promise<void>): Promise<void> {
  s.spawn('holder', take);
  await s.run();
}
