/**
 * The fuzzer's two failures: a violation of the system under test (an invariant, the data check,
 * an operation answering what no ordering of the step allows) and a fault of the harness itself
 * (a setup step that must work and did not).
 */

/** The system under test did something wrong; the message says what, where and in which step. */
export class FuzzViolation extends Error {
  override readonly name = 'FuzzViolation';

  constructor(
    /** The problems found, one line each. */
    readonly problems: readonly string[],
    /** The step that exposed them, described. */
    readonly step: string,
  ) {
    super(`${problems.join('\n')}\n  in step: ${step}`);
  }
}

/** A harness step that must work failed (not a finding about the system under test). */
export class FuzzHarnessError extends Error {
  override readonly name = 'FuzzHarnessError';
}
