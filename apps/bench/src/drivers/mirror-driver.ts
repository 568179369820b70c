/**
 * One driver per implementation behind a single shape: the package's LegacyDriver on the legacy
 * API or on the shim, or its IntervalDriver; fault() is the driver's own fault loop.
 */
import {
  type DevicePageTable,
  type FaultRecord,
  IntervalDriver,
  LegacyDriver,
  legacyHmmMirrorApi,
  shimHmmMirrorApi,
} from '@hmmsim/hmm-mirror';
import type { MmStruct } from '@hmmsim/mm';
import type { Impl } from './impl.ts';
import { intervalSnapshot, legacyApiSnapshot } from './snapshot-loop.ts';

/** A bound-or-unbound mirroring device of one implementation. */
export interface MirrorDriver {
  readonly impl: Impl;
  readonly mm: MmStruct;
  readonly dev: DevicePageTable;
  /** Every fault's outcome (the driver's own record). */
  readonly faults: readonly FaultRecord[];
  /** Register the mirror / insert the interval notifier; throws on an errno. */
  bind(): Promise<void>;
  /** Undo bind(). */
  unbind(): Promise<void>;
  /** The driver's fault loop over its whole range (read or write requests); throws unless 0. */
  fault(write: boolean): Promise<void>;
  /** The same loop with HMM_FAULT_SNAPSHOT (nothing faulted); throws unless 0. */
  snapshot(): Promise<void>;
}

/** Options of createMirrorDriver. */
export interface MirrorDriverOptions {
  /** Attempts before the driver gives up with -EBUSY (default: the driver's 3). */
  readonly maxTries?: number;
}

/** Throws unless a driver call returned 0. */
function check(what: string, impl: Impl, ret: number): void {
  if (ret !== 0) throw new Error(`${impl} driver: ${what} returned ${ret}`);
}

/** A driver of `impl` over `[start, start + npages pages)` of `mm` (not yet bound). */
export function createMirrorDriver(
  impl: Impl,
  mm: MmStruct,
  start: number,
  npages: number,
  opts: MirrorDriverOptions = {},
): MirrorDriver {
  const o = opts.maxTries === undefined ? {} : { maxTries: opts.maxTries };
  if (impl === 'interval') {
    const d = new IntervalDriver(mm, start, npages, o);
    return wrap(impl, d, () => intervalSnapshot(d));
  }
  const api = impl === 'legacy' ? legacyHmmMirrorApi : shimHmmMirrorApi;
  const d = new LegacyDriver(api, mm, start, npages, o);
  return wrap(impl, d, () => legacyApiSnapshot(d, opts.maxTries));
}

/** The common shape over either driver class. */
function wrap(
  impl: Impl,
  d: LegacyDriver | IntervalDriver,
  snapshot: () => Promise<number>,
): MirrorDriver {
  return {
    impl,
    mm: d.mm,
    dev: d.dev,
    faults: d.faults,
    bind: async () => check('bind', impl, await d.bind()),
    unbind: () => d.unbind(),
    fault: async (write) => check('fault', impl, await d.fault(write)),
    snapshot: async () => check('snapshot', impl, await snapshot()),
  };
}
