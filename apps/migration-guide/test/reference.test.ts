/**
 * The reference chapter and the chapters' cross-references stay true: every hmmsim name the
 * symbol table gives in brackets is exported by our packages, and every catalogue id a chapter
 * names (`svm-…`, `userptr-…`, `pitfall-…`) is an entry `hmmsim guide run` knows.
 */
import { readFileSync } from 'node:fs';
import * as hmmMirror from '@hmmsim/hmm-mirror';
import * as hmmRange from '@hmmsim/hmm-range';
import * as v57 from '@hmmsim/hmm-range/v5.7';
import * as v58 from '@hmmsim/hmm-range/v5.8';
import * as v59 from '@hmmsim/hmm-range/v5.9';
import * as migrate from '@hmmsim/migrate';
import * as mm from '@hmmsim/mm';
import * as mmuNotifier from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import { findEntry } from '../src/catalog.ts';
import { CHAPTER_DIR, chapterFiles } from '../src/snippets/render.ts';

const EXPORTED = new Set<string>(
  [hmmMirror, hmmRange, v57, v58, v59, migrate, mm, mmuNotifier].flatMap((m) => Object.keys(m)),
);
/** Fields of HmmRange the table names as `HmmRange.<field>`. */
const RANGE_FIELDS = new Set([
  'notifier',
  'notifierSeq',
  'devPrivateOwner',
  'defaultFlags',
  'pfnFlagsMask',
]);

/** The bracketed hmmsim names of a Markdown text: [`a`, `b`] → a, b. */
function bracketedNames(md: string): string[] {
  const out: string[] = [];
  for (const m of md.matchAll(/\[(`[^\]]+`(?:,\s*`[^\]]+`)*)\]/g)) {
    for (const n of m[1]!.matchAll(/`([^`]+)`/g)) out.push(n[1]!);
  }
  return out;
}

describe('chapter 7, the symbol table', () => {
  const md = readFileSync(`${CHAPTER_DIR}/07-reference.md`, 'utf8');
  const names = bracketedNames(md);

  it('names at least 40 hmmsim symbols', () => {
    expect(names.length).toBeGreaterThanOrEqual(40);
  });

  it('every bracketed name is exported (or is a package / HmmRange field)', () => {
    const missing = names.filter((n) => {
      if (n.startsWith('@hmmsim/')) return false;
      if (n.startsWith('HmmRange.')) return !RANGE_FIELDS.has(n.slice('HmmRange.'.length));
      if (n.startsWith('version:')) return false;
      return !EXPORTED.has(n);
    });
    expect(missing).toEqual([]);
  });
});

describe('catalogue ids named by the chapters exist', () => {
  for (const file of chapterFiles()) {
    it(file.replace(/.*\/guide\//, 'guide/'), () => {
      const md = readFileSync(file, 'utf8');
      const ids = [...md.matchAll(/`((?:svm|userptr|pitfall|why)-[a-z0-9.-]+)`/g)].map(
        (m) => m[1]!,
      );
      expect(ids.filter((id) => findEntry(id) === undefined)).toEqual([]);
    });
  }
});
