/**
 * `pnpm --filter hmmsim-bench instructions`: what the bare fault path costs in machine
 * instructions, counted by callgrind — a figure that does not move with the load of the machine,
 * unlike a time (on the shared 2-core machines this project is measured on, two runs of the same
 * code differ by up to ±40 %). It is how the cost of the explorer's access reports outside an
 * exploration is measured: run it on two trees and compare.
 *
 * The loop (fault-path-loop.ts) is bundled with esbuild, the @hmmsim packages left as the
 * separate ES modules of their built `dist` (as an installed package runs), and run under
 * `valgrind --tool=callgrind` with V8 single-threaded and predictable, for 200 and for 400
 * iterations (each twice, the lower count kept): the difference is 200 iterations of 512 pages
 * each, start-up and warm-up cancelled.
 * Needs valgrind and `pnpm build` first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = join(here, '..', '..');
const PAGES = 512;
const SHORT = 200;
const LONG = 400;

/** Exit with `message` (what is missing and how to get it). */
function fail(message: string): never {
  console.error(`instructions: ${message}`);
  process.exit(1);
}

/** Instructions callgrind counted for `iterations` of the loop in `script`. */
function countInstructions(script: string, iterations: number): number {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--single-threaded',
      '--predictable',
      script,
      String(iterations),
    ],
    { encoding: 'utf8', cwd: benchDir },
  );
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || m === null) fail(`callgrind run failed:\n${r.stderr.slice(-2000)}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    fail('valgrind is not installed (Debian: apt-get install -y valgrind)');
  }
  if (!existsSync(join(benchDir, 'node_modules', '@hmmsim', 'mm', 'dist', 'index.js'))) {
    fail('the packages are not built; run `pnpm build` first');
  }
  const outDir = join(benchDir, '.instructions');
  mkdirSync(outDir, { recursive: true });
  const script = join(outDir, 'fault-path-loop.mjs');
  await build({
    entryPoints: [join(here, 'fault-path-loop.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['@hmmsim/*'],
    outfile: script,
    logLevel: 'warning',
  });
  // Most runs repeat to within a few instructions, but now and then one comes out a few percent
  // higher (never lower): the lower of two runs of each length.
  const lower = (n: number) => Math.min(countInstructions(script, n), countInstructions(script, n));
  const short = lower(SHORT);
  const long = lower(LONG);
  const perPage = Math.round((long - short) / (LONG - SHORT) / PAGES);
  console.log(
    `bare fault path (hmm_range_fault read-faulting ${PAGES} pages of an empty range, then unmapping them; no explorer): ` +
      `${perPage} instructions per page (callgrind, node --single-threaded --predictable, ` +
      `${LONG} iterations minus ${SHORT}, the lower of two runs each: ${long} - ${short})`,
  );
}

await main();
