/**
 * `hmmsim explore --workers N`: the units of a divided search (exploreSplit) searched on N worker
 * threads. Where a unit runs never changes its result, and exploreSplit commits units in the
 * order one thread would, so the verdict, the counts and the minimal trace are the same for any N.
 */
import { Worker } from 'node:worker_threads';
import {
  createScenarioRegistry,
  type DporUnitProgress,
  type DporUnitResult,
  type DporUnitRunner,
  type DporUnitSpec,
  type Scenario,
  type ScenarioSource,
  searchDporUnit,
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

/**
 * A unit sent to a worker: a DFS unit (a prefix of choice codes) or a DPOR unit; with `claim`
 * (one shared word, 0 while nobody has taken the unit), whoever sets it first searches it: a
 * worker skips a unit this thread took back from its port.
 */
export type UnitRequest = (
  | {
      readonly id: number;
      readonly kind: 'dfs';
      readonly prefix: readonly number[];
      readonly bound: number;
    }
  | { readonly id: number; readonly kind: 'dpor'; readonly spec: DporUnitSpec }
) & { readonly claim?: Int32Array | undefined };

/** Take the unit of `req` for this thread or worker: false if someone else has it already. */
export function claimUnit(req: UnitRequest): boolean {
  return req.claim === undefined || Atomics.compareExchange(req.claim, 0, 0, 1) === 0;
}

/** What a worker posts: it is ready, a unit's progress, its result, or why it failed. */
export type UnitReply =
  | { readonly ready: true }
  | { readonly id: number; readonly progress: DporUnitProgress }
  | { readonly id: number; readonly result: UnitResult | DporUnitResult }
  | { readonly id: number; readonly error: string };

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

/** Search one unit request in this thread; `onProgress` gets a DPOR unit's progress. */
export function searchRequest(
  scenario: Scenario,
  req: UnitRequest,
  onProgress: (p: DporUnitProgress) => void,
): Promise<UnitResult | DporUnitResult> {
  return req.kind === 'dfs'
    ? searchUnit(scenario, req.prefix, { bound: req.bound })
    : searchDporUnit(scenario, req.spec, onProgress);
}

/** Units of `scenario` searched in this thread, for a pool's in-thread lane. */
function hereSearch<S>(scenario: Scenario<S>): InThreadSearch {
  return (req, onProgress) => searchRequest(scenario as Scenario, req, onProgress);
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

/** A unit waiting for, or running on, a worker. */
interface Job {
  readonly req: UnitRequest;
  readonly onProgress: (p: DporUnitProgress) => void;
  readonly resolve: (r: UnitResult | DporUnitResult) => void;
  readonly reject: (e: Error) => void;
}

/** One worker thread and the jobs sent to it (the first one running, in order). */
interface Slot {
  readonly worker: Worker;
  ready: boolean;
  readonly jobs: Job[];
}

/** Searches a unit in the thread that made the pool. */
export type InThreadSearch = (
  req: UnitRequest,
  onProgress: (p: DporUnitProgress) => void,
) => Promise<UnitResult | DporUnitResult>;

/** Options of a WorkerPool. */
export interface WorkerPoolOptions {
  /**
   * Search units in this thread too, as one more lane of the pool: the thread that made the pool
   * has the packages loaded and its compiler warmed up already, where a new worker starts cold.
   */
  readonly inThread?: InThreadSearch | undefined;
  /**
   * With `inThread`: this thread searches only until a worker is ready, then hands out units and
   * nothing else, so a unit never waits behind one this thread is searching.
   */
  readonly inThreadUntilReady?: boolean | undefined;
}

/**
 * Worker threads, each with the scenario loaded, and optionally this thread as one more lane,
 * taking queued units in order (an urgent one first). While this thread searches a unit it reads
 * no messages, so each worker then gets a second unit ahead: it is never left waiting for this
 * thread to hand it work; and this thread takes its next unit only after the messages that
 * arrived meanwhile were read (else it would take every unit before a worker could say it is
 * ready). Mirrors: model-only.
 */
export class WorkerPool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 0;
  /** Workers that have loaded the scenario (asked at every unit a search starts). */
  private readyCount = 0;
  private closed: Error | undefined;
  private readonly waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly inThread: InThreadSearch | undefined;
  private readonly inThreadUntilReady: boolean;
  /** The unit this thread is searching, if any. */
  private hereJob: Job | undefined;
  /** This thread takes its next unit once the pending messages were read. */
  private hereSoon = false;

  /** `threads` worker threads (plus this thread as a lane with `opts.inThread`). */
  constructor(threads: number, ref: ScenarioRef, opts: WorkerPoolOptions = {}) {
    this.inThread = opts.inThread;
    this.inThreadUntilReady = opts.inThreadUntilReady === true;
    this.slots = Array.from({ length: threads }, () => this.startSlot(ref));
  }

  /** Lanes in the pool: its worker threads, and this thread when it searches too. */
  get size(): number {
    return this.slots.length + (this.inThread === undefined ? 0 : 1);
  }

  /**
   * Units worth keeping submitted at once: one per lane, and with this thread as a lane for the
   * whole search one more per worker (the unit it gets ahead).
   */
  get capacity(): number {
    if (this.inThread === undefined) return this.slots.length;
    return this.inThreadUntilReady ? this.slots.length + 1 : 2 * this.slots.length + 1;
  }

  /** Lanes that can search now: workers that have loaded the scenario, and this thread. */
  get ready(): number {
    return this.readyCount + (this.searchesHere() ? 1 : 0);
  }

  /** Whether this thread is (still) a lane. */
  private searchesHere(): boolean {
    return this.inThread !== undefined && !(this.inThreadUntilReady && this.readyCount > 0);
  }

  /** Resolves once every worker has loaded the scenario (rejects if the pool failed). */
  whenReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed !== undefined) reject(this.closed);
      else if (this.readyCount === this.slots.length) resolve();
      else this.waiters.push({ resolve, reject });
    });
  }

  /**
   * Search a unit on the next free worker (its `id` is replaced by the pool's); `urgent` puts
   * it at the head of the queue.
   */
  submit(
    req: UnitRequest,
    onProgress: (p: DporUnitProgress) => void,
    urgent: boolean,
  ): Promise<UnitResult | DporUnitResult> {
    return new Promise((resolve, reject) => {
      if (this.closed !== undefined) {
        reject(this.closed);
        return;
      }
      const claim = new Int32Array(new SharedArrayBuffer(4));
      const job: Job = { req: { ...req, id: this.nextId++, claim }, onProgress, resolve, reject };
      if (urgent) this.queue.unshift(job);
      else this.queue.push(job);
      this.pump();
    });
  }

  /** Stop every worker; queued and running units reject. */
  async close(): Promise<void> {
    this.fail(new Error('the search ended; unit cancelled'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private startSlot(ref: ScenarioRef): Slot {
    const slot: Slot = { worker: startWorker(ref), ready: false, jobs: [] };
    slot.worker.on('message', (m: UnitReply) => this.onMessage(slot, m));
    slot.worker.on('error', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    return slot;
  }

  private onMessage(slot: Slot, m: UnitReply): void {
    if ('ready' in m) {
      slot.ready = true;
      this.readyCount++;
      if (this.readyCount === this.slots.length) {
        for (const w of this.waiters.splice(0)) w.resolve();
      }
      this.pump();
      return;
    }
    const job = slot.jobs[0];
    if (job === undefined || job.req.id !== m.id) return;
    if ('progress' in m) {
      job.onProgress(m.progress);
      return;
    }
    slot.jobs.shift();
    if ('error' in m) job.reject(new Error(m.error));
    else job.resolve(m.result);
    this.pump();
  }

  /**
   * Give queued jobs to idle workers; when this thread is a lane and idle, have it take the next
   * one after the pending messages were read (see hereNext).
   */
  private pump(): void {
    this.feedIdleWorkers();
    if (this.inThread === undefined || this.hereJob !== undefined || this.hereSoon) return;
    if (this.queue.length > 0 ? this.searchesHere() : this.unstartedJob(false) !== undefined) {
      this.hereSoon = true;
      setImmediate(() => this.hereNext());
    }
  }

  /**
   * This thread's turn, the messages that came meanwhile read: idle workers get a job first,
   * then this thread takes the next one and each worker with one job gets one more.
   */
  private hereNext(): void {
    this.hereSoon = false;
    this.feedIdleWorkers();
    if (this.closed !== undefined || this.hereJob !== undefined) return;
    if (this.queue.length === 0) {
      // Nothing queued: search here a unit a worker has not started (one still loading, or one
      // handed to a worker ahead), rather than wait for it.
      const taken = this.unstartedJob(true);
      if (taken !== undefined) this.searchHere(taken);
      return;
    }
    if (!this.searchesHere()) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    for (const slot of this.slots) {
      if (this.queue.length === 0) break;
      if (this.maySend(slot) && slot.jobs.length === 1) this.send(slot);
    }
    this.searchHere(job);
  }

  /**
   * The last unit sent to a worker that no worker has started (a ready worker's first one counts
   * as started); with `take`, claimed for this thread and removed from that worker's list.
   */
  private unstartedJob(take: boolean): Job | undefined {
    for (const slot of this.slots) {
      for (let i = slot.jobs.length - 1; i >= (slot.ready ? 1 : 0); i--) {
        const job = slot.jobs[i]!;
        const claim = job.req.claim;
        if (claim === undefined || Atomics.load(claim, 0) !== 0) continue;
        if (!take) return job;
        if (!claimUnit(job.req)) continue;
        slot.jobs.splice(i, 1);
        return job;
      }
    }
    return undefined;
  }

  /**
   * Give a queued job to each ready worker that has none; with `inThreadUntilReady` also to one
   * still loading (it waits in its port: a worker then starts on it the moment it is ready, where
   * this thread, busy with a unit, would notice that only later).
   */
  private feedIdleWorkers(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (this.maySend(slot) && slot.jobs.length === 0) this.send(slot);
    }
  }

  /** Whether `slot`'s worker may be sent a unit: once ready, or at once with inThreadUntilReady. */
  private maySend(slot: Slot): boolean {
    return slot.ready || this.inThreadUntilReady;
  }

  /** Post the next queued job to `slot`'s worker. */
  private send(slot: Slot): void {
    const job = this.queue.shift()!;
    slot.jobs.push(job);
    slot.worker.postMessage(job.req);
  }

  /** Search `job` in this thread; on its end, settle it (unless the pool failed) and pump. */
  private searchHere(job: Job): void {
    this.hereJob = job;
    const done = (settle: () => void): void => {
      if (this.hereJob !== job) return; // the pool failed meanwhile and rejected it
      this.hereJob = undefined;
      settle();
      this.pump();
    };
    this.inThread!(job.req, job.onProgress).then(
      (r) => done(() => job.resolve(r)),
      (e: unknown) => done(() => job.reject(e instanceof Error ? e : new Error(String(e)))),
    );
  }

  /** Reject everything queued or running; no more jobs are taken. */
  private fail(error: Error): void {
    this.closed ??= error;
    for (const w of this.waiters.splice(0)) w.reject(error);
    for (const job of this.queue.splice(0)) job.reject(error);
    for (const slot of this.slots) for (const job of slot.jobs.splice(0)) job.reject(error);
    this.hereJob?.reject(error);
    this.hereJob = undefined;
  }
}

/**
 * Milliseconds a search runs in this thread before it starts worker threads (each takes a few
 * hundred milliseconds to load the packages; every shipped scenario's search ends sooner).
 */
export const WORKERS_AFTER_MS = 1000;

/**
 * The DPOR unit runner of `hmmsim explore`: units run in this thread until the search has taken
 * `afterMs` (default WORKERS_AFTER_MS), then on `n` lanes: this thread and `n - 1` worker
 * threads. Mirrors: model-only.
 */
export class AdaptiveDporUnits implements DporUnitRunner {
  private pool: WorkerPool | undefined;
  private readonly start: number;

  constructor(
    private readonly n: number,
    private readonly ref: ScenarioRef,
    private readonly now: () => number,
    /** Start the workers at once instead (benchmarks, tests). */
    pool?: WorkerPool,
    private readonly afterMs = WORKERS_AFTER_MS,
  ) {
    this.start = now();
    this.pool = pool;
  }

  get parallel(): number {
    return this.pool !== undefined && this.pool.ready > 0 ? this.pool.size : 1;
  }

  run<S>(
    scenario: Scenario<S>,
    spec: DporUnitSpec,
    onProgress: (p: DporUnitProgress) => void,
    urgent: boolean,
  ): Promise<DporUnitResult> {
    if (this.pool === undefined && this.n > 1 && this.now() - this.start >= this.afterMs) {
      this.pool = new WorkerPool(this.n - 1, this.ref, { inThread: hereSearch(scenario) });
    }
    const pool = this.pool;
    if (pool === undefined || (pool.ready === 0 && urgent)) {
      return searchDporUnit(scenario, spec, onProgress);
    }
    const req = { id: 0, kind: 'dpor', spec } as const;
    return pool.submit(req, onProgress, urgent) as Promise<DporUnitResult>;
  }

  cancel(): void {
    void this.pool?.close();
  }
}

/**
 * A UnitRunner (DFS without reduction) for `n` worker threads, started at once: this thread
 * searches units while they load, then only hands units out, one to each worker as it finishes
 * the last (a DFS's units take seconds each: one this thread was searching would keep a worker's
 * result, and the worker's next unit, waiting that long). A search that ends before any worker
 * is ready ran here entirely. Where a unit is searched does not change its result.
 * Mirrors: model-only.
 */
export function adaptiveUnits(n: number, ref: ScenarioRef): UnitRunner {
  return async (scenario, units, opts) => {
    if (n <= 1 || units.length <= 1) return sequentialUnits(scenario, units, opts);
    const pool = new WorkerPool(n, ref, {
      inThread: hereSearch(scenario),
      inThreadUntilReady: true,
    });
    try {
      return await workerUnits(pool)(scenario, units, opts);
    } finally {
      await pool.close();
    }
  };
}

/**
 * A UnitRunner (DFS without reduction) on `pool`: at most `pool.capacity` units in flight, in
 * order; after a unit with a violation no later unit starts, and the earlier ones finish, so the
 * combined result is the same for any pool size. Mirrors: model-only.
 */
export function workerUnits(pool: WorkerPool): UnitRunner {
  return async (_scenario, units, opts) => {
    const results: (UnitResult | undefined)[] = new Array(units.length).fill(undefined);
    let next = 0;
    let firstViolation = Number.POSITIVE_INFINITY;
    const lane = async (): Promise<void> => {
      while (next < units.length && next <= firstViolation) {
        const index = next++;
        const req = { id: 0, kind: 'dfs', prefix: units[index]!, bound: opts.bound } as const;
        const r = (await pool.submit(req, () => undefined, false)) as UnitResult;
        results[index] = r;
        if (r.violation !== undefined) firstViolation = Math.min(firstViolation, index);
      }
    };
    await Promise.all(Array.from({ length: pool.capacity }, lane));
    return results;
  };
}
