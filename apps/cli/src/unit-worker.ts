/**
 * A worker thread of `hmmsim explore --workers N`: loads the scenario once, says it is ready,
 * then searches the units it is sent (searchRequest) unless the main thread took one back first,
 * posting a DPOR unit's progress as it goes and each result at the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  claimUnit,
  loadUnitScenario,
  type ScenarioRef,
  searchRequest,
  type UnitReply,
  type UnitRequest,
} from './parallel-units.ts';

const port = parentPort;
if (port === null) throw new Error('unit-worker.ts runs as a worker thread only');
const post = (m: UnitReply): void => port.postMessage(m);
const scenario = await loadUnitScenario(workerData as ScenarioRef);
port.on('message', async (req: UnitRequest) => {
  if (!claimUnit(req)) return; // the main thread took it back and searches it itself
  try {
    const result = await searchRequest(scenario, req, (progress) => post({ id: req.id, progress }));
    post({ id: req.id, result });
  } catch (error) {
    post({ id: req.id, error: error instanceof Error ? error.message : String(error) });
  }
});
post({ ready: true });
