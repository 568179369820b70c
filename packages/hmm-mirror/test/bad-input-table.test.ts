/**
 * The bad-input table of @hmmsim/hmm-mirror: the hmm_mirror / hmm_range API on both
 * implementations (legacy v5.4 and the compat shim), the drivers, the device page table and the
 * scenario builders, called with each bad number and each misuse in the wrong state — twice, out
 * of order, after the mm exited, through the other implementation, with a range changed (or its
 * shim notifier removed) between register and use. Each row must get the kernel's errno or a
 * typed error naming the function; afterwards the mm, notifier and hmm_mirror invariants must
 * hold and a normal register / wait / fault / valid / unregister must work on both APIs.
 */
import { HMM_FAULT_SNAPSHOT, type HmmRange, hmmRangeFault } from '@hmmsim/hmm-range';
import {
  downRead,
  EFAULT,
  EINVAL,
  InvalidArgumentError,
  KernelBugError,
  PAGE_SIZE,
  upRead,
} from '@hmmsim/kernel';
import {
  BAD_NUMBERS,
  type BadInputExpectation,
  type BadInputRow,
  formatBadInputReport,
  runBadInputTable,
} from '@hmmsim/kernel/testing';
import { assertMmInvariants, createMm, type MmStruct, mmput } from '@hmmsim/mm';
import {
  assertMmuNotifierInvariants,
  type MmuIntervalNotifier,
  mmuIntervalNotifierRemove,
} from '@hmmsim/mmu-notifier';
import { describe, expect, it } from 'vitest';
import {
  assertHmmMirrorInvariants,
  cpuMappingAt,
  DevicePageTable,
  driverRange,
  findPfnMappings,
  HMM_RANGE_DEFAULT_TIMEOUT,
  HmmMirror,
  type HmmMirrorApi,
  hmmRangeOverlaps,
  hmmSetOptions,
  IntervalDriver,
  LegacyDriver,
  legacyHmmMirrorApi,
  mistakeScenario,
  raceScenario,
  rangesOfMirror,
  runRace,
  setRequests,
  shimHmmMirrorApi,
} from '../src/index.ts';
import { BASE, journalMirror, NPAGES, range, register, world } from './helpers.ts';

const APIS: readonly HmmMirrorApi[] = [legacyHmmMirrorApi, shimHmmMirrorApi];
const END = BASE + NPAGES * PAGE_SIZE;

const invalid = (message?: RegExp): BadInputExpectation =>
  message === undefined
    ? { error: InvalidArgumentError }
    : { error: InvalidArgumentError, message };
const bug = (message: RegExp): BadInputExpectation => ({ error: KernelBugError, message });

async function fixture() {
  const w = await world();
  const mirrors = new Map<HmmMirrorApi, HmmMirror>();
  for (const api of APIS) {
    const m = journalMirror(api.name, []);
    expect(await register(api, m, w.mm)).toBe(0);
    mirrors.set(api, m);
  }
  const mirrorOf = (api: HmmMirrorApi): HmmMirror => mirrors.get(api) as HmmMirror;
  const other = (api: HmmMirrorApi): HmmMirrorApi =>
    api === legacyHmmMirrorApi ? shimHmmMirrorApi : legacyHmmMirrorApi;

  /** A new mm with `api`'s mirror registered on it, which then exits (the mirror stays). */
  async function exitedWorld(api: HmmMirrorApi): Promise<{ mm: MmStruct; mirror: HmmMirror }> {
    const mm = createMm(w.machine);
    const mirror = journalMirror('x', []);
    expect(await register(api, mirror, mm)).toBe(0);
    await mmput(mm);
    return { mm, mirror };
  }

  /** Register `r` through `api`, run `fn`, then restore `r`'s bounds and unregister it. */
  async function withRegistered<T>(
    api: HmmMirrorApi,
    r: HmmRange,
    fn: () => T | Promise<T>,
  ): Promise<T> {
    const ret = await api.hmmRangeRegister(r, mirrorOf(api));
    if (ret !== 0) throw new Error(`setup: hmm_range_register returned ${ret}`);
    const { start, end } = r;
    try {
      return await fn();
    } finally {
      r.start = start;
      r.end = end;
      await api.hmmRangeUnregister(r);
    }
  }

  async function afterEach(): Promise<void> {
    const t = w.sched.current;
    if (t.preemptCount !== 0) throw new Error(`preemptCount is ${t.preemptCount}`);
    if (w.mm.mmapSem.writer !== undefined || w.mm.mmapSem.readers.size > 0)
      throw new Error('mmap_sem left held');
    assertMmInvariants(w.mm);
    assertMmuNotifierInvariants(w.mm);
    assertHmmMirrorInvariants(w.mm);
    for (const api of APIS) {
      if (rangesOfMirror(mirrorOf(api)) !== 0)
        throw new Error(`${api.name}: a range was left registered`);
      const r = range();
      if ((await api.hmmRangeRegister(r, mirrorOf(api))) !== 0)
        throw new Error(`${api.name}: register failed`);
      if (!(await api.hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT)))
        throw new Error(`${api.name}: wait_until_valid failed`);
      await downRead(w.mm.mmapSem);
      const ret = await hmmRangeFault(r, HMM_FAULT_SNAPSHOT);
      upRead(w.mm.mmapSem);
      if (ret !== NPAGES) throw new Error(`${api.name}: a snapshot returned ${ret}`);
      if (!api.hmmRangeValid(r)) throw new Error(`${api.name}: the range is not valid`);
      assertHmmMirrorInvariants(w.mm);
      await api.hmmRangeUnregister(r);
    }
  }
  return { ...w, mirrorOf, other, exitedWorld, withRegistered, afterEach };
}

type Fixture = Awaited<ReturnType<typeof fixture>>;

function apiRows(f: Fixture, api: HmmMirrorApi): BadInputRow[] {
  const out: BadInputRow[] = [];
  const add = (fn: string, input: string, call: () => unknown, expect: BadInputExpectation) =>
    out.push({ fn, input: `${api.name}: ${input}`, call, expect });
  const mirror = f.mirrorOf(api);
  /** hmm_mirror_register under mmap_sem for write. */
  const reg = (m: unknown, mm: unknown) => register(api, m as HmmMirror, (mm ?? f.mm) as MmStruct);
  const regNoLock = (m: unknown, mm: unknown) =>
    api.hmmMirrorRegister(m as HmmMirror, mm as MmStruct);

  // ---- hmm_mirror_register / unregister ----
  add('hmm_mirror_register', 'mirror = NULL', () => regNoLock(null, f.mm), { errno: -EINVAL });
  add('hmm_mirror_register', 'mm = NULL', () => regNoLock(journalMirror('n', []), null), {
    errno: -EINVAL,
  });
  add('hmm_mirror_register', 'mirror.ops = NULL', () => reg(new HmmMirror(null), f.mm), {
    errno: -EINVAL,
  });
  for (const [what, v] of [
    ['a number', 5],
    ['a plain object', { ops: {} }],
  ] as const) {
    add(
      'hmm_mirror_register',
      `mirror = ${what}`,
      () => reg(v, f.mm),
      invalid(/mirror is .*; expected an HmmMirror/),
    );
    add(
      'hmm_mirror_register',
      `mm = ${what}`,
      () => regNoLock(journalMirror('n', []), v),
      invalid(/mm is .*; expected an mm_struct/),
    );
  }
  add(
    'hmm_mirror_register',
    'mirror.ops = 5',
    () => reg(new HmmMirror(5 as never), f.mm),
    invalid(/mirror\.ops is a number/),
  );
  add(
    'hmm_mirror_register',
    'ops without syncCpuDevicePagetables',
    () => reg(new HmmMirror({} as never), f.mm),
    bug(/has no syncCpuDevicePagetables/),
  );
  add(
    'hmm_mirror_register',
    'without mmap_sem held for write',
    () => regNoLock(journalMirror('n', []), f.mm),
    bug(/without mmap_sem held for write/),
  );
  add(
    'hmm_mirror_register',
    'the same mirror twice',
    () => reg(mirror, f.mm),
    bug(/already registered/),
  );
  add(
    'hmm_mirror_register',
    'a mirror registered through the other API',
    () => reg(f.mirrorOf(f.other(api)), f.mm),
    bug(/already registered/),
  );
  add(
    'hmm_mirror_register',
    'on an exited mm',
    async () => {
      const mm = createMm(f.machine);
      await mmput(mm);
      return reg(journalMirror('late', []), mm);
    },
    bug(/has exited \(mm_users 0\)/),
  );
  add(
    'hmm_mirror_unregister',
    'never registered',
    () => api.hmmMirrorUnregister(journalMirror('n', [])),
    bug(/not registered/),
  );
  add(
    'hmm_mirror_unregister',
    'twice',
    async () => {
      const m = journalMirror('t', []);
      await reg(m, f.mm);
      await api.hmmMirrorUnregister(m);
      return api.hmmMirrorUnregister(m);
    },
    bug(/not registered \(mirror->hmm is NULL\)/),
  );
  add(
    'hmm_mirror_unregister',
    'through the other API',
    () => f.other(api).hmmMirrorUnregister(mirror),
    bug(/registered through the .* API/),
  );
  add(
    'hmm_mirror_unregister',
    'with a range still registered (out of order)',
    () => f.withRegistered(api, range(), () => api.hmmMirrorUnregister(mirror)),
    bug(/range\(s\) registered through this mirror are still registered/),
  );
  for (const [what, v] of [
    ['null', null],
    ['a number', 5],
  ] as const) {
    add(
      'hmm_mirror_unregister',
      `mirror = ${what}`,
      () => api.hmmMirrorUnregister(v as never),
      invalid(),
    );
  }

  // ---- hmm_range_register ----
  for (const [what, v] of BAD_NUMBERS) {
    add(
      'hmm_range_register',
      `range.start = ${what}`,
      () => {
        const r = range();
        r.start = v;
        r.valid = true;
        return api.hmmRangeRegister(r, mirror).finally(() => {
          if (!r.valid) throw new Error('range.valid was cleared by a refused register');
        });
      },
      invalid(/range\.start is .*; expected an address/),
    );
    add(
      'hmm_range_register',
      `range.end = ${what}`,
      () => {
        const r = range();
        r.end = v;
        return api.hmmRangeRegister(r, mirror);
      },
      invalid(/range\.end is .*; expected an address/),
    );
  }
  for (const [what, s, e] of [
    ['start not page aligned', BASE + 1, END],
    ['end not page aligned', BASE, END - 1],
    ['empty', BASE, BASE],
    ['end < start', END, BASE],
  ] as const) {
    add(
      'hmm_range_register',
      what,
      () => {
        const r = range();
        r.start = s;
        r.end = e;
        return api.hmmRangeRegister(r, mirror);
      },
      { errno: -EINVAL },
    );
  }
  add(
    'hmm_range_register',
    'range = NULL',
    () => api.hmmRangeRegister(null as never, mirror),
    invalid(/range is null/),
  );
  add(
    'hmm_range_register',
    'mirror = NULL',
    () => api.hmmRangeRegister(range(), null as never),
    invalid(/mirror is null/),
  );
  add(
    'hmm_range_register',
    'a mirror not registered',
    () => api.hmmRangeRegister(range(), journalMirror('n', [])),
    bug(/the mirror is not registered/),
  );
  add(
    'hmm_range_register',
    'the same range twice',
    () => {
      const r = range();
      return f.withRegistered(api, r, () => api.hmmRangeRegister(r, mirror));
    },
    bug(/already registered/),
  );
  add(
    'hmm_range_register',
    'through the other API than the mirror',
    () => f.other(api).hmmRangeRegister(range(), mirror),
    bug(/registered through the .* API/),
  );
  add(
    'hmm_range_register',
    'after the mm exited',
    async () => {
      const x = await f.exitedWorld(api);
      try {
        return await api.hmmRangeRegister(range(), x.mirror);
      } finally {
        await api.hmmMirrorUnregister(x.mirror);
      }
    },
    { errno: -EFAULT },
  );

  // ---- hmm_range_unregister / valid / wait_until_valid ----
  add(
    'hmm_range_unregister',
    'never registered',
    () => api.hmmRangeUnregister(range()),
    bug(/range->hmm is NULL/),
  );
  add(
    'hmm_range_unregister',
    'twice',
    async () => {
      const r = range();
      await f.withRegistered(api, r, () => {});
      return api.hmmRangeUnregister(r);
    },
    bug(/poisoned \(already unregistered\)/),
  );
  add(
    'hmm_range_unregister',
    'through the other API',
    () => {
      const r = range();
      return f.withRegistered(api, r, () => f.other(api).hmmRangeUnregister(r));
    },
    bug(/registered through the .* API/),
  );
  add(
    'hmm_range_unregister',
    'range = NULL',
    () => api.hmmRangeUnregister(null as never),
    invalid(),
  );
  add('hmm_range_valid', 'range = NULL', () => api.hmmRangeValid(null as never), invalid());
  for (const [what, grow] of [
    ['start', -PAGE_SIZE],
    ['end', PAGE_SIZE],
  ] as const) {
    add(
      'hmm_range_valid',
      `range.${what} changed after register`,
      () => {
        const r = range();
        return f.withRegistered(api, r, () => {
          if (what === 'start') r.start += grow;
          else r.end += grow;
          return api.hmmRangeValid(r);
        });
      },
      bug(/was registered as \[0x10000000, 0x10004000\) but is now/),
    );
    add(
      'hmm_range_wait_until_valid',
      `range.${what} changed after register`,
      () => {
        const r = range();
        return f.withRegistered(api, r, () => {
          if (what === 'start') r.start += grow;
          else r.end += grow;
          return api.hmmRangeWaitUntilValid(r, HMM_RANGE_DEFAULT_TIMEOUT);
        });
      },
      bug(/hmm_range_wait_until_valid: the range was registered as/),
    );
  }
  for (const [what, v] of BAD_NUMBERS) {
    add(
      'hmm_range_wait_until_valid',
      `timeout = ${what}`,
      () => {
        const r = range();
        return f.withRegistered(api, r, () => api.hmmRangeWaitUntilValid(r, v));
      },
      invalid(/timeout is .*; expected milliseconds/),
    );
  }
  add(
    'hmm_range_wait_until_valid',
    'never registered',
    () => api.hmmRangeWaitUntilValid(range(), 10),
    bug(/the range is not registered/),
  );
  if (api === shimHmmMirrorApi) {
    const removedBehind = (fn: (r: HmmRange) => unknown) => () => {
      const r = range();
      return f.withRegistered(api, r, async () => {
        await mmuIntervalNotifierRemove(r.notifier as MmuIntervalNotifier);
        return fn(r);
      });
    };
    add(
      'hmm_range_valid',
      "the range's notifier removed behind the shim",
      removedBehind((r) => api.hmmRangeValid(r)),
      bug(/interval notifier was removed/),
    );
    add(
      'hmm_range_wait_until_valid',
      "the range's notifier removed behind the shim",
      removedBehind((r) => api.hmmRangeWaitUntilValid(r, 10)),
      bug(/interval notifier was removed/),
    );
    add(
      'hmm_range_fault',
      'a shim range whose notifier was removed (accepted before)',
      removedBehind(async (r) => {
        await downRead(f.mm.mmapSem);
        try {
          return await hmmRangeFault(r, HMM_FAULT_SNAPSHOT);
        } finally {
          upRead(f.mm.mmapSem);
        }
      }),
      bug(/range\.notifier is not inserted: it was removed/),
    );
    add(
      'hmm_range_fault',
      'a shim range grown past its notifier',
      () => {
        const r = range();
        return f.withRegistered(api, r, async () => {
          r.end += PAGE_SIZE;
          r.pfns = new Float64Array(NPAGES + 1);
          await downRead(f.mm.mmapSem);
          try {
            return await hmmRangeFault(r, HMM_FAULT_SNAPSHOT);
          } finally {
            upRead(f.mm.mmapSem);
          }
        });
      },
      bug(/range\.notifier covers \[0x10000000, 0x10003fff\] but the range is/),
    );
    add(
      'hmm_range_valid',
      'range.notifier replaced after register',
      () => {
        const r = range();
        const mni = { saved: null as MmuIntervalNotifier | null };
        return f.withRegistered(api, r, () => {
          mni.saved = r.notifier;
          r.notifier = null;
          try {
            return api.hmmRangeValid(r);
          } finally {
            r.notifier = mni.saved;
          }
        });
      },
      bug(/range\.notifier was changed after hmm_range_register/),
    );
  }
  return out;
}

function modelRows(f: Fixture): BadInputRow[] {
  const out: BadInputRow[] = [];
  const add = (fn: string, input: string, call: () => unknown, expect = invalid()) =>
    out.push({ fn, input, call, expect });
  const dev = new DevicePageTable('dev', BASE, NPAGES);
  for (const [what, v] of BAD_NUMBERS) {
    add('DevicePageTable', `start = ${what}`, () => new DevicePageTable('d', v, 1));
    add('DevicePageTable', `npages = ${what}`, () => new DevicePageTable('d', BASE, v));
    add('DevicePageTable dev.set', `pfn = ${what}`, () => dev.set(0, v, false), invalid(/pfn is/));
    add(
      'DevicePageTable dev',
      `page index = ${what}`,
      () => dev.set(v, 1, false),
      invalid(/page index is/),
    );
    add('DevicePageTable dev.clearRange', `start = ${what}`, () => dev.clearRange(v, END));
    add('DevicePageTable dev.indexOf', `addr = ${what}`, () => dev.indexOf(v));
    add('DevicePageTable dev', `entry(${what})`, () => dev.entry(v));
    add('LegacyDriver', `start = ${what}`, () => new LegacyDriver(legacyHmmMirrorApi, f.mm, v, 1));
    add(
      'LegacyDriver',
      `maxTries = ${what}`,
      () => new LegacyDriver(legacyHmmMirrorApi, f.mm, BASE, 1, { maxTries: v }),
    );
    add('IntervalDriver', `npages = ${what}`, () => new IntervalDriver(f.mm, BASE, v));
    add(
      'IntervalDriver',
      `maxTries = ${what}`,
      () => new IntervalDriver(f.mm, BASE, 1, { maxTries: v }),
    );
    add('driverRange', `start = ${what}`, () => driverRange(v, 1));
    add('driverRange', `npages = ${what}`, () => driverRange(BASE, v));
    add('cpuMappingAt', `addr = ${what}`, () => cpuMappingAt(f.mm, v));
    add('findPfnMappings', `pfn = ${what}`, () => findPfnMappings(v, []));
    add('hmmRangeOverlaps', `update.end = ${what}`, () =>
      hmmRangeOverlaps({ start: BASE, end: END }, { start: BASE, end: v }),
    );
    // Infinity is a bound runRace takes (every interleaving); every other bad number is refused.
    if (v !== Number.POSITIVE_INFINITY) {
      add('runRace', `bound = ${what}`, () => runRace('shim', { bound: v }));
    }
  }
  add('DevicePageTable', 'start not page aligned', () => new DevicePageTable('d', BASE + 1, 1));
  add('DevicePageTable', 'npages = 0', () => new DevicePageTable('d', BASE, 0));
  add('DevicePageTable', 'npages = 2^27', () => new DevicePageTable('d', BASE, 2 ** 27));
  add('DevicePageTable dev', 'page index = npages', () => dev.set(NPAGES, 1, false));
  add('DevicePageTable dev.set', "write = 'yes'", () => dev.set(0, 1, 'yes' as never));
  add(
    'LegacyDriver',
    'mm = null',
    () => new LegacyDriver(legacyHmmMirrorApi, null as never, BASE, 1),
  );
  add('LegacyDriver', 'api = null', () => new LegacyDriver(null as never, f.mm, BASE, 1));
  add(
    'LegacyDriver',
    "hmmVersion = '5.8'",
    () => new LegacyDriver(legacyHmmMirrorApi, f.mm, BASE, 1, { hmmVersion: '5.8' as never }),
  );
  add('IntervalDriver', 'mm = {}', () => new IntervalDriver({} as never, BASE, 1));
  add(
    'IntervalDriver',
    "mistake = 'typo'",
    () => new IntervalDriver(f.mm, BASE, 1, { mistake: 'typo' as never }),
  );
  add('LegacyDriver.fault', 'write = 1', () =>
    new LegacyDriver(legacyHmmMirrorApi, f.mm, BASE, 1).fault(1 as never),
  );
  add('IntervalDriver.fault', 'write = undefined', () =>
    new IntervalDriver(f.mm, BASE, 1).fault(undefined as never),
  );
  add('setRequests', 'write = null', () => setRequests(driverRange(BASE, 1), null as never));
  add('hmmSetOptions', "overlapTest = 'fuzzy'", () =>
    hmmSetOptions(f.mm, { overlapTest: 'fuzzy' as never }),
  );
  add('hmmSetOptions', 'mm = null', () => hmmSetOptions(null as never, {}));
  add('raceScenario', "op = 'mremap'", () => raceScenario('mremap' as never, 'shim'));
  add('raceScenario', "impl = 'nouveau'", () => raceScenario('munmap', 'nouveau' as never));
  add('mistakeScenario', "mistake = 'typo'", () => mistakeScenario('typo' as never));
  add('runRace', "impl = 'all'", () => runRace('all' as never));
  add('runRace', "ops = ['mremap']", () => runRace('shim', { ops: ['mremap' as never] }));
  add('cpuMappingAt', 'mm = null', () => cpuMappingAt(null as never, BASE));
  return out;
}

describe('bad-input table: @hmmsim/hmm-mirror', () => {
  it('answers every bad input on both APIs with the errno or a typed error, and changes nothing', async () => {
    const f = await fixture();
    const rows = [...APIS.flatMap((api) => apiRows(f, api)), ...modelRows(f)];
    const report = await runBadInputTable('@hmmsim/hmm-mirror', rows, { afterEach: f.afterEach });
    console.log(formatBadInputReport(report));
    expect(report.failures).toEqual([]);
    expect(report.answers.get('accepted')).toBeUndefined();
  });
});
