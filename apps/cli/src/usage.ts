/**
 * What every hmmsim command shares about its command line: usage errors (one line on stderr,
 * pointing at the command's one usage text, `hmmsim <command> --help`), option checks against
 * what cac parsed, the names of the three mirroring implementations with their aliases, and the
 * argv fix that lets an option take a negative number.
 */

/** A usage problem: the message for the one-line error. */
export class UsageError extends Error {}

/** The one line a usage error prints: 'hmmsim race: <message> (hmmsim race --help)'. */
export function usageErrorLine(command: string, message: string): string {
  return `hmmsim ${command}: ${message} (hmmsim ${command} --help)`;
}

/** Options every command accepts (cac's '--' holder, help, version). */
export const ALWAYS_KNOWN: readonly string[] = ['--', 'h', 'help', 'v', 'version'];

/** An option as it was typed: '-x', '--json-only' (cac hands over camelCased names). */
export function optionText(name: string): string {
  if (name.length === 1) return `-${name}`;
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Throw a UsageError for the first option not in `own`, ALWAYS_KNOWN or `globals`. */
export function checkKnownOptions(
  options: Readonly<Record<string, unknown>>,
  own: readonly string[],
  globals: readonly string[] = [],
): void {
  const known = new Set([...own, ...ALWAYS_KNOWN, ...globals]);
  for (const name of Object.keys(options)) {
    if (!known.has(name)) throw new UsageError(`unknown option ${optionText(name)}`);
  }
}

/**
 * The three implementations are `legacy`, `shim` and `interval` in every command and output;
 * `native` (the bench's name for `interval` before) is accepted on input.
 */
export const IMPL_ALIASES: Readonly<Record<string, string>> = { native: 'interval' };

/** An --impl value with its alias resolved (anything else unchanged). */
export function resolveImplAlias(value: unknown): unknown {
  return typeof value === 'string' ? (IMPL_ALIASES[value] ?? value) : value;
}

/**
 * argv with `--name -1` joined into `--name=-1`: a negative number after an option is its value
 * (the parser would read `-1` as a flag named 1). Arguments after `--` are left alone.
 */
export function joinNegativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  let rest = false;
  for (const a of args) {
    const prev = out.at(-1);
    if (!rest && /^-\d/.test(a) && prev?.startsWith('--') && prev !== '--' && !prev.includes('=')) {
      out[out.length - 1] = `${prev}=${a}`;
      continue;
    }
    if (a === '--') rest = true;
    out.push(a);
  }
  return out;
}

/** Where a command's lines go. */
export interface Lines {
  out(text: string): void;
  err(text: string): void;
}

/** The process's stdout and stderr, a line at a time. */
export const processLines: Lines = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};
