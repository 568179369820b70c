/**
 * The checks added to assertMmInvariants / assertMachineInvariants, each shown to fail on the
 * wrong state it is for and to pass on the right one.
 */
import { createScheduler, downRead, downWrite, upRead, upWrite } from '@hmmsim/kernel';
import {
  makeMigrationEntry,
  PG_locked,
  pteOffset,
  setPte,
  swpEntryToPte,
  trylockPage,
  unlockPage,
} from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  assertMachineInvariants,
  assertMmInvariants,
  cpuWrite,
  createMachine,
  createMm,
  exitMmap,
  followPte,
  lockPageSleep,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  mmap,
  mmput,
  PROT_READ,
  PROT_WRITE,
  unlockPageWake,
} from '../src/index.ts';

const PAGE = 4096;
const BASE = 0x1000_0000;

async function world(sched = createScheduler()) {
  const machine = createMachine({ ramBytes: 4 * 2 ** 20, swapPages: 16, sched });
  const mm = createMm(machine);
  await mmap(mm, BASE, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  await cpuWrite(mm, BASE, new Uint8Array([1]));
  return { machine, mm, pfn: followPte(mm, BASE)!.pfn };
}

describe('assertMmInvariants, new checks', () => {
  it('an exited mm that still counts users, and a live mm the machine does not list', async () => {
    const { machine, mm } = await world();
    const other = createMm(machine);
    await expect(exitMmap(other)).rejects.toThrow(/still has mm_users 1/); // refused now
    assertMmInvariants(other);
    // The state exit_mmap() with mm_users 1 used to leave behind:
    other.exited = true;
    machine.mms.delete(other);
    expect(() => assertMmInvariants(other)).toThrow(
      /exited while mm_users is 1; expected exit_mmap only after the last mmput/,
    );
    const gone = createMm(machine);
    await mmput(gone);
    assertMmInvariants(gone);
    machine.mms.delete(mm);
    expect(() => assertMmInvariants(mm)).toThrow(/live mm is missing from machine.mms/);
  });

  it('mmap_sem left held by a task that exited (an operation that threw half way)', async () => {
    const sched = createScheduler();
    const { mm } = await world(sched);
    sched.spawn('crasher', async () => {
      await downWrite(mm.mmapSem);
      throw new Error('died holding mmap_sem');
    });
    expect((await sched.run()).errors).toHaveLength(1);
    expect(() => assertMmInvariants(mm)).toThrow(
      /mmap_sem: .*held by task 'crasher', which has exited/,
    );
  });

  it('quiescent: mmap_sem still held with nothing in flight', async () => {
    const { machine, mm } = await world();
    await downRead(mm.mmapSem);
    assertMachineInvariants(machine); // fine between two steps of an operation
    expect(() => assertMachineInvariants(machine, { quiescent: true })).toThrow(
      /mmap_sem is still held \(for read 1 time\(s\)\) with nothing in flight/,
    );
    upRead(mm.mmapSem);
    await downWrite(mm.mmapSem);
    expect(() => assertMmInvariants(mm, { quiescent: true })).toThrow(/for write by 'boot'/);
    upWrite(mm.mmapSem);
    assertMachineInvariants(machine, { quiescent: true });
  });
});

describe('assertMachineInvariants, new quiescent checks', () => {
  it('a page left locked with no migration in flight', async () => {
    const { machine, pfn } = await world();
    expect(trylockPage(machine.phys, pfn)).toBe(true);
    assertMachineInvariants(machine); // a lock holder may be between two steps
    expect(() => assertMachineInvariants(machine, { quiescent: true })).toThrow(
      new RegExp(`pfn ${pfn} is locked with nothing in flight and no migration entry naming it`),
    );
    unlockPage(machine.phys, pfn);
    assertMachineInvariants(machine, { quiescent: true });
  });

  it('a locked page named by a migration entry is a migration in flight, not a leak', async () => {
    const { machine, mm, pfn } = await world();
    expect(trylockPage(machine.phys, pfn)).toBe(true);
    // What migrate_vma_setup() leaves until finalize: the PTE is a migration entry.
    const slot = pteOffset(mm.pt, BASE);
    const e = swpEntryToPte(makeMigrationEntry(pfn, true));
    setPte(mm.pt, slot, e.bits, e.val);
    machine.phys.mapcount[pfn] = 0;
    assertMachineInvariants(machine, { quiescent: true });
    expect(machine.phys.flags[pfn]! & PG_locked).toBe(PG_locked);
  });

  it('a task still waiting on a page lock with nothing in flight', async () => {
    const sched = createScheduler();
    const { machine, pfn } = await world(sched);
    await lockPageSleep(machine, pfn);
    sched.spawn('waiter', async () => {
      await lockPageSleep(machine, pfn);
    });
    const r = await sched.run(); // the waiter sleeps; the run ends deadlocked
    expect(r.deadlock).toBeDefined();
    unlockPageWake(machine, pfn); // wakes nobody who can run again: the waiter was abandoned
    expect(() => assertMachineInvariants(machine, { quiescent: true })).toThrow(
      /task\(s\) wait on page_wait_table\[\d+\] with nothing in flight/,
    );
  });

  it('lock_page and unlock_page act on the head of a THP (never a flag on a tail)', async () => {
    const machine = createMachine({ ramBytes: 8 * 2 ** 20, thp: 'always' });
    const mm = createMm(machine);
    await mmap(
      mm,
      0x4000_0000,
      2 * 2 ** 20,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    );
    await cpuWrite(mm, 0x4000_0000, new Uint8Array([1]));
    const head = followPte(mm, 0x4000_0000)!.pfn;
    await lockPageSleep(machine, head + 5);
    expect(machine.phys.flags[head]! & PG_locked).toBe(PG_locked);
    assertMachineInvariants(machine); // the memmap check refuses flags on tails
    unlockPageWake(machine, head + 5);
    assertMachineInvariants(machine, { quiescent: true });
  });
});
