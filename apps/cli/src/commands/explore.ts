/**
 * `hmmsim explore`: list the registered concurrency scenarios, explore one — registered, or
 * exported by a scenario file of one's own (`hmmsim explore ./my-scenario.ts [--export NAME]`) —
 * with a strategy (bounded DFS, seeded random, PCT), or replay one schedule; print the minimal
 * failing trace. Exit codes: 0 no violation, 1 violation (or a scenario that failed outside the
 * checks), 2 bad usage (one line; also a file that exports no usable Scenario, and a scenario
 * the explorer cannot explore as written: ScenarioError).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { scenarios as dmirrorScenarios } from '@hmmsim/dmirror';
import {
  coverageText,
  createScenarioRegistry,
  DEFAULT_DFS_BOUND,
  DEFAULT_PCT_DEPTH,
  DEFAULT_RUNS,
  DEFAULT_SEED,
  type ExploreResult,
  explore,
  scenarios as explorerScenarios,
  exploreSplit,
  formatTraceTable,
  REDUCTIONS,
  type Reduction,
  type RegisteredScenario,
  reductionOf,
  replaySchedule,
  type Scenario,
  ScenarioError,
  ScenarioModuleError,
  type ScenarioSource,
  ScheduleMismatchError,
  type ScheduleOutcome,
  ScheduleSyntaxError,
  STRATEGIES,
  type Strategy,
  type TraceRecord,
  toMermaid,
  type Violation,
} from '@hmmsim/explorer';
import { scenarios as hmmMirrorScenarios } from '@hmmsim/hmm-mirror';
import { scenarios as migrateScenarios } from '@hmmsim/migrate';
import { scenarios as mmuNotifierScenarios } from '@hmmsim/mmu-notifier';
import type { CAC } from 'cac';
import {
  AdaptiveDporUnits,
  adaptiveUnits,
  type ScenarioRef,
  WORKERS_AFTER_MS,
} from '../parallel-units.ts';
import {
  invocationDir,
  isScenarioPath,
  loadScenarioFile,
  ScenarioFileError,
} from '../scenario-file.ts';
import {
  checkKnownOptions,
  type Lines,
  processLines,
  UsageError,
  usageErrorLine,
} from '../usage.ts';

/** Exit codes of the command. */
export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;

/** Every package's scenarios; packages that ship scenarios later are appended here. */
export const EXPLORE_SCENARIO_SOURCES: readonly ScenarioSource[] = [
  { package: '@hmmsim/explorer', scenarios: explorerScenarios },
  { package: '@hmmsim/mmu-notifier', scenarios: mmuNotifierScenarios },
  { package: '@hmmsim/hmm-mirror', scenarios: hmmMirrorScenarios },
  { package: '@hmmsim/migrate', scenarios: migrateScenarios },
  { package: '@hmmsim/dmirror', scenarios: dmirrorScenarios },
];

/** Where the command writes: lines to stdout/stderr, files, and an optional wall clock (ms). */
export interface ExploreIo {
  out(text: string): void;
  err(text: string): void;
  writeFile(path: string, text: string): void;
  now?: (() => number) | undefined;
  /** Folder a relative scenario file path starts from (default: the shell's folder). */
  cwd?: string | undefined;
}

/** What cac parsed: positional args, camelCased options, and the raw argv (for --replay). */
export interface ExploreCommandInput {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  /** Raw argv: schedule strings such as '1.10' must not go through cac's number coercion. */
  readonly rawArgs?: readonly string[] | undefined;
  /** Option names the host CLI defines globally (accepted and ignored here). */
  readonly globalOptions?: readonly string[] | undefined;
}

/** Validated arguments. */
interface ExploreArgs {
  readonly list: boolean;
  readonly scenario: string | undefined;
  readonly strategy: Strategy;
  readonly bound: number | undefined;
  readonly runs: number | undefined;
  readonly seed: number | undefined;
  readonly replay: string | undefined;
  readonly mermaid: string | undefined;
  /** The export of a scenario file to run. */
  readonly exportName: string | undefined;
  readonly reduction: Reduction | undefined;
  /** Worker threads for a dfs (undefined: the machine's cores). */
  readonly workers: number | undefined;
}

/** The usage text of the command (`hmmsim explore --help`). */
export const EXPLORE_USAGE = [
  'usage: hmmsim explore --list',
  '       hmmsim explore <scenario> [--strategy dfs|random|pct] [--bound N] [--runs N] [--seed N]',
  '                      [--reduction auto|dpor|none] [--workers N] [--mermaid FILE]',
  '       hmmsim explore <scenario> --replay SCHEDULE [--mermaid FILE]',
  '       hmmsim explore ./my-scenario.ts [--export NAME] [any option above but --list]',
  '',
  'Explore the interleavings of a concurrency scenario, a registered one (--list) or the Scenario',
  'a file of your own exports, and print the minimal failing schedule with its trace and diagram.',
  '',
  '  --list             the scenarios of every package',
  '  --strategy NAME    dfs (default; exhaustive up to the bound), random or pct',
  `  --bound N          dfs: preemption bound (default ${DEFAULT_DFS_BOUND}, 'inf' for none);`,
  `                     pct: depth (default ${DEFAULT_PCT_DEPTH})`,
  `  --runs N           random/pct: schedules to run (default ${DEFAULT_RUNS}); dfs: a budget`,
  "  --reduction KIND   dfs with --bound inf: 'dpor' runs one schedule per class of schedules that",
  '                     differ only in the order of independent steps (the scenario must report its',
  "                     accesses), 'none' runs them all; 'auto' (default) uses dpor where it applies",
  '  --workers N        dfs: share the search among N lanes; any N gives the same result. A reduced',
  '                     search always may (default N: the cores), once it has run for a second: this',
  '                     thread and N-1 worker threads. A dfs without reduction only when --workers is',
  '                     given: N worker threads, this thread searching only while they load',
  `  --seed N           random/pct: base seed, run i uses seed + i (default ${DEFAULT_SEED})`,
  "  --replay SCHEDULE  rerun one schedule string (e.g. '1.1.2') and print its trace",
  '  --mermaid FILE     write the Mermaid sequence diagram to FILE instead of stdout',
  '  --export NAME      with a scenario file: the export to run (default: the default export,',
  '                     else the only Scenario export)',
  '  -h, --help         this text',
  '',
  'Exit codes: 0 no violation, 1 a violation (minimal trace printed) or a scenario that threw',
  'outside its checks, 2 bad usage (also a file without a usable Scenario, and a scenario that',
  'cannot be explored as written: ScenarioError).',
  '',
  'Examples:',
  '  hmmsim explore --list',
  '  hmmsim explore lost-update --bound 1',
  "  hmmsim explore lost-update --replay '1.1.2' --mermaid lost-update.mmd",
  '  hmmsim explore ./my-scenario.ts --export racy --bound 1',
].join('\n');

const OWN_OPTIONS = [
  'list',
  'strategy',
  'bound',
  'runs',
  'seed',
  'replay',
  'mermaid',
  'export',
  'reduction',
  'workers',
];

/** The raw text after `--name` (or in `--name=value`) in argv, if present. */
export function rawOptionValue(rawArgs: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === `--${name}`) return rawArgs[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** The single value of option `name`, or undefined; rejects repeats and a missing value. */
function single(options: Readonly<Record<string, unknown>>, name: string): unknown {
  const v = options[name];
  if (Array.isArray(v)) throw new UsageError(`--${name} was given more than once`);
  if (v === true && name !== 'list') throw new UsageError(`--${name} needs a value`);
  return v;
}

/** Largest --seed and --runs (so that seed + run index stays exact). */
const MAX_SEED = 2 ** 32 - 1;
const MAX_RUNS = 2 ** 31;
/**
 * Units per lane a DFS without reduction is split into (at least; 64 for one or two): enough
 * that the last units, on whichever lane finishes last, are a small part of the search.
 */
const DFS_UNITS_PER_LANE = 32;

/** Most worker threads --workers accepts. */
const MAX_WORKERS = 256;

/** An integer option in [min, max] ('inf' allowed when `infinite`). */
function integerOption(
  options: Readonly<Record<string, unknown>>,
  name: string,
  min: number,
  max: number,
  infinite = false,
): number | undefined {
  const v = single(options, name);
  if (v === undefined) return undefined;
  if (infinite && (v === 'inf' || v === 'infinity')) return Number.POSITIVE_INFINITY;
  const n = typeof v === 'number' ? v : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const also = infinite ? " or 'inf'" : '';
    throw new UsageError(
      `invalid --${name} ${String(v)}: expected an integer in [${min}, ${max}]${also}`,
    );
  }
  return n;
}

/** Throw a UsageError for any option this command does not know. */
function checkUnknown(input: ExploreCommandInput): void {
  checkKnownOptions(input.options, OWN_OPTIONS, input.globalOptions);
}

/** The reduction option, validated. */
function reductionOption(options: Readonly<Record<string, unknown>>): Reduction | undefined {
  const v = single(options, 'reduction');
  if (v === undefined) return undefined;
  const r = REDUCTIONS.find((x) => x === v);
  if (r === undefined) {
    throw new UsageError(`--reduction ${String(v)}: expected one of ${REDUCTIONS.join(', ')}`);
  }
  return r;
}

/** The strategy option, validated. */
function strategyOption(options: Readonly<Record<string, unknown>>): Strategy | undefined {
  const v = single(options, 'strategy');
  if (v === undefined) return undefined;
  const s = STRATEGIES.find((x) => x === v);
  if (s === undefined) {
    throw new UsageError(`--strategy ${String(v)}: expected one of ${STRATEGIES.join(', ')}`);
  }
  return s;
}

/** A string option (the raw argv text when available). */
function stringOption(input: ExploreCommandInput, name: string): string | undefined {
  const v = single(input.options, name);
  if (v === undefined) return undefined;
  const raw = input.rawArgs === undefined ? undefined : rawOptionValue(input.rawArgs, name);
  return raw ?? String(v);
}

/** Reject option combinations that make no sense. */
function checkCombination(a: ExploreArgs, strategyGiven: boolean, extraArgs: number): void {
  if (extraArgs > 0) throw new UsageError('expected at most one scenario name');
  if (a.list) {
    if (
      a.scenario !== undefined ||
      a.replay !== undefined ||
      a.exportName !== undefined ||
      strategyGiven
    ) {
      throw new UsageError('--list takes no scenario and no other option');
    }
    return;
  }
  if (a.scenario === undefined) throw new UsageError('missing scenario name (see --list)');
  if (a.exportName !== undefined && !isScenarioPath(a.scenario)) {
    throw new UsageError(
      `--export picks an export of a scenario file; '${a.scenario}' is a registered name ` +
        "(a file path starts with '.' or '/', or ends in .ts/.js/.mts/.mjs)",
    );
  }
  const tuning =
    strategyGiven ||
    a.bound !== undefined ||
    a.runs !== undefined ||
    a.reduction !== undefined ||
    a.workers !== undefined;
  if (a.replay !== undefined && (tuning || a.seed !== undefined)) {
    throw new UsageError(
      '--replay runs one given schedule: it takes no --strategy/--bound/--runs/--seed/--reduction/--workers',
    );
  }
  if (a.strategy === 'random' && a.bound !== undefined) {
    throw new UsageError(
      '--bound is the preemption bound (dfs) or the depth (pct); random has none',
    );
  }
  if (a.strategy === 'dfs' && a.seed !== undefined) {
    throw new UsageError('--seed applies to --strategy random and pct; dfs is exhaustive');
  }
  if (
    a.reduction === 'dpor' &&
    (a.strategy !== 'dfs' || a.bound !== Number.POSITIVE_INFINITY) &&
    a.replay === undefined
  ) {
    throw new UsageError(
      '--reduction dpor applies to an unbounded dfs: add --bound inf (a preemption bound does not combine soundly with it)',
    );
  }
  if (a.workers !== undefined && a.strategy !== 'dfs') {
    throw new UsageError('--workers applies to the dfs strategy');
  }
  if (a.workers !== undefined && a.runs !== undefined) {
    throw new UsageError('--workers runs the whole dfs: it takes no --runs budget');
  }
  if (a.strategy === 'pct' && a.bound === Number.POSITIVE_INFINITY) {
    throw new UsageError('--bound for pct is the depth: expected an integer >= 1');
  }
}

/**
 * Validate what cac parsed; throws UsageError with the message to print.
 */
function parseArgs(input: ExploreCommandInput): ExploreArgs {
  checkUnknown(input);
  const o = input.options;
  const strategy = strategyOption(o);
  const listOption = single(o, 'list');
  if (listOption !== undefined && typeof listOption !== 'boolean') {
    throw new UsageError('--list takes no value');
  }
  const args: ExploreArgs = {
    list: listOption === true,
    scenario: input.args[0],
    strategy: strategy ?? 'dfs',
    bound: integerOption(o, 'bound', strategy === 'pct' ? 1 : 0, 1000, true),
    runs: integerOption(o, 'runs', 1, MAX_RUNS),
    seed: integerOption(o, 'seed', 0, MAX_SEED),
    replay: stringOption(input, 'replay'),
    mermaid: stringOption(input, 'mermaid'),
    exportName: stringOption(input, 'export'),
    reduction: reductionOption(o),
    workers: integerOption(o, 'workers', 1, MAX_WORKERS),
  };
  if (args.mermaid === '') throw new UsageError('--mermaid needs a file name');
  if (args.exportName === '') throw new UsageError('--export needs an export name');
  checkCombination(args, strategy !== undefined, Math.max(0, input.args.length - 1));
  return args;
}

/** The `--list` table. */
function listScenarios(entries: readonly RegisteredScenario[], io: ExploreIo): void {
  const rows = entries.map((e) => [
    e.scenario.name,
    e.package,
    e.scenario.expect ?? '',
    e.scenario.description,
  ]);
  const header = ['scenario', 'package', 'expect', 'description'];
  const w = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) {
    io.out(r.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c)).join('  '));
  }
}

/** 'strategy dfs, preemption bound 2' / 'strategy pct, depth 3, seed 1, 1000 runs' */
function strategyLine(r: ExploreResult, a: ExploreArgs): string {
  if (r.strategy === 'dfs') {
    const b = r.bound === Number.POSITIVE_INFINITY ? 'none' : String(r.bound);
    const budget = a.runs === undefined ? '' : `, at most ${a.runs} schedules`;
    const por = r.reduction === 'dpor' ? ', partial-order reduction' : '';
    return `strategy dfs, preemption bound ${b}${por}${budget}`;
  }
  const depth = r.strategy === 'pct' ? `, depth ${r.bound}` : '';
  return `strategy ${r.strategy}${depth}, seed ${r.seed}, ${a.runs ?? DEFAULT_RUNS} runs`;
}

/** 'in 3.2 ms' or '' without a clock. */
function elapsed(ms: number | undefined): string {
  return ms === undefined ? '' : ` in ${ms.toFixed(1)} ms`;
}

/** '1.1.2 (1 preemption, 7 steps)' */
function scheduleSummary(v: Violation): string {
  const p = `${v.preemptions} preemption${v.preemptions === 1 ? '' : 's'}`;
  return `'${v.schedule}' (${p}, ${v.steps} steps)`;
}

/** Where the first violation was found. */
function foundAt(v: Violation): string {
  const seed =
    v.seed === undefined ? '' : `, run seed ${v.seed}: --seed ${v.seed} --runs 1 finds it again`;
  return `schedule #${v.run + 1}${seed}`;
}

/** Print the table and the diagram of a traced run (diagram to a file with --mermaid). */
function printTrace(trace: TraceRecord, title: string, a: ExploreArgs, io: ExploreIo): void {
  io.out('');
  io.out(formatTraceTable(trace));
  const diagram = toMermaid(trace, title);
  io.out('');
  if (a.mermaid === undefined) {
    io.out('```mermaid');
    io.out(diagram);
    io.out('```');
    return;
  }
  try {
    io.writeFile(a.mermaid, `${diagram}\n`);
  } catch (error) {
    throw new UsageError(`cannot write --mermaid ${a.mermaid}: ${String(error)}`);
  }
  io.out(`mermaid sequence diagram written to ${a.mermaid}`);
}

/** 'minimised over 8 schedules' (or why it is not minimal). */
function minimisedHow(r: ExploreResult): string {
  const m = r.minimisation;
  if (m === undefined) return 'not minimised';
  return `minimised over ${m.schedules} schedules${m.complete ? '' : ', budget exhausted'}`;
}

/** Print an exploration's result; the exit code (`target` is how the command named it). */
function reportExplore(
  r: ExploreResult,
  a: ExploreArgs,
  scenario: Scenario,
  target: string,
  io: ExploreIo,
): number {
  const name = scenario.name;
  io.out(`explore ${name}: ${strategyLine(r, a)}`);
  if (scenario.description !== '') io.out(`  ${scenario.description}`);
  io.out(`  ${r.schedules} schedules, ${r.steps} steps${elapsed(r.elapsedMs)}; ${coverageText(r)}`);
  const v = r.violation;
  const m = r.minimal;
  if (v === undefined || m === undefined) {
    io.out('no violation');
    return EXIT_OK;
  }
  io.out(`VIOLATION (${m.kind}): ${m.message}`);
  if (v.kind !== 'nondeterminism') {
    io.out(`  first failing schedule: ${scheduleSummary(v)}, ${foundAt(v)}`);
  }
  if (m.kind === 'nondeterminism') {
    io.out(`  diverging schedule: '${m.schedule}'`);
    return EXIT_VIOLATION;
  }
  io.out(`  minimal schedule:       ${scheduleSummary(m)}, ${minimisedHow(r)}`);
  io.out(`  replay: hmmsim explore ${target} --replay '${m.schedule}'`);
  if (r.trace !== undefined) printTrace(r.trace, `${name}: ${m.kind}`, a, io);
  return EXIT_VIOLATION;
}

/** Print a replayed run; the exit code. */
function reportReplay(o: ScheduleOutcome, a: ExploreArgs, name: string, io: ExploreIo): number {
  io.out(
    `replay ${name} '${a.replay}': ${o.steps} steps, ${o.preemptions} preemption(s), ` +
      `${o.codes.length} decisions`,
  );
  if (o.trace !== undefined) printTrace(o.trace, `${name} '${a.replay}'`, a, io);
  return o.failure === undefined ? EXIT_OK : EXIT_VIOLATION;
}

/**
 * How long a reduced search runs before it starts its worker threads: WORKERS_AFTER_MS, or
 * HMMSIM_WORKERS_AFTER_MS (0: at once; the explorer benchmark measures the workers so).
 */
function workersAfterMs(): number {
  const env = process.env['HMMSIM_WORKERS_AFTER_MS'];
  const ms = env === undefined || env === '' ? Number.NaN : Number(env);
  return Number.isFinite(ms) && ms >= 0 ? ms : WORKERS_AFTER_MS;
}

/** Explore or replay one scenario; the exit code (`target` is how the command named it). */
async function runScenario(
  scenario: Scenario,
  target: string,
  ref: ScenarioRef,
  a: ExploreArgs,
  io: ExploreIo,
): Promise<number> {
  if (a.replay !== undefined) {
    const o = await replaySchedule(scenario, a.replay, { trace: true });
    return reportReplay(o, a, scenario.name, io);
  }
  const opts = { bound: a.bound, reduction: a.reduction };
  const reduced = reductionOf(scenario, a.strategy, opts) === 'dpor';
  if (a.strategy === 'dfs' && a.runs === undefined && (reduced || a.workers !== undefined)) {
    // Divided into units that worker threads can share, with explore()'s result for any count.
    // A reduced search does so by default (in this thread for its first second); a DFS without
    // reduction only on --workers (its split costs a few extra runs).
    const n = a.workers ?? availableParallelism();
    const now = io.now ?? (() => performance.now());
    const runners = {
      units: adaptiveUnits(n, ref),
      minUnits: DFS_UNITS_PER_LANE * Math.max(2, n),
      dporUnits: new AdaptiveDporUnits(n, ref, now, undefined, workersAfterMs()),
    };
    const r = await exploreSplit(scenario, { ...opts, now: io.now }, runners);
    return reportExplore(r, a, scenario, target, io);
  }
  const r = await explore(scenario, {
    strategy: a.strategy,
    bound: a.bound,
    runs: a.runs,
    seed: a.seed,
    reduction: a.reduction,
    now: io.now,
  });
  return reportExplore(r, a, scenario, target, io);
}

/**
 * The explore command as a pure function of its parsed arguments and an output sink:
 * returns 0 (no violation), 1 (violation, minimal trace printed) or 2 (bad usage, message on
 * stderr).
 */
export async function runExploreCommand(
  input: ExploreCommandInput,
  io: ExploreIo,
  sources: readonly ScenarioSource[] = EXPLORE_SCENARIO_SOURCES,
): Promise<number> {
  try {
    const a = parseArgs(input);
    const registry = createScenarioRegistry(sources);
    if (a.list) {
      listScenarios(registry.list(), io);
      return EXIT_OK;
    }
    const name = a.scenario ?? '';
    if (isScenarioPath(name)) {
      const scenario = await loadScenarioFile(name, { exportName: a.exportName, dir: io.cwd });
      const ref: ScenarioRef = { kind: 'file', path: name, exportName: a.exportName, dir: io.cwd };
      return await runScenario(scenario, fileTarget(name, a.exportName), ref, a, io);
    }
    const entry = registry.get(name);
    if (entry === undefined) {
      throw new UsageError(`unknown scenario '${a.scenario}'; run 'hmmsim explore --list'`);
    }
    return await runScenario(entry.scenario, name, { kind: 'registered', name }, a, io);
  } catch (error) {
    return reportError(error, io);
  }
}

/** A file argument as a shell word: quoted when it holds anything but path characters. */
function shellWord(s: string): string {
  return /^[\w./@:+,=-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** How the replay hint names a scenario file: './s.ts' or './s.ts --export racy'. */
function fileTarget(path: string, exportName: string | undefined): string {
  const exp = exportName === undefined ? '' : ` --export ${shellWord(exportName)}`;
  return `${shellWord(path)}${exp}`;
}

/** The line that points at --export for a module error, if one helps. */
function exportHint(error: ScenarioModuleError): string | undefined {
  const c = error.candidates;
  if (error.problem === 'several-scenarios') return `pick one with --export NAME (${c.join(', ')})`;
  if (error.problem === 'import-failed' || c.length === 0) return undefined;
  return `exports that are Scenarios: ${c.join(', ')} (--export NAME)`;
}

/**
 * Print an error. Usage problems, schedules that do not fit, scenario files without a usable
 * Scenario and scenarios that cannot be explored as written (ScenarioError) give 2; anything
 * else the scenario threw gives 1.
 */
function reportError(error: unknown, io: ExploreIo): number {
  if (
    error instanceof UsageError ||
    error instanceof ScheduleSyntaxError ||
    error instanceof ScheduleMismatchError ||
    error instanceof ScenarioFileError
  ) {
    io.err(usageErrorLine('explore', error.message));
    return EXIT_USAGE;
  }
  if (error instanceof ScenarioModuleError) {
    io.err(`hmmsim explore: ${error.message}`);
    const hint = exportHint(error);
    if (hint !== undefined) io.err(`  ${hint}`);
    return EXIT_USAGE;
  }
  if (error instanceof ScenarioError) {
    io.err('hmmsim explore: the scenario cannot be explored as written (ScenarioError):');
    io.err(`  ${error.message}`);
    return EXIT_USAGE;
  }
  io.err(
    `hmmsim explore: scenario error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return EXIT_VIOLATION;
}

/**
 * Lines to `lines` (default the process's stdout/stderr), files with writeFileSync (relative to
 * the shell's folder, like scenario files), time with performance.now.
 */
export function processIo(lines: Lines = processLines): ExploreIo {
  const cwd = invocationDir();
  return {
    out: lines.out,
    err: lines.err,
    writeFile: (path, text) => writeFileSync(isAbsolute(path) ? path : resolve(cwd, path), text),
    now: () => performance.now(),
    cwd,
  };
}

/** Options of registerExploreCommand() (tests pass their own sink and exit hook). */
export interface RegisterExploreOptions {
  readonly io?: ExploreIo | undefined;
  readonly sources?: readonly ScenarioSource[] | undefined;
  /** Receives the exit code; default sets process.exitCode. */
  readonly onExit?: ((code: number) => void) | undefined;
}

/**
 * Add `hmmsim explore` to `cli`, with EXPLORE_USAGE as its usage text (the host prints it for
 * `hmmsim explore --help`). The action resolves to the exit code (also passed to `onExit`, by
 * default process.exitCode); option checking is done here, not by cac, so every usage error
 * gives exit code 2 with a one-line message.
 */
export function registerExploreCommand(cli: CAC, opts: RegisterExploreOptions = {}): void {
  cli
    .command(
      'explore [...scenario]',
      'Explore the interleavings of a concurrency scenario: a registered name or a scenario file',
    )
    .usage(EXPLORE_USAGE)
    // Declared for parsing only; the help is EXPLORE_USAGE alone.
    .option('--list', '')
    .option('--strategy [name]', '')
    .option('--bound [n]', '')
    .option('--runs [n]', '')
    .option('--seed [n]', '')
    .option('--replay [schedule]', '')
    .option('--mermaid [file]', '')
    .option('--export [name]', '')
    .option('--reduction [kind]', '')
    .option('--workers [n]', '')
    .allowUnknownOptions()
    .action(async (args: string[], options: Record<string, unknown>) => {
      const input: ExploreCommandInput = {
        args,
        options,
        rawArgs: cli.rawArgs,
        globalOptions: cli.globalCommand.options.flatMap((o) => o.names),
      };
      const code = await runExploreCommand(input, opts.io ?? processIo(), opts.sources);
      if (opts.onExit === undefined) process.exitCode = code;
      else opts.onExit(code);
      return code;
    });
}
