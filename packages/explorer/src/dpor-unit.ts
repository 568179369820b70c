import type { DecisionNode } from './decision-node.ts';
import { DporChooser, dporLoop } from './dpor.ts';
import type { Scenario } from './scenario.ts';
import { type UnitResult, untilFirstViolation } from './split-search.ts';

/**
 * One unit of a divided DPOR search: the runs whose first decisions take the alternatives at
 * `positions` (positions in each decision's exploration order, default first), and whose next
 * decisions down to `depth` take their defaults. Within the unit the search is plain DPOR; a race
 * that asks for an alternative above `depth` is reported, not explored, since it starts another
 * unit. The unit's runs depend only on its spec, so a unit gives the same result wherever it runs.
 */
export interface DporUnitSpec {
  readonly positions: readonly number[];
  readonly depth: number;
}

/** Alternatives asked for above a unit's depth: at decision `depth`, these `positions`. */
export type DporRequests = readonly (readonly [depth: number, positions: readonly number[]])[];

/** What a unit found so far (sent while it runs, so that the units it asks for can start). */
export interface DporUnitProgress {
  /**
   * Decisions above the unit's depth that its runs reach: the unit's own positions, then default
   * decisions down to min(depth, the first run's length).
   */
  readonly reach: number;
  /** Requests not reported before. */
  readonly requests: DporRequests;
}

/** What searching one unit found: its counts and first violation, and what it asked for. */
export interface DporUnitResult extends DporUnitProgress, UnitResult {}

/** The DPOR chooser of one unit: its positions replayed, decisions above its depth frozen. */
class UnitChooser extends DporChooser {
  private readonly asked = new Map<number, Set<number>>();
  private fresh: [number, number[]][] = [];

  constructor(
    scenarioName: string,
    private readonly spec: DporUnitSpec,
  ) {
    super(scenarioName);
  }

  protected override get frozenDepth(): number {
    return Math.max(this.spec.depth, this.spec.positions.length);
  }

  /** Decisions of the unit's prefix take its positions; the rest start at their default. */
  protected override place(node: DecisionNode, d: number): DecisionNode {
    const p = this.spec.positions[d];
    if (p === undefined) return node;
    if (p >= node.order.length) {
      this.diverged(d, `${node.order.length} choice(s)`, `at least ${p + 1}`);
    }
    node.pos = p;
    return node;
  }

  protected override requestAbove(d: number, positions: readonly number[]): void {
    let set = this.asked.get(d);
    if (set === undefined) {
      set = new Set();
      this.asked.set(d, set);
    }
    const added = positions.filter((p) => !set.has(p));
    if (added.length === 0) return;
    for (const p of added) set.add(p);
    this.fresh.push([d, added]);
  }

  /** Requests since the last call. */
  takeFresh(): DporRequests {
    const out = this.fresh;
    this.fresh = [];
    return out;
  }

  /** Every request, by decision. */
  allRequests(): DporRequests {
    return [...this.asked].map(([d, set]) => [d, [...set].sort((a, b) => a - b)] as const);
  }

  /** Decisions above the depth the runs reach (known after the first run). */
  reach(): number {
    return Math.min(this.frozenDepth, this.stack.length);
  }
}

/**
 * Search one unit of a divided DPOR search to its end or its first violation; `onProgress`
 * gets the requests each run adds.
 * Mirrors: model-only (a subtree of a parallel stateless model checker).
 */
export async function searchDporUnit<S>(
  scenario: Scenario<S>,
  spec: DporUnitSpec,
  onProgress?: (p: DporUnitProgress) => void,
): Promise<DporUnitResult> {
  const chooser = new UnitChooser(scenario.name, spec);
  let reach = spec.positions.length;
  const afterRun = (): void => {
    reach = Math.max(reach, chooser.reach());
    const requests = chooser.takeFresh();
    if (requests.length > 0 && onProgress !== undefined) onProgress({ reach, requests });
  };
  const r = await untilFirstViolation((visit) =>
    dporLoop(scenario, chooser, { maxSchedules: Number.POSITIVE_INFINITY, visit }, afterRun),
  );
  return {
    ...r,
    reach: Math.max(reach, chooser.reach()),
    requests: chooser.allRequests(),
  };
}
