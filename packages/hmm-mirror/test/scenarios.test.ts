import { explore, formatTraceTable, replaySchedule, type TraceRecord } from '@hmmsim/explorer';
import { EFAULT, EPERM } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  INTERVAL_DRIVER_MISTAKES,
  type IntervalDriverMistake,
  MISTAKE_DESCRIPTIONS,
  mistakeScenario,
  RACE_IMPLS,
  RACE_OPS,
  type RaceImpl,
  type RaceOp,
  type RaceState,
  raceScenario,
  runRace,
  scenarios,
} from '../src/index.ts';

const BOUND = 2;

/** Index of the first event of `task` matching `pred` in a trace. */
function indexOf(trace: TraceRecord, pred: (kind: string, label: string) => boolean): number {
  return trace.events.findIndex((e) => pred(e.kind, e.label));
}

describe('race scenarios: list', () => {
  it('one per operation and implementation (legacy expected to violate), then one per porting mistake', () => {
    expect(scenarios.map((s) => s.name)).toEqual([
      ...RACE_OPS.flatMap((op) => RACE_IMPLS.map((impl) => `hmm-race-${op}-${impl}`)),
      ...INTERVAL_DRIVER_MISTAKES.map((m) => `hmm-mistake-${m}`),
      'hmm-mistake-set-seq-outside-lock-no-lockdep',
      'hmm-mistake-retry-outside-lock-no-lockdep',
    ]);
    for (const s of scenarios) {
      const bad = s.name.endsWith('-legacy') || s.name.startsWith('hmm-mistake-');
      expect(s.expect).toBe(bad ? 'violation' : 'pass');
      expect(s.tasks.map((t) => t.name)[1]).toBe('cpu1 device fault');
    }
  });
});

describe('the legacy driver races (the seed commit timeline)', () => {
  for (const op of RACE_OPS) {
    it(`${op}: violation with a 1-preemption minimal trace`, async () => {
      const r = await explore(raceScenario(op, 'legacy'), { bound: BOUND });
      expect(r.violation?.kind).toBe('invariant');
      expect(r.minimal?.preemptions).toBe(1);
      const trace = r.trace as TraceRecord;
      // CPU1's hmm_range_fault, then CPU0's whole invalidation, then CPU1's valid check.
      const fault = indexOf(trace, (k) => k === 'driver.hmm_range_fault');
      const start = indexOf(trace, (k) => k === 'hmm.invalidate_start');
      const end = indexOf(trace, (k) => k === 'hmm.invalidate_end');
      const valid = indexOf(trace, (k, l) => k === 'driver.hmm_range_valid' && l === 'true');
      const program = indexOf(trace, (k) => k === 'driver.program');
      expect(fault).toBeGreaterThanOrEqual(0);
      expect([fault < start, start < end, end < valid, valid < program]).toEqual([
        true,
        true,
        true,
        true,
      ]);
      const msg = r.minimal?.message ?? '';
      if (op === 'mprotect') {
        expect(msg).toMatch(/device write without CPU write/);
      } else {
        expect(msg).toMatch(/stale device mapping/);
        expect(msg).toMatch(/now belongs to mm\d+ \(another process\) at 0x20000000/);
      }
      const again = await replaySchedule(raceScenario(op, 'legacy'), r.minimal?.schedule ?? '');
      expect(again.failure?.kind).toBe('invariant');
      expect(formatTraceTable(again.trace as TraceRecord)).toMatch(/driver\.hmm_range_valid true/);
    });
  }

  it('nouveau v5.4 holding mmap_sem until programming: munmap/mprotect cannot race, reclaim still does', async () => {
    const opts = { holdMmapSem: true };
    const munmap = await explore(raceScenario('munmap', 'legacy', opts), { bound: BOUND });
    const mprotect = await explore(raceScenario('mprotect', 'legacy', opts), { bound: BOUND });
    const reclaim = await explore(raceScenario('reclaim', 'legacy', opts), { bound: BOUND });
    expect([munmap.violation, mprotect.violation]).toEqual([undefined, undefined]);
    expect([munmap.exhausted, mprotect.exhausted]).toEqual([true, true]);
    expect(reclaim.violation?.message).toMatch(/stale device mapping/);
    expect(raceScenario('reclaim', 'legacy', opts).name).toBe(
      'hmm-race-reclaim-legacy-hold-mmap-sem',
    );
  });
});

describe(`shim and native: 0 violations over every schedule with preemption bound ${BOUND}`, () => {
  for (const impl of ['shim', 'interval'] as const satisfies readonly RaceImpl[]) {
    for (const op of RACE_OPS) {
      it(`${op} on ${impl}: exhausted, clean, and the collision was seen and retried`, async () => {
        let collided = 0;
        let programmedAfterRetry = 0;
        const results = new Set<number>();
        const r = await explore(raceScenario(op as RaceOp, impl), {
          bound: BOUND,
          onSchedule: (s: RaceState) => {
            const f = s.driver.faults[0];
            if (f === undefined) return;
            results.add(f.ret);
            if (f.tries > 1) collided++;
            if (f.tries > 1 && f.ret === 0) programmedAfterRetry++;
          },
        });
        expect(r.violation).toBeUndefined();
        expect(r.exhausted).toBe(true);
        expect(r.schedules).toBeGreaterThan(20);
        expect(collided).toBeGreaterThan(0);
        if (op === 'reclaim') expect(programmedAfterRetry).toBeGreaterThan(0); // swapped back in
        if (op === 'munmap') expect(results.has(-EFAULT)).toBe(true);
        if (op === 'mprotect') expect(results.has(-EPERM)).toBe(true);
        expect(results.has(0)).toBe(true);
      });
    }
  }
});

describe('shim and native with preemption bound 3', () => {
  it('munmap: still clean and exhausted', async () => {
    for (const impl of ['shim', 'interval'] as const) {
      const r = await explore(raceScenario('munmap', impl), { bound: 3 });
      expect(r.violation).toBeUndefined();
      expect(r.exhausted).toBe(true);
    }
  });
});

describe('runRace', () => {
  it('legacy: every scenario violates, the freed page is owned by the other process', async () => {
    const rep = await runRace('legacy');
    expect(rep.asExpected).toBe(true);
    expect(rep.violations).toBe(3);
    const munmap = rep.results.find((x) => x.op === 'munmap')?.violation;
    expect(munmap?.broken).toEqual([
      expect.objectContaining({
        kind: 'stale',
        addr: 0x10001000,
        owner: expect.stringMatching(/another process/),
      }),
    ]);
    expect(munmap?.reallocated?.pfn).toBe(munmap?.broken[0]?.pfn);
    const mprotect = rep.results.find((x) => x.op === 'mprotect')?.violation;
    expect(mprotect?.broken.map((b) => b.kind)).toEqual(['writable', 'writable']);
    expect(mprotect?.reallocated).toBeUndefined();
  });

  it('shim and interval: clean and exhausted', async () => {
    for (const impl of ['shim', 'interval'] as const) {
      const rep = await runRace(impl, { ops: ['munmap'] });
      expect(rep.asExpected).toBe(true);
      expect(rep.violations).toBe(0);
      expect(rep.results[0]?.exhausted).toBe(true);
    }
  });
});

/**
 * Each porting mistake, at the lowest preemption bound that can show it, and how it shows: a
 * stale device entry (invariant), the core's WARN or a lockdep-style report (task-error).
 */
const MISTAKE_FOUND: Record<IntervalDriverMistake, { bound: number; kind: string; text: RegExp }> =
  {
    'forgot-set-seq': { bound: 1, kind: 'invariant', text: /stale device mapping/ },
    'set-seq-outside-lock': {
      bound: 0,
      kind: 'task-error',
      text: /mmu_interval_set_seq\(\) by task .* without mutex/,
    },
    'retry-outside-lock': {
      bound: 0,
      kind: 'task-error',
      text: /mmu_interval_read_retry\(\) by task .* without mutex/,
    },
    'program-before-retry': { bound: 1, kind: 'invariant', text: /stale device mapping/ },
    'begin-after-fault': { bound: 1, kind: 'invariant', text: /stale device mapping/ },
    'begin-under-lock': {
      bound: 0,
      kind: 'task-error',
      text: /lockdep: mmu_interval_read_begin\(\) called .* while holding/,
    },
    'refuse-blockable': {
      bound: 0,
      kind: 'task-error',
      text: /invalidate returned false for a blockable range/,
    },
    'retry-with-stale-seq': {
      bound: 1,
      kind: 'step-limit',
      text: /livelock: 'cpu1 device fault' repeated the same \d+-event turn [\d,]+ times .*sequence it retries with never changes/,
    },
  };

describe('porting mistakes: each caught at the lowest bound that shows it', () => {
  for (const m of INTERVAL_DRIVER_MISTAKES) {
    const { bound, kind, text } = MISTAKE_FOUND[m];
    it(`${m}: found at bound ${bound}${bound > 0 ? `, not at ${bound - 1}` : ''} (${kind})`, async () => {
      const sc = mistakeScenario(m);
      expect(sc.description).toContain(MISTAKE_DESCRIPTIONS[m]);
      const r = await explore(sc, { bound });
      expect(r.violation?.kind).toBe(kind);
      expect(r.minimal?.message).toMatch(text);
      if (bound > 0) {
        const below = await explore(sc, { bound: bound - 1 });
        expect(below.violation).toBeUndefined();
        expect(below.exhausted).toBe(true);
      }
    });
  }

  for (const m of ['set-seq-outside-lock', 'retry-outside-lock'] as const) {
    it(`${m} without the lockdep hint: the stale entry itself is found at bound 1`, async () => {
      const sc = mistakeScenario(m, { lockdepHint: false });
      expect((await explore(sc, { bound: 0 })).violation).toBeUndefined();
      const r = await explore(sc, { bound: 1 });
      expect(r.violation?.kind).toBe('invariant');
      expect(r.minimal?.message).toMatch(/stale device mapping/);
      expect(r.minimal?.preemptions).toBe(1);
    });
  }

  it('program-before-retry is seen at bound 1 because the invariant runs after every step', async () => {
    // The stale entry is overwritten by the retry pass before any decision with two runnable
    // tasks: a check only at decisions would miss it at this bound.
    const r = await explore(mistakeScenario('program-before-retry'), { bound: 1 });
    expect(r.minimal?.preemptions).toBe(1);
  });

  it('the correct driver is clean where the mistakes are found (bound 2, exhausted)', async () => {
    const r = await explore(raceScenario('munmap', 'interval'), { bound: 2 });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
  });
});
