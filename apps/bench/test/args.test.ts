import { describe, expect, it } from 'vitest';
import { BENCH_USAGE, commandLine, parseBenchArgs, rawOptionText } from '../src/cli/args.ts';
import { BENCH_EXIT_USAGE, runBenchCommand } from '../src/command.ts';
import { planCases, selectCases } from '../src/run/cases.ts';
import { QUICK_PLAN } from '../src/run/plan.ts';
import { captureIo, runCli } from './helpers.ts';

describe('hmmsim bench: bad usage is one line on stderr and exit code 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['--bogus'], /unknown option --bogus/],
    ['an unknown short flag', ['-q'], /unknown option -q/],
    ['an unknown dashed flag, as typed', ['--dry-run'], /unknown option --dry-run /],
    ['a value given to --check', ['--check=yes'], /unexpected argument 'yes'/],
    ['a positional argument', ['extra'], /unexpected argument 'extra'/],
    ['a value given to a flag (--quick=1)', ['--quick=1'], /unexpected argument '1'/],
    ['a value given to --json-only', ['--json-only=yes'], /--json-only takes no value/],
    ['--seed without a value', ['--seed'], /--seed needs a value/],
    ['a non-integer --seed', ['--seed', 'abc'], /--seed abc: expected an integer/],
    ['a negative --seed', ['--seed=-1'], /--seed -1: expected an integer/],
    ['a fractional --seed', ['--seed', '1.5'], /--seed 1.5: expected an integer/],
    ['--seed given twice', ['--seed', '1', '--seed', '2'], /--seed was given more than once/],
    ['--out without a value', ['--out'], /--out needs a value/],
    [
      '--filter that is no regular expression',
      ['--filter', '(unclosed'],
      /not a regular expression/,
    ],
    [
      '--filter that matches no case',
      ['--filter', '^nothing$'],
      /matches no benchmark case; the cases are: fault-throughput/,
    ],
  ];
  for (const [what, argv, message] of cases) {
    it(what, async () => {
      const { code, returned, io } = await runCli(argv);
      expect(code).toBe(BENCH_EXIT_USAGE);
      expect(returned).toBe(BENCH_EXIT_USAGE);
      expect(io.stderr).toHaveLength(1);
      expect(io.stderr[0]).toMatch(message);
      expect(io.stderr[0]).toMatch(/^hmmsim bench: .* \(hmmsim bench --help\)$/);
      expect(io.stdout).toEqual([]);
      expect(io.files.size).toBe(0);
    });
  }

  it('the pure command reports usage errors the same way', async () => {
    const io = captureIo(false);
    const code = await runBenchCommand({ args: [], options: { '--': [], colour: true } }, io);
    expect(code).toBe(BENCH_EXIT_USAGE);
    expect(io.stderr).toEqual(['hmmsim bench: unknown option --colour (hmmsim bench --help)']);
  });

  it('has one usage text, naming every option and the implementations', () => {
    expect(BENCH_USAGE.split('\n')[0]).toBe(
      'usage: hmmsim bench [--quick] [--out DIR] [--filter RE] [--seed N] [--json-only] [--check]',
    );
    for (const o of ['--quick', '--out DIR', '--filter RE', '--seed N', '--json-only', '--check']) {
      expect(BENCH_USAGE).toContain(`\n  ${o} `);
    }
    expect(BENCH_USAGE).toContain("'contention/<legacy|shim|interval>'");
    expect(BENCH_USAGE.match(/native/g)).toEqual(['native']);
    expect(BENCH_USAGE).toContain("'native' is accepted for it in --filter");
  });
});

describe('hmmsim bench: good arguments', () => {
  it('defaults', () => {
    const a = parseBenchArgs({ args: [], options: { '--': [] } });
    expect(a).toEqual({
      quick: false,
      out: 'bench-results',
      filter: null,
      filterSource: null,
      seed: 1,
      jsonOnly: false,
      check: false,
    });
    expect(commandLine(a)).toBe('hmmsim bench');
  });

  it('--check is a flag, recorded in the command line', () => {
    const a = parseBenchArgs({ args: [], options: { '--': [], check: true, quick: true } });
    expect(a.check).toBe(true);
    expect(commandLine(a)).toBe('hmmsim bench --quick --check');
  });

  it("--filter matches an implementation's ids under its alias too (native = interval)", () => {
    const cases = planCases(QUICK_PLAN);
    const ids = (re: string) => selectCases(cases, new RegExp(re)).map((c) => c.id);
    expect(ids('^contention/native$')).toEqual(['contention/interval']);
    expect(ids('^contention/interval$')).toEqual(['contention/interval']);
    expect(ids('contention/(legacy|native)')).toEqual(['contention/legacy', 'contention/interval']);
    expect(ids('native')).toEqual(['contention/interval']);
    expect(cases.map((c) => c.id).filter((id) => id.includes('native'))).toEqual([]);
  });

  it('reads --out and --filter from the raw argv (cac would turn 2024 into a number)', () => {
    const rawArgs = ['node', 'hmmsim', 'bench', '--out', '2024', '--filter=007|memory', '--quick'];
    const a = parseBenchArgs({
      args: [],
      options: { '--': [], out: 2024, filter: '007|memory', quick: true, seed: 9, jsonOnly: true },
      rawArgs,
    });
    expect(a.out).toBe('2024');
    expect(a.filterSource).toBe('007|memory');
    expect(a.filter?.test('memory')).toBe(true);
    expect(a.seed).toBe(9);
    expect(commandLine(a)).toBe(
      "hmmsim bench --quick --out 2024 --filter '007|memory' --seed 9 --json-only",
    );
    expect(rawOptionText(rawArgs, 'filter')).toBe('007|memory');
  });

  it('accepts the host CLI’s global options', () => {
    const a = parseBenchArgs({
      args: [],
      options: { '--': [], verbose: true },
      globalOptions: ['verbose'],
    });
    expect(a.quick).toBe(false);
  });
});
