import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What a package needs to be published from a fresh clone (scripts/consumer-smoke.sh checks the
// packed result; this catches a manifest that would not even get there).
const root = fileURLToPath(new URL('../../', import.meta.url));
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  author?: string;
  keywords?: string[];
  engines?: Record<string, string>;
  files?: string[];
  scripts?: Record<string, string>;
  exports?: Record<string, Record<string, string>>;
  publishConfig?: Record<string, string>;
}

const packed = [
  ...readdirSync(join(root, 'packages')).map((name) => join('packages', name)),
  join('apps', 'cli'),
].map((dir) => ({
  dir,
  manifest: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Manifest,
}));

describe('package manifests', () => {
  it('covers every package', () => {
    expect(packed.length).toBeGreaterThan(10);
  });

  for (const { dir, manifest: m } of packed) {
    describe(m.name, () => {
      it('builds dist/ from scratch on pack, and ships it', () => {
        expect(m.scripts?.['prepack']).toContain('tsc -p tsconfig.build.json');
        expect(m.scripts?.['prepack']).toMatch(/rmSync\('dist'/);
        expect(m.files).toContain('dist');
        for (const conds of Object.values(m.exports ?? {})) {
          expect(conds['types']).toMatch(/^\.\/dist\/.*\.d\.ts$/);
          expect(conds['default']).toMatch(/^\.\/dist\/.*\.js$/);
        }
      });

      it('has the root license, author and engines, keywords and a LICENSE file', () => {
        expect(m.license).toBe(rootManifest.license);
        expect(m.author).toBe(rootManifest.author);
        expect(m.engines).toEqual(rootManifest.engines);
        expect(m.keywords?.length).toBeGreaterThanOrEqual(3);
        expect(m.keywords).toContain('hmmsim');
        expect(readFileSync(join(root, dir, 'LICENSE'), 'utf8')).toBe(
          readFileSync(join(root, 'LICENSE'), 'utf8'),
        );
      });

      it('is published public, with a README (the private CLI is only packed for the smoke tests)', () => {
        if (m.private) return;
        expect(m.publishConfig?.['access']).toBe('public');
        expect(existsSync(join(root, dir, 'README.md'))).toBe(true);
      });
    });
  }
});
