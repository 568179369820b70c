/**
 * Misuse in the wrong state and numbers a C caller could not pass, each of which used to crash
 * deep inside, corrupt the device or pass silently: a close() while a command runs (the command
 * then died inside hmm_range_register / read_begin on a torn-down mirror), a page freed twice (a
 * cycle in the free list), a NaN page number stored in the device table, a non-file given to the
 * ioctl, a selftest run with NaN iterations (passed without running anything). And the checks
 * that see such states (checkDmirrorDevice, checkDmirrorFile), each shown failing.
 */
import { defineScenario, explore } from '@hmmsim/explorer';
import { InvalidArgumentError, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import {
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  mmap,
  mmPutPage,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { unlockPage } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  checkDmirrorDevice,
  checkDmirrorFile,
  chunkPageData,
  DmirrorConfigError,
  DmirrorDevice,
  type DmirrorFile,
  type DmirrorOpenOptions,
  DmirrorPageTable,
  dmirrorDeviceInit,
  dmirrorDevmemAllocPage,
  dmirrorDevmemFree,
  dmirrorIoctl,
  dmirrorOpen,
  dmirrorPageToChunk,
  dmirrorRelease,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_WRITE,
  runSelftests,
} from '../src/index.ts';
import { anon, cmd, IMPLS, open, words, world, write } from './helpers.ts';

interface CloseRace {
  file: DmirrorFile;
  cmd: { addr: number; ptr: number; npages: number; cpages: number; faults: number };
  ret?: number;
  closeRet?: number;
}

function closeDuringCommand(impl: (typeof IMPLS)[number], request: number) {
  return defineScenario<CloseRace>({
    name: `dmirror-close-during-command-${impl}`,
    description: `CPU0 closes the file while CPU1's command runs on it (${impl})`,
    expect: 'pass',
    async setup(sched) {
      const machine = createMachine({ ramBytes: 8 * 2 ** 20, sched });
      const mm = createMm(machine);
      const rw = PROT_READ | PROT_WRITE;
      const a = await mmap(mm, 0, 2 * PAGE_SIZE, rw, MAP_PRIVATE | MAP_ANONYMOUS);
      const b = await mmap(mm, 0, 2 * PAGE_SIZE, rw, MAP_PRIVATE | MAP_ANONYMOUS);
      await cpuWrite(mm, a, new Uint8Array(2 * PAGE_SIZE).fill(7));
      await cpuWrite(mm, b, new Uint8Array(2 * PAGE_SIZE).fill(9));
      const file = await dmirrorOpen(new DmirrorDevice(machine, 0), mm, { impl });
      if (typeof file === 'number') throw new Error(`open ${file}`);
      return { file, cmd: { addr: a, ptr: b, npages: 2, cpages: 0, faults: 0 } };
    },
    tasks: [
      {
        name: 'cpu0 close',
        async run(s) {
          s.closeRet = await dmirrorRelease(s.file);
        },
      },
      {
        name: 'cpu1 command',
        async run(s) {
          s.ret = await dmirrorIoctl(s.file, request, s.cmd);
        },
      },
    ],
    invariant(s) {
      const errs = checkDmirrorFile(s.file, { quiescent: false });
      if (errs.length > 0) throw new KernelBugError(errs.join('; '));
    },
    finalCheck(s) {
      const errs = checkDmirrorFile(s.file);
      if (errs.length > 0) throw new KernelBugError(errs.join('; '));
      if (s.closeRet !== 0) throw new KernelBugError(`close returned ${s.closeRet}`);
      if (!s.file.mirror.released) throw new KernelBugError('the mirror was never released');
      if (s.ret !== 0 && s.ret !== -22) throw new KernelBugError(`the command returned ${s.ret}`);
    },
  });
}

describe('close() while a command runs: the release waits for the command (fget/fput)', () => {
  for (const impl of IMPLS) {
    for (const [name, req] of [
      ['READ', HMM_DMIRROR_READ],
      ['WRITE', HMM_DMIRROR_WRITE],
    ] as const) {
      it(`${impl} ${name}: every schedule with at most 2 preemptions is clean`, async () => {
        const r = await explore(closeDuringCommand(impl, req), { bound: 2 });
        expect(r.violation?.message).toBeUndefined();
        expect(r.exhausted).toBe(true);
      });
    }
  }
});

describe('numbers and kinds a C caller could not pass', () => {
  it('the ioctl names the field, the request, the file and the caller', async () => {
    const w = world();
    const f = await open(w, 'interval');
    const ptr = await anon(w.mm, 1);
    const c = cmd(ptr, ptr, 1);
    await expect(dmirrorIoctl(f, Number.NaN, c)).rejects.toThrow(
      /dmirror_fops_unlocked_ioctl: cmd is NaN; expected an ioctl number/,
    );
    await expect(dmirrorIoctl(f, HMM_DMIRROR_READ, { ...c, addr: Number.NaN })).rejects.toThrow(
      /dmirror_fops_unlocked_ioctl: cmd\.addr is NaN; expected a __u64/,
    );
    await expect(dmirrorIoctl({} as DmirrorFile, HMM_DMIRROR_READ, c)).rejects.toThrow(
      /file is not a DmirrorFile/,
    );
    await expect(dmirrorRelease({} as DmirrorFile)).rejects.toThrow(InvalidArgumentError);
    expect(await dmirrorRelease(f)).toBe(0);
  });

  it('the device table refuses page numbers that are not, and a bad minor makes no device', () => {
    const pt = new DmirrorPageTable();
    expect(() => pt.store(Number.NaN, 5, 3)).toThrow(/xa_store: index is NaN/);
    expect(() => pt.store(1, 5, 4)).toThrow(/xa_store: tag is 4/);
    expect(() => pt.load(0.5)).toThrow(InvalidArgumentError);
    expect(() => pt.eraseRange(0, Number.POSITIVE_INFINITY)).toThrow(InvalidArgumentError);
    expect(pt.size).toBe(0);
    const w = world();
    expect(() => dmirrorDeviceInit(w.machine, Number.NaN)).toThrow(/dmirror_device_init: minor/);
    expect(() => dmirrorDeviceInit(w.machine, 4)).toThrow(InvalidArgumentError);
  });

  it('runSelftests checks its options before running anything', async () => {
    await expect(runSelftests({ teardownIterations: Number.NaN })).rejects.toThrow(
      /runSelftests: teardownIterations is NaN/,
    );
    await expect(runSelftests({ impl: 'native' as 'interval' })).rejects.toThrow(
      DmirrorConfigError,
    );
    await expect(runSelftests({ seed: -1, filter: 'open_close' })).rejects.toThrow(
      /runSelftests: seed is -1/,
    );
  });

  it('an unknown implementation name is a DmirrorConfigError at open, on every path', async () => {
    const w = world();
    for (const impl of ['bogus', '', 'INTERVAL', 'toString']) {
      await expect(
        dmirrorOpen(w.module.devices[0]!, w.mm, { impl: impl as 'interval' }),
      ).rejects.toThrow(DmirrorConfigError);
    }
    await expect(
      dmirrorOpen(w.module.devices[0]!, w.mm, null as unknown as DmirrorOpenOptions),
    ).rejects.toThrow(DmirrorConfigError);
    expect(w.mm.notifier).toBeNull();
  });
});

describe('double free and the checks that see a broken device', () => {
  it('page_free of a page already free is refused before anything changes', () => {
    const w = world();
    const d = w.module.devices[0]!;
    const dpage = dmirrorDevmemAllocPage(d);
    unlockPage(w.machine.phys, dpage);
    mmPutPage(w.machine, dpage); // idle again: the core calls page_free
    expect(d.cfree).toBe(1);
    const before = [d.freePages, d.calloc, d.cfree];
    expect(() => dmirrorDevmemFree(w.machine, dpage)).toThrow(
      /already on the free list \(double free\)/,
    );
    expect([d.freePages, d.calloc, d.cfree]).toEqual(before);
    expect(checkDmirrorDevice(d)).toEqual([]);
  });

  it('checkDmirrorDevice sees a cycle, a leaked page and a counter slip', () => {
    const w = world();
    const d = w.module.devices[0]!;
    expect(checkDmirrorDevice(d)).toEqual([]);
    const head = d.freePages;
    const chunk = dmirrorPageToChunk(w.machine, head)!;
    const next = chunkPageData(chunk, head);
    chunk.zoneDeviceData[head - chunk.firstPfn] = head; // the list loops
    expect(checkDmirrorDevice(d).join('\n')).toMatch(/loops back to pfn/);
    chunk.zoneDeviceData[head - chunk.firstPfn] = next;
    d.freePages = next; // head dropped from the list, still idle: a leak
    chunk.onFreeList[head - chunk.firstPfn] = 0;
    expect(checkDmirrorDevice(d).join('\n')).toMatch(
      /idle \(refcount 1\) but not on the free list/,
    );
    d.freePages = head;
    chunk.onFreeList[head - chunk.firstPfn] = 1;
    d.calloc = 3;
    expect(checkDmirrorDevice(d).join('\n')).toMatch(/calloc 3 - cfree 0 = 3/);
    d.calloc = 0;
    expect(checkDmirrorDevice(d)).toEqual([]);
  });

  it('checkDmirrorFile sees a released table with entries, a stale entry, a held file', async () => {
    const w = world();
    const ptr = await anon(w.mm, 2);
    const buf = await anon(w.mm, 2);
    await write(w.mm, ptr, words(2));
    const f = await open(w, 'interval');
    expect(await dmirrorIoctl(f, HMM_DMIRROR_READ, cmd(ptr, buf, 2))).toBe(0);
    expect(checkDmirrorFile(f)).toEqual([]);
    const vpn = ptr / PAGE_SIZE;
    const e = f.mirror.pt.load(vpn)!;
    f.mirror.pt.store(vpn, e.page + 1, e.tag); // an entry the CPU does not map there
    expect(checkDmirrorFile(f).join('\n')).toMatch(/stale entry at 0x/);
    f.mirror.pt.store(vpn, e.page, e.tag);
    f.users = 1;
    expect(checkDmirrorFile(f).join('\n')).toMatch(/1 command\(s\) still hold the file/);
    expect(checkDmirrorFile(f, { quiescent: false })).toEqual([]);
    f.users = 0;
    expect(await dmirrorRelease(f)).toBe(0);
    expect(checkDmirrorFile(f)).toEqual([]);
    f.mirror.pt.store(vpn, e.page, e.tag);
    expect(checkDmirrorFile(f).join('\n')).toMatch(/released, but its table holds 1 entries/);
  });
});
