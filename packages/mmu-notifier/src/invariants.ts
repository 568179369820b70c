/**
 * Exported checks of invariants 6–15 (docs/kernel/invariants.md, "The sequence protocol"
 * and "Locking and lifetime"). Two kinds:
 * - state checks, on a container / mm at one instant (usable at every explorer step);
 * - history checks, on the events recorded by an MmuNotifierLog (usable during or after a run;
 *   pass `final: true` once every task has finished to also require what must eventually happen).
 * Each returns a list of human-readable violations (empty = fine); the `assert…` forms throw a
 * KernelBugError listing them.
 *
 * Mirrors: model-only (what the kernel's WARN_ONs, lockdep and the protocol's proof promise).
 */
import { KernelBugError, type Task } from '@hmmsim/kernel';
import { MMU_NOTIFY_RELEASE, type MmStruct, type MmuNotifierRange } from '@hmmsim/mm';
import type { MmuNotifierLogEvent } from './event-log.ts';
import { IT_NIL } from './interval-tree.ts';
import { lockHeldBy, lockName } from './lockdep.ts';
import type { MmuIntervalNotifier } from './mmu-interval-notifier.ts';
import type { MmuNotifier } from './mmu-notifier.ts';
import { type MmuNotifierMm, mmuNotifierMmOf } from './mmu-notifier-mm.ts';

/**
 * Options of the history checks.
 * Mirrors: model-only.
 */
export interface HistoryCheckOptions {
  /** All tasks have finished: also require the ends/frees that must eventually happen. */
  readonly final?: boolean;
}

const odd = (n: number): boolean => n % 2 === 1;
const hex = (n: number): string => `0x${n.toString(16)}`;
const rangeText = (r: MmuNotifierRange): string => `[${hex(r.start)}, ${hex(r.end)})`;
const mniText = (mni: MmuIntervalNotifier): string =>
  `notifier [${hex(mni.itStart)}, ${hex(mni.itLast)}]`;

// ---- state checks --------------------------------------------------------------------------------

/**
 * Invariant 6: `activeInvalidateRanges == 0` ⇒ global seq even; every inserted notifier's seq odd.
 * Mirrors: model-only (the WARN_ON in __mmu_interval_notifier_insert and the design of the seqs).
 */
export function checkSeqParity(m: MmuNotifierMm): string[] {
  const errs: string[] = [];
  if (m.activeInvalidateRanges < 0)
    errs.push(`inv6: active_invalidate_ranges is ${m.activeInvalidateRanges}`);
  if (m.activeInvalidateRanges === 0 && odd(m.invalidateSeq)) {
    errs.push(
      `inv6: mm${m.mm.id} invalidate_seq ${m.invalidateSeq} is odd with no active invalidation`,
    );
  }
  const checkOdd = (mni: MmuIntervalNotifier): void => {
    if (!odd(mni.invalidateSeq))
      errs.push(`inv6: ${mniText(mni)} has even invalidate_seq ${mni.invalidateSeq}`);
  };
  // Every notifier the container knows: linked ones, then pending inserts.
  m.itree.forEachInOrder((_id, mni) => checkOdd(mni));
  for (const mni of m.deferredList) if (mni.itNode === IT_NIL) checkOdd(mni);
  return errs;
}

/**
 * Invariant 7 (state): while the seq is even the deferred list is empty; a deferred entry is a
 * pending insert (not linked) or a pending remove (linked, being removed); the tree is sound.
 * Mirrors: model-only (mn_itree_inv_end applies every deferred entry when the seq goes even).
 */
export function checkDeferredState(m: MmuNotifierMm): string[] {
  const errs: string[] = [];
  if (!odd(m.invalidateSeq) && m.deferredList.length > 0) {
    errs.push(
      `inv7: mm${m.mm.id} seq ${m.invalidateSeq} is even but ${m.deferredList.length} deferred change(s) are pending`,
    );
  }
  for (const mni of m.deferredList) {
    if (!mni.deferred)
      errs.push(`inv7: ${mniText(mni)} is on the deferred list without its deferred flag`);
    if (mni.itNode === IT_NIL && mni.state !== 'inserted') {
      errs.push(`inv7: ${mniText(mni)} is a pending insert in state ${mni.state}`);
    }
    if (mni.itNode !== IT_NIL && mni.state !== 'removing') {
      errs.push(`inv7: ${mniText(mni)} is a pending remove in state ${mni.state}`);
    }
  }
  m.itree.forEachInOrder((id, mni) => {
    if (mni.itNode !== id)
      errs.push(`inv7: ${mniText(mni)} is linked as node ${id} but records node ${mni.itNode}`);
    if (mni.state === 'idle') errs.push(`inv7: ${mniText(mni)} is in the tree but not inserted`);
  });
  for (const e of m.itree.checkStructure()) errs.push(`inv7: interval tree: ${e}`);
  return errs;
}

/**
 * Invariant 11 (state): the interval tree's active count equals the starts whose end is still
 * due. A surplus is the R3 leak (a non-blockable start failed in the hlist after the tree's
 * part succeeded): the seq can then never become even again.
 * Mirrors: model-only (R3; mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start()).
 */
export function checkActiveRanges(m: MmuNotifierMm): string[] {
  if (m.activeInvalidateRanges === m.openItreeRanges) return [];
  return [
    `inv11: mm${m.mm.id} active_invalidate_ranges is ${m.activeInvalidateRanges} but ${m.openItreeRanges} ` +
      'start(s) await their end: a failed non-blockable start leaked its interval-tree accounting (R3)',
  ];
}

/**
 * Invariant 12 (precondition of hmm_range_fault and any page-table walk for a notifier): the
 * current task holds `mm.mmapSem` (read or write) and the mm has users.
 * Mirrors: model-only (the lockdep_assert_held and mmget_not_zero rules of mm/hmm.c).
 */
export function checkFaultContext(mm: MmStruct, task: Task = mm.machine.sched.current): string[] {
  const errs: string[] = [];
  if (!lockHeldBy(mm.mmapSem, task))
    errs.push(`inv12: task '${task.name}' walks mm${mm.id} without mmap_sem`);
  if (mm.mmUsers <= 0)
    errs.push(`inv12: mm${mm.id} is walked with mm_users ${mm.mmUsers} (no mmget reference)`);
  return errs;
}

/**
 * Invariant 13 (lock part): `task` holds no lock that an interval callback of `mm` takes — the
 * precondition of mmu_interval_read_begin() and mmu_interval_notifier_remove().
 * Mirrors mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start_map (lockdep).
 */
export function checkNoCallbackLockHeld(
  mm: MmStruct,
  task: Task = mm.machine.sched.current,
): string[] {
  const m = mmuNotifierMmOf(mm);
  if (m === null) return [];
  const errs: string[] = [];
  for (const lock of m.userLocks.keys()) {
    if (lockHeldBy(lock, task))
      errs.push(`inv13: task '${task.name}' holds ${lockName(lock)}, which a callback takes`);
  }
  return errs;
}

/**
 * Invariant 14 (pin part): every registered notifier holds an mm_count reference:
 * `mmCount >= pins + (mmUsers > 0 ? 1 : 0)`.
 * Mirrors: model-only (mmgrab in __mmu_notifier_register / insert, mmdrop in unregister /
 * free / remove).
 */
export function checkMmPins(mm: MmStruct): string[] {
  const m = mmuNotifierMmOf(mm);
  if (m === null) return [];
  const need = m.pins + (mm.mmUsers > 0 ? 1 : 0);
  if (mm.mmCount >= need && m.pins >= 0) return [];
  return [
    `inv14: mm${mm.id} mm_count ${mm.mmCount} < ${m.pins} notifier pin(s) + ${mm.mmUsers > 0 ? 1 : 0} for mm_users`,
  ];
}

/**
 * The subscribers' own records agree with the container (a driver that writes a notifier's
 * fields after insert, or a misuse that half-linked one, shows here): every linked interval
 * notifier belongs to this mm, has ops with an invalidate function, and its [itStart, itLast]
 * is the interval it is filed under in the tree; every hlist subscriber is hashed, of this mm,
 * holds a reference (users >= 1) and is linked both ways; and every linked or pending interval
 * notifier and every hlist subscriber holds one of the container's mm_count pins.
 * Mirrors: model-only (what RB_EMPTY_NODE, the interval tree's keys, hlist_unhashed and the
 * mmgrab of each registration promise).
 */
export function checkSubscriberRecords(m: MmuNotifierMm): string[] {
  const errs: string[] = [];
  let subscribers = 0;
  m.itree.forEachInOrder((id, mni) => {
    subscribers++;
    if (mni.mm !== m.mm) {
      errs.push(`inv7: ${mniText(mni)} is in the tree of mm${m.mm.id} but records mm${mni.mm?.id}`);
    }
    if (mni.itStart !== m.itree.start(id) || mni.itLast !== m.itree.last(id)) {
      const filed = `[${hex(m.itree.start(id))}, ${hex(m.itree.last(id))}]`;
      errs.push(
        `inv7: ${mniText(mni)} is filed in the tree as ${filed}: its interval was changed after insert`,
      );
    }
    if (mni.ops === null || typeof mni.ops.invalidate !== 'function') {
      errs.push(`inv7: ${mniText(mni)} is in the tree without an invalidate op`);
    }
  });
  for (const mni of m.deferredList) if (mni.itNode === IT_NIL) subscribers++;
  let n = 0;
  for (let mn = m.first, prev: MmuNotifier | null = null; mn !== null; prev = mn, mn = mn.hnext) {
    if (++n > 1_000_000) {
      errs.push(`hlist: mm${m.mm.id}'s subscriber list does not end (a cycle)`);
      break;
    }
    subscribers++;
    if (!mn.hashed) errs.push(`hlist: subscriber ${n} of mm${m.mm.id} is on the list but unhashed`);
    if (mn.hprev !== prev)
      errs.push(`hlist: subscriber ${n} of mm${m.mm.id} has a wrong back link`);
    if (mn.mm !== m.mm)
      errs.push(`hlist: subscriber ${n} of mm${m.mm.id} records mm${mn.mm?.id ?? ' NULL'}`);
    if (mn.users < 1) errs.push(`hlist: subscriber ${n} of mm${m.mm.id} is listed with users 0`);
  }
  if (m.pins < subscribers) {
    errs.push(
      `inv14: mm${m.mm.id} records ${m.pins} notifier pin(s) for ${subscribers} subscriber(s); expected one mm_count pin per subscriber`,
    );
  }
  return errs;
}

/**
 * All state checks (6, 7, 11, 14 and the subscriber records) of `mm`'s container; empty when it
 * has none.
 * Mirrors: model-only.
 */
export function mmuNotifierStateViolations(mm: MmStruct): string[] {
  const m = mmuNotifierMmOf(mm);
  if (m === null) return [];
  const errs = checkSeqParity(m);
  errs.push(
    ...checkDeferredState(m),
    ...checkActiveRanges(m),
    ...checkMmPins(mm),
    ...checkSubscriberRecords(m),
  );
  return errs;
}

/**
 * Throw a KernelBugError listing every state violation of `mm`'s notifier container.
 * Mirrors: model-only.
 */
export function assertMmuNotifierInvariants(mm: MmStruct): void {
  const errs = mmuNotifierStateViolations(mm);
  if (errs.length > 0) {
    throw new KernelBugError(
      `mmu_notifier invariants of mm${mm.id} violated:\n  ${errs.join('\n  ')}`,
    );
  }
}

// ---- history checks ------------------------------------------------------------------------------

/**
 * Invariant 7 (history): the tree is linked/unlinked only while the seq is even (deferred
 * changes at the instant it turns even), and a wake-up happens only after every deferred change
 * was applied.
 * Mirrors: model-only (mn_itree_inv_end, __mmu_interval_notifier_insert, _remove).
 */
export function checkTreeFrozen(events: readonly MmuNotifierLogEvent[]): string[] {
  const errs: string[] = [];
  for (const e of events) {
    if ((e.kind === 'tree-link' || e.kind === 'tree-unlink') && odd(e.seqBefore)) {
      errs.push(
        `inv7: step ${e.step}: ${e.kind} of ${mniText(e.mni)} while the seq was odd (${e.seqBefore})`,
      );
    }
    if (e.kind === 'wake' && (odd(e.globalSeq) || e.deferredLeft > 0)) {
      errs.push(
        `inv7: step ${e.step}: waiters woken with seq ${e.globalSeq} and ${e.deferredLeft} deferred change(s) pending`,
      );
    }
  }
  return errs;
}

/**
 * Invariant 8: an `invalidate` callback runs only while the global seq is odd, with `curSeq`
 * equal to it, and only for a notifier intersecting the range (half-open vs closed).
 * Mirrors: model-only (mn_itree_inv_start_range / mn_itree_inv_next).
 */
export function checkCallbacksInWindow(events: readonly MmuNotifierLogEvent[]): string[] {
  const errs: string[] = [];
  for (const e of events) {
    if (e.kind !== 'itree-cb-enter') continue;
    const where = `step ${e.step}: invalidate of [${hex(e.itStart)}, ${hex(e.itLast)}] for ${rangeText(e.range)}`;
    if (!odd(e.globalSeq)) errs.push(`inv8: ${where} while the seq was even (${e.globalSeq})`);
    if (e.curSeq !== e.globalSeq)
      errs.push(`inv8: ${where} with cur_seq ${e.curSeq} != global ${e.globalSeq}`);
    if (!(e.range.start <= e.itLast && e.range.end - 1 >= e.itStart))
      errs.push(`inv8: ${where}: no intersection`);
  }
  return errs;
}

/**
 * Invariant 9: for `s` returned by read_begin(N), read_retry(N, s) is true if an invalidate of N
 * returned after read_begin did (soundness: catches a driver that forgets set_seq), true only
 * if some set_seq(N, v != s) ran after read_begin observed the seq (precision), and once true
 * stays true. Also: read_begin never returns while the seq it returns is the current one.
 * Mirrors: model-only (why the sequence protocol is race-free, docs/kernel/invariants.md).
 */
export function checkReadRetry(events: readonly MmuNotifierLogEvent[]): string[] {
  const errs: string[] = [];
  // Per notifier: index of each read-begin by seq, set-seq and callback-exit indices.
  const lastBegin = new Map<MmuIntervalNotifier, Map<number, { idx: number; observed: number }>>();
  const setSeqs = new Map<MmuIntervalNotifier, { idx: number; seq: number }[]>();
  const exits = new Map<MmuIntervalNotifier, number[]>();
  const becameTrue = new Map<MmuIntervalNotifier, Map<number, number>>();
  const lastObserve = new Map<MmuIntervalNotifier, number>();
  const push = <K, V>(map: Map<K, V[]>, k: K, v: V): void => {
    const a = map.get(k);
    if (a === undefined) map.set(k, [v]);
    else a.push(v);
  };
  events.forEach((e, idx) => {
    switch (e.kind) {
      case 'set-seq':
        push(setSeqs, e.mni, { idx, seq: e.seq });
        break;
      case 'itree-cb-exit':
        if (e.ok) push(exits, e.mni, idx);
        break;
      case 'read-begin': {
        if (e.globalAtReturn === e.seq) {
          errs.push(
            `inv9: step ${e.step}: read_begin(${mniText(e.mni)}) returned ${e.seq} while that window was still open`,
          );
        }
        // The observation precedes the return; a sleeping read_begin observed before it slept.
        const observed = e.slept ? (lastObserve.get(e.mni) ?? -1) : idx;
        const m = lastBegin.get(e.mni) ?? new Map<number, { idx: number; observed: number }>();
        lastBegin.set(e.mni, m);
        m.set(e.seq, { idx, observed });
        becameTrue.get(e.mni)?.delete(e.seq);
        break;
      }
      case 'read-retry': {
        const b = lastBegin.get(e.mni)?.get(e.seq);
        if (b === undefined) {
          errs.push(
            `inv9: step ${e.step}: read_retry(${mniText(e.mni)}, ${e.seq}) with a seq no read_begin returned`,
          );
          break;
        }
        const changed = (setSeqs.get(e.mni) ?? []).some(
          (s) => s.idx > b.observed && s.idx < idx && s.seq !== e.seq,
        );
        const invalidated = (exits.get(e.mni) ?? []).some((x) => x > b.idx && x < idx);
        if (e.ret && !changed) {
          errs.push(
            `inv9: step ${e.step}: read_retry(${mniText(e.mni)}, ${e.seq}) is true but no set_seq changed it since read_begin`,
          );
        }
        if (!e.ret && invalidated) {
          errs.push(
            `inv9: step ${e.step}: read_retry(${mniText(e.mni)}, ${e.seq}) is false although an invalidate of it ` +
              'completed since read_begin (did invalidate() call mmu_interval_set_seq?)',
          );
        }
        const t = becameTrue.get(e.mni) ?? new Map<number, number>();
        becameTrue.set(e.mni, t);
        if (e.ret) t.set(e.seq, idx);
        else if (t.has(e.seq))
          errs.push(
            `inv9: step ${e.step}: read_retry(${mniText(e.mni)}, ${e.seq}) went back to false`,
          );
        break;
      }
      default:
        break;
    }
    if (e.kind === 'insert' || e.kind === 'set-seq') lastObserve.set(e.mni, idx);
  });
  return errs;
}

/**
 * Invariant 10: after remove(N) returns no callback of N runs (and none was still running); a
 * notifier inserted during a fully-excluded window is not called in that window.
 * Mirrors: model-only (mmu_interval_notifier_remove's guarantee, the deferred insert).
 */
export function checkRemoveAndDeferredInsert(events: readonly MmuNotifierLogEvent[]): string[] {
  const errs: string[] = [];
  const running = new Map<MmuIntervalNotifier, number>();
  const removed = new Set<MmuIntervalNotifier>();
  const insertedInWindow = new Map<MmuIntervalNotifier, number>();
  for (const e of events) {
    switch (e.kind) {
      case 'insert':
        removed.delete(e.mni);
        if (e.deferred) insertedInWindow.set(e.mni, e.seq);
        else insertedInWindow.delete(e.mni);
        break;
      case 'itree-cb-enter':
        running.set(e.mni, (running.get(e.mni) ?? 0) + 1);
        if (removed.has(e.mni))
          errs.push(
            `inv10: step ${e.step}: invalidate of ${mniText(e.mni)} after its remove returned`,
          );
        if (insertedInWindow.get(e.mni) === e.curSeq) {
          errs.push(
            `inv10: step ${e.step}: ${mniText(e.mni)} called in the window (seq ${e.curSeq}) it was inserted in`,
          );
        }
        break;
      case 'itree-cb-exit':
        running.set(e.mni, (running.get(e.mni) ?? 1) - 1);
        break;
      case 'remove-done':
        if ((running.get(e.mni) ?? 0) > 0) {
          errs.push(
            `inv10: step ${e.step}: remove of ${mniText(e.mni)} returned while its invalidate was running`,
          );
        }
        removed.add(e.mni);
        break;
      default:
        break;
    }
  }
  return errs;
}

/**
 * Invariant 11 (history): every start that returned 0 gets exactly one end, a failed one none;
 * every hlist subscriber whose own start returned 0 and that implements end gets its end for
 * that range (violated by R3 in 'v5.4' mode).
 * Mirrors: model-only (docs/kernel/invariants.md).
 */
export function checkStartEndPairing(
  events: readonly MmuNotifierLogEvent[],
  opts: HistoryCheckOptions = {},
): string[] {
  const errs: string[] = [];
  const starts = new Map<MmuNotifierRange, { ret: number; ends: number; step: number }>();
  const hl = new Map<
    MmuNotifier,
    Map<MmuNotifierRange, { ret: number; ends: number; step: number }>
  >();
  const mmOfMn = new Map<MmuNotifier, MmStruct>();
  for (const e of events) {
    // A subscriber taken off the list no longer gets ends: its open starts are settled.
    if (e.kind === 'register') mmOfMn.set(e.mn, e.mm);
    if (e.kind === 'unregister-done' || e.kind === 'put-last') hl.delete(e.mn);
    if (e.kind === 'release') for (const [mn, mm] of mmOfMn) if (mm === e.mm) hl.delete(mn);
    if (e.kind === 'range-start') {
      starts.set(e.range, { ret: e.ret, ends: 0, step: e.step });
    } else if (e.kind === 'range-end') {
      const s = starts.get(e.range);
      if (s === undefined)
        errs.push(`inv11: step ${e.step}: end of ${rangeText(e.range)} without a start`);
      else {
        s.ends++;
        if (s.ret !== 0)
          errs.push(
            `inv11: step ${e.step}: end of ${rangeText(e.range)} after its start failed (${s.ret})`,
          );
        if (s.ends > 1) errs.push(`inv11: step ${e.step}: second end of ${rangeText(e.range)}`);
      }
    } else if (e.kind === 'hlist-start') {
      const m = hl.get(e.mn) ?? new Map();
      hl.set(e.mn, m);
      m.set(e.range, { ret: e.ret, ends: 0, step: e.step });
    } else if (e.kind === 'hlist-end') {
      const s = hl.get(e.mn)?.get(e.range);
      if (s !== undefined) s.ends++;
    }
  }
  if (opts.final === true) {
    for (const [range, s] of starts) {
      if (s.ret === 0 && s.ends === 0)
        errs.push(`inv11: start of ${rangeText(range)} (step ${s.step}) never got its end`);
    }
    for (const [mn, m] of hl) {
      if (mn.ops.invalidateRangeEnd === undefined) continue;
      for (const [range, s] of m) {
        if (s.ret === 0 && s.ends === 0) {
          errs.push(
            `inv11: an hlist subscriber's start of ${rangeText(range)} (step ${s.step}) succeeded but it never got ` +
              'its end (R3: a later subscriber failed the non-blockable start)',
          );
        }
      }
    }
  }
  return errs;
}

/**
 * Invariant 14 (history): at exit, the hlist `release` callbacks and the interval
 * MMU_NOTIFY_RELEASE invalidation come before any invalidation issued with mm_users == 0 (the
 * teardown that frees pages).
 * Mirrors: model-only (exit_mmap calls mmu_notifier_release first).
 */
export function checkReleaseBeforeTeardown(events: readonly MmuNotifierLogEvent[]): string[] {
  const errs: string[] = [];
  const released = new Set<MmStruct>();
  const tornDown = new Set<MmStruct>();
  const mmOfMn = new Map<MmuNotifier, MmStruct>();
  for (const e of events) {
    if (e.kind === 'register') mmOfMn.set(e.mn, e.mm);
    if (e.kind === 'release') {
      if (tornDown.has(e.mm))
        errs.push(`inv14: step ${e.step}: release of mm${e.mm.id} after its teardown started`);
      released.add(e.mm);
    }
    if (e.kind === 'range-start' && e.mmUsers === 0) {
      if (!released.has(e.mm))
        errs.push(`inv14: step ${e.step}: teardown invalidation of mm${e.mm.id} before release`);
      tornDown.add(e.mm);
    }
    if (
      e.kind === 'itree-cb-enter' &&
      e.range.event === MMU_NOTIFY_RELEASE &&
      tornDown.has(e.range.mm)
    ) {
      errs.push(
        `inv14: step ${e.step}: MMU_NOTIFY_RELEASE of mm${e.range.mm.id} after its teardown started`,
      );
    }
    if (e.kind === 'hlist-cb-enter' && e.op === 'release') {
      const mm = mmOfMn.get(e.mn);
      if (mm !== undefined && tornDown.has(mm))
        errs.push(`inv14: step ${e.step}: release callback after teardown of mm${mm.id}`);
    }
  }
  return errs;
}

/**
 * Invariant 15: after unregister returns no callback of that notifier runs (and none is still
 * running); after the last put, free_notifier runs exactly once, after every callback that was
 * running at the put has returned.
 * Mirrors: model-only (synchronize_srcu in mmu_notifier_unregister, call_srcu in mmu_notifier_put).
 */
export function checkUnregisterAndFree(
  events: readonly MmuNotifierLogEvent[],
  opts: HistoryCheckOptions = {},
): string[] {
  const errs: string[] = [];
  const running = new Map<MmuNotifier, number>();
  const gone = new Map<MmuNotifier, string>();
  const putLast = new Map<MmuNotifier, { step: number; frees: number; runningAtPut: number }>();
  for (const e of events) {
    switch (e.kind) {
      case 'register':
        gone.delete(e.mn);
        putLast.delete(e.mn);
        break;
      case 'hlist-cb-enter': {
        running.set(e.mn, (running.get(e.mn) ?? 0) + 1);
        const why = gone.get(e.mn);
        if (why !== undefined) errs.push(`inv15: step ${e.step}: ${e.op} callback after ${why}`);
        break;
      }
      case 'hlist-cb-exit':
        running.set(e.mn, (running.get(e.mn) ?? 1) - 1);
        break;
      case 'unregister-done':
        if ((running.get(e.mn) ?? 0) > 0)
          errs.push(`inv15: step ${e.step}: unregister returned while a callback was running`);
        gone.set(e.mn, `unregister returned (step ${e.step})`);
        break;
      case 'put-last':
        putLast.set(e.mn, { step: e.step, frees: 0, runningAtPut: running.get(e.mn) ?? 0 });
        break;
      case 'free-notifier': {
        const p = putLast.get(e.mn);
        if (p === undefined) {
          errs.push(`inv15: step ${e.step}: free_notifier without a final put`);
          break;
        }
        p.frees++;
        if (p.frees > 1) errs.push(`inv15: step ${e.step}: free_notifier ran ${p.frees} times`);
        if ((running.get(e.mn) ?? 0) > 0)
          errs.push(`inv15: step ${e.step}: free_notifier while a callback is still running`);
        gone.set(e.mn, `free_notifier (step ${e.step})`);
        break;
      }
      default:
        break;
    }
  }
  if (opts.final === true) {
    for (const [, p] of putLast) {
      if (p.frees === 0)
        errs.push(`inv15: the final put at step ${p.step} was never followed by free_notifier`);
    }
  }
  return errs;
}

/**
 * All history checks (7, 8, 9, 10, 11, 14, 15) over `events`.
 * Mirrors: model-only.
 */
export function mmuNotifierHistoryViolations(
  events: readonly MmuNotifierLogEvent[],
  opts: HistoryCheckOptions = {},
): string[] {
  return [
    ...checkTreeFrozen(events),
    ...checkCallbacksInWindow(events),
    ...checkReadRetry(events),
    ...checkRemoveAndDeferredInsert(events),
    ...checkStartEndPairing(events, opts),
    ...checkReleaseBeforeTeardown(events),
    ...checkUnregisterAndFree(events, opts),
  ];
}

/**
 * Throw a KernelBugError listing every history violation in `events`.
 * Mirrors: model-only.
 */
export function assertMmuNotifierHistory(
  events: readonly MmuNotifierLogEvent[],
  opts: HistoryCheckOptions = {},
): void {
  const errs = mmuNotifierHistoryViolations(events, opts);
  if (errs.length > 0)
    throw new KernelBugError(`mmu_notifier history violated:\n  ${errs.join('\n  ')}`);
}
