/**
 * Model checks of the dmirror device and its files: the device-memory bookkeeping (the free list
 * is a list — no cycle, no page twice, only idle pages of this device — and calloc − cfree is
 * exactly the pages off it, each with a live backing page), and per file: a released mirror has
 * an empty table and no subscription left in use, an open one has no stale entry, and with
 * nothing running no command still holds the file. Used after every row of the bad-input table,
 * by the selftest processes and by fuzzers.
 *
 * Mirrors: model-only (the properties lib/test_hmm.c relies on).
 */
import { KernelBugError } from '@hmmsim/kernel';
import { PG_locked } from '@hmmsim/pagetable';
import type { DmirrorChunk } from './devmem/dmirror-chunk.ts';
import { dmirrorPageToChunk, NO_PAGE } from './devmem/dmirror-chunk.ts';
import type { DmirrorDevice } from './dmirror-device.ts';
import type { DmirrorFile } from './file.ts';
import { dmirrorStaleEntries } from './stale-entry.ts';

/** The chunk of `mdevice` holding `pfn`, trying `hint` first (the list runs through one chunk). */
function chunkOf(
  mdevice: DmirrorDevice,
  pfn: number,
  hint: DmirrorChunk | null,
): DmirrorChunk | null {
  if (hint !== null && pfn >= hint.firstPfn && pfn < hint.firstPfn + hint.nrPages) return hint;
  const chunk = dmirrorPageToChunk(mdevice.machine, pfn);
  return chunk !== null && chunk.mdevice === mdevice ? chunk : null;
}

/** Walk the free list; returns the pages on it (stops at a cycle or a foreign page). */
function walkFreeList(mdevice: DmirrorDevice, out: string[]): number {
  const pm = mdevice.machine.phys;
  const visited = new Map<DmirrorChunk, Uint8Array>();
  let n = 0;
  let chunk: DmirrorChunk | null = null;
  let seen: Uint8Array | undefined;
  for (let pfn = mdevice.freePages; pfn !== NO_PAGE; ) {
    const c = chunkOf(mdevice, pfn, chunk);
    if (c === null) {
      out.push(`${mdevice.name}: free list holds pfn ${pfn}, not one of its pages`);
      break;
    }
    if (c !== chunk) {
      chunk = c;
      seen = visited.get(c);
      if (seen === undefined) {
        seen = new Uint8Array(c.nrPages);
        visited.set(c, seen);
      }
    }
    const off = pfn - c.firstPfn;
    if ((seen as Uint8Array)[off] === 1) {
      out.push(`${mdevice.name}: free list loops back to pfn ${pfn} (a page freed twice)`);
      break;
    }
    (seen as Uint8Array)[off] = 1;
    n++;
    if (c.onFreeList[off] !== 1) out.push(`${mdevice.name}: free pfn ${pfn} is not marked free`);
    const count = pm.refcount[pfn] as number;
    if (count !== 1) out.push(`${mdevice.name}: free pfn ${pfn} has refcount ${count} (in use)`);
    if (((pm.flags[pfn] as number) & PG_locked) !== 0) {
      out.push(`${mdevice.name}: free pfn ${pfn} is locked`);
    }
    pfn = c.zoneDeviceData[off] as number;
  }
  return n;
}

/** Pages of one chunk off the free list: busy, each with a live backing page. */
function checkAllocated(mdevice: DmirrorDevice, chunk: DmirrorChunk, out: string[]): number {
  const pm = mdevice.machine.phys;
  let marked = 0;
  const first = chunk.firstPfn;
  for (let off = 0; off < chunk.nrPages; off++) {
    if (chunk.onFreeList[off] === 1) {
      marked++;
      continue;
    }
    const pfn = first + off;
    const count = pm.refcount[pfn] as number;
    if (count <= 1) {
      out.push(
        `${mdevice.name}: pfn ${pfn} is idle (refcount ${count}) but not on the free list (leaked)`,
      );
      continue;
    }
    const rpage = chunk.zoneDeviceData[off];
    if (typeof rpage !== 'number' || rpage < 0 || rpage >= pm.nrPages) {
      out.push(`${mdevice.name}: allocated pfn ${pfn} has no backing page (${String(rpage)})`);
    } else if ((pm.refcount[rpage] as number) <= 0) {
      out.push(`${mdevice.name}: allocated pfn ${pfn}'s backing page ${rpage} is free`);
    }
  }
  return marked;
}

/**
 * Violations of `mdevice`'s device-memory bookkeeping (empty = consistent).
 * Mirrors: model-only.
 */
export function checkDmirrorDevice(mdevice: DmirrorDevice): string[] {
  const out: string[] = [];
  const listed = walkFreeList(mdevice, out);
  let marked = 0;
  let total = 0;
  for (const chunk of mdevice.devmemChunks) {
    total += chunk.nrPages;
    marked += checkAllocated(mdevice, chunk, out);
  }
  if (marked !== listed) {
    out.push(`${mdevice.name}: ${marked} pages marked free, ${listed} on the free list`);
  }
  const busy = mdevice.calloc - mdevice.cfree;
  if (busy !== total - listed) {
    out.push(
      `${mdevice.name}: calloc ${mdevice.calloc} - cfree ${mdevice.cfree} = ${busy}, but ${total - listed} pages are off the free list`,
    );
  }
  return out;
}

/** Options of checkDmirrorFile(). */
export interface DmirrorFileCheckOptions {
  /** No task is running: no command may still hold the file. Default true. */
  readonly quiescent?: boolean;
}

/**
 * Violations of one file (empty = consistent): a released mirror has an empty table; an open
 * one (or one whose release waits for a command) has no stale entry; quiescent, no command holds
 * the file and no release is pending. Mirrors: model-only.
 */
export function checkDmirrorFile(file: DmirrorFile, opts: DmirrorFileCheckOptions = {}): string[] {
  const out: string[] = [];
  const d = file.mirror;
  const name = `${file.device.name} file of mm${d.mm.id}`;
  if (d.released) {
    if (d.pt.size !== 0) out.push(`${name}: released, but its table holds ${d.pt.size} entries`);
    return out;
  }
  for (const e of dmirrorStaleEntries(d)) {
    out.push(`${name}: stale entry at 0x${e.addr.toString(16)}: ${e.why}`);
  }
  if (opts.quiescent ?? true) {
    if (file.users !== 0) out.push(`${name}: ${file.users} command(s) still hold the file`);
    if (file.pendingRelease !== null) out.push(`${name}: a release is still pending`);
  }
  return out;
}

/**
 * Throw KernelBugError listing every violation of the devices and files given.
 * Mirrors: model-only.
 */
export function assertDmirrorInvariants(
  devices: readonly DmirrorDevice[],
  files: readonly DmirrorFile[] = [],
  opts: DmirrorFileCheckOptions = {},
): void {
  const errs = [
    ...devices.flatMap((d) => checkDmirrorDevice(d)),
    ...files.flatMap((f) => checkDmirrorFile(f, opts)),
  ];
  if (errs.length > 0) throw new KernelBugError(errs.join('\n'));
}
