/**
 * The bad-input table of @hmmsim/dmirror: the ioctl's five data commands with each bad number
 * (NaN, ±Infinity, a fraction, -1, 2^53) in each field of the command block, and the preamble's
 * errnos, on a file of every build and hmm_range_fault() generation (interval 5.8/5.9,
 * legacy and shim 5.4/seed/5.5); open with options a build cannot use; commands after close and
 * a second close; the device table, bounce buffer, user copies, device memory and the selftest
 * runner with bad numbers. Each row must get the kernel's errno or a typed error naming the
 * function; after each row the devices, every file, the mm and the migration invariants hold and
 * a normal READ still returns the data.
 */
import {
  EBADF,
  EFAULT,
  EINVAL,
  ENOMEM,
  InvalidArgumentError,
  KernelBugError,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import {
  BAD_NUMBERS,
  type BadInputReport,
  type BadInputRow,
  formatBadInputReport,
  runBadInputTable,
} from '@hmmsim/kernel/testing';
import { assertMigrateInvariants } from '@hmmsim/migrate';
import { assertMachineInvariants, cpuRead, createMachine, createMm, mmput } from '@hmmsim/mm';
import { describe, expect, it } from 'vitest';
import {
  assertDmirrorInvariants,
  chunkPageData,
  copyFromUser,
  copyToUser,
  DMIRROR_HMM_MIRROR_HMM_VERSIONS,
  DMIRROR_INTERVAL_HMM_VERSIONS,
  DmirrorConfigError,
  type DmirrorDevice,
  type DmirrorFile,
  type DmirrorHmmVersion,
  type DmirrorImpl,
  type DmirrorOpenOptions,
  DmirrorPageTable,
  dmirrorBounceInit,
  dmirrorDeviceInit,
  dmirrorDevmemFree,
  dmirrorIoctl,
  dmirrorOpen,
  dmirrorPageToChunk,
  dmirrorRelease,
  freeListPush,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
  iowr,
  runSelftests,
  setChunkPageData,
} from '../src/index.ts';
import { anon, type World, words, write } from './helpers.ts';

const FN = 'dmirror_fops_unlocked_ioctl';
const COMMANDS = [
  ['READ', HMM_DMIRROR_READ],
  ['WRITE', HMM_DMIRROR_WRITE],
  ['MIGRATE_TO_DEV', HMM_DMIRROR_MIGRATE_TO_DEV],
  ['MIGRATE_TO_SYS', HMM_DMIRROR_MIGRATE_TO_SYS],
  ['SNAPSHOT', HMM_DMIRROR_SNAPSHOT],
] as const;
const FIELDS = ['addr', 'ptr', 'npages', 'cpages', 'faults'] as const;

/** Every build with every hmm_range_fault() generation it accepts. */
const CONFIGS: readonly { impl: DmirrorImpl; hmmVersion: DmirrorHmmVersion }[] = [
  ...DMIRROR_INTERVAL_HMM_VERSIONS.map((hmmVersion) => ({ impl: 'interval' as const, hmmVersion })),
  ...(['legacy', 'shim'] as const).flatMap((impl) =>
    DMIRROR_HMM_MIRROR_HMM_VERSIONS.map((hmmVersion) => ({ impl, hmmVersion })),
  ),
];

interface Fixture {
  readonly w: World;
  /** 4 written pages. */
  readonly ptr: number;
  /** A 4-page user buffer. */
  readonly buf: number;
  readonly files: { label: string; file: DmirrorFile }[];
}

function errno(fn: string, input: string, call: () => unknown, e: number): BadInputRow {
  return { fn, input, call, expect: { errno: e } };
}

function typed(
  fn: string,
  input: string,
  call: () => unknown,
  error: typeof InvalidArgumentError | typeof KernelBugError = InvalidArgumentError,
): BadInputRow {
  return { fn, input, call, expect: { error } };
}

function numbers(fn: string, arg: string, call: (v: number) => unknown): BadInputRow[] {
  return BAD_NUMBERS.map(([name, v]) => typed(fn, `${arg} = ${name}`, () => call(v)));
}

/**
 * The bad rows of one open file: with `allFields`, each bad number in each field of each data
 * command; otherwise (the prologue does not depend on the build) NaN npages and an infinite addr
 * per command. Then the errnos, which go through the build's binding.
 */
function fileRows(fx: Fixture, label: string, f: DmirrorFile, allFields: boolean): BadInputRow[] {
  const good = (): HmmDmirrorCmd => ({
    addr: fx.ptr,
    ptr: fx.buf,
    npages: 1,
    cpages: 7,
    faults: 7,
  });
  const rows: BadInputRow[] = [];
  for (const [name, req] of COMMANDS) {
    if (allFields) {
      for (const field of FIELDS) {
        rows.push(
          ...numbers(FN, `${name} cmd.${field} (${label})`, (v) =>
            dmirrorIoctl(f, req, { ...good(), [field]: v }),
          ),
        );
      }
    } else {
      rows.push(
        typed(FN, `${name} cmd.npages = NaN (${label})`, () =>
          dmirrorIoctl(f, req, { ...good(), npages: Number.NaN }),
        ),
        typed(FN, `${name} cmd.addr = Infinity (${label})`, () =>
          dmirrorIoctl(f, req, { ...good(), addr: Number.POSITIVE_INFINITY }),
        ),
      );
    }
  }
  const ioctl = (req: number, patch: Partial<HmmDmirrorCmd>) => () =>
    dmirrorIoctl(f, req, { ...good(), ...patch });
  if (allFields) {
    for (const [name, req] of COMMANDS) {
      rows.push(
        errno(FN, `${name} addr unaligned (${label})`, ioctl(req, { addr: fx.ptr + 8 }), -EINVAL),
        errno(FN, `${name} npages 0 (${label})`, ioctl(req, { npages: 0 }), -EINVAL),
        errno(
          FN,
          `${name} addr + npages wraps 2^64 (${label})`,
          ioctl(req, { addr: 2 * PAGE_SIZE, npages: 2 ** 52 - 1 }),
          -EINVAL,
        ),
        errno(FN, `${name} null block (${label})`, () => dmirrorIoctl(f, req, null), -EFAULT),
      );
    }
    rows.push(
      ...numbers(FN, `request (${label})`, (v) => dmirrorIoctl(f, v, good())),
      errno(
        FN,
        `unknown request (${label})`,
        () => dmirrorIoctl(f, iowr('H', 0x09, 40), good()),
        -EINVAL,
      ),
      typed(FN, `user not an mm (${label})`, () =>
        dmirrorIoctl(f, HMM_DMIRROR_READ, good(), {} as never),
      ),
      errno(
        FN,
        `READ larger than RAM (${label})`,
        ioctl(HMM_DMIRROR_READ, { npages: 2 ** 20 }),
        -ENOMEM,
      ),
    );
  }
  rows.push(
    errno(
      FN,
      `READ past the mm (${label})`,
      ioctl(HMM_DMIRROR_READ, { addr: 2 ** 48 - PAGE_SIZE, npages: 2 }),
      -EFAULT,
    ),
    errno(FN, `WRITE past the mm (${label})`, ioctl(HMM_DMIRROR_WRITE, { addr: 2 ** 50 }), -EFAULT),
    errno(
      FN,
      `MIGRATE_TO_DEV with no vma (${label})`,
      ioctl(HMM_DMIRROR_MIGRATE_TO_DEV, { addr: 2 ** 40 }),
      -EINVAL,
    ),
    errno(
      FN,
      `MIGRATE_TO_SYS with no vma (${label})`,
      ioctl(HMM_DMIRROR_MIGRATE_TO_SYS, { addr: 2 ** 40 }),
      -EINVAL,
    ),
    errno(
      FN,
      `READ to a bad user pointer (${label})`,
      ioctl(HMM_DMIRROR_READ, { ptr: 0x10000 }),
      -EFAULT,
    ),
    errno(
      FN,
      `WRITE from a bad user pointer (${label})`,
      ioctl(HMM_DMIRROR_WRITE, { ptr: 0x10000 }),
      -EFAULT,
    ),
    errno(
      FN,
      `SNAPSHOT to a bad user pointer (${label})`,
      ioctl(HMM_DMIRROR_SNAPSHOT, { ptr: 0x10000 }),
      -EFAULT,
    ),
  );
  return rows;
}

/** Open, close, close again, then commands on the closed file. */
function closedRows(fx: Fixture, opts: DmirrorOpenOptions, label: string): BadInputRow[] {
  const device = fx.w.module.devices[0] as DmirrorDevice;
  const closed = async (): Promise<DmirrorFile> => {
    const f = await dmirrorOpen(device, fx.w.mm, opts);
    if (typeof f === 'number' || (await dmirrorRelease(f)) !== 0) throw new Error('open/close');
    return f;
  };
  const c = (): HmmDmirrorCmd => ({ addr: fx.ptr, ptr: fx.buf, npages: 1, cpages: 7, faults: 7 });
  return [
    errno(
      'dmirror release',
      `a second close (${label})`,
      async () => dmirrorRelease(await closed()),
      -EBADF,
    ),
    ...COMMANDS.map(([name, req]) =>
      errno(
        FN,
        `${name} after close (${label})`,
        async () => dmirrorIoctl(await closed(), req, c()),
        -EINVAL,
      ),
    ),
  ];
}

function openRows(fx: Fixture): BadInputRow[] {
  const device = fx.w.module.devices[0] as DmirrorDevice;
  const open = (opts: unknown) => () => dmirrorOpen(device, fx.w.mm, opts as DmirrorOpenOptions);
  const config = (input: string, opts: unknown): BadInputRow => ({
    fn: 'dmirror open',
    input,
    call: open(opts),
    expect: { error: DmirrorConfigError },
  });
  const rows: BadInputRow[] = [
    ...['bogus', '', 'native', 'INTERVAL', 'toString', 'constructor'].map((impl) =>
      config(`impl '${impl}'`, { impl }),
    ),
    config('opts null', null),
    config("interval on hmmVersion '5.5'", { impl: 'interval', hmmVersion: '5.5' }),
    config("interval with ownReadOnlyWrite 'fault'", {
      impl: 'interval',
      ownReadOnlyWrite: 'fault',
    }),
    typed('dmirror open', 'device not a DmirrorDevice', () =>
      dmirrorOpen({} as DmirrorDevice, fx.w.mm),
    ),
    typed('dmirror open', 'mm not an MmStruct', () => dmirrorOpen(device, {} as never)),
    {
      fn: 'dmirror open',
      input: 'an mm that has exited',
      call: async () => {
        const gone = createMm(fx.w.machine);
        await mmput(gone);
        return dmirrorOpen(device, gone);
      },
      expect: { error: KernelBugError, message: /has exited/ },
    },
  ];
  for (const impl of ['legacy', 'shim'] as const) {
    for (const hmmVersion of ['5.8', '5.9', '6.0', 5.5]) {
      rows.push(config(`${impl} on hmmVersion ${String(hmmVersion)}`, { impl, hmmVersion }));
    }
    rows.push(config(`${impl} with ownReadOnlyWrite 'cow'`, { impl, ownReadOnlyWrite: 'cow' }));
  }
  for (const impl of ['interval', 'legacy', 'shim'] as const) {
    rows.push(
      config(`${impl} with foreignPrivateFault 'spin'`, { impl, foreignPrivateFault: 'spin' }),
    );
  }
  return rows;
}

function modelRows(fx: Fixture): BadInputRow[] {
  const m = fx.w.machine;
  const pt = new DmirrorPageTable();
  const d0 = fx.w.module.devices[0] as DmirrorDevice;
  const chunk = () => dmirrorPageToChunk(m, d0.freePages)!;
  return [
    ...numbers('xa_load', 'index', (v) => pt.load(v)),
    ...numbers('xa_store', 'index', (v) => pt.store(v, 1, 3)),
    ...numbers('xa_store', 'page', (v) => pt.store(1, v, 3)),
    ...numbers('xa_store', 'tag', (v) => pt.store(1, 1, v)),
    ...numbers('xa_erase', 'index', (v) => pt.erase(v)),
    ...numbers('dmirror_do_update', 'first', (v) => pt.eraseRange(v, 10)),
    ...numbers('dmirror_do_update', 'last', (v) => pt.eraseRange(0, v)),
    ...numbers('dmirror_device_init', 'minor', (v) => dmirrorDeviceInit(m, v)),
    ...numbers('dmirror_bounce_init', 'addr', (v) => dmirrorBounceInit(m, v, PAGE_SIZE)),
    ...numbers('dmirror_bounce_init', 'size', (v) => dmirrorBounceInit(m, fx.ptr, v)),
    ...numbers('copy_to_user', 'to', (v) => copyToUser(fx.w.mm, v, new Uint8Array(1))),
    ...numbers('copy_from_user', 'from', (v) => copyFromUser(fx.w.mm, v, 1)),
    ...numbers('copy_from_user', 'n', (v) => copyFromUser(fx.w.mm, fx.buf, v)),
    // -1 is NO_PAGE, the model's NULL page: dmirrorPageToChunk(NO_PAGE) is null by design.
    ...numbers('get_dev_pagemap', 'pfn', (v) => dmirrorPageToChunk(m, v)).filter(
      (r) => !r.input.endsWith('= -1'),
    ),
    ...numbers('chunkPageData', 'pfn', (v) => chunkPageData(chunk(), v)),
    ...numbers('setChunkPageData', 'pfn', (v) => setChunkPageData(chunk(), v, 0)),
    ...numbers('runSelftests', 'seed', (v) => runSelftests({ seed: v, filter: 'open_close' })),
    ...numbers('runSelftests', 'teardownIterations', (v) =>
      runSelftests({ teardownIterations: v, filter: 'anon_teardown' }),
    ),
    typed('dmirror_device_init', 'minor 4', () => dmirrorDeviceInit(m, 4)),
    typed('chunkPageData', 'a RAM pfn', () => chunkPageData(chunk(), 1)),
    typed('runSelftests', "teardown mode 'spin'", () =>
      runSelftests({ teardownModes: ['spin' as 'random'], filter: 'anon_teardown' }),
    ),
    {
      fn: 'dmirror open',
      input: "runSelftests impl 'native'",
      call: () => runSelftests({ impl: 'native' as DmirrorImpl }),
      expect: { error: DmirrorConfigError },
    },
    typed(
      'dmirror page_free',
      'a page already free (double free)',
      () => dmirrorDevmemFree(m, d0.freePages),
      KernelBugError,
    ),
    typed('dmirror page_free', 'a RAM page', () => dmirrorDevmemFree(m, 1), KernelBugError),
    typed(
      'hmm_dmirror0: free list push',
      'a page already on the list',
      () => freeListPush(d0, d0.freePages),
      KernelBugError,
    ),
    errno(
      'dmirror_bounce_init',
      'more than RAM',
      () => dmirrorBounceInit(m, fx.ptr, 2 ** 40),
      -ENOMEM,
    ),
  ];
}

/** A machine with device 0 only (one 65,536-page chunk keeps the per-row checks quick). */
function smallWorld(): World {
  const machine = createMachine({ ramBytes: 8 * 2 ** 20 });
  const d0 = dmirrorDeviceInit(machine, 0);
  if (typeof d0 === 'number') throw new Error(`device init ${d0}`);
  return { machine, module: { machine, devices: [d0] }, mm: createMm(machine) };
}

async function fixture(): Promise<Fixture> {
  const w = smallWorld();
  const ptr = await anon(w.mm, 4);
  const buf = await anon(w.mm, 4);
  await write(w.mm, ptr, words(4));
  const files: Fixture['files'] = [];
  for (const c of CONFIGS) {
    const f = await dmirrorOpen(w.module.devices[0] as DmirrorDevice, w.mm, c);
    if (typeof f === 'number') throw new Error(`open ${f}`);
    files.push({ label: `${c.impl} ${c.hmmVersion}`, file: f });
  }
  return { w, ptr, buf, files };
}

/** Run one part of the table on a fresh fixture: checks and a normal READ after every row. */
async function runPart(
  name: string,
  rows: (fx: Fixture) => BadInputRow[],
): Promise<BadInputReport> {
  const fx = await fixture();
  const { w, ptr, buf, files } = fx;
  const want = words(4);
  let turn = 0;
  const report = await runBadInputTable(name, rows(fx), {
    afterEach: async () => {
      assertDmirrorInvariants(
        w.module.devices,
        files.map((f) => f.file),
      );
      assertMachineInvariants(w.machine);
      assertMigrateInvariants(w.machine, { quiescent: true });
      // A normal READ on one of the files, round robin: the data is still there.
      const { file } = files[turn++ % files.length] as Fixture['files'][number];
      const c = { addr: ptr, ptr: buf, npages: 4, cpages: 0, faults: 0 };
      const ret = await dmirrorIoctl(file, HMM_DMIRROR_READ, c);
      const got = await cpuRead(w.mm, buf, 4 * PAGE_SIZE);
      if (
        ret !== 0 ||
        c.cpages !== 4 ||
        !got.ok ||
        !Buffer.from(got.data!).equals(Buffer.from(want))
      ) {
        throw new Error(`a normal READ failed (${ret}, cpages ${c.cpages})`);
      }
    },
  });
  for (const { file } of files) expect(await dmirrorRelease(file)).toBe(0);
  assertDmirrorInvariants(
    w.module.devices,
    files.map((f) => f.file),
  );
  return report;
}

/** The parts' reports as one. */
function merged(reports: readonly BadInputReport[]): BadInputReport {
  const answers = new Map<string, number>();
  for (const r of reports)
    for (const [k, n] of r.answers) answers.set(k, (answers.get(k) ?? 0) + n);
  return {
    table: 'dmirror',
    tried: reports.reduce((n, r) => n + r.tried, 0),
    answers,
    failures: reports.flatMap((r) => r.failures),
  };
}

describe('@hmmsim/dmirror bad-input table', () => {
  const reports: BadInputReport[] = [];
  const part = (name: string, rows: (fx: Fixture) => BadInputRow[]) =>
    it(`${name}: every bad input gets an errno or a typed error, state unchanged`, async () => {
      const report = await runPart(`dmirror ${name}`, rows);
      reports.push(report);
      console.log(formatBadInputReport(report));
      expect(report.failures).toEqual([]);
    });

  part('ioctl, interval 5.9', (fx) => fileRows(fx, 'interval 5.9', fx.files[1]!.file, true));
  part('ioctl, the other builds and generations', (fx) =>
    fx.files
      .filter((f) => f.label !== 'interval 5.9')
      .flatMap(({ label, file }) => fileRows(fx, label, file, false)),
  );
  part('open and close', (fx) => [
    ...openRows(fx),
    ...CONFIGS.flatMap((c) => closedRows(fx, c, `${c.impl} ${c.hmmVersion}`)),
  ]);
  part('device table, memory, copies, selftest runner', (fx) => modelRows(fx));

  it('prints the whole table', () => {
    const all = merged(reports);
    console.log(formatBadInputReport(all));
    expect(all.failures).toEqual([]);
    expect(reports).toHaveLength(4);
  });
});
