/**
 * Every `output:` and `mermaid:` block of the chapters is what the run it names prints today (the explorer is
 * deterministic, so a chapter quoting a trace quotes this build's trace).
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderOutput } from '../src/snippets/output.ts';
import { findSnippetBlocks } from '../src/snippets/regions.ts';
import { chapterFiles } from '../src/snippets/render.ts';

describe('quoted runs match a fresh run', () => {
  for (const file of chapterFiles()) {
    const blocks = findSnippetBlocks(readFileSync(file, 'utf8'), file).filter(
      (b) => b.source.kind === 'output' || b.source.kind === 'mermaid',
    );
    for (const b of blocks) {
      const src = b.source;
      if (src.kind !== 'output' && src.kind !== 'mermaid') continue;
      it(`${file.replace(/.*\/guide\//, 'guide/')}:${b.line + 1} ${src.kind} ${src.id}`, async () => {
        expect(b.text).toBe(await renderOutput(src));
      });
    }
  }
});
