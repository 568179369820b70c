import { describe, expect, it } from 'vitest';
import { dropKnownIssues, KNOWN_ISSUES, serializeKnownRaces } from '../src/known-issues.ts';
import type { OpSpec, StepSpec } from '../src/ops/op-spec.ts';
import { resolveStep } from '../src/ops/resolve.ts';
import { freshRun } from './helpers.ts';

const rng = { region: 0, page: 0, npages: 2 };
const spec = (...cpus: OpSpec[][]): StepSpec => ({ cpus, schedule: { strategy: 'pct', seed: 3 } });

describe('a drawn step resolves into a checkable one', () => {
  it('gives each process at most one mutator, moving a second one to another process', async () => {
    const { model } = await freshRun();
    const s = resolveStep(
      spec(
        [{ kind: 'munmap', proc: 0, ...rng }],
        [
          { kind: 'cpu-write', proc: 0, ...rng, byte: 0, len: 10, stamp: 1 },
          { kind: 'dev-read', proc: 0, ...rng, dev: 0 },
        ],
      ),
      model,
    );
    const ops = s.cpus.flat();
    expect(ops.map((o) => [o.spec.kind, o.pid])).toEqual([
      ['munmap', 1],
      ['cpu-write', 2],
      ['dev-read', 1],
    ]);
    expect(ops.filter((o) => o.mutator).map((o) => o.pid)).toEqual([1, 2]);
  });

  it('leaves an exiting process alone in its step, and never exits the last one', async () => {
    const { model } = await freshRun();
    const s = resolveStep(
      spec(
        [{ kind: 'exit', proc: 1, order: 'mm-first' }],
        [{ kind: 'dev-read', proc: 1, ...rng, dev: 1 }],
      ),
      model,
    );
    expect(s.cpus.flat().map((o) => o.spec.kind)).toEqual(['exit']);
    for (const pid of [2, 3]) model.procs.delete(pid);
    const last = resolveStep(spec([{ kind: 'exit', proc: 0, order: 'mm-first' }]), model);
    expect(last.opCount).toBe(0);
  });

  it('clips ranges to their region and CPU accesses to their range', async () => {
    const { model } = await freshRun();
    const s = resolveStep(
      spec([{ kind: 'cpu-read', proc: 0, region: 0, page: 6, npages: 8, byte: 5000, len: 99999 }]),
      model,
    );
    const op = s.cpus[0]![0]!;
    const r = model.procs.get(1)!.regions[0]!;
    expect(op.npages).toBe(2);
    expect(op.start + op.len).toBeLessThanOrEqual(r.start + r.npages * 4096);
    expect(op.start).toBe(op.addr + (5000 % 4096));
  });
});

describe('known issues keep their racing operations apart', () => {
  it("K1: a device's migration and its own READ of the process run on one CPU", async () => {
    const { model } = await freshRun();
    const s = resolveStep(
      spec(
        [{ kind: 'migrate-to-dev', proc: 0, ...rng, dev: 0 }],
        [{ kind: 'dev-read', proc: 0, ...rng, dev: 0 }],
      ),
      model,
    );
    const where = () => ({ loc: 'ram' as const, devWrite: false, pfn: -1, swapCache: false });
    expect(s.cpus).toHaveLength(2);
    expect(serializeKnownRaces(s.cpus, KNOWN_ISSUES, where)).toHaveLength(1);
    expect(serializeKnownRaces(s.cpus, [], where)).toHaveLength(2);
  });

  it('K2: reclaim does not race a munmap; unrelated operations still race', async () => {
    const { model } = await freshRun();
    const where = () => ({ loc: 'ram' as const, devWrite: false, pfn: -1, swapCache: false });
    const racing = resolveStep(
      spec([{ kind: 'reclaim', proc: 0, nr: 4 }], [{ kind: 'munmap', proc: 1, ...rng }]),
      model,
    );
    expect(serializeKnownRaces(racing.cpus, KNOWN_ISSUES, where)).toHaveLength(1);
    const fine = resolveStep(
      spec([{ kind: 'reclaim', proc: 0, nr: 4 }], [{ kind: 'dev-read', proc: 1, ...rng, dev: 1 }]),
      model,
    );
    expect(serializeKnownRaces(fine.cpus, KNOWN_ISSUES, where)).toHaveLength(2);
  });
});

describe('K3: a mirror never takes entries for a device page another mirror of the device owns', () => {
  it('leaves out a READ over such a page, keeps the rest of the step', async () => {
    const { model } = await freshRun();
    const s = resolveStep(
      spec(
        [{ kind: 'dev-read', proc: 0, ...rng, dev: 1 }],
        [{ kind: 'cpu-read', proc: 0, ...rng, byte: 0, len: 8 }],
      ),
      model,
    );
    const where = () => ({ loc: 'dev1' as const, devWrite: false, pfn: 70000, swapCache: false });
    const owned = { where, foreignOwned: () => true };
    const kept = dropKnownIssues(s.cpus, KNOWN_ISSUES, owned);
    expect(kept.flat().map((o) => o.spec.kind)).toEqual(['cpu-read']);
    const mine = { where, foreignOwned: () => false };
    expect(dropKnownIssues(s.cpus, KNOWN_ISSUES, mine).flat()).toHaveLength(2);
  });
});
