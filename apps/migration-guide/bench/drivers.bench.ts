/**
 * The guide's benchmark: what each step of the port costs or saves, on the guide's drivers and on
 * @hmmsim/hmm-mirror's reference drivers — device fault throughput over 64- and 512-page ranges
 * (pages resident, faulted in from empty, and resident in 2 MiB huge pages for the 512-page
 * range) and the time of one invalidation (munmap or mprotect of a mirrored page the device maps,
 * munmap of a page outside the range) with the driver bound. Each figure is printed with its
 * same-run ratio to the family's v5.4 driver on the legacy API (bench/figures.ts says how it is
 * measured, bench/README.md how to read it).
 *
 * Run: npx -y pnpm@10.34.8 --filter hmmsim-migration-guide bench [--quick]
 *   --quick  one 64-page range, 2 runs, a short time budget (a smoke run, under a minute)
 */
import { formatGuideBenchFigures, type GuideBenchOptions, measureGuideDrivers } from './figures.ts';

/** The budget: the full one, or --quick. */
function budget(argv: readonly string[]): GuideBenchOptions {
  const onProgress = (line: string) => void process.stderr.write(`${line}\n`);
  if (argv.includes('--quick')) {
    return { npages: [64], runs: 2, timeMs: 50, iterations: 10, warmupIterations: 5, onProgress };
  }
  return { npages: [64, 512], runs: 5, timeMs: 200, iterations: 20, onProgress };
}

const figures = await measureGuideDrivers(budget(process.argv.slice(2)));
for (const line of formatGuideBenchFigures(figures)) console.log(line);
