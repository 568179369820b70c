import type { Choice } from '@hmmsim/kernel';
import { ScheduleSyntaxError } from './errors.ts';

/**
 * A schedule is the list of choices made at the scheduler's decisions (the points where more
 * than one choice existed), one code per decision: a task id (>= 1) or TIMER_CODE.
 *
 * Text form: codes separated by '.', a task as its id and the timer as 't'; a run of n >= 3
 * equal codes is written `<code>x<n>`. Decisions past the end take the default choice (keep
 * the current task if it can run, else the lowest-id runnable task), so a trailing run of
 * default choices is left out. Example: `1x3.2.t` = task 1 at decisions 1-3, then task 2,
 * then fire the timer, then defaults.
 */
export const TIMER_CODE = 0;

/** Shortest run printed in `<code>x<n>` form. */
const MIN_RUN = 3;

const TOKEN_RE = /^(t|[1-9][0-9]*)(?:x([1-9][0-9]*))?$/;

/** The code of a choice: the task id, or TIMER_CODE.
 * Mirrors: model-only.
 */
export function choiceCode(c: Choice): number {
  return c.type === 'task' ? c.task.id : TIMER_CODE;
}

/** One code as text. */
function codeText(code: number): string {
  return code === TIMER_CODE ? 't' : String(code);
}

/**
 * Codes to the text form ('1x3.2.t'); the empty schedule is ''.
 * Mirrors: model-only.
 */
export function formatSchedule(codes: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < codes.length; ) {
    const code = codes[i]!;
    let j = i + 1;
    while (j < codes.length && codes[j] === code) j++;
    const n = j - i;
    if (n >= MIN_RUN) parts.push(`${codeText(code)}x${n}`);
    else for (let k = 0; k < n; k++) parts.push(codeText(code));
    i = j;
  }
  return parts.join('.');
}

/**
 * Text form to codes; throws ScheduleSyntaxError naming the bad token.
 * Mirrors: model-only.
 */
export function parseSchedule(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const codes: number[] = [];
  for (const token of trimmed.split('.')) {
    const m = TOKEN_RE.exec(token);
    if (m === null) {
      throw new ScheduleSyntaxError(
        `schedule '${text}': bad token '${token}'; expected a task id (1, 2, ...) or 't', ` +
          "optionally repeated as '<id>x<count>', separated by '.' (e.g. '1x3.2.t')",
      );
    }
    const code = m[1] === 't' ? TIMER_CODE : Number(m[1]);
    const n = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isSafeInteger(code) || !Number.isSafeInteger(n) || codes.length + n > 1e7) {
      throw new ScheduleSyntaxError(`schedule '${text}': token '${token}' is out of range`);
    }
    for (let k = 0; k < n; k++) codes.push(code);
  }
  return codes;
}

/** `codes` without the trailing decisions that equal `defaults` (the default choices).
 * Mirrors: model-only.
 */
export function trimDefaults(codes: readonly number[], defaults: readonly number[]): number[] {
  let end = codes.length;
  while (end > 0 && codes[end - 1] === defaults[end - 1]) end--;
  return codes.slice(0, end);
}
