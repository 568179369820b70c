/**
 * The three implementations compared by every benchmark, named as everywhere else in hmmsim
 * (`hmmsim race`, `hmmsim selftest`): `legacy`, the hmm_mirror API of v5.4; `shim`, the same
 * driver code on the compat shim over mmu_interval_notifier; `interval`, a v5.5 driver written
 * for mmu_interval_notifier itself. `native`, the name earlier versions of the bench used for
 * `interval`, is accepted on input (--filter) as an alias.
 */

/** An implementation of device mirroring. */
export type Impl = 'legacy' | 'shim' | 'interval';

/** Every implementation, in report order. */
export const IMPLS: readonly Impl[] = ['legacy', 'shim', 'interval'];

/** Other names accepted on input for an implementation. */
export const IMPL_ALIASES: Readonly<Record<string, Impl>> = { native: 'interval' };

/** One-line description of each implementation (reports). */
export const IMPL_TITLES: Readonly<Record<Impl, string>> = {
  legacy: 'v5.4 hmm_mirror API (nouveau-style driver; `valid` flag)',
  shim: 'the same driver on the compat shim (mmu_interval_notifier + sequence)',
  interval: 'v5.5 driver on mmu_interval_notifier (read_begin / read_retry / set_seq)',
};
