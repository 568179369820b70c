/**
 * The call shape of each hmm_range_fault() generation: `hmmResolveCall` defaults, every
 * HmmGenerationError (a call or range of another kernel, named with the generation and what that
 * kernel expected, nothing changed), the v57 / v58 / v59 facades and subpath modules, and the
 * quirk sets of v5.7–v5.9.
 */
import { InvalidArgumentError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  createHmmPfnsRange,
  createHmmRange,
  HMM_FAULT_SNAPSHOT,
  HMM_PFN_FLAG_MAX,
  HMM_PFN_FLAG_MAX_V57,
  HMM_VERSIONS,
  HmmGenerationError,
  type HmmPfnsRange,
  type HmmQuirks,
  type HmmRange,
  type HmmVersion,
  hmmCheckRangeShape,
  hmmQuirksFor,
  hmmRangeFault,
  hmmResolveCall,
  hmmVersionHasTables,
  hmmVersionTakesFlags,
  HMM_PFN_VALID as SEED_HMM_PFN_VALID,
  v57,
  v58,
  v59,
} from '../src/index.ts';
import * as sub57 from '../src/v5.7.ts';
import * as sub58 from '../src/v5.8.ts';
import * as sub59 from '../src/v5.9.ts';
import {
  BASE,
  countingHandler,
  cpuEnt,
  type Env,
  ent,
  env,
  FLAGS,
  legacyRange,
  mapAnon,
  out,
  PAGE,
  SHIFT,
  touch,
  V,
  VALUES,
} from './helpers.ts';
import {
  FLAGS57,
  OWNER_A,
  outPfns,
  pe,
  protnonePte,
  range57,
  rangePfns,
  S,
  S58,
  twoThps,
  underSem,
} from './helpers-gen.ts';

/** Expect `p` to reject with an HmmGenerationError for `version` whose message matches `msg`. */
async function rejectsGen(p: Promise<unknown>, version: HmmVersion, msg: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(err).toBeInstanceOf(HmmGenerationError);
  expect(err).toBeInstanceOf(InvalidArgumentError);
  const g = err as HmmGenerationError;
  expect(g.name).toBe('HmmGenerationError');
  expect(g.version).toBe(version);
  expect(g.message.startsWith(`hmm_range_fault (v${version}): `)).toBe(true);
  expect(g.message).toMatch(msg);
}

/** A world with 4 written pages, a counting handler and mmap_sem held around `fn`. */
async function world(): Promise<Env> {
  const e = env();
  await mapAnon(e, BASE, 4);
  await touch(e, BASE, 4);
  return e;
}

describe('hmmResolveCall: which generation a call shape means', () => {
  it('(range, flags) defaults to v5.5; (range) and (range, opts) default to v5.8', () => {
    expect(hmmResolveCall(0, undefined)).toEqual({ version: '5.5', flags: 0, opts: {} });
    expect(hmmResolveCall(HMM_FAULT_SNAPSHOT, { version: '5.4' })).toEqual({
      version: '5.4',
      flags: HMM_FAULT_SNAPSHOT,
      opts: { version: '5.4' },
    });
    expect(hmmResolveCall(undefined, undefined)).toEqual({ version: '5.8', flags: 0, opts: {} });
    expect(hmmResolveCall({ version: '5.7' }, undefined).version).toBe('5.7');
    expect(hmmResolveCall({ version: '5.9' }, undefined)).toEqual({
      version: '5.9',
      flags: 0,
      opts: { version: '5.9' },
    });
    const quirks = { q2FaultWholeChunk: false };
    expect(hmmResolveCall({ quirks }, undefined)).toEqual({
      version: '5.8',
      flags: 0,
      opts: { quirks },
    });
  });

  for (const version of ['5.7', '5.8', '5.9'] as const) {
    it(`v${version} with a flags argument: HmmGenerationError (HMM_FAULT_SNAPSHOT removed by 6bfef2f91945)`, () => {
      let err: unknown;
      try {
        hmmResolveCall(HMM_FAULT_SNAPSHOT, { version });
      } catch (x) {
        err = x;
      }
      expect(err).toBeInstanceOf(HmmGenerationError);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^hmm_range_fault \\(v${version.replace('.', '\\.')}\\): called with a flags argument \\(2\\); since v5\\.7 the call is hmmRangeFault\\(range\\)`,
        ),
      );
      expect((err as Error).message).toMatch(/6bfef2f91945/);
    });
  }

  for (const version of ['5.4', 'seed', '5.5'] as const) {
    it(`v${version} without flags: HmmGenerationError (this kernel takes hmmRangeFault(range, flags))`, () => {
      expect(() => hmmResolveCall({ version }, undefined)).toThrow(HmmGenerationError);
      expect(() => hmmResolveCall({ version }, undefined)).toThrow(
        `hmm_range_fault (v${version}): called without flags; this kernel takes hmmRangeFault(range, flags)`,
      );
    });
  }

  it('a third argument without flags, a bad version or non-object options: InvalidArgumentError, not a generation error', () => {
    for (const [a, b, msg] of [
      [{}, {}, /third argument without a numeric flags argument/],
      [
        { version: '5.6' },
        undefined,
        /options\.version is '5\.6'; expected one of '5\.4', 'seed', '5\.5', '5\.7', '5\.8', '5\.9'/,
      ],
      [0, { version: '6.0' }, /options\.version is '6\.0'/],
      [0, 'fast', /options is a string; expected an object/],
      [null, undefined, /options is null; expected an object/],
    ] as const) {
      let err: unknown;
      try {
        hmmResolveCall(a, b);
      } catch (x) {
        err = x;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err).not.toBeInstanceOf(HmmGenerationError);
      expect((err as Error).message).toMatch(msg);
    }
  });

  it('hmmVersionHasTables / hmmVersionTakesFlags / HMM_VERSIONS', () => {
    expect(HMM_VERSIONS).toEqual(['5.4', 'seed', '5.5', '5.7', '5.8', '5.9']);
    expect(Object.isFrozen(HMM_VERSIONS)).toBe(true);
    expect(HMM_VERSIONS.map(hmmVersionHasTables)).toEqual([true, true, true, true, false, false]);
    expect(HMM_VERSIONS.map(hmmVersionTakesFlags)).toEqual([true, true, true, false, false, false]);
  });
});

describe('HmmGenerationError: a call of another kernel changes nothing', () => {
  it('v5.7: flags argument on a v5.7 range', async () => {
    const e = await world();
    const r = await range57(e, BASE, 4, { defaultFlags: V });
    r.pfns.fill(S);
    await rejectsGen(
      underSem(e, () => hmmRangeFault(r, 0, { version: '5.7' })),
      '5.7',
      /called with a flags argument \(0\)/,
    );
    expect(out(r)).toEqual(Array(4).fill(S));
  });

  it('v5.5: no flags argument on a v5.5 range', async () => {
    const e = await world();
    const r = legacyRange(e, BASE, 4);
    r.pfns.fill(S);
    await rejectsGen(
      underSem(e, () => hmmRangeFault(r, { version: '5.5' })),
      '5.5',
      /called without flags/,
    );
    expect(out(r)).toEqual(Array(4).fill(S));
  });

  it('v5.7: a three-entry flags table (HMM_PFN_DEVICE_PRIVATE was removed by 17ffdc482982)', async () => {
    const e = await world();
    const h = countingHandler(e);
    const r = await range57(e, BASE, 4, { defaultFlags: V });
    r.flags = [...FLAGS];
    r.pfns.fill(S);
    await rejectsGen(
      underSem(e, () => hmmRangeFault(r, { version: '5.7', faultHandler: h.handler })),
      '5.7',
      /range\.flags has 3 entries; expected 2 \(HMM_PFN_VALID, HMM_PFN_WRITE\).*17ffdc482982/,
    );
    expect(h.calls).toEqual([]);
    expect(out(r)).toEqual(Array(4).fill(S));
    r.flags = [V];
    await rejectsGen(
      underSem(e, () => v57.hmmRangeFault(r)),
      '5.7',
      /has 1 entries; expected 2/,
    );
  });

  for (const version of ['5.4', 'seed', '5.5', '5.7'] as const) {
    it(`v${version}: an hmmPfns range on a table generation`, async () => {
      const e = await world();
      const r = await rangePfns(e, BASE, 4, { defaultFlags: 0x80 });
      r.hmmPfns.fill(S58);
      const call = () =>
        version === '5.7'
          ? hmmRangeFault(r, { version })
          : hmmRangeFault(r as unknown as HmmRange, 0, { version });
      await rejectsGen(
        underSem(e, call),
        version,
        /range has hmmPfns \(the v5\.8 format\); this kernel reads range\.pfns with the driver flags\/values\/pfnShift tables/,
      );
      expect(outPfns(r)).toEqual(Array(4).fill(S58));
    });
  }

  for (const version of ['5.8', '5.9'] as const) {
    it(`v${version}: a table range (no hmmPfns; 2733ea144dcc)`, async () => {
      const e = await world();
      const r = await range57(e, BASE, 4, { defaultFlags: V });
      r.pfns.fill(S);
      await rejectsGen(
        underSem(e, () => hmmRangeFault(r, { version })),
        version,
        /range has no hmmPfns; v5\.8 removed the driver-defined format \(2733ea144dcc\)/,
      );
      expect(out(r)).toEqual(Array(4).fill(S));
    });

    for (const field of ['pfns', 'flags', 'values', 'pfnShift', 'hmm', 'valid'] as const) {
      it(`v${version}: an hmmPfns range that also has the table field ${field}`, async () => {
        const e = await world();
        const h = countingHandler(e);
        const r = await rangePfns(e, BASE, 4, { defaultFlags: 0x80 });
        (r as unknown as Record<string, unknown>)[field] =
          field === 'pfns' ? new Float64Array(4) : 0;
        r.hmmPfns.fill(S58);
        await rejectsGen(
          underSem(e, () => hmmRangeFault(r, { version, faultHandler: h.handler })),
          version,
          new RegExp(
            `range\\.${field} is a field of the v5\\.4–v5\\.7 struct hmm_range; this kernel's has notifier`,
          ),
        );
        expect(h.calls).toEqual([]);
        expect(outPfns(r)).toEqual(Array(4).fill(S58));
      });
    }

    it(`v${version}: an hmmPfns range without a notifier`, async () => {
      const e = await world();
      const r = createHmmPfnsRange({ start: BASE, end: BASE + 4 * PAGE, defaultFlags: 0x80 });
      r.hmmPfns.fill(S58);
      await rejectsGen(
        underSem(e, () => hmmRangeFault(r, { version })),
        version,
        /range\.notifier is null; expected an inserted mmu_interval_notifier and notifierSeq from mmuIntervalReadBegin\(\)/,
      );
      expect(outPfns(r)).toEqual(Array(4).fill(S58));
    });
  }

  for (const version of ['5.4', 'seed', '5.5'] as const) {
    it(`v${version}: devPrivateOwner set (dev_private_owner arrived in v5.7, 08ddddda667b)`, async () => {
      const e = await world();
      const r = legacyRange(e, BASE, 4);
      r.devPrivateOwner = OWNER_A;
      r.pfns.fill(S);
      await rejectsGen(
        underSem(e, () => hmmRangeFault(r, HMM_FAULT_SNAPSHOT, { version })),
        version,
        /range\.devPrivateOwner is set; dev_private_owner arrived in v5\.7 \(08ddddda667b\)/,
      );
      expect(out(r)).toEqual(Array(4).fill(S));
      r.devPrivateOwner = null;
      expect(await underSem(e, () => hmmRangeFault(r, HMM_FAULT_SNAPSHOT, { version }))).toBe(4);
    });
  }

  it('hmmRangeFault(range) with no version is v5.8: a v5.7 table range is refused as such', async () => {
    const e = await world();
    const r = await range57(e, BASE, 4);
    r.pfns.fill(S);
    await rejectsGen(
      underSem(e, () => hmmRangeFault(r)),
      '5.8',
      /range has no hmmPfns/,
    );
    expect(out(r)).toEqual(Array(4).fill(S));
    expect(await underSem(e, () => hmmRangeFault(r, { version: '5.7' }))).toBe(4);
  });

  it('v5.7: no interval notifier (a legacy hmm_range_register range, removed by a22dd506400d)', async () => {
    const e = await world();
    const r = createHmmRange({
      start: BASE,
      end: BASE + 4 * PAGE,
      flags: [...FLAGS57],
      values: [...VALUES],
      pfnShift: SHIFT,
      hmm: { mmuNotifier: { mm: e.mm } },
      valid: true,
    });
    r.pfns.fill(S);
    await rejectsGen(
      underSem(e, () => v57.hmmRangeFault(r)),
      '5.7',
      /range has no interval notifier; hmm_mirror and hmm_range_register\(\) were removed in v5\.5 \(a22dd506400d\)/,
    );
    expect(out(r)).toEqual(Array(4).fill(S));
    r.hmm = null;
    await rejectsGen(
      underSem(e, () => v57.hmmRangeFault(r)),
      '5.7',
      /no interval notifier/,
    );
  });

  it('hmmCheckRangeShape accepts each generation its own range', async () => {
    const e = await world();
    const t57 = await range57(e, BASE, 4);
    const p = await rangePfns(e, BASE, 4);
    const legacy = legacyRange(e, BASE, 4);
    for (const v of ['5.4', 'seed', '5.5'] as const)
      expect(() => hmmCheckRangeShape(v, legacy)).not.toThrow();
    expect(() => hmmCheckRangeShape('5.7', t57)).not.toThrow();
    for (const v of ['5.8', '5.9'] as const) expect(() => hmmCheckRangeShape(v, p)).not.toThrow();
    expect(() => hmmCheckRangeShape('5.7', legacy)).toThrow(HmmGenerationError);
    expect(() => hmmCheckRangeShape('5.8', t57)).toThrow(HmmGenerationError);
    expect(() => hmmCheckRangeShape('5.5', p)).toThrow(HmmGenerationError);
  });
});

describe('facades and subpath modules', () => {
  it('the v57 namespace is the v5.7 subpath; its names are the v5.7 header', () => {
    expect(v57.hmmRangeFault).toBe(sub57.hmmRangeFault);
    expect(sub57.HMM_PFN_FLAG_MAX).toBe(2);
    expect(HMM_PFN_FLAG_MAX_V57).toBe(2);
    expect(HMM_PFN_FLAG_MAX).toBe(3); // the seed header's, with HMM_PFN_DEVICE_PRIVATE
    expect([sub57.HMM_PFN_VALID, sub57.HMM_PFN_WRITE]).toEqual([0, 1]);
    expect([sub57.HMM_PFN_ERROR, sub57.HMM_PFN_NONE, sub57.HMM_PFN_SPECIAL]).toEqual([0, 1, 2]);
    expect(sub57.createHmmRange).toBe(createHmmRange);
    expect('HMM_PFN_DEVICE_PRIVATE' in sub57).toBe(false);
  });

  it('the v58 / v59 namespaces are their subpaths; HMM_PFN_VALID is a bit there, an index in the seed', () => {
    expect(v58.hmmRangeFault).toBe(sub58.hmmRangeFault);
    expect(v59.hmmRangeFault).toBe(sub59.hmmRangeFault);
    expect(sub58.createHmmRange).toBe(createHmmPfnsRange);
    expect(sub59.createHmmRange).toBe(createHmmPfnsRange);
    expect(sub58.HMM_PFN_VALID).toBe(0x80);
    expect(SEED_HMM_PFN_VALID).toBe(0);
    expect(sub58.HMM_PFN_FLAGS).toBe(0xe0);
    expect(sub59.HMM_PFN_FLAGS).toBe(0xff);
    expect(sub59.hmmPfnToMapOrder(pe(1, 0x80 | 9))).toBe(9);
    expect('hmmPfnToMapOrder' in sub58).toBe(false);
    expect('HMM_PFN_SPECIAL' in sub58).toBe(false);
  });

  it('v57.hmmRangeFault(range) runs v5.7: protnone reported pfn|VALID, the page count returned', async () => {
    const e = env();
    const pfn = await protnonePte(e, BASE);
    const r = await range57(e, BASE, 2);
    expect(await underSem(e, () => sub57.hmmRangeFault(r))).toBe(2);
    expect(out(r)).toEqual([ent(pfn, V), cpuEnt(e, BASE + PAGE)]);
    // Options pass through, the version stays fixed.
    const q = await range57(e, BASE, 2);
    expect(
      await underSem(e, () =>
        v57.hmmRangeFault(q, { quirks: { q12ProtnoneReportedValid: false } }),
      ),
    ).toBe(2);
    expect(q.pfns[0]).toBe(ent(pfn, 0));
  });

  it('v58.hmmRangeFault(range) runs v5.8 (no map order, 0 returned); v59 runs v5.9 (order 9 on a THP)', async () => {
    const e = env({ thp: 'always' });
    const [h0] = await twoThps(e, BASE);
    const a = await rangePfns(e, BASE, 2);
    expect(await underSem(e, () => sub58.hmmRangeFault(a))).toBe(0);
    expect(outPfns(a)).toEqual([pe(h0, 0xc0), pe(h0 + 1, 0xc0)]);
    const b = await rangePfns(e, BASE, 2);
    expect(await underSem(e, () => sub59.hmmRangeFault(b))).toBe(0);
    expect(outPfns(b)).toEqual([pe(h0, 0xc9), pe(h0 + 1, 0xc9)]);
    const c = await rangePfns(e, BASE, 2);
    expect(await underSem(e, () => hmmRangeFault(c, { version: '5.9' }))).toBe(0);
    expect(outPfns(c)).toEqual(outPfns(b));
  });

  it('a facade names its own generation in errors (a table range given to v58, a v5.8 range to v57)', async () => {
    const e = await world();
    const t = await range57(e, BASE, 4);
    const p = await rangePfns(e, BASE, 4);
    await rejectsGen(
      underSem(e, () => v58.hmmRangeFault(t as unknown as HmmPfnsRange)),
      '5.8',
      /no hmmPfns/,
    );
    await rejectsGen(
      underSem(e, () => v59.hmmRangeFault(t as unknown as HmmPfnsRange)),
      '5.9',
      /no hmmPfns/,
    );
    await rejectsGen(
      underSem(e, () => v57.hmmRangeFault(p as unknown as HmmRange)),
      '5.7',
      /has hmmPfns/,
    );
  });
});

describe('hmmQuirksFor: v5.7, v5.8, v5.9', () => {
  const diff = (a: HmmQuirks, b: HmmQuirks) =>
    (Object.keys(a) as (keyof HmmQuirks)[]).filter((k) => a[k] !== b[k]);

  it('v5.5 → v5.7: Q4, Q5, Q10 fixed by the 2020 series; Q13 (foreign device-private faults fail) appears', () => {
    expect(diff(hmmQuirksFor('5.5'), hmmQuirksFor('5.7'))).toEqual([
      'q4MigrationNoWait',
      'q5PmdMigrationLeavesRequests',
      'q10SpecialFailsInSnapshot',
      'q13ForeignPrivateFaultFails',
    ]);
    const q = hmmQuirksFor('5.7');
    expect([
      q.q2FaultWholeChunk,
      q.q12ProtnoneReportedValid,
      q.q13ForeignPrivateFaultFails,
    ]).toEqual([true, true, true]);
    expect([q.q1StrayWalk, q.q3ZeroPageSpecial, q.q4MigrationNoWait, q.q8NoneFillOnError]).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('v5.7 → v5.8: only Q12 (a protnone entry is the bare pfn); v5.8 → v5.9: nothing', () => {
    expect(diff(hmmQuirksFor('5.7'), hmmQuirksFor('5.8'))).toEqual(['q12ProtnoneReportedValid']);
    expect(hmmQuirksFor('5.8').q12ProtnoneReportedValid).toBe(false);
    expect(diff(hmmQuirksFor('5.8'), hmmQuirksFor('5.9'))).toEqual([]);
    expect(hmmQuirksFor('5.9').q13ForeignPrivateFaultFails).toBe(true);
    expect(hmmQuirksFor('5.9').q2FaultWholeChunk).toBe(true);
  });

  it('every version before v5.7 has Q13 off (every owner is reported there)', () => {
    for (const v of ['5.4', 'seed', '5.5'] as const) {
      expect(hmmQuirksFor(v).q13ForeignPrivateFaultFails).toBe(false);
    }
  });
});
