import { InvalidArgumentError } from '@hmmsim/kernel';
import { describe, expect, it } from 'vitest';
import { createScenarioRegistry, lostUpdate, scenarios } from '../src/index.ts';

describe('scenario registry', () => {
  it('concatenates the scenario arrays of several packages', () => {
    const other = { ...lostUpdate, name: 'other-race' };
    const reg = createScenarioRegistry([
      { package: '@hmmsim/explorer', scenarios },
      { package: '@hmmsim/other', scenarios: [other] },
    ]);
    expect(reg.list().map((e) => e.scenario.name)).toEqual([
      'lost-update',
      'lost-update-mutex',
      'abba-deadlock',
      'wait-timeout',
      'independent-steps-3',
      'other-race',
    ]);
    expect(reg.get('other-race')?.package).toBe('@hmmsim/other');
    expect(reg.get('nope')).toBeUndefined();
  });

  it('rejects duplicate and malformed names', () => {
    expect(() =>
      createScenarioRegistry([
        { package: 'a', scenarios: [lostUpdate] },
        { package: 'b', scenarios: [lostUpdate] },
      ]),
    ).toThrow(/registered by both a and b/);
    expect(() =>
      createScenarioRegistry([{ package: 'a', scenarios: [{ ...lostUpdate, name: 'Bad Name' }] }]),
    ).toThrow(InvalidArgumentError);
  });
});
