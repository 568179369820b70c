/**
 * The CPU-side events a mirroring driver must survive, each one firing the invalidation Linux
 * fires for it: munmap (MMU_NOTIFY_UNMAP, the page freed and reused by another process),
 * mprotect (MMU_NOTIFY_PROTECTION_VMA, write access dropped), reclaim (MMU_NOTIFY_CLEAR from
 * try_to_unmap, the page swapped out and reused), fork (the parent's pages write-protected for
 * copy-on-write, then the parent writes and gets a new page) and migration (the page moved to
 * device-private memory by migrate_vma).
 */
import { InvalidArgumentError, KernelBugError, PAGE_SIZE } from '@hmmsim/kernel';
import {
  cpuWrite,
  fork,
  type MmStruct,
  mprotect,
  munmap,
  PROT_READ,
  reclaimPage,
} from '@hmmsim/mm';
import { GUIDE_BASE, GUIDE_NPAGES, GUIDE_OTHER_ADDR, type GuideWorld } from './world.ts';

/** An invalidation the guide's scenarios run against a device access. */
export type Invalidation = 'munmap' | 'mprotect' | 'reclaim' | 'fork' | 'migrate';

/** Every invalidation, in the order the guide shows them. */
export const INVALIDATIONS: readonly Invalidation[] = Object.freeze([
  'munmap',
  'mprotect',
  'reclaim',
  'fork',
  'migrate',
]);

/** What each invalidation does, as the scenario descriptions say it. */
export const INVALIDATION_TEXT: Readonly<Record<Invalidation, string>> = Object.freeze({
  munmap: 'munmaps a mirrored page (another process then gets the freed pfn)',
  mprotect: 'mprotects the mirrored range read-only',
  reclaim: 'reclaims a mirrored page (another process then gets the freed pfn)',
  fork: 'forks, then writes a mirrored page (copy-on-write gives it a new pfn; the child keeps the old one)',
  migrate: 'migrates a mirrored page to device-private memory',
});

/** The page of the range each invalidation hits (mprotect: the whole range). */
export const VICTIM_INDEX: Readonly<Record<Invalidation, number>> = Object.freeze({
  munmap: 1,
  mprotect: 0,
  reclaim: 0,
  fork: 0,
  migrate: 0,
});

/** The result of running an invalidation: its return value and the processes it created. */
export interface InvalidationResult {
  /** 0 on success (the syscall's return, reclaim's, or 0 for fork + write / migration). */
  ret: number;
  /** fork: the child, which keeps the parent's old page. */
  child: MmStruct | undefined;
}

/** Throw InvalidArgumentError unless `op` is an Invalidation. */
export function checkInvalidation(fn: string, op: unknown): asserts op is Invalidation {
  if (!INVALIDATIONS.includes(op as Invalidation)) {
    throw new InvalidArgumentError(
      `${fn}: invalidation '${String(op)}'; expected one of ${INVALIDATIONS.join(', ')}`,
    );
  }
}

/** The other process touches its page: the allocator hands it the page just freed. */
async function otherProcessFaults(w: GuideWorld): Promise<void> {
  const r = await cpuWrite(w.other, GUIDE_OTHER_ADDR, new Uint8Array([0x42]));
  if (!r.ok) throw new KernelBugError(`the other process could not fault its page in: ${r.signal}`);
}

/** Run `op` on the mirrored process; `victimPfn` is the pfn the CPU mapped at the victim page. */
export async function runInvalidation(
  w: GuideWorld,
  op: Invalidation,
  victimPfn: number,
): Promise<InvalidationResult> {
  const victim = GUIDE_BASE + VICTIM_INDEX[op] * PAGE_SIZE;
  switch (op) {
    case 'munmap': {
      const ret = await munmap(w.mm, victim, PAGE_SIZE);
      await otherProcessFaults(w);
      return { ret, child: undefined };
    }
    case 'mprotect':
      return {
        ret: await mprotect(w.mm, GUIDE_BASE, GUIDE_NPAGES * PAGE_SIZE, PROT_READ),
        child: undefined,
      };
    case 'reclaim': {
      const ret = await reclaimPage(w.machine, victimPfn);
      await otherProcessFaults(w);
      return { ret, child: undefined };
    }
    case 'fork': {
      const child = await fork(w.mm);
      if (typeof child === 'number') return { ret: child, child: undefined };
      const r = await cpuWrite(w.mm, victim, new Uint8Array([0x99]));
      return { ret: r.ok ? 0 : -1, child };
    }
    case 'migrate': {
      const moved = await w.devmem.migrateToDevice(w.mm, victim, victim + PAGE_SIZE);
      return { ret: Math.min(moved, 0), child: undefined };
    }
  }
}
