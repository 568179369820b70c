/**
 * A worker thread of `hmmsim explore --workers N`: loads the scenario once, then searches the
 * units of a split search it is sent (searchUnit) and posts each result back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type Scenario, searchUnit } from '@hmmsim/explorer';
import { loadUnitScenario, type ScenarioRef, type UnitRequest } from './parallel-units.ts';

const port = parentPort;
if (port === null) throw new Error('unit-worker.ts runs as a worker thread only');
const scenario: Promise<Scenario> = loadUnitScenario(workerData as ScenarioRef);
port.on('message', async (req: UnitRequest) => {
  try {
    const result = await searchUnit(await scenario, req.prefix, req.opts);
    port.postMessage({ index: req.index, result });
  } catch (error) {
    port.postMessage({
      index: req.index,
      error: error instanceof Error ? error.message : String(error),
    });
  }
});
