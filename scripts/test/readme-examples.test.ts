import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Every ```ts block of every package README runs as written: it is saved inside its package (so
// its imports resolve through that package's dependencies) and imported; its asserts must hold.
const root = fileURLToPath(new URL('../../', import.meta.url));
const SCRATCH = '.readme-examples';

/** The ```ts code blocks of a markdown text. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** `from '<name>[/sub]'` → the file the `@hmmsim/source` condition of that export names. */
function selfImportsToSource(
  code: string,
  manifest: { name: string; exports: Record<string, Record<string, string>> },
): string {
  let out = code;
  for (const [sub, conds] of Object.entries(manifest.exports)) {
    const spec = sub === '.' ? manifest.name : `${manifest.name}/${sub.slice(2)}`;
    const src = conds['@hmmsim/source'];
    if (src === undefined) continue;
    out = out.replaceAll(`from '${spec}'`, `from '.${src}'`);
  }
  return out;
}

const readmes = readdirSync(join(root, 'packages'))
  .map((name) => ({ name, dir: join(root, 'packages', name) }))
  .filter((p) => existsSync(join(p.dir, 'README.md')));

afterAll(() => {
  for (const p of readmes) rmSync(join(p.dir, SCRATCH), { recursive: true, force: true });
});

describe('README examples', () => {
  it('finds the ts blocks of a markdown text', () => {
    expect(tsBlocks('x\n```ts\nconst a = 1;\n```\n```sh\nls\n```\n```ts\nb();\n```\n')).toEqual([
      'const a = 1;\n',
      'b();\n',
    ]);
  });

  for (const { name, dir } of readmes) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const blocks = tsBlocks(readFileSync(join(dir, 'README.md'), 'utf8'));
    it(`packages/${name}/README.md has an example`, () => {
      expect(blocks.length).toBeGreaterThan(0);
    });
    blocks.forEach((code, i) => {
      it(`packages/${name}/README.md example ${i + 1} runs`, async () => {
        // The package's own name (and its subpaths) resolve to its source, as a consumer's
        // import would through the `@hmmsim/source` condition of `exports`.
        const file = join(dir, SCRATCH, `example-${i + 1}.ts`);
        mkdirSync(join(dir, SCRATCH), { recursive: true });
        writeFileSync(file, selfImportsToSource(code, manifest));
        const log = console.log;
        console.log = () => {};
        try {
          await import(pathToFileURL(file).href);
        } finally {
          console.log = log;
        }
      });
    });
  }
});
