/**
 * The three implementations compared by every benchmark: the legacy hmm_mirror API (v5.4), the
 * compat shim (the same driver code on mmu_interval_notifier) and a native v5.5
 * mmu_interval_notifier driver.
 */

/** An implementation of device mirroring. */
export type Impl = 'legacy' | 'shim' | 'native';

/** Every implementation, in report order. */
export const IMPLS: readonly Impl[] = ['legacy', 'shim', 'native'];

/** One-line description of each implementation (reports). */
export const IMPL_TITLES: Readonly<Record<Impl, string>> = {
  legacy: 'v5.4 hmm_mirror API (nouveau-style driver; `valid` flag)',
  shim: 'the same driver on the compat shim (mmu_interval_notifier + sequence)',
  native: 'native v5.5 driver (read_begin / read_retry / set_seq)',
};
