/**
 * `hmmsim demo`: map memory, fault it in, fork, change and unmap it, and print every invalidation
 * the mm fired, step by step (everything here goes through the public API of @hmmsim/mm); then
 * the seed race on the three mirroring implementations (runRaceSummary).
 */
import { PAGE_SIZE, ULONG_MAX } from '@hmmsim/kernel';
import {
  cpuRead,
  cpuWrite,
  createMachine,
  createMm,
  followPte,
  fork,
  InvalidationRecorder,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type MmStruct,
  madvise,
  mmap,
  mmput,
  mmuNotifyEventName,
  mprotect,
  munmap,
  PROT_READ,
  PROT_WRITE,
  reclaimPage,
} from '@hmmsim/mm';
import { nrFreePages } from '@hmmsim/pagetable';
import type { CAC } from 'cac';
import {
  checkKnownOptions,
  type Lines,
  processLines,
  UsageError,
  usageErrorLine,
} from '../usage.ts';
import { runRaceSummary } from './race.ts';

/** Where the demo writes its lines. */
export type Out = (line: string) => void;

const PAGES = 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Throws unless a syscall-style result is non-negative; returns it. */
function ok(what: string, r: number | MmStruct): number | MmStruct {
  if (typeof r === 'number' && r < 0) throw new Error(`${what} failed with ${r}`);
  return r;
}

/** Hex address. */
function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** '[start, end)' in hex, with the kernel's ULONG_MAX spelled out. */
function range(start: number, end: number): string {
  return `[${hex(start)}, ${end === ULONG_MAX ? 'ULONG_MAX' : hex(end)})`;
}

/** Writes a short string (NUL-padded to 16 bytes) at addr as the CPU would; throws on a fault. */
async function store(mm: MmStruct, addr: number, text: string): Promise<void> {
  const r = await cpuWrite(mm, addr, encoder.encode(text.padEnd(16, '\0')));
  if (!r.ok) throw new Error(`write at ${hex(addr)}: ${r.signal} ${r.code}`);
}

/** Reads n bytes at addr as the CPU would, as text (NULs dropped) or the fault. */
async function load(mm: MmStruct, addr: number, n: number): Promise<string> {
  const r = await cpuRead(mm, addr, n);
  if (!r.ok) return `${r.signal}/${r.code}`;
  return JSON.stringify(decoder.decode(r.data).replace(/\0+$/, ''));
}

/** Runs the demo, printing to out; returns the process exit code. */
export async function runDemo(out: Out): Promise<number> {
  const machine = createMachine({ ramBytes: 64 * 2 ** 20 });
  const free0 = nrFreePages(machine.phys);
  const parent = createMm(machine);
  const rec = new InvalidationRecorder().attach(parent);
  const names = new Map<MmStruct, string>([[parent, 'parent']]);
  let seen = 0;

  /** Prints a step and the invalidations it fired since the previous step. */
  const step = (title: string): void => {
    out(`\n${title}`);
    const fresh = rec.log.slice(seen);
    seen = rec.log.length;
    const shown = fresh.filter((r) => r.kind === 'start' || r.kind === 'release');
    if (shown.length === 0) out('    (no invalidation)');
    for (const r of shown) {
      const who = (names.get(r.mm) ?? '?').padEnd(6);
      if (r.kind === 'release') out(`    ${who} mmu_notifier_release`);
      else out(`    ${who} ${mmuNotifyEventName(r.event).padEnd(26)} ${range(r.start, r.end)}`);
    }
  };

  out('hmmsim demo: a 64 MiB machine, one process; every mmu_notifier invalidation the mm fires');
  const len = PAGES * PAGE_SIZE;
  const base = ok(
    'mmap',
    await mmap(parent, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS),
  ) as number;
  step(`mmap(${PAGES} pages, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS) = ${hex(base)}`);

  out(`    read page 0 before any write: ${await load(parent, base, 4)} (the shared zero page)`);
  step('read fault on page 0 maps the zero page read-only');

  for (let i = 0; i < PAGES; i++) await store(parent, base + i * PAGE_SIZE, `parent page ${i}`);
  step(`write faults on pages 0..${PAGES - 1} (page 0 replaces the zero page: a COW break)`);

  const child = ok('fork', await fork(parent)) as MmStruct;
  names.set(child, 'child');
  rec.attach(child);
  step("fork(): the parent's private pages are write-protected for copy-on-write");

  await store(child, base, 'child page 0');
  step('child writes page 0: COW break in the child');
  out(
    `    parent page 0 = ${await load(parent, base, 16)}, child page 0 = ${await load(child, base, 16)}`,
  );

  await store(parent, base + PAGE_SIZE, 'parent again 1');
  step('parent writes page 1 (still shared with the child): COW break in the parent');

  ok('mprotect', await mprotect(parent, base + 2 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ));
  step('mprotect(pages 2-3, PROT_READ)');
  out(
    `    write to page 2 now: ${(await cpuWrite(parent, base + 2 * PAGE_SIZE, encoder.encode('x'))).ok ? 'allowed' : 'SIGSEGV/SEGV_ACCERR'}`,
  );

  ok('madvise', await madvise(parent, base + 4 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED));
  step('madvise(page 4, MADV_DONTNEED)');
  out(`    page 4 now reads ${await load(parent, base + 4 * PAGE_SIZE, 4)} (zero-filled again)`);

  const pfn = followPte(parent, base + 5 * PAGE_SIZE)?.pfn ?? null;
  if (pfn === null) throw new Error('page 5 is not mapped');
  ok('reclaimPage', await reclaimPage(machine, pfn));
  step(`reclaim the page behind page 5 (pfn ${pfn}, shared by parent and child): swapped out`);
  out(`    page 5 reads back ${await load(parent, base + 5 * PAGE_SIZE, 16)} (swap-in on fault)`);
  seen = rec.log.length;

  ok('munmap', await munmap(parent, base + 6 * PAGE_SIZE, 2 * PAGE_SIZE));
  step('munmap(pages 6-7)');

  await mmput(child);
  step('child exits: release first, then the unmap of every VMA');
  await mmput(parent);
  step('parent exits');

  const leaked = free0 - nrFreePages(machine.phys);
  out(
    `\n${rec.log.filter((r) => r.kind === 'start').length} invalidations; free pages back to ${nrFreePages(machine.phys)} of ${free0} at start (${leaked} leaked)`,
  );
  return leaked === 0 ? 0 : 1;
}

/** Where a driver author goes next: the last lines of the demo. */
export const GUIDE_POINTER: readonly string[] = Object.freeze([
  'Porting a driver from hmm_mirror to mmu_interval_notifier? The migration guide ports two',
  'example drivers one runnable, explorer-checked step at a time and shows every known porting',
  'mistake failing: apps/migration-guide/guide/README.md (pnpm hmmsim guide list).',
]);

/** Exit codes of the command. */
export const DEMO_EXIT_OK = 0;
export const DEMO_EXIT_FAILED = 1;
export const DEMO_EXIT_USAGE = 2;

/** The usage text of the command (`hmmsim demo --help`). */
export const DEMO_USAGE = [
  'usage: hmmsim demo',
  '',
  'Map memory, fault it in, fork, change and unmap it, and print every mmu_notifier invalidation',
  'the mm fired, step by step; then the seed race of the hmm_mirror API on legacy, shim and',
  'interval over all interleavings (partial-order reduction), saying whether each behaved as',
  'expected (legacy racy, shim and interval verified clean). It takes no options.',
  '',
  'Exit codes: 0 no page leaked and every implementation behaved as expected, 1 otherwise,',
  '2 bad usage.',
].join('\n');

/** What cac parsed. */
export interface DemoCommandInput {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  /** Option names the host CLI defines globally (accepted and ignored here). */
  readonly globalOptions?: readonly string[] | undefined;
}

/** The demo and the race summary; 0 when both went as expected, 1 if not, 2 on bad usage. */
export async function runDemoCommand(input: DemoCommandInput, io: Lines): Promise<number> {
  try {
    if (input.args.length > 0) throw new UsageError(`unexpected argument '${input.args[0]}'`);
    checkKnownOptions(input.options, [], input.globalOptions);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(usageErrorLine('demo', error.message));
    return DEMO_EXIT_USAGE;
  }
  const mmCode = await runDemo(io.out);
  io.out('');
  const raceOk = await runRaceSummary(io.out);
  io.out('');
  for (const line of GUIDE_POINTER) io.out(line);
  return mmCode === 0 && raceOk ? DEMO_EXIT_OK : DEMO_EXIT_FAILED;
}

/** Options of registerDemoCommand(). */
export interface RegisterDemoOptions {
  readonly io?: Lines | undefined;
  /** Receives the exit code; default sets process.exitCode. */
  readonly onExit?: ((code: number) => void) | undefined;
}

/**
 * Add `hmmsim demo` to `cli`, with DEMO_USAGE as its usage text. Arguments and options are
 * checked here, not by cac, so a stray one is a one-line usage error (exit 2).
 */
export function registerDemoCommand(cli: CAC, opts: RegisterDemoOptions = {}): void {
  cli
    .command(
      'demo [...args]',
      'Map, fault, fork and unmap memory and print the invalidations; then the seed race',
    )
    .usage(DEMO_USAGE)
    .allowUnknownOptions()
    .action(async (args: string[], options: Record<string, unknown>) => {
      const input: DemoCommandInput = {
        args,
        options,
        globalOptions: cli.globalCommand.options.flatMap((o) => o.names),
      };
      const code = await runDemoCommand(input, opts.io ?? processLines);
      if (opts.onExit === undefined) process.exitCode = code;
      else opts.onExit(code);
      return code;
    });
}
