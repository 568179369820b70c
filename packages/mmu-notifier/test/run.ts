import type { RunResult, Scheduler } from '@hmmsim/kernel';
import { expect } from 'vitest';

/** Spawn `tasks` (in order) and run them with the scheduler's policy; fail on errors/deadlock. */
export async function runTasks(
  sched: Scheduler,
  tasks: Record<string, () => Promise<void>>,
  opts: { allowDeadlock?: boolean; allowErrors?: boolean } = {},
): Promise<RunResult> {
  for (const [name, fn] of Object.entries(tasks)) sched.spawn(name, fn);
  const r = await sched.run();
  if (opts.allowErrors !== true)
    expect(r.errors.map((e) => `${e.taskName}: ${String(e.error)}`)).toEqual([]);
  if (opts.allowDeadlock !== true) expect(r.deadlock?.message).toBeUndefined();
  return r;
}
