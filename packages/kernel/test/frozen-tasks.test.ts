// A task frozen by the end of its run (a step limit, a policy that stops the run) never resumes,
// and nothing keeps it alive: what it holds (a whole simulated machine, in the explorer) can be
// collected. A search runs hundreds of thousands of such runs.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createScheduler } from '../src/index.ts';
import { yieldPoint } from './helpers.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** What a frozen run leaves to look at: a weak reference to what its task held, and a flag. */
interface Frozen {
  ref: WeakRef<object> | undefined;
  resumed: boolean;
}

/** A task that makes `payload`, then spins holding it until the end of the run freezes it. */
function spinner(s: ReturnType<typeof createScheduler>, out: Frozen): () => Promise<void> {
  return async () => {
    const payload = { big: new Array(1000).fill(0) };
    out.ref = new WeakRef(payload);
    for (;;) {
      await yieldPoint(s);
      if (payload.big.length === 0) out.resumed = true; // uses the payload after every await
    }
  };
}

/** Run a scheduler whose one task spins until the step limit freezes it. */
async function runFrozen(): Promise<Frozen> {
  const out: Frozen = { ref: undefined, resumed: false };
  const s = createScheduler({ maxSteps: 20 });
  s.spawn('spinner', spinner(s, out));
  const r = await s.run();
  expect(r.stepLimitReached).toBe(true);
  return out;
}

describe('a task frozen by the end of its run', () => {
  it('is collected with what it holds, and never resumes', async () => {
    const runs = await Promise.all([runFrozen(), runFrozen(), runFrozen()]);
    await nextTurn();
    gc();
    await nextTurn();
    gc();
    expect(runs.map((r) => r.ref !== undefined && r.ref.deref() === undefined)).toEqual([
      true,
      true,
      true,
    ]);
    expect(runs.some((r) => r.resumed)).toBe(false);
  });
});
