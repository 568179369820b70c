/**
 * `hmmsim guide`: list and run on a stub catalogue (so the command is tested whatever entries the
 * guide holds today), `list` on the real one, and every usage error.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  IntervalDriver,
  type IntervalDriverMistake,
  LegacyDriver,
  legacyHmmMirrorApi,
  shimHmmMirrorApi,
} from '@hmmsim/hmm-mirror';
import type { Invalidation } from 'hmmsim-migration-guide';
import {
  GUIDE_BASE,
  GUIDE_BOUND,
  GUIDE_ENTRIES,
  GUIDE_NPAGES,
  type GuideEntry,
  guideScenario,
} from 'hmmsim-migration-guide';
import { afterAll, describe, expect, it } from 'vitest';
import {
  closeMatches,
  firstHeading,
  GUIDE_DEFAULT_BOUND,
  GUIDE_EXIT_OK,
  GUIDE_EXIT_USAGE,
  GUIDE_EXIT_VIOLATION,
  GUIDE_USAGE,
  type GuideCatalogue,
  guideChaptersDir,
  readChapters,
  runGuideCommand,
} from '../src/commands/guide.ts';
import { runCli } from '../src/main.ts';

/** The v5.4 driver of @hmmsim/hmm-mirror on `api`, against `ops`. */
function legacyEntry(id: string, expect: GuideEntry['expect'], ops: Invalidation[]): GuideEntry {
  return {
    id,
    kind: 'example',
    chapter: '01-stub',
    title: 'a v5.4 driver (hmm-mirror LegacyDriver)',
    file: 'test/stub.ts',
    impls: ['legacy', 'shim'],
    expect,
    scenarios: (impl) =>
      ops.map((op) =>
        guideScenario({
          name: `guide-${id}-${op}`,
          driverText: `the stub v5.4 driver on ${impl}`,
          expect: impl === 'shim' ? 'pass' : 'violation',
          driver: (w) =>
            new LegacyDriver(
              impl === 'shim' ? shimHmmMirrorApi : legacyHmmMirrorApi,
              w.mm,
              GUIDE_BASE,
              GUIDE_NPAGES,
            ),
          op,
        }),
      ),
  };
}

/** The v5.5 driver of @hmmsim/hmm-mirror, possibly with a porting mistake. */
function intervalEntry(
  id: string,
  mistake: IntervalDriverMistake | undefined,
  extra: Partial<GuideEntry> = {},
): GuideEntry {
  return {
    id,
    kind: mistake === undefined ? 'example' : 'pitfall',
    chapter: mistake === undefined ? '02-stub' : '06-orphan',
    title: mistake === undefined ? 'a v5.5 driver' : `a v5.5 driver with ${mistake}`,
    file: 'test/stub.ts',
    expect: mistake === undefined ? 'pass' : 'violation',
    scenarios: () => [
      guideScenario({
        name: `guide-${id}-munmap`,
        driverText: 'the stub v5.5 driver',
        expect: mistake === undefined ? 'pass' : 'violation',
        driver: (w) =>
          new IntervalDriver(
            w.mm,
            GUIDE_BASE,
            GUIDE_NPAGES,
            mistake === undefined ? {} : { mistake },
          ),
        op: 'munmap',
      }),
    ],
    ...extra,
  };
}

const STUB_ENTRIES: readonly GuideEntry[] = [
  legacyEntry('stub-v5.4', { legacy: 'violation', shim: 'pass' }, ['munmap']),
  intervalEntry('stub-v5.5', undefined),
  intervalEntry('stub-pitfall-forgot-set-seq', 'forgot-set-seq', {
    fixedBy: 'stub-v5.5',
    source: 'stub: the v5.5 conversion series',
  }),
];

const dir = mkdtempSync(join(tmpdir(), 'hmmsim-guide-'));
writeFileSync(join(dir, 'README.md'), '# The stub guide\n\ncontents\n');
writeFileSync(join(dir, '02-stub.md'), '```sh\n# not a heading\n```\n## 2. The port\n');
writeFileSync(join(dir, '01-stub.md'), 'intro\n\n# 1. The race #\n');
writeFileSync(join(dir, 'notes.txt'), '# not a chapter\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STUBS: GuideCatalogue = { entries: STUB_ENTRIES, chaptersDir: dir };

/** Run the command on a catalogue; args as typed after `hmmsim guide`. */
async function guide(
  args: string[],
  options: Record<string, unknown> = {},
  catalogue: GuideCatalogue = STUBS,
) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runGuideCommand(
    { args, options: { '--': [], ...options }, rawArgs: ['guide', ...args] },
    { out: (l) => void out.push(l), err: (l) => void err.push(l) },
    catalogue,
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('hmmsim guide list', () => {
  it('the chapters (README first, first heading outside code), then the entries by chapter', async () => {
    const r = await guide(['list']);
    expect(r.code).toBe(GUIDE_EXIT_OK);
    expect(r.err).toBe('');
    const lines = r.out.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'Chapters (guide/*.md of hmmsim-migration-guide):',
      '  README.md   The stub guide',
      '  01-stub.md  1. The race',
      '  02-stub.md  2. The port',
    ]);
    expect(r.out).not.toContain('notes.txt');
    expect(r.out).toContain("Entries (3; run one with 'hmmsim guide run <id>'):");
    expect(r.out).toMatch(
      /^ {2}01-stub: 1\. The race\n {4}stub-v5\.4 +example +legacy, shim +a v5\.4 driver/m,
    );
    expect(r.out).toMatch(
      /^ {2}02-stub: 2\. The port\n {4}stub-v5\.5 +example +- +a v5\.5 driver$/m,
    );
    // An entry whose chapter has no file yet is still listed, after the chapters that exist.
    expect(r.out).toMatch(
      /^ {2}06-orphan \(no guide\/06-orphan\.md yet\)\n {4}stub-pitfall-forgot-set-seq +pitfall +- +a v5\.5 driver with forgot-set-seq$/m,
    );
    expect(r.out.indexOf('02-stub:')).toBeLessThan(r.out.indexOf('06-orphan'));
  });

  it('an empty catalogue and a missing chapter folder say so', async () => {
    const r = await guide(['list'], {}, { entries: [], chaptersDir: join(dir, 'nope') });
    expect(r.code).toBe(GUIDE_EXIT_OK);
    expect(r.out.split('\n')).toEqual([
      'Chapters (guide/*.md of hmmsim-migration-guide):',
      '  (none yet)',
      '',
      "Entries (0; run one with 'hmmsim guide run <id>'):",
      '  (none yet)',
    ]);
  });

  it('the real guide: its chapter files and every entry of GUIDE_ENTRIES', async () => {
    const chapters = readChapters(guideChaptersDir());
    expect(chapters[0]?.file).toBe('README.md');
    const out: string[] = [];
    const code = await runCli(['guide', 'list'], {
      out: (l) => void out.push(l),
      err: (l) => void out.push(`ERR ${l}`),
    });
    expect(code).toBe(GUIDE_EXIT_OK);
    const text = out.join('\n');
    for (const c of chapters) expect(text).toMatch(new RegExp(`^ {2}${c.file} +\\S`, 'm'));
    expect(text).toContain(`Entries (${GUIDE_ENTRIES.length};`);
    for (const e of GUIDE_ENTRIES)
      expect(text).toMatch(new RegExp(`^ {4}${e.id} +${e.kind} `, 'm'));
  });

  it('firstHeading and readChapters', () => {
    expect(firstHeading('text\n~~~\n# code\n~~~\n### Third # \n# later')).toBe('Third');
    expect(firstHeading('no heading')).toBe('');
    expect(readChapters(join(dir, 'missing'))).toEqual([]);
  });
});

describe('hmmsim guide run <id>', () => {
  it('a v5.4 driver on legacy: exit 1, the minimal trace, as the guide says', async () => {
    const r = await guide(['run', 'stub-v5.4']);
    expect(r.code).toBe(GUIDE_EXIT_VIOLATION);
    expect(r.err).toBe('');
    expect(r.out).toMatch(
      /^hmmsim guide run stub-v5\.4: every schedule with at most 2 preemptions/,
    );
    expect(r.out).toMatch(/^stub-v5\.4 on legacy: a v5\.4 driver/m);
    expect(r.out).toMatch(
      /guide-stub-v5\.4-munmap: violation \(invariant\) after \d+ schedule\(s\); minimal schedule [\dx.]+ with 1 preemption/,
    );
    expect(r.out).toMatch(/now belongs to mm\d+ \(another process\)/);
    // The minimal trace, as the guide package formats it: CPU0's munmap runs whole between
    // CPU1's hmm_range_fault() and its valid check, which still says true.
    const schedule = /minimal schedule ([\dx.]+)/.exec(r.out)?.[1];
    expect(r.out).toContain(`schedule ${schedule}`);
    expect(r.out).toMatch(/T1 cpu0 munmap +T2 cpu1 device access/);
    const order = [
      'driver.hmm_range_fault',
      'invalidate_range_start UNMAP',
      'driver.hmm_range_valid true',
    ];
    const at = order.map((row) => r.out.indexOf(row));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(r.out).toMatch(
      /stub-v5\.4 on legacy: as the guide says \(the explorer finds the bug\)$/,
    );
  });

  it('the same driver --impl shim: exit 0, clean over every schedule', async () => {
    const r = await guide(['run', 'stub-v5.4'], { impl: 'shim' });
    expect(r.code).toBe(GUIDE_EXIT_OK);
    expect(r.out).toMatch(
      /guide-stub-v5\.4-munmap: clean: all \d+ schedules with at most 2 preemptions, none violates/,
    );
    expect(r.out).toMatch(/stub-v5\.4 on shim: as the guide says \(clean\)$/);
  });

  it('a pitfall: exit 1, its minimal trace, then the fixed version clean', async () => {
    const r = await guide(['run', 'stub-pitfall-forgot-set-seq']);
    expect(r.code).toBe(GUIDE_EXIT_VIOLATION);
    expect(r.out).toContain('  source: stub: the v5.5 conversion series');
    const fix = r.out.indexOf('  fixed by stub-v5.5:');
    expect(r.out.indexOf('guide-stub-pitfall-forgot-set-seq-munmap: violation')).toBeGreaterThan(0);
    expect(r.out.indexOf('guide-stub-pitfall-forgot-set-seq-munmap: violation')).toBeLessThan(fix);
    expect(r.out.slice(fix)).toMatch(/guide-stub-v5\.5-munmap: clean: all \d+ schedules/);
    expect(r.out).toMatch(
      /stub-pitfall-forgot-set-seq: as the guide says \(the explorer finds the bug; the fix is clean\)$/,
    );
  });

  it('--bound 0: no preemption, so even the v5.4 race is not found (exit 0)', async () => {
    const r = await guide(['run', 'stub-v5.4'], { bound: 0 });
    expect(r.code).toBe(GUIDE_EXIT_OK);
    expect(r.out).toMatch(/at most 0 preemptions/);
    expect(r.out).toMatch(/NOT as the guide says \(expected a violation\)$/);
  });

  it('a pitfall whose fix is not in the catalogue: exit 1, the reason on stderr', async () => {
    const broken = intervalEntry('stub-broken', 'forgot-set-seq', { fixedBy: 'nowhere' });
    const r = await guide(['run', 'stub-broken'], {}, { entries: [broken], chaptersDir: dir });
    expect(r.code).toBe(GUIDE_EXIT_VIOLATION);
    expect(r.err).toBe(
      "hmmsim guide: stub-broken: guide stub-broken: its fix 'nowhere' is not in the catalogue",
    );
  });
});

describe('hmmsim guide run --all', () => {
  it('every entry on every implementation, one line each; exit 0 when all are as the guide says', async () => {
    const r = await guide(['run'], { all: true });
    expect(r.code).toBe(GUIDE_EXIT_OK);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(
      'hmmsim guide run --all: 3 entries, 4 runs; every schedule with at most 2 preemptions (bounded DFS)',
    );
    expect(lines.slice(1, 5).map((l) => l.split(/ {2,}/).slice(0, 3))).toEqual([
      ['ok', 'stub-v5.4 --impl legacy', 'example'],
      ['ok', 'stub-v5.4 --impl shim', 'example'],
      ['ok', 'stub-v5.5', 'example'],
      ['ok', 'stub-pitfall-forgot-set-seq', 'pitfall'],
    ]);
    expect(lines[1]).toMatch(/violation \(invariant\) in 1\/1 scenario \(expected a violation\)$/);
    expect(lines[2]).toMatch(/clean: 1 scenario, \d+ schedules, exhausted \(expected clean\)$/);
    expect(lines[4]).toMatch(
      /violation \(invariant\) in 1\/1 scenario; fix stub-v5\.5: clean: 1 scenario, \d+ schedules, exhausted \(expected a violation, fix clean\)$/,
    );
    expect(lines[5]).toBe('4 of 4 runs as the guide says');
    expect(lines).toHaveLength(6);
  });

  it('exit 1 when an entry is not as the guide says (and an entry that cannot run)', async () => {
    const wrong = legacyEntry('stub-wrong', 'pass', ['munmap']);
    const broken = intervalEntry('stub-broken', 'forgot-set-seq', { fixedBy: 'nowhere' });
    const r = await guide(
      ['run'],
      { all: true, bound: 1 },
      { entries: [wrong, broken], chaptersDir: dir },
    );
    expect(r.code).toBe(GUIDE_EXIT_VIOLATION);
    expect(r.out).toMatch(/at most 1 preemption \(bounded DFS\)/);
    expect(r.out).toMatch(
      /^NOT OK {2}stub-wrong --impl legacy +example +violation .*\(expected clean\)$/m,
    );
    expect(r.out).toMatch(/^ok {6}stub-wrong --impl shim /m);
    expect(r.out).toMatch(/^NOT OK {2}stub-broken: could not run$/m);
    expect(r.err).toContain("its fix 'nowhere' is not in the catalogue");
    expect(r.out).toMatch(/^1 of 3 runs as the guide says$/m);
  });

  it('an empty catalogue: nothing to run, exit 0', async () => {
    const r = await guide(['run'], { all: true }, { entries: [], chaptersDir: dir });
    expect(r.code).toBe(GUIDE_EXIT_OK);
    expect(r.out).toMatch(/0 entries, 0 runs/);
  });
});

describe('hmmsim guide: usage errors are one line, exit 2', () => {
  const cases: [string[], Record<string, unknown>, string][] = [
    [[], {}, "missing subcommand: expected 'list' or 'run'"],
    [['frob'], {}, "unknown subcommand 'frob': expected 'list' or 'run'"],
    [['list', 'x'], {}, "unexpected argument 'x'"],
    [['list'], { bound: 1 }, "--bound applies to 'guide run'; 'guide list' takes no option"],
    [['run'], {}, "missing entry id (see 'hmmsim guide list'), or --all"],
    [['run', 'stub-v5.4', 'stub-v5.5'], {}, "unexpected argument 'stub-v5.5': one id at a time"],
    [['run', 'stub-v54'], {}, "unknown entry 'stub-v54'; close matches: stub-v5.4, stub-v5.5"],
    [
      ['run', 'forgot-set-seq'],
      {},
      "unknown entry 'forgot-set-seq'; close matches: stub-pitfall-forgot-set-seq",
    ],
    [['run', 'zzz'], {}, "unknown entry 'zzz'; 'hmmsim guide list' shows the 3 entries"],
    [
      ['run', 'stub-v5.5'],
      { impl: 'legacy' },
      '--impl legacy: stub-v5.5 is not written against hmm_mirror: it runs on one implementation, without --impl',
    ],
    [['run', 'stub-v5.4'], { impl: 'nouveau' }, '--impl nouveau: expected one of legacy, shim'],
    [
      ['run', 'stub-v5.4'],
      { impl: 'native' },
      '--impl native: expected one of legacy, shim (a driver on mmu_interval_notifier itself runs without --impl)',
    ],
    [['run', 'stub-v5.4'], { impl: true }, '--impl needs a value'],
    [['run', 'stub-v5.4'], { impl: ['legacy', 'shim'] }, '--impl was given more than once'],
    [
      ['run'],
      { all: true, impl: 'shim' },
      '--all runs every entry on every implementation: it takes no --impl',
    ],
    [['run', 'stub-v5.4'], { all: true }, "--all runs every entry: unexpected id 'stub-v5.4'"],
    [['run', 'stub-v5.4'], { frob: 1 }, 'unknown option --frob'],
  ];
  for (const [args, options, message] of cases) {
    it(`guide ${args.join(' ')} ${JSON.stringify(options)}`, async () => {
      const r = await guide(args, options);
      expect(r.code).toBe(GUIDE_EXIT_USAGE);
      expect(r.err).toBe(`hmmsim guide: ${message} (hmmsim guide --help)`);
      expect(r.out).toBe('');
    });
  }

  it('--impl on an entry that does not list it', async () => {
    const legacyOnly: GuideEntry = {
      ...legacyEntry('stub-legacy-only', 'violation', []),
      impls: ['legacy'],
    };
    const r = await guide(
      ['run', 'stub-legacy-only'],
      { impl: 'shim' },
      {
        entries: [legacyOnly],
        chaptersDir: dir,
      },
    );
    expect(r.code).toBe(GUIDE_EXIT_USAGE);
    expect(r.err).toBe(
      'hmmsim guide: --impl shim: stub-legacy-only runs on legacy (hmmsim guide --help)',
    );
  });

  it('bad --bound, as typed on the command line: NaN, fractions, negative, 2^53 and more', async () => {
    for (const bound of ['NaN', '2.5', '-1', '9007199254740992', '1e400', '0x2', '', 'inf']) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(['guide', 'run', 'stub-v5.4', '--bound', bound], {
        out: (l) => void out.push(l),
        err: (l) => void err.push(l),
      });
      expect(code, bound).toBe(GUIDE_EXIT_USAGE);
      expect(err).toEqual([
        `hmmsim guide: invalid --bound ${bound === '' ? "''" : bound}: expected an integer >= 0 and < 2^53 (hmmsim guide --help)`,
      ]);
      expect(out).toEqual([]);
    }
  });

  it('closeMatches: edit distance and containment, best first, at most five', () => {
    const ids = ['svm-v5.4', 'svm-v5.5', 'svm-v5.7', 'userptr-v5.4', 'pitfall-forgot-set-seq'];
    expect(closeMatches('svm-v54', ids)).toEqual(['svm-v5.4', 'svm-v5.5', 'svm-v5.7']);
    expect(closeMatches('SET-SEQ', ids)).toEqual(['pitfall-forgot-set-seq']);
    expect(closeMatches('v5', ids)).toEqual([]);
    expect(closeMatches('v5.', [...ids, 'a', 'b', 'c'])).toHaveLength(4);
  });
});

describe('hmmsim guide in the CLI', () => {
  it('guide --help prints GUIDE_USAGE, which says a pitfall exits 1', async () => {
    const out: string[] = [];
    const code = await runCli(['guide', '--help'], { out: (l) => void out.push(l), err: () => {} });
    expect(code).toBe(0);
    expect(out).toEqual([GUIDE_USAGE]);
    expect(GUIDE_USAGE).toMatch(/a\npitfall exits 1|a pitfall exits 1/);
    for (const o of ['--impl NAME', '--bound N', 'run --all', 'list'])
      expect(GUIDE_USAGE).toContain(`  ${o} `);
  });

  it('hmmsim --help lists guide', async () => {
    const out: string[] = [];
    await runCli(['--help'], { out: (l) => void out.push(l), err: () => {} });
    expect(out.join('\n')).toMatch(/^ {2}guide +The migration guide/m);
  });
});

describe('hmmsim guide as a process', () => {
  it('a bad --bound: one line on stderr, exit 2, no stack trace', () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
    const r = spawnSync(
      process.execPath,
      [
        tsxCli,
        '--conditions=@hmmsim/source',
        join(repo, 'apps/cli/src/main.ts'),
        'guide',
        'run',
        'any-id',
        '--bound',
        '-1',
      ],
      { cwd: repo, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe(
      'hmmsim guide: invalid --bound -1: expected an integer >= 0 and < 2^53 (hmmsim guide --help)\n',
    );
    expect(r.status).toBe(GUIDE_EXIT_USAGE);
    expect(r.stdout).toBe('');
  });
});

describe('hmmsim guide without the guide package', () => {
  it("defaults to the guide's own bound (the CLI loads the guide lazily, so it keeps a copy)", () => {
    expect(GUIDE_DEFAULT_BOUND).toBe(GUIDE_BOUND);
  });
});
