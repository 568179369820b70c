/**
 * `hmmsim race [--impl legacy|shim|interval|all] [--bound N|inf]`: explore the seed race (CPU0
 * munmaps / mprotects / reclaims a mirrored page while CPU1 runs a device fault) for each
 * implementation, over all interleavings by default, and print the schedules explored, what
 * they show, the violations, and for a violation the minimal trace and the freed page that now
 * belongs to another process.
 * Exit codes as for `hmmsim explore`: 0 no violation, 1 a violation, 2 bad usage (one line).
 */
import { formatTraceTable } from '@hmmsim/explorer';
import {
  RACE_IMPLS,
  type RaceImpl,
  type RaceOpResult,
  type RaceReport,
  runRace,
} from '@hmmsim/hmm-mirror';
import type { CAC } from 'cac';
import {
  checkKnownOptions,
  type Lines,
  processLines,
  resolveImplAlias,
  UsageError,
  usageErrorLine,
} from '../usage.ts';

/** Exit codes of the command. */
export const RACE_EXIT_OK = 0;
export const RACE_EXIT_VIOLATION = 1;
export const RACE_EXIT_USAGE = 2;

/** Where the command writes. */
export interface RaceIo {
  out(text: string): void;
  err(text: string): void;
}

/** What cac parsed. */
export interface RaceCommandInput {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  /** Option names the host CLI defines globally (accepted and ignored here). */
  readonly globalOptions?: readonly string[] | undefined;
}

const IMPL_CHOICES = [...RACE_IMPLS, 'all'] as const;
const MAX_BOUND = 4;

/** The usage text of the command (`hmmsim race --help`). */
export const RACE_USAGE = [
  'usage: hmmsim race [--impl legacy|shim|interval|all] [--bound N|inf]',
  '',
  'Show the seed race of the hmm_mirror API: CPU0 munmaps / mprotects / reclaims a mirrored page',
  'while CPU1 runs a device fault, under every interleaving (or every schedule up to a preemption',
  'bound), on each implementation.',
  '',
  "  --impl NAME    legacy, shim, interval or all (default all); 'native' is accepted for interval",
  `  --bound N|inf  preemption bound of the search, 0 to ${MAX_BOUND}, or inf (default): every`,
  '                 interleaving, one schedule per class of schedules that differ only in the',
  '                 order of independent steps (dynamic partial-order reduction)',
  '  -h, --help     this text',
  '',
  'Exit codes: 0 no violation, 1 a violation (its minimal trace printed), 2 bad usage.',
  '',
  'Examples:',
  '  hmmsim race --impl legacy',
  '  hmmsim race --impl interval --bound 2',
].join('\n');

/** What each implementation is. */
const IMPL_TITLE: Readonly<Record<RaceImpl, string>> = {
  legacy: 'v5.4 nouveau-style driver on the legacy hmm_mirror API (valid flag)',
  shim: 'the same driver, unchanged, on the compat shim (mmu_interval_notifier + sequence)',
  interval: 'v5.5 driver on mmu_interval_notifier (read_begin / read_retry / set_seq)',
};

/** Validated arguments. */
interface RaceArgs {
  readonly impls: readonly RaceImpl[];
  readonly bound: number;
}

/** The single value of option `name`, or undefined. */
function single(options: Readonly<Record<string, unknown>>, name: string): unknown {
  const v = options[name];
  if (Array.isArray(v)) throw new UsageError(`--${name} was given more than once`);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

/** Validate what cac parsed; throws UsageError. */
function parseArgs(input: RaceCommandInput): RaceArgs {
  if (input.args.length > 0) {
    throw new UsageError(`unexpected argument '${input.args[0]}'`);
  }
  checkKnownOptions(input.options, ['impl', 'bound'], input.globalOptions);
  const impl = resolveImplAlias(single(input.options, 'impl') ?? 'all');
  const choice = IMPL_CHOICES.find((c) => c === impl);
  if (choice === undefined) {
    throw new UsageError(`--impl ${String(impl)}: expected one of ${IMPL_CHOICES.join(', ')}`);
  }
  const impls = choice === 'all' ? RACE_IMPLS : [choice];
  const b = single(input.options, 'bound') ?? 'inf';
  if (b === 'inf' || b === 'infinity') return { impls, bound: Number.POSITIVE_INFINITY };
  if (typeof b !== 'number' || !Number.isSafeInteger(b) || b < 0 || b > MAX_BOUND) {
    throw new UsageError(
      `invalid --bound ${String(b)}: expected an integer in [0, ${MAX_BOUND}] or 'inf'`,
    );
  }
  return { impls, bound: b };
}

/** 'VIOLATION' / 'no violation: verified over all interleavings' for one scenario. */
function verdict(r: RaceOpResult, bound: number): string {
  if (r.violation !== undefined) return 'VIOLATION (stopped at the first one)';
  if (!r.exhausted) return 'no violation (budget ran out: not verified)';
  return bound === Number.POSITIVE_INFINITY
    ? 'no violation: verified over all interleavings'
    : `no violation: clean up to ${preemptions(bound)}`;
}

/** '2 preemptions'. */
function preemptions(n: number): string {
  return `${n} preemption${n === 1 ? '' : 's'}`;
}

/** What the search covers, for the header. */
function scope(bound: number): string {
  return bound === Number.POSITIVE_INFINITY
    ? 'every interleaving (DFS with dynamic partial-order reduction: one schedule per class of schedules that differ only in the order of independent steps)'
    : `every schedule with at most ${preemptions(bound)} (bounded DFS)`;
}

/** Print one violation: schedule, broken entries, the freed page's new owner, the trace. */
function printViolation(r: RaceOpResult, impl: RaceImpl, io: RaceIo): void {
  const v = r.violation;
  if (v === undefined) return;
  const p = `${v.preemptions} preemption${v.preemptions === 1 ? '' : 's'}`;
  io.out('');
  io.out(`  ${r.op}: minimal schedule '${v.schedule}' (${p}, ${v.steps} steps)`);
  io.out(`    replay: hmmsim explore ${r.scenario} --replay '${v.schedule}'`);
  for (const b of v.broken) {
    const at = `0x${b.addr.toString(16)}`;
    io.out(
      b.kind === 'stale'
        ? `    stale device entry: ${at} -> pfn ${b.pfn}, but the CPU no longer maps it there`
        : `    writable device entry: ${at} -> pfn ${b.pfn}, but the CPU maps it read-only`,
    );
  }
  if (v.reallocated !== undefined) {
    io.out(
      `    freed page: pfn ${v.reallocated.pfn} was freed by CPU0 and now belongs to ${v.reallocated.owner}` +
        ` — the ${impl} device still maps it`,
    );
  }
  if (v.trace !== undefined) {
    io.out('');
    for (const line of formatTraceTable(v.trace).split('\n')) io.out(`    ${line}`);
  }
}

/** Print one implementation's report. */
function printReport(rep: RaceReport, io: RaceIo): void {
  io.out('');
  io.out(`== ${rep.impl}: ${IMPL_TITLE[rep.impl]}`);
  for (const r of rep.results) {
    io.out(
      `  ${r.op.padEnd(8)} ${String(r.schedules).padStart(5)} schedules  ${verdict(r, rep.bound)}`,
    );
  }
  io.out(
    `  total: ${rep.schedules} schedules explored, ${rep.violations} violation${rep.violations === 1 ? '' : 's'}`,
  );
  for (const r of rep.results) printViolation(r, rep.impl, io);
}

/**
 * The race command as a pure function of its parsed arguments and an output sink: 0 (no
 * violation), 1 (a violation was found; minimal traces printed), 2 (bad usage).
 */
export async function runRaceCommand(input: RaceCommandInput, io: RaceIo): Promise<number> {
  let a: RaceArgs;
  try {
    a = parseArgs(input);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(usageErrorLine('race', error.message));
    return RACE_EXIT_USAGE;
  }
  io.out(
    `hmmsim race: CPU0 munmaps / mprotects / reclaims a mirrored page while CPU1 runs a device fault; ` +
      scope(a.bound),
  );
  io.out(
    '  invariant: no device entry maps a page the CPU no longer maps there, none is writable where the CPU is not',
  );
  let found = false;
  for (const impl of a.impls) {
    const rep = await runRace(impl, { bound: a.bound });
    printReport(rep, io);
    if (rep.violations > 0) found = true;
  }
  return found ? RACE_EXIT_VIOLATION : RACE_EXIT_OK;
}

/**
 * Run all three implementations over all interleavings and say, for each, whether it behaved as
 * expected (legacy racy, shim and interval verified clean); true if all did.
 */
export async function runRaceSummary(out: (line: string) => void): Promise<boolean> {
  let all = true;
  out(
    'The seed race (hmm_range.valid, v5.4) over all interleavings (DFS with partial-order reduction):',
  );
  for (const impl of RACE_IMPLS) {
    const rep = await runRace(impl, { bound: Number.POSITIVE_INFINITY });
    all &&= rep.asExpected;
    const saw =
      rep.violations > 0
        ? `${rep.violations}/${rep.results.length} scenarios violate the invariant`
        : `0 violations in ${rep.schedules} schedules (verified over all interleavings)`;
    const want = rep.expect === 'violation' ? 'racy' : 'clean';
    const first = rep.results.find((r) => r.violation?.reallocated !== undefined)?.violation;
    const extra =
      first?.reallocated === undefined
        ? ''
        : ` (e.g. schedule '${first.schedule}': pfn ${first.reallocated.pfn} now belongs to ${first.reallocated.owner})`;
    out(
      `  ${impl.padEnd(8)} ${saw}${extra} — expected ${want}: ${rep.asExpected ? 'as expected' : 'NOT as expected'}`,
    );
  }
  return all;
}

/** Lines to `lines` (default the process's stdout/stderr). */
export function processIo(lines: Lines = processLines): RaceIo {
  return { out: lines.out, err: lines.err };
}

/** Options of registerRaceCommand(). */
export interface RegisterRaceOptions {
  readonly io?: RaceIo | undefined;
  /** Receives the exit code; default sets process.exitCode. */
  readonly onExit?: ((code: number) => void) | undefined;
}

/**
 * Add `hmmsim race` to `cli`, with RACE_USAGE as its usage text (the host prints it for
 * `hmmsim race --help`). The action resolves to the exit code (also passed to `onExit`, by
 * default process.exitCode); option checking is done here so every usage error exits 2.
 */
export function registerRaceCommand(cli: CAC, opts: RegisterRaceOptions = {}): void {
  cli
    .command(
      'race [...args]',
      'Show the seed race of the hmm_mirror API on legacy, shim and interval',
    )
    .usage(RACE_USAGE)
    // Declared for parsing only; the help is RACE_USAGE alone.
    .option('--impl [name]', '')
    .option('--bound [n]', '')
    .allowUnknownOptions()
    .action(async (args: string[], options: Record<string, unknown>) => {
      const input: RaceCommandInput = {
        args,
        options,
        globalOptions: cli.globalCommand.options.flatMap((o) => o.names),
      };
      const code = await runRaceCommand(input, opts.io ?? processIo());
      if (opts.onExit === undefined) process.exitCode = code;
      else opts.onExit(code);
      return code;
    });
}
