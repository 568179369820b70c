/**
 * The arguments of `hmmsim bench`, validated from what cac parsed: any problem is a UsageError
 * (the command prints it on one line and exits 2); and the command's one usage text
 * (`hmmsim bench --help`).
 */

/** A usage problem: the message for stderr. */
export class UsageError extends Error {}

/** The usage text (`hmmsim bench --help`). */
export const BENCH_USAGE =
  'usage: hmmsim bench [--quick] [--out DIR] [--filter RE] [--seed N] [--json-only] [--check]\n' +
  '\n' +
  'Benchmark the three mirroring implementations on the same work: legacy (the v5.4 hmm_mirror\n' +
  'API), shim (the same driver on the compat shim) and interval (a v5.5 driver on\n' +
  "mmu_interval_notifier; 'native' is accepted for it in --filter).\n" +
  '\n' +
  '  --quick      reduced matrix (under a minute; the CI smoke test)\n' +
  '  --out DIR    where results.json, results.schema.json, report.md and the SVG charts go\n' +
  '               (default bench-results/)\n' +
  "  --filter RE  run only the cases whose id matches RE (ids: 'fault-throughput/<4k|thp>/<size>',\n" +
  "               'invalidation-ranges', 'invalidation-mirrors', 'contention/<legacy|shim|interval>',\n" +
  "               'memory')\n" +
  "  --seed N     seed of the contention runs' random source (integer >= 0, default 1)\n" +
  '  --json-only  write only results.json and its schema; print only the path of results.json\n' +
  '  --check      exit 1 when an acceptance target is missed (a target this run did not\n' +
  '               measure, under --filter, is not a miss)\n' +
  '  -h, --help   this text\n' +
  '\n' +
  'Exit codes: 0 done, 1 the run failed (or, with --check, a target was missed), 2 bad usage.\n' +
  '\n' +
  'Examples:\n' +
  '  hmmsim bench --quick\n' +
  "  hmmsim bench --filter 'invalidation|contention' --out /tmp/bench --check";

/** What cac parsed for the command. */
export interface BenchCommandInput {
  /** Positional arguments after `bench` (none are accepted). */
  readonly args: readonly string[];
  /** Options, camelCased by cac. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Raw argv: --out and --filter are read from it, so cac's number coercion cannot touch them. */
  readonly rawArgs?: readonly string[] | undefined;
  /** Option names the host CLI defines globally (accepted and ignored). */
  readonly globalOptions?: readonly string[] | undefined;
}

/** Validated arguments. */
export interface BenchArgs {
  readonly quick: boolean;
  readonly out: string;
  readonly filter: RegExp | null;
  readonly filterSource: string | null;
  readonly seed: number;
  readonly jsonOnly: boolean;
  /** Exit 1 when an acceptance target is missed. */
  readonly check: boolean;
}

/** Default output folder. */
export const DEFAULT_OUT = 'bench-results';
/** Default seed. */
export const DEFAULT_SEED = 1;
/** Largest --seed. */
const MAX_SEED = 2 ** 32 - 1;

const OWN = ['quick', 'out', 'filter', 'seed', 'jsonOnly', 'json-only', 'check'];
const ALWAYS = ['--', 'h', 'help', 'v', 'version'];

/** The single value of `name`; rejects repeats. */
function single(options: Readonly<Record<string, unknown>>, name: string): unknown {
  const v = options[name];
  if (Array.isArray(v)) throw new UsageError(`--${name} was given more than once`);
  return v;
}

/** A flag: absent, or given without a value. */
function flag(options: Readonly<Record<string, unknown>>, name: string, shown: string): boolean {
  const v = single(options, name);
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new UsageError(`--${shown} takes no value`);
  return v;
}

/** An option as typed: '-q', '--json-only' (cac hands over camelCased names). */
export function optionText(name: string): string {
  if (name.length === 1) return `-${name}`;
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The raw text after `--name` (or in `--name=value`) in argv. */
export function rawOptionText(rawArgs: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === `--${name}`) return rawArgs[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** A string option: its raw argv text when available, else what cac parsed. */
function text(input: BenchCommandInput, name: string): string | undefined {
  const v = single(input.options, name);
  if (v === undefined) return undefined;
  if (v === true || v === false) throw new UsageError(`--${name} needs a value`);
  const raw = input.rawArgs === undefined ? undefined : rawOptionText(input.rawArgs, name);
  const s = raw ?? String(v);
  if (s === '') throw new UsageError(`--${name} needs a value`);
  return s;
}

/** --seed: an integer in [0, 2^32 - 1]. */
function seedOption(options: Readonly<Record<string, unknown>>): number {
  const v = single(options, 'seed');
  if (v === undefined) return DEFAULT_SEED;
  if (v === true) throw new UsageError('--seed needs a value');
  const n = typeof v === 'number' ? v : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SEED) {
    throw new UsageError(`invalid --seed ${String(v)}: expected an integer in [0, ${MAX_SEED}]`);
  }
  return n;
}

/** --filter: a valid regular expression. */
function filterOption(input: BenchCommandInput): { re: RegExp | null; source: string | null } {
  const source = text(input, 'filter');
  if (source === undefined) return { re: null, source: null };
  try {
    return { re: new RegExp(source), source };
  } catch (error) {
    throw new UsageError(
      `--filter ${source}: not a regular expression (${(error as Error).message})`,
    );
  }
}

/** Validate what cac parsed; throws UsageError. */
export function parseBenchArgs(input: BenchCommandInput): BenchArgs {
  if (input.args.length > 0) throw new UsageError(`unexpected argument '${input.args[0]}'`);
  const known = new Set([...OWN, ...ALWAYS, ...(input.globalOptions ?? [])]);
  for (const name of Object.keys(input.options)) {
    if (!known.has(name)) throw new UsageError(`unknown option ${optionText(name)}`);
  }
  const { re, source } = filterOption(input);
  return {
    quick: flag(input.options, 'quick', 'quick'),
    out: text(input, 'out') ?? DEFAULT_OUT,
    filter: re,
    filterSource: source,
    seed: seedOption(input.options),
    jsonOnly: flag(input.options, 'jsonOnly', 'json-only'),
    check: flag(input.options, 'check', 'check'),
  };
}

/** The canonical command line of `a` (recorded in results.json). */
export function commandLine(a: BenchArgs): string {
  const parts = ['hmmsim bench'];
  if (a.quick) parts.push('--quick');
  if (a.out !== DEFAULT_OUT) parts.push('--out', a.out);
  if (a.filterSource !== null) parts.push('--filter', `'${a.filterSource}'`);
  if (a.seed !== DEFAULT_SEED) parts.push('--seed', String(a.seed));
  if (a.jsonOnly) parts.push('--json-only');
  if (a.check) parts.push('--check');
  return parts.join(' ');
}
