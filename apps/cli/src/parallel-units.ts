/**
 * `hmmsim explore --workers N`: the units of a split search (exploreSplit) searched on N worker
 * threads. Units are handed out in order; once a unit reports a violation no later unit is
 * started, and the ones before it are finished, so the combined result is the same for any N.
 */
import { Worker } from 'node:worker_threads';
import {
  createScenarioRegistry,
  type Scenario,
  type ScenarioSource,
  searchUnit,
  sequentialUnits,
  type UnitResult,
  type UnitRunner,
} from '@hmmsim/explorer';
import { loadScenarioFile } from './scenario-file.ts';

/** How a worker finds the scenario: a registered name, or a scenario file and its export. */
export type ScenarioRef =
  | { readonly kind: 'registered'; readonly name: string }
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly exportName: string | undefined;
      readonly dir: string | undefined;
    };

/** One unit sent to a worker. */
export interface UnitRequest {
  readonly index: number;
  readonly prefix: readonly number[];
  readonly opts: { readonly bound: number; readonly reduction: 'dpor' | 'none' };
}

/** A worker's answer. */
type UnitReply =
  | { readonly index: number; readonly result: UnitResult }
  | { readonly index: number; readonly error: string };

let sources: readonly ScenarioSource[] | undefined;

/** The scenario sources of the CLI (loaded on first use: the registry imports every package). */
async function cliSources(): Promise<readonly ScenarioSource[]> {
  sources ??= (await import('./commands/explore.ts')).EXPLORE_SCENARIO_SOURCES;
  return sources;
}

/** Load the scenario a worker was given. */
export async function loadUnitScenario(ref: ScenarioRef): Promise<Scenario> {
  if (ref.kind === 'file') {
    return loadScenarioFile(ref.path, { exportName: ref.exportName, dir: ref.dir });
  }
  const entry = createScenarioRegistry(await cliSources()).get(ref.name);
  if (entry === undefined) throw new Error(`unknown scenario '${ref.name}'`);
  return entry.scenario;
}

/**
 * A worker thread running unit-worker next to this file: the built .js directly; the .ts source
 * (running under tsx, as `pnpm hmmsim` does) through tsx's loader, which a worker thread does not
 * inherit from the main thread.
 */
function startWorker(ref: ScenarioRef): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./unit-worker.js', import.meta.url), { workerData: ref });
  }
  const script = new URL('./unit-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(script)}); });`;
  // The workspace packages resolve to their TypeScript sources under this export condition.
  const execArgv = ['--conditions=@hmmsim/source'];
  return new Worker(code, { eval: true, workerData: ref, execArgv });
}

/** Estimated milliseconds of work below which starting worker threads does not pay. */
const WORKERS_PAY_OFF_MS = 4000;

/**
 * A UnitRunner for `n` workers: searches the first unit in this thread, and when the rest looks
 * like more than WORKERS_PAY_OFF_MS of work (the first unit's wall time times the units left), hands
 * the rest to `n` worker threads; otherwise searches them here too. Where a unit is searched
 * does not change its result. Mirrors: model-only.
 */
export function adaptiveUnits(n: number, ref: ScenarioRef): UnitRunner {
  return async (scenario, units, opts) => {
    if (n <= 1 || units.length <= 1) return sequentialUnits(scenario, units, opts);
    const start = performance.now();
    const first = await searchUnit(scenario, units[0]!, opts);
    if (first.violation !== undefined) return [first];
    const rest = units.slice(1);
    const estimate = (performance.now() - start) * rest.length;
    const others =
      estimate < WORKERS_PAY_OFF_MS
        ? await sequentialUnits(scenario, rest, opts)
        : await workerUnits(n, ref)(scenario, rest, opts);
    return [first, ...others];
  };
}

/**
 * A UnitRunner that searches units on `n` worker threads, each loading the scenario from `ref`.
 * Mirrors: model-only.
 */
export function workerUnits(n: number, ref: ScenarioRef): UnitRunner {
  return async (_scenario, units, opts) => {
    const results: (UnitResult | undefined)[] = new Array(units.length).fill(undefined);
    const workers = Array.from({ length: Math.max(1, Math.min(n, units.length)) }, () =>
      startWorker(ref),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let next = 0;
        let busy = 0;
        let firstViolation = Number.POSITIVE_INFINITY;
        const dispatch = (w: Worker): void => {
          if (next >= units.length || next > firstViolation) {
            if (busy === 0) resolve();
            return;
          }
          const index = next++;
          busy++;
          w.postMessage({ index, prefix: units[index]!, opts } satisfies UnitRequest);
        };
        for (const w of workers) {
          w.on('message', (reply: UnitReply) => {
            busy--;
            if ('error' in reply) {
              reject(new Error(`unit ${reply.index}: ${reply.error}`));
              return;
            }
            results[reply.index] = reply.result;
            if (reply.result.violation !== undefined) {
              firstViolation = Math.min(firstViolation, reply.index);
            }
            dispatch(w);
          });
          w.on('error', reject);
          dispatch(w);
        }
      });
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
    return results;
  };
}
