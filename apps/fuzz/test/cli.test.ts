import { describe, expect, it } from 'vitest';
import { DEFAULT_OPS, parseFuzzArgs } from '../src/args.ts';
import { formatReplay, parseReplay } from '../src/campaign.ts';
import { FUZZ_EXIT_OK, FUZZ_EXIT_USAGE, runFuzzCommand } from '../src/cli.ts';

/** Run the command, capturing its lines. */
async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runFuzzCommand(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('pnpm fuzz: bad usage gives the usage message and exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['--bogus'], /Unknown option '--bogus'/],
    [['extra'], /Unexpected argument 'extra'/],
    [['--ops', '0'], /--ops 0: expected an integer in \[1, /],
    [['--ops', '1.5'], /--ops 1\.5: expected an integer/],
    [['--ops', 'NaN'], /--ops NaN: expected an integer/],
    [['--seed=-1'], /--seed -1: expected an integer in \[0, 2147483647\]/],
    [['--seed', '99999999999'], /--seed 99999999999: expected an integer/],
    [['--impl', 'native'], /--impl native: expected legacy, shim, interval or all/],
    [['--replay', '1:2'], /--replay 1:2: expected SEED:PATH@REPLAYPATH/],
    [['--replay', '1:2@AB:C'], /--replay needs the --impl the failure was found on/],
    [['--lift', 'K1,K9'], /--lift K1,K9: 'K9' is not a known issue; expected K1, K3, K2/],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(' '), async () => {
      const r = await run(argv);
      expect(r.code).toBe(FUZZ_EXIT_USAGE);
      expect(r.err.join('\n')).toMatch(message);
      expect(r.err.join('\n')).toContain('usage: pnpm fuzz [--ops N] [--seed S]');
      expect(r.out).toEqual([]);
    });
  }
});

describe('pnpm fuzz: good arguments', () => {
  it('defaults: every implementation, interval and shim first', () => {
    const a = parseFuzzArgs([]);
    expect(a.impls).toEqual(['interval', 'shim', 'legacy']);
    expect([a.ops, a.seed, a.replay, a.noSuppress, a.lift]).toEqual([
      DEFAULT_OPS,
      1,
      undefined,
      false,
      [],
    ]);
    expect(parseFuzzArgs(['--lift', 'K1,K3']).lift).toEqual(['K1', 'K3']);
  });

  it('a replay token round-trips', () => {
    const r = { seed: 7, path: '3:1:0', replayPath: 'AB/+:C' };
    expect(parseReplay(formatReplay(r))).toEqual(r);
    expect(parseFuzzArgs(['--impl', 'legacy', '--replay', formatReplay(r)]).replay).toEqual(r);
  });

  it('a short clean run on interval exits 0 and reports its figures', async () => {
    const r = await run(['--impl', 'interval', '--ops', '30', '--seed', '5', '--quiet']);
    expect(r.code).toBe(FUZZ_EXIT_OK);
    expect(r.out[0]).toMatch(
      /^fuzz interval: \d+ ops in \d+ steps, \d+ runs \(seed 5\); violations 0$/,
    );
    expect(r.err).toEqual([]);
  });
});
