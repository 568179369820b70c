import type { Scenario } from '../scenario.ts';
import { abbaDeadlock } from './abba-deadlock.ts';
import { independentSteps } from './independent-steps.ts';
import { lostUpdate, lostUpdateMutex } from './lost-update.ts';
import { waitTimeout } from './wait-timeout.ts';

export * from './abba-deadlock.ts';
export * from './independent-steps.ts';
export * from './lost-update.ts';
export * from './wait-timeout.ts';

/** The textbook scenarios shipped with the explorer, for `hmmsim explore --list`. */
export const scenarios: readonly Scenario[] = [
  lostUpdate,
  lostUpdateMutex,
  abbaDeadlock,
  waitTimeout,
  independentSteps(3),
];
