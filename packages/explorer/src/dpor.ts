import { AccessLog, findRaces } from './access-log.ts';
import type { DecisionNode } from './decision-node.ts';
import {
  DfsChooser,
  type DfsSearchOptions,
  dfsSearch,
  type SearchResult,
  searchLoop,
} from './dfs.ts';
import type { Scenario } from './scenario.ts';

/**
 * The positions (in `node.order`) a race asks for at `node`: the racing task's choice if it could
 * run there, otherwise every choice (the race cannot be reversed directly; trying all is safe).
 */
function racePositions(node: DecisionNode, proc: number): number[] {
  const at = node.order.findIndex((idx) => node.codes[idx] === proc);
  if (at >= 0) return [at];
  return node.order.map((_, p) => p);
}

/**
 * The DFS tree walked with dynamic partial-order reduction: at each decision only the
 * alternatives that some run showed to race with what was done there are explored (plus the
 * default), so of the schedules that differ only in the order of steps that touch nothing in
 * common, one is run. Replays and their determinism checks are DfsChooser's.
 */
export class DporChooser extends DfsChooser {
  constructor(scenarioName: string, prefix: readonly number[] = []) {
    super(Number.POSITIVE_INFINITY, scenarioName, prefix);
  }

  /**
   * After a run: for every race it contains (event i, then a dependent event j of another task
   * that nothing else orders after i), schedule j's task at i's decision — or, when that task
   * could not run there, every task that could.
   */
  addBacktracks(log: AccessLog): void {
    const { events } = log;
    for (const { i, j } of findRaces(events)) {
      const d = events[i]!.decision;
      // d < 0: nobody else could run before i, nothing to reorder there.
      if (d < 0) continue;
      const node = this.stack[d];
      if (node === undefined) continue;
      const positions = racePositions(node, events[j]!.proc);
      if (d < this.frozenDepth) {
        this.requestAbove(d, positions);
        continue;
      }
      node.backtrack ??= new Set([node.pos]);
      for (const p of positions) node.backtrack.add(p);
    }
  }

  /**
   * A race asks for `positions` at decision `d`, which this search does not change (a prefix
   * decision). Here: nothing (the search that owns the prefix explores it); a unit of a divided
   * search reports it to that search.
   */
  protected requestAbove(_d: number, _positions: readonly number[]): void {}

  /** Move to the deepest decision with an alternative still to explore; false when none is left. */
  override advance(): boolean {
    const s = this.stack;
    while (s.length > this.frozenDepth) {
      const top = s[s.length - 1]!;
      top.done ??= new Set([top.pos]);
      const done = top.done;
      let next = -1;
      for (const p of top.backtrack ?? []) if (!done.has(p) && (next < 0 || p < next)) next = p;
      if (next >= 0) {
        done.add(next);
        top.pos = next;
        return true;
      }
      s.pop();
    }
    return false;
  }
}

/**
 * Run one representative of every class of schedules that differ only in the order of
 * independent steps (steps of different tasks that touch no common object, by the accesses the
 * state reports), depth first, until `visit` says stop or the budget runs out. Unbounded: a
 * preemption bound does not combine soundly with this reduction.
 * Mirrors: model-only (dynamic partial-order reduction, Flanagan & Godefroid, POPL 2005).
 */
export function dporSearch<S>(
  scenario: Scenario<S>,
  opts: Omit<DfsSearchOptions<S>, 'bound' | 'pruneAtSteps'>,
): Promise<SearchResult> {
  return dporLoop(scenario, new DporChooser(scenario.name, opts.prefix), opts);
}

/**
 * The loop of dporSearch() on a given chooser: run, add the run's races as backtrack points,
 * move to the next alternative; `afterRun` sees the chooser after each run's races are added.
 * Mirrors: model-only.
 */
export function dporLoop<S>(
  scenario: Scenario<S>,
  chooser: DporChooser,
  opts: Omit<DfsSearchOptions<S>, 'bound' | 'pruneAtSteps' | 'prefix'>,
  afterRun?: () => void,
): Promise<SearchResult> {
  let log = new AccessLog();
  return searchLoop(scenario, chooser, opts, {
    runOptions: () => {
      log = new AccessLog();
      return { accessLog: log };
    },
    afterRun: () => {
      chooser.addBacktracks(log);
      afterRun?.();
    },
  });
}

/** Preemption bound of the bounded pass an unbounded reduced search starts with. */
export const DPOR_PRESCREEN_BOUND = 2;

/**
 * An unbounded reduced search that first runs the cheap bounded DFS (DPOR_PRESCREEN_BOUND
 * preemptions), where nearly every bug shows up within a few dozen schedules, and only then the
 * unbounded DPOR that can say "all interleavings": the verdict is DPOR's, found sooner. Counts
 * add up both passes.
 * Mirrors: model-only (iterative context bounding in front of a complete search).
 */
export async function prescreenedDporSearch<S>(
  scenario: Scenario<S>,
  opts: Omit<DfsSearchOptions<S>, 'bound' | 'pruneAtSteps'>,
): Promise<SearchResult> {
  const first = await dfsSearch(scenario, { ...opts, bound: DPOR_PRESCREEN_BOUND });
  if (!first.exhausted) return first;
  const rest = await dporSearch(scenario, {
    ...opts,
    maxSchedules: opts.maxSchedules - first.schedules,
    visit: (rec, run) => opts.visit(rec, first.schedules + run),
  });
  return {
    schedules: first.schedules + rest.schedules,
    steps: first.steps + rest.steps,
    exhausted: rest.exhausted,
    nondeterminism: rest.nondeterminism,
  };
}
