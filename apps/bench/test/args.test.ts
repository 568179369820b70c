import { describe, expect, it } from 'vitest';
import { commandLine, parseBenchArgs, rawOptionText } from '../src/cli/args.ts';
import { BENCH_EXIT_USAGE, runBenchCommand } from '../src/command.ts';
import { captureIo, runCli } from './helpers.ts';

describe('hmmsim bench: bad usage gives the usage message and exit code 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['--bogus'], /unknown option --bogus/],
    ['an unknown short flag', ['-q'], /unknown option -q/],
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
      const err = io.stderr.join('\n');
      expect(err).toMatch(message);
      expect(err).toContain(
        'usage: hmmsim bench [--quick] [--out DIR] [--filter RE] [--seed N] [--json-only]',
      );
      expect(io.stdout).toEqual([]);
      expect(io.files.size).toBe(0);
    });
  }

  it('the pure command reports usage errors the same way', async () => {
    const io = captureIo(false);
    const code = await runBenchCommand({ args: [], options: { '--': [], colour: true } }, io);
    expect(code).toBe(BENCH_EXIT_USAGE);
    expect(io.stderr[0]).toBe('hmmsim bench: unknown option --colour');
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
    });
    expect(commandLine(a)).toBe('hmmsim bench');
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
