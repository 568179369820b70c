import { cac } from 'cac';
import { describe, expect, it } from 'vitest';
import {
  RACE_EXIT_OK,
  RACE_EXIT_USAGE,
  RACE_EXIT_VIOLATION,
  type RaceIo,
  registerRaceCommand,
  runRaceCommand,
  runRaceSummary,
} from '../src/commands/race.ts';

/** An in-memory sink. */
function sink(): RaceIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (s) => void out_.push(s), err: (s) => void err_.push(s) };
}

/** Run the pure command with options. */
async function run(options: Record<string, unknown>, args: string[] = []) {
  const io = sink();
  const code = await runRaceCommand({ args, options: { '--': [], ...options } }, io);
  return { code, out: io.out_.join('\n'), err: io.err_.join('\n') };
}

describe('hmmsim race', () => {
  it('--impl legacy: exit 1, schedules, the minimal trace and the freed page now owned by another process', async () => {
    const r = await run({ impl: 'legacy' });
    expect(r.code).toBe(RACE_EXIT_VIOLATION);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/== legacy/);
    expect(r.out).toMatch(/munmap\s+\d+ schedules\s+VIOLATION/);
    expect(r.out).toMatch(/total: \d+ schedules explored, 3 violations/);
    expect(r.out).toMatch(/munmap: minimal schedule '[\dx.]+' \(1 preemption, \d+ steps\)/);
    expect(r.out).toMatch(/replay: hmmsim explore hmm-race-munmap-legacy --replay '[\dx.]+'/);
    expect(r.out).toMatch(
      /freed page: pfn \d+ was freed by CPU0 and now belongs to mm\d+ \(another process\) at 0x20000000/,
    );
    expect(r.out).toMatch(/stale device entry: 0x10001000 -> pfn \d+/);
    expect(r.out).toMatch(/writable device entry: 0x10000000/);
    expect(r.out).toMatch(/driver\.hmm_range_valid true/); // the trace table
    expect(r.out).not.toMatch(/== shim/);
  });

  it('--impl shim and --impl interval: exit 0, verified over all interleavings by default', async () => {
    for (const impl of ['shim', 'interval']) {
      const r = await run({ impl });
      expect(r.code).toBe(RACE_EXIT_OK);
      expect(r.out).toMatch(
        /^hmmsim race: .*; every interleaving \(DFS with dynamic partial-order/,
      );
      expect(r.out).toMatch(new RegExp(`== ${impl}`));
      expect(r.out).toMatch(/total: \d+ schedules explored, 0 violations/);
      expect(r.out.match(/no violation: verified over all interleavings/g)?.length).toBe(3);
      expect(r.out).not.toMatch(/VIOLATION|preemption/);
    }
  });

  it('--bound N: clean up to N preemptions, never "verified"', async () => {
    const r = await run({ impl: 'shim', bound: 1 });
    expect(r.code).toBe(RACE_EXIT_OK);
    expect(r.out).toMatch(/every schedule with at most 1 preemption \(bounded DFS\)/);
    expect(r.out.match(/no violation: clean up to 1 preemption$/gm)?.length).toBe(3);
    expect(r.out).not.toMatch(/verified/);
    const inf = await run({ impl: 'interval', bound: 'inf' });
    expect(inf.out.match(/verified over all interleavings/g)?.length).toBe(3);
  });

  it('default (all): every implementation, exit 1 because legacy races', async () => {
    const r = await run({});
    expect(r.code).toBe(RACE_EXIT_VIOLATION);
    for (const impl of ['legacy', 'shim', 'interval'])
      expect(r.out).toMatch(new RegExp(`== ${impl}`));
  });

  it("accepts 'native' for interval and reports it as interval", async () => {
    const r = await run({ impl: 'native', bound: 1 });
    expect(r.code).toBe(RACE_EXIT_OK);
    expect(r.out).toMatch(/^== interval: v5\.5 driver on mmu_interval_notifier/m);
    expect(r.out).not.toMatch(/native/);
  });

  it('--bound 0: no preemption, no race found even for legacy', async () => {
    const r = await run({ impl: 'legacy', bound: 0 });
    expect(r.code).toBe(RACE_EXIT_OK);
    expect(r.out).toMatch(/at most 0 preemptions/);
  });

  it('bad usage exits 2 with a one-line message pointing at the usage', async () => {
    for (const [opts, args, msg] of [
      [{ impl: 'nouveau' }, [], /--impl nouveau: expected one of legacy, shim, interval, all/],
      [{ impl: true }, [], /--impl needs a value/],
      [{ impl: ['legacy', 'shim'] }, [], /more than once/],
      [{ bound: 9 }, [], /invalid --bound 9: expected an integer in \[0, 4\] or 'inf'/],
      [{ bound: -1 }, [], /invalid --bound -1: expected an integer in \[0, 4\] or 'inf'/],
      [{ bound: 'x' }, [], /invalid --bound x/],
      [{ x: true }, [], /unknown option -x /],
      [{ frobnicate: 1 }, [], /unknown option --frobnicate/],
      [{}, ['legacy'], /unexpected argument 'legacy'/],
    ] as const) {
      const r = await run(opts as Record<string, unknown>, [...args]);
      expect(r.code).toBe(RACE_EXIT_USAGE);
      expect(r.err).toMatch(msg);
      expect(r.err).toMatch(/^hmmsim race: [^\n]+ \(hmmsim race --help\)$/);
      expect(r.out).toBe('');
    }
  });

  it('registers with cac and passes the exit code to onExit', async () => {
    const io = sink();
    let exit = -1;
    const cli = cac('hmmsim');
    registerRaceCommand(cli, {
      io,
      onExit: (c) => {
        exit = c;
      },
    });
    cli.parse(['node', 'hmmsim', 'race', '--impl', 'interval'], { run: false });
    const returned = await cli.runMatchedCommand();
    expect(returned).toBe(RACE_EXIT_OK);
    expect(exit).toBe(RACE_EXIT_OK);
    expect(io.out_.join('\n')).toMatch(/== interval/);
  });

  it('runRaceSummary: legacy racy, shim and interval clean — all as expected', async () => {
    const lines: string[] = [];
    expect(await runRaceSummary((l) => lines.push(l))).toBe(true);
    expect(lines[1]).toMatch(
      /legacy\s+3\/3 scenarios violate the invariant .* expected racy: as expected/,
    );
    expect(lines[0]).toMatch(/over all interleavings/);
    expect(lines[2]).toMatch(
      /shim\s+0 violations in \d+ schedules \(verified over all interleavings\) — expected clean: as expected/,
    );
    expect(lines[3]).toMatch(
      /interval\s+0 violations in \d+ schedules \(verified over all interleavings\) — expected clean: as expected/,
    );
  });
});
