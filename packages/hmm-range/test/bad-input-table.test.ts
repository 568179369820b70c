/**
 * The bad-input table of @hmmsim/hmm-range: hmm_range_fault() in every generation's call shape
 * ('5.4', 'seed', '5.5' with a flags argument on the legacy and the notifier path; '5.7' through
 * the root and the v5.7 facade; '5.8' and '5.9' through the root and their facades) and every
 * helper, called with each bad number and each misuse — a removed notifier, a notifier that does
 * not cover the range, no mmap_sem, an exited mm, a call or range of the wrong generation. Each
 * row must get the kernel's errno or a typed error naming the function; afterwards nothing the
 * row touched may have changed (no entry written, no page faulted), the mm and notifier
 * invariants must hold, and a snapshot of a good range must still work in every generation.
 */
import {
  downRead,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  upRead,
  VADDR_LIMIT,
} from '@hmmsim/kernel';
import {
  BAD_NUMBERS,
  type BadInputExpectation,
  type BadInputRow,
  formatBadInputReport,
  runBadInputTable,
} from '@hmmsim/kernel/testing';
import { assertMmInvariants, createMm, mmput } from '@hmmsim/mm';
import {
  assertMmuNotifierInvariants,
  MmuIntervalNotifier,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
} from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import {
  assertHmmRangeInvariants,
  createHmmPfnsRange,
  createHmmRange,
  HMM_FAULT_SNAPSHOT,
  HMM_PFN_FLAG_MAX,
  HmmGenerationError,
  type HmmPfnsRange,
  type HmmRange,
  type HmmRangeFaultOptions,
  type HmmVersion,
  hmmDeviceEntryFromPage,
  hmmDeviceEntryFromPfn,
  hmmDeviceEntryToPage,
  hmmDeviceEntryToPfn,
  hmmEntryComplement,
  hmmEntryLowBits,
  hmmEntryOr,
  hmmEntryTest,
  hmmPfnFromKernelWord,
  hmmPfnMake,
  hmmPfnToKernelWord,
  hmmPfnToMapOrder,
  hmmPfnToPage,
  hmmQuirksFor,
  hmmRangeFault,
  v57,
  v58,
  v59,
} from '../src/index.ts';
import { BASE, type Env, env, FLAGS, mapAnon, PAGE, SHIFT, touch, VALUES } from './helpers.ts';
import { FLAGS57, insertNotifier } from './helpers-gen.ts';

const NPAGES = 4;
const END = BASE + NPAGES * PAGE;
const S = 77;

/** One generation's call shape: how a range of it is made and how it is faulted. */
interface Shape {
  readonly name: string;
  readonly version: HmmVersion;
  readonly tables: boolean;
  /** Generations before v5.7 also run on the legacy path (hmm + valid). */
  readonly legacy: boolean;
  readonly flagMax: number;
  make(e: World, notifier: MmuIntervalNotifier | null): Promise<HmmRange | HmmPfnsRange>;
  call(r: HmmRange | HmmPfnsRange, opts?: HmmRangeFaultOptions): Promise<number>;
  /** What a snapshot of the 4 touched pages returns. */
  readonly ok: number;
}

type World = Env & { readonly notifier: MmuIntervalNotifier };

function tableRange(e: World, notifier: MmuIntervalNotifier | null, flags: readonly number[]) {
  return createHmmRange({
    start: BASE,
    end: END,
    flags: [...flags],
    values: [...VALUES],
    pfnShift: SHIFT,
    ...(notifier === null
      ? { hmm: { mmuNotifier: { mm: e.mm } }, valid: true }
      : { notifier, notifierSeq: notifier.invalidateSeq }),
  });
}

const TABLE_VERSIONS = ['5.4', 'seed', '5.5'] as const;

const SHAPES: readonly Shape[] = [
  ...TABLE_VERSIONS.flatMap((version): Shape[] =>
    [true, false].map((legacy) => ({
      name: `hmmRangeFault(range, flags, { version: '${version}' })${legacy ? ' legacy' : ' notifier'}`,
      version,
      tables: true,
      legacy,
      flagMax: HMM_PFN_FLAG_MAX,
      make: async (e, n) => tableRange(e, legacy ? null : n, FLAGS),
      call: (r, o = {}) => hmmRangeFault(r as HmmRange, HMM_FAULT_SNAPSHOT, { ...o, version }),
      ok: NPAGES,
    })),
  ),
  {
    name: "hmmRangeFault(range, { version: '5.7' })",
    version: '5.7',
    tables: true,
    legacy: false,
    flagMax: 2,
    make: async (e, n) => tableRange(e, n, FLAGS57),
    call: (r, o = {}) => hmmRangeFault(r as HmmRange, { ...o, version: '5.7' }),
    ok: NPAGES,
  },
  {
    name: 'v57.hmmRangeFault(range)',
    version: '5.7',
    tables: true,
    legacy: false,
    flagMax: 2,
    make: async (e, n) => tableRange(e, n, FLAGS57),
    call: (r, o = {}) => v57.hmmRangeFault(r as HmmRange, o),
    ok: NPAGES,
  },
  ...(['5.8', '5.9'] as const).flatMap((version): Shape[] => [
    {
      name: `hmmRangeFault(range, { version: '${version}' })`,
      version,
      tables: false,
      legacy: false,
      flagMax: 0,
      make: async (_e, n) =>
        createHmmPfnsRange({
          start: BASE,
          end: END,
          notifier: n,
          notifierSeq: n === null ? 0 : n.invalidateSeq,
        }),
      call: (r, o = {}) => hmmRangeFault(r, { ...o, version }),
      ok: 0,
    },
    {
      name: `v${version.replace('.', '')}.hmmRangeFault(range)`,
      version,
      tables: false,
      legacy: false,
      flagMax: 0,
      make: async (_e, n) =>
        createHmmPfnsRange({
          start: BASE,
          end: END,
          notifier: n,
          notifierSeq: n === null ? 0 : n.invalidateSeq,
        }),
      call: (r, o = {}) =>
        version === '5.8'
          ? v58.hmmRangeFault(r as HmmPfnsRange, o)
          : v59.hmmRangeFault(r as HmmPfnsRange, o),
      ok: 0,
    },
  ]),
];

/** The entries of a range, as a plain array. */
function entriesOf(r: HmmRange | HmmPfnsRange): number[] {
  const a: unknown = 'hmmPfns' in r ? r.hmmPfns : (r as HmmRange).pfns;
  return a instanceof Float64Array ? [...a] : [];
}

async function fixture() {
  const base = env();
  await mapAnon(base, BASE, NPAGES);
  await touch(base, BASE, NPAGES);
  const notifier = await insertNotifier(base, BASE, NPAGES);
  const e: World = { ...base, notifier };
  const rss = e.mm.rssPages;
  /** Rows whose range (or the mm) changed although the call was refused. */
  const changed: string[] = [];

  /** Make a fresh range of `shape` with every entry a sentinel. */
  async function fresh(shape: Shape, n: MmuIntervalNotifier | null = notifier) {
    const r = await shape.make(e, n);
    if (r.notifier !== null) r.notifierSeq = await mmuIntervalReadBegin(r.notifier);
    const a = 'hmmPfns' in r ? r.hmmPfns : (r as HmmRange).pfns;
    a.fill(S);
    return r;
  }

  /** Fault `r` under mmap_sem and record whether anything changed. */
  async function faultUnchanged(
    label: string,
    shape: Shape,
    r: HmmRange | HmmPfnsRange,
    opts?: HmmRangeFaultOptions,
    sem = true,
  ): Promise<number> {
    const before = entriesOf(r);
    if (sem) await downRead(e.mm.mmapSem);
    try {
      return await shape.call(r, opts);
    } finally {
      if (sem) upRead(e.mm.mmapSem);
      const after = entriesOf(r);
      if (after.some((v, i) => !Object.is(v, before[i])) || e.mm.rssPages !== rss)
        changed.push(`${shape.name} (${label}): entries or rss changed`);
    }
  }

  async function afterEach(): Promise<void> {
    if (changed.length > 0) throw new Error(changed.splice(0).join('; '));
    const t = e.sched.current;
    if (t.preemptCount !== 0) throw new Error(`preemptCount is ${t.preemptCount}`);
    if (e.mm.mmapSem.writer !== undefined || e.mm.mmapSem.readers.size > 0)
      throw new Error('mmap_sem left held');
    assertMmInvariants(e.mm);
    assertMmuNotifierInvariants(e.mm);
    for (const shape of SHAPES) {
      const r = await fresh(shape);
      assertHmmRangeInvariants(r);
      await downRead(e.mm.mmapSem);
      const ret = await shape.call(r);
      upRead(e.mm.mmapSem);
      if (ret !== shape.ok) throw new Error(`${shape.name}: a good snapshot returned ${ret}`);
      if (entriesOf(r).includes(S)) throw new Error(`${shape.name}: a good snapshot wrote nothing`);
    }
  }
  return { e, fresh, faultUnchanged, afterEach };
}

type Fixture = Awaited<ReturnType<typeof fixture>>;

const invalid = (message?: RegExp): BadInputExpectation =>
  message === undefined
    ? { error: InvalidArgumentError }
    : { error: InvalidArgumentError, message };
const bug = (message: RegExp): BadInputExpectation => ({ error: KernelBugError, message });
const generation: BadInputExpectation = { error: HmmGenerationError };
const einval: BadInputExpectation = { errno: -EINVAL };

function faultRows(f: Fixture, shape: Shape): BadInputRow[] {
  const out: BadInputRow[] = [];
  const fn = 'hmm_range_fault';
  /** A row: make a fresh range, break it with `mutate`, fault it, expect `expect`. */
  const add = (
    input: string,
    mutate: (r: HmmRange & HmmPfnsRange) => void | Promise<void>,
    expect: BadInputExpectation,
    opts?: HmmRangeFaultOptions,
    sem = true,
  ): void => {
    out.push({
      fn,
      input: `${shape.name}: ${input}`,
      call: async () => {
        const r = await f.fresh(shape);
        await mutate(r as HmmRange & HmmPfnsRange);
        return f.faultUnchanged(input, shape, r, opts, sem);
      },
      expect,
    });
  };
  for (const [what, v] of BAD_NUMBERS) {
    add(
      `range.start = ${what}`,
      (r) => {
        r.start = v;
      },
      invalid(/range\.start is/),
    );
    add(
      `range.end = ${what}`,
      (r) => {
        r.end = v;
      },
      invalid(/range\.end is/),
    );
    add(
      `range.pfnFlagsMask = ${what}`,
      (r) => {
        r.pfnFlagsMask = v;
      },
      invalid(/pfnFlagsMask is/),
    );
    add(
      `range.defaultFlags = ${what}`,
      (r) => {
        r.defaultFlags = v;
      },
      invalid(/defaultFlags is/),
    );
    if (!shape.legacy) {
      add(
        `range.notifierSeq = ${what}`,
        (r) => {
          r.notifierSeq = v;
        },
        invalid(/notifierSeq is/),
      );
    }
    add(
      `a request entry = ${what} (pfnFlagsMask set)`,
      (r) => {
        r.pfnFlagsMask = shape.tables ? 3 : v58.HMM_PFN_REQ_FAULT;
        const entries = 'hmmPfns' in r ? r.hmmPfns : (r as HmmRange).pfns;
        entries[1] = v;
      },
      // A Float64Array stores 2^53 exactly, NaN and the rest as given.
      invalid(/\[1\] is/),
    );
    if (shape.tables) {
      add(
        `range.pfnShift = ${what}`,
        (r) => {
          r.pfnShift = v;
        },
        invalid(/pfnShift is/),
      );
      add(
        `range.flags[0] = ${what}`,
        (r) => {
          r.flags = [v, ...r.flags.slice(1)];
        },
        invalid(/flags\[0\] is/),
      );
      add(
        `range.values[1] = ${what}`,
        (r) => {
          r.values = [r.values[0] as number, v, 0];
        },
        invalid(/values\[1\] is/),
      );
    }
  }
  // Values the kernel can receive and refuses: -EINVAL, nothing written.
  add(
    'start not page aligned',
    (r) => {
      r.start = BASE + 1;
    },
    einval,
  );
  add(
    'end not page aligned',
    (r) => {
      r.end = END - 1;
    },
    einval,
  );
  add(
    'empty range',
    (r) => {
      r.end = r.start;
    },
    einval,
  );
  add(
    'end < start',
    (r) => {
      r.start = END;
    },
    einval,
  );
  if (shape.tables) {
    add(
      'range past the user address space (up to v5.7)',
      (r) => {
        r.start = VADDR_LIMIT;
        r.end = VADDR_LIMIT + PAGE;
      },
      einval,
    );
    add(
      'range.pfnShift = 53',
      (r) => {
        r.pfnShift = 53;
      },
      invalid(/pfnShift is 53/),
    );
    add(
      'range.flags too short',
      (r) => {
        r.flags = [1];
      },
      shape.flagMax === 2 ? generation : invalid(/has 1 entries/),
    );
  }
  add(
    'the entry array is not a Float64Array',
    (r) => {
      if ('hmmPfns' in r) (r as { hmmPfns: unknown }).hmmPfns = [0, 0, 0, 0];
      else (r as { pfns: unknown }).pfns = [0, 0, 0, 0];
    },
    invalid(/expected a Float64Array/),
  );
  add(
    'the entry array is too short',
    (r) => {
      if ('hmmPfns' in r) r.hmmPfns = new Float64Array(2);
      else (r as HmmRange).pfns = new Float64Array(2);
    },
    invalid(/has 2 entries for a range of 4 pages/),
  );
  // State misuse.
  if (shape.legacy) {
    add(
      'range.valid not a boolean',
      (r) => {
        (r as { valid: unknown }).valid = 'yes';
      },
      invalid(/valid is/),
    );
    add(
      'neither notifier nor hmm',
      (r) => {
        r.hmm = null;
      },
      bug(/neither a notifier nor a registered hmm/),
    );
    out.push({
      fn,
      input: `${shape.name}: the mm has exited`,
      call: async () => {
        const dead = createMm(f.e.machine);
        await mmput(dead);
        const r = (await f.fresh(shape)) as HmmRange;
        r.hmm = { mmuNotifier: { mm: dead } };
        await downRead(dead.mmapSem);
        try {
          return await f.faultUnchanged('exited mm', shape, r, undefined, false);
        } finally {
          upRead(dead.mmapSem);
        }
      },
      expect: bug(/mm_users 0 \(the mm has exited\)/),
    });
  } else {
    add(
      'range on a removed interval notifier (accepted before: collision detection off)',
      async (r) => {
        const n = await insertNotifier(f.e, BASE, NPAGES);
        r.notifier = n;
        r.notifierSeq = await mmuIntervalReadBegin(n);
        await mmuIntervalNotifierRemove(n);
      },
      bug(/range\.notifier is not inserted: it was removed/),
    );
    add(
      'a notifier that does not cover [start, end) (accepted before)',
      async (r) => {
        const n = await insertNotifier(f.e, BASE + PAGE, 1);
        r.notifier = n;
        r.notifierSeq = await mmuIntervalReadBegin(n);
      },
      bug(/covers \[0x80001000, 0x80001fff\] but the range is \[0x80000000, 0x80004000\)/),
    );
    add(
      'a notifier never inserted',
      (r) => {
        r.notifier = new MmuIntervalNotifier();
      },
      bug(/not inserted/),
    );
    add(
      'range.notifier not a notifier',
      (r) => {
        (r as { notifier: unknown }).notifier = {};
      },
      invalid(/range\.notifier is not an MmuIntervalNotifier/),
    );
  }
  add('without mmap_sem', () => {}, bug(/without mmap_sem/), undefined, false);
  // Options.
  add('options.quirks names no quirk', () => {}, invalid(/quirks\.q99 is not a quirk/), {
    quirks: { q99: true } as never,
  });
  add('options.quirks.q2FaultWholeChunk = 1', () => {}, invalid(/expected true .* or false/), {
    quirks: { q2FaultWholeChunk: 1 as never },
  });
  add('options.faultHandler not a function', () => {}, invalid(/faultHandler is a number/), {
    faultHandler: 5 as never,
  });
  // The wrong generation's call or range.
  if (shape.tables && shape.version !== '5.7') {
    add(
      'devPrivateOwner set before v5.7',
      (r) => {
        r.devPrivateOwner = {};
      },
      generation,
    );
  }
  if (!shape.tables) {
    add(
      'range.notifier = null (mandatory from v5.7)',
      (r) => {
        r.notifier = null;
      },
      generation,
    );
    add(
      'a v5.4 field on a v5.8 range',
      (r) => {
        (r as { pfnShift?: number }).pfnShift = 12;
      },
      generation,
    );
    add(
      'defaultFlags outside the flag byte',
      (r) => {
        r.defaultFlags = 0x100;
      },
      invalid(/defaultFlags is 256, above 255/),
    );
  }
  if (shape.version === '5.7') {
    add(
      'range.notifier = null (mandatory from v5.7)',
      (r) => {
        r.notifier = null;
        r.hmm = { mmuNotifier: { mm: f.e.mm } };
      },
      generation,
    );
    add(
      'three-entry flags table',
      (r) => {
        r.flags = [...FLAGS];
      },
      generation,
    );
  }
  return out;
}

/** The wrong generation's range for a call (the row above only mutates fields). */
function shapeMismatchRows(f: Fixture): BadInputRow[] {
  const pfnsShape = SHAPES.find((s) => !s.tables) as Shape;
  const tableShape = SHAPES.find((s) => s.name.includes("'5.5'") && !s.legacy) as Shape;
  return [
    {
      fn: 'hmm_range_fault',
      input: "a v5.8 range given to hmmRangeFault(range, flags, { version: '5.5' })",
      call: async () => f.faultUnchanged('v5.8 range', tableShape, await f.fresh(pfnsShape)),
      expect: generation,
    },
    {
      fn: 'hmm_range_fault',
      input: "a v5.5 range given to hmmRangeFault(range, { version: '5.8' })",
      call: async () => f.faultUnchanged('v5.5 range', pfnsShape, await f.fresh(tableShape)),
      expect: generation,
    },
    {
      fn: 'hmm_range_fault',
      input: "a flags argument on version '5.8'",
      call: async () => hmmRangeFault((await f.fresh(pfnsShape)) as never, 0, { version: '5.8' }),
      expect: generation,
    },
    {
      fn: 'hmm_range_fault',
      input: "options.version = '5.6'",
      call: async () =>
        hmmRangeFault((await f.fresh(tableShape)) as HmmRange, 0, { version: '5.6' as never }),
      expect: invalid(/options\.version is '5\.6'/),
    },
    {
      fn: 'hmm_range_fault',
      input: 'options = 5',
      call: async () => hmmRangeFault((await f.fresh(pfnsShape)) as never, 5 as never, 5 as never),
      expect: invalid(/options is a number/),
    },
    {
      fn: 'hmm_range_fault',
      input: 'range = null',
      call: () => hmmRangeFault(null as never),
      expect: invalid(),
    },
    {
      fn: 'hmm_range_fault',
      input: "version '5.7' given to v58.hmmRangeFault",
      call: async () =>
        v58.hmmRangeFault((await f.fresh(pfnsShape)) as HmmPfnsRange, { version: '5.7' } as never),
      expect: generation,
    },
  ];
}

function helperRows(f: Fixture): BadInputRow[] {
  const out: BadInputRow[] = [];
  const add = (fn: string, input: string, call: () => unknown, expect = invalid()): void => {
    out.push({ fn, input, call, expect });
  };
  const tr = () => tableRange({ ...f.e, notifier: f.e.notifier }, null, FLAGS);
  for (const [what, v] of BAD_NUMBERS) {
    add('hmm_device_entry_to_page', `entry = ${what}`, () => hmmDeviceEntryToPage(tr(), v));
    add('hmm_device_entry_to_pfn', `entry = ${what}`, () => hmmDeviceEntryToPfn(tr(), v));
    add('hmm_device_entry_from_page', `page = ${what}`, () => hmmDeviceEntryFromPage(tr(), v));
    add('hmm_device_entry_from_pfn', `pfn = ${what}`, () => hmmDeviceEntryFromPfn(tr(), v));
    add('hmm_device_entry_to_pfn', `range.pfnShift = ${what}`, () =>
      hmmDeviceEntryToPfn({ ...tr(), pfnShift: v }, 1),
    );
    add('hmm_device_entry_from_pfn', `range.flags[HMM_PFN_VALID] = ${what}`, () =>
      hmmDeviceEntryFromPfn({ ...tr(), flags: [v, 2, 8] }, 1),
    );
    add('hmmEntryComplement', `v = ${what}`, () => hmmEntryComplement(v));
    add('hmmEntryLowBits', `x = ${what}`, () => hmmEntryLowBits(v));
    add('hmmEntryOr', `x = ${what}`, () => hmmEntryOr(v, 1));
    add('hmmEntryOr', `f = ${what}`, () => hmmEntryOr(1, v));
    add('hmmEntryTest', `x = ${what}`, () => hmmEntryTest(v, 1));
    add('hmm_pfn_to_page', `hmm_pfn = ${what}`, () => hmmPfnToPage(v));
    add('hmm_pfn_to_map_order', `hmm_pfn = ${what}`, () => hmmPfnToMapOrder(v));
    add('hmmPfnMake', `pfn = ${what}`, () => hmmPfnMake(v, 0));
    add('hmmPfnMake', `flags = ${what}`, () => hmmPfnMake(1, v));
    add('hmmPfnToKernelWord', `hmm_pfn = ${what}`, () => hmmPfnToKernelWord(v));
    add('createHmmRange', `start = ${what}`, () =>
      createHmmRange({ start: v, end: END, flags: [...FLAGS], values: [...VALUES] }),
    );
    add('createHmmRange', `end = ${what}`, () =>
      createHmmRange({ start: BASE, end: v, flags: [...FLAGS], values: [...VALUES] }),
    );
    add('createHmmRange', `notifierSeq = ${what}`, () =>
      createHmmRange({
        start: BASE,
        end: END,
        flags: [...FLAGS],
        values: [...VALUES],
        notifierSeq: v,
      }),
    );
    add('createHmmRange', `pfnShift = ${what}`, () =>
      createHmmRange({
        start: BASE,
        end: END,
        flags: [...FLAGS],
        values: [...VALUES],
        pfnShift: v,
      }),
    );
    add('createHmmPfnsRange', `start = ${what}`, () => createHmmPfnsRange({ start: v, end: END }));
    add('createHmmPfnsRange', `pfnFlagsMask = ${what}`, () =>
      createHmmPfnsRange({ start: BASE, end: END, pfnFlagsMask: v }),
    );
  }
  add(
    'hmm_device_entry_from_pfn',
    'a pfn not representable below 2^53',
    () => hmmDeviceEntryFromPfn({ ...tr(), pfnShift: 52 }, 4),
    invalid(/not representable/),
  );
  add(
    'hmm_pfn_to_page',
    'an entry without HMM_PFN_VALID',
    () => hmmPfnToPage(5 * 256),
    invalid(/has no HMM_PFN_VALID/),
  );
  add('hmmPfnMake', 'pfn = 2^45', () => hmmPfnMake(2 ** 45, 0));
  add('hmmPfnFromKernelWord', 'word = 1 (a number)', () => hmmPfnFromKernelWord(1 as never));
  add('hmmPfnFromKernelWord', 'word = 2^64', () => hmmPfnFromKernelWord(1n << 64n));
  add('hmm_device_entry_to_page', 'range = null', () => hmmDeviceEntryToPage(null as never, 1));
  add('createHmmRange', 'init = null', () => createHmmRange(null as never));
  add('createHmmRange', 'notifier = {}', () =>
    createHmmRange({
      start: BASE,
      end: END,
      flags: [...FLAGS],
      values: [...VALUES],
      notifier: {} as never,
    }),
  );
  add('createHmmPfnsRange', 'defaultFlags = 0x100', () =>
    createHmmPfnsRange({ start: BASE, end: END, defaultFlags: 0x100 }),
  );
  add('hmmQuirksFor', "version = '5.6'", () => hmmQuirksFor('5.6' as never));
  return out;
}

describe('bad-input table: @hmmsim/hmm-range', () => {
  it('answers every bad input in every generation with the errno or a typed error, and changes nothing', async () => {
    const f = await fixture();
    const rows = [
      ...SHAPES.flatMap((s) => faultRows(f, s)),
      ...shapeMismatchRows(f),
      ...helperRows(f),
    ];
    const report = await runBadInputTable('@hmmsim/hmm-range', rows, { afterEach: f.afterEach });
    console.log(formatBadInputReport(report));
    expect(report.failures).toEqual([]);
    expect(report.answers.get('accepted')).toBeUndefined();
    // Every generation's call shape is in the table.
    for (const s of SHAPES) expect(rows.some((r) => r.input.startsWith(s.name))).toBe(true);
  });
});
