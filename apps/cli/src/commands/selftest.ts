/**
 * `hmmsim selftest [--impl interval|legacy|shim] [--filter NAME] [--seed N]`: run the kernel's HMM
 * selftests (the eleven shared scenarios of lib/test_hmm.c's hmm-tests.c) against the dmirror
 * device built on one mirroring implementation, and print kselftest-style TAP as each test
 * finishes: the version and plan lines, `ok N hmm.anon_write` / `not ok N …` (a documented legacy
 * failure names its race after '#'), and the totals (`# PASSED: n / n tests passed.`).
 * Exit codes: 0 every selected test passed, 1 one failed, 2 bad usage (one line).
 */
import {
  DMIRROR_IMPLS,
  type DmirrorImpl,
  runSelftests,
  selectSelftests,
  tapHeader,
  tapResult,
  tapTotals,
} from '@hmmsim/dmirror';
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
export const SELFTEST_EXIT_OK = 0;
export const SELFTEST_EXIT_FAIL = 1;
export const SELFTEST_EXIT_USAGE = 2;

/** Where the command writes, and where a default seed comes from. */
export interface SelftestIo {
  out(text: string): void;
  err(text: string): void;
  /** The seed when --seed is not given (default 1, so runs are reproducible). */
  defaultSeed?(): number;
}

/** What cac parsed. */
export interface SelftestCommandInput {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  /** Option names the host CLI defines globally (accepted and ignored here). */
  readonly globalOptions?: readonly string[] | undefined;
}

const SEED_MAX = 2 ** 32 - 1;

/** The usage text of the command (`hmmsim selftest --help`). */
export const SELFTEST_USAGE = [
  'usage: hmmsim selftest [--impl interval|legacy|shim] [--filter NAME] [--seed N]',
  '',
  "Run the kernel's HMM selftests (lib/test_hmm.c's hmm-tests.c) against the dmirror device",
  'built on one mirroring implementation; kselftest-style TAP on stdout.',
  '',
  "  --impl NAME    interval (default), legacy or shim; 'native' is accepted for interval",
  '  --filter NAME  run one test (e.g. anon_write or hmm.anon_write)',
  `  --seed N       seed of anon_teardown's random mode, 0 to ${SEED_MAX}`,
  '                 (default: from the clock, printed so the run can be repeated)',
  '  -h, --help     this text',
  '',
  'Exit codes: 0 every selected test passed, 1 one failed, 2 bad usage.',
  '',
  'Examples:',
  '  hmmsim selftest --impl legacy',
  '  hmmsim selftest --filter anon_write --seed 1',
].join('\n');

/** What each implementation is. */
const IMPL_TITLE: Readonly<Record<DmirrorImpl, string>> = {
  interval: "a driver on mmu_interval_notifier (the kernel's design since v5.5)",
  legacy: 'the v5.4 hmm_mirror API (valid flag, races R1/R2)',
  shim: 'the compat shim (hmm_mirror calls over mmu_interval_notifier)',
};

/** What the documented legacy reasons mean. */
const REASONS: Readonly<Record<string, string>> = {
  R1: 'the hmm_range valid flag misses an invalidation that starts and ends between hmm_range_fault() and hmm_range_valid()',
  R2: 'an in-flight invalidation anywhere in the mm keeps ranges invalid until the wait times out',
};

/** Validated arguments. */
interface SelftestArgs {
  readonly impl: DmirrorImpl;
  readonly filter: string | undefined;
  readonly seed: number;
}

/** The single value of option `name`, or undefined. */
function single(options: Readonly<Record<string, unknown>>, name: string): unknown {
  const v = options[name];
  if (Array.isArray(v)) throw new UsageError(`--${name} was given more than once`);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

/** --impl. */
function parseImpl(options: Readonly<Record<string, unknown>>): DmirrorImpl {
  const v = resolveImplAlias(single(options, 'impl') ?? 'interval');
  const impl = DMIRROR_IMPLS.find((i) => i === v);
  if (impl === undefined) {
    throw new UsageError(`--impl ${String(v)}: expected one of ${DMIRROR_IMPLS.join(', ')}`);
  }
  return impl;
}

/** --filter: a test name or fixture.name that exists. */
function parseFilter(options: Readonly<Record<string, unknown>>): string | undefined {
  const v = single(options, 'filter');
  if (v === undefined) return undefined;
  const name = String(v);
  if (selectSelftests(name).length === 0) {
    const names = selectSelftests().map((c) => c.name);
    throw new UsageError(`--filter ${name}: no such test; expected one of ${names.join(', ')}`);
  }
  return name;
}

/** --seed. */
function parseSeed(options: Readonly<Record<string, unknown>>, io: SelftestIo): number {
  const v = single(options, 'seed');
  if (v === undefined) return io.defaultSeed?.() ?? 1;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > SEED_MAX) {
    throw new UsageError(`invalid --seed ${String(v)}: expected an integer in [0, ${SEED_MAX}]`);
  }
  return v;
}

/** Validate what cac parsed; throws UsageError. */
function parseArgs(input: SelftestCommandInput, io: SelftestIo): SelftestArgs {
  if (input.args.length > 0) throw new UsageError(`unexpected argument '${input.args[0]}'`);
  checkKnownOptions(input.options, ['impl', 'filter', 'seed'], input.globalOptions);
  return {
    impl: parseImpl(input.options),
    filter: parseFilter(input.options),
    seed: parseSeed(input.options, io),
  };
}

/** The diagnostic lines after the plan: what runs, the seed, the legacy reasons. */
function preamble(a: SelftestArgs): string[] {
  const lines = [
    `# dmirror on ${a.impl}: ${IMPL_TITLE[a.impl]}`,
    `# anon_teardown seed: ${a.seed} (rerun with --seed ${a.seed})`,
  ];
  if (a.impl === 'legacy') {
    for (const [r, what] of Object.entries(REASONS)) lines.push(`# legacy ${r}: ${what}`);
  }
  return lines;
}

/**
 * The selftest command as a function of its parsed arguments and an output sink: 0 (every
 * selected test passed), 1 (one failed), 2 (bad usage). TAP goes to `io.out` as tests finish.
 */
export async function runSelftestCommand(
  input: SelftestCommandInput,
  io: SelftestIo,
): Promise<number> {
  let a: SelftestArgs;
  try {
    a = parseArgs(input, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(usageErrorLine('selftest', error.message));
    return SELFTEST_EXIT_USAGE;
  }
  const selected = selectSelftests(a.filter);
  const fixtures = new Set(selected.map((c) => c.fixture)).size;
  const [version, plan, starting] = tapHeader(selected.length, fixtures);
  for (const line of [version, plan, ...preamble(a), starting]) if (line) io.out(line);
  const report = await runSelftests({
    impl: a.impl,
    seed: a.seed,
    ...(a.filter === undefined ? {} : { filter: a.filter }),
    onResult: (r) => {
      for (const line of tapResult(r)) io.out(line);
    },
  });
  for (const line of tapTotals(report)) io.out(line);
  return report.failed === 0 ? SELFTEST_EXIT_OK : SELFTEST_EXIT_FAIL;
}

/** Lines to `lines` (default the process's stdout/stderr); the default seed from the clock (printed for reruns). */
export function processIo(lines: Lines = processLines): SelftestIo {
  return {
    out: lines.out,
    err: lines.err,
    defaultSeed: () => Date.now() % 2 ** 31,
  };
}

/** Options of registerSelftestCommand(). */
export interface RegisterSelftestOptions {
  readonly io?: SelftestIo | undefined;
  /** Receives the exit code; default sets process.exitCode. */
  readonly onExit?: ((code: number) => void) | undefined;
}

/**
 * Add `hmmsim selftest` to `cli`, with SELFTEST_USAGE as its usage text (the host prints it for
 * `hmmsim selftest --help`). The action resolves to the exit code (also passed to `onExit`, by
 * default process.exitCode); option checking is done here so every usage error exits 2.
 */
export function registerSelftestCommand(cli: CAC, opts: RegisterSelftestOptions = {}): void {
  cli
    .command(
      'selftest [...args]',
      "Run the kernel's HMM selftests against the dmirror device (TAP)",
    )
    .usage(SELFTEST_USAGE)
    // Declared for parsing only; the help is SELFTEST_USAGE alone.
    .option('--impl [name]', '')
    .option('--filter [name]', '')
    .option('--seed [n]', '')
    .allowUnknownOptions()
    .action(async (args: string[], options: Record<string, unknown>) => {
      const input: SelftestCommandInput = {
        args,
        options,
        globalOptions: cli.globalCommand.options.flatMap((o) => o.names),
      };
      const code = await runSelftestCommand(input, opts.io ?? processIo());
      if (opts.onExit === undefined) process.exitCode = code;
      else opts.onExit(code);
      return code;
    });
}
