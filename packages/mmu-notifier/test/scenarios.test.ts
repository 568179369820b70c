import { explore, replaySchedule } from '@hmmsim/explorer';
import { EFAULT } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  collisionRetryNeverStale,
  forgottenSetSeqCaught,
  insertDuringInvalidationDeferred,
  type MmuNotifierLogEvent,
  readBeginSleepsWhileInvalidated,
  removeWaitsForInvalidation,
  scenarios,
  unregisterWaitsForCallbacks,
} from '../src/index.ts';

const BOUND = 2;

/** Explore exhaustively and count, per label, the schedules whose final state matched. */
async function coverage<S extends { log: { events: MmuNotifierLogEvent[] } }, K extends string>(
  scenario: Parameters<typeof explore<S>>[0],
  probes: Record<K, (s: S) => boolean>,
) {
  const hits = Object.fromEntries(Object.keys(probes).map((k) => [k, 0])) as Record<K, number>;
  const r = await explore(scenario, {
    bound: BOUND,
    onSchedule: (s) => {
      for (const k of Object.keys(probes) as K[]) if (probes[k](s)) hits[k]++;
    },
  });
  return { r, hits };
}

const has = (events: MmuNotifierLogEvent[], pred: (e: MmuNotifierLogEvent) => boolean): boolean =>
  events.some(pred);

describe(`explorer scenarios, exhaustive with preemption bound ${BOUND}`, () => {
  it('are exported as a list with unique kebab-case names and expectations', () => {
    expect(scenarios.map((s) => s.name)).toEqual([
      'mmu-interval-insert-deferred',
      'mmu-interval-remove-waits',
      'mmu-interval-read-begin',
      'mmu-interval-collision-retry',
      'mmu-interval-forgot-set-seq',
      'mmu-notifier-unregister-waits',
    ]);
    for (const s of scenarios) expect(s.expect === 'pass' || s.expect === 'violation').toBe(true);
  });

  it('insert during an invalidation is deferred (and both orders are explored)', async () => {
    const { r, hits } = await coverage(insertDuringInvalidationDeferred, {
      deferred: (s) => has(s.log.events, (e) => e.kind === 'insert' && e.deferred),
      immediate: (s) => has(s.log.events, (e) => e.kind === 'insert' && !e.deferred),
      readBeginSlept: (s) => has(s.log.events, (e) => e.kind === 'read-begin' && e.slept),
      bCalled: (s) => s.b.calls > 0,
    });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(hits.deferred).toBeGreaterThan(0);
    expect(hits.immediate).toBeGreaterThan(0);
    expect(hits.readBeginSlept).toBeGreaterThan(0);
    expect(hits.bCalled).toBeGreaterThan(0); // inserted before the window: then it is called
  });

  it('remove waits for the invalidation window', async () => {
    const { r, hits } = await coverage(removeWaitsForInvalidation, {
      waited: (s) => has(s.log.events, (e) => e.kind === 'tree-unlink' && e.deferred),
      immediate: (s) => has(s.log.events, (e) => e.kind === 'tree-unlink' && !e.deferred),
      notCalled: (s) => s.a.calls === 0,
    });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(hits.waited).toBeGreaterThan(0);
    expect(hits.immediate).toBeGreaterThan(0);
    expect(hits.notCalled).toBeGreaterThan(0);
  });

  it('read_begin sleeps while its notifier is invalidated; read_retry judges right', async () => {
    const { r, hits } = await coverage(readBeginSleepsWhileInvalidated, {
      slept: (s) => has(s.log.events, (e) => e.kind === 'read-begin' && e.slept),
      retryTrue: (s) => s.result?.retry === true,
      retryFalse: (s) => s.result?.retry === false,
    });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(hits.slept).toBeGreaterThan(0);
    expect(hits.retryTrue).toBeGreaterThan(0);
    expect(hits.retryFalse).toBeGreaterThan(0);
  });

  it('a driver following the collision-retry pattern never keeps a stale mapping', async () => {
    const { r, hits } = await coverage(collisionRetryNeverStale, {
      programmed: (s) => s.drv.programmed.length > 0,
      collided: (s) => has(s.log.events, (e) => e.kind === 'read-retry' && e.ret),
      efault: (s) => s.faultRet === -EFAULT,
    });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(hits.programmed).toBeGreaterThan(0);
    expect(hits.collided).toBeGreaterThan(0);
    expect(hits.efault).toBeGreaterThan(0);
  });

  it('a driver that forgets mmu_interval_set_seq is caught, with a one-preemption replayable trace', async () => {
    const r = await explore(forgottenSetSeqCaught, { bound: BOUND });
    expect(r.violation?.kind).toBe('invariant');
    expect(r.minimal?.message).toMatch(
      /stale device mapping: 0x10000000 -> pfn \d+ on the device, but the CPU maps nothing/,
    );
    expect(r.minimal?.preemptions).toBe(1);
    const again = await replaySchedule(forgottenSetSeqCaught, r.minimal!.schedule);
    expect(again.failure?.message).toBe(r.minimal?.message);
    // the correct driver, same schedule: no violation
    const fixed = await replaySchedule(collisionRetryNeverStale, r.minimal!.schedule);
    expect(fixed.failure).toBeUndefined();
  });

  it('legacy unregister waits for a callback in flight', async () => {
    const { r, hits } = await coverage(unregisterWaitsForCallbacks, {
      waited: (s) => {
        const ev = s.log.events;
        const rel = ev.findIndex((e) => e.kind === 'hlist-cb-enter' && e.op === 'release');
        const done = ev.findIndex((e) => e.kind === 'unregister-done');
        const enteredBefore = ev.slice(0, rel).filter((e) => e.kind === 'hlist-cb-enter').length;
        const exitedBefore = ev.slice(0, rel).filter((e) => e.kind === 'hlist-cb-exit').length;
        const exitBetween = ev
          .slice(rel, done)
          .some((e) => e.kind === 'hlist-cb-exit' && e.op !== 'release');
        return rel >= 0 && enteredBefore > exitedBefore && exitBetween;
      },
    });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(hits.waited).toBeGreaterThan(0);
  });
});
