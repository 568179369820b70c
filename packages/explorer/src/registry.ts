import { InvalidArgumentError } from '@hmmsim/kernel';
import type { Scenario } from './scenario.ts';

/** The scenarios one package ships (each package exports its own `scenarios` array). */
export interface ScenarioSource {
  /** The package name shown by `hmmsim explore --list` ('@hmmsim/explorer'). */
  readonly package: string;
  readonly scenarios: readonly Scenario[];
}

/** A scenario together with the package it came from. */
export interface RegisteredScenario {
  readonly package: string;
  readonly scenario: Scenario;
}

/** Scenarios of several packages, looked up by name. */
export interface ScenarioRegistry {
  /** Every scenario, in source order then declaration order. */
  list(): readonly RegisteredScenario[];
  /** The scenario called `name`, or undefined. */
  get(name: string): RegisteredScenario | undefined;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;

/** Throw unless `name` is a kebab-case scenario name. */
function checkName(pkg: string, name: string): void {
  if (!NAME_RE.test(name)) {
    throw new InvalidArgumentError(
      `scenario '${name}' of ${pkg}: expected a kebab-case name (lower-case letters, digits, '-')`,
    );
  }
}

/**
 * A registry over the scenario arrays of several packages; throws on a malformed or duplicate
 * name (the CLI concatenates every package's `scenarios`).
 * Mirrors: model-only.
 */
export function createScenarioRegistry(sources: readonly ScenarioSource[]): ScenarioRegistry {
  const byName = new Map<string, RegisteredScenario>();
  const all: RegisteredScenario[] = [];
  for (const src of sources) {
    for (const scenario of src.scenarios) {
      checkName(src.package, scenario.name);
      const prev = byName.get(scenario.name);
      if (prev !== undefined) {
        throw new InvalidArgumentError(
          `scenario '${scenario.name}' is registered by both ${prev.package} and ${src.package}; expected unique names`,
        );
      }
      const entry = { package: src.package, scenario };
      byName.set(scenario.name, entry);
      all.push(entry);
    }
  }
  return { list: () => all, get: (name) => byName.get(name) };
}
