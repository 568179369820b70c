import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One root config; every workspace package with a test/ folder is a project named after it.
const SOURCE_CONDITION = '@hmmsim/source';
const dirs = ['packages', 'apps', 'benchmarks'].flatMap((group) =>
  readdirSync(new URL(`./${group}`, import.meta.url), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `${group}/${d.name}`),
);

/** Absolute path of a workspace folder, so per-package runs (`--config ../../vitest.config.ts`) resolve it. */
function abs(dir: string): string {
  return fileURLToPath(new URL(`./${dir}/`, import.meta.url));
}

/** The project name of a workspace folder: its package name. */
function projectName(dir: string): string {
  const manifest = JSON.parse(
    readFileSync(new URL(`./${dir}/package.json`, import.meta.url), 'utf8'),
  );
  return manifest.name as string;
}

export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION] } },
  test: {
    // Property and model-based tests run thousands of commands; CI runs packages side by side on 2 cores.
    testTimeout: 60_000,
    projects: [
      {
        extends: true as const,
        test: { name: 'scripts', root: abs('scripts'), include: ['test/**/*.test.ts'] },
      },
      ...dirs
        .filter((dir) => {
          try {
            return readdirSync(new URL(`./${dir}/test`, import.meta.url)).length > 0;
          } catch {
            return false;
          }
        })
        .map((dir) => ({
          extends: true as const,
          test: {
            name: projectName(dir),
            root: abs(dir),
            include: ['test/**/*.test.ts'],
            exclude: ['test/browser/**', '**/node_modules/**'],
          },
        })),
      // Browser tests (test/browser/*.test.ts) drive Chromium against a build made once by the
      // folder's test/browser/global-setup.ts; one file at a time, so the figures they print are
      // not measured against a second browser.
      ...dirs
        .filter((dir) =>
          existsSync(new URL(`./${dir}/test/browser/global-setup.ts`, import.meta.url)),
        )
        .map((dir) => ({
          extends: true as const,
          test: {
            name: `${projectName(dir)}:browser`,
            root: abs(dir),
            include: ['test/browser/**/*.test.ts'],
            globalSetup: ['test/browser/global-setup.ts'],
            fileParallelism: false,
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        })),
    ],
  },
});
