import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLayers, findCycle, importsOf } from '../check-layers.mjs';

type Files = Record<string, string>;
const roots: string[] = [];

/** Writes a throwaway workspace and returns its root. */
function workspace(files: Files): string {
  const root = mkdtempSync(join(tmpdir(), 'layers-'));
  roots.push(root);
  const all: Files = {
    'package.json': JSON.stringify({ devDependencies: { vitest: '*' } }),
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A package manifest at a layer with the given workspace dependencies. */
function pkg(name: string, layer: number, deps: string[] = []): string {
  const dependencies = Object.fromEntries(deps.map((d) => [d, 'workspace:*']));
  return JSON.stringify({ name, hmmsim: { layer }, dependencies });
}

afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe('checkLayers', () => {
  it('accepts downward and same-layer imports that are declared', () => {
    const root = workspace({
      'packages/a/package.json': pkg('@x/a', 0),
      'packages/a/src/index.ts': 'export const a = 1;',
      'packages/b/package.json': pkg('@x/b', 1, ['@x/a']),
      'packages/b/src/index.ts': "import { a } from '@x/a';\nexport const b = a;",
      'packages/b/test/b.test.ts':
        "import { it } from 'vitest';\nimport { b } from '../src/index.ts';",
    });
    expect(checkLayers(root)).toEqual([]);
  });

  it('rejects an import from a higher layer', () => {
    const root = workspace({
      'packages/a/package.json': pkg('@x/a', 0, ['@x/b']),
      'packages/a/src/index.ts': "import { b } from '@x/b';",
      'packages/b/package.json': pkg('@x/b', 1),
      'packages/b/src/index.ts': 'export const b = 1;',
    });
    const errors = checkLayers(root);
    expect(errors.some((e: string) => e.includes('may not import @x/b (layer 1)'))).toBe(true);
  });

  it('rejects an undeclared package, in src even when the root declares it', () => {
    const root = workspace({
      'packages/a/package.json': pkg('@x/a', 0),
      'packages/a/src/index.ts': "import fc from 'vitest';\nexport * from 'left-pad';",
    });
    const errors = checkLayers(root);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain("vitest is not declared in @x/a's package.json");
  });

  it('rejects relative imports that leave the package and apps imported by packages', () => {
    const root = workspace({
      'packages/a/package.json': pkg('@x/a', 3, ['app']),
      'packages/a/src/index.ts': "import '../../b/src/index.ts';\nimport { z } from 'app';",
      'packages/b/package.json': pkg('@x/b', 0),
      'apps/app/package.json': JSON.stringify({ name: 'app' }),
    });
    const errors = checkLayers(root);
    expect(errors.some((e: string) => e.includes('leaves @x/a'))).toBe(true);
    expect(errors.some((e: string) => e.includes('may not import app'))).toBe(true);
  });

  it('rejects a cycle between packages of one layer', () => {
    const root = workspace({
      'packages/a/package.json': pkg('@x/a', 0, ['@x/b']),
      'packages/a/src/index.ts': "import '@x/b';",
      'packages/b/package.json': pkg('@x/b', 0, ['@x/a']),
      'packages/b/src/index.ts': "export { a } from '@x/a';",
    });
    expect(checkLayers(root)).toEqual(['import cycle between packages: @x/a -> @x/b -> @x/a']);
  });

  it('requires a layer on every package', () => {
    const root = workspace({ 'packages/a/package.json': JSON.stringify({ name: '@x/a' }) });
    expect(checkLayers(root)[0]).toContain('needs "hmmsim": { "layer": <integer> }');
  });
});

describe('importsOf / findCycle', () => {
  it('finds static, dynamic, side-effect and re-export specifiers, not commented ones', () => {
    const text = [
      "import type { A } from 'a';",
      "import {\n  b,\n} from 'b';",
      "export * from 'c';",
      "const d = await import('d');",
      "import 'e';",
      "// import 'f';",
      "/* import 'g'; */",
    ].join('\n');
    expect(importsOf(text)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('reports no cycle in a DAG', () => {
    const edges = new Map([
      ['a', new Set(['b', 'c'])],
      ['b', new Set(['c'])],
      ['c', new Set<string>()],
    ]);
    expect(findCycle(edges)).toBeUndefined();
  });
});

describe('checkLayers: shared support code outside packages/', () => {
  it('lets a benchmark import a benchmark that declares a layer, but not one that does not', () => {
    const root = workspace({
      'benchmarks/common/package.json': JSON.stringify({ name: 'common', hmmsim: { layer: 7 } }),
      'benchmarks/common/src/index.ts': 'export const c = 1;',
      'benchmarks/other/package.json': JSON.stringify({ name: 'other' }),
      'benchmarks/a/package.json': JSON.stringify({
        name: 'a',
        dependencies: { common: 'workspace:*', other: 'workspace:*' },
      }),
      'benchmarks/a/src/a.ts': "import { c } from 'common';\nimport { o } from 'other';",
    });
    expect(checkLayers(root)).toEqual([
      "benchmarks/a/src/a.ts: import 'other': a (layer Infinity) may not import other (layer Infinity); import only from the same or a lower layer",
    ]);
  });
});
