/**
 * `struct hmm_range` of v5.8 and later: no driver tables, no pfn_shift, no HMM_FAULT_* flags —
 * `hmmPfns` carries HMM_PFN_REQ_* requests in and HMM_PFN_* results out (hmm-pfns.ts), the
 * notifier is mandatory and `devPrivateOwner` selects which device-private pages are reported.
 */
import { checkIntIn, PAGE_SIZE } from '@hmmsim/kernel';
import type { MmuIntervalNotifier } from '@hmmsim/mmu-notifier';
import { checkRangeInit } from './hmm-range-init.ts';

/**
 * A range being mirrored with the fixed entry format. Fields are written by the driver;
 * hmm_range_fault() only writes `hmmPfns`.
 * Mirrors include/linux/hmm.h:struct hmm_range (v5.8).
 */
export interface HmmPfnsRange {
  /** The interval notifier whose sequence protects the range (mandatory). */
  notifier: MmuIntervalNotifier | null;
  /** Result of mmuIntervalReadBegin(notifier) taken before the call. */
  notifierSeq: number;
  /** First address, inclusive, page aligned. */
  start: number;
  /** Last address, exclusive, page aligned. */
  end: number;
  /** One entry per page: HMM_PFN_REQ_* in, HMM_PFN_* out (model layout: pfn * 256 + flag byte). */
  hmmPfns: Float64Array;
  /** Requests for every page: req(i) = (hmmPfns[i] & pfnFlagsMask) | defaultFlags. */
  defaultFlags: number;
  /** Which request bits of hmmPfns[i] count (0: only defaultFlags). */
  pfnFlagsMask: number;
  /** Device-private pages whose dev_pagemap.owner is this are reported; others are not. */
  devPrivateOwner: unknown;
}

/** Fields of createHmmPfnsRange(); everything but start and end has a default. */
export interface HmmPfnsRangeInit {
  readonly start: number;
  readonly end: number;
  /** Default: a zero-filled array of (end - start) / PAGE_SIZE entries. */
  readonly hmmPfns?: Float64Array;
  readonly notifier?: MmuIntervalNotifier | null;
  readonly notifierSeq?: number;
  readonly defaultFlags?: number;
  readonly pfnFlagsMask?: number;
  /** Default null (no device-private page is anyone's). */
  readonly devPrivateOwner?: unknown;
}

/**
 * A new HmmPfnsRange with the given fields and the defaults listed in HmmPfnsRangeInit. Values no
 * C struct could hold are refused (InvalidArgumentError); unaligned or empty bounds are accepted
 * (hmmRangeFault() answers -EINVAL). Model helper (a C designated initializer of struct hmm_range).
 */
export function createHmmPfnsRange(init: HmmPfnsRangeInit): HmmPfnsRange {
  checkRangeInit('createHmmPfnsRange', init);
  if (init.defaultFlags !== undefined) {
    checkIntIn(
      'createHmmPfnsRange',
      'defaultFlags',
      init.defaultFlags,
      0,
      0xff,
      'HMM_PFN_REQ_* bits (0..0xff)',
    );
  }
  const npages = Math.max(0, Math.floor((init.end - init.start) / PAGE_SIZE));
  return {
    notifier: init.notifier ?? null,
    notifierSeq: init.notifierSeq ?? 0,
    start: init.start,
    end: init.end,
    hmmPfns: init.hmmPfns ?? new Float64Array(Number.isSafeInteger(npages) ? npages : 0),
    defaultFlags: init.defaultFlags ?? 0,
    pfnFlagsMask: init.pfnFlagsMask ?? 0,
    devPrivateOwner: init.devPrivateOwner ?? null,
  };
}

/** True if `range` has the v5.8 shape (an `hmmPfns` array). Model helper. */
export function isHmmPfnsRange(range: object): range is HmmPfnsRange {
  return 'hmmPfns' in range;
}
