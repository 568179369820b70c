import { HmmGenerationError } from '@hmmsim/hmm-range';
import { InvalidArgumentError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import {
  DMIRROR_HMM_MIRROR_HMM_VERSIONS,
  DMIRROR_INTERVAL_HMM_VERSIONS,
  DmirrorConfigError,
  type DmirrorHmmVersion,
  type DmirrorOpenOptions,
  dmirrorConfig,
  dmirrorOpen,
} from '../src/index.ts';
import { world } from './helpers.ts';

describe('open options, per binding', () => {
  it('defaults: interval on v5.9, hmm_mirror builds on v5.5; report; migrate (v5.19+)', () => {
    expect(dmirrorConfig()).toEqual({
      impl: 'interval',
      hmmVersion: '5.9',
      ownReadOnlyWrite: 'report',
      foreignPrivateFault: 'migrate',
    });
    for (const impl of ['legacy', 'shim'] as const) {
      expect(dmirrorConfig({ impl })).toEqual({
        impl,
        hmmVersion: '5.5',
        ownReadOnlyWrite: 'report',
        foreignPrivateFault: 'migrate',
      });
    }
  });

  it('each binding takes only the hmm_range_fault() generations it is written against', () => {
    const all: readonly DmirrorHmmVersion[] = ['5.4', 'seed', '5.5', '5.8', '5.9'];
    for (const hmmVersion of all) {
      const native = DMIRROR_INTERVAL_HMM_VERSIONS.includes(hmmVersion as '5.8');
      if (native) expect(dmirrorConfig({ hmmVersion }).hmmVersion).toBe(hmmVersion);
      else expect(() => dmirrorConfig({ hmmVersion })).toThrow(DmirrorConfigError);
      for (const impl of ['legacy', 'shim'] as const) {
        const ok = DMIRROR_HMM_MIRROR_HMM_VERSIONS.includes(hmmVersion as '5.5');
        if (ok) expect(dmirrorConfig({ impl, hmmVersion }).hmmVersion).toBe(hmmVersion);
        else expect(() => dmirrorConfig({ impl, hmmVersion })).toThrow(DmirrorConfigError);
      }
    }
  });

  it('the typed error names the binding and the option, and is an InvalidArgumentError', () => {
    let caught: unknown;
    try {
      dmirrorConfig({ impl: 'legacy', hmmVersion: '5.9' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DmirrorConfigError);
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect(caught).not.toBeInstanceOf(HmmGenerationError);
    const err = caught as DmirrorConfigError;
    expect([err.name, err.impl, err.option]).toEqual([
      'DmirrorConfigError',
      'legacy',
      'hmmVersion',
    ]);
    expect(err.message).toMatch(/'5\.9'; expected one of '5\.4', 'seed', '5\.5'/);
    const bad = [
      { impl: 'native' },
      { foreignPrivateFault: 'spin' },
      { impl: 'shim', ownReadOnlyWrite: 'cow' },
    ] as unknown as DmirrorOpenOptions[];
    for (const opts of bad) expect(() => dmirrorConfig(opts)).toThrow(DmirrorConfigError);
  });

  it('a refused option opens nothing', async () => {
    const w = world();
    const device = w.module.devices[0]!;
    await expect(dmirrorOpen(device, w.mm, { impl: 'shim', hmmVersion: '5.8' })).rejects.toThrow(
      DmirrorConfigError,
    );
    await expect(dmirrorOpen(device, w.mm, { hmmVersion: '5.4' })).rejects.toThrow(
      /impl 'interval'\): hmmVersion: '5\.4'/,
    );
    expect(w.mm.notifier).toBeNull(); // no subscription was installed
  });
});
