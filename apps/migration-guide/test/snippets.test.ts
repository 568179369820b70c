/**
 * The guide cannot drift from the code: every `code:` and `diff:` block of every chapter is what
 * the named region renders to now, and the marker machinery itself behaves.
 * (`output:` blocks are re-run in test/outputs.test.ts.) Fix a failure with
 * `npx tsx --conditions=@hmmsim/source apps/migration-guide/scripts/sync.ts`.
 */
import { describe, expect, it } from 'vitest';
import { extractRegion, findSnippetBlocks, lineDiff } from '../src/snippets/regions.ts';
import { chapterFiles, syncChapter } from '../src/snippets/render.ts';

describe('snippet markers', () => {
  it('extracts a region, dedented, without nested markers', () => {
    const src = [
      'x',
      '  // #region a',
      '  if (y) {',
      '    // #region b',
      '    z();',
      '    // #endregion b',
      '  }',
      '  // #endregion a',
    ].join('\n');
    expect(extractRegion(src, 'a', 'f')).toBe('if (y) {\n  z();\n}');
    expect(extractRegion(src, 'b', 'f')).toBe('z();');
    expect(() => extractRegion(src, 'c', 'f')).toThrow(/no region 'c'/);
    expect(() => extractRegion('// #region a\nx', 'a', 'f')).toThrow(/not closed/);
  });

  it('diffs two regions line by line', () => {
    expect(lineDiff('a\nb\nc', 'a\nc\nd')).toBe(' a\n-b\n c\n+d');
  });

  it('finds marked blocks and rejects a marker without a block', () => {
    const md = '<!-- code: src/x.ts#r -->\n```ts\nold\n```\ntext';
    const [b] = findSnippetBlocks(md, 'm');
    expect(b?.text).toBe('old');
    expect(b?.source).toEqual({ kind: 'code', ref: 'src/x.ts#r' });
    expect(() => findSnippetBlocks('<!-- code: a#b -->\ntext', 'm')).toThrow(
      /expected a fenced block/,
    );
  });
});

describe('the chapters match the code', () => {
  for (const file of chapterFiles()) {
    it(file.replace(/.*\/guide\//, 'guide/'), async () => {
      const stale = await syncChapter(file, { write: false });
      expect(
        stale.map((s) => `${s.file}:${s.line}\n--- chapter\n${s.actual}\n+++ code\n${s.expected}`),
      ).toEqual([]);
    });
  }
});
