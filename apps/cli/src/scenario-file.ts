/**
 * `hmmsim explore ./my-scenario.ts`: the Node side of loading a scenario from a file. Finds the
 * file (relative to the folder the command was started from), makes TypeScript importable when
 * the CLI itself runs as compiled JavaScript (tsx's loaders), lets a file outside any package
 * import `@hmmsim/*` from the CLI's own installation, then hands the module to the explorer's
 * loadScenarioModule() (export choice and Scenario validation).
 */
import { statSync } from 'node:fs';
import { register } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadScenarioModule, type Scenario } from '@hmmsim/explorer';

/** File name endings that make an argument a scenario file rather than a registered name. */
export const SCENARIO_FILE_EXTENSIONS: readonly string[] = [
  '.ts',
  '.mts',
  '.cts',
  '.js',
  '.mjs',
  '.cjs',
];

/**
 * True when `arg` names a file (starts with '.' or '/', or ends in a script extension) rather
 * than a registered scenario (registered names are kebab-case words).
 */
export function isScenarioPath(arg: string): boolean {
  return (
    arg.startsWith('.') ||
    arg.startsWith('/') ||
    SCENARIO_FILE_EXTENSIONS.some((ext) => arg.endsWith(ext))
  );
}

/**
 * The folder relative paths are read from: the shell's folder. `pnpm hmmsim …` in the hmmsim
 * repository runs the root script in the repository root, but keeps the folder it was typed in
 * as INIT_CWD; anywhere else (the installed bin, a script of one's own) it is the process's cwd.
 */
export function invocationDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): string {
  const init = env['INIT_CWD'];
  return env['npm_lifecycle_event'] === 'hmmsim' && init !== undefined && init !== '' ? init : cwd;
}

/** A scenario file that does not exist or is not a file. */
export class ScenarioFileError extends Error {
  override readonly name = 'ScenarioFileError';
}

/** The absolute path of `arg` (relative to `dir`), which must be an existing file. */
export function resolveScenarioFile(arg: string, dir: string): string {
  const path = isAbsolute(arg) ? arg : resolve(dir, arg);
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new ScenarioFileError(`scenario file ${arg} not found (looked for ${path})`);
  }
  if (!isFile) throw new ScenarioFileError(`scenario file ${arg} is not a file (${path})`);
  return path;
}

/**
 * An ESM resolve hook for scenario files:
 * - a `.ts` file outside node_modules loads as an ES module even where the nearest package.json
 *   does not say `"type": "module"` (a fresh `npm init` folder): scenarios are written with
 *   `import`/`export`, and as CommonJS their imports of `@hmmsim/*` would load second copies of
 *   the packages;
 * - a bare `@hmmsim/*` import that cannot be resolved from the importing file (a scenario in a
 *   folder with no node_modules) is resolved from the CLI instead.
 * Either way the scenario and the explorer share one copy of each package (the kernel's
 * scheduler state must be one).
 */
const SCENARIO_HOOK = `
let cliURL;
export function initialize(data) { cliURL = data.cliURL; }
function asModule(r) {
  return r.url.startsWith('file:') && r.url.endsWith('.ts') && !r.url.includes('/node_modules/')
    ? { ...r, format: 'module' }
    : r;
}
export async function resolve(specifier, context, next) {
  try {
    return asModule(await next(specifier, context));
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !specifier.startsWith('@hmmsim/') || context.parentURL === cliURL) throw error;
    return next(specifier, { ...context, parentURL: cliURL });
  }
}
`;

let typeScriptReady: Promise<void> | undefined;
let loaderReady: Promise<void> | undefined;

/**
 * Once per process: when this module is compiled JavaScript (the installed CLI), register tsx's
 * ESM and CommonJS loaders so TypeScript modules can be imported. (Run from source, the CLI
 * already runs under tsx or Vitest, which compile TypeScript.)
 */
export function ensureTypeScriptLoader(): Promise<void> {
  typeScriptReady ??= (async () => {
    if (import.meta.url.endsWith('.ts')) return;
    // CommonJS too, for .cts files and what they require.
    const [cjs, esm] = await Promise.all([import('tsx/cjs/api'), import('tsx/esm/api')]);
    cjs.register();
    esm.register();
  })();
  return typeScriptReady;
}

/** Once per process: ensureTypeScriptLoader(), then the scenario resolve hook (SCENARIO_HOOK). */
export function prepareScenarioLoader(): Promise<void> {
  loaderReady ??= (async () => {
    await ensureTypeScriptLoader();
    register(`data:text/javascript,${encodeURIComponent(SCENARIO_HOOK)}`, {
      data: { cliURL: import.meta.url },
    });
  })();
  return loaderReady;
}

/** Options of loadScenarioFile(). */
export interface LoadScenarioFileOptions {
  /** The export to run (default: the default export, else the only Scenario export). */
  readonly exportName?: string | undefined;
  /** Folder that relative paths start from (default: invocationDir()). */
  readonly dir?: string | undefined;
}

/**
 * The scenario exported by the file `arg`: throws ScenarioFileError when the file is missing and
 * the explorer's ScenarioModuleError (one line) when it cannot be imported or exports no usable
 * Scenario.
 */
export async function loadScenarioFile(
  arg: string,
  opts: LoadScenarioFileOptions = {},
): Promise<Scenario> {
  const path = resolveScenarioFile(arg, opts.dir ?? invocationDir());
  await prepareScenarioLoader();
  return loadScenarioModule(pathToFileURL(path).href, { exportName: opts.exportName, label: arg });
}
