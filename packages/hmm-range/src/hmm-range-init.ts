/**
 * The checks of createHmmRange() / createHmmPfnsRange(): a C designated initializer can hold any
 * unsigned long, so unaligned or empty bounds are accepted here (hmm_range_fault() answers them
 * with -EINVAL), but NaN, ±Infinity, fractions, negatives and values from 2^53 cannot be in a C
 * struct: InvalidArgumentError naming the function and the field.
 *
 * Mirrors: model-only (the types of include/linux/hmm.h:struct hmm_range).
 */
import { checkUlong, InvalidArgumentError } from '@hmmsim/kernel';
import { MmuIntervalNotifier } from '@hmmsim/mmu-notifier';

/** The fields both range initializers share. */
interface CommonInit {
  readonly start: number;
  readonly end: number;
  readonly notifier?: MmuIntervalNotifier | null;
  readonly notifierSeq?: number;
  readonly defaultFlags?: number;
  readonly pfnFlagsMask?: number;
}

/**
 * Throw InvalidArgumentError unless `init` holds only values a C struct hmm_range could: the
 * bounds and sequence are unsigned longs, the notifier is one (or null). Model helper.
 */
export function checkRangeInit(fn: string, init: CommonInit): void {
  if (typeof init !== 'object' || init === null) {
    throw new InvalidArgumentError(
      `${fn}: init is ${init === null ? 'null' : `a ${typeof init}`}; expected an object with start and end`,
    );
  }
  checkUlong(fn, 'start', init.start, 'an address');
  checkUlong(fn, 'end', init.end, 'an address');
  for (const k of ['notifierSeq', 'defaultFlags', 'pfnFlagsMask'] as const) {
    if (init[k] !== undefined) checkUlong(fn, k, init[k], 'an unsigned long');
  }
  const n = init.notifier;
  if (n !== undefined && n !== null && !(n instanceof MmuIntervalNotifier)) {
    throw new InvalidArgumentError(
      `${fn}: notifier is a ${typeof n === 'object' ? 'non-notifier object' : typeof n}; expected an MmuIntervalNotifier or null`,
    );
  }
}
