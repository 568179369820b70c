/**
 * T01 open_close: open the device (fd >= 0), do nothing, close it (0). Creating and tearing down
 * a mirror has no side effects.
 *
 * Mirrors tools/testing/selftests/mm/hmm-tests.c: TEST_F(hmm, open_close).
 */
import { withHmm } from '../fixture.ts';
import type { SelftestCase } from '../selftest-case.ts';

/** TEST_F(hmm, open_close). Mirrors hmm-tests.c:open_close. */
export const openClose: SelftestCase = {
  name: 'open_close',
  fixture: 'hmm',
  id: 'T01',
  run: (ctx) => withHmm(ctx, async () => {}),
};
