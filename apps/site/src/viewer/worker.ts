/**
 * The viewer's Web Worker: runs the explorer and replays off the page's thread, so the page stays
 * responsive; the page cancels a run by terminating the worker.
 */
import { handleViewerRequest } from './core/handler.ts';
import type { ViewerRequest, ViewerResponse } from './core/protocol.ts';

/** What this file uses of the dedicated worker scope (typed here, so no webworker lib is needed). */
interface WorkerScope {
  onmessage: ((e: MessageEvent<ViewerRequest>) => void) | null;
  postMessage(msg: ViewerResponse): void;
}

const scope = self as unknown as WorkerScope;

scope.onmessage = (e) => {
  void handleViewerRequest(
    e.data,
    (msg) => scope.postMessage(msg),
    () => performance.now(),
  );
};
