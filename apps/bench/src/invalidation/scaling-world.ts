/**
 * Invalidation-scaling worlds on the shared slot layout (slot i: one page): n registered ranges
 * (legacy: hmm ranges on one mirror; shim: the same, each backed by an interval notifier;
 * interval: one interval-notifier driver per range), or m mirrors with one range each (interval: m
 * drivers). Nothing needs to be mapped: the invalidation goes straight through the mm's hooks.
 */
import {
  driverRange,
  type HmmMirrorApi,
  IntervalDriver,
  LegacyDriver,
  legacyHmmMirrorApi,
  shimHmmMirrorApi,
} from '@hmmsim/hmm-mirror';
import type { HmmRange } from '@hmmsim/hmm-range';
import { createMachine, createMm, type MmStruct, mmput } from '@hmmsim/mm';
import { singlePageInvalidator, slotAddress } from '@hmmsim-bench/common';
import type { Impl } from '../drivers/impl.ts';

/** A world and the invalidation to time in it. */
export interface ScalingWorld {
  readonly mm: MmStruct;
  /** One single-page invalidation of the next slot. */
  readonly invalidate: () => Promise<void>;
  /** Unregister everything and let the mm exit. */
  destroy(): Promise<void>;
}

/** A fresh mm for a scaling world (no memory is mapped). */
export function createScalingMm(): MmStruct {
  return createMm(createMachine({ ramBytes: 8 * 2 ** 20, swapPages: 0 }));
}

/** The legacy API of a legacy-API implementation. */
function apiOf(impl: Exclude<Impl, 'interval'>): HmmMirrorApi {
  return impl === 'legacy' ? legacyHmmMirrorApi : shimHmmMirrorApi;
}

/** Register a one-page range on slot `i` through `driver`'s mirror. */
async function registerSlot(driver: LegacyDriver, i: number): Promise<HmmRange> {
  const range = driverRange(slotAddress(i), 1);
  const ret = await driver.api.hmmRangeRegister(range, driver.mirror);
  if (ret !== 0) throw new Error(`hmm_range_register of slot ${i} returned ${ret}`);
  return range;
}

/** `count` interval drivers, one per slot, each bound. */
async function intervalDrivers(mm: MmStruct, count: number): Promise<IntervalDriver[]> {
  const drivers: IntervalDriver[] = [];
  for (let i = 0; i < count; i++) {
    const d = new IntervalDriver(mm, slotAddress(i), 1);
    const ret = await d.bind();
    if (ret !== 0) throw new Error(`interval notifier insert of slot ${i} returned ${ret}`);
    drivers.push(d);
  }
  return drivers;
}

/** An interval world: one driver per slot. */
async function intervalWorld(mm: MmStruct, count: number): Promise<ScalingWorld> {
  const drivers = await intervalDrivers(mm, count);
  return {
    mm,
    invalidate: singlePageInvalidator(mm, count),
    async destroy() {
      for (const d of drivers) await d.unbind();
      await mmput(mm);
    },
  };
}

/** Bind a legacy-API driver whose device covers slots [0, slots). */
async function legacyDriver(
  impl: Exclude<Impl, 'interval'>,
  mm: MmStruct,
  first: number,
  slots: number,
) {
  const d = new LegacyDriver(apiOf(impl), mm, slotAddress(first), 2 * slots - 1);
  const ret = await d.bind();
  if (ret !== 0) throw new Error(`hmm_mirror_register returned ${ret}`);
  return d;
}

/** A legacy-API world from drivers and their registered ranges. */
function legacyWorld(
  mm: MmStruct,
  count: number,
  parts: readonly { driver: LegacyDriver; ranges: HmmRange[] }[],
): ScalingWorld {
  return {
    mm,
    invalidate: singlePageInvalidator(mm, count),
    async destroy() {
      for (const { driver, ranges } of parts) {
        for (const r of ranges) await driver.api.hmmRangeUnregister(r);
        await driver.unbind();
      }
      await mmput(mm);
    },
  };
}

/** n registered one-page ranges of `impl` on `mm`. */
export async function createRangesWorld(
  impl: Impl,
  mm: MmStruct,
  n: number,
): Promise<ScalingWorld> {
  if (impl === 'interval') return intervalWorld(mm, n);
  const driver = await legacyDriver(impl, mm, 0, n);
  const ranges: HmmRange[] = [];
  for (let i = 0; i < n; i++) ranges.push(await registerSlot(driver, i));
  return legacyWorld(mm, n, [{ driver, ranges }]);
}

/** m mirrors of `impl` on `mm`, each with one registered one-page range. */
export async function createMirrorsWorld(
  impl: Impl,
  mm: MmStruct,
  m: number,
): Promise<ScalingWorld> {
  if (impl === 'interval') return intervalWorld(mm, m);
  const parts: { driver: LegacyDriver; ranges: HmmRange[] }[] = [];
  for (let j = 0; j < m; j++) {
    const driver = await legacyDriver(impl, mm, j, 1);
    parts.push({ driver, ranges: [await registerSlot(driver, j)] });
  }
  return legacyWorld(mm, m, parts);
}
