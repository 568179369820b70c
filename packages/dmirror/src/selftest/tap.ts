/**
 * kselftest-style TAP for a conformance run: the version and plan lines, a RUN/OK|FAIL pair of
 * diagnostics and an `ok N name` / `not ok N name` line per test (a documented legacy failure
 * names its reason after '#'), and the totals (`# PASSED: n / n tests passed.` or
 * `# FAILED: …`, then `# Totals: …`).
 *
 * Mirrors tools/testing/selftests/kselftest_harness.h and kselftest.h (ksft_print_header(),
 * ksft_test_result_*(), ksft_print_cnts()).
 */
import type { SelftestReport, SelftestResult } from './runner.ts';

/** The header: TAP version and plan. Mirrors ksft_print_header() + ksft_set_plan(). */
export function tapHeader(planned: number, fixtures: number): string[] {
  const cases = `${fixtures} test case${fixtures === 1 ? '' : 's'}`;
  return ['TAP version 13', `1..${planned}`, `# Starting ${planned} tests from ${cases}.`];
}

/** The lines of one result. Mirrors __run_test()'s output. */
export function tapResult(r: SelftestResult): string[] {
  const out = [`#  RUN           ${r.name} ...`];
  for (const d of r.diagnostics) out.push(`# ${d}`);
  if (r.ok) {
    out.push(`#            OK  ${r.name}`, `ok ${r.index} ${r.name}`);
    return out;
  }
  out.push(`# ${r.name}: ${r.message}`, `#          FAIL  ${r.name}`);
  out.push(`not ok ${r.index} ${r.name}${r.reason === '' ? '' : ` # legacy ${r.reason}`}`);
  return out;
}

/** The totals. Mirrors ksft_print_cnts() and the harness's PASSED/FAILED line. */
export function tapTotals(report: SelftestReport): string[] {
  const n = report.results.length;
  const head = report.failed === 0 ? 'PASSED' : 'FAILED';
  return [
    `# ${head}: ${report.passed} / ${n} tests passed.`,
    `# Totals: pass:${report.passed} fail:${report.failed} xfail:0 xpass:0 skip:0 error:0`,
  ];
}

/** A whole report as TAP lines. Model helper. */
export function formatTap(report: SelftestReport): string[] {
  return [
    ...tapHeader(
      report.results.length,
      new Set(report.results.map((r) => r.name.split('.')[0])).size,
    ),
    ...report.results.flatMap(tapResult),
    ...tapTotals(report),
  ];
}
