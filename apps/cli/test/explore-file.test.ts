import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EXIT_OK,
  EXIT_USAGE,
  EXIT_VIOLATION,
  type ExploreIo,
  runExploreCommand,
} from '../src/commands/explore.ts';
import { invocationDir, isScenarioPath, resolveScenarioFile } from '../src/scenario-file.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
/** The kernel's source, imported by absolute path (the same module the explorer uses). */
const kernelSrc = join(repo, 'packages/kernel/src/index.ts');

/** A lost-update scenario as file text; `lock` wraps the increment in a mutex (clean). */
function counterScenario(name: string, lock: boolean): string {
  return [
    `{`,
    `  name: '${name}',`,
    `  description: 'two increments${lock ? ' under a mutex' : ''}',`,
    `  setup: (sched: Scheduler): S => ({ x: 0, lock: new Mutex(sched, 'lock') }),`,
    `  tasks: [`,
    `    { name: 'inc0', run: (s: S, sched: Scheduler) => inc(s, sched, ${lock}) },`,
    `    { name: 'inc1', run: (s: S, sched: Scheduler) => inc(s, sched, ${lock}) },`,
    `  ],`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text of a scenario file
    '  finalCheck(s: S) { if (s.x !== 2) throw new Error(`lost update: x is ${s.x}`); },',
    `}`,
  ].join('\n');
}

/** The head of a scenario file: imports (from `kernel`) and the increment. */
function header(kernel: string): string {
  return [
    `import { Mutex, mutexLock, mutexUnlock, type Scheduler } from '${kernel}';`,
    'interface S { x: number; lock: Mutex }',
    'async function inc(s: S, sched: Scheduler, lock: boolean): Promise<void> {',
    '  if (lock) await mutexLock(s.lock);',
    "  await sched.point({ kind: 'load', label: 'x' });",
    '  const v = s.x;',
    "  await sched.point({ kind: 'store', label: 'x' });",
    '  s.x = v + 1;',
    '  if (lock) mutexUnlock(s.lock);',
    '}',
    '',
  ].join('\n');
}

/** A scenario whose setup ignores `sched`: its tasks step on a scheduler of their own. */
function ownSchedulerScenario(kernel: string): string {
  return [
    `import { createScheduler, type Scheduler } from '${kernel}';`,
    'export default {',
    "  name: 'own-scheduler',",
    "  description: 'setup builds its state on another scheduler',",
    '  setup: () => ({ own: createScheduler() }),',
    "  tasks: ['a', 'b'].map((name) => ({",
    '    name,',
    '    async run(s: { own: Scheduler }) {',
    "      await s.own.point({ kind: 'step', label: name });",
    '    },',
    '  })),',
    '};',
  ].join('\n');
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh folder outside the repository holding `files`. */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hmmsim-explore-file-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** In-process: `hmmsim explore <args> <options>` with relative paths from `cwd`. */
async function run(cwd: string, args: string[], options: Record<string, unknown> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const files = new Map<string, string>();
  const io: ExploreIo = {
    out: (s) => void out.push(s),
    err: (s) => void err.push(s),
    writeFile: (p, s) => void files.set(p, s),
    cwd,
  };
  const code = await runExploreCommand({ args, options: { '--': [], ...options } }, io);
  return { code, out: out.join('\n'), err: err.join('\n'), files };
}

describe('hmmsim explore <file>: choosing and checking the export', () => {
  const dir = folder({
    'racy.ts': `${header(kernelSrc)}export default ${counterScenario('file-racy', false)};\n`,
    'clean.ts': `${header(kernelSrc)}export default ${counterScenario('file-clean', true)};\n`,
    'two.ts':
      `${header(kernelSrc)}export const racy = ${counterScenario('two-racy', false)};\n` +
      `export const fixed = ${counterScenario('two-fixed', true)};\nexport const LIMIT = 3;\n`,
    'one.mts': `${header(kernelSrc)}export const only = ${counterScenario('only-one', true)};\n`,
    'half.ts': "export default { name: 'half', description: 'no setup', tasks: [] };\n",
    'none.js': 'export const answer = 42;\n',
    'own.ts': ownSchedulerScenario(kernelSrc),
  });

  it('runs the default export: a violation exits 1 with the trace and a replay line', async () => {
    const r = await run(dir, ['./racy.ts'], { bound: 1 });
    expect(r.code).toBe(EXIT_VIOLATION);
    expect(r.out).toContain('explore file-racy: strategy dfs, preemption bound 1');
    expect(r.out).toContain('VIOLATION (final-check): lost update: x is 1');
    expect(r.out).toContain("minimal schedule:       '1.1.2' (1 preemption, 7 steps)");
    expect(r.out).toContain("replay: hmmsim explore ./racy.ts --replay '1.1.2'");
    expect(r.out).toMatch(/step\s+T1 inc0\s+T2 inc1/);
    expect(r.err).toBe('');
  });

  it('exits 0 for a clean scenario, from an absolute path as well', async () => {
    const r = await run(dir, ['./clean.ts']);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('explore file-clean: strategy dfs, preemption bound 2');
    expect(r.out).toContain('clean up to 2 preemptions (every schedule with at most 2 run)');
    expect(r.out).toMatch(/no violation$/);
    const abs = await run('/', [join(dir, 'clean.ts')], { strategy: 'random', runs: 20 });
    expect(abs.code).toBe(EXIT_OK);
    expect(abs.out).toContain('strategy random, seed 1, 20 runs');
  });

  it('--export picks a named export; the replay line keeps it', async () => {
    const racy = await run(dir, ['./two.ts'], { export: 'racy', bound: 1 });
    expect(racy.code).toBe(EXIT_VIOLATION);
    expect(racy.out).toContain("replay: hmmsim explore ./two.ts --export racy --replay '1.1.2'");
    const fixed = await run(dir, ['./two.ts'], { export: 'fixed' });
    expect(fixed.code).toBe(EXIT_OK);
    expect(fixed.out).toContain('explore two-fixed:');
  });

  it('without --export and a default, takes the only Scenario export', async () => {
    const r = await run(dir, ['./one.mts']);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('explore only-one:');
  });

  it('exits 2 when --export names nothing there', async () => {
    const r = await run(dir, ['./two.ts'], { export: 'racey' });
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain(
      "hmmsim explore: ./two.ts has no export 'racey'; its exports: racy, fixed, LIMIT",
    );
    expect(r.err).toContain('exports that are Scenarios: racy, fixed (--export NAME)');
    expect(r.out).toBe('');
  });

  it('exits 2 when the export is not a Scenario, saying what is missing', async () => {
    const r = await run(dir, ['./half.ts']);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err.split('\n')[0]).toBe(
      "hmmsim explore: export 'default' of ./half.ts is not a Scenario: setup is undefined " +
        '(expected a function setup(sched) that builds the state); tasks is empty (expected at least one task)',
    );
    const n = await run(dir, ['./two.ts'], { export: 'LIMIT' });
    expect(n.code).toBe(EXIT_USAGE);
    expect(n.err).toContain("export 'LIMIT' of ./two.ts is not a Scenario: it is a number (3)");
    const none = await run(dir, ['./none.js']);
    expect(none.code).toBe(EXIT_USAGE);
    expect(none.err).toContain('./none.js exports no Scenario');
  });

  it('exits 2 when several exports are Scenarios and none is chosen, listing them', async () => {
    const r = await run(dir, ['./two.ts']);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain('./two.ts exports 2 Scenarios (racy, fixed) and no default');
    expect(r.err).toContain('pick one with --export NAME (racy, fixed)');
  });

  it('exits 2 for a missing file, --export with a registered name, and an empty --export', async () => {
    const missing = await run(dir, ['./nope.ts']);
    expect(missing.code).toBe(EXIT_USAGE);
    expect(missing.err).toBe(
      `hmmsim explore: scenario file ./nope.ts not found (looked for ${dir}/nope.ts) ` +
        '(hmmsim explore --help)',
    );
    const registered = await run(dir, ['lost-update'], { export: 'x' });
    expect(registered.code).toBe(EXIT_USAGE);
    expect(registered.err).toContain("--export picks an export of a scenario file; 'lost-update'");
    const empty = await run(dir, ['./two.ts'], { export: '' });
    expect(empty.code).toBe(EXIT_USAGE);
    expect(empty.err).toContain('--export needs an export name');
  });

  it('--replay reruns a schedule of the file, --mermaid writes its diagram', async () => {
    const r = await run(dir, ['./racy.ts'], { replay: '1.1.2', mermaid: 'racy.mmd' });
    expect(r.code).toBe(EXIT_VIOLATION);
    expect(r.out).toContain("replay file-racy '1.1.2': 7 steps, 1 preemption(s), 5 decisions");
    expect(r.out).toContain('VIOLATION (final-check): lost update: x is 1');
    expect(r.files.get('racy.mmd')).toMatch(/^sequenceDiagram\n/);
    const ok = await run(dir, ['./racy.ts'], { replay: '' });
    expect(ok.code).toBe(EXIT_OK);
    const bad = await run(dir, ['./racy.ts'], { replay: '1.3' });
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.err).toContain("schedule '1.3' asks for task 3 at decision 2");
  });

  it('a scenario whose setup ignores sched is a ScenarioError: one line, the message, exit 2', async () => {
    const r = await run(dir, ['./own.ts']);
    expect(r.code).toBe(EXIT_USAGE);
    const lines = r.err.split('\n');
    expect(lines[0]).toBe(
      'hmmsim explore: the scenario cannot be explored as written (ScenarioError):',
    );
    expect(lines[1]).toContain(
      "scenario 'own-scheduler': 2 scheduling point(s) of the tasks ran on a scheduler other than the explorer's",
    );
    expect(lines[1]).toContain('createMachine({ ..., sched })');
    expect(lines).toHaveLength(2);
    expect(r.out).toBe('');
    const replay = await run(dir, ['./own.ts'], { replay: '' });
    expect(replay.code).toBe(EXIT_USAGE);
    expect(replay.err).toContain('(ScenarioError)');
  });
});

describe('scenario file helpers', () => {
  it('tells file arguments from registered names', () => {
    for (const a of ['./s.ts', '../x/s.js', '/abs/s', 's.ts', 'dir/s.mts', 'x.mjs', '.hidden']) {
      expect(isScenarioPath(a), a).toBe(true);
    }
    for (const a of ['lost-update', 'hmm-race-munmap-legacy', 'scenario.json']) {
      expect(isScenarioPath(a), a).toBe(false);
    }
  });

  it('reads relative paths from the shell folder (INIT_CWD under `pnpm hmmsim`)', () => {
    expect(invocationDir({}, '/repo')).toBe('/repo');
    const pnpm = { npm_lifecycle_event: 'hmmsim', INIT_CWD: '/repo/docs' };
    expect(invocationDir(pnpm, '/repo')).toBe('/repo/docs');
    expect(invocationDir({ npm_lifecycle_event: 'test', INIT_CWD: '/else' }, '/repo')).toBe(
      '/repo',
    );
  });

  it('resolves a file and rejects a folder', () => {
    const dir = folder({ 's.ts': 'export {};' });
    mkdirSync(join(dir, 'sub'));
    expect(resolveScenarioFile('./s.ts', dir)).toBe(join(dir, 's.ts'));
    expect(() => resolveScenarioFile('./sub', dir)).toThrow(/is not a file/);
  });
});

/** The real command, from source, as `pnpm hmmsim` runs it, in folder `cwd`. */
function hmmsim(cwd: string, args: string[]) {
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const env = { ...process.env };
  delete env['INIT_CWD'];
  delete env['npm_lifecycle_event'];
  const r = spawnSync(
    process.execPath,
    [tsxCli, '--conditions=@hmmsim/source', join(repo, 'apps/cli/src/main.ts'), 'explore', ...args],
    { cwd, env, encoding: 'utf8', timeout: 60_000 },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('hmmsim explore <file> as a process, in a folder outside the repository', () => {
  // Bare `@hmmsim/*` imports from a folder with no node_modules (they resolve to the CLI's own
  // packages) and no "type": "module" (the .ts file still loads as an ES module).
  const dir = folder({
    'package.json': '{ "name": "scratch", "type": "commonjs" }\n',
    'racy.ts': `${header('@hmmsim/kernel')}export default ${counterScenario('proc-racy', false)};\n`,
    'own.ts': ownSchedulerScenario('@hmmsim/kernel'),
  });

  it('exits 1 on a violation (the clean case and the usage errors are covered in-process)', () => {
    const racy = hmmsim(dir, ['./racy.ts', '--bound', '1']);
    expect(racy.err).toBe('');
    expect(racy.code).toBe(EXIT_VIOLATION);
    expect(racy.out).toContain('explore proc-racy: strategy dfs, preemption bound 1');
    expect(racy.out).toContain("replay: hmmsim explore ./racy.ts --replay '1.1.2'");
  });

  it('replays a schedule and writes the diagram beside the scenario', () => {
    const r = hmmsim(dir, ['./racy.ts', '--replay', '1.1.2', '--mermaid', 'racy.mmd']);
    expect(r.code).toBe(EXIT_VIOLATION);
    expect(r.out).toContain("replay proc-racy '1.1.2'");
    expect(existsSync(join(dir, 'racy.mmd'))).toBe(true);
    expect(readFileSync(join(dir, 'racy.mmd'), 'utf8')).toMatch(/^sequenceDiagram/);
  });

  it('shares one kernel with the explorer, so a foreign scheduler is caught (exit 2)', () => {
    const r = hmmsim(dir, ['./own.ts']);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain('the scenario cannot be explored as written (ScenarioError)');
    expect(r.err).toContain('ran on a scheduler other than the explorer');
  });
});
