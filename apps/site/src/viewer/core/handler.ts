/**
 * The worker's side of the protocol, independent of the Worker global so that it runs in Node
 * tests too: answer one request through `post`.
 */
import { ViewerInputError } from './errors.ts';
import { exploreView } from './explore.ts';
import type { ShownRun, ViewerRequest, ViewerResponse } from './protocol.ts';
import { viewerCatalogue } from './registry.ts';
import { replayView } from './replay.ts';
import type { ExploreSummary, ReplayView } from './types.ts';

/** Minimal violating schedules found so far, by 'scenario/impl' (explorations are deterministic). */
const minimalSchedules = new Map<string, string | null>();

/** The minimal violating schedule of `scenario` on `impl` (explored once, then remembered). */
async function minimalScheduleOf(scenario: string, impl: string): Promise<string | null> {
  const key = `${scenario}/${impl}`;
  let found = minimalSchedules.get(key);
  if (found === undefined) {
    found = (await exploreView(scenario, impl)).violation?.schedule ?? null;
    minimalSchedules.set(key, found);
  }
  return found;
}

/**
 * What to show after exploring: the minimal violation; for a clean driver, the schedule that
 * breaks the scenario's failing driver replayed on this one (when it fits); else the run with
 * no preemption.
 */
export async function runToShow(
  summary: ExploreSummary,
): Promise<{ replay: ReplayView; shown: ShownRun }> {
  const { scenario, impl } = summary;
  minimalSchedules.set(`${scenario}/${impl}`, summary.violation?.schedule ?? null);
  if (summary.violation !== undefined) {
    return {
      replay: await replayView(scenario, impl, summary.violation.schedule),
      shown: { kind: 'minimal' },
    };
  }
  const info = viewerCatalogue().find((s) => s.id === scenario);
  const failing = info?.impls.find((i) => i.id !== impl && i.expect === 'violation');
  if (failing !== undefined) {
    const schedule = await minimalScheduleOf(scenario, failing.id);
    if (schedule !== null) {
      try {
        const replay = await replayView(scenario, impl, schedule);
        return { replay, shown: { kind: 'contrast', from: failing.id } };
      } catch (error) {
        if (!(error instanceof ViewerInputError)) throw error;
      }
    }
  }
  return { replay: await replayView(scenario, impl, ''), shown: { kind: 'default' } };
}

/** Answer `req`, posting progress and then exactly one final message. */
export async function handleViewerRequest(
  req: ViewerRequest,
  post: (msg: ViewerResponse) => void,
  now?: () => number,
): Promise<void> {
  const id = req.id;
  try {
    if (req.type === 'catalogue') {
      post({ type: 'catalogue', id, catalogue: viewerCatalogue() });
    } else if (req.type === 'explore') {
      const summary = await exploreView(req.scenario, req.impl, {
        bound: req.bound,
        now,
        // A few updates a second are plenty for a progress line, and keep the page's thread idle.
        progressIntervalMs: 50,
        onProgress: (progress) => post({ type: 'progress', id, progress }),
      });
      const { replay, shown } = await runToShow(summary);
      post({ type: 'explored', id, summary, replay, shown });
    } else if (req.type === 'replay') {
      post({
        type: 'replayed',
        id,
        replay: await replayView(req.scenario, req.impl, req.schedule),
      });
    } else {
      const type = (req as { type?: unknown }).type;
      post({
        type: 'error',
        id,
        name: 'ViewerInputError',
        message: `unknown request '${String(type)}'`,
      });
    }
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ type: 'error', id, name: e.name, message: e.message });
  }
}
