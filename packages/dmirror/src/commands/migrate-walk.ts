/**
 * The VMA walk both migration commands share: take a reference on the mirrored mm (-EINVAL if it
 * is gone) and mmap_sem for read; cut `[start, end)` into steps of at most 64 pages clipped to
 * their VMA, each needing a VMA that contains its first address and has VM_READ (-EINVAL
 * otherwise, even after earlier steps moved pages); run one migrate_vma round per step on a
 * migrate_vma owned by the device that selects `select` (migrate-args.ts).
 *
 * Mirrors the loops of lib/test_hmm.c: dmirror_migrate_to_device(), dmirror_migrate_to_system().
 */
import { downRead, EINVAL, PAGE_SIZE, upRead } from '@hmmsim/kernel';
import type { MigrateVma } from '@hmmsim/migrate';
import { findVma, mmgetNotZero, mmput, VM_READ, type VmArea } from '@hmmsim/mm';
import type { Dmirror } from '../dmirror.ts';
import { type DmirrorMigrateSelect, dmirrorMigrateVma } from '../migrate-args.ts';

/** Pages per migrate_vma round. Mirrors ARRAY_SIZE(src_pfns) = 64 in lib/test_hmm.c. */
export const DMIRROR_MIGRATE_CHUNK_PAGES = 64;

/** The VMA containing `addr` if it is readable. Mirrors vma_lookup() + the VM_READ test. */
function readableVma(dmirror: Dmirror, addr: number): VmArea | null {
  const vma = findVma(dmirror.mm, addr);
  if (vma === undefined || addr < vma.vmStart || (vma.vmFlags & VM_READ) === 0) return null;
  return vma;
}

/**
 * Run `round` over `[start, end)` step by step, each on a migrate_vma selecting `select`: 0,
 * -EINVAL (mm gone, no readable VMA at a step), or the first negative value a round returns.
 * Mirrors the VMA loop of lib/test_hmm.c:dmirror_migrate_to_device().
 */
export async function dmirrorMigrateWalk(
  dmirror: Dmirror,
  start: number,
  end: number,
  select: DmirrorMigrateSelect,
  round: (args: MigrateVma) => Promise<number>,
): Promise<number> {
  const mm = dmirror.mm;
  if (!mmgetNotZero(mm)) return -EINVAL;
  await downRead(mm.mmapSem);
  try {
    for (let addr = start; addr < end; ) {
      const vma = readableVma(dmirror, addr);
      if (vma === null) return -EINVAL;
      const next = Math.min(end, addr + DMIRROR_MIGRATE_CHUNK_PAGES * PAGE_SIZE, vma.vmEnd);
      const ret = await round(dmirrorMigrateVma(dmirror.mdevice, vma, addr, next, select));
      if (ret < 0) return ret;
      addr = next;
    }
    return 0;
  } finally {
    upRead(mm.mmapSem);
    await mmput(mm);
  }
}
