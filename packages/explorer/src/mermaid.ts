import type { TraceRecord } from './outcome.ts';
import { type TraceRow, traceRows } from './trace-rows.ts';

/** Text made safe for a Mermaid message: '#', ';', '<', '>' as entity codes, lines as <br/>. */
function mermaidText(s: string): string {
  return s
    .split('\n')
    .map((part) => part.replace(/[#;<>]/g, (c) => `#${c.charCodeAt(0)};`))
    .join('<br/>');
}

/** Consecutive event rows of one lane merged into one note each. */
function notes(rows: readonly TraceRow[]): string[] {
  const out: string[] = [];
  let lane = -1;
  let texts: string[] = [];
  const flush = (): void => {
    if (texts.length > 0) out.push(`  Note over T${lane}: ${texts.join('<br/>')}`);
    texts = [];
  };
  for (const r of rows) {
    if (r.type === 'event') {
      if (r.lane !== lane) flush();
      lane = r.lane;
      texts.push(mermaidText(r.text));
      continue;
    }
    flush();
    const arrow = r.type === 'preempt' ? '-)' : '-->>';
    out.push(
      `  T${r.lane}${arrow}T${r.to ?? r.lane}: ${r.type === 'preempt' ? 'preempt' : 'switch'}`,
    );
  }
  flush();
  return out;
}

/**
 * A Mermaid sequenceDiagram of a traced run: a participant per task, notes for its labelled
 * steps, arrows for context switches (open arrows for preemptions), the failure last.
 * Mirrors: model-only.
 */
export function toMermaid(trace: TraceRecord, title?: string): string {
  const { lanes, rows } = traceRows(trace);
  const out = ['sequenceDiagram'];
  if (title !== undefined) out.push(`  title ${mermaidText(title)}`);
  for (const l of lanes) out.push(`  participant T${l.id} as T${l.id} ${mermaidText(l.name)}`);
  out.push(...notes(rows));
  const f = trace.failure;
  const first = lanes[0];
  const last = lanes[lanes.length - 1];
  if (f !== undefined && first !== undefined && last !== undefined) {
    const over = first === last ? `T${first.id}` : `T${first.id},T${last.id}`;
    out.push(`  Note over ${over}: VIOLATION (${f.kind}): ${mermaidText(f.message)}`);
  }
  return out.join('\n');
}
