/**
 * assertPageTableInvariants: structure of the table pool and validity of every leaf against the
 * memmap.
 */
import { HPAGE_PMD_NR, KernelBugError, PTRS_PER_PTE, scratchUint8 } from '@hmmsim/kernel';
import { pfnValid } from './memmap.ts';
import { PG_head, PG_locked, PG_tail } from './page-flags.ts';
import {
  type PageTables,
  PGD_LEVEL,
  PMD_LEVEL,
  PTE_LEVEL,
  PUD_LEVEL,
  TABLE_FREE,
} from './pgtable.ts';
import type { PhysMem } from './physmem.ts';
import {
  _PAGE_DEVMAP,
  _PAGE_PRESENT,
  _PAGE_PROTNONE,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_SPECIAL,
  _PAGE_SWP_ENTRY,
} from './pte.ts';
import {
  isDevicePrivateEntry,
  isHwpoisonEntry,
  isMigrationEntry,
  pteToSwpEntry,
  swpOffset,
} from './swapops.ts';

const PUD_PAGES = HPAGE_PMD_NR * PTRS_PER_PTE;
const LEVEL_NAME = ['free', 'PTE', 'PMD', 'PUD', 'PGD'];
// Module-local copies of what is tested per entry (this check runs after every fuzzer step).
const NR = HPAGE_PMD_NR;
const PTRS = PTRS_PER_PTE;
const PRESENT = _PAGE_PRESENT;
const PRESENT_OR_PROTNONE = _PAGE_PRESENT | _PAGE_PROTNONE;
const SWP = _PAGE_SWP_ENTRY;
const TABLE_TEST = _PAGE_PRESENT | _PAGE_PSE | _PAGE_SWP_ENTRY;
const TAIL = PG_tail;

/** entryIsTable() without the argument check (bits come from the pool). */
function isTable(bits: number): boolean {
  return (bits & TABLE_TEST) === PRESENT;
}

interface Check {
  readonly pt: PageTables;
  readonly pm: PhysMem;
  readonly seen: Uint8Array;
  /** Mappings found per pfn (PTE level) and per THP head (`-head - 1` keys for PMD mappings). */
  readonly maps: Map<number, number>;
  reachable: number;
}

function fail(slot: number, msg: string): never {
  throw new KernelBugError(`page-table invariant violated at slot ${slot}: ${msg}`);
}

function headOf(pm: PhysMem, pfn: number): number {
  return ((pm.flags[pfn] as number) & TAIL) === 0 ? pfn : pfn - (pfn % NR);
}

function isAllocated(pm: PhysMem, pfn: number): boolean {
  return pfnValid(pm, pfn) && (pm.refcount[headOf(pm, pfn)] as number) > 0;
}

function isDevicePfn(pm: PhysMem, pfn: number): boolean {
  return pfnValid(pm, pfn) && pfn >= pm.nrPages;
}

function count(c: Check, key: number): void {
  c.maps.set(key, (c.maps.get(key) ?? 0) + 1);
}

function checkPresentPte(c: Check, slot: number, bits: number, pfn: number): void {
  const pm = c.pm;
  if (pfn === pm.zeroPfn) {
    if ((bits & _PAGE_SPECIAL) === 0 || (bits & _PAGE_RW) !== 0) {
      fail(slot, 'the zero page must be mapped special and read-only');
    }
    return;
  }
  if ((bits & _PAGE_DEVMAP) !== 0 || isDevicePfn(pm, pfn)) {
    if ((bits & _PAGE_DEVMAP) === 0 || !isDevicePfn(pm, pfn)) {
      fail(slot, `pfn ${pfn}: _PAGE_DEVMAP must go with a ZONE_DEVICE pfn and vice versa`);
    }
    return; // DAX-style mappings are not rmapped (no mapcount)
  }
  if ((bits & _PAGE_SPECIAL) !== 0) return; // raw pfn mapping (VM_PFNMAP): no struct page needed
  if (!isAllocated(pm, pfn)) fail(slot, `present PTE maps pfn ${pfn}, which is free or invalid`);
  count(c, pfn);
}

function checkSwapEntry(c: Check, slot: number, bits: number, val: number, level: number): void {
  const pm = c.pm;
  const entry = pteToSwpEntry(bits, val);
  const pfn = swpOffset(entry);
  if (isMigrationEntry(entry)) {
    // A device-private page moving back to RAM is named by migration entries too (v5.4).
    const device = isDevicePfn(pm, pfn) && level === PTE_LEVEL;
    const head = device ? pfn : isAllocated(pm, pfn) ? headOf(pm, pfn) : -1;
    const ram = head >= 0 && pfn < pm.nrPages;
    if ((!ram && !device) || ((pm.flags[head] as number) & PG_locked) === 0) {
      fail(
        slot,
        `migration entry for pfn ${pfn}, which is not an allocated, locked RAM page or a locked device page`,
      );
    }
    if (
      level === PMD_LEVEL &&
      (pfn % HPAGE_PMD_NR !== 0 || ((pm.flags[pfn] as number) & PG_head) === 0)
    ) {
      fail(slot, `PMD migration entry for pfn ${pfn}, which is not a THP head`);
    }
    return;
  }
  if (level !== PTE_LEVEL)
    fail(slot, 'the only swap-format entry above PTE level is a PMD migration entry');
  if (isDevicePrivateEntry(entry)) {
    if (!isDevicePfn(pm, pfn) || (pm.refcount[pfn] as number) < 2) {
      fail(slot, `device-private entry for pfn ${pfn}: expected a device page with refcount >= 2`);
    }
    count(c, pfn);
  } else if (isHwpoisonEntry(entry) && !pfnValid(pm, pfn)) {
    fail(slot, `hwpoison entry for invalid pfn ${pfn}`);
  }
}

function checkHugeLeaf(c: Check, slot: number, bits: number, pfn: number, level: number): void {
  const pm = c.pm;
  const nr = level === PMD_LEVEL ? HPAGE_PMD_NR : PUD_PAGES;
  if (pfn % nr !== 0)
    fail(slot, `huge ${LEVEL_NAME[level]} leaf pfn ${pfn} is not ${nr}-page aligned`);
  if ((bits & _PAGE_DEVMAP) !== 0) {
    if (!isDevicePfn(pm, pfn) || !isDevicePfn(pm, pfn + nr - 1)) {
      fail(slot, `devmap huge leaf pfn ${pfn} is not a ZONE_DEVICE range`);
    }
    return;
  }
  if (level !== PMD_LEVEL)
    fail(slot, 'a PUD leaf must be devmap (anonymous memory has no 1 GiB pages)');
  if (!isAllocated(pm, pfn) || ((pm.flags[pfn] as number) & PG_head) === 0 || pm.order[pfn] !== 9) {
    fail(slot, `huge PMD maps pfn ${pfn}, which is not an allocated order-9 head`);
  }
  count(c, -pfn - 1);
}

function checkEntry(c: Check, slot: number, level: number): void {
  const bits = c.pt.bits[slot] as number;
  const val = c.pt.val[slot] as number;
  if (bits === 0) {
    if (val !== 0) fail(slot, `empty entry with val ${val}`);
    return;
  }
  if (level > PTE_LEVEL && isTable(bits)) {
    checkTable(c, val, level - 1, slot);
    return;
  }
  const present = (bits & PRESENT_OR_PROTNONE) !== 0;
  if ((bits & SWP) !== 0 && !present) {
    checkSwapEntry(c, slot, bits, val, level);
  } else if (level === PTE_LEVEL && present) {
    checkPresentPte(c, slot, bits, val);
  } else if ((level === PMD_LEVEL || level === PUD_LEVEL) && (bits & _PAGE_PSE) !== 0) {
    checkHugeLeaf(c, slot, bits, val, level);
  } else {
    fail(slot, `malformed ${LEVEL_NAME[level]} entry bits 0x${bits.toString(16)}`);
  }
}

function checkTable(c: Check, t: number, level: number, parentSlot: number): void {
  const pt = c.pt;
  if (t >= pt.top || pt.level[t] !== level) {
    fail(parentSlot, `points at table ${t} of level ${pt.level[t]}, expected ${LEVEL_NAME[level]}`);
  }
  if (c.seen[t] !== 0) fail(parentSlot, `table ${t} is referenced twice`);
  c.seen[t] = 1;
  c.reachable++;
  if (pt.parent[t] !== parentSlot) fail(parentSlot, `table ${t} records parent ${pt.parent[t]}`);
  let used = 0;
  const base = t * PTRS;
  const bits = pt.bits;
  const vals = pt.val;
  for (let i = 0; i < PTRS; i++) {
    const s = base + i;
    if (bits[s] === 0) {
      if (vals[s] !== 0) fail(s, `empty entry with val ${vals[s]}`);
      continue;
    }
    used++;
    checkEntry(c, s, level);
  }
  if (pt.used[t] !== used) fail(base, `table ${t} used count ${pt.used[t]} != ${used} entries`);
}

function checkPool(pt: PageTables): void {
  if (!(pt.top >= 1 && pt.top <= pt.capacity && pt.capacity <= pt.maxTables)) {
    fail(
      -1,
      `pool has top ${pt.top}, capacity ${pt.capacity}, maxTables ${pt.maxTables}; expected 1 <= top <= capacity <= maxTables`,
    );
  }
  if (pt.bits.length !== pt.capacity * PTRS || pt.val.length !== pt.capacity * PTRS) {
    fail(
      -1,
      `pool arrays hold ${pt.bits.length}/${pt.val.length} entries for capacity ${pt.capacity}`,
    );
  }
}

function checkFreeTables(c: Check): void {
  const pt = c.pt;
  let n = 0;
  for (let t = pt.freeHead; t !== -1; t = pt.nextFree[t] as number) {
    if (!(Number.isInteger(t) && t > 0 && t < pt.top)) {
      fail(-1, `free-table list holds ${t}, which is not a table handed out (1..${pt.top - 1})`);
    }
    if (++n > pt.top) fail(-1, 'free-table list has a cycle');
    if (pt.level[t] !== TABLE_FREE || c.seen[t] !== 0) fail(-1, `free table ${t} is in use`);
    c.seen[t] = 2;
    const base = t * PTRS_PER_PTE;
    for (let i = 0; i < PTRS_PER_PTE; i++) {
      if (pt.bits[base + i] !== 0 || pt.val[base + i] !== 0)
        fail(base + i, `free table ${t} not empty`);
    }
  }
  for (let t = 0; t < pt.top; t++) {
    if (c.seen[t] === 0)
      fail(-1, `table ${t} (level ${pt.level[t]}) is neither reachable nor free`);
  }
  if (pt.nrTables !== c.reachable) fail(-1, `nrTables ${pt.nrTables} != ${c.reachable} reachable`);
}

function checkMapcounts(c: Check): void {
  const pm = c.pm;
  const perHead = new Map<number, number>();
  for (const [key, n] of c.maps) {
    const pmd = key < 0;
    const pfn = pmd ? -key - 1 : key;
    const have = pmd
      ? (pm.compoundMapcounts[pfn / HPAGE_PMD_NR] as number)
      : (pm.mapcount[pfn] as number);
    if (have < n) {
      fail(
        -1,
        `pfn ${pfn} is mapped ${n} times here but its ${pmd ? 'compound ' : ''}mapcount is ${have}`,
      );
    }
    const head = headOf(pm, pfn);
    perHead.set(head, (perHead.get(head) ?? 0) + n);
  }
  for (const [head, n] of perHead) {
    if ((pm.refcount[head] as number) < n) {
      fail(-1, `page ${head} has ${n} mappings here but refcount ${pm.refcount[head]}`);
    }
  }
}

/**
 * Throw KernelBugError describing the first inconsistency: a pool whose top, capacity and arrays
 * disagree; tables reachable once with the right level/parent/used count, free tables empty and
 * handed out before, no leaked table; present PTEs map an allocated pfn,
 * the zero page (special, read-only) or a ZONE_DEVICE pfn (devmap); huge leaves are aligned heads;
 * migration entries name locked pages; device-private entries name device pages; every mapping
 * found is covered by the page's mapcount and refcount. Model check (cf. mm/debug_vm_pgtable.c).
 */
export function assertPageTableInvariants(pt: PageTables, pm: PhysMem): void {
  checkPool(pt);
  const c: Check = {
    pt,
    pm,
    seen: scratchUint8(pt, 'pagetable.invariants.seen', pt.top),
    maps: new Map(),
    reachable: 0,
  };
  if (pt.level[0] !== PGD_LEVEL) fail(0, 'table 0 is not the PGD');
  checkTable(c, 0, PGD_LEVEL, -1);
  checkFreeTables(c);
  checkMapcounts(c);
}
