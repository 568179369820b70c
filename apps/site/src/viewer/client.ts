/**
 * The page's handle on the viewer worker: promise-returning calls, progress callbacks, and
 * cancel — which terminates the worker (the explorer runs without yielding to the worker's event
 * loop, so a message could not stop it) and starts a fresh one for the next call.
 */
import { ViewerCancelledError, ViewerInputError } from './core/errors.ts';
import type { ShownRun, ViewerRequest, ViewerResponse } from './core/protocol.ts';
import type { ExploreProgress, ExploreSummary, ReplayView, ScenarioInfo } from './core/types.ts';

/** What the client needs of a Worker (a real one, or a stand-in in tests). */
export interface WorkerLike {
  postMessage(msg: ViewerRequest): void;
  terminate(): void;
  onmessage: ((e: MessageEvent<ViewerResponse>) => void) | null;
  onerror: ((e: ErrorEvent) => void) | null;
}

/** Build the viewer worker (Vite bundles `worker.ts` as a module worker). */
export function createViewerWorker(): WorkerLike {
  return new Worker(new URL('./worker.ts', import.meta.url), {
    type: 'module',
    name: 'hmmsim-race-viewer',
  }) as unknown as WorkerLike;
}

/** A request in flight. */
interface Pending {
  readonly resolve: (msg: ViewerResponse) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress: ((p: ExploreProgress) => void) | undefined;
}

/** Distributes the Omit over the request union. */
type RequestBody = ViewerRequest extends infer R
  ? R extends ViewerRequest
    ? Omit<R, 'id'>
    : never
  : never;

/** Talks to one worker at a time. */
export class ViewerClient {
  private worker: WorkerLike | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly factory: () => WorkerLike = createViewerWorker) {}

  /** Every scenario and its drivers. */
  async catalogue(): Promise<readonly ScenarioInfo[]> {
    const msg = await this.send({ type: 'catalogue' });
    if (msg.type !== 'catalogue') throw unexpected(msg);
    return msg.catalogue;
  }

  /**
   * Explore by DFS up to `bound` preemptions (default the viewer's), or over all interleavings
   * (Infinity); resolves with the summary and the replay of what to show.
   */
  async explore(
    scenario: string,
    impl: string,
    onProgress?: (p: ExploreProgress) => void,
    bound?: number,
  ): Promise<{ summary: ExploreSummary; replay: ReplayView; shown: ShownRun }> {
    const msg = await this.send({ type: 'explore', scenario, impl, bound }, onProgress);
    if (msg.type !== 'explored') throw unexpected(msg);
    return { summary: msg.summary, replay: msg.replay, shown: msg.shown };
  }

  /** Replay one schedule with the state after every step. */
  async replay(scenario: string, impl: string, schedule: string): Promise<ReplayView> {
    const msg = await this.send({ type: 'replay', scenario, impl, schedule });
    if (msg.type !== 'replayed') throw unexpected(msg);
    return msg.replay;
  }

  /** True while a request is in flight. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Stop everything in flight (each call rejects with ViewerCancelledError). */
  cancel(): void {
    this.dropWorker(new ViewerCancelledError('cancelled'));
  }

  /** Stop the worker for good (the page is going away). */
  dispose(): void {
    this.dropWorker(new ViewerCancelledError('the viewer was closed'));
  }

  private dropWorker(reason: Error): void {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) {
      w.onmessage = null;
      w.onerror = null;
      w.terminate();
    }
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(reason);
  }

  private ensureWorker(): WorkerLike {
    if (this.worker !== undefined) return this.worker;
    const w = this.factory();
    w.onmessage = (e) => this.receive(e.data);
    w.onerror = (e) => {
      e.preventDefault?.();
      this.dropWorker(new Error(`the viewer worker failed: ${e.message || 'unknown error'}`));
    };
    this.worker = w;
    return w;
  }

  private send(
    body: RequestBody,
    onProgress?: (p: ExploreProgress) => void,
  ): Promise<ViewerResponse> {
    const id = this.nextId++;
    const worker = this.ensureWorker();
    return new Promise<ViewerResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      worker.postMessage({ ...body, id } as ViewerRequest);
    });
  }

  private receive(msg: ViewerResponse): void {
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    if (msg.type === 'progress') {
      p.onProgress?.(msg.progress);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'error') {
      p.reject(
        msg.name === 'ViewerInputError'
          ? new ViewerInputError(msg.message)
          : new Error(`${msg.name}: ${msg.message}`),
      );
    } else p.resolve(msg);
  }
}

/** The error for an answer of the wrong type. */
function unexpected(msg: ViewerResponse): Error {
  return new Error(`unexpected answer '${msg.type}' from the viewer worker`);
}
