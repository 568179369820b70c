// One decision of a systematic search (DFS, DPOR): what the run offered there, in a form that a
// replay of the same prefix must meet again. Internal to the explorer.
import { isPreemption, type PickContext } from '@hmmsim/kernel';
import { explorationOrder } from './chooser.ts';
import { choiceCode, formatSchedule } from './schedule-string.ts';

/** One decision of the DFS tree: what the run offered there and which alternative is taken. */
export interface DecisionNode {
  /** Id of ctx.current, or -1. */
  readonly current: number;
  readonly eventKind: string | undefined;
  readonly eventLabel: string | undefined;
  /** Choice codes of ctx.choices, in order. */
  readonly codes: readonly number[];
  /** Indices into `codes` in exploration order (default first). */
  readonly order: readonly number[];
  /** Preemption cost (0/1) of each `order` entry. */
  readonly cost: readonly number[];
  /** Preemptions the run had made before this decision. */
  readonly preBefore: number;
  /** Position in `order` of the alternative taken. */
  pos: number;
  /** DPOR: positions in `order` still to explore here (races found so far), and those done. */
  backtrack?: Set<number>;
  done?: Set<number>;
}

/** The node for a decision seen for the first time. */
export function newNode(ctx: PickContext, preBefore: number): DecisionNode {
  const order = explorationOrder(ctx);
  return {
    current: ctx.current?.id ?? -1,
    eventKind: ctx.event?.kind,
    eventLabel: ctx.event?.label,
    codes: ctx.choices.map(choiceCode),
    order,
    cost: order.map((i) => (isPreemption(ctx, ctx.choices[i]!) ? 1 : 0)),
    preBefore,
    pos: 0,
  };
}

/** True when ctx offers exactly what `node` recorded. */
export function sameDecision(node: DecisionNode, ctx: PickContext): boolean {
  const { choices } = ctx;
  if (node.codes.length !== choices.length) return false;
  for (let i = 0; i < choices.length; i++)
    if (node.codes[i] !== choiceCode(choices[i]!)) return false;
  return (
    node.current === (ctx.current?.id ?? -1) &&
    node.eventKind === ctx.event?.kind &&
    node.eventLabel === ctx.event?.label
  );
}

/** "T1 at 'lock.mutex_lock A', choices 1.2.t" */
export function describeNode(
  n: Pick<DecisionNode, 'current' | 'eventKind' | 'eventLabel' | 'codes'>,
) {
  const at = n.eventKind === undefined ? 'run start' : `'${n.eventKind} ${n.eventLabel ?? ''}'`;
  const who = n.current < 0 ? '' : `T${n.current} at `;
  return `${who}${at}, choices ${formatSchedule(n.codes) || 'none'}`;
}
