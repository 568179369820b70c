/**
 * The shared harness of the per-package bad-input tables: each row is one call with one bad
 * argument (or one misuse) and the answer it must get — the kernel's errno, or a typed error
 * whose message names the function — and after every row the package's own checks must pass
 * and a normal operation must still work. The report counts the inputs tried and how each was
 * answered, for the tables to print.
 */
import { errnoName } from './errno.ts';

/** An Error class a row may expect. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** The answer a row must get. */
export type BadInputExpectation =
  | { readonly errno: number }
  | { readonly error: ErrorClass; readonly message?: RegExp };

/** One bad input. */
export interface BadInputRow {
  /** The function as the kernel names it ('munmap'), which a typed error's message must contain. */
  readonly fn: string;
  /** What is bad ('len = NaN'). */
  readonly input: string;
  /** Make the call; its return value (an errno) or throw is the answer. */
  readonly call: () => unknown;
  readonly expect: BadInputExpectation;
}

/** How a table went. */
export interface BadInputReport {
  readonly table: string;
  readonly tried: number;
  /** Answers by kind: 'EINVAL', 'InvalidArgumentError', 'accepted', ... */
  readonly answers: ReadonlyMap<string, number>;
  /** One line per row that got the wrong answer or left state wrong. */
  readonly failures: readonly string[];
}

/** Options of runBadInputTable(). */
export interface BadInputTableOptions {
  /** After every row: throw if the state is wrong (checkers, then one normal operation). */
  readonly afterEach?: () => unknown;
}

/** The answer a call gave, as a label, and whether it matches the expectation. */
async function answer(row: BadInputRow): Promise<{ label: string; ok: boolean; detail: string }> {
  let value: unknown;
  try {
    value = await row.call();
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const exp = row.expect;
    const ok =
      'error' in exp &&
      e instanceof exp.error &&
      e.message.includes(row.fn) &&
      (exp.message === undefined || exp.message.test(e.message));
    return { label: e.name, ok, detail: `threw ${e.name}: ${e.message}` };
  }
  const exp = row.expect;
  if (typeof value === 'number' && value < 0) {
    const ok = 'errno' in exp && value === exp.errno;
    return { label: errnoName(value), ok, detail: `returned ${value} (${errnoName(value)})` };
  }
  return { label: 'accepted', ok: false, detail: `accepted it (returned ${String(value)})` };
}

/** 'EINVAL' or 'InvalidArgumentError /…/' */
function expected(e: BadInputExpectation): string {
  if ('errno' in e) return `${e.errno} (${errnoName(e.errno)})`;
  return `${e.error.name}${e.message === undefined ? '' : ` matching ${e.message}`}, naming the function`;
}

/**
 * Run every row in order; after each, `afterEach` (state unchanged, a normal operation works).
 * Never throws for a wrong answer: the report lists it. Model helper (test support).
 */
export async function runBadInputTable(
  table: string,
  rows: readonly BadInputRow[],
  opts: BadInputTableOptions = {},
): Promise<BadInputReport> {
  const answers = new Map<string, number>();
  const failures: string[] = [];
  for (const row of rows) {
    const a = await answer(row);
    answers.set(a.label, (answers.get(a.label) ?? 0) + 1);
    const what = `${row.fn}(${row.input})`;
    if (!a.ok) failures.push(`${what}: ${a.detail}; expected ${expected(row.expect)}`);
    try {
      await opts.afterEach?.();
    } catch (error) {
      failures.push(
        `${what}: state wrong afterwards: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return { table, tried: rows.length, answers, failures };
}

/** 'mm: 212 bad inputs: EINVAL 140, InvalidArgumentError 60, ENOMEM 12; 0 wrong'. Model helper. */
export function formatBadInputReport(r: BadInputReport): string {
  const kinds = [...r.answers.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const head = `${r.table}: ${r.tried} bad inputs: ${kinds}; ${r.failures.length} wrong`;
  return r.failures.length === 0 ? head : `${head}\n  ${r.failures.join('\n  ')}`;
}

/** The bad numbers every numeric argument is tried with: NaN, ±Infinity, a fraction, -1, 2^53. */
export const BAD_NUMBERS: readonly (readonly [string, number])[] = Object.freeze([
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['0.5', 0.5],
  ['-1', -1],
  ['2^53', 2 ** 53],
]);
