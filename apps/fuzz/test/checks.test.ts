import { dmirrorIoctl, HMM_DMIRROR_MIGRATE_TO_DEV } from '@hmmsim/dmirror';
import { PAGE_SIZE } from '@hmmsim/kernel';
import { createMm, MAP_ANONYMOUS, MAP_PRIVATE, mmap, PROT_READ, shrinkMm } from '@hmmsim/mm';
import { allocPages, PG_locked } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import { dataProblems, emptyLocationCounts } from '../src/checks/data-check.ts';
import { machineProblems } from '../src/checks/machine-checks.ts';
import { peekPage } from '../src/peek.ts';
import { endRun } from '../src/teardown.ts';
import { at, freshRun, step, thrown } from './helpers.ts';

/** P1's first region start (8 pages, read-write). */
function region0(run: Awaited<ReturnType<typeof freshRun>>): number {
  return run.model.procs.get(1)!.regions[0]!.start;
}

describe('the data check sees every byte, wherever it lives', () => {
  it('passes on a fresh machine and after writes', async () => {
    const run = await freshRun();
    await step(run, [{ kind: 'cpu-write', ...at(0, 0, 0, 2), byte: 100, len: 5000, stamp: 7 }]);
    expect(dataProblems(run.world, run.model, emptyLocationCounts())).toEqual([]);
  });

  it('fails when a byte in RAM differs from the model', async () => {
    const run = await freshRun();
    await step(run, [{ kind: 'cpu-write', ...at(0, 0, 0, 1), byte: 0, len: 64, stamp: 7 }]);
    const mm = run.world.procs.get(1)!.mm;
    const p = peekPage(mm, region0(run));
    expect(p.mapped && p.loc).toBe('ram');
    const pfn = p.mapped ? p.pfn : -1;
    const bytes = run.world.machine.phys.contents.get(pfn)!;
    bytes[3] = (bytes[3] as number) ^ 0xff;
    const problems = dataProblems(run.world, run.model, emptyLocationCounts());
    expect(problems.join('\n')).toMatch(/data: P1 0x[0-9a-f]+ \(ram\) holds .*; expected /);
  });

  it('fails when a swapped-out page differs (reads the swap slot)', async () => {
    const run = await freshRun();
    await step(run, [{ kind: 'cpu-write', ...at(0, 0, 0, 1), byte: 0, len: 64, stamp: 7 }]);
    const mm = run.world.procs.get(1)!.mm;
    expect(await shrinkMm(mm, 64)).toBeGreaterThan(0);
    const p = peekPage(mm, region0(run));
    expect(p.mapped && p.loc).toBe('swap');
    expect(dataProblems(run.world, run.model, emptyLocationCounts())).toEqual([]);
    const sd = run.world.machine.swap;
    const slot = sd.contents.find((c) => c !== undefined && c[0] !== 0)!;
    slot[0] = (slot[0] as number) ^ 0xff;
    expect(dataProblems(run.world, run.model, emptyLocationCounts()).join('\n')).toMatch(
      /\(swap\) holds/,
    );
  });

  it('fails when a page in device memory differs (reads its backing page)', async () => {
    const run = await freshRun();
    await step(run, [{ kind: 'cpu-write', ...at(0, 0, 0, 1), byte: 0, len: 64, stamp: 7 }]);
    const proc = run.world.procs.get(1)!;
    const addr = region0(run);
    const cmd = { addr, ptr: proc.ioBuf, npages: 1, cpages: 0, faults: 0 };
    expect(await dmirrorIoctl(proc.files[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd)).toBe(0);
    const p = peekPage(proc.mm, addr);
    expect(p.mapped && p.loc).toBe('dev0');
    expect(dataProblems(run.world, run.model, emptyLocationCounts())).toEqual([]);
    const backing = [...run.world.devices[0]!.backingMirror.keys()][0]!;
    const bytes = run.world.machine.phys.contents.get(backing)!;
    bytes[0] = (bytes[0] as number) ^ 0xff;
    expect(dataProblems(run.world, run.model, emptyLocationCounts()).join('\n')).toMatch(
      /\(dev0\) holds/,
    );
  });

  it('fails on a mapping or a protection the model does not have', async () => {
    const run = await freshRun();
    const mm = run.world.procs.get(2)!.mm;
    expect(await mmap(mm, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)).toBeGreaterThan(0);
    expect(dataProblems(run.world, run.model, emptyLocationCounts()).join('\n')).toMatch(
      /P2 maps 0x[0-9a-f]+, which the model says is unmapped/,
    );
  });
});

describe('the machine-wide checks can fail', () => {
  it('pass on a fresh machine', async () => {
    expect(machineProblems((await freshRun()).world)).toEqual([]);
  });

  it('see a device mapping of a page the CPU does not map there (a stale mapping)', async () => {
    const run = await freshRun();
    await step(run, [{ kind: 'dev-read', ...at(0, 0, 0, 1), dev: 0 }]);
    expect(machineProblems(run.world)).toEqual([]);
    const d = run.world.procs.get(1)!.files[0]!.privateData!;
    const vpn = region0(run) / PAGE_SIZE;
    const e = d.pt.load(vpn)!;
    d.pt.store(vpn + 100, e.page, 1);
    expect(machineProblems(run.world).join('\n')).toMatch(
      /stale device mapping: dmirror0 of P1 maps 0x[0-9a-f]+: the CPU maps nothing there/,
    );
  });

  it('see device pages allocated but mapped by nobody', async () => {
    const run = await freshRun();
    run.world.devices[1]!.calloc++;
    expect(machineProblems(run.world).join('\n')).toMatch(
      /hmm_dmirror1: 1 device pages allocated \(calloc - cfree\) but 0 mapped/,
    );
  });

  it('see a page left locked', async () => {
    const run = await freshRun();
    const pm = run.world.machine.phys;
    const pfn = allocPages(pm, 0);
    pm.flags[pfn] = (pm.flags[pfn] as number) | PG_locked;
    expect(machineProblems(run.world).join('\n')).toMatch(new RegExp(`pfn ${pfn} is left locked`));
  });

  it('see an mm no live process owns', async () => {
    const run = await freshRun();
    createMm(run.world.machine);
    expect(machineProblems(run.world).join('\n')).toMatch(/belongs to no live process/);
  });
});

describe('the end of a run leaves nothing behind', () => {
  it('passes after real work', async () => {
    const run = await freshRun();
    await step(
      run,
      [{ kind: 'cpu-write', ...at(0, 0, 0, 3), byte: 0, len: 9000, stamp: 1 }],
      [{ kind: 'migrate-to-dev', ...at(1, 1, 2, 4), dev: 1 }],
    );
    await step(run, [{ kind: 'reclaim', proc: 0, nr: 8 }]);
    expect(await thrown(() => endRun(run))).toBe('');
  });

  it('fails on a RAM page nobody freed', async () => {
    const run = await freshRun();
    allocPages(run.world.machine.phys, 0);
    expect(await thrown(() => endRun(run))).toMatch(/1 RAM page\(s\) still allocated/);
  });
});
