import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The race viewer's core in Node: the catalogue, exploration with progress and cancel, replay
// with the state after every step (the legacy race's stale mapping at the step CPU1 programs
// the device), the link format, the worker protocol and the page's client, and bad input.
import { raceScenario } from '@hmmsim/hmm-mirror';
import { describe, expect, it } from 'vitest';
import { ViewerClient, type WorkerLike } from '../src/viewer/client.ts';
import { ViewerCancelledError, ViewerInputError } from '../src/viewer/core/errors.ts';
import { exploreView, VIEWER_BOUND } from '../src/viewer/core/explore.ts';
import { handleViewerRequest } from '../src/viewer/core/handler.ts';
import type { ViewerRequest, ViewerResponse } from '../src/viewer/core/protocol.ts';
import { viewerCatalogue, viewerScenario } from '../src/viewer/core/registry.ts';
import { replayView } from '../src/viewer/core/replay.ts';
import type { ReplayView, StepView } from '../src/viewer/core/types.ts';
import { decodeViewerState, encodeViewerState, viewerLink } from '../src/viewer/core/url-state.ts';
import {
  durationText,
  hex,
  hmmLines,
  intervalText,
  laneText,
  mmSeqText,
  positionText,
  problemText,
  progressText,
  pteText,
  summaryHeadline,
} from '../src/viewer/format.ts';

/** The rows of one stepper position, as 'T<lane> text'. */
function rowsOf(r: ReplayView, s: StepView): string[] {
  return r.rows.slice(s.rowStart, s.rowEnd).map((row) => `T${row.lane} ${row.text}`);
}

/** The lane id of a task by name. */
function laneOf(r: ReplayView, name: string): number {
  const lane = r.lanes.find((l) => l.name === name);
  if (lane === undefined) throw new Error(`no lane '${name}'`);
  return lane.id;
}

describe('catalogue', () => {
  it('holds the three race operations on the three implementations, legacy expected to fail', () => {
    const cat = viewerCatalogue();
    for (const op of ['munmap', 'mprotect', 'reclaim'] as const) {
      const s = cat.find((x) => x.id === op);
      expect(s?.kind).toBe('race');
      expect(s?.impls.map((i) => i.id)).toEqual(['legacy', 'shim', 'interval']);
      expect(s?.impls.map((i) => i.expect)).toEqual(['violation', 'pass', 'pass']);
      for (const impl of s?.impls ?? []) {
        expect(impl.scenarioName).toBe(raceScenario(op, impl.id as 'legacy').name);
      }
    }
  });

  it('holds the guide pitfalls, each with the mistake and with its fix', () => {
    const pitfalls = viewerCatalogue().filter((s) => s.kind === 'pitfall');
    expect(pitfalls.map((p) => p.id)).toContain('pitfall-forgot-set-seq');
    expect(pitfalls.length).toBeGreaterThanOrEqual(10);
    for (const p of pitfalls) {
      expect(p.impls[0]?.id).toBe('mistake');
      expect(p.impls[1]?.id, p.id).toBe('fixed');
      expect(p.impls[1]?.expect, p.id).toBe('pass');
      expect(p.file, p.id).toMatch(/^src\/.+\.ts$/);
      // Each builds, and its state exposes the mirrored mm and the device table.
      expect(viewerScenario(p.id, 'mistake').scenario.name).toBe(p.impls[0]?.scenarioName);
    }
  });

  it('describes each pitfall as the guide does', () => {
    for (const p of viewerCatalogue().filter((s) => s.kind === 'pitfall')) {
      const guide = viewerScenario(p.id, 'mistake').scenario;
      expect(p.description, p.id).toBe(guide.description);
      expect(p.description, p.id).toMatch(/^CPU0 /);
    }
  });

  it('rejects an unknown scenario or driver with the choices', () => {
    expect(() => viewerScenario('munmapp', 'legacy')).toThrow(ViewerInputError);
    expect(() => viewerScenario('munmapp', 'legacy')).toThrow(
      /unknown scenario 'munmapp'.*'munmap'/,
    );
    expect(() => viewerScenario('munmap', 'mistake')).toThrow(
      /scenario 'munmap' has no driver 'mistake'; expected one of 'legacy', 'shim', 'interval'/,
    );
  });
});

describe('the legacy munmap race', () => {
  it('is found with one preemption and the minimal schedule 2x6.1', async () => {
    const progress: number[] = [];
    const s = await exploreView('munmap', 'legacy', {
      onProgress: (p) => progress.push(p.schedules),
      progressEvery: 10,
    });
    expect(s.bound).toBe(VIEWER_BOUND);
    expect(s.violation?.kind).toBe('invariant');
    expect(s.violation?.preemptions).toBe(1);
    expect(s.violation?.schedule).toBe('2x6.1');
    expect(s.violation?.message).toMatch(/stale device mapping: legacy-device page 1/);
    expect(s.exhausted).toBe(false);
    expect(s.asExpected).toBe(true);
    expect(s.verdict).toMatch(
      /^Violation \(invariant\) found in \d+ schedules; minimal schedule '2x6.1'/,
    );
    // Progress came in order, every 10 schedules, and once more at the end.
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.slice(0, 3)).toEqual([10, 20, 30]);
    expect(progress[progress.length - 1]).toBe(s.schedules);
  });

  it('spaces progress calls by time when given a clock', async () => {
    let t = 0;
    const at: number[] = [];
    await exploreView('munmap', 'legacy', {
      now: () => (t += 5),
      progressEvery: 1,
      progressIntervalMs: 100,
      onProgress: (p) => at.push(p.elapsedMs ?? -1),
    });
    expect(at.length).toBeGreaterThan(2);
    for (let i = 1; i < at.length - 1; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(100);
  });

  it('shows the stale mapping at the step CPU1 programs the device, after the whole munmap', async () => {
    const r = await replayView('munmap', 'legacy', '2x6.1');
    expect(r.schedule).toBe('2x6.1');
    expect(r.preemptions).toBe(1);
    expect(r.failure?.kind).toBe('invariant');
    expect(r.lanes.map((l) => l.name)).toEqual(['cpu0 munmap', 'cpu1 device fault']);
    const cpu0 = laneOf(r, 'cpu0 munmap');
    const cpu1 = laneOf(r, 'cpu1 device fault');

    // Position 0 is the state before the run: both pages mapped by the CPU, nothing on the device.
    const before = r.steps[0]!;
    expect(before.step).toBeUndefined();
    expect(before.state.pages.map((p) => [p.cpu !== null, p.device])).toEqual([
      [true, null],
      [true, null],
    ]);
    expect(before.state.lanes.map((l) => l.status)).toEqual(['not started', 'not started']);

    // The stale mapping appears exactly at the step whose events include CPU1's device write.
    const at = r.firstProblemStep!;
    expect(at).toBeDefined();
    const step = r.steps[at]!;
    const rows = rowsOf(r, step);
    expect(rows).toContain(`T${cpu1} driver.hmm_range_valid true`);
    expect(rows.some((x) => x.startsWith(`T${cpu1} driver.program`))).toBe(true);
    expect(step.state.problems).toBe(1);
    const page1 = step.state.pages[1]!;
    expect(page1.problem).toBe('stale');
    expect(page1.cpu).toBeNull();
    expect(page1.device?.write).toBe(true);
    expect(page1.owner).toMatch(/another process/);
    expect(step.state.pages[0]!.problem).toBeUndefined();
    // The step before it: the page is already gone from the CPU, the device has nothing yet.
    const prev = r.steps[at - 1]!;
    expect(prev.state.problems).toBe(0);
    expect(prev.state.pages[1]!.cpu).toBeNull();
    expect(prev.state.pages[1]!.device).toBeNull();
    // CPU1 holds the driver lock there, and the legacy flag says valid: the whole invalidation
    // (notifiers back to 0) ran between hmm_range_fault() and the check (race R1).
    const lane1 = step.state.lanes.find((l) => l.lane === cpu1)!;
    expect(lane1.holds).toEqual([{ lock: 'legacy-driver.update', mode: 'mutex' }]);
    expect(step.state.lanes.find((l) => l.lane === cpu0)?.status).toBe('exited');
    expect(step.state.seq.hmms).toEqual([
      {
        kind: 'legacy',
        notifiers: 0,
        ranges: [{ start: 0x10000000, end: 0x10002000, valid: true }],
      },
    ]);
    // The one preemption: CPU1 stops at the driver lock, after hmm_range_fault(), and CPU0 starts.
    const pre = r.steps.filter((s) => s.preempted);
    expect(pre).toHaveLength(1);
    expect(rowsOf(r, pre[0]!)).toEqual([
      `T${cpu1} lock.mutex_lock legacy-driver.update`,
      `T${cpu1} preempted -> T${cpu0}`,
      `T${cpu0} start`,
    ]);
    expect(pre[0]!.state.lanes.find((l) => l.lane === cpu1)?.taking).toBe('legacy-driver.update');
    // CPU1 gets the CPU back exactly at the stale step.
    expect(r.resumeStep).toBe(at);
    // While CPU0's invalidation is in flight the range is invalid and one notifier counted.
    const inFlight = r.steps.filter((s) => s.state.seq.hmms[0]?.notifiers === 1);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.every((s) => s.state.seq.hmms[0]?.ranges[0]?.valid === false)).toBe(true);
    expect(inFlight.every((s) => (s.step ?? 0) < (step.step ?? 0))).toBe(true);
    // CPU0 holds mmap_sem (downgraded to read by munmap) during its invalidation.
    expect(
      inFlight[0]!.state.lanes
        .find((l) => l.lane === cpu0)
        ?.holds.find((h) => h.lock.startsWith('mmap_sem')),
    ).toEqual({ lock: 'mmap_sem [mm1]', mode: 'read' });
    // Steps are in order and cover every row once.
    let next = 0;
    for (const s of r.steps.slice(1)) {
      expect(s.rowStart).toBe(next);
      expect(s.rowEnd).toBeGreaterThan(s.rowStart);
      next = s.rowEnd;
    }
    expect(next).toBe(r.rows.length);
  });

  it('mprotect: the device keeps write access the CPU dropped', async () => {
    const s = await exploreView('mprotect', 'legacy');
    expect(s.violation?.schedule).toBeDefined();
    const r = await replayView('mprotect', 'legacy', s.violation!.schedule);
    const step = r.steps[r.firstProblemStep!]!;
    expect(step.state.pages.some((p) => p.problem === 'writable')).toBe(true);
    const bad = step.state.pages.find((p) => p.problem === 'writable')!;
    expect(bad.cpu?.write).toBe(false);
    expect(bad.device?.write).toBe(true);
  });
});

describe('shim and interval', () => {
  for (const op of ['munmap', 'mprotect', 'reclaim']) {
    for (const impl of ['shim', 'interval']) {
      it(`${op} on ${impl}: clean and exhausted at bound 2`, async () => {
        const s = await exploreView(op, impl);
        expect(s.violation).toBeUndefined();
        expect(s.exhausted).toBe(true);
        expect(s.asExpected).toBe(true);
        expect(s.verdict).toMatch(
          /^No violation in \d+ schedules: every schedule with at most 2 preemptions was run/,
        );
      });
    }
  }

  it('over all interleavings: shim and interval verified, legacy still caught, pitfalls refused', async () => {
    for (const impl of ['shim', 'interval']) {
      const s = await exploreView('munmap', impl, { bound: Number.POSITIVE_INFINITY });
      expect(s.violation).toBeUndefined();
      expect(s.exhausted).toBe(true);
      expect(s.bound).toBe(Number.POSITIVE_INFINITY);
      expect(s.verdict).toMatch(/^No violation in \d+ schedules: verified over all interleavings/);
    }
    const legacy = await exploreView('munmap', 'legacy', { bound: Number.POSITIVE_INFINITY });
    expect(legacy.violation?.preemptions).toBe(1);
    // Every race driver reports its accesses; the guide's pitfall drivers do not.
    const catalogue = viewerCatalogue();
    for (const i of catalogue.find((c) => c.id === 'munmap')!.impls) {
      expect(i.allInterleavings, i.id).toBe(true);
    }
    const pitfall = catalogue.find((c) => c.kind === 'pitfall')!;
    expect(pitfall.impls[0]!.allInterleavings).toBe(false);
    await expect(
      exploreView(pitfall.id, pitfall.impls[0]!.id, { bound: Number.POSITIVE_INFINITY }),
    ).rejects.toThrow(/does not report its shared accesses.*expected a bound from 0 to 4/);
  });

  it('the legacy race schedule replays on the shim without a stale entry: read_retry sees the invalidation', async () => {
    const r = await replayView('munmap', 'shim', '2x6.1');
    expect(r.failure).toBeUndefined();
    expect(r.firstProblemStep).toBeUndefined();
    const retry = r.steps.find((s) =>
      rowsOf(r, s).some((x) => /mmu_interval.read_retry seq=\d+ \(now \d+\) -> true/.test(x)),
    );
    expect(retry).toBeDefined();
    expect(r.resumeStep).toBe(retry!.index);
    const iv = retry!.state.seq.intervals.find((i) => i.label === 'shim range notifier');
    expect(iv?.retry).toBe(true);
    expect(retry!.state.seq.hmms[0]?.ranges[0]?.valid).toBe(false);
  });

  it('interval: the notifier sequence moves past the read_begin sample', async () => {
    const r = await replayView('munmap', 'interval', '2x6.1');
    expect(r.failure).toBeUndefined();
    const seqs = r.steps.map((s) => s.state.seq.intervals[0]);
    expect(seqs.every((iv) => iv?.label === 'driver notifier')).toBe(true);
    expect(seqs.some((iv) => iv?.retry === false)).toBe(true);
    expect(seqs.some((iv) => iv?.retry === true)).toBe(true);
    // The mm-wide sequence is odd while the invalidation window is open.
    const open = r.steps.filter((s) => s.state.seq.activeInvalidations > 0);
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((s) => (s.state.seq.mmSeq ?? 0) % 2 === 1)).toBe(true);
  });
});

describe('pitfalls', () => {
  it('forgot-set-seq shows a stale mapping; its fix is clean and exhausted', async () => {
    const bad = await exploreView('pitfall-forgot-set-seq', 'mistake');
    expect(bad.violation?.kind).toBe('invariant');
    const r = await replayView('pitfall-forgot-set-seq', 'mistake', bad.violation!.schedule);
    expect(r.firstProblemStep).toBeDefined();
    expect(r.steps[r.firstProblemStep!]!.state.pages.some((p) => p.problem === 'stale')).toBe(true);
    const good = await exploreView('pitfall-forgot-set-seq', 'fixed');
    expect(good.violation).toBeUndefined();
    expect(good.exhausted).toBe(true);
  });
});

describe('replaying a pasted schedule', () => {
  it('accepts any spelling of the same schedule and prints it canonically', async () => {
    const r = await replayView('munmap', 'legacy', ' 2.2.2.2.2.2.1 ');
    expect(r.schedule).toBe('2x6.1');
    expect(r.failure?.kind).toBe('invariant');
  });

  it('the empty schedule is the run with no preemption', async () => {
    const r = await replayView('munmap', 'legacy', '');
    expect(r.preemptions).toBe(0);
    expect(r.resumeStep).toBeUndefined();
    expect(r.failure).toBeUndefined();
    expect(r.steps[r.steps.length - 1]!.state.lanes.every((l) => l.status === 'exited')).toBe(true);
  });

  it('rejects a schedule that does not parse, naming the bad token', async () => {
    await expect(replayView('munmap', 'legacy', '2x6.q')).rejects.toThrow(ViewerInputError);
    await expect(replayView('munmap', 'legacy', '2x6.q')).rejects.toThrow(/bad token 'q'/);
  });

  it('rejects a schedule that does not fit the scenario', async () => {
    await expect(replayView('munmap', 'legacy', '7')).rejects.toThrow(ViewerInputError);
    await expect(replayView('munmap', 'legacy', '7')).rejects.toThrow(
      /the schedule does not fit hmm-race-munmap-legacy: schedule '7' asks for task 7 at decision 1/,
    );
    await expect(replayView('munmap', 'legacy', '2x500')).rejects.toThrow(
      /has 500 decisions but the run made only/,
    );
  });
});

describe('links', () => {
  const cat = viewerCatalogue();

  it('round-trip scenario, driver, schedule and step', () => {
    const state = { scenario: 'munmap', impl: 'legacy' as const, schedule: '2x6.1', step: 17 };
    const q = encodeViewerState(state);
    expect(q).toBe('scenario=munmap&impl=legacy&schedule=2x6.1&step=17');
    expect(decodeViewerState(q, cat)).toEqual(state);
    expect(decodeViewerState(`?${q}`)).toEqual(state);
    const pit = {
      scenario: 'pitfall-forgot-set-seq',
      impl: 'fixed' as const,
      schedule: undefined,
      step: undefined,
    };
    expect(decodeViewerState(encodeViewerState(pit), cat)).toEqual(pit);
  });

  it('build a link to the viewer page, dropping the old query and hash', () => {
    const s = { scenario: 'reclaim', impl: 'shim' as const, schedule: '1.2x3' };
    expect(viewerLink('https://x.test/hmmsim/viewer.html?scenario=munmap#top', s)).toBe(
      'https://x.test/hmmsim/viewer.html?scenario=reclaim&impl=shim&schedule=1.2x3',
    );
  });

  it('a link without viewer parameters is no state; a missing driver is the first one', () => {
    expect(decodeViewerState('', cat)).toBeUndefined();
    expect(decodeViewerState('?utm=1', cat)).toBeUndefined();
    expect(decodeViewerState('?scenario=reclaim', cat)).toEqual({
      scenario: 'reclaim',
      impl: 'legacy',
      schedule: undefined,
      step: undefined,
    });
  });

  it('bad links give clear errors', () => {
    const bad: [string, RegExp][] = [
      ['?impl=legacy', /the link has no 'scenario'/],
      [
        '?scenario=nope&impl=legacy',
        /unknown scenario 'nope'; expected one of 'munmap', 'mprotect', 'reclaim'/,
      ],
      [
        '?scenario=munmap&impl=fast',
        /unknown driver 'fast'; expected one of 'legacy', 'shim', 'interval'/,
      ],
      ['?scenario=munmap&impl=fixed', /scenario 'munmap' has no driver 'fixed'/],
      ['?scenario=munmap&impl=legacy&schedule=2x6..1', /bad token ''/],
      ['?scenario=munmap&impl=legacy&schedule=0', /bad token '0'/],
      ['?scenario=munmap&impl=legacy&step=-1', /step '-1': expected a whole number/],
      ['?scenario=munmap&impl=legacy&step=1e3', /step '1e3'/],
      ['?scenario=munmap&scenario=reclaim&impl=legacy', /gives 'scenario' more than once/],
      [`?scenario=munmap&impl=legacy&schedule=${'1.'.repeat(1500)}1`, /at most 2000/],
    ];
    for (const [q, re] of bad) {
      expect(() => decodeViewerState(q, cat), q).toThrow(ViewerInputError);
      expect(() => decodeViewerState(q, cat), q).toThrow(re);
    }
    // Without the catalogue only the syntax is checked.
    expect(decodeViewerState('?scenario=nope&impl=legacy')?.scenario).toBe('nope');
  });
});

describe('cancel', () => {
  it('stops an exploration when the signal is raised', async () => {
    const signal = { aborted: false };
    let calls = 0;
    const run = exploreView('munmap', 'shim', {
      signal,
      progressEvery: 5,
      onProgress: () => {
        calls++;
        signal.aborted = true;
      },
    });
    await expect(run).rejects.toThrow(ViewerCancelledError);
    expect(calls).toBe(1);
  });
});

describe('worker protocol', () => {
  /** Run one request through the handler and collect what it posts. */
  async function ask(req: ViewerRequest): Promise<ViewerResponse[]> {
    const out: ViewerResponse[] = [];
    await handleViewerRequest(
      req,
      (m) => out.push(m),
      () => 0,
    );
    return out;
  }

  it('answers catalogue, explore (with progress) and replay', async () => {
    const [cat] = await ask({ type: 'catalogue', id: 1 });
    expect(cat?.type === 'catalogue' && cat.catalogue.length).toBe(viewerCatalogue().length);
    const ex = await ask({ type: 'explore', id: 2, scenario: 'munmap', impl: 'legacy' });
    expect(ex.slice(0, -1).every((m) => m.type === 'progress' && m.id === 2)).toBe(true);
    const last = ex[ex.length - 1]!;
    expect(last.type).toBe('explored');
    if (last.type === 'explored') {
      expect(last.summary.violation?.schedule).toBe('2x6.1');
      expect(last.replay.schedule).toBe('2x6.1');
      expect(last.replay.firstProblemStep).toBeDefined();
      // Everything crosses the worker boundary as plain data.
      expect(structuredClone(last)).toEqual(last);
    }
    // A clean driver shows the failing driver's race schedule, replayed on it.
    const clean = await ask({ type: 'explore', id: 3, scenario: 'munmap', impl: 'interval' });
    const end = clean[clean.length - 1]!;
    expect(end.type).toBe('explored');
    if (end.type === 'explored') {
      expect(end.shown).toEqual({ kind: 'contrast', from: 'legacy' });
      expect(end.replay.schedule).toBe('2x6.1');
      expect(end.replay.failure).toBeUndefined();
    }
    // A pitfall's fix shows the mistake's minimal schedule (explored on demand).
    const fixed = await ask({
      type: 'explore',
      id: 6,
      scenario: 'pitfall-forgot-set-seq',
      impl: 'fixed',
    });
    const f = fixed[fixed.length - 1]!;
    expect(f.type === 'explored' && f.shown).toEqual({ kind: 'contrast', from: 'mistake' });
    expect(f.type === 'explored' && f.replay.firstProblemStep).toBeUndefined();
    // The legacy driver shows its own minimal violation.
    expect(last.type === 'explored' && last.shown).toEqual({ kind: 'minimal' });
  });

  it('answers bad input with a ViewerInputError message', async () => {
    const [e] = await ask({
      type: 'replay',
      id: 4,
      scenario: 'munmap',
      impl: 'legacy',
      schedule: 'x',
    });
    expect(e).toMatchObject({ type: 'error', id: 4, name: 'ViewerInputError' });
    const [u] = await ask({ type: 'nope', id: 5 } as unknown as ViewerRequest);
    expect(u).toMatchObject({ type: 'error', id: 5, message: "unknown request 'nope'" });
  });
});

describe('the page client', () => {
  /** A stand-in worker that answers through the real handler. */
  class FakeWorker implements WorkerLike {
    onmessage: WorkerLike['onmessage'] = null;
    onerror: WorkerLike['onerror'] = null;
    terminated = false;
    postMessage(msg: ViewerRequest): void {
      void handleViewerRequest(msg, (m) => {
        if (!this.terminated) this.onmessage?.({ data: m } as MessageEvent<ViewerResponse>);
      });
    }
    terminate(): void {
      this.terminated = true;
    }
  }

  it('explores with progress, replays, and reports bad input', async () => {
    const workers: FakeWorker[] = [];
    const client = new ViewerClient(() => {
      const w = new FakeWorker();
      workers.push(w);
      return w;
    });
    expect((await client.catalogue()).map((s) => s.id)).toContain('munmap');
    const seen: number[] = [];
    const { summary, replay } = await client.explore('munmap', 'legacy', (p) =>
      seen.push(p.schedules),
    );
    expect(summary.violation?.schedule).toBe('2x6.1');
    expect(replay.firstProblemStep).toBeDefined();
    expect(seen.length).toBeGreaterThan(0);
    expect((await client.replay('munmap', 'legacy', '2x6.1')).schedule).toBe('2x6.1');
    await expect(client.replay('munmap', 'legacy', '2x')).rejects.toThrow(ViewerInputError);
    expect(workers).toHaveLength(1);
    expect(client.busy).toBe(false);
  });

  it('cancel rejects what is in flight, terminates the worker and uses a new one next time', async () => {
    const workers: FakeWorker[] = [];
    const client = new ViewerClient(() => {
      const w = new FakeWorker();
      workers.push(w);
      return w;
    });
    const run = client.explore('munmap', 'shim');
    expect(client.busy).toBe(true);
    client.cancel();
    await expect(run).rejects.toThrow(ViewerCancelledError);
    expect(workers[0]?.terminated).toBe(true);
    expect(client.busy).toBe(false);
    expect((await client.replay('munmap', 'shim', '')).preemptions).toBe(0);
    expect(workers).toHaveLength(2);
  });
});

describe('the words the page shows (colour is never the only signal)', () => {
  it('page-table entries, stale entries and their new owner', () => {
    expect(hex(0x10001000)).toBe('0x10001000');
    expect(pteText(null)).toBe('not mapped');
    expect(pteText({ pfn: 2, write: true })).toBe('pfn 2, read-write');
    expect(pteText({ pfn: 2, write: false })).toBe('pfn 2, read-only');
    const stale = {
      index: 1,
      addr: 0x10001000,
      cpu: null,
      device: { pfn: 2, write: true },
      problem: 'stale' as const,
      owner: 'mm3 (another process) at 0x20000000',
    };
    expect(problemText(stale)).toBe(
      'STALE: the device maps pfn 2 but the CPU maps nothing there; pfn 2 now belongs to mm3 (another process) at 0x20000000',
    );
    expect(problemText({ ...stale, problem: 'writable', cpu: { pfn: 2, write: false } })).toMatch(
      /^STALE WRITE ACCESS/,
    );
    expect(problemText({ ...stale, problem: undefined })).toBe('');
  });

  it('locks, notifier sequences and legacy flags', () => {
    expect(
      laneText({
        lane: 2,
        name: 'cpu1 device fault',
        status: 'running',
        holds: [{ lock: 'legacy-driver.update', mode: 'mutex' }],
        taking: 'hmm.ranges_lock [mm1]',
        waitingFor: undefined,
      }),
    ).toBe('running; holds legacy-driver.update (mutex); about to take hmm.ranges_lock [mm1]');
    expect(
      laneText({ lane: 1, name: 'x', status: 'blocked', holds: [], taking: 'a', waitingFor: 'b' }),
    ).toBe('blocked; holds no lock; waits for b');
    expect(mmSeqText(3, 1)).toBe(
      'mm invalidate_seq 3 (odd: an invalidation window is open, 1 invalidation running)',
    );
    expect(mmSeqText(4, 0)).toBe('mm invalidate_seq 4 (even: idle)');
    expect(mmSeqText(undefined, 0)).toBe('no interval notifier in this mm');
    const iv = { label: 'driver notifier', start: 0x10000000, last: 0x10001fff, seq: 3 };
    expect(intervalText({ ...iv, sample: 1, retry: true })).toBe(
      'driver notifier [0x10000000, 0x10002000): seq 3; read_begin sample 1 → read_retry true: retry',
    );
    expect(intervalText({ ...iv, sample: undefined, retry: undefined })).toMatch(
      /no read_begin sample yet$/,
    );
    expect(
      hmmLines({
        kind: 'legacy',
        notifiers: 0,
        ranges: [{ start: 0x10000000, end: 0x10002000, valid: true }],
      }),
    ).toEqual([
      'struct hmm (legacy): 0 invalidations in flight',
      'range [0x10000000, 0x10002000): hmm_range_valid() = true',
    ]);
    expect(hmmLines({ kind: 'shim', notifiers: 0, ranges: [] })[1]).toBe('no range registered');
  });

  it('progress, summaries and positions', async () => {
    expect(progressText(undefined)).toBe('Exploring…');
    expect(progressText({ schedules: 1200, steps: 24000, elapsedMs: 420 })).toBe(
      'Exploring: 1,200 schedules, 24,000 steps, 420 ms',
    );
    expect(durationText(1770)).toBe('1.77 s');
    const s = await exploreView('munmap', 'interval');
    expect(summaryHeadline(s)).toBe('No violation — as expected');
    const r = await replayView('munmap', 'legacy', '2x6.1');
    expect(positionText(r, r.steps[0]!)).toBe(
      `Before the run (position 0 of ${r.steps.length - 1})`,
    );
    expect(positionText(r, r.steps[r.firstProblemStep!]!)).toMatch(
      /^Position \d+ of \d+ — scheduler step \d+$/,
    );
  });
});

describe('links into the viewer from the repository Markdown', () => {
  it('name a scenario and a driver the viewer has', () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const guide = join(repo, 'apps/migration-guide/guide');
    const cat = viewerCatalogue();
    const links: string[] = [];
    for (const name of readdirSync(guide).filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(guide, name), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]*site\/pages\/viewer\.md)(\?[^)#\s]*)?\)/g)) {
        expect(m[2], `${name}: ${m[0]} opens the viewer without a state`).toBeDefined();
        expect(decodeViewerState(m[2] ?? '', cat), `${name}: ${m[0]}`).toBeDefined();
        links.push(`${name}${m[2]}`);
      }
    }
    // Chapter 1 links the seed race; chapter 6 every pitfall in its table.
    expect(links.filter((l) => l.startsWith('01-'))).toHaveLength(1);
    const pitfalls = cat.filter((s) => s.kind === 'pitfall' && s.id.startsWith('pitfall-'));
    for (const p of pitfalls) {
      expect(links, p.id).toContain(`06-pitfalls.md?scenario=${p.id}&impl=mistake`);
    }
  });
});
