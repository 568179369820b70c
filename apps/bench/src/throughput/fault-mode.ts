/**
 * How a fault-throughput operation treats the range: snapshot the populated range
 * (HMM_FAULT_SNAPSHOT: nothing is faulted, so it has no read/write variant), or fault every page
 * in from empty with read or write requests.
 */

/** A fault-throughput mode. */
export type FaultMode = 'snapshot' | 'fault-read' | 'fault-write';

/** Every mode, in run order (snapshot first: it needs the range populated). */
export const FAULT_MODES: readonly FaultMode[] = ['snapshot', 'fault-read', 'fault-write'];
