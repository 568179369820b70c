// Dynamic partial-order reduction: the same verdicts and the same set of final states as the
// unreduced search, on the textbook scenarios and on random programs of tasks that read, write
// and lock shared state; fewer schedules where steps are independent.
import {
  InvalidArgumentError,
  Mutex,
  mutexLock,
  mutexUnlock,
  noteRead,
  noteWrite,
  type SchedEvent,
  type Scheduler,
  WaitQueueHead,
  waitEventTimeout,
  wakeUpAll,
} from '@hmmsim/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abbaDeadlock,
  DPOR_PRESCREEN_BOUND,
  type DporUnitRunner,
  defineScenario,
  dividedDporSearch,
  dporSearch,
  explore,
  independentSteps,
  lostUpdate,
  lostUpdateMutex,
  type Scenario,
  ScenarioError,
  searchDporUnit,
  stateFingerprint,
  stateText,
  waitTimeout,
} from '../src/index.ts';

const fromEnv = process.env['FC_SEED'];
const fcSeed = fromEnv !== undefined ? Number(fromEnv) : Date.now() % 2 ** 31;
console.log(
  `[explorer dpor tests] fast-check seed ${fcSeed} (replay: FC_SEED=${fcSeed} npx vitest run --project @hmmsim/explorer test/dpor.test.ts)`,
);

/** Schedules the reduced search alone runs (no bounded pass in front), to the end. */
async function dporCount<S>(scenario: Scenario<S>): Promise<number> {
  const r = await dporSearch(scenario, {
    maxSchedules: Number.POSITIVE_INFINITY,
    visit: () => false,
  });
  expect(r.exhausted).toBe(true);
  return r.schedules;
}

/**
 * The distinct final states (by `fingerprint`) an unbounded search reaches, and its result: the
 * full search, or the reduced pass alone (without explore()'s bounded pass in front, whose
 * schedules would add states of their own).
 */
async function finalStates<S>(
  scenario: Scenario<S>,
  reduction: 'none' | 'dpor',
  fingerprint: (s: S) => string,
) {
  const seen = new Set<string>();
  const onSchedule = (state: S, outcome: { failure?: { kind: string } | undefined }) => {
    seen.add(`${fingerprint(state)} ${outcome.failure?.kind ?? 'ok'}`);
  };
  if (reduction === 'dpor') {
    const r = await dporSearch(scenario, {
      maxSchedules: Number.POSITIVE_INFINITY,
      visit: () => false,
      onSchedule,
    });
    return { seen: [...seen].sort(), result: r };
  }
  const result = await explore(scenario, {
    bound: Number.POSITIVE_INFINITY,
    reduction,
    minimise: false,
    onSchedule,
  });
  return { seen: [...seen].sort(), result };
}

describe('dpor on the textbook scenarios', () => {
  it('finds the lost update and the ABBA deadlock, as the full search does', async () => {
    for (const s of [lostUpdate, abbaDeadlock] as Scenario<unknown>[]) {
      const full = await explore(s, { bound: Number.POSITIVE_INFINITY, reduction: 'none' });
      const dpor = await explore(s, { bound: Number.POSITIVE_INFINITY });
      expect(dpor.reduction).toBe('dpor');
      expect(full.reduction).toBe('none');
      expect(dpor.minimal?.kind).toBe(full.minimal?.kind);
      expect(dpor.minimal?.schedule).toBe(full.minimal?.schedule);
    }
  });

  it('reaches every final state the full search reaches, in fewer schedules', async () => {
    const cases: [Scenario<never>, (s: never) => string][] = [
      [lostUpdateMutex as Scenario<never>, (s: { value: number }) => String(s.value)],
      [
        waitTimeout as Scenario<never>,
        (s: { ready: boolean; ret?: number }) => `${s.ready} ${s.ret}`,
      ],
      [independentSteps(3) as Scenario<never>, (s: { done: number[] }) => s.done.join(',')],
    ];
    for (const [scenario, fp] of cases) {
      const full = await finalStates(scenario, 'none', fp);
      const dpor = await finalStates(scenario, 'dpor', fp);
      expect(dpor.seen, scenario.name).toEqual(full.seen);
      expect(dpor.result.exhausted && full.result.exhausted, scenario.name).toBe(true);
      expect(await dporCount(scenario), scenario.name).toBeLessThan(full.result.schedules);
    }
  });

  it('divided into units, stops at the same first violation after the same runs', async () => {
    for (const s of [lostUpdate, abbaDeadlock, lostUpdateMutex] as Scenario<unknown>[]) {
      let first: string | undefined;
      const one = await dporSearch(s, {
        maxSchedules: Infinity,
        visit: (rec) => {
          first ??= rec.failure === undefined ? undefined : rec.schedule;
          return rec.failure !== undefined;
        },
      });
      for (const depth of [1, 2, 10]) {
        const divided = await dividedDporSearch(s, reversedUnits(), depth);
        expect(divided.schedules, `${s.name} depth ${depth}`).toBe(one.schedules);
        expect(divided.violation?.schedule, s.name).toBe(first);
        expect(divided.violation?.run, s.name).toBe(
          first === undefined ? undefined : one.schedules - 1,
        );
      }
    }
  });

  it('runs one schedule of tasks that share nothing', async () => {
    expect(await dporCount(independentSteps(4, 3))).toBe(1);
    const r = await explore(independentSteps(4, 3), { bound: Number.POSITIVE_INFINITY });
    expect(r.reduction).toBe('dpor');
    // The bounded pass in front (C(6,3)-style counts up to 2 preemptions) plus the one schedule.
    const prescreen = await explore(independentSteps(4, 3), { bound: DPOR_PRESCREEN_BOUND });
    expect(r.schedules).toBe(prescreen.schedules + 1);
    const full = await explore(independentSteps(3, 2), {
      bound: Number.POSITIVE_INFINITY,
      reduction: 'none',
    });
    expect(full.schedules).toBe(20); // C(6, 3)
  });
});

describe('when dpor applies', () => {
  const unreported = defineScenario({
    name: 'unreported',
    description: 'shares a counter without reporting it',
    setup: () => ({ x: 0 }),
    tasks: ['a', 'b'].map((name) => ({
      name,
      run: async (s: { x: number }, sched: Scheduler) => {
        await sched.point(EV);
        const v = s.x;
        await sched.point(EV);
        s.x = v + 1;
      },
    })),
  });

  it('is used only for an unbounded dfs of a scenario that reports its accesses', async () => {
    expect((await explore(lostUpdateMutex, { bound: 2 })).reduction).toBe('none');
    const unbounded = { bound: Number.POSITIVE_INFINITY };
    expect((await explore(lostUpdateMutex, unbounded)).reduction).toBe('dpor');
    expect((await explore(unreported, unbounded)).reduction).toBe('none');
  });

  it('refuses where it would be unsound, saying why', async () => {
    await expect(explore(lostUpdateMutex, { bound: 2, reduction: 'dpor' })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(
      explore(unreported, { bound: Number.POSITIVE_INFINITY, reduction: 'dpor' }),
    ).rejects.toThrow(ScenarioError);
    await expect(explore(lostUpdateMutex, { reduction: 'fast' as 'dpor' })).rejects.toThrow(
      /reduction 'fast'.*expected auto, dpor, none/,
    );
  });
});

// Random programs: 2-3 tasks, each a few operations on 2 shared variables and 2 mutexes, a flag
// raised with a wake-up and waited for with a timeout (so timers fire), and reads of the clock.
const EV: SchedEvent = { kind: 'op', label: 'x' };

type Op =
  | { readonly op: 'read'; readonly v: number }
  | { readonly op: 'write'; readonly v: number; readonly val: number }
  | { readonly op: 'inc'; readonly v: number }
  | { readonly op: 'locked'; readonly m: number; readonly body: readonly Op[] }
  | { readonly op: 'raise' }
  | { readonly op: 'await'; readonly jiffies: number }
  | { readonly op: 'time' };

interface ProgState {
  readonly vars: { value: number }[];
  readonly locks: Mutex[];
  readonly logs: number[][];
  readonly flag: { up: boolean };
  readonly wq: WaitQueueHead;
}

const leaf: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('read' as const), v: fc.nat(1) }),
  fc.record({
    op: fc.constant('write' as const),
    v: fc.nat(1),
    val: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ op: fc.constant('inc' as const), v: fc.nat(1) }),
  fc.record({ op: fc.constant('raise' as const) }),
  fc.record({ op: fc.constant('await' as const), jiffies: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ op: fc.constant('time' as const) }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: leaf },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('locked' as const),
      m: fc.nat(1),
      body: fc.array(leaf, { minLength: 1, maxLength: 2 }),
    }),
  },
);
/** Scheduling points an operation passes (a lock takes one, an increment two). */
function points(o: Op): number {
  if (o.op === 'locked') return 1 + o.body.reduce((n, b) => n + points(b), 0);
  return o.op === 'inc' || o.op === 'await' ? 2 : 1;
}

/** Programs small enough for the unreduced search: at most 8 scheduling points in all. */
const MAX_POINTS = 8;
const program = fc
  .array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 3 })
  .filter((p) => p.flat().reduce((n, o) => n + points(o), 0) <= MAX_POINTS);

/** Run `ops` as task `t`: every access after a scheduling point, reported. */
async function runOps(ops: readonly Op[], s: ProgState, t: number, sched: Scheduler) {
  for (const o of ops) {
    if (o.op === 'locked') {
      await mutexLock(s.locks[o.m]!);
      await runOps(o.body, s, t, sched);
      mutexUnlock(s.locks[o.m]!);
      continue;
    }
    if (o.op === 'raise') {
      await sched.point(EV);
      noteWrite(s.flag);
      s.flag.up = true;
      wakeUpAll(s.wq);
      continue;
    }
    if (o.op === 'await') {
      const cond = () => {
        noteRead(s.flag);
        return s.flag.up;
      };
      // What a task saw: the jiffies left (0: it timed out).
      s.logs[t]!.push(await waitEventTimeout(s.wq, cond, o.jiffies));
      continue;
    }
    if (o.op === 'time') {
      await sched.point(EV);
      s.logs[t]!.push(sched.clock.jiffies);
      continue;
    }
    const cell = s.vars[o.v]!;
    await sched.point(EV);
    if (o.op === 'read') {
      noteRead(cell);
      s.logs[t]!.push(cell.value);
    } else if (o.op === 'write') {
      noteWrite(cell);
      cell.value = o.val;
    } else {
      noteRead(cell);
      const v = cell.value;
      await sched.point(EV);
      noteWrite(cell);
      cell.value = v + 1;
    }
  }
}

/** The scenario of a random program. */
function programScenario(prog: readonly (readonly Op[])[]): Scenario<ProgState> {
  return defineScenario({
    name: 'random-program',
    description: 'a random program',
    accesses: 'reported',
    maxSteps: 1000,
    setup: (sched) => ({
      vars: [{ value: 0 }, { value: 0 }],
      locks: [new Mutex(sched, 'm0'), new Mutex(sched, 'm1')],
      logs: prog.map(() => []),
      flag: { up: false },
      wq: new WaitQueueHead(sched, 'flag'),
    }),
    tasks: prog.map((ops, t) => ({
      name: `t${t}`,
      run: (s: ProgState, sched: Scheduler) => runOps(ops, s, t, sched),
    })),
  });
}

/** Values of the variables and what each task read. */
const fingerprint = (s: ProgState): string =>
  `${s.vars.map((v) => v.value).join(',')} ${s.flag.up} | ${s.logs.map((l) => l.join(',')).join(' ; ')}`;

/**
 * A runner that holds units back and runs them one at a time, newest first: units run in another
 * order than one search would run them, which must not change anything.
 */
function reversedUnits(): DporUnitRunner & { ran: number } {
  const queue: (() => Promise<void>)[] = [];
  let busy = false;
  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    while (queue.length > 0) await queue.pop()!();
    busy = false;
  };
  const runner = {
    ran: 0,
    parallel: 4,
    cancel: () => {
      queue.length = 0;
    },
    run: ((scenario, spec, onProgress) =>
      new Promise((resolve, reject) => {
        queue.push(() => {
          runner.ran++;
          return searchDporUnit(scenario, spec, onProgress).then(resolve, reject);
        });
        void Promise.resolve().then(pump);
      })) as DporUnitRunner['run'],
  };
  return runner;
}

describe('dpor on random programs', () => {
  it('reaches exactly the final states the full search reaches', async () => {
    let fewer = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(program, async (prog) => {
        const scenario = programScenario(prog);
        const full = await finalStates(scenario, 'none', fingerprint);
        const dpor = await finalStates(scenario, 'dpor', fingerprint);
        expect(dpor.seen).toEqual(full.seen);
        const reduced = await dporCount(scenario);
        expect(reduced).toBeLessThanOrEqual(full.result.schedules);
        // Divided into units (cut 2 decisions deep) run out of order: the same runs.
        const one = await dporSearch(scenario, { maxSchedules: Infinity, visit: () => false });
        const divided = await dividedDporSearch(scenario, reversedUnits(), 2);
        expect([divided.schedules, divided.steps, divided.exhausted]).toEqual([
          one.schedules,
          one.steps,
          true,
        ]);
        runs++;
        if (reduced < full.result.schedules) fewer++;
      }),
      { seed: fcSeed, numRuns: 150 },
    );
    // The reduction is not vacuous: most random programs have independent steps to skip.
    expect(fewer).toBeGreaterThan(runs / 2);
  });
});

describe('stateFingerprint', () => {
  it('is equal for equal data, whatever the Map and Set order or the step numbers', () => {
    const a = {
      m: new Map([
        [1, 'a'],
        [2, 'b'],
      ]),
      s: new Set([3, 4]),
      log: [{ step: 5, x: 1 }],
    };
    const b = {
      m: new Map([
        [2, 'b'],
        [1, 'a'],
      ]),
      s: new Set([4, 3]),
      log: [{ step: 9, x: 1 }],
    };
    expect(stateFingerprint(a)).toBe(stateFingerprint(b));
  });

  it('differs when any reachable value, typed array byte or array order differs', () => {
    const base = () => ({ arr: [1, 2], bytes: new Uint32Array([7, 8]), o: { v: 'x' } });
    const fp = stateFingerprint(base());
    const arr = base();
    arr.arr.reverse();
    const bytes = base();
    bytes.bytes[1] = 9;
    const nested = base();
    nested.o.v = 'y';
    for (const other of [arr, bytes, nested]) expect(stateFingerprint(other)).not.toBe(fp);
  });

  it('follows shared references and cycles without looping', () => {
    const shared = { v: 1 };
    const cyc: { self?: unknown; a: object; b: object } = { a: shared, b: shared };
    cyc.self = cyc;
    expect(stateText(cyc)).toContain('@');
    expect(stateFingerprint(cyc)).toMatch(/^[0-9a-f]+$/);
  });
});
