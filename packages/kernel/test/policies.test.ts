import { describe, expect, it } from 'vitest';
import {
  type Choice,
  createRandom,
  createScheduler,
  freeRunningPolicy,
  InvalidArgumentError,
  type PickContext,
  randomPolicy,
  type Task,
} from '../src/index.ts';

const TIMER: Choice = { type: 'timer' };

function tasks(n: number): Task[] {
  const s = createScheduler();
  return Array.from({ length: n }, (_, i) => s.spawn(`t${i + 1}`, async () => {}));
}

function ctx(current: Task | undefined, choices: Choice[]): PickContext {
  return { step: 1, current, choices, event: undefined };
}

const taskChoice = (task: Task): Choice => ({ type: 'task', task });

describe('freeRunningPolicy', () => {
  const [a, b, c] = tasks(3) as [Task, Task, Task];
  const p = freeRunningPolicy();

  it('keeps the current task when it is runnable, even with a timer pending', () => {
    expect(p.pick(ctx(b, [taskChoice(a), taskChoice(b), TIMER]))).toEqual(taskChoice(b));
  });

  it('otherwise takes the lowest-id runnable task', () => {
    expect(p.pick(ctx(c, [taskChoice(a), taskChoice(b), TIMER]))).toEqual(taskChoice(a));
    expect(p.pick(ctx(undefined, [taskChoice(b), taskChoice(c)]))).toEqual(taskChoice(b));
  });

  it('fires the timer only when no task is runnable', () => {
    expect(p.pick(ctx(a, [TIMER]))).toBe(TIMER);
  });
});

describe('randomPolicy (seeded)', () => {
  const [a, b, c] = tasks(3) as [Task, Task, Task];

  it('seed 11: spreads picks over all runnable tasks and never picks the timer at p=0', () => {
    const p = randomPolicy(createRandom(11), { timerProbability: 0 });
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const ch = p.pick(ctx(a, [taskChoice(a), taskChoice(b), taskChoice(c), TIMER]));
      const key = ch.type === 'timer' ? 'timer' : ch.task.name;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.get('timer')).toBeUndefined();
    for (const t of ['t1', 't2', 't3']) expect(counts.get(t)).toBeGreaterThan(60);
  });

  it('seed 12: always fires the timer at p=1, and when it is the only choice', () => {
    const p1 = randomPolicy(createRandom(12), { timerProbability: 1 });
    expect(p1.pick(ctx(a, [taskChoice(a), TIMER]))).toBe(TIMER);
    const p0 = randomPolicy(createRandom(12), { timerProbability: 0 });
    expect(p0.pick(ctx(a, [TIMER]))).toBe(TIMER);
  });

  it('rejects a timerProbability outside [0, 1]', () => {
    const r = createRandom(1);
    expect(() => randomPolicy(r, { timerProbability: -0.1 })).toThrow(InvalidArgumentError);
    expect(() => randomPolicy(r, { timerProbability: 2 })).toThrow(/expected a number in \[0, 1\]/);
    expect(() => randomPolicy(r, { timerProbability: Number.NaN })).toThrow(InvalidArgumentError);
  });
});
