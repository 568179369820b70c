/**
 * Benchmark worlds: a private anonymous mapping at a fixed address, and CPU write faults that
 * populate it (one per 4 KiB page, or one per 2 MiB with THP).
 */
import {
  FAULT_FLAG_WRITE,
  findVma,
  handleMmFault,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type MmStruct,
  mmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';

/** mmap(base, len, RW, PRIVATE|ANONYMOUS|FIXED); throws unless it lands at `base`. */
export async function mapAnonFixed(mm: MmStruct, base: number, len: number): Promise<void> {
  const addr = await mmap(
    mm,
    base,
    len,
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
  );
  if (addr !== base) throw new Error(`mmap at 0x${base.toString(16)} failed: ${addr}`);
}

/** CPU write faults on [start, start + len), one every `step` bytes; throws on a failed fault. */
export async function faultInWrite(
  mm: MmStruct,
  start: number,
  len: number,
  step: number,
): Promise<void> {
  const vma = findVma(mm, start);
  if (vma === undefined) throw new Error(`no vma at 0x${start.toString(16)}`);
  for (let a = start; a < start + len; a += step) {
    const r = await handleMmFault(vma, a, FAULT_FLAG_WRITE);
    if (r !== 0) throw new Error(`fault at 0x${a.toString(16)} returned ${r}`);
  }
}
