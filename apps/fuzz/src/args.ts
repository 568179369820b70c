/**
 * The arguments of `pnpm fuzz`: `[--ops N] [--seed S] [--impl legacy|shim|interval|all]
 * [--replay SEED:PATH@RP] [--shrink-ms MS] [--no-suppress | --lift IDS] [--quiet]`. Any problem is a UsageError (printed with the usage, exit 2).
 */
import { parseArgs } from 'node:util';
import { DMIRROR_IMPLS, type DmirrorImpl } from '@hmmsim/dmirror';
import { type FuzzReplay, parseReplay } from './campaign.ts';
import { KNOWN_ISSUES } from './known-issues.ts';

/** A usage problem: the message for stderr. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The usage text. */
export const FUZZ_USAGE =
  'usage: pnpm fuzz [--ops N] [--seed S] [--impl legacy|shim|interval|all] [--replay SEED:PATH@RP] [--shrink-ms MS] [--no-suppress | --lift IDS] [--quiet]\n' +
  '  --ops N        operations per implementation (integer >= 1, default 20000)\n' +
  '  --seed S       campaign seed (integer in [0, 2^31 - 1], default 1); same seed, same operations\n' +
  '  --impl I       legacy, shim, interval, or all (default all: interval, shim, legacy)\n' +
  '  --replay R     rerun one failing run exactly, R as a failure printed it (SEED:PATH@RP)\n' +
  '  --shrink-ms MS stop shrinking a failure after MS milliseconds (default 120000)\n' +
  '  --no-suppress  let the known issues race too (apps/fuzz/src/known-issues.ts)\n' +
  '  --lift IDS     let only these known issues race (comma-separated ids, e.g. K1,K3)\n' +
  '  --quiet        no progress lines on stderr';

/** Validated arguments. */
export interface FuzzArgs {
  readonly ops: number;
  readonly seed: number;
  readonly impls: readonly DmirrorImpl[];
  readonly replay: FuzzReplay | undefined;
  readonly shrinkMs: number;
  readonly noSuppress: boolean;
  /** Known issues allowed to race (ids); empty: none lifted (unless noSuppress). */
  readonly lift: readonly string[];
  readonly quiet: boolean;
}

/** Defaults. */
export const DEFAULT_OPS = 20_000;
export const DEFAULT_SEED = 1;
export const DEFAULT_SHRINK_MS = 120_000;
const MAX_SEED = 2 ** 31 - 1;

/** An integer option in [min, max]. */
function intOption(name: string, v: string | undefined, min: number, max: number, def: number) {
  if (v === undefined) return def;
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} ${v}: expected an integer in [${min}, ${max}]`);
  }
  return n;
}

/** --impl: one implementation or all (interval and shim first: they must be clean). */
function implOption(v: string | undefined): readonly DmirrorImpl[] {
  if (v === undefined || v === 'all') return ['interval', 'shim', 'legacy'];
  const impl = DMIRROR_IMPLS.find((i) => i === v);
  if (impl === undefined) {
    throw new UsageError(`--impl ${v}: expected legacy, shim, interval or all`);
  }
  return [impl];
}

/** --replay SEED:PATH@REPLAYPATH. */
function replayOption(v: string | undefined): FuzzReplay | undefined {
  if (v === undefined) return undefined;
  const r = parseReplay(v);
  if (r === undefined) {
    throw new UsageError(
      `--replay ${v}: expected SEED:PATH@REPLAYPATH as a failure prints it (e.g. 42:3:1:0@BAB:A)`,
    );
  }
  return r;
}

/** --lift K1,K3: ids of known issues. */
function liftOption(v: string | undefined): readonly string[] {
  if (v === undefined) return [];
  const ids = v.split(',');
  const known = KNOWN_ISSUES.map((k) => k.id);
  for (const id of ids) {
    if (!known.includes(id)) {
      throw new UsageError(
        `--lift ${v}: '${id}' is not a known issue; expected ${known.join(', ')}`,
      );
    }
  }
  return ids;
}

/** Parse argv (without node and the script). Throws UsageError. */
export function parseFuzzArgs(argv: readonly string[]): FuzzArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        ops: { type: 'string' },
        seed: { type: 'string' },
        impl: { type: 'string' },
        replay: { type: 'string' },
        'shrink-ms': { type: 'string' },
        'no-suppress': { type: 'boolean' },
        lift: { type: 'string' },
        quiet: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const str = (k: string) => values[k] as string | undefined;
  const replay = replayOption(str('replay'));
  const impls = implOption(str('impl'));
  if (replay !== undefined && impls.length !== 1) {
    throw new UsageError('--replay needs the --impl the failure was found on');
  }
  return {
    ops: intOption('ops', str('ops'), 1, Number.MAX_SAFE_INTEGER, DEFAULT_OPS),
    seed: intOption('seed', str('seed'), 0, MAX_SEED, DEFAULT_SEED),
    impls,
    replay,
    shrinkMs: intOption('shrink-ms', str('shrink-ms'), 0, 2 ** 31 - 1, DEFAULT_SHRINK_MS),
    noSuppress: values['no-suppress'] === true,
    lift: liftOption(str('lift')),
    quiet: values['quiet'] === true,
  };
}
