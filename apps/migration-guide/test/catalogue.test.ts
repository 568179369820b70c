/**
 * Everything `hmmsim guide run --all` checks, in `pnpm test`: every catalogue entry, on each
 * implementation it runs on, behaves as the guide says (a violation found where the chapter shows
 * one, every scenario clean and exhausted at bound 2 where it says clean; for a pitfall, its fix
 * clean too). The per-chapter tests assert the details; this one makes sure no entry is left out.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findEntry, GUIDE_ENTRIES } from '../src/catalog.ts';
import { expectationOf } from '../src/catalog-types.ts';
import { runEntry } from '../src/run.ts';
import { CHAPTER_DIR, GUIDE_ROOT } from '../src/snippets/render.ts';

describe('the catalogue behaves as the guide says', () => {
  it('has unique ids and a chapter file for every entry', () => {
    const ids = GUIDE_ENTRIES.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(GUIDE_ENTRIES.length).toBeGreaterThanOrEqual(30);
    const missing = GUIDE_ENTRIES.flatMap((e) => [
      ...(existsSync(join(CHAPTER_DIR, `${e.chapter}.md`))
        ? []
        : [`${e.id}: guide/${e.chapter}.md`]),
      ...(existsSync(join(GUIDE_ROOT, e.file)) ? [] : [`${e.id}: ${e.file}`]),
    ]);
    expect(missing).toEqual([]);
  });

  for (const entry of GUIDE_ENTRIES) {
    for (const impl of entry.impls ?? [undefined]) {
      it(`${entry.id}${impl ? ` on ${impl}` : ''}`, async () => {
        const r = await runEntry(entry, { ...(impl ? { impl } : {}), lookup: findEntry });
        const want = expectationOf(entry, impl);
        const found = r.runs.filter((x) => x.result.violation !== undefined).map((x) => x.scenario);
        if (want === 'pass') {
          expect(found).toEqual([]);
          for (const x of r.runs)
            expect([x.scenario, x.result.exhausted]).toEqual([x.scenario, true]);
        } else {
          expect(found.length).toBeGreaterThan(0);
        }
        if (r.fixed !== undefined) expect(r.fixed.violation).toBe(false);
        expect(r.asExpected).toBe(true);
      });
    }
  }
});
