/**
 * Reading user memory without faulting, wherever its bytes live (RAM page, THP, device-private
 * page, page under migration, swap slot, nothing yet). Used by checks that must not change state
 * (explorer final checks). Every read is reported (noteRead), so a task may call these too.
 * Model helper, no kernel counterpart.
 */
import {
  accessReporting,
  checkUlong,
  noteRead,
  PAGE_SIZE,
  PMD_SIZE,
  pageAlignDown,
  pteIndex,
} from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import {
  entryIsTable,
  isDevicePrivateEntry,
  isMigrationEntry,
  nonSwapEntry,
  pmdOffset,
  pmdTransHuge,
  ptePresent,
  pteToSwpEntry,
  readPage,
  swpOffset,
  tableSlot,
} from '@hmmsim/pagetable';
import { ptBits, ptVal } from './shared-access.ts';

/** The pfn whose contents back `addr`, -1 for "zeros", -2 for a swap slot (see swapSlot). */
function backing(mm: MmStruct, addr: number): { pfn: number; swapSlot: number } {
  const pt = mm.pt;
  const pmd = pmdOffset(pt, addr);
  if (pmd < 0) return { pfn: -1, swapSlot: -1 };
  const pb = ptBits(pt, pmd);
  if (pmdTransHuge(pb)) {
    return {
      pfn: ptVal(pt, pmd) + Math.floor((addr % PMD_SIZE) / PAGE_SIZE),
      swapSlot: -1,
    };
  }
  if (!entryIsTable(pb)) return { pfn: -1, swapSlot: -1 };
  const slot = tableSlot(ptVal(pt, pmd), pteIndex(addr));
  const bits = ptBits(pt, slot);
  const val = ptVal(pt, slot);
  if (bits === 0) return { pfn: -1, swapSlot: -1 };
  if (ptePresent(bits)) return { pfn: val, swapSlot: -1 };
  const entry = pteToSwpEntry(bits, val);
  if (isDevicePrivateEntry(entry) || isMigrationEntry(entry)) return { pfn: val, swapSlot: -1 };
  if (!nonSwapEntry(entry)) return { pfn: -2, swapSlot: swpOffset(entry) };
  return { pfn: -1, swapSlot: -1 };
}

/**
 * The 4 KiB page of user memory containing `addr` as the process would read it, without
 * faulting or touching any state; a copy. Pages never written read as zeros.
 * Model helper, no kernel counterpart.
 */
export function peekUserPage(mm: MmStruct, addr: number): Uint8Array {
  checkUlong('peekUserPage', 'addr', addr, 'an address');
  const out = new Uint8Array(PAGE_SIZE);
  const { pfn, swapSlot } = backing(mm, pageAlignDown(addr));
  if (pfn >= 0) readPage(mm.machine.phys, pfn, 0, out);
  else if (pfn === -2) {
    const swap = mm.machine.swap;
    if (accessReporting) noteRead(swap.swapMap, swapSlot); // the slot's cachePfn and contents
    const cached = (swap.cachePfn[swapSlot] as number) - 1;
    if (cached >= 0) readPage(mm.machine.phys, cached, 0, out);
    else {
      const data = swap.contents[swapSlot];
      if (data !== undefined) out.set(data);
    }
  }
  return out;
}

/** `len` bytes of user memory at `addr` (any alignment), read like peekUserPage(). Model helper, no kernel counterpart. */
export function peekUser(mm: MmStruct, addr: number, len: number): Uint8Array {
  checkUlong('peekUser', 'addr', addr, 'an address');
  checkUlong('peekUser', 'len', len, 'a length');
  checkUlong('peekUser', 'addr + len', addr + len, 'an end address below 2^53');
  const out = new Uint8Array(len);
  for (let p = addr; p < addr + len; ) {
    const off = p % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, addr + len - p);
    out.set(peekUserPage(mm, p).subarray(off, off + n), p - addr);
    p += n;
  }
  return out;
}
