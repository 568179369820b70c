import { Mutex, mutexUnlock, type SchedEvent } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { defineScenario, explore, replaySchedule } from '../src/index.ts';
import { transfer } from './helpers.ts';

const SPIN: SchedEvent = { kind: 'test.spin', label: 'forever' };

describe('violations', () => {
  it('checks the invariant at every decision and stops the run where it fails', async () => {
    const r = await explore(transfer, { bound: 0 });
    expect(r.violation?.kind).toBe('invariant');
    expect(r.violation?.message).toBe('a + b = 90; expected 100');
    // run start (step 1), then the mover's point (step 2): the run ends there.
    expect(r.minimal?.steps).toBe(2);
    const o = await replaySchedule(transfer, r.minimal!.schedule);
    expect(o.failure?.kind).toBe('invariant');
    expect(o.trace?.events.at(-1)?.kind).toBe('account.move');
  });

  it('reports a task that throws', async () => {
    const s = defineScenario({
      name: 'bad-unlock',
      description: 'unlocks a mutex it does not hold',
      setup: (sched) => ({ m: new Mutex(sched, 'm') }),
      tasks: [
        { name: 'ok', run: async () => {} },
        { name: 'bad', run: async (st) => mutexUnlock(st.m) },
      ],
    });
    const r = await explore(s);
    expect(r.violation?.kind).toBe('task-error');
    expect(r.violation?.message).toMatch(/task 'bad' threw KernelBugError: BUG: mutex_unlock\(m\)/);
  });

  it('reports the step limit (livelock guard)', async () => {
    const s = defineScenario({
      name: 'spinner',
      description: 'never ends',
      maxSteps: 50,
      setup: () => ({}),
      tasks: [
        {
          name: 'spin',
          run: async (_st, sched) => {
            for (;;) await sched.point(SPIN);
          },
        },
        { name: 'idle', run: async () => {} },
      ],
    });
    const r = await explore(s, { bound: 0 });
    expect(r.violation?.kind).toBe('step-limit');
    expect(r.violation?.message).toMatch(/exceeded 50 scheduler steps/);
  });

  it('runs the final check once all tasks finished', async () => {
    const s = defineScenario({
      name: 'final',
      description: 'final check fails',
      setup: () => ({ done: 0 }),
      tasks: [
        { name: 'a', run: async (st) => void st.done++ },
        { name: 'b', run: async (st) => void st.done++ },
      ],
      finalCheck(st) {
        throw new Error(`done=${st.done}`);
      },
    });
    const r = await explore(s);
    expect(r.violation).toMatchObject({ kind: 'final-check', message: 'done=2', preemptions: 0 });
  });
});
