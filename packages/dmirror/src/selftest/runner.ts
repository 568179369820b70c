/**
 * Running the conformance suite on one implementation: each selected case in turn, a failed
 * check (SelftestFailure) failing only that case; anything else a model error, reported as the
 * case's failure too. A failure the legacy build is documented to have carries its reason (R1,
 * R2).
 *
 * Mirrors tools/testing/selftests/kselftest_harness.h: test_harness_run() (sequential, one
 * result per test).
 */
import { checkIntIn, InvalidArgumentError } from '@hmmsim/kernel';
import {
  DMIRROR_IMPLS,
  type DmirrorImpl,
  type DmirrorOpenOptions,
  dmirrorConfig,
} from '../options.ts';
import { NTIMES } from './constants.ts';
import { SelftestFailure } from './failure.ts';
import { selectSelftests, selftestFullName } from './registry.ts';
import type { SelftestContext, TeardownMode } from './selftest-case.ts';

/** Options of runSelftests(). Mirrors: model-only. */
export interface SelftestOptions {
  /** Default 'interval'. */
  readonly impl?: DmirrorImpl;
  /** A test name ('anon_write') or full name ('hmm.anon_write'); default all. */
  readonly filter?: string;
  /** Seed of anon_teardown's random mode and delays. Default 1. */
  readonly seed?: number;
  /** anon_teardown iterations per mode. Default NTIMES (10). */
  readonly teardownIterations?: number;
  /** anon_teardown modes. Default free-running, random, explore. */
  readonly teardownModes?: readonly TeardownMode[];
  /** Extra device-file options (the impl is `impl`). */
  readonly openOptions?: DmirrorOpenOptions;
  /** Called with each result as soon as it is known. */
  readonly onResult?: (r: SelftestResult) => void;
}

/** One case's result. Mirrors one TAP result line. */
export interface SelftestResult {
  /** 1-based position in the run. */
  readonly index: number;
  /** 'hmm.anon_write'. */
  readonly name: string;
  readonly ok: boolean;
  /** Why it failed ('' when it passed). */
  readonly message: string;
  /** The documented legacy reason of the failure ('R1'), or ''. */
  readonly reason: string;
  /** Diagnostic lines the case printed. */
  readonly diagnostics: readonly string[];
}

/** A whole run. Mirrors the harness's totals. */
export interface SelftestReport {
  readonly impl: DmirrorImpl;
  readonly seed: number;
  readonly results: readonly SelftestResult[];
  readonly passed: number;
  readonly failed: number;
}

/** The failure of a thrown value. */
function failureOf(error: unknown): { message: string; reason: string } {
  if (error instanceof SelftestFailure)
    return { message: error.message, reason: error.reason ?? '' };
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { message: `model error: ${text}`, reason: '' };
}

/** The context a case runs with. */
function contextFor(opts: SelftestOptions, diagnostics: string[]): SelftestContext {
  return {
    impl: opts.impl ?? 'interval',
    openOptions: opts.openOptions ?? {},
    seed: opts.seed ?? 1,
    teardownIterations: opts.teardownIterations ?? NTIMES,
    teardownModes: opts.teardownModes ?? ['free-running', 'random', 'explore'],
    log: (line) => void diagnostics.push(line),
  };
}

const MODES: readonly TeardownMode[] = ['free-running', 'random', 'explore'];

/** Check the options before running anything (each case would otherwise fail alike, or pass vacuously). */
function checkOptions(opts: SelftestOptions): void {
  const fn = 'runSelftests';
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidArgumentError(`${fn}: opts is ${String(opts)}; expected an options object`);
  }
  dmirrorConfig({ ...opts.openOptions, impl: opts.impl ?? 'interval' });
  if (opts.filter !== undefined && typeof opts.filter !== 'string') {
    throw new InvalidArgumentError(
      `${fn}: filter is a ${typeof opts.filter}; expected a test name`,
    );
  }
  if (opts.seed !== undefined) {
    checkIntIn(
      fn,
      'seed',
      opts.seed,
      0,
      Number.MAX_SAFE_INTEGER - 1,
      'a seed (a safe integer >= 0)',
    );
  }
  if (opts.teardownIterations !== undefined) {
    checkIntIn(
      fn,
      'teardownIterations',
      opts.teardownIterations,
      1,
      1e6,
      'an iteration count in [1, 10^6]',
    );
  }
  for (const m of opts.teardownModes ?? []) {
    if (!MODES.includes(m)) {
      throw new InvalidArgumentError(
        `${fn}: teardown mode '${String(m)}'; expected one of ${MODES.join(', ')}`,
      );
    }
  }
}

/**
 * Run the selected cases on one implementation and report each result. Options that cannot be
 * used (an unknown impl or open option: DmirrorConfigError; a seed, iteration count, filter or
 * mode of the wrong kind: InvalidArgumentError) throw before any case runs.
 * Mirrors kselftest_harness.h:test_harness_run().
 */
export async function runSelftests(opts: SelftestOptions = {}): Promise<SelftestReport> {
  checkOptions(opts);
  const results: SelftestResult[] = [];
  for (const [i, c] of selectSelftests(opts.filter).entries()) {
    const diagnostics: string[] = [];
    let ok = true;
    let failure = { message: '', reason: '' };
    try {
      await c.run(contextFor(opts, diagnostics));
    } catch (error) {
      ok = false;
      failure = failureOf(error);
    }
    const r = { index: i + 1, name: selftestFullName(c), ok, ...failure, diagnostics };
    results.push(r);
    opts.onResult?.(r);
  }
  const passed = results.filter((r) => r.ok).length;
  return {
    impl: opts.impl ?? 'interval',
    seed: opts.seed ?? 1,
    results,
    passed,
    failed: results.length - passed,
  };
}

/** Every implementation. Model helper. */
export const SELFTEST_IMPLS: readonly DmirrorImpl[] = DMIRROR_IMPLS;
