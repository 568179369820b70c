import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CAC } from 'cac';
import { BENCH_USAGE, processIo as benchProcessIo, registerBenchCommand } from 'hmmsim-bench';
import { describe, expect, it } from 'vitest';
import { DEMO_USAGE } from '../src/commands/demo.ts';
import { EXPLORE_USAGE } from '../src/commands/explore.ts';
import { GUIDE_USAGE } from '../src/commands/guide.ts';
import { RACE_USAGE } from '../src/commands/race.ts';
import { SELFTEST_USAGE } from '../src/commands/selftest.ts';
import { CLI_EXIT_USAGE, type CliParts, cliVersion, runCli } from '../src/main.ts';
import { joinNegativeValues, optionText } from '../src/usage.ts';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const COMMANDS = 'demo, explore, race, selftest, guide, bench';

/** `hmmsim bench` with its output captured in `lines` (the rest of its io is the real one). */
function benchInto(lines: { out: string[]; err: string[] }): CliParts {
  return {
    registerBench: (cli: CAC, opts) =>
      registerBenchCommand(cli, {
        ...opts,
        io: {
          ...benchProcessIo(),
          out: (l) => void lines.out.push(l),
          err: (l) => void lines.err.push(l),
        },
      }),
  };
}

/** Run `hmmsim …args` in-process (bench included); exit code, stdout and stderr lines. */
async function hmmsim(...args: string[]) {
  const lines = { out: [] as string[], err: [] as string[] };
  const io = {
    out: (l: string) => void lines.out.push(l),
    err: (l: string) => void lines.err.push(l),
  };
  const code = await runCli(args, io, benchInto(lines));
  return { code, ...lines };
}

describe('hmmsim: commands, version and help', () => {
  it('an unknown command is one line naming it and the commands, exit 2', async () => {
    const r = await hmmsim('frob', '--quick');
    expect(r.code).toBe(CLI_EXIT_USAGE);
    expect(r.err).toEqual([
      `hmmsim: unknown command 'frob'; the commands are ${COMMANDS} (hmmsim --help)`,
    ]);
    expect(r.out).toEqual([]);
  });

  it('--version and -v print the version of the package, exit 0', async () => {
    expect(cliVersion()).toBe(manifest.version);
    for (const args of [['--version'], ['-v'], ['race', '--version']]) {
      const r = await hmmsim(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out).toEqual([`hmmsim ${manifest.version}`]);
      expect(r.err).toEqual([]);
    }
  });

  it('an unknown option without a command is one line, exit 2', async () => {
    const r = await hmmsim('--frob');
    expect(r.code).toBe(CLI_EXIT_USAGE);
    expect(r.err).toEqual(['hmmsim: unknown option --frob (hmmsim --help)']);
  });

  it('--help (or nothing) lists every command with one line each and the implementations', async () => {
    const help = await hmmsim('--help');
    const none = await hmmsim();
    expect(help.code).toBe(0);
    expect(none).toEqual(help);
    const text = help.out.join('\n');
    for (const c of COMMANDS.split(', ')) expect(text).toMatch(new RegExp(`^ {2}${c} +\\S`, 'm'));
    expect(text).toMatch(/^ {2}interval {2}a v5\.5 driver on mmu_interval_notifier itself/m);
    expect(text).toContain("'hmmsim <command> --help'");
  });

  it('<command> --help prints that command’s one usage text, and only it', async () => {
    const usages: [string, string][] = [
      ['demo', DEMO_USAGE],
      ['explore', EXPLORE_USAGE],
      ['race', RACE_USAGE],
      ['selftest', SELFTEST_USAGE],
      ['guide', GUIDE_USAGE],
      ['bench', BENCH_USAGE],
    ];
    for (const [command, usage] of usages) {
      for (const flag of ['--help', '-h']) {
        const r = await hmmsim(command, flag);
        expect(r.code, `${command} ${flag}`).toBe(0);
        expect(r.out).toEqual([usage]);
        expect(r.err).toEqual([]);
      }
      expect(usage.startsWith(`usage: hmmsim ${command}`)).toBe(true);
      expect(usage).toMatch(/\nExit codes: 0 /);
    }
    // Every option a command accepts is in its usage text.
    for (const o of ['--impl NAME', '--bound N|inf']) expect(RACE_USAGE).toContain(`  ${o} `);
    for (const o of ['--impl NAME', '--filter NAME', '--seed N']) {
      expect(SELFTEST_USAGE).toContain(`  ${o} `);
    }
    for (const o of [
      '--list',
      '--strategy',
      '--bound',
      '--runs',
      '--seed',
      '--replay',
      '--mermaid',
    ]) {
      expect(EXPLORE_USAGE).toContain(`  ${o} `);
    }
    expect(EXPLORE_USAGE).toContain('  --export NAME ');
  });
});

describe('hmmsim: usage errors are one line and exit 2, never a stack trace', () => {
  const cases: [string[], string][] = [
    [['demo', '--foo'], 'hmmsim demo: unknown option --foo (hmmsim demo --help)'],
    [['demo', 'extra'], "hmmsim demo: unexpected argument 'extra' (hmmsim demo --help)"],
    [['race', '--frob'], 'hmmsim race: unknown option --frob (hmmsim race --help)'],
    [['race', '-x'], 'hmmsim race: unknown option -x (hmmsim race --help)'],
    [
      ['race', '--bound', '-1'],
      "hmmsim race: invalid --bound -1: expected an integer in [0, 4] or 'inf' (hmmsim race --help)",
    ],
    [
      ['race', '--bound=-1'],
      "hmmsim race: invalid --bound -1: expected an integer in [0, 4] or 'inf' (hmmsim race --help)",
    ],
    [
      ['race', '--impl', 'nouveau'],
      'hmmsim race: --impl nouveau: expected one of legacy, shim, interval, all (hmmsim race --help)',
    ],
    [
      ['selftest', '--dry-run'],
      'hmmsim selftest: unknown option --dry-run (hmmsim selftest --help)',
    ],
    [
      ['selftest', '--seed', '-5'],
      'hmmsim selftest: invalid --seed -5: expected an integer in [0, 4294967295] (hmmsim selftest --help)',
    ],
    [['explore', '--frob'], 'hmmsim explore: unknown option --frob (hmmsim explore --help)'],
    [
      ['explore', 'lost-update', '--bound', '-2'],
      "hmmsim explore: invalid --bound -2: expected an integer in [0, 1000] or 'inf' (hmmsim explore --help)",
    ],
    [['bench', '--frob'], 'hmmsim bench: unknown option --frob (hmmsim bench --help)'],
    [
      ['bench', '--seed', '-1'],
      'hmmsim bench: invalid --seed -1: expected an integer in [0, 4294967295] (hmmsim bench --help)',
    ],
  ];
  for (const [args, line] of cases) {
    it(`hmmsim ${args.join(' ')}`, async () => {
      const r = await hmmsim(...args);
      expect(r.code).toBe(CLI_EXIT_USAGE);
      expect(r.err).toEqual([line]);
      expect(r.out).toEqual([]);
    });
  }
});

describe('hmmsim: one vocabulary for the implementations', () => {
  it('race --impl native runs interval, named interval', async () => {
    const r = await hmmsim('race', '--impl', 'native', '--bound', '1');
    expect(r.code).toBe(0);
    expect(r.out.filter((l) => l.startsWith('== '))).toEqual([
      '== interval: v5.5 driver on mmu_interval_notifier (read_begin / read_retry / set_seq)',
    ]);
  });

  it('selftest --impl native runs the selftests on interval', async () => {
    const r = await hmmsim('selftest', '--impl', 'native', '--filter', 'anon_write', '--seed', '1');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "# dmirror on interval: a driver on mmu_interval_notifier (the kernel's design since v5.5)",
    );
    expect(r.out).toContain('ok 1 hmm.anon_write');
  });

  it('no command names an implementation native, except to accept the alias', async () => {
    const help = (await hmmsim('--help')).out.join('\n');
    for (const text of [help, DEMO_USAGE, EXPLORE_USAGE, RACE_USAGE, SELFTEST_USAGE, BENCH_USAGE]) {
      for (const line of text.split('\n').filter((l) => /native/.test(l))) {
        expect(line).toMatch(/'native' is accepted for (it|interval)/);
      }
    }
  });
});

describe('argv helpers', () => {
  it('joins a negative number to the option before it, and nothing else', () => {
    expect(joinNegativeValues(['race', '--bound', '-1'])).toEqual(['race', '--bound=-1']);
    expect(joinNegativeValues(['--seed', '-0.5', '-x'])).toEqual(['--seed=-0.5', '-x']);
    expect(joinNegativeValues(['--bound=1', '-1'])).toEqual(['--bound=1', '-1']);
    expect(joinNegativeValues(['-x', '-1'])).toEqual(['-x', '-1']);
    expect(joinNegativeValues(['--', '--a', '-1'])).toEqual(['--', '--a', '-1']);
    expect(joinNegativeValues(['--quick', '-q'])).toEqual(['--quick', '-q']);
  });

  it('spells options as typed', () => {
    expect(optionText('x')).toBe('-x');
    expect(optionText('jsonOnly')).toBe('--json-only');
    expect(optionText('frob')).toBe('--frob');
  });
});

/** The real command, from source, as `pnpm hmmsim` runs it. */
function processHmmsim(args: string[]) {
  const repo = fileURLToPath(new URL('../../../', import.meta.url));
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const r = spawnSync(
    process.execPath,
    [tsxCli, '--conditions=@hmmsim/source', join(repo, 'apps/cli/src/main.ts'), ...args],
    { cwd: repo, encoding: 'utf8', timeout: 60_000 },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('hmmsim as a process', () => {
  it('demo --foo: one line on stderr, exit 2 (no CACError, no stack trace)', () => {
    const r = processHmmsim(['demo', '--foo']);
    expect(r.err).toBe('hmmsim demo: unknown option --foo (hmmsim demo --help)\n');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
  });

  it('an unknown command and --version', () => {
    const u = processHmmsim(['frob']);
    expect(u.code).toBe(2);
    expect(u.err).toBe(
      `hmmsim: unknown command 'frob'; the commands are ${COMMANDS} (hmmsim --help)\n`,
    );
    const v = processHmmsim(['--version']);
    expect(v.code).toBe(0);
    expect(v.out).toBe(`hmmsim ${manifest.version}\n`);
  });

  it('race --bound -1 says the bound is invalid', () => {
    const r = processHmmsim(['race', '--bound', '-1']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      "hmmsim race: invalid --bound -1: expected an integer in [0, 4] or 'inf' (hmmsim race --help)\n",
    );
  });
});
