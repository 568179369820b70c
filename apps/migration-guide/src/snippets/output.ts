/**
 * The text of an `output:` marker: what `hmmsim guide run <id> [--impl I]` prints for a catalogue
 * entry ('<id>' or '<id>@<impl>'), so a chapter can quote a real run and a test can re-run it.
 */
import { findEntry } from '../catalog.ts';
import type { GuideImpl } from '../catalog-types.ts';
import { formatEntryRun, runEntry } from '../run.ts';

/** Run the entry an output marker names and return its report. */
export async function renderOutput(id: string): Promise<string> {
  const [entryId, impl] = id.split('@') as [string, GuideImpl | undefined];
  const entry = findEntry(entryId);
  if (entry === undefined) throw new Error(`output marker: no catalogue entry '${entryId}'`);
  const run = await runEntry(entry, { ...(impl ? { impl } : {}), lookup: findEntry });
  return formatEntryRun(run).join('\n');
}
