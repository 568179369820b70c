/**
 * Assertions of the selftest port: a failed check throws SelftestFailure with what was checked,
 * the value seen and the value expected, and (for a failure the legacy hmm_mirror API is known to
 * cause) the documented reason, e.g. 'R1'.
 *
 * Mirrors tools/testing/selftests/kselftest_harness.h: ASSERT_EQ() and friends.
 */

/**
 * A failed selftest assertion. Mirrors a kselftest_harness ASSERT_* failure.
 */
export class SelftestFailure extends Error {
  constructor(
    message: string,
    /** A documented cause on the legacy build ('R1', 'R2'), when this failure is one. */
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'SelftestFailure';
  }
}

/** `actual === expected` or throw. Mirrors ASSERT_EQ(). */
export function expectEq(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) {
    throw new SelftestFailure(`${what}: got ${String(actual)}, expected ${String(expected)}`);
  }
}

/** `actual !== unexpected` or throw. Mirrors ASSERT_NE(). */
export function expectNe(actual: unknown, unexpected: unknown, what: string): void {
  if (actual === unexpected) throw new SelftestFailure(`${what}: got ${String(actual)}`);
}

/** `cond` or throw. Mirrors ASSERT_TRUE(). */
export function expectTrue(cond: boolean, what: string): void {
  if (!cond) throw new SelftestFailure(`${what}: expected true`);
}
