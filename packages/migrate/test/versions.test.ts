import { downRead, InvalidArgumentError, upRead } from '@hmmsim/kernel';
import {
  assertMachineInvariants,
  createFile,
  createMachine,
  createMm,
  findVma,
  InvalidationRecorder,
  MAP_FIXED,
  MAP_PRIVATE,
  type Machine,
  MMU_NOTIFY_MIGRATE,
  type MmStruct,
  type MmuNotifierHooks,
  type MmuNotifierRange,
  mmap,
  mmuNotifierSetHooks,
  mmuNotifyEventName,
  PROT_READ,
  PROT_WRITE,
  pteLookup,
  snapshotMm,
  type VmArea,
} from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  assertMigrateInvariants,
  createMigrateVma,
  createTestDevice,
  devicePrivatePteAt,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  MIGRATE_VMA_VERSIONS,
  type MigrateVma,
  type MigrateVmaSetupOptions,
  migratePfnToPage,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  type TestDevice,
} from '../src/index.ts';
import { MiB, mmapAnon, PAGE, read, write } from './helpers.ts';

const OWNER_A = { device: 'A' };
const OWNER_B = { device: 'B' };
const SYS = MIGRATE_VMA_SELECT_SYSTEM;
const DP = MIGRATE_VMA_SELECT_DEVICE_PRIVATE;

/** One collect invalidation as a listener saw it. */
interface Seen {
  event: string;
  owner: unknown;
  vma: VmArea | null;
}

/**
 * An mm with five pages: 0 on device A, 1 on device B, 2 a system page, 3 the zero page, 4 never
 * touched (pte_none); an InvalidationRecorder that also keeps each start's vma.
 */
async function world() {
  const machine = createMachine({ ramBytes: 16 * MiB, swapPages: 0, thp: 'never' });
  const mm = createMm(machine);
  const devA = createTestDevice(machine, { nrPages: 8, owner: OWNER_A });
  const devB = createTestDevice(machine, { nrPages: 8, owner: OWNER_B });
  const addr = await mmapAnon(mm, 5);
  for (let i = 0; i < 3; i++) await write(mm, addr + i * PAGE, new Uint8Array(PAGE).fill(i + 1));
  await read(mm, addr + 3 * PAGE, 1);
  expect(await devA.migrateToDevice(mm, addr, addr + PAGE)).toBe(1);
  expect(await devB.migrateToDevice(mm, addr + PAGE, addr + 2 * PAGE)).toBe(1);
  const rec = new InvalidationRecorder().attach(mm);
  const seen: Seen[] = [];
  rec.onStart = (range) => {
    seen.push({
      event: mmuNotifyEventName(range.event),
      owner: range.migratePgmapOwner,
      vma: range.vma,
    });
    return 0;
  };
  return { machine, mm, devA, devB, addr, rec, seen };
}

async function locked<T>(mm: MmStruct, fn: () => Promise<T>): Promise<T> {
  await downRead(mm.mmapSem);
  try {
    return await fn();
  } finally {
    upRead(mm.mmapSem);
  }
}

/** What each src slot holds: the device it belongs to, 'sys', 'empty' (MIGRATE only) or 'skip'. */
function kinds(args: MigrateVma, devs: Record<string, TestDevice>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.npages; i++) {
    const e = args.src![i]!;
    const page = migratePfnToPage(e);
    if (e === 0) out.push('skip');
    else if (page < 0) out.push(e === MIGRATE_PFN_MIGRATE ? 'empty' : `odd ${e}`);
    else out.push(Object.keys(devs).find((k) => devs[k]!.owns(page)) ?? 'sys');
  }
  return out;
}

/** Setup, record, then give everything back (no dst pages: pages + finalize restore). */
async function collect(
  w: Awaited<ReturnType<typeof world>>,
  fields: Partial<Pick<MigrateVma, 'srcOwner' | 'pgmapOwner' | 'flags'>>,
  opts?: MigrateVmaSetupOptions,
) {
  const args = {
    ...createMigrateVma(findVma(w.mm, w.addr)!, w.addr, w.addr + 5 * PAGE),
    ...fields,
  };
  w.rec.clear();
  w.seen.length = 0;
  return locked(w.mm, async () => {
    expect(await migrateVmaSetup(args, opts)).toBe(0);
    const got = { kinds: kinds(args, { devA: w.devA, devB: w.devB }), cpages: args.cpages };
    const first = w.seen[0];
    await migrateVmaPages(args);
    await migrateVmaFinalize(args);
    return { ...got, first, args };
  });
}

function checkWorld(w: { machine: Machine; devA: TestDevice; devB: TestDevice }): void {
  assertMachineInvariants(w.machine);
  assertMigrateInvariants(w.machine, { quiescent: true, freeLists: [w.devA, w.devB] });
}

describe('migrate_vma_setup selection per generation', () => {
  it.each<[string, MigrateVmaSetupOptions | undefined, Partial<MigrateVma>, string[]]>([
    ['2019 default', undefined, {}, ['devA', 'devB', 'sys', 'empty', 'empty']],
    ["'5.4' explicit", { version: '5.4' }, {}, ['devA', 'devB', 'sys', 'empty', 'empty']],
    [
      "'5.7' src_owner A",
      { version: '5.7' },
      { srcOwner: OWNER_A },
      ['devA', 'skip', 'skip', 'skip', 'empty'],
    ],
    [
      "'5.7' src_owner B",
      { version: '5.7' },
      { srcOwner: OWNER_B },
      ['skip', 'devB', 'skip', 'skip', 'empty'],
    ],
    ["'5.7' src_owner unset", { version: '5.7' }, {}, ['skip', 'skip', 'sys', 'empty', 'empty']],
    [
      "'5.9' SYSTEM, owner A",
      { version: '5.9' },
      { flags: SYS, pgmapOwner: OWNER_A },
      ['skip', 'skip', 'sys', 'empty', 'empty'],
    ],
    [
      "'5.9' SYSTEM, no owner",
      { version: '5.9' },
      { flags: SYS },
      ['skip', 'skip', 'sys', 'empty', 'empty'],
    ],
    [
      "'5.9' DEVICE_PRIVATE A",
      { version: '5.9' },
      { flags: DP, pgmapOwner: OWNER_A },
      ['devA', 'skip', 'skip', 'skip', 'empty'],
    ],
    [
      "'5.9' DEVICE_PRIVATE B",
      { version: '5.9' },
      { flags: DP, pgmapOwner: OWNER_B },
      ['skip', 'devB', 'skip', 'skip', 'empty'],
    ],
    [
      "'5.9' both, owner B",
      { version: '5.9' },
      { flags: SYS | DP, pgmapOwner: OWNER_B },
      ['skip', 'devB', 'sys', 'empty', 'empty'],
    ],
    [
      "'5.9' DEVICE_PRIVATE of a stranger",
      { version: '5.9' },
      { flags: DP, pgmapOwner: {} },
      ['skip', 'skip', 'skip', 'skip', 'empty'],
    ],
  ])('%s', async (_name, opts, fields, want) => {
    const w = await world();
    const got = await collect(w, fields, opts);
    expect(got.kinds).toEqual(want);
    expect(got.cpages).toBe(want.filter((k) => k !== 'skip').length);
    // Everything went back where it was.
    expect(devicePrivatePteAt(w.mm, w.addr)?.pfn).toSatisfy((p: number) => w.devA.owns(p));
    expect(devicePrivatePteAt(w.mm, w.addr + PAGE)?.pfn).toSatisfy((p: number) => w.devB.owns(p));
    expect((await read(w.mm, w.addr + 2 * PAGE, 1))[0]).toBe(3);
    checkWorld(w);
  });

  it('the collect invalidation: CLEAR/vma NULL/no owner before v5.9, MIGRATE/vma/pgmap owner in v5.9', async () => {
    const w = await world();
    const vma = findVma(w.mm, w.addr)!;
    expect((await collect(w, {})).first).toEqual({
      event: 'MMU_NOTIFY_CLEAR',
      owner: null,
      vma: null,
    });
    expect((await collect(w, { srcOwner: OWNER_A }, { version: '5.7' })).first).toEqual({
      event: 'MMU_NOTIFY_CLEAR',
      owner: null,
      vma: null,
    });
    const v59 = await collect(w, { flags: SYS, pgmapOwner: OWNER_A }, { version: '5.9' });
    expect(v59.first?.event).toBe('MMU_NOTIFY_MIGRATE');
    expect(v59.first?.owner).toBe(OWNER_A);
    expect(v59.first?.vma).toBe(vma);
    expect(w.rec.starts()[0]).toEqual({
      event: MMU_NOTIFY_MIGRATE,
      start: w.addr,
      end: w.addr + 5 * PAGE,
      blockable: true,
    });
    const noOwner = await collect(w, { flags: SYS }, { version: '5.9' });
    expect(noOwner.first).toEqual({ event: 'MMU_NOTIFY_MIGRATE', owner: null, vma });
    checkWorld(w);
  });

  it("'5.7' compares owners literally: an unset src_owner takes device pages of an owner-less pgmap", async () => {
    const machine = createMachine({ ramBytes: 16 * MiB, swapPages: 0, thp: 'never' });
    const mm = createMm(machine);
    const dev = createTestDevice(machine, { nrPages: 4 }); // owner null (v5.7 memremap_pages would refuse it)
    expect(dev.pgmap.owner).toBeNull();
    const addr = await mmapAnon(mm, 1);
    await write(mm, addr, new Uint8Array(PAGE).fill(9));
    expect(await dev.migrateToDevice(mm, addr, addr + PAGE)).toBe(1);
    const args = createMigrateVma(findVma(mm, addr)!, addr, addr + PAGE);
    await locked(mm, async () => {
      expect(await migrateVmaSetup(args, { version: '5.7' })).toBe(0);
      expect(kinds(args, { dev })).toEqual(['dev']);
      await migrateVmaPages(args);
      await migrateVmaFinalize(args);
    });
    assertMigrateInvariants(machine, { quiescent: true, freeLists: [dev] });
  });

  it("'5.9' populates holes only in anonymous vmas (pte_none and whole-table holes of a file mapping are skipped)", async () => {
    const machine = createMachine({ ramBytes: 16 * MiB, swapPages: 0, thp: 'never' });
    const mm = createMm(machine);
    const file = createFile(machine, { data: new Uint8Array(4 * PAGE).fill(0x33) });
    const addr = await mmap(mm, 0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
    const far = Math.floor(addr / 2 ** 30) * 2 ** 30 + 2 ** 30; // another PMD (and PUD) range
    const other = await mmap(
      mm,
      far,
      2 * PAGE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_FIXED,
      file,
      0,
    );
    expect(other).toBe(far);
    expect((await read(mm, addr, 1))[0]).toBe(0x33); // page 0 mapped: pages 1..3 are pte_none
    const run = async (start: number, opts: MigrateVmaSetupOptions, f: Partial<MigrateVma>) => {
      const args = { ...createMigrateVma(findVma(mm, start)!, start, start + 2 * PAGE), ...f };
      return locked(mm, async () => {
        expect(await migrateVmaSetup(args, opts)).toBe(0);
        const got = [kinds(args, {}), args.cpages] as const;
        await migrateVmaPages(args);
        await migrateVmaFinalize(args);
        return got;
      });
    };
    // pte_none in a PTE table that exists
    expect(await run(addr + 2 * PAGE, {}, {})).toEqual([['empty', 'empty'], 2]);
    expect(await run(addr + 2 * PAGE, { version: '5.7' }, {})).toEqual([['empty', 'empty'], 2]);
    expect(await run(addr + 2 * PAGE, { version: '5.9' }, { flags: SYS })).toEqual([
      ['skip', 'skip'],
      0,
    ]);
    // no page table at all (the walk's hole callback)
    expect(pteLookup(mm, other)).toBeLessThan(0);
    expect(pteLookup(mm, addr + 2 * PAGE)).toBeGreaterThanOrEqual(0);
    expect(await run(other, {}, {})).toEqual([['empty', 'empty'], 2]);
    expect(await run(other, { version: '5.9' }, { flags: SYS })).toEqual([['skip', 'skip'], 0]);
    assertMachineInvariants(machine);
  });

  it('lists the generations oldest first', () => {
    expect(MIGRATE_VMA_VERSIONS).toEqual(['5.4', '5.7', '5.9']);
    expect(MIGRATE_VMA_SELECT_SYSTEM).toBe(1);
    expect(MIGRATE_VMA_SELECT_DEVICE_PRIVATE).toBe(2);
  });
});

/** A mirror of one device that ignores the invalidations of its own migrations. */
class SkippingMirror implements MmuNotifierHooks {
  readonly handled: string[] = [];
  readonly skipped: string[] = [];
  constructor(
    readonly owner: unknown,
    readonly base: number,
  ) {}
  async invalidateRangeStart(range: MmuNotifierRange): Promise<number> {
    const line = `${mmuNotifyEventName(range.event).slice(11)} +${(range.start - this.base) / PAGE}`;
    if (range.event === MMU_NOTIFY_MIGRATE && range.migratePgmapOwner === this.owner) {
      this.skipped.push(line);
    } else this.handled.push(line);
    return 0;
  }
  async invalidateRangeEnd(): Promise<void> {}
  async release(): Promise<void> {}
}

describe('a v5.9 migration tells the migrating device its own invalidation', () => {
  async function roundTrip(version: '5.4' | '5.9') {
    const machine = createMachine({ ramBytes: 16 * MiB, swapPages: 0, thp: 'never' });
    const mm = createMm(machine);
    const dev = createTestDevice(machine, { nrPages: 8, owner: OWNER_A });
    const addr = await mmapAnon(mm, 3); // two written pages and one hole
    await write(mm, addr, new Uint8Array(2 * PAGE).fill(0x5a));
    const mirror = new SkippingMirror(OWNER_A, addr);
    mmuNotifierSetHooks(mm, mirror);
    const vma = findVma(mm, addr)!;
    const v59 = version === '5.9';
    const toDev = {
      ...createMigrateVma(vma, addr, addr + 3 * PAGE),
      ...(v59 ? { flags: SYS, pgmapOwner: OWNER_A } : {}),
    };
    const n = await locked(mm, () => dev.migrateChunk(toDev, 'to-device', { version }));
    expect(n).toBe(3);
    expect(devicePrivatePteAt(mm, addr + 2 * PAGE)?.pfn).toSatisfy((p: number) => dev.owns(p));
    const afterToDevice = { handled: [...mirror.handled], skipped: [...mirror.skipped] };
    const toSys = {
      ...createMigrateVma(vma, addr, addr + 3 * PAGE),
      ...(v59 ? { flags: DP, pgmapOwner: OWNER_A } : {}),
    };
    expect(await locked(mm, () => dev.migrateChunk(toSys, 'to-system', { version }))).toBe(3);
    const back = await read(mm, addr, 3 * PAGE);
    expect(back.subarray(0, 2 * PAGE).every((b) => b === 0x5a)).toBe(true);
    expect(back.subarray(2 * PAGE).every((b) => b === 0)).toBe(true);
    assertMigrateInvariants(machine, { quiescent: true, freeLists: [dev] });
    return { afterToDevice, mirror };
  }

  it('v5.9: the collect invalidations are MIGRATE with the owner and skipped; the populate CLEAR is not', async () => {
    const { afterToDevice, mirror } = await roundTrip('5.9');
    expect(afterToDevice).toEqual({ skipped: ['MIGRATE +0'], handled: ['CLEAR +2'] });
    expect(mirror.skipped).toEqual(['MIGRATE +0', 'MIGRATE +0']);
    expect(mirror.handled).toEqual(['CLEAR +2']);
  });

  it('2019: the same migration fires CLEAR without an owner, nothing can be skipped', async () => {
    const { afterToDevice, mirror } = await roundTrip('5.4');
    expect(afterToDevice).toEqual({ skipped: [], handled: ['CLEAR +0', 'CLEAR +2'] });
    expect(mirror.skipped).toEqual([]);
    expect(mirror.handled).toEqual(['CLEAR +0', 'CLEAR +2', 'CLEAR +0']);
  });
});

describe('owner/flags misuse throws InvalidArgumentError and changes nothing', () => {
  it.each<[string, MigrateVmaSetupOptions | undefined, Partial<MigrateVma>, RegExp]>([
    [
      '2019 with pgmapOwner',
      undefined,
      { pgmapOwner: OWNER_A },
      /v5\.4.*no owner fields before v5\.7/,
    ],
    ['2019 with flags', { version: '5.4' }, { flags: SYS }, /v5\.4.*no owner fields before v5\.7/],
    ['2019 with srcOwner', undefined, { srcOwner: OWNER_A }, /v5\.4.*version: '5\.7'/],
    ["'5.7' with flags", { version: '5.7' }, { flags: SYS }, /v5\.7.*only src_owner/],
    ["'5.7' with pgmapOwner", { version: '5.7' }, { pgmapOwner: OWNER_A }, /v5\.7.*only src_owner/],
    [
      "'5.9' with srcOwner",
      { version: '5.9' },
      { srcOwner: OWNER_A, flags: DP },
      /renamed src_owner to pgmap_owner/,
    ],
    ["'5.9' flags 0", { version: '5.9' }, { pgmapOwner: OWNER_A }, /flags 0 selects no page/],
    ["'5.9' unknown bit", { version: '5.9' }, { flags: SYS | 4 }, /unknown bits 0x4/],
    [
      "'5.9' high bit",
      { version: '5.9' },
      { flags: DP + 2 ** 40, pgmapOwner: OWNER_A },
      /unknown bits 0x10000000000/,
    ],
    [
      "'5.9' negative flags",
      { version: '5.9' },
      { flags: -1 },
      /expected MIGRATE_VMA_SELECT_\* bits/,
    ],
    [
      "'5.9' fractional flags",
      { version: '5.9' },
      { flags: 1.5 },
      /expected MIGRATE_VMA_SELECT_\* bits/,
    ],
    [
      "'5.9' device-private without owner",
      { version: '5.9' },
      { flags: DP },
      /null pgmapOwner selects no device page/,
    ],
    ["'5.9' both without owner", { version: '5.9' }, { flags: SYS | DP }, /null pgmapOwner/],
    [
      'unknown version',
      { version: '5.8' as never },
      {},
      /version '5\.8'; expected '5\.4', '5\.7' or '5\.9'/,
    ],
  ])('%s', async (_name, opts, fields, message) => {
    const w = await world();
    const vma = findVma(w.mm, w.addr)!;
    const args = { ...createMigrateVma(vma, w.addr + 10, w.addr + 5 * PAGE - 10), ...fields };
    const before = {
      mm: snapshotMm(w.mm),
      refcount: [...w.machine.phys.refcount],
      flags: [...w.machine.phys.flags],
    };
    w.rec.clear();
    const err = await locked(w.mm, () => migrateVmaSetup(args, opts)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/^migrate_vma_setup/);
    expect((err as Error).message).toMatch(message);
    expect([args.start, args.end, args.npages, args.cpages]).toEqual([
      w.addr + 10,
      w.addr + 5 * PAGE - 10,
      0,
      0,
    ]);
    expect(args.src!.every((e) => e === 0)).toBe(true);
    expect(w.rec.log).toEqual([]);
    expect({
      mm: snapshotMm(w.mm),
      refcount: [...w.machine.phys.refcount],
      flags: [...w.machine.phys.flags],
    }).toEqual(before);
    checkWorld(w);
  });

  it('the -EINVAL argument checks still apply in every generation', async () => {
    const w = await world();
    for (const [opts, fields] of [
      [{}, {}],
      [{ version: '5.7' }, { srcOwner: OWNER_A }],
      [{ version: '5.9' }, { flags: SYS, pgmapOwner: OWNER_A }],
    ] as const) {
      const args = { ...createMigrateVma(null, w.addr, w.addr + PAGE), ...fields };
      expect(await locked(w.mm, () => migrateVmaSetup(args, opts))).toBe(-22);
    }
    checkWorld(w);
  });
});
