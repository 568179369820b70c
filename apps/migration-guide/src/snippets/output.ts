/**
 * The text of the run-backed markers: `output: ID[@IMPL]` is what `hmmsim guide run ID [--impl
 * IMPL]` prints for a catalogue entry; `mermaid: ID[@IMPL] OP` is the Mermaid sequence diagram of
 * the minimal violation of that entry's scenario under invalidation OP, drawn from its trace.
 * A chapter quoting either quotes this build's deterministic run; a test re-runs them.
 */
import { toMermaid } from '@hmmsim/explorer';
import { findEntry } from '../catalog.ts';
import type { GuideEntry, GuideImpl } from '../catalog-types.ts';
import { driverView, exploreBounded } from '../harness/check.ts';
import { formatEntryRun, runEntry } from '../run.ts';
import type { SnippetSource } from './regions.ts';

/** The entry and implementation an 'ID[@IMPL]' reference names. */
function lookup(ref: string): { entry: GuideEntry; impl: GuideImpl | undefined } {
  const [id, impl] = ref.split('@') as [string, GuideImpl | undefined];
  const entry = findEntry(id);
  if (entry === undefined) throw new Error(`snippet marker: no catalogue entry '${id}'`);
  return { entry, impl };
}

/** The report `hmmsim guide run` prints for 'ID[@IMPL]'. */
export async function renderRun(ref: string): Promise<string> {
  const { entry, impl } = lookup(ref);
  const run = await runEntry(entry, { ...(impl ? { impl } : {}), lookup: findEntry });
  return formatEntryRun(run).join('\n');
}

/** The Mermaid diagram of the minimal violation of 'ID[@IMPL]' under invalidation `op`. */
export async function renderMermaid(ref: string, op: string): Promise<string> {
  const { entry, impl } = lookup(ref);
  const name = `guide-${entry.id}-${op}`;
  const scenario = entry.scenarios(impl ?? entry.impls?.[0]).find((s) => s.name === name);
  if (scenario === undefined) throw new Error(`mermaid marker: ${ref} has no scenario '${name}'`);
  const r = await exploreBounded(scenario);
  if (r.trace === undefined) throw new Error(`mermaid marker: ${name} found no violation to draw`);
  return toMermaid(driverView(r.trace));
}

/** The renderer of run-backed markers (scripts/sync.ts and the tests use it). */
export function renderOutput(
  src: Extract<SnippetSource, { kind: 'output' | 'mermaid' }>,
): Promise<string> {
  return src.kind === 'output' ? renderRun(src.id) : renderMermaid(src.id, src.op);
}
