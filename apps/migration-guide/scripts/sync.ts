/**
 * Rewrite every snippet block of guide/*.md from the code it names (and, for `output:` markers,
 * from a fresh run). `--check` only reports the stale blocks (exit 1 when there are some).
 *
 *   npx tsx --conditions=@hmmsim/source apps/migration-guide/scripts/sync.ts [--check] [FILE…]
 */
import { renderOutput } from '../src/snippets/output.ts';
import { chapterFiles, syncChapter } from '../src/snippets/render.ts';

const args = process.argv.slice(2);
const check = args.includes('--check');
const files = args.filter((a) => !a.startsWith('--'));
let stale = 0;
for (const file of files.length > 0 ? files : chapterFiles()) {
  const blocks = await syncChapter(file, { write: !check, output: renderOutput });
  for (const b of blocks) console.log(`${check ? 'stale' : 'updated'}: ${b.file}:${b.line}`);
  stale += blocks.length;
}
console.log(`${stale} block(s) ${check ? 'stale' : 'rewritten'}`);
process.exitCode = check && stale > 0 ? 1 : 0;
