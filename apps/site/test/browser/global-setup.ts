// Vitest global setup of the browser tests: builds the site once (timed, as `pnpm site:build`),
// serves the output on a loopback port and hands its URL to every test file.
// HMMSIM_SITE_REUSE=1 skips the build when a built site is already there (for iterating on tests).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { clearFigures, formatFigure, readFigures, recordFigure } from './figures.ts';
import { buildSite, chromiumPath, distDir, RESULTS_DIR, serveDist } from './site.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The served site's home URL (origin + base, ending in '/'). */
    siteUrl: string;
    /** The build output folder. */
    siteDist: string;
  }
}

/** The build's time target (issue 16). */
const BUILD_TARGET_MS = 60_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(chromiumPath())) {
    throw new Error(
      `the browser tests drive Chromium at ${chromiumPath()}, which is missing: install it ` +
        '(as root: apt-get update && apt-get install -y chromium; .ci/run does this) or point ' +
        'HMMSIM_CHROMIUM at a Chromium binary',
    );
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  clearFigures();
  const dist = distDir();
  const reuse = process.env['HMMSIM_SITE_REUSE'] === '1' && existsSync(join(dist, 'index.html'));
  if (!reuse) {
    const loadBefore = loadavg()[0] ?? 0;
    const build = await buildSite();
    const load = `load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after, on ${cpus().length} cores`;
    writeFileSync(join(RESULTS_DIR, 'build.log'), build.output);
    recordFigure({
      name: 'site build (pnpm site:build, inside the test run)',
      value: Math.round(build.ms),
      unit: 'ms',
      target: BUILD_TARGET_MS,
      note: `\`${build.command}\`, wall time, beside whatever else runs (${load})`,
    });
  }
  const server = await serveDist(dist);
  project.provide('siteUrl', server.url);
  project.provide('siteDist', dist);
  return async () => {
    await server.close();
    const figures = readFigures();
    if (figures.length > 0) {
      const lines = figures.map((f) => `  ${formatFigure(f)}`);
      const summary = `site browser tests — measured figures:\n${lines.join('\n')}\n`;
      writeFileSync(join(RESULTS_DIR, 'figures.txt'), summary);
      console.log(summary);
    }
  };
}
