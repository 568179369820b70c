/**
 * Invalidation scaling: the wall-clock cost of one single-page invalidation (start + end through
 * the mm's hooks, every subscriber's work included) with n = 1 … 10,000 registered ranges, or
 * with m = 1 … 64 mirrors, for each implementation. Ratios, all taken within a run: to the same
 * implementation at the smallest count, and to interval at the same count.
 */
import { type BenchTask, runRepeated } from '@hmmsim-bench/common';
import { IMPLS, type Impl } from '../drivers/impl.ts';
import type { Measurement, Ratio } from '../results/schema.ts';
import type { BenchCase, CaseContext } from '../run/bench-case.ts';
import { measurement, runRatio } from '../run/measurement.ts';
import { withCleanup } from '../run/with-cleanup.ts';
import {
  createMirrorsWorld,
  createRangesWorld,
  createScalingMm,
  type ScalingWorld,
} from './scaling-world.ts';

/** Which count is scaled. */
export type ScalingKind = 'ranges' | 'mirrors';

/** The count's letter in ids and tables. */
const LETTER: Readonly<Record<ScalingKind, 'n' | 'm'>> = { ranges: 'n', mirrors: 'm' };

/** Id of one measurement. */
export function scalingId(kind: ScalingKind, impl: Impl, count: number): string {
  return `invalidation-${kind}/${impl}/${LETTER[kind]}=${count}`;
}

/** Every world of the case, keyed by measurement id. */
async function buildWorlds(kind: ScalingKind, counts: readonly number[]) {
  const worlds = new Map<string, ScalingWorld>();
  for (const impl of IMPLS) {
    for (const c of counts) {
      const mm = createScalingMm();
      const build = kind === 'ranges' ? createRangesWorld : createMirrorsWorld;
      worlds.set(scalingId(kind, impl, c), await build(impl, mm, c));
    }
  }
  return worlds;
}

async function destroyWorlds(worlds: ReadonlyMap<string, ScalingWorld>): Promise<void> {
  for (const w of worlds.values()) await w.destroy();
}

/** The ratios of one measurement: to its implementation's smallest count, and to interval. */
function ratiosOf(
  kind: ScalingKind,
  impl: Impl,
  count: number,
  counts: readonly number[],
  ns: (id: string) => readonly number[],
): Ratio[] {
  const own = scalingId(kind, impl, count);
  const first = scalingId(kind, impl, counts[0]!);
  const base = scalingId(kind, 'interval', count);
  const out: Ratio[] = [];
  if (own !== first) out.push(runRatio(first, ns(own), ns(first)));
  if (impl !== 'interval') out.push(runRatio(base, ns(own), ns(base)));
  return out;
}

/** The case scaling `kind` over `counts`. */
export function scalingCase(
  kind: ScalingKind,
  counts: readonly number[],
  repetitions: number,
): BenchCase {
  return {
    id: `invalidation-${kind}`,
    units: repetitions,
    async run(ctx: CaseContext) {
      const worlds = await buildWorlds(kind, counts);
      return withCleanup(
        async () => {
          const tasks: BenchTask[] = [...worlds].map(([id, w]) => [
            id,
            w.invalidate,
            undefined,
            true,
          ]);
          const opts = {
            time: ctx.plan.invalidation.timeMs,
            iterations: 50,
            warmupTime: 10,
            now: ctx.now,
            statistic: 'median' as const,
          };
          const samples = await runRepeated(`invalidation-${kind}`, tasks, repetitions, opts, (r) =>
            ctx.tick(`invalidation-${kind} run ${r + 1}`),
          );
          const ns = (id: string) => (samples.get(id) ?? []).map((ms) => ms * 1e6);
          const out: Measurement[] = [];
          for (const impl of IMPLS) {
            for (const c of counts) {
              out.push(
                measurement({
                  id: scalingId(kind, impl, c),
                  scenario: `invalidation-${kind}`,
                  implementation: impl,
                  parameters: { [LETTER[kind]]: c },
                  unit: 'ns',
                  samples: ns(scalingId(kind, impl, c)),
                  ratios: ratiosOf(kind, impl, c, counts, ns),
                }),
              );
            }
          }
          return out;
        },
        () => destroyWorlds(worlds),
      );
    },
  };
}
