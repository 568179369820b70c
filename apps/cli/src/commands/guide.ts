/**
 * `hmmsim guide`: the migration guide's runnable catalogue (hmmsim-migration-guide).
 *
 *   hmmsim guide list                                   the chapters, then every entry by chapter
 *   hmmsim guide run <id> [--impl legacy|shim] [--bound N]   one entry: each scenario's verdict, a
 *                                                       violation's minimal trace, a pitfall's fix
 *   hmmsim guide run --all [--bound N]                  every entry on every implementation,
 *                                                       one line each
 *
 * Exit codes as for `hmmsim explore` and `hmmsim race`: 0 no violation found, 1 a violation was
 * found (so running a pitfall exits 1: finding its bug is the point), 2 bad usage (one line).
 * `run --all` exits 0 only when every entry behaved as the guide says (a pitfall's violation is
 * then expected), 1 otherwise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CAC } from 'cac';
import type { EntryRun, GuideEntry, GuideImpl } from 'hmmsim-migration-guide';
import {
  checkKnownOptions,
  type Lines,
  processLines,
  resolveImplAlias,
  UsageError,
  usageErrorLine,
} from '../usage.ts';
import { rawOptionValue } from './explore.ts';

/** The guide's default preemption bound (hmmsim-migration-guide's GUIDE_BOUND; a test keeps them equal). */
export const GUIDE_DEFAULT_BOUND = 2;

/** hmmsim-migration-guide, loaded on first use. */
type GuideLib = typeof import('hmmsim-migration-guide');
let loadedGuide: GuideLib | undefined;

/**
 * Load hmmsim-migration-guide. It ships with the repository (apps/migration-guide, with its
 * chapters), not with a published CLI, so a missing package is a usage error that says where the
 * guide lives; any other load failure is rethrown.
 */
async function loadGuide(): Promise<GuideLib> {
  if (loadedGuide !== undefined) return loadedGuide;
  try {
    loadedGuide = await import('hmmsim-migration-guide');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new UsageError(
      'the migration guide is not installed here: it ships with the hmmsim repository (apps/migration-guide); run `pnpm hmmsim guide` from a clone',
    );
  }
  return loadedGuide;
}

/** The loaded guide library (runGuideCommand loads it before anything needs it). */
function guide(): GuideLib {
  if (loadedGuide === undefined) throw new Error('hmmsim guide: the guide library is not loaded');
  return loadedGuide;
}

/** Exit codes of the command. */
export const GUIDE_EXIT_OK = 0;
export const GUIDE_EXIT_VIOLATION = 1;
export const GUIDE_EXIT_USAGE = 2;

/** The implementations a v5.4 (hmm_mirror) driver of the guide runs on. */
export const GUIDE_IMPLS: readonly GuideImpl[] = Object.freeze(['legacy', 'shim']);

/**
 * Largest --bound: any integer a double holds exactly (a bound past a scenario's steps is simply
 * an unbounded DFS).
 */
export const GUIDE_MAX_BOUND = Number.MAX_SAFE_INTEGER;

/** Where the command writes. */
export interface GuideIo {
  out(text: string): void;
  err(text: string): void;
}

/** What cac parsed. */
export interface GuideCommandInput {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  /** Raw argv: --bound is judged on its text, not on cac's number coercion. */
  readonly rawArgs?: readonly string[] | undefined;
  /** Option names the host CLI defines globally (accepted and ignored here). */
  readonly globalOptions?: readonly string[] | undefined;
}

/** The catalogue the command reads: its entries and the folder of the chapters. */
export interface GuideCatalogue {
  readonly entries: readonly GuideEntry[];
  /** The folder holding the chapters (`*.md`). */
  readonly chaptersDir: string;
}

/** The usage text of the command (`hmmsim guide --help`). */
export const GUIDE_USAGE = [
  'usage: hmmsim guide list',
  '       hmmsim guide run <id> [--impl legacy|shim] [--bound N]',
  '       hmmsim guide run --all [--bound N]',
  '',
  'The migration guide from hmm_mirror to mmu_interval_notifier, runnable: every example (a',
  'driver at one step of the port) and every pitfall (a porting mistake) is explored under every',
  'schedule with at most N preemptions while CPU0 invalidates the range CPU1 makes the device use.',
  '',
  '  list         the chapters, then every entry of the catalogue by chapter: id, kind,',
  '               the implementations it runs on, title',
  "  run <id>     run one entry: each scenario's verdict and, for a violation, its minimal",
  "               trace; for a pitfall, its minimal trace and then the fixed version's result",
  '  run --all    every entry on every implementation, one line each, and whether each',
  '               behaved as the guide says',
  "  --impl NAME  legacy or shim (default: the entry's first): the hmm_mirror implementation a",
  '               v5.4 driver runs on; drivers on mmu_interval_notifier itself take no --impl',
  `  --bound N    preemption bound of the search, an integer >= 0 (default ${GUIDE_DEFAULT_BOUND}, the bound`,
  "               the guide's claims are made at; a bound past a scenario's steps searches all)",
  '  -h, --help   this text',
  '',
  'Exit codes: 0 no violation found, 1 a violation was found (its minimal trace printed; a',
  'pitfall exits 1, since showing its bug is the point), 2 bad usage (an unknown id lists the',
  'close matches). With --all: 0 only when every entry behaved as the guide says, else 1.',
  '',
  'Examples:',
  '  hmmsim guide list',
  '  hmmsim guide run svm-v5.4 --impl shim',
  '  hmmsim guide run --all',
].join('\n');

/** Validated arguments. */
type GuideArgs =
  | { readonly action: 'list' }
  | {
      readonly action: 'run';
      readonly id: string;
      readonly impl: GuideImpl | undefined;
      readonly bound: number;
    }
  | { readonly action: 'run-all'; readonly bound: number };

/** The single value of option `name`, or undefined; rejects repeats and a missing value. */
function single(options: Readonly<Record<string, unknown>>, name: string): unknown {
  const v = options[name];
  if (Array.isArray(v)) throw new UsageError(`--${name} was given more than once`);
  if (v === true && name !== 'all') throw new UsageError(`--${name} needs a value`);
  return v;
}

/** --bound: a decimal integer in [0, GUIDE_MAX_BOUND], judged on the text as typed when known. */
function parseBound(input: GuideCommandInput): number {
  const b = single(input.options, 'bound');
  if (b === undefined) return GUIDE_DEFAULT_BOUND;
  const raw = input.rawArgs === undefined ? undefined : rawOptionValue(input.rawArgs, 'bound');
  const text = raw ?? String(b);
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > GUIDE_MAX_BOUND) {
    throw new UsageError(
      `invalid --bound ${text === '' ? "''" : text}: expected an integer >= 0 and < 2^53`,
    );
  }
  return n;
}

/** --impl: legacy or shim ('native' is resolved to interval, which is no hmm_mirror implementation). */
function parseImpl(options: Readonly<Record<string, unknown>>): GuideImpl | undefined {
  const v = single(options, 'impl');
  if (v === undefined) return undefined;
  const impl = resolveImplAlias(v);
  const found = GUIDE_IMPLS.find((i) => i === impl);
  if (found !== undefined) return found;
  const why =
    impl === 'interval' ? ' (a driver on mmu_interval_notifier itself runs without --impl)' : '';
  throw new UsageError(`--impl ${String(v)}: expected one of ${GUIDE_IMPLS.join(', ')}${why}`);
}

/** Validate what cac parsed; throws UsageError. */
function parseArgs(input: GuideCommandInput): GuideArgs {
  checkKnownOptions(input.options, ['impl', 'bound', 'all'], input.globalOptions);
  const [sub, ...rest] = input.args.map(String);
  const all = single(input.options, 'all');
  const allValue = input.rawArgs?.some((a) => a.startsWith('--all=')) ?? false;
  if (allValue || (all !== undefined && all !== true)) throw new UsageError('--all takes no value');
  if (sub === undefined) throw new UsageError("missing subcommand: expected 'list' or 'run'");
  if (sub === 'list') {
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
    for (const o of ['impl', 'bound', 'all']) {
      if (input.options[o] !== undefined) {
        throw new UsageError(`--${o} applies to 'guide run'; 'guide list' takes no option`);
      }
    }
    return { action: 'list' };
  }
  if (sub !== 'run') {
    throw new UsageError(`unknown subcommand '${sub}': expected 'list' or 'run'`);
  }
  const bound = parseBound(input);
  const impl = parseImpl(input.options);
  if (all === true) {
    if (rest.length > 0) throw new UsageError(`--all runs every entry: unexpected id '${rest[0]}'`);
    if (impl !== undefined) {
      throw new UsageError('--all runs every entry on every implementation: it takes no --impl');
    }
    return { action: 'run-all', bound };
  }
  const [id, extra] = rest;
  if (id === undefined)
    throw new UsageError("missing entry id (see 'hmmsim guide list'), or --all");
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}': one id at a time`);
  return { action: 'run', id, impl, bound };
}

/** Levenshtein distance of two short strings. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The ids close to `id`, best first (at most 5): those within an edit distance of a third of the
 * longer name (at least 2), and those that contain it or that it contains.
 */
export function closeMatches(id: string, ids: readonly string[]): string[] {
  const want = id.toLowerCase();
  const scored = ids
    .map((candidate) => {
      const c = candidate.toLowerCase();
      const d = editDistance(want, c);
      const near = d <= Math.max(2, Math.floor(Math.max(want.length, c.length) / 3));
      const part = want.length >= 3 && (c.includes(want) || want.includes(c));
      return { candidate, d, keep: near || part };
    })
    .filter((s) => s.keep);
  scored.sort((x, y) => x.d - y.d || x.candidate.localeCompare(y.candidate));
  return scored.slice(0, 5).map((s) => s.candidate);
}

/** One chapter file: its name and first heading. */
export interface GuideChapter {
  readonly file: string;
  readonly heading: string;
}

/** The first Markdown heading of `text` outside code fences ('' when none). */
export function firstHeading(text: string): string {
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m) return m[1] ?? '';
  }
  return '';
}

/** The chapters in `dir`: README.md first, then the other `*.md` files by name ([] without the folder). */
export function readChapters(dir: string): GuideChapter[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.md'));
  } catch {
    return [];
  }
  files.sort((a, b) => (a === 'README.md' ? -1 : b === 'README.md' ? 1 : a.localeCompare(b)));
  return files.map((file) => ({
    file,
    heading: firstHeading(readFileSync(join(dir, file), 'utf8')),
  }));
}

/** `hmmsim guide list`. */
function listGuide(cat: GuideCatalogue, io: GuideIo): void {
  const chapters = readChapters(cat.chaptersDir);
  io.out('Chapters (guide/*.md of hmmsim-migration-guide):');
  if (chapters.length === 0) io.out('  (none yet)');
  const fw = Math.max(0, ...chapters.map((c) => c.file.length));
  for (const c of chapters) io.out(`  ${c.file.padEnd(fw)}  ${c.heading}`);
  io.out('');
  io.out(`Entries (${cat.entries.length}; run one with 'hmmsim guide run <id>'):`);
  if (cat.entries.length === 0) {
    io.out('  (none yet)');
    return;
  }
  // Chapters in file-name order, those that have no file yet among them.
  const order = [
    ...new Set([
      ...chapters.map((c) => c.file.replace(/\.md$/, '')),
      ...cat.entries.map((e) => e.chapter),
    ]),
  ].sort((a, b) => (a === 'README' ? -1 : b === 'README' ? 1 : a.localeCompare(b)));
  const impls = (e: GuideEntry) => (e.impls === undefined ? '-' : e.impls.join(', '));
  const iw = Math.max(...cat.entries.map((e) => e.id.length));
  const mw = Math.max(...cat.entries.map((e) => impls(e).length));
  for (const chapter of order) {
    const entries = cat.entries.filter((e) => e.chapter === chapter);
    if (entries.length === 0) continue;
    const heading = chapters.find((c) => c.file === `${chapter}.md`)?.heading;
    io.out('');
    io.out(
      heading === undefined
        ? `  ${chapter} (no guide/${chapter}.md yet)`
        : `  ${chapter}: ${heading}`,
    );
    for (const e of entries) {
      io.out(`    ${e.id.padEnd(iw)}  ${e.kind.padEnd(7)}  ${impls(e).padEnd(mw)}  ${e.title}`);
    }
  }
  io.out('');
  io.out(
    "  impls: the hmm_mirror implementations a v5.4 driver runs on (--impl, the first is the default); '-': not an hmm_mirror driver, run without --impl",
  );
}

/** A violation anywhere in the run (a pitfall's fix included). */
function anyViolation(r: EntryRun): boolean {
  return r.violation || (r.fixed !== undefined && anyViolation(r.fixed));
}

/** 'violation in 2/5 scenarios' / 'clean: 5 scenarios, 812 schedules, exhausted'. */
function runSummary(r: EntryRun): string {
  const n = r.runs.length;
  const bad = r.runs.filter((s) => s.result.violation !== undefined);
  if (bad.length > 0) {
    const kinds = [...new Set(bad.map((s) => (s.result.minimal ?? s.result.violation)?.kind))];
    return `violation (${kinds.join(', ')}) in ${bad.length}/${n} scenario${n === 1 ? '' : 's'}`;
  }
  const schedules = r.runs.reduce((sum, s) => sum + s.result.schedules, 0);
  const exhausted = r.runs.every((s) => s.result.exhausted);
  return `clean: ${n} scenario${n === 1 ? '' : 's'}, ${schedules} schedules${exhausted ? ', exhausted' : ', NOT exhausted'}`;
}

/** One line of `run --all`. */
function allLine(r: EntryRun, iw: number): string {
  const e = r.entry;
  const name = `${e.id}${r.impl === undefined ? '' : ` --impl ${r.impl}`}`;
  const want = guide().expectationOf(e, r.impl) === 'violation' ? 'a violation' : 'clean';
  const fix = r.fixed === undefined ? '' : `; fix ${r.fixed.entry.id}: ${runSummary(r.fixed)}`;
  return `${r.asExpected ? 'ok    ' : 'NOT OK'}  ${name.padEnd(iw)}  ${e.kind.padEnd(7)}  ${runSummary(r)}${fix} (expected ${want}${r.fixed ? ', fix clean' : ''})`;
}

/** The error of an entry that could not be run (a catalogue bug, not a usage error). */
function entryError(id: string, error: unknown): string {
  return `hmmsim guide: ${id}: ${error instanceof Error ? error.message : String(error)}`;
}

/** `hmmsim guide run --all`: 0 when every entry on every implementation behaved as the guide says. */
async function runAll(cat: GuideCatalogue, bound: number, io: GuideIo): Promise<number> {
  const lookup = (id: string) => cat.entries.find((e) => e.id === id);
  const jobs: { readonly e: GuideEntry; readonly impl: GuideImpl | undefined }[] =
    cat.entries.flatMap((e) => (e.impls ?? [undefined]).map((impl) => ({ e, impl })));
  io.out(
    `hmmsim guide run --all: ${cat.entries.length} entries, ${jobs.length} runs; every schedule with at most ${bound} preemption${bound === 1 ? '' : 's'} (bounded DFS)`,
  );
  const iw = Math.max(0, ...jobs.map((j) => j.e.id.length + (j.impl ? j.impl.length + 8 : 0)));
  let ok = 0;
  for (const { e, impl } of jobs) {
    try {
      const r = await guide().runEntry(e, {
        bound,
        lookup,
        ...(impl === undefined ? {} : { impl }),
      });
      io.out(allLine(r, iw));
      if (r.asExpected) ok++;
    } catch (error) {
      io.out(`NOT OK  ${e.id}${impl === undefined ? '' : ` --impl ${impl}`}: could not run`);
      io.err(entryError(e.id, error));
    }
  }
  io.out(`${ok} of ${jobs.length} runs as the guide says`);
  return ok === jobs.length ? GUIDE_EXIT_OK : GUIDE_EXIT_VIOLATION;
}

/** `hmmsim guide run <id>`: 0 no violation found, 1 a violation (or the entry could not run). */
async function runOne(
  cat: GuideCatalogue,
  a: { readonly id: string; readonly impl: GuideImpl | undefined; readonly bound: number },
  io: GuideIo,
): Promise<number> {
  const ids = cat.entries.map((e) => e.id);
  const entry = cat.entries.find((e) => e.id === a.id);
  if (entry === undefined) {
    const close = closeMatches(a.id, ids);
    throw new UsageError(
      close.length > 0
        ? `unknown entry '${a.id}'; close matches: ${close.join(', ')}`
        : `unknown entry '${a.id}'; 'hmmsim guide list' shows the ${ids.length} entries`,
    );
  }
  if (a.impl !== undefined) {
    if (entry.impls === undefined) {
      throw new UsageError(
        `--impl ${a.impl}: ${entry.id} is not written against hmm_mirror: it runs on one implementation, without --impl`,
      );
    }
    if (!entry.impls.includes(a.impl)) {
      throw new UsageError(`--impl ${a.impl}: ${entry.id} runs on ${entry.impls.join(', ')}`);
    }
  }
  let r: EntryRun;
  try {
    r = await guide().runEntry(entry, {
      bound: a.bound,
      lookup: (id) => cat.entries.find((e) => e.id === id),
      ...(a.impl === undefined ? {} : { impl: a.impl }),
    });
  } catch (error) {
    io.err(entryError(entry.id, error));
    return GUIDE_EXIT_VIOLATION;
  }
  io.out(
    `hmmsim guide run ${entry.id}: every schedule with at most ${a.bound} preemption${a.bound === 1 ? '' : 's'} (bounded DFS)`,
  );
  for (const line of guide().formatEntryRun(r)) io.out(line);
  return anyViolation(r) ? GUIDE_EXIT_VIOLATION : GUIDE_EXIT_OK;
}

/**
 * The guide command as a function of its parsed arguments, an output sink and the catalogue
 * (default: hmmsim-migration-guide's): 0 (no violation / every entry as the guide says), 1 (a
 * violation found / an entry not as the guide says), 2 (bad usage, one line on stderr).
 */
export async function runGuideCommand(
  input: GuideCommandInput,
  io: GuideIo,
  catalogue?: GuideCatalogue,
): Promise<number> {
  try {
    const a = parseArgs(input);
    await loadGuide();
    catalogue ??= defaultCatalogue();
    if (a.action === 'list') {
      listGuide(catalogue, io);
      return GUIDE_EXIT_OK;
    }
    if (a.action === 'run-all') return await runAll(catalogue, a.bound, io);
    return await runOne(catalogue, a, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(usageErrorLine('guide', error.message));
    return GUIDE_EXIT_USAGE;
  }
}

/** The folder of the guide's chapters: `guide/` beside the hmmsim-migration-guide package's src/. */
export function guideChaptersDir(): string {
  const index = createRequire(import.meta.url).resolve('hmmsim-migration-guide');
  return join(dirname(dirname(index)), 'guide');
}

/** hmmsim-migration-guide's catalogue and chapters (the guide must be loaded). */
export function defaultCatalogue(): GuideCatalogue {
  return { entries: guide().GUIDE_ENTRIES, chaptersDir: guideChaptersDir() };
}

/** Lines to `lines` (default the process's stdout/stderr). */
export function processIo(lines: Lines = processLines): GuideIo {
  return { out: lines.out, err: lines.err };
}

/** Options of registerGuideCommand(). */
export interface RegisterGuideOptions {
  readonly io?: GuideIo | undefined;
  /** The catalogue (default hmmsim-migration-guide's). */
  readonly catalogue?: GuideCatalogue | undefined;
  /** Receives the exit code; default sets process.exitCode. */
  readonly onExit?: ((code: number) => void) | undefined;
}

/**
 * Add `hmmsim guide` to `cli`, with GUIDE_USAGE as its usage text (the host prints it for
 * `hmmsim guide --help`). The action resolves to the exit code (also passed to `onExit`, by
 * default process.exitCode); option checking is done here so every usage error exits 2.
 */
export function registerGuideCommand(cli: CAC, opts: RegisterGuideOptions = {}): void {
  cli
    .command(
      'guide [...args]',
      'The migration guide from hmm_mirror to mmu_interval_notifier: list and run its examples and pitfalls',
    )
    .usage(GUIDE_USAGE)
    // Declared for parsing only; the help is GUIDE_USAGE alone.
    .option('--impl [name]', '')
    .option('--bound [n]', '')
    .option('--all', '')
    .allowUnknownOptions()
    .action(async (args: string[], options: Record<string, unknown>) => {
      const input: GuideCommandInput = {
        args,
        options,
        rawArgs: cli.rawArgs,
        globalOptions: cli.globalCommand.options.flatMap((o) => o.names),
      };
      const code = await runGuideCommand(input, opts.io ?? processIo(), opts.catalogue);
      if (opts.onExit === undefined) process.exitCode = code;
      else opts.onExit(code);
      return code;
    });
}
