/**
 * A fuzz step as a fast-check model-based command: always applicable (the step resolves its
 * indices against whatever is live), run against the real system and its reference model, shown
 * compactly in fast-check's counterexample.
 */
import type fc from 'fast-check';
import type { OpSpec, StepSpec } from './ops/op-spec.ts';
import type { RefModel } from './ref-model.ts';
import { type FuzzRun, runStep } from './step.ts';

/** `dev-read(p1 r0 @3 x2 d0)` */
function opText(op: OpSpec): string {
  const { kind, ...fields } = op;
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`);
  return `${kind}(${parts.join(' ')})`;
}

/** A drawn step as text: `[cpu0: op; op | cpu1: op] random#42`. */
export function stepText(spec: StepSpec): string {
  const cpus = spec.cpus.map((ops, i) => `cpu${i}: ${ops.map(opText).join('; ')}`);
  return `[${cpus.join(' | ')}] ${spec.schedule.strategy}#${spec.schedule.seed}`;
}

/** One step as a fast-check command. */
export class StepCommand implements fc.AsyncCommand<RefModel, FuzzRun> {
  constructor(readonly spec: StepSpec) {}

  check(): boolean {
    return true;
  }

  async run(_model: RefModel, run: FuzzRun): Promise<void> {
    await runStep(run, this.spec);
  }

  toString(): string {
    return stepText(this.spec);
  }
}
