/**
 * The CI budget of the fuzzer: a short campaign per implementation, each printing its figures,
 * seed and replay command. interval and shim must be clean; on legacy the fuzzer must find race
 * R1 — a device mapping left on a page the process no longer has — and its shrunk counterexample
 * must replay. HMMSIM_FUZZ_OPS raises the interval/shim budget (e.g. a longer CI-only run).
 */
import { describe, expect, it } from 'vitest';
import { type CampaignResult, formatReplay, runCampaign } from '../src/campaign.ts';
import { coverageLines, failureLines, summaryLine } from '../src/report.ts';

const OPS = Number(process.env['HMMSIM_FUZZ_OPS'] ?? 200);
const SEED = 1;
/** A legacy campaign seed that finds R1 early (any seed does, given enough operations). */
const LEGACY_SEED = 8;
const LEGACY_MAX_OPS = 3000;

/** Print a campaign's report, with the command that reruns it. */
function show(r: CampaignResult, ops: number): void {
  const rerun = `pnpm fuzz --impl ${r.impl} --ops ${ops} --seed ${r.seed}`;
  console.log(
    [summaryLine(r), ...coverageLines(r), ...failureLines(r), `rerun: ${rerun}`].join('\n'),
  );
}

describe('pnpm fuzz, CI budget', () => {
  for (const impl of ['interval', 'shim'] as const) {
    it(`${impl}: ${OPS} operations, no violation`, async () => {
      const r = await runCampaign({ impl, ops: OPS, seed: SEED });
      show(r, OPS);
      expect(r.failure?.problems).toBeUndefined();
      expect(r.stats.ops).toBeGreaterThanOrEqual(OPS);
      expect(r.stats.concurrentSteps).toBeGreaterThan(0);
      expect(r.stats.preemptions).toBeGreaterThan(0);
      expect(r.stats.results.get('dev-read 0')).toBeGreaterThan(0);
      expect(r.stats.locations.ram).toBeGreaterThan(0);
    });
  }

  it('legacy: finds race R1 (a stale device mapping), shrinks it, and the replay reproduces it', async () => {
    const r = await runCampaign({
      impl: 'legacy',
      ops: LEGACY_MAX_OPS,
      seed: LEGACY_SEED,
      shrinkMs: 3000,
    });
    show(r, LEGACY_MAX_OPS);
    const f = r.failure;
    expect(f).toBeDefined();
    expect(f!.problems.join('\n')).toMatch(
      /stale device mapping: dmirror\d of P\d+ maps 0x[0-9a-f]+|READ .* returned 0 with bytes .* the process never had there/,
    );
    expect(f!.narration.length).toBeGreaterThan(0);
    const again = await runCampaign({ impl: 'legacy', ops: 1, seed: 0, replay: f!.replay });
    console.log(`replayed: pnpm fuzz --impl legacy --replay '${formatReplay(f!.replay)}'`);
    expect(again.failure?.problems).toEqual(f!.problems);
  });
});
