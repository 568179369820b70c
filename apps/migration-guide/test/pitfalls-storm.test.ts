/**
 * Chapter 6, pitfall 10: the retry loop without a deadline, under a stream of invalidations that
 * goes on while the device keeps retrying — the explorer's step limit for the broken driver, and
 * the fixed one clean at bound 2, giving up with -EBUSY at its deadline in part of the schedules.
 */
import { explore, type Scenario } from '@hmmsim/explorer';
import { EBUSY } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { GUIDE_BOUND, minimalViolation } from '../src/harness/check.ts';
import type { GuideState } from '../src/harness/scenario.ts';
import { entry, exploreOnly } from './helpers.ts';

describe('pitfall-unbounded-retry', () => {
  it('under a stream of invalidations the loop never ends: still retrying long after 1000 ms', async () => {
    const r = await exploreOnly('pitfall-unbounded-retry');
    const v = minimalViolation(r);
    expect(v.kind).toBe('step-limit');
    expect(v.preemptions).toBe(1);
    const events = r.trace?.events ?? [];
    const begins = events.filter(
      (e) => e.taskName === 'cpu1 device access' && e.kind === 'mmu_interval.read_begin',
    );
    const busy = events.filter(
      (e) =>
        e.taskName === 'cpu1 device access' &&
        e.kind === 'hmm.range_fault' &&
        e.label.endsWith('-> -16'),
    );
    expect(begins.length).toBeGreaterThan(40);
    expect(busy.length).toBeGreaterThan(40);
    expect(events.some((e) => e.kind === 'dmirror.program')).toBe(false);
    const last = events.at(-1)!;
    // virtual time is ns; the driver's deadline would have ended this at about 1 s
    expect(last.time).toBeGreaterThan(20e9);
  });

  it('the fix (pitfall-reference-storm) is clean, and gives up with -EBUSY under the storm', async () => {
    const [s] = entry('pitfall-reference-storm').scenarios(undefined);
    const rets = new Map<number | undefined, number>();
    const r = await explore(s as Scenario<GuideState>, {
      strategy: 'dfs',
      bound: GUIDE_BOUND,
      onSchedule: (st) => rets.set(st.faultRet, (rets.get(st.faultRet) ?? 0) + 1),
    });
    expect(r.violation?.message).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(rets.get(-EBUSY)).toBe(921);
    expect(r.schedules).toBe(2225);
    expect([...rets.keys()].sort()).toEqual([-EBUSY, 0].sort());
    console.log(
      `pitfall-reference-storm: ${rets.get(-EBUSY)} of ${r.schedules} schedules end with -EBUSY at the deadline, ${rets.get(0)} succeed`,
    );
  });
});
