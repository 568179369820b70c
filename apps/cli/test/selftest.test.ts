import { cac } from 'cac';
import { describe, expect, it } from 'vitest';
import {
  registerSelftestCommand,
  runSelftestCommand,
  SELFTEST_EXIT_FAIL,
  SELFTEST_EXIT_OK,
  SELFTEST_EXIT_USAGE,
  type SelftestIo,
} from '../src/commands/selftest.ts';

/** An in-memory sink. */
function sink(): SelftestIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (s) => void out_.push(s), err: (s) => void err_.push(s) };
}

/** Run the pure command with options. */
async function run(options: Record<string, unknown>, args: string[] = []) {
  const io = sink();
  const code = await runSelftestCommand({ args, options: { '--': [], ...options } }, io);
  return { code, out: io.out_, err: io.err_.join('\n') };
}

const NAMES = [
  'hmm.open_close',
  'hmm.anon_read',
  'hmm.anon_read_prot',
  'hmm.anon_write',
  'hmm.anon_write_prot',
  'hmm.anon_write_child',
  'hmm.anon_write_huge',
  'hmm.migrate',
  'hmm.migrate_fault',
  'hmm.anon_teardown',
  'hmm2.snapshot',
];

describe('hmmsim selftest', () => {
  it('--impl interval: kselftest TAP, 11 ok lines, PASSED 11 / 11, exit 0', async () => {
    const r = await run({ impl: 'interval', seed: 3 });
    expect(r.code).toBe(SELFTEST_EXIT_OK);
    expect(r.err).toBe('');
    expect(r.out[0]).toBe('TAP version 13');
    expect(r.out[1]).toBe('1..11');
    expect(r.out).toContain('# Starting 11 tests from 2 test cases.');
    expect(r.out).toContain('# anon_teardown seed: 3 (rerun with --seed 3)');
    for (const [i, name] of NAMES.entries()) expect(r.out).toContain(`ok ${i + 1} ${name}`);
    expect(r.out.some((l) => l.startsWith('not ok'))).toBe(false);
    expect(r.out.some((l) => /anon_teardown \[seeded random, seed 3\]/.test(l))).toBe(true);
    expect(r.out.at(-2)).toBe('# PASSED: 11 / 11 tests passed.');
    expect(r.out.at(-1)).toBe('# Totals: pass:11 fail:0 xfail:0 xpass:0 skip:0 error:0');
  });

  it('--impl shim: all 11 pass', async () => {
    const r = await run({ impl: 'shim' });
    expect(r.code).toBe(SELFTEST_EXIT_OK);
    expect(r.out).toContain('# PASSED: 11 / 11 tests passed.');
  });

  it('--impl legacy: the single-threaded ten pass, anon_teardown fails with R1, exit 1', async () => {
    const r = await run({ impl: 'legacy' });
    expect(r.code).toBe(SELFTEST_EXIT_FAIL);
    for (const [i, name] of NAMES.entries()) {
      if (name !== 'hmm.anon_teardown') expect(r.out).toContain(`ok ${i + 1} ${name}`);
    }
    expect(r.out).toContain('not ok 10 hmm.anon_teardown # legacy R1');
    expect(r.out.some((l) => l.startsWith('# legacy R1: the hmm_range valid flag'))).toBe(true);
    expect(r.out.some((l) => /replay: hmmsim explore dmirror-teardown-legacy/.test(l))).toBe(true);
    expect(r.out).toContain('# FAILED: 10 / 11 tests passed.');
  });

  it('--filter runs one test, by name or full name', async () => {
    for (const filter of ['anon_write', 'hmm.anon_write']) {
      const r = await run({ impl: 'legacy', filter });
      expect(r.code).toBe(SELFTEST_EXIT_OK);
      expect(r.out[1]).toBe('1..1');
      expect(r.out).toContain('# Starting 1 tests from 1 test case.');
      expect(r.out).toContain('ok 1 hmm.anon_write');
      expect(r.out.at(-2)).toBe('# PASSED: 1 / 1 tests passed.');
    }
  });

  it('the default seed comes from io.defaultSeed, else 1', async () => {
    const io = { ...sink(), defaultSeed: () => 77 };
    await runSelftestCommand({ args: [], options: { filter: 'open_close' } }, io);
    expect(io.out_).toContain('# anon_teardown seed: 77 (rerun with --seed 77)');
    const r = await run({ filter: 'open_close' });
    expect(r.out).toContain('# anon_teardown seed: 1 (rerun with --seed 1)');
    expect(r.out).toContain(
      "# dmirror on interval: a driver on mmu_interval_notifier (the kernel's design since v5.5)",
    );
  });

  it('bad usage exits 2 with a one-line message, printing no TAP', async () => {
    for (const [opts, args, msg] of [
      [{ impl: 'nouveau' }, [], /--impl nouveau: expected one of interval, legacy, shim/],
      [{ impl: true }, [], /--impl needs a value/],
      [{ impl: ['legacy', 'shim'] }, [], /more than once/],
      [{ filter: 'anon_read_write' }, [], /--filter anon_read_write: no such test/],
      [{ seed: -1 }, [], /invalid --seed -1: expected an integer/],
      [{ seed: 'x' }, [], /--seed x/],
      [{ frobnicate: 1 }, [], /unknown option --frobnicate/],
      [{}, ['legacy'], /unexpected argument 'legacy'/],
    ] as const) {
      const r = await run(opts as Record<string, unknown>, [...args]);
      expect(r.code).toBe(SELFTEST_EXIT_USAGE);
      expect(r.err).toMatch(msg);
      expect(r.err).toMatch(/^hmmsim selftest: [^\n]+ \(hmmsim selftest --help\)$/);
      expect(r.out).toEqual([]);
    }
  });

  it('registers with cac and passes the exit code to onExit', async () => {
    const io = sink();
    let exit = -1;
    const cli = cac('hmmsim');
    registerSelftestCommand(cli, {
      io,
      onExit: (c) => {
        exit = c;
      },
    });
    cli.parse(['node', 'hmmsim', 'selftest', '--impl', 'shim', '--filter', 'snapshot'], {
      run: false,
    });
    const returned = await cli.runMatchedCommand();
    expect(returned).toBe(SELFTEST_EXIT_OK);
    expect(exit).toBe(SELFTEST_EXIT_OK);
    expect(io.out_).toContain('ok 1 hmm2.snapshot');
    cli.parse(['node', 'hmmsim', 'selftest', '--impl', 'bogus'], { run: false });
    expect(await cli.runMatchedCommand()).toBe(SELFTEST_EXIT_USAGE);
    expect(exit).toBe(SELFTEST_EXIT_USAGE);
  });
});
