/**
 * The viewer's scenarios: the seed race of @hmmsim/hmm-mirror (CPU0 munmaps, mprotects or
 * reclaims a mirrored page while CPU1's device faults the range) on each of the three mirroring
 * implementations, and the migration guide's pitfalls, each with the mistake and with its fix.
 * Every one exposes the mirrored mm and the device page table, which is what the viewer draws.
 */
import type { Scenario } from '@hmmsim/explorer';
import {
  type DevicePageTable,
  describePfnOwner,
  RACE_IMPLS,
  RACE_OPS,
  type RaceImpl,
  type RaceOp,
  type RaceState,
  raceScenario,
} from '@hmmsim/hmm-mirror';
import type { MmStruct } from '@hmmsim/mm';
import {
  describeOwner,
  expectationOf,
  findEntry,
  GUIDE_ENTRIES,
  type GuideEntry,
  type GuideState,
} from 'hmmsim-migration-guide';
import { ViewerInputError } from './errors.ts';
import type { ImplId, ImplInfo, ScenarioInfo } from './types.ts';

/** What the viewer reads from a scenario's state at every step. */
export interface StateProbe {
  /** The process whose range the device mirrors. */
  readonly mm: MmStruct;
  /** The device page table over the mirrored range. */
  readonly dev: DevicePageTable;
  /** Who maps `pfn` now, as text ('' if nobody). */
  owner(pfn: number): string;
}

/** A scenario ready to run, with the probe of its state. */
export interface ViewerScenario {
  readonly info: ScenarioInfo;
  readonly impl: ImplInfo;
  readonly scenario: Scenario<unknown>;
  /** Reads the mirrored mm and the device table from a state of `scenario`. */
  probe(state: unknown): StateProbe;
}

/** One catalogue entry with how to build each of its drivers. */
interface Entry {
  readonly info: ScenarioInfo;
  readonly build: (impl: ImplId) => {
    scenario: Scenario<unknown>;
    probe: (s: unknown) => StateProbe;
  };
}

/** The probe of a race scenario's state. */
function raceProbe(state: unknown): StateProbe {
  const s = state as RaceState;
  return { mm: s.mm, dev: s.driver.dev, owner: (pfn) => describePfnOwner(s, pfn) };
}

/** The probe of a guide scenario's state. */
function guideProbe(state: unknown): StateProbe {
  const s = state as GuideState;
  return { mm: s.world.mm, dev: s.driver.dev, owner: (pfn) => describeOwner(s, pfn) };
}

const RACE_TITLE: Readonly<Record<RaceOp, string>> = {
  munmap: 'munmap of a mirrored page',
  mprotect: 'mprotect of the range to read-only',
  reclaim: 'reclaim of a mirrored page',
};

const RACE_TEXT: Readonly<Record<RaceOp, string>> = {
  munmap:
    'CPU0 unmaps page 1 of the mirrored range (another process then faults a page in and gets the freed pfn) while CPU1’s device faults the range for writing.',
  mprotect: 'CPU0 makes the mirrored range read-only while CPU1’s device faults it for writing.',
  reclaim:
    'CPU0 reclaims page 0 of the mirrored range (swapped out and freed; another process then gets the pfn) while CPU1’s device faults the range for writing.',
};

const IMPL_TEXT: Readonly<Record<RaceImpl, { label: string; description: string }>> = {
  legacy: {
    label: 'legacy hmm_mirror (v5.4)',
    description:
      'a v5.4 nouveau-style driver on the legacy API: hmm_range_valid() reads a flag that the end of any invalidation sets back to true',
  },
  shim: {
    label: 'compat shim',
    description:
      'the same driver, unchanged, on the compat shim: hmm_range_valid() is !mmu_interval_read_retry()',
  },
  interval: {
    label: 'mmu_interval_notifier (v5.5)',
    description:
      'a native v5.5 driver: mmu_interval_read_begin(), hmm_range_fault(), then read_retry under the driver lock; set_seq in the callback',
  },
};

/** The entry of one race operation. */
function raceEntry(op: RaceOp): Entry {
  const impls = RACE_IMPLS.map((impl): ImplInfo => {
    const s = raceScenario(op, impl);
    return {
      id: impl,
      label: IMPL_TEXT[impl].label,
      description: IMPL_TEXT[impl].description,
      expect: s.expect ?? 'pass',
      scenarioName: s.name,
      allInterleavings: s.accesses === 'reported',
    };
  });
  return {
    info: { id: op, kind: 'race', title: RACE_TITLE[op], description: RACE_TEXT[op], impls },
    build: (impl) => ({
      scenario: raceScenario(op, impl as RaceImpl) as Scenario<unknown>,
      probe: raceProbe,
    }),
  };
}

/** The scenario of `entry` named `guide-<id>-<shape>`, if it has one. */
function guideScenarioOf(entry: GuideEntry, shape: string): Scenario<unknown> | undefined {
  const name = `guide-${entry.id}-${shape}`;
  return entry.scenarios(undefined).find((s) => s.name === name) as Scenario<unknown> | undefined;
}

/** The entry of one guide pitfall: its first scenario, and the same shape on the fixed driver. */
function pitfallEntry(entry: GuideEntry): Entry | undefined {
  const first = entry.scenarios(undefined)[0] as Scenario<unknown> | undefined;
  if (first === undefined) return undefined;
  const shape = first.name.slice(`guide-${entry.id}-`.length);
  const fixedEntry = entry.fixedBy === undefined ? undefined : findEntry(entry.fixedBy);
  const fixed = fixedEntry === undefined ? undefined : guideScenarioOf(fixedEntry, shape);
  const impls: ImplInfo[] = [
    {
      id: 'mistake',
      label: 'with the mistake',
      description: entry.title,
      expect: expectationOf(entry, undefined),
      scenarioName: first.name,
      allInterleavings: first.accesses === 'reported',
    },
  ];
  if (fixedEntry !== undefined && fixed !== undefined) {
    impls.push({
      id: 'fixed',
      label: 'fixed',
      description: fixedEntry.title,
      expect: expectationOf(fixedEntry, undefined),
      scenarioName: fixed.name,
      allInterleavings: fixed.accesses === 'reported',
    });
  }
  return {
    info: {
      id: entry.id,
      kind: 'pitfall',
      title: entry.title,
      description: first.description,
      impls,
      file: entry.file,
    },
    build: (impl) => {
      if (impl === 'fixed' && fixedEntry !== undefined) {
        const s = guideScenarioOf(fixedEntry, shape);
        if (s !== undefined) return { scenario: s, probe: guideProbe };
      }
      const s = guideScenarioOf(entry, shape);
      if (s === undefined) throw new ViewerInputError(`no scenario '${first.name}'`);
      return { scenario: s, probe: guideProbe };
    },
  };
}

let entries: readonly Entry[] | undefined;

/** Every entry, built once. */
function allEntries(): readonly Entry[] {
  entries ??= [
    ...RACE_OPS.map(raceEntry),
    ...GUIDE_ENTRIES.filter((e) => e.kind === 'pitfall').flatMap((e) => pitfallEntry(e) ?? []),
  ];
  return entries;
}

/** Every scenario of the viewer, races first, then the guide's pitfalls in chapter order. */
export function viewerCatalogue(): readonly ScenarioInfo[] {
  return allEntries().map((e) => e.info);
}

/** The catalogue entry `scenario` with driver `impl`; ViewerInputError when either is unknown. */
export function findImpl(
  catalogue: readonly ScenarioInfo[],
  scenario: string,
  impl: string,
): { info: ScenarioInfo; impl: ImplInfo } {
  const info = catalogue.find((s) => s.id === scenario);
  if (info === undefined) {
    const ids = catalogue.map((s) => s.id);
    throw new ViewerInputError(
      `unknown scenario '${scenario}'; expected one of ${ids.map((x) => `'${x}'`).join(', ')}`,
    );
  }
  const found = info.impls.find((i) => i.id === impl);
  if (found === undefined) {
    throw new ViewerInputError(
      `scenario '${scenario}' has no driver '${impl}'; expected one of ${info.impls.map((i) => `'${i.id}'`).join(', ')}`,
    );
  }
  return { info, impl: found };
}

/** Build `scenario` on driver `impl`; ViewerInputError when either is unknown. */
export function viewerScenario(scenario: string, impl: string): ViewerScenario {
  const found = findImpl(viewerCatalogue(), scenario, impl);
  const entry = allEntries().find((e) => e.info.id === scenario)!;
  const built = entry.build(found.impl.id);
  return { info: found.info, impl: found.impl, scenario: built.scenario, probe: built.probe };
}
