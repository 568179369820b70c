import type { Scenario } from './scenario.ts';

/**
 * Loading a scenario someone wrote in their own module: pick the export to run and check that it
 * is shaped like a Scenario before the explorer touches it. Browser-safe: the module is imported
 * with a dynamic `import()` (or an importer the caller passes), never read from a file system.
 */

/** Why a module did not yield a scenario. */
export type ScenarioModuleProblem =
  | 'import-failed'
  | 'no-such-export'
  | 'not-a-scenario'
  | 'no-scenario'
  | 'several-scenarios';

/** A scenario module that cannot be used: the message is one line saying what is wrong. */
export class ScenarioModuleError extends Error {
  override readonly name = 'ScenarioModuleError';

  constructor(
    message: string,
    /** What went wrong. */
    readonly problem: ScenarioModuleProblem,
    /** The export names that are Scenarios ('several-scenarios', 'no-scenario': may be empty). */
    readonly candidates: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Options of scenarioFromModule() and loadScenarioModule(). */
export interface ScenarioModuleOptions {
  /** The export to take; without it the default export, else the only export that is a Scenario. */
  readonly exportName?: string | undefined;
  /** How the module is named in messages (default: the specifier). */
  readonly label?: string | undefined;
}

/** Options of loadScenarioModule(). */
export interface LoadScenarioModuleOptions extends ScenarioModuleOptions {
  /** Import the module (default: the host's dynamic `import()`). */
  readonly importModule?: ((specifier: string) => Promise<unknown>) | undefined;
}

/** Export names that are bookkeeping of module interop, not exports of the author's. */
const INTEROP_KEYS = new Set(['__esModule', 'module.exports']);

/** A value that can carry properties. */
function isObjectLike(v: unknown): v is Record<string, unknown> {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

/** 'a number (3)', 'undefined', 'a function' */
function describeValue(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.slice(0, 40))})`;
  if (typeof v === 'number' || typeof v === 'boolean') return `a ${typeof v} (${String(v)})`;
  return `${typeof v === 'object' ? 'an' : 'a'} ${typeof v}`;
}

/** The problems of one task entry. */
function taskProblems(task: unknown, i: number): string[] {
  if (!isObjectLike(task))
    return [`tasks[${i}] is ${describeValue(task)}, not a { name, run } task`];
  const out: string[] = [];
  if (typeof task['name'] !== 'string' || task['name'] === '') {
    out.push(`tasks[${i}].name is ${describeValue(task['name'])} (expected a non-empty string)`);
  }
  if (typeof task['run'] !== 'function') {
    out.push(
      `tasks[${i}].run is ${describeValue(task['run'])} (expected an async function run(state, sched))`,
    );
  }
  return out;
}

/** A positive-integer (or >= 0) option that is present but wrong. */
function countProblem(s: Record<string, unknown>, key: string, min: number): string | undefined {
  const v = s[key];
  if (v === undefined || (Number.isSafeInteger(v) && (v as number) >= min)) return undefined;
  return `${key} is ${describeValue(v)} (expected an integer >= ${min})`;
}

/**
 * Everything that keeps `value` from being a Scenario, each as a short phrase ('tasks is
 * empty (expected at least one task)'); empty when it is one: a non-empty `name`, a `setup`
 * function, `tasks` with at least one `{ name, run }`, and `invariant`/`finalCheck`/`maxSteps`/
 * `nsPerStep` of the right type when present.
 * Mirrors: model-only.
 */
export function scenarioProblems(value: unknown): string[] {
  if (!isObjectLike(value)) {
    return [`it is ${describeValue(value)}, not an object with name, setup and tasks`];
  }
  const out: string[] = [];
  if (typeof value['name'] !== 'string' || value['name'] === '') {
    out.push(`name is ${describeValue(value['name'])} (expected a non-empty string)`);
  }
  if (typeof value['setup'] !== 'function') {
    out.push(
      `setup is ${describeValue(value['setup'])} (expected a function setup(sched) that builds the state)`,
    );
  }
  const tasks = value['tasks'];
  if (!Array.isArray(tasks)) {
    out.push(`tasks is ${describeValue(tasks)} (expected an array of { name, run } tasks)`);
  } else if (tasks.length === 0) {
    out.push('tasks is empty (expected at least one task)');
  } else {
    tasks.forEach((t, i) => {
      out.push(...taskProblems(t, i));
    });
  }
  for (const key of ['invariant', 'finalCheck']) {
    const v = value[key];
    if (v !== undefined && typeof v !== 'function') {
      out.push(`${key} is ${describeValue(v)} (expected a function of the state)`);
    }
  }
  const steps = countProblem(value, 'maxSteps', 1);
  if (steps !== undefined) out.push(steps);
  const ns = countProblem(value, 'nsPerStep', 0);
  if (ns !== undefined) out.push(ns);
  return out;
}

/** True when `value` has the shape of a Scenario (see scenarioProblems()).
 * Mirrors: model-only.
 */
export function isScenario(value: unknown): value is Scenario {
  return scenarioProblems(value).length === 0;
}

/**
 * The exports of a module namespace, with CommonJS interop undone: a TypeScript file compiled to
 * CommonJS arrives as `{ default: { __esModule: true, default, ...named } }`.
 */
function exportsOf(ns: unknown): Map<string, unknown> {
  let source: unknown = ns;
  if (isObjectLike(ns)) {
    const d = ns['default'];
    if (isObjectLike(d) && d['__esModule'] === true) source = d;
  }
  const out = new Map<string, unknown>();
  if (!isObjectLike(source)) return out;
  for (const key of Object.keys(source)) {
    if (!INTEROP_KEYS.has(key)) out.set(key, source[key]);
  }
  return out;
}

/** 'a, b, c' or '(none)' */
function nameList(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.join(', ');
}

/** The export `name`, checked. */
function namedExport(exports: Map<string, unknown>, name: string, label: string): Scenario {
  if (!exports.has(name)) {
    throw new ScenarioModuleError(
      `${label} has no export '${name}'; its exports: ${nameList([...exports.keys()])}`,
      'no-such-export',
      scenarioNames(exports),
    );
  }
  const value = exports.get(name);
  const problems = scenarioProblems(value);
  if (problems.length > 0) {
    throw new ScenarioModuleError(
      `export '${name}' of ${label} is not a Scenario: ${problems.join('; ')}`,
      'not-a-scenario',
      scenarioNames(exports),
    );
  }
  return value as Scenario;
}

/** Names of the exports that are Scenarios, in the module's order. */
function scenarioNames(exports: Map<string, unknown>): string[] {
  return [...exports.entries()].filter(([, v]) => isScenario(v)).map(([k]) => k);
}

/**
 * The scenario a module namespace offers: the export `exportName` when given, else the default
 * export, else the only export that is a Scenario; checked with scenarioProblems(). Throws a
 * ScenarioModuleError (one line) for a missing export, a value that is not a Scenario, a module
 * with no Scenario, or one with several and no name to choose by.
 * Mirrors: model-only.
 */
export function scenarioFromModule(ns: unknown, opts: ScenarioModuleOptions = {}): Scenario {
  const label = opts.label ?? 'the module';
  const exports = exportsOf(ns);
  if (opts.exportName !== undefined) return namedExport(exports, opts.exportName, label);
  if (exports.has('default')) return namedExport(exports, 'default', label);
  const names = scenarioNames(exports);
  if (names.length === 1) return exports.get(names[0]!) as Scenario;
  if (names.length === 0) {
    throw new ScenarioModuleError(
      `${label} exports no Scenario (an object with name, setup and tasks); its exports: ${nameList([...exports.keys()])}`,
      'no-scenario',
    );
  }
  throw new ScenarioModuleError(
    `${label} exports ${names.length} Scenarios (${names.join(', ')}) and no default; name the one to run`,
    'several-scenarios',
    names,
  );
}

/** `text` on one line (line breaks and the indentation after them become one space). */
function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' ');
}

/** The host's dynamic import, kept opaque to bundlers. */
function hostImport(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

/**
 * Import the module at `specifier` (a URL such as `file:///home/me/my-scenario.ts`) and return
 * its scenario as scenarioFromModule() picks it; an import that fails becomes a
 * ScenarioModuleError ('import-failed') with the original error as `cause`.
 * Mirrors: model-only (the explorer's "bring your own scenario" entry point).
 */
export async function loadScenarioModule(
  specifier: string,
  opts: LoadScenarioModuleOptions = {},
): Promise<Scenario> {
  const label = opts.label ?? specifier;
  let ns: unknown;
  try {
    ns = await (opts.importModule ?? hostImport)(specifier);
  } catch (error) {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new ScenarioModuleError(`cannot import ${label}: ${oneLine(why)}`, 'import-failed', [], {
      cause: error,
    });
  }
  return scenarioFromModule(ns, { exportName: opts.exportName, label });
}
