/**
 * The machine-wide invariants, checked after every step (nothing is in flight then): the core
 * mm's (VMAs, page tables, rss, rmap, mapcounts, refcounts, swap slots, memmap), the
 * device-memory ones of @hmmsim/migrate with the quiescent checks (no migration entry left,
 * refcounts exact), each live mm's mmu-notifier state, and the fuzzer's own view of the device:
 * no dmirror table entry maps a page the CPU no longer maps there (a stale mapping), each device's allocated pages are exactly the device-private pages some
 * process maps, no page is left locked, no mm outlives its process.
 */
import {
  chunkPageData,
  dmirrorPageToChunk,
  dmirrorPageToDevice,
  dmirrorStaleEntries,
  NO_PAGE,
} from '@hmmsim/dmirror';
import { assertMigrateInvariants } from '@hmmsim/migrate';
import { assertMachineInvariants, forEachLeaf } from '@hmmsim/mm';
import { assertMmuNotifierInvariants } from '@hmmsim/mmu-notifier';
import { isDevicePrivateEntry, PG_locked, ptePresent, pteToSwpEntry } from '@hmmsim/pagetable';
import type { World } from '../world.ts';

/** The message of a thrown check, as one problem. */
function caught(check: () => void): string[] {
  try {
    check();
    return [];
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}

/** Stale device entries of every open mirror (and the copy-time oracle's count). */
function staleMappings(world: World): string[] {
  const out: string[] = [];
  for (const proc of world.procs.values()) {
    proc.files.forEach((file, dev) => {
      const d = file.privateData;
      if (d === null) return;
      for (const e of dmirrorStaleEntries(d)) {
        out.push(
          `stale device mapping: dmirror${dev} of P${proc.pid} maps 0x${e.addr.toString(16)}: ${e.why}`,
        );
      }
      // The copy-time oracle also fires on an entry whose device page a CPU fault is migrating
      // back (the PTE is a migration entry until dmirror_devmem_fault() erases the entry): the
      // bytes are still right then, so it is counted, not reported; the READ output and the
      // data check judge the bytes, and a really missed invalidation leaves the entry above.
      const seen = world.staleSeen.get(d) ?? 0;
      world.staleCopies += d.stats.staleCopies - seen;
      world.staleSeen.set(d, d.stats.staleCopies);
    });
  }
  return out;
}

/** The dmirror device pages mapped by some process, per device minor. */
function mappedDevicePages(world: World): Set<number>[] {
  const mapped = world.devices.map(() => new Set<number>());
  for (const mm of world.machine.mms) {
    forEachLeaf(mm.pt, (e) => {
      if (e.level !== 1 || ptePresent(e.bits)) return;
      if (!isDevicePrivateEntry(pteToSwpEntry(e.bits, e.val))) return;
      const dev = dmirrorPageToDevice(world.machine, e.val);
      if (dev !== null) mapped[dev.minor]?.add(e.val);
    });
  }
  return mapped;
}

/**
 * The system pages backing mapped device pages: the device holds one reference on each (the
 * simulated device memory), which the quiescent refcount check must count.
 */
function backingPages(world: World, mapped: readonly Set<number>[]): Set<number> {
  const out = new Set<number>();
  for (const set of mapped) {
    for (const dpfn of set) {
      const chunk = dmirrorPageToChunk(world.machine, dpfn);
      const rpage = chunk === null ? NO_PAGE : chunkPageData(chunk, dpfn);
      if (rpage !== NO_PAGE) out.add(rpage);
    }
  }
  return out;
}

/** A per-pfn table of extra references and its look-up, kept per world (one function, hot). */
interface ExtraRefs {
  table: Uint8Array;
  readonly lookup: (pfn: number) => number;
}

const extraRefsOf = new WeakMap<World, ExtraRefs>();

/** The world's extra-reference table, sized to the memmap, with 1 for each page in `pages`. */
function extraRefTable(world: World, pages: ReadonlySet<number>): ExtraRefs {
  const end = world.machine.phys.memmapEnd;
  let x = extraRefsOf.get(world);
  if (x === undefined) {
    const made: ExtraRefs = { table: new Uint8Array(end), lookup: (pfn) => made.table[pfn] ?? 0 };
    x = made;
    extraRefsOf.set(world, x);
  }
  if (x.table.length < end) x.table = new Uint8Array(end);
  for (const pfn of pages) x.table[pfn] = 1;
  return x;
}

/** Each device's allocated pages (calloc - cfree) are the distinct device pages mapped. */
function deviceAccounting(world: World, mapped: readonly Set<number>[]): string[] {
  const out: string[] = [];
  world.devices.forEach((d, i) => {
    const inUse = d.calloc - d.cfree;
    const n = mapped[i]!.size;
    if (inUse !== n) {
      out.push(`${d.name}: ${inUse} device pages allocated (calloc - cfree) but ${n} mapped`);
    }
  });
  return out;
}

/** No page is locked with nothing in flight. */
function lockedPages(world: World): string[] {
  const pm = world.machine.phys;
  const out: string[] = [];
  for (let pfn = 0; pfn < pm.memmapEnd; pfn++) {
    if (((pm.flags[pfn] as number) & PG_locked) !== 0) out.push(`pfn ${pfn} is left locked`);
  }
  return out.slice(0, 5);
}

/** Every machine-wide problem now (empty: all hold). Model helper (the fuzzer's oracle). */
export function machineProblems(world: World): string[] {
  const machine = world.machine;
  const mapped = mappedDevicePages(world);
  const backing = backingPages(world, mapped);
  const extra = extraRefTable(world, backing);
  const extraRefs = extra.lookup;
  const out = [
    ...caught(() => assertMachineInvariants(machine)),
    ...caught(() => assertMigrateInvariants(machine, { quiescent: true, extraRefs })),
  ];
  for (const proc of world.procs.values()) {
    out.push(...caught(() => assertMmuNotifierInvariants(proc.mm)));
  }
  out.push(...staleMappings(world), ...deviceAccounting(world, mapped), ...lockedPages(world));
  const live = new Set([...world.procs.values()].map((p) => p.mm));
  for (const mm of machine.mms) {
    if (!live.has(mm)) out.push(`mm${mm.id} is alive but belongs to no live process`);
  }
  for (const mm of live) {
    if (!machine.mms.has(mm)) out.push(`mm${mm.id} of a live process is not on the machine`);
  }
  for (const pfn of backing) extra.table[pfn] = 0;
  return out;
}
