import { dfsSearch } from './dfs.ts';
import { DPOR_PRESCREEN_BOUND } from './dpor.ts';
import {
  type DporRequests,
  type DporUnitProgress,
  type DporUnitResult,
  type DporUnitSpec,
  searchDporUnit,
} from './dpor-unit.ts';
import type { Violation } from './outcome.ts';
import type { Scenario } from './scenario.ts';
import { type UnitResult, untilFirstViolation } from './split-search.ts';

/**
 * A DPOR search divided into units (DporUnitSpec) that can run side by side, with exactly the
 * runs, counts and first violation of one dporSearch().
 *
 * Why the result cannot depend on where or when units run: the runs below a decision depend only
 * on the choices that lead to it (the search there is a function of its prefix), and the
 * alternatives explored at a decision are the closure of "the default, plus every alternative a
 * race below it asks for" — a set, not an order. So this search commits units in the order one
 * dporSearch() would run them (at each decision, the lowest alternative still asked for, deepest
 * decision first), counting and checking each unit's runs then, while units that are certain to
 * be needed (an alternative some unit asked for) start early on whatever the runner has free.
 */

/** Runs the units of a divided search. */
export interface DporUnitRunner {
  /**
   * How many units it runs at once (it may change while the search runs, e.g. once worker
   * threads are up). 1: only the unit the search waits for (nothing starts early); more: units
   * asked for start as soon as they are known.
   */
  readonly parallel: number;
  /**
   * Search one unit (searchDporUnit, here or elsewhere), reporting progress as it goes. `urgent`:
   * the search waits for this unit now (others were started early).
   */
  run<S>(
    scenario: Scenario<S>,
    spec: DporUnitSpec,
    onProgress: (p: DporUnitProgress) => void,
    urgent: boolean,
  ): Promise<DporUnitResult>;
  /**
   * The search is over: units not started yet will not be needed (their promises may reject);
   * the search still waits for every unit it started to settle before it returns.
   */
  cancel?(): void;
}

/**
 * Units searched in this thread, one at a time, when the search needs them.
 * Mirrors: model-only.
 */
export const inThreadDporUnits: DporUnitRunner = {
  parallel: 1,
  run: (scenario, spec, onProgress) => searchDporUnit(scenario, spec, onProgress),
};

/**
 * Decisions above which a divided search cuts its units, unless told otherwise (on the shipped
 * scenarios about 200 units, none above a twentieth of the runs).
 */
export const DEFAULT_UNIT_DEPTH = 10;

/** What a divided search found: one dporSearch()'s counts and first violation. */
export interface DividedDporResult extends UnitResult {
  /** Units committed (the runs of each were counted). */
  readonly units: number;
  /** Units started, including ones begun early that a violation made unnecessary. */
  readonly started: number;
}

/** One decision above the unit depth, as the divided search tracks it. */
interface TopNode {
  /** Decisions before it: the positions taken, and their nodes. */
  readonly positions: readonly number[];
  readonly ancestors: readonly TopNode[];
  /** Positions asked for (the default, 0, always) and those committed. */
  readonly backtrack: Set<number>;
  readonly done: Set<number>;
  /** The node after each position, once a unit reached it. */
  readonly children: Map<number, TopNode>;
  /** Units started at each position. */
  readonly units: Map<number, Promise<DporUnitResult>>;
}

/** A node at `positions`, below `ancestors`. */
function topNode(positions: readonly number[], ancestors: readonly TopNode[]): TopNode {
  return {
    positions,
    ancestors,
    backtrack: new Set([0]),
    done: new Set([0]),
    children: new Map(),
    units: new Map(),
  };
}

/** The lowest position asked for at `node` and not committed, or -1. */
function lowestPending(node: TopNode): number {
  let best = -1;
  for (const p of node.backtrack) if (!node.done.has(p) && (best < 0 || p < best)) best = p;
  return best;
}

/** The search state: the tree above the unit depth, and the committed counts. */
class Division<S> {
  private root: TopNode | undefined;
  schedules = 0;
  steps = 0;
  interleavings = 0;
  units = 0;
  started = 0;
  allExhausted = true;
  violation: Violation | undefined;
  /** Units started and not settled yet. */
  readonly outstanding = new Set<Promise<unknown>>();

  constructor(
    private readonly scenario: Scenario<S>,
    private readonly runner: DporUnitRunner,
    private readonly depth: number,
  ) {}

  /** Start the unit at `positions` (below `nodes`); `urgent` when the search waits for it. */
  launch(
    nodes: readonly TopNode[],
    positions: readonly number[],
    urgent: boolean,
  ): Promise<DporUnitResult> {
    this.started++;
    const spec: DporUnitSpec = { positions, depth: this.depth };
    const onProgress = (p: DporUnitProgress) => this.learn(nodes, positions, p);
    const unit = this.runner.run(this.scenario, spec, onProgress, urgent);
    // A unit started early may never be awaited (a violation ended the search first).
    const settled = unit.then(
      () => undefined,
      () => undefined,
    );
    this.outstanding.add(settled);
    void settled.then(() => this.outstanding.delete(settled));
    return unit;
  }

  /** The nodes from depth positions.length to reach - 1 on the default path below `nodes`. */
  private chain(nodes: readonly TopNode[], positions: readonly number[], reach: number): TopNode[] {
    const out: TopNode[] = [];
    let parent = nodes.at(-1);
    let pos = positions.at(-1) ?? 0;
    let path = positions;
    let above = nodes;
    for (let d = positions.length; d < reach; d++) {
      let node = parent === undefined ? this.root : parent.children.get(pos);
      if (node === undefined) {
        node = topNode(path, above);
        if (parent === undefined) this.root = node;
        else parent.children.set(pos, node);
      }
      out.push(node);
      parent = node;
      above = [...above, node];
      path = [...path, 0];
      pos = 0;
    }
    return out;
  }

  /** Record a unit's requests; start the units they make certain, when the runner has room. */
  private apply(path: readonly TopNode[], requests: DporRequests): void {
    for (const [d, positions] of requests) {
      const node = path[d];
      if (node === undefined) continue;
      for (const p of positions) {
        node.backtrack.add(p);
        if (this.runner.parallel > 1) this.startEarly(node, p);
      }
    }
  }

  /** Start the unit at position `p` of `node` now, unless it is committed or started. */
  private startEarly(node: TopNode, p: number): void {
    if (node.done.has(p) || node.units.has(p)) return;
    node.units.set(p, this.launch([...node.ancestors, node], [...node.positions, p], false));
  }

  /** Whether the runner could run several units the last time this looked. */
  private wasParallel = false;

  /** When the runner has just become parallel: start every unit already asked for. */
  private catchUp(): void {
    const parallel = this.runner.parallel > 1;
    if (parallel === this.wasParallel) return;
    this.wasParallel = parallel;
    if (!parallel || this.root === undefined) return;
    const walk = (node: TopNode): void => {
      for (const p of node.backtrack) this.startEarly(node, p);
      for (const child of node.children.values()) walk(child);
    };
    walk(this.root);
  }

  /** Progress of a running unit: what it asked for so far. */
  private learn(nodes: readonly TopNode[], positions: readonly number[], p: DporUnitProgress) {
    if (this.violation !== undefined) return;
    this.apply([...nodes, ...this.chain(nodes, positions, p.reach)], p.requests);
  }

  /**
   * Commit the unit at `positions`, then every unit below its default path that the search
   * asks for, deepest decision first; false once a violation ends the search.
   */
  async commit(
    nodes: readonly TopNode[],
    positions: readonly number[],
    unit: Promise<DporUnitResult>,
  ): Promise<boolean> {
    const r = await unit;
    this.units++;
    if (r.violation !== undefined) {
      this.violation = { ...r.violation, run: this.schedules + r.violation.run };
    }
    this.schedules += r.schedules;
    this.steps += r.steps;
    this.interleavings += r.interleavings;
    this.allExhausted &&= r.exhausted;
    if (r.violation !== undefined) return false;
    const chain = this.chain(nodes, positions, r.reach);
    this.apply([...nodes, ...chain], r.requests);
    for (let k = chain.length - 1; k >= 0; k--) {
      const node = chain[k]!;
      const below = [...node.ancestors, node];
      for (let p = lowestPending(node); p >= 0; p = lowestPending(node)) {
        this.catchUp();
        node.done.add(p);
        const next = node.units.get(p) ?? this.launch(below, [...node.positions, p], true);
        node.units.delete(p);
        if (!(await this.commit(below, [...node.positions, p], next))) return false;
        node.children.delete(p);
      }
    }
    return true;
  }
}

/**
 * DPOR over all interleavings of `scenario`, divided into units cut `depth` decisions deep and
 * searched by `runner`: the same schedules, counts and first violation as dporSearch(), however
 * many units run at once.
 * Mirrors: model-only (a parallel stateless model checker in the manner of Simsa et al.'s
 * distributed DPOR, made deterministic by committing units in sequential order).
 */
export async function dividedDporSearch<S>(
  scenario: Scenario<S>,
  runner: DporUnitRunner = inThreadDporUnits,
  depth: number = DEFAULT_UNIT_DEPTH,
): Promise<DividedDporResult> {
  const division = new Division(scenario, runner, depth);
  let ok: boolean;
  try {
    ok = await division.commit([], [], division.launch([], [], true));
  } finally {
    runner.cancel?.();
    await Promise.all(division.outstanding);
  }
  return {
    schedules: division.schedules,
    steps: division.steps,
    exhausted: ok && division.allExhausted,
    violation: division.violation,
    interleavings: division.interleavings,
    units: division.units,
    started: division.started,
  };
}

/**
 * prescreenedDporSearch() with its DPOR pass divided (dividedDporSearch): the bounded pass in
 * this thread, then the units on `runner` — the same counts and first violation.
 * Mirrors: model-only.
 */
export async function prescreenedDividedDporSearch<S>(
  scenario: Scenario<S>,
  runner: DporUnitRunner = inThreadDporUnits,
  depth: number = DEFAULT_UNIT_DEPTH,
): Promise<DividedDporResult> {
  const first = await untilFirstViolation((visit) =>
    dfsSearch(scenario, {
      bound: DPOR_PRESCREEN_BOUND,
      maxSchedules: Number.POSITIVE_INFINITY,
      visit,
    }),
  );
  if (!first.exhausted) return { ...first, units: 0, started: 0 };
  const rest = await dividedDporSearch(scenario, runner, depth);
  const v = rest.violation;
  return {
    ...rest,
    schedules: first.schedules + rest.schedules,
    steps: first.steps + rest.steps,
    violation: v === undefined ? undefined : { ...v, run: first.schedules + v.run },
    interleavings: first.interleavings + rest.interleavings,
  };
}
