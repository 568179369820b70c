import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  explore,
  isScenario,
  loadScenarioModule,
  lostUpdate,
  lostUpdateMutex,
  ScenarioModuleError,
  scenarioFromModule,
  scenarioProblems,
} from '../src/index.ts';

/** The ScenarioModuleError `fn` throws. */
function moduleError(fn: () => unknown): ScenarioModuleError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioModuleError);
    return error as ScenarioModuleError;
  }
  throw new Error('expected a ScenarioModuleError');
}

describe('scenarioProblems', () => {
  it('accepts a scenario and the optional fields of the right type', () => {
    expect(scenarioProblems(lostUpdate)).toEqual([]);
    expect(isScenario(lostUpdate)).toBe(true);
    const minimal = { name: 'x', setup: () => ({}), tasks: [{ name: 't', run: async () => {} }] };
    expect(scenarioProblems(minimal)).toEqual([]);
    expect(scenarioProblems({ ...minimal, maxSteps: 5, nsPerStep: 0 })).toEqual([]);
  });

  it('says what is missing or wrong, field by field', () => {
    expect(scenarioProblems({ tasks: [] })).toEqual([
      'name is undefined (expected a non-empty string)',
      'setup is undefined (expected a function setup(sched) that builds the state)',
      'tasks is empty (expected at least one task)',
    ]);
    expect(scenarioProblems({ ...lostUpdate, name: '', tasks: 'a' })).toEqual([
      'name is a string ("") (expected a non-empty string)',
      'tasks is a string ("a") (expected an array of { name, run } tasks)',
    ]);
    expect(scenarioProblems({ ...lostUpdate, tasks: [{ name: 'a' }, 3] })).toEqual([
      'tasks[0].run is undefined (expected an async function run(state, sched))',
      'tasks[1] is a number (3), not a { name, run } task',
    ]);
    expect(
      scenarioProblems({ ...lostUpdate, invariant: true, maxSteps: 0, nsPerStep: 1.5 }),
    ).toEqual([
      'invariant is a boolean (true) (expected a function of the state)',
      'maxSteps is a number (0) (expected an integer >= 1)',
      'nsPerStep is a number (1.5) (expected an integer >= 0)',
    ]);
    expect(scenarioProblems(undefined)).toEqual([
      'it is undefined, not an object with name, setup and tasks',
    ]);
    expect(isScenario([lostUpdate])).toBe(false);
  });
});

describe('scenarioFromModule', () => {
  const ns = { default: lostUpdate, fixed: lostUpdateMutex, VERSION: 3 };

  it('takes the named export, else the default, else the only Scenario', () => {
    expect(scenarioFromModule(ns, { exportName: 'fixed' })).toBe(lostUpdateMutex);
    expect(scenarioFromModule(ns)).toBe(lostUpdate);
    expect(scenarioFromModule({ helper: () => 1, only: lostUpdateMutex })).toBe(lostUpdateMutex);
  });

  it('undoes CommonJS interop (module.exports with __esModule)', () => {
    const cjs = { default: { __esModule: true, default: lostUpdate, fixed: lostUpdateMutex } };
    expect(scenarioFromModule(cjs)).toBe(lostUpdate);
    expect(scenarioFromModule(cjs, { exportName: 'fixed' })).toBe(lostUpdateMutex);
  });

  it('rejects a missing export, naming the exports there are', () => {
    const e = moduleError(() => scenarioFromModule(ns, { exportName: 'racy', label: './s.ts' }));
    expect(e.problem).toBe('no-such-export');
    expect(e.message).toBe("./s.ts has no export 'racy'; its exports: default, fixed, VERSION");
    expect(e.candidates).toEqual(['default', 'fixed']);
  });

  it('rejects an export that is not a Scenario, saying what is missing', () => {
    const e = moduleError(() =>
      scenarioFromModule({ default: { name: 'half', tasks: [] } }, { label: './h.ts' }),
    );
    expect(e.problem).toBe('not-a-scenario');
    expect(e.message).toBe(
      "export 'default' of ./h.ts is not a Scenario: setup is undefined (expected a function " +
        'setup(sched) that builds the state); tasks is empty (expected at least one task)',
    );
    const v = moduleError(() => scenarioFromModule(ns, { exportName: 'VERSION' }));
    expect(v.message).toContain(
      "export 'VERSION' of the module is not a Scenario: it is a number (3)",
    );
  });

  it('rejects a module with no Scenario, and one with several and no default', () => {
    const none = moduleError(() => scenarioFromModule({ a: 1, b: () => 2 }, { label: 'm' }));
    expect(none.problem).toBe('no-scenario');
    expect(none.message).toBe(
      'm exports no Scenario (an object with name, setup and tasks); its exports: a, b',
    );
    const several = moduleError(() =>
      scenarioFromModule({ racy: lostUpdate, fixed: lostUpdateMutex }, { label: 'm' }),
    );
    expect(several.problem).toBe('several-scenarios');
    expect(several.candidates).toEqual(['racy', 'fixed']);
    expect(several.message).toBe(
      'm exports 2 Scenarios (racy, fixed) and no default; name the one to run',
    );
  });
});

describe('loadScenarioModule', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmsim-scenario-module-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports a TypeScript file by URL and explores what it exports', async () => {
    const file = join(dir, 'racy.ts');
    writeFileSync(
      file,
      [
        "import type { Scheduler } from '@hmmsim/kernel';",
        'interface S { x: number }',
        'async function inc(s: S, sched: Scheduler): Promise<void> {',
        "  await sched.point({ kind: 'load', label: 'x' });",
        '  const v = s.x;',
        "  await sched.point({ kind: 'store', label: 'x' });",
        '  s.x = v + 1;',
        '}',
        'export const racy = {',
        "  name: 'file-racy',",
        "  description: 'lost update, from a file',",
        '  setup: (): S => ({ x: 0 }),',
        "  tasks: [{ name: 'a', run: inc }, { name: 'b', run: inc }],",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the text of a scenario file
        '  finalCheck: (s: S) => { if (s.x !== 2) throw new Error(`x is ${s.x}`); },',
        '};',
        'export const notes = "not a scenario";',
      ].join('\n'),
    );
    const scenario = await loadScenarioModule(pathToFileURL(file).href);
    expect(scenario.name).toBe('file-racy');
    const r = await explore(scenario, { bound: 1 });
    expect(r.minimal?.kind).toBe('final-check');
    expect(r.minimal?.schedule).toBe('1.1.2');
  });

  it('reports a module that fails to import as one line, keeping the cause', async () => {
    const boom = new SyntaxError('Unexpected token\n  at line 3');
    const p = loadScenarioModule('file:///nowhere/s.ts', {
      label: './s.ts',
      importModule: () => Promise.reject(boom),
    });
    await expect(p).rejects.toThrow(
      new ScenarioModuleError(
        'cannot import ./s.ts: SyntaxError: Unexpected token at line 3',
        'import-failed',
      ),
    );
    await p.catch((e: ScenarioModuleError) => {
      expect(e.problem).toBe('import-failed');
      expect(e.cause).toBe(boom);
    });
  });

  it('passes the export name through and validates what the importer returns', async () => {
    const importModule = async () => ({ default: lostUpdate, fixed: lostUpdateMutex });
    expect(await loadScenarioModule('x', { importModule, exportName: 'fixed' })).toBe(
      lostUpdateMutex,
    );
    await expect(
      loadScenarioModule('x', { importModule: async () => ({ default: {} }) }),
    ).rejects.toThrow(/export 'default' of x is not a Scenario: name is undefined/);
  });
});
