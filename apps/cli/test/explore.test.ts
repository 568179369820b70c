import { defineScenario, lostUpdateMutex } from '@hmmsim/explorer';
import type { Scheduler } from '@hmmsim/kernel';
import { cac } from 'cac';
import { describe, expect, it } from 'vitest';
import {
  EXIT_OK,
  EXIT_USAGE,
  EXIT_VIOLATION,
  type ExploreCommandInput,
  type ExploreIo,
  rawOptionValue,
  registerExploreCommand,
  runExploreCommand,
} from '../src/commands/explore.ts';

/** An in-memory sink: stdout and stderr lines, written files, a fake clock. */
function sink(): ExploreIo & { out_: string[]; err_: string[]; files: Map<string, string> } {
  const out_: string[] = [];
  const err_: string[] = [];
  const files = new Map<string, string>();
  let t = 0;
  return {
    out_,
    err_,
    files,
    out: (s) => void out_.push(s),
    err: (s) => void err_.push(s),
    writeFile: (p, s) => void files.set(p, s),
    now: () => (t += 2.5),
  };
}

/** Run the pure command with a scenario name (or none) and options. */
async function run(args: string[], options: Record<string, unknown> = {}) {
  const io = sink();
  const input: ExploreCommandInput = { args, options: { '--': [], ...options } };
  const code = await runExploreCommand(input, io);
  return { code, out: io.out_.join('\n'), err: io.err_.join('\n'), files: io.files };
}

/** Run through a real cac instance, as `hmmsim explore ...argv`. */
async function runCli(argv: string[]) {
  const io = sink();
  let exit = -1;
  const cli = cac('hmmsim');
  registerExploreCommand(cli, {
    io,
    onExit: (c) => {
      exit = c;
    },
  });
  cli.parse(['node', 'hmmsim', 'explore', ...argv], { run: false });
  const returned = await cli.runMatchedCommand();
  expect(returned).toBe(exit);
  return { code: exit, out: io.out_.join('\n'), err: io.err_.join('\n') };
}

describe('hmmsim explore', () => {
  it('--list prints every registered scenario with its package', async () => {
    const r = await run([], { list: true });
    expect(r.code).toBe(EXIT_OK);
    for (const name of ['lost-update', 'lost-update-mutex', 'abba-deadlock', 'wait-timeout']) {
      expect(r.out).toMatch(new RegExp(`^${name}\\s+@hmmsim/explorer\\s`, 'm'));
    }
  });

  it('finds the lost update: exit 1, the minimal schedule, the trace and the diagram', async () => {
    const r = await run(['lost-update'], { bound: 1 });
    expect(r.code).toBe(EXIT_VIOLATION);
    expect(r.out).toContain('explore lost-update: strategy dfs, preemption bound 1');
    expect(r.out).toMatch(/\d+ schedules, \d+ steps in 2\.5 ms; stopped at the first violation/);
    expect(r.out).toContain('VIOLATION (final-check): lost update: x is 1 after two increments');
    expect(r.out).toContain("minimal schedule:       '1.1.2' (1 preemption, 7 steps)");
    expect(r.out).toContain("replay: hmmsim explore lost-update --replay '1.1.2'");
    expect(r.out).toMatch(/step\s+T1 inc0\s+T2 inc1/);
    expect(r.out).toContain('>> preempted -> T2');
    expect(r.out).toContain('```mermaid\nsequenceDiagram');
  });

  it('exits 0 when nothing is found', async () => {
    const r = await run(['lost-update-mutex'], { bound: 'inf' });
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('preemption bound none, partial-order reduction');
    expect(r.out).toContain('verified over all interleavings (one schedule of each class');
    const all = await run(['lost-update-mutex'], { bound: 'inf', reduction: 'none' });
    expect(all.out).toContain('verified over all interleavings (every schedule run)');
    const bounded = await run(['lost-update-mutex'], { bound: 1 });
    expect(bounded.out).toContain('clean up to 1 preemption (every schedule with at most 1 run)');
    expect(bounded.out).not.toContain('verified over all');
    expect(r.out).toMatch(/no violation$/);
  });

  it('takes --reduction, and refuses it where it cannot apply', async () => {
    const bad = await run(['lost-update-mutex'], { reduction: 'fast' });
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.err).toContain('--reduction fast: expected one of auto, dpor, none');
    const bounded = await run(['lost-update-mutex'], { reduction: 'dpor' });
    expect(bounded.code).toBe(EXIT_USAGE);
    expect(bounded.err).toContain('add --bound inf');
    const { accesses: _, ...undeclared } = lostUpdateMutex;
    const io = sink();
    const code = await runExploreCommand(
      { args: ['undeclared'], options: { bound: 'inf', reduction: 'dpor' } },
      io,
      [{ package: 'test', scenarios: [{ ...undeclared, name: 'undeclared' }] }],
    );
    expect(code).toBe(EXIT_USAGE);
    expect(io.err_.join('\n')).toContain("does not declare accesses: 'reported'");
  });

  it('says how a search without a violation ended', async () => {
    const budget = await run(['independent-steps-3'], { bound: 'inf', runs: 5, reduction: 'none' });
    expect(budget.code).toBe(EXIT_OK);
    expect(budget.out).toContain('5 schedules');
    expect(budget.out).toContain(
      'not verified: the schedule budget ran out before the space was exhausted',
    );
    const sampled = await run(['lost-update-mutex'], { strategy: 'random', runs: 10 });
    expect(sampled.out).toContain('sampled, not exhaustive');
  });

  it('reports a non-deterministic scenario as a scenario error (exit 1)', async () => {
    let n = 0;
    const flaky = defineScenario({
      name: 'flaky',
      description: 'not deterministic',
      setup: () => ({ n: n++ }),
      tasks: ['a', 'b'].map((name) => ({
        name,
        run: (s: { n: number }, sched: Scheduler) =>
          sched.point({ kind: 'flaky', label: `${name} ${s.n}` }),
      })),
    });
    const io = sink();
    const code = await runExploreCommand({ args: ['flaky'], options: {} }, io, [
      { package: 'test', scenarios: [flaky] },
    ]);
    expect(code).toBe(EXIT_VIOLATION);
    const out = io.out_.join('\n');
    expect(out).toContain("VIOLATION (nondeterminism): scenario 'flaky' is not deterministic");
    expect(out).toContain('diverging schedule:');
    expect(out).not.toContain('minimal schedule');
  });

  it('reports the AB/BA deadlock', async () => {
    const r = await run(['abba-deadlock']);
    expect(r.code).toBe(EXIT_VIOLATION);
    expect(r.out).toContain('VIOLATION (deadlock): deadlock: all tasks blocked');
  });

  it('random and pct print their seeds', async () => {
    const r = await run(['lost-update'], { strategy: 'random', seed: 5, runs: 50 });
    expect(r.code).toBe(EXIT_VIOLATION);
    expect(r.out).toContain('strategy random, seed 5, 50 runs');
    expect(r.out).toMatch(/run seed \d+: --seed \d+ --runs 1 finds it again/);
    const p = await run(['lost-update'], { strategy: 'pct', bound: 2, seed: 9 });
    expect(p.code).toBe(EXIT_VIOLATION);
    expect(p.out).toContain('strategy pct, depth 2, seed 9, 1000 runs');
    const w = await run(['wait-timeout'], { strategy: 'pct', runs: 20 });
    expect(w.code).toBe(EXIT_OK);
  });

  it('--replay reruns one schedule and --mermaid writes the diagram', async () => {
    const r = await run(['lost-update'], { replay: '1.1.2', mermaid: 'out.mmd' });
    expect(r.code).toBe(EXIT_VIOLATION);
    expect(r.out).toContain("replay lost-update '1.1.2': 7 steps, 1 preemption(s), 5 decisions");
    expect(r.out).toContain('VIOLATION (final-check)');
    expect(r.out).toContain('mermaid sequence diagram written to out.mmd');
    expect(r.files.get('out.mmd')).toMatch(/^sequenceDiagram\n/);
    const ok = await run(['lost-update'], { replay: '' });
    expect(ok.code).toBe(EXIT_OK);
    expect(ok.out).toContain('no violation');
  });

  it('bad usage exits 2 with a one-line message', async () => {
    const cases: [string[], Record<string, unknown>, RegExp][] = [
      [[], {}, /missing scenario name/],
      [['no-such'], {}, /unknown scenario 'no-such'; run 'hmmsim explore --list'/],
      [['lost-update', 'extra'], {}, /at most one scenario name/],
      [['lost-update'], { strategy: 'bfs' }, /--strategy bfs: expected one of dfs, random, pct/],
      [
        ['lost-update'],
        { bound: -1 },
        /invalid --bound -1: expected an integer in \[0, 1000\] or 'inf'/,
      ],
      [['lost-update'], { bound: 'abc' }, /--bound abc/],
      [['lost-update'], { bound: true }, /--bound needs a value/],
      [['lost-update'], { bound: [1, 2] }, /--bound was given more than once/],
      [['lost-update'], { runs: 0 }, /--runs 0/],
      [['lost-update'], { strategy: 'pct', bound: 0 }, /--bound 0: expected an integer in \[1/],
      [['lost-update'], { strategy: 'random', bound: 1 }, /random has none/],
      [['lost-update'], { seed: 3 }, /--seed applies to --strategy random and pct/],
      [['lost-update'], { seed: -3, strategy: 'random' }, /--seed -3/],
      [['lost-update'], { replay: '1.1.2', strategy: 'dfs' }, /--replay runs one given schedule/],
      [['lost-update'], { replay: '1.x' }, /bad token 'x'/],
      [['lost-update'], { replay: '1.3' }, /asks for task 3 at decision 2/],
      [['lost-update'], { fooBar: 1 }, /unknown option --foo-bar/],
      [['lost-update'], { list: true }, /--list takes no scenario/],
      [[], { list: 'x' }, /--list takes no value/],
    ];
    for (const [args, options, message] of cases) {
      const r = await run(args, options);
      expect(r.code, JSON.stringify({ args, options })).toBe(EXIT_USAGE);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/^hmmsim explore: [^\n]+ \(hmmsim explore --help\)$/);
      expect(r.out).toBe('');
    }
  });

  it('an unwritable --mermaid file is a usage error', async () => {
    const io = sink();
    io.writeFile = () => {
      throw new Error('EACCES');
    };
    const code = await runExploreCommand(
      { args: ['lost-update'], options: { replay: '1.1.2', mermaid: '/x.mmd' } },
      io,
    );
    expect(code).toBe(EXIT_USAGE);
    expect(io.err_.join('\n')).toMatch(/cannot write --mermaid \/x.mmd: Error: EACCES/);
  });
});

describe('hmmsim explore through cac', () => {
  it('parses the options and returns the exit code', async () => {
    const r = await runCli(['lost-update', '--bound', '1']);
    expect(r.code).toBe(EXIT_VIOLATION);
    expect(r.out).toContain("minimal schedule:       '1.1.2'");
    expect((await runCli(['--list'])).code).toBe(EXIT_OK);
  });

  it('takes schedule strings verbatim (no number coercion of 1.10)', async () => {
    const r = await runCli(['lost-update', '--replay', '1.10']);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain("schedule '1.10' asks for task 10 at decision 2");
    const eq = await runCli(['lost-update', '--replay=1.1.2']);
    expect(eq.code).toBe(EXIT_VIOLATION);
    const empty = await runCli(['lost-update', '--replay', '']);
    expect(empty.code).toBe(EXIT_OK);
  });

  it('reports cac-level usage problems itself (exit 2)', async () => {
    const r = await runCli(['lost-update', '--bound']);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toMatch(/--bound needs a value/);
    const u = await runCli(['lost-update', '--nope']);
    expect(u.code).toBe(EXIT_USAGE);
    expect(u.err).toMatch(/unknown option --nope/);
  });

  it('finds raw option values in argv', () => {
    expect(rawOptionValue(['x', '--replay', '1.10'], 'replay')).toBe('1.10');
    expect(rawOptionValue(['--replay=2.t'], 'replay')).toBe('2.t');
    expect(rawOptionValue(['--runs', '3'], 'replay')).toBeUndefined();
  });
});
