/**
 * The state checks of the hmm_mirror layer, at one instant (usable at every explorer step and
 * after every fuzzer operation): for every live struct hmm of an mm (legacy and shim) its
 * mirrors and registered ranges agree with each other and with what registration recorded, and
 * — the states a driver's misuse can leave behind without any call failing — no registered range
 * sits on a removed interval notifier (shim), has bounds changed since it was registered, or is
 * left invalid with no invalidation in flight (legacy). Each returns human-readable violations
 * (empty = fine); `assertHmmMirrorInvariants` throws a KernelBugError listing them.
 *
 * Mirrors: model-only (what mm/hmm.c's lists, the `notifiers` count and the per-range `valid`
 * flag promise in v5.4, and what the shim's interval notifiers promise).
 */
import type { HmmRange } from '@hmmsim/hmm-range';
import { KernelBugError } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { type Hmm, hmmsOf } from './hmm.ts';
import { HmmMirror } from './hmm-mirror.ts';
import { registrationProblem } from './hmm-range-register.ts';
import { rangeRegistration, rangesOfMirror } from './range-registry.ts';
import { ShimRangeNotifier, shimPendingRemovals } from './shim/shim-range.ts';

const hex = (n: number): string =>
  Number.isSafeInteger(n) && n >= 0 ? `0x${n.toString(16)}` : String(n);
const rangeText = (r: HmmRange): string => `range [${hex(r.start)}, ${hex(r.end)})`;

/** The mirror list of one struct hmm: each mirror once, pointing back at it, with ops. */
function mirrorViolations(hmm: Hmm, where: () => string): string[] {
  const errs: string[] = [];
  const seen = new Set<HmmMirror>();
  for (const mirror of hmm.mirrors) {
    if (!(mirror instanceof HmmMirror)) {
      errs.push(`${where()}: a mirror list entry is not an HmmMirror`);
      continue;
    }
    if (seen.has(mirror)) errs.push(`${where()}: a mirror is listed twice`);
    seen.add(mirror);
    if (mirror.hmm !== hmm) errs.push(`${where()}: a listed mirror's hmm points elsewhere`);
    if (mirror.ops === null) errs.push(`${where()}: a listed mirror has no ops`);
  }
  return errs;
}

/** The shim-specific part of one registered range: its own notifier, inserted, covering it. */
function shimRangeViolations(hmm: Hmm, range: HmmRange, where: () => string): string[] {
  const mni = range.notifier;
  const what = (): string => `${where()}: ${rangeText(range)}`;
  if (!(mni instanceof ShimRangeNotifier) || mni.range !== range) {
    return [`${what()} lost its shim interval notifier (range.notifier was changed)`];
  }
  const errs: string[] = [];
  if (mni.state === 'idle') {
    errs.push(
      `${what()} is on a removed interval notifier: no invalidation can reach it (collision detection is off)`,
    );
  } else if (mni.mm !== hmm.mm) {
    errs.push(`${what()} has its notifier on mm${mni.mm?.id}, not mm${hmm.mm?.id}`);
  }
  if (mni.itStart !== range.start || mni.itLast !== range.end - 1) {
    errs.push(
      `${what()}: its notifier covers [${hex(mni.itStart)}, ${hex(mni.itLast)}], not the range`,
    );
  }
  return errs;
}

/** The range list of one struct hmm (see the file comment). */
function rangeViolations(hmm: Hmm, mm: MmStruct, where: () => string): string[] {
  const errs: string[] = [];
  const seen = new Set<HmmRange>();
  const perMirror = new Map<HmmMirror, number>();
  for (const range of hmm.ranges) {
    const what = (): string => `${where()}: ${rangeText(range)}`;
    if (seen.has(range)) errs.push(`${what()} is listed twice`);
    seen.add(range);
    const reg = rangeRegistration(range);
    if (reg === undefined || reg.hmm !== hmm) {
      errs.push(`${what()} is listed without a registration on this struct hmm`);
      continue;
    }
    perMirror.set(reg.mirror, (perMirror.get(reg.mirror) ?? 0) + 1);
    if (!hmm.mirrors.includes(reg.mirror))
      errs.push(`${what()} was registered through a mirror that is no longer registered`);
    const changed = registrationProblem(range, reg);
    if (changed !== undefined) errs.push(`${where()}: ${changed}`);
    if (hmm.kind === 'shim') errs.push(...shimRangeViolations(hmm, range, where));
    else if (hmm.notifiers === 0 && range.valid !== true) {
      errs.push(
        `${what()} is invalid with no invalidation of the mm in flight; expected the last end to have made it valid`,
      );
    }
  }
  for (const [mirror, n] of perMirror) {
    if (rangesOfMirror(mirror) !== n) {
      errs.push(
        `${where()}: a mirror counts ${rangesOfMirror(mirror)} registered range(s) but ${n} are listed`,
      );
    }
  }
  if (hmm.ranges.length > 0 && mm.mmUsers < hmm.ranges.length) {
    errs.push(
      `${where()}: ${hmm.ranges.length} registered range(s) but mm_users is ${mm.mmUsers}; expected each to pin one`,
    );
  }
  return errs;
}

/**
 * Every violation of the hmm_mirror state of `mm` (see the file comment); empty when the mm has
 * no struct hmm. Mirrors: model-only.
 */
export function hmmMirrorViolations(mm: MmStruct): string[] {
  const errs: string[] = [];
  for (const hmm of hmmsOf(mm)) {
    const where = (): string => `${hmm.kind} struct hmm of mm${mm.id}`;
    if (hmm.notifiers < 0) errs.push(`${where()}: notifiers is ${hmm.notifiers}`);
    if (hmm.kind === 'shim' && hmm.notifiers !== 0)
      errs.push(`${where()}: notifiers is ${hmm.notifiers}; the shim keeps no count`);
    if (hmm.users > 0 && !mm.exited && !hmm.hashed)
      errs.push(
        `${where()}: held by ${hmm.users} mirror reference(s) but not on the mm's notifier list`,
      );
    errs.push(...mirrorViolations(hmm, where));
    errs.push(...rangeViolations(hmm, mm, where));
    if (hmm.kind === 'shim') {
      for (const mni of shimPendingRemovals(hmm)) {
        if (mni.range !== null)
          errs.push(`${where()}: a notifier awaiting removal still has its range`);
      }
    }
  }
  return errs;
}

/**
 * Throw a KernelBugError listing every violation of the hmm_mirror state of `mm`.
 * Mirrors: model-only.
 */
export function assertHmmMirrorInvariants(mm: MmStruct): void {
  const errs = hmmMirrorViolations(mm);
  if (errs.length > 0) {
    throw new KernelBugError(
      `hmm_mirror invariants of mm${mm.id} violated:\n  ${errs.join('\n  ')}`,
    );
  }
}
