import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// One root config; every workspace package with a test/ folder is a project named after it.
const SOURCE_CONDITION = '@hmmsim/source';
const dirs = ['packages', 'apps', 'benchmarks'].flatMap((group) =>
  readdirSync(new URL(`./${group}`, import.meta.url), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `${group}/${d.name}`),
);

export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION] } },
  test: {
    projects: dirs
      .filter((dir) => {
        try {
          return readdirSync(new URL(`./${dir}/test`, import.meta.url)).length > 0;
        } catch {
          return false;
        }
      })
      .map((dir) => ({
        extends: true,
        test: {
          name: `@hmmsim/${dir.split('/')[1]}`,
          root: `./${dir}`,
          include: ['test/**/*.test.ts'],
        },
      })),
  },
});
