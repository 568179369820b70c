/**
 * Unlocking a page on the migration paths: clear PG_locked and wake the page's hashed wait queue
 * only when someone waits on it (the kernel tests PG_waiters; the model asks the queue).
 */
import { waitqueueActive, wakeUpAll } from '@hmmsim/kernel';
import type { Machine } from '@hmmsim/mm';
import { unlockPage } from '@hmmsim/pagetable';
import { checkMachinePfn } from './pfn-check.ts';

/**
 * Unlock `pfn` (KernelBugError if it is not locked) and wake its waiters, if any.
 * Mirrors mm/filemap.c:unlock_page() (the PageWaiters() fast path of wake_up_page()).
 */
export function unlockPageWakeWaiters(machine: Machine, pfn: number): void {
  checkMachinePfn('unlock_page', 'page', machine, pfn);
  unlockPage(machine.phys, pfn);
  const table = machine.pageWaitTable;
  const n = table.length;
  // pfns may exceed 2^31, where `%` is a floating-point fmod.
  const wq = table[pfn - Math.floor(pfn / n) * n];
  if (wq !== undefined && waitqueueActive(wq)) wakeUpAll(wq);
}
