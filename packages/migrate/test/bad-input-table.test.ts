/**
 * The bad-input table of @hmmsim/migrate: every public function that takes an address, length,
 * pfn, entry, count or flag word, with each bad number (NaN, ±Infinity, a fraction, -1, 2^53)
 * and the misuse of the three-step API in the wrong state, in every generation ('5.4', '5.7',
 * '5.9'). Each row must get the kernel's errno or a typed error naming the function; after each
 * row the invariants (the mm's and 16–21) must hold and a normal migration must still work.
 */
import {
  downRead,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  PAGE_SIZE,
  upRead,
} from '@hmmsim/kernel';
import {
  BAD_NUMBERS,
  type BadInputRow,
  formatBadInputReport,
  runBadInputTable,
} from '@hmmsim/kernel/testing';
import {
  assertMachineInvariants,
  cpuRead,
  cpuWrite,
  createMachine,
  createMm,
  findVma,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  mmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import { unlockPage } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  assertMigrateInvariants,
  createMigrateVma,
  createTestDevice,
  DevPagemap,
  devicePrivatePteAt,
  expectedPageRefs,
  formatMigratePfn,
  getDevPagemap,
  isDevicePrivatePage,
  isolateLruPage,
  MEMORY_DEVICE_PRIVATE,
  MIGRATE_PFN_LOCKED,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  MIGRATE_VMA_VERSIONS,
  type MigrateVma,
  type MigrateVmaSetupOptions,
  type MigrateVmaVersion,
  memremapPages,
  memunmapPages,
  migratePage,
  migratePageStates,
  migratePfn,
  migratePfnClear,
  migratePfnFlags,
  migratePfnHas,
  migratePfnSet,
  migratePfnToPage,
  migrateVmaCheckPage,
  migrateVmaFinalize,
  migrateVmaInsertPage,
  migrateVmaPages,
  migrateVmaSetup,
  pageHasMapping,
  pageZoneDeviceData,
  peekUser,
  peekUserPage,
  putbackLruPage,
  removeMigrationPte,
  removeMigrationPtes,
  setPageZoneDeviceData,
  tryToUnmapMigration,
  tryToUnmapOneMigration,
} from '../src/index.ts';

const PAGE = PAGE_SIZE;
const FILL = 0x5a;

async function world() {
  const machine = createMachine({ ramBytes: 16 * 2 ** 20, swapPages: 64, thp: 'never' });
  const mm = createMm(machine);
  const dev = createTestDevice(machine, { nrPages: 64 });
  const addr = await mmap(mm, 0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const w = await cpuWrite(mm, addr, new Uint8Array(4 * PAGE).fill(FILL));
  if (!w.ok) throw new Error('setup write');
  const vma = findVma(mm, addr);
  if (vma === undefined) throw new Error('setup vma');
  return { machine, mm, dev, addr, vma };
}

type World = Awaited<ReturnType<typeof world>>;

/** One row per bad number for argument `arg` of `fn`. */
function numbers(
  fn: string,
  arg: string,
  call: (v: number) => unknown,
  error: typeof InvalidArgumentError | typeof KernelBugError = InvalidArgumentError,
): BadInputRow[] {
  return BAD_NUMBERS.map(([name, v]) => ({
    fn,
    input: `${arg} = ${name}`,
    call: () => call(v),
    expect: { error },
  }));
}

/** Run `fn` with mmap_sem held for read. */
async function locked<T>(w: World, fn: () => Promise<T>): Promise<T> {
  await downRead(w.mm.mmapSem);
  try {
    return await fn();
  } finally {
    upRead(w.mm.mmapSem);
  }
}

function argsFor(w: World, version: MigrateVmaVersion, pages = 2): MigrateVma {
  const args = createMigrateVma(w.vma, w.addr, w.addr + pages * PAGE);
  if (version === '5.9') {
    args.pgmapOwner = 'driver';
    args.flags = MIGRATE_VMA_SELECT_SYSTEM;
  }
  return args;
}

/**
 * Set a migration up, run `misuse` on it (its answer is the row's), then let the driver finish
 * properly (restore `args`, pages, finalize): the misuse must have left it finishable.
 */
function inFlight(
  w: World,
  version: MigrateVmaVersion,
  misuse: (args: MigrateVma, opts: MigrateVmaSetupOptions) => unknown,
): () => Promise<unknown> {
  return () =>
    locked(w, async () => {
      const opts = { version };
      const args = argsFor(w, version);
      if ((await migrateVmaSetup(args, opts)) !== 0) throw new Error('setup failed');
      const src = args.src!.slice();
      const { npages, start, end } = args;
      try {
        return await misuse(args, opts);
      } finally {
        args.src!.set(src);
        Object.assign(args, { npages, start, end });
        args.dst!.fill(0);
        await migrateVmaPages(args).catch(() => {});
        await migrateVmaFinalize(args).catch(() => {});
      }
    });
}

function versionRows(w: World, version: MigrateVmaVersion): BadInputRow[] {
  const opts = { version };
  const setupWith = (patch: Partial<MigrateVma>) => () =>
    locked(w, () => migrateVmaSetup({ ...argsFor(w, version), ...patch }, opts));
  const rows: BadInputRow[] = [
    ...numbers('migrate_vma_setup', `args.start (v${version})`, (v) => setupWith({ start: v })()),
    ...numbers('migrate_vma_setup', `args.end (v${version})`, (v) => setupWith({ end: v })()),
    ...numbers('migrate_vma_setup', `args.flags (v${version})`, (v) => setupWith({ flags: v })()),
    {
      fn: 'migrate_vma_setup',
      input: `no vma (v${version})`,
      call: setupWith({ vma: null }),
      expect: { errno: -EINVAL },
    },
    {
      fn: 'migrate_vma_setup',
      input: `empty range (v${version})`,
      call: setupWith({ end: w.addr }),
      expect: { errno: -EINVAL },
    },
    {
      fn: 'migrate_vma_setup',
      input: `range past the vma (v${version})`,
      call: setupWith({ end: w.addr + 8 * PAGE }),
      expect: { errno: -EINVAL },
    },
    {
      fn: 'migrate_vma_setup',
      input: `no src array (v${version})`,
      call: setupWith({ src: null }),
      expect: { errno: -EINVAL },
    },
    {
      fn: 'migrate_vma_setup',
      input: `without mmap_sem (v${version})`,
      call: () => migrateVmaSetup(argsFor(w, version), opts),
      expect: { error: KernelBugError, message: /mmap_sem/ },
    },
    {
      fn: 'migrate_vma_setup',
      input: `vma not a VmArea (v${version})`,
      call: setupWith({ vma: {} as MigrateVma['vma'] }),
      expect: { error: InvalidArgumentError },
    },
    {
      fn: 'migrate_vma_setup',
      input: `src a plain array (v${version})`,
      call: setupWith({ src: [0, 0] as unknown as Float64Array }),
      expect: { error: InvalidArgumentError },
    },
    {
      fn: 'migrate_vma_setup',
      input: `twice before finalize (v${version})`,
      call: inFlight(w, version, (args, o) => migrateVmaSetup(args, o)),
      expect: { error: KernelBugError, message: /still carry/ },
    },
    {
      fn: 'migrate_vma_setup',
      input: `a copy sharing the arrays of one in flight (v${version})`,
      call: inFlight(w, version, (args, o) => migrateVmaSetup({ ...args }, o)),
      expect: { error: KernelBugError, message: /still carry/ },
    },
    {
      fn: 'migrate_vma_pages',
      input: `src changed since setup (v${version})`,
      call: inFlight(w, version, (args) => {
        args.src![0] = 0;
        return migrateVmaPages(args);
      }),
      expect: { error: KernelBugError, message: /args\.src\[0\]/ },
    },
    {
      fn: 'migrate_vma_pages',
      input: `npages changed since setup (v${version})`,
      call: inFlight(w, version, (args) => {
        args.npages = 1;
        return migrateVmaPages(args);
      }),
      expect: { error: KernelBugError, message: /args\.npages is 1/ },
    },
    {
      fn: 'migrate_vma_finalize',
      input: `npages changed after pages (v${version})`,
      call: inFlight(w, version, async (args) => {
        await migrateVmaPages(args);
        args.npages = 1;
        return migrateVmaFinalize(args);
      }),
      expect: { error: KernelBugError, message: /finished from the core's record/ },
    },
    {
      fn: 'migrate_vma_pages',
      input: `a duplicate destination page (v${version})`,
      call: inFlight(w, version, async (args) => {
        const d = w.dev.allocPage();
        args.dst![0] = migratePfn(d) + MIGRATE_PFN_LOCKED;
        args.dst![1] = migratePfn(d) + MIGRATE_PFN_LOCKED;
        try {
          return await migrateVmaPages(args);
        } finally {
          args.dst!.fill(0);
          unlockPage(w.machine.phys, d);
          w.machine.phys.refcount[d] = 1;
          w.dev.pageFree(d);
        }
      }),
      expect: { error: KernelBugError, message: /is also dst\[0\]/ },
    },
    {
      fn: 'migrate_vma_pages',
      input: `twice (v${version})`,
      call: inFlight(w, version, async (args) => {
        await migrateVmaPages(args);
        return migrateVmaPages(args);
      }),
      expect: { error: KernelBugError, message: /already called/ },
    },
    {
      fn: 'migrate_vma_finalize',
      input: `twice (v${version})`,
      call: inFlight(w, version, async (args) => {
        await migrateVmaPages(args);
        await migrateVmaFinalize(args);
        return migrateVmaFinalize(args);
      }),
      expect: { error: KernelBugError, message: /no migration is in flight/ },
    },
  ];
  for (const [name, v] of BAD_NUMBERS) {
    rows.push({
      fn: 'migrate_vma_pages',
      input: `args.dst[0] = ${name} (v${version})`,
      call: inFlight(w, version, (args) => {
        args.dst![0] = v;
        return migrateVmaPages(args);
      }),
      expect: { error: InvalidArgumentError },
    });
  }
  return rows;
}

/** A RAM page of the world's mapping (the first one). */
function ramPfn(w: World): number {
  const r = peekUserPage(w.mm, w.addr);
  if (r[0] !== FILL) throw new Error('page 0 moved');
  for (let pfn = 1; pfn < w.machine.phys.nrPages; pfn++) {
    if (w.machine.phys.mapcount[pfn] === 1) return pfn;
  }
  throw new Error('no mapped RAM page');
}

function pageRows(w: World): BadInputRow[] {
  const m = w.machine;
  const p = () => ramPfn(w);
  const rows: BadInputRow[] = [
    ...numbers('createMigrateVma', 'start', (v) => createMigrateVma(w.vma, v, w.addr + PAGE)),
    ...numbers('createMigrateVma', 'end', (v) => createMigrateVma(w.vma, w.addr, v)),
    ...numbers('migrate_pfn', 'pfn', (v) => migratePfn(v)),
    ...numbers('migrate_pfn_to_page', 'mpfn', (v) => migratePfnToPage(v)),
    ...numbers('migratePfnFlags', 'mpfn', (v) => migratePfnFlags(v)),
    ...numbers('migratePfnHas', 'mpfn', (v) => migratePfnHas(v, MIGRATE_PFN_MIGRATE)),
    ...numbers('migratePfnHas', 'flag', (v) => migratePfnHas(migratePfn(5), v)),
    ...numbers('migratePfnSet', 'flag', (v) => migratePfnSet(migratePfn(5), v)),
    ...numbers('migratePfnClear', 'mpfn', (v) => migratePfnClear(v, MIGRATE_PFN_MIGRATE)),
    ...numbers('formatMigratePfn', 'mpfn', (v) => formatMigratePfn(v)),
    ...numbers('get_dev_pagemap', 'pfn', (v) => getDevPagemap(m, v)),
    ...numbers('is_device_private_page', 'pfn', (v) => isDevicePrivatePage(m, v)),
    ...numbers('devicePrivatePteAt', 'addr', (v) => devicePrivatePteAt(w.mm, v)),
    ...numbers('get_dev_pagemap', 'pfn (zone_device_data read)', (v) => pageZoneDeviceData(m, v)),
    ...numbers('get_dev_pagemap', 'pfn (zone_device_data write)', (v) =>
      setPageZoneDeviceData(m, v, 'x'),
    ),
    ...numbers('isolate_lru_page', 'pfn', (v) => isolateLruPage(m, v)),
    ...numbers('putback_lru_page', 'pfn', (v) => putbackLruPage(m, v)),
    ...numbers('expected_page_refs', 'page', (v) => expectedPageRefs(m, v)),
    ...numbers('migrate_page', 'page', (v) => migratePage(m, w.dev.firstPfn, v)),
    ...numbers('migrate_page', 'newpage', (v) => migratePage(m, v, p())),
    ...numbers('migrate_page_states', 'newpage', (v) => migratePageStates(m, v, p())),
    ...numbers('page_mapping', 'page', (v) => pageHasMapping(m, v)),
    ...numbers('migrate_vma_check_page', 'page', (v) => migrateVmaCheckPage(m, v)),
    ...numbers('migrate_vma_insert_page', 'addr', (v) =>
      migrateVmaInsertPage(m, w.vma, v, w.dev.firstPfn),
    ),
    ...numbers('migrate_vma_insert_page', 'page', (v) => migrateVmaInsertPage(m, w.vma, w.addr, v)),
    ...numbers('remove_migration_pte', 'addr', (v) => removeMigrationPte(m, w.vma, v, p(), p())),
    ...numbers('remove_migration_pte', 'old', (v) => removeMigrationPte(m, w.vma, w.addr, v, p())),
    ...numbers('remove_migration_ptes', 'new', (v) => removeMigrationPtes(m, p(), v)),
    ...numbers('try_to_unmap_one', 'address', (v) => tryToUnmapOneMigration(m, w.vma, v, p())),
    ...numbers('try_to_unmap', 'page', (v) => tryToUnmapMigration(m, v)),
    ...numbers('peekUser', 'addr', (v) => peekUser(w.mm, v, 1)),
    ...numbers('peekUser', 'len', (v) => peekUser(w.mm, w.addr, v)),
    ...numbers('peekUserPage', 'addr', (v) => peekUserPage(w.mm, v)),
    ...numbers('memremap_pages', 'pgmap.nrPages', (v) =>
      memremapPages(
        m,
        new DevPagemap(MEMORY_DEVICE_PRIVATE, v, {
          pageFree() {},
          async migrateToRam() {
            return 0;
          },
        }),
      ),
    ),
    ...numbers('TestDevice.migrateToDevice', 'start', (v) =>
      w.dev.migrateToDevice(w.mm, v, w.addr + PAGE),
    ),
    ...numbers('TestDevice.migrateToDevice', 'end', (v) => w.dev.migrateToDevice(w.mm, w.addr, v)),
    ...numbers('TestDevice.migrateToSystem', 'opts.pagesPerCall', (v) =>
      w.dev.migrateToSystem(w.mm, w.addr, w.addr + PAGE, { pagesPerCall: v }),
    ),
    ...numbers('TestDevice.readDevice', 'pfn', (v) => w.dev.readDevice(v, 0, 1)),
    ...numbers('TestDevice.readDevice', 'offset', (v) => w.dev.readDevice(w.dev.firstPfn, v, 1)),
    ...numbers('TestDevice.writeDevice', 'offset', (v) =>
      w.dev.writeDevice(w.dev.firstPfn, v, new Uint8Array(1)),
    ),
    ...numbers('page_free', 'pfn', (v) => w.dev.pageFree(v)),
    ...numbers(
      'memremap_pages',
      'pgmap.type',
      (v) => memremapPages(m, new DevPagemap(v as 1, 1, {})),
      KernelBugError,
    ),
    {
      fn: 'page_free',
      input: 'a page already on the free list (double free)',
      call: () => w.dev.pageFree(w.dev.firstPfn),
      expect: { error: KernelBugError, message: /double free/ },
    },
    {
      fn: 'memunmap_pages',
      input: 'a pgmap never registered',
      call: () => memunmapPages(new DevPagemap(MEMORY_DEVICE_PRIVATE, 1, {})),
      expect: { error: KernelBugError },
    },
    {
      fn: 'memremap_pages',
      input: 'the same pgmap twice',
      call: () => memremapPages(m, w.dev.pgmap),
      expect: { error: KernelBugError, message: /already registered/ },
    },
    {
      fn: 'migrate_vma_setup',
      input: "opts.version '5.5'",
      call: () =>
        locked(w, () =>
          migrateVmaSetup(argsFor(w, '5.4'), { version: '5.5' as MigrateVmaVersion }),
        ),
      expect: { error: InvalidArgumentError, message: /expected '5\.4', '5\.7' or '5\.9'/ },
    },
    {
      fn: 'TestDevice.readDevice',
      input: 'a span leaving the page',
      call: () => w.dev.readDevice(w.dev.firstPfn, PAGE - 1, 2),
      expect: { error: InvalidArgumentError },
    },
    {
      fn: 'migrate_pfn',
      input: 'pfn = 2^47 (entry past 2^53)',
      call: () => migratePfn(2 ** 47),
      expect: { error: InvalidArgumentError },
    },
    {
      fn: 'migratePfnHas',
      input: 'flag = 64',
      call: () => migratePfnHas(migratePfn(5), 64),
      expect: { error: InvalidArgumentError },
    },
    {
      fn: 'isolate_lru_page',
      input: 'pfn beyond the memmap',
      call: () => isolateLruPage(m, m.phys.memmapEnd),
      expect: { error: InvalidArgumentError, message: /expected a pfn of this machine/ },
    },
  ];
  return rows;
}

describe('@hmmsim/migrate bad-input table', () => {
  it('answers every bad input with an errno or a typed error, state unchanged', async () => {
    const w = await world();
    const rows = [...pageRows(w), ...MIGRATE_VMA_VERSIONS.flatMap((v) => versionRows(w, v))];
    const report = await runBadInputTable('migrate', rows, {
      afterEach: async () => {
        assertMachineInvariants(w.machine);
        assertMigrateInvariants(w.machine, { quiescent: true, freeLists: [w.dev] });
        const moved = await w.dev.migrateToDevice(w.mm, w.addr, w.addr + 4 * PAGE);
        if (moved !== 4) throw new Error(`a normal migration moved ${moved} of 4 pages`);
        const r = await cpuRead(w.mm, w.addr, 4 * PAGE);
        if (!r.ok || r.data?.some((b) => b !== FILL)) throw new Error('data lost');
        assertMigrateInvariants(w.machine, { quiescent: true, freeLists: [w.dev] });
      },
    });
    console.log(formatBadInputReport(report));
    expect(report.failures).toEqual([]);
    expect(report.tried).toBe(rows.length);
  });
});
