/**
 * What one conformance scenario is: the kernel test's name and fixture, its catalogue id, and its
 * body; and the context the runner gives it (implementation, seed, loop options,
 * a sink for TAP diagnostics).
 *
 * Mirrors tools/testing/selftests/kselftest_harness.h: TEST_F() and its metadata.
 */
import type { DmirrorImpl, DmirrorOpenOptions } from '../options.ts';

/**
 * How anon_teardown runs: its loop free-running or under the seeded random policy, or (a port
 * addition) the miniature race explored exhaustively. Mirrors: model-only.
 */
export type TeardownMode = 'free-running' | 'random' | 'explore';

/** Runner options a case reads. Mirrors: model-only. */
export interface SelftestContext {
  readonly impl: DmirrorImpl;
  /** Extra open options for every device file (the impl comes from `impl`). */
  readonly openOptions: DmirrorOpenOptions;
  /** Seed of the seeded-random mode and of the unmapping thread's delays. */
  readonly seed: number;
  /** anon_teardown iterations per mode (the kernel's NTIMES = 10). */
  readonly teardownIterations: number;
  /** anon_teardown modes, in order. */
  readonly teardownModes: readonly TeardownMode[];
  /** Print a TAP diagnostic line ('# …'). */
  log(line: string): void;
}

/** One TEST_F. Mirrors kselftest_harness.h:TEST_F(). */
export interface SelftestCase {
  /** The kernel test's name ('anon_write'). */
  readonly name: string;
  /** The kernel fixture: 'hmm' (one device) or 'hmm2' (devices 0 and 1). */
  readonly fixture: 'hmm' | 'hmm2';
  /** The selftest catalogue id ('T04'). */
  readonly id: string;
  /** Runs setup, body and teardown; throws SelftestFailure on a failed check. */
  run(ctx: SelftestContext): Promise<void>;
}
