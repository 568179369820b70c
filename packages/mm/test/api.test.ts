import { EACCES, EINVAL, PMD_SIZE, ULONG_MAX } from '@hmmsim/kernel';
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  getPage,
  makeDevicePrivateEntry,
  makeHwpoisonEntry,
  memmapAddRange,
  PG_anon,
  pteOffset,
  setPte,
  swpEntryToPte,
} from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  addMmCounter,
  calcVmFlagBits,
  calcVmProtBits,
  cpuRead,
  cpuWrite,
  createFile,
  FMODE_READ,
  FMODE_WRITE,
  fileContents,
  fileRead,
  fileSync,
  fileWrite,
  findVma,
  findVmaContaining,
  findVmaIntersection,
  findVmaPrev,
  followPageMask,
  followPte,
  fork,
  getMmCounter,
  getUnmappedArea,
  InvalidationRecorder,
  isCowMapping,
  linearPageIndex,
  lockPageSleep,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_PRIVATE,
  MAP_SHARED,
  MM_ANONPAGES,
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_VMA,
  type MmStruct,
  mmap,
  mmPopulate,
  mmput,
  mmuNotifierChangePte,
  mmuNotifierClearYoung,
  mmuNotifierInvalidateRangeStartNonblock,
  mmuNotifierRangeBlockable,
  mmuNotifierRangeInit,
  mmuNotifierRangeUpdateToReadOnly,
  mmuNotifierSetHooks,
  mmuNotifierTestYoung,
  mmuNotifyEventName,
  mprotect,
  munmap,
  openFile,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  splitVma,
  unlockPageWake,
  VM_FAULT_HWPOISON,
  VM_FAULT_SIGBUS,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_MAYWRITE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  vmaAddress,
  vmaMerge,
  vmasMergeable,
  waitOnPageLocked,
} from '../src/index.ts';
import { bytes, check, PAGE, setup, starts } from './helpers.ts';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const A = 0x10000000;

describe('notifier hook helpers', () => {
  it('range init / blockable / update_to_read_only / event names', async () => {
    const { mm } = setup();
    await mmap(mm, A, PAGE, RW, ANON | MAP_FIXED);
    const vma = findVma(mm, A)!;
    const r = mmuNotifierRangeInit(MMU_NOTIFY_PROTECTION_VMA, 0, vma, mm, A, A + PAGE);
    expect(mmuNotifierRangeBlockable(r)).toBe(false);
    expect(mmuNotifierRangeUpdateToReadOnly(r)).toBe(true);
    expect(mmuNotifierRangeUpdateToReadOnly({ ...r, event: MMU_NOTIFY_CLEAR })).toBe(false);
    expect(mmuNotifierRangeUpdateToReadOnly({ ...r, vma: null })).toBe(false);
    expect(mmuNotifyEventName(MMU_NOTIFY_CLEAR)).toBe('MMU_NOTIFY_CLEAR');
    expect(mmuNotifyEventName(9)).toBe('MMU_NOTIFY_<9>');
  });

  it('no hooks: every call is a no-op; the recorder chains, vetoes non-blocking starts and detaches', async () => {
    const { mm } = setup();
    mmuNotifierSetHooks(mm, null);
    const r = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, null, mm, 0, PAGE);
    expect(await mmuNotifierInvalidateRangeStartNonblock(r)).toBe(0);
    expect(mmuNotifierClearYoung(mm, 0, PAGE)).toBe(0);
    expect(mmuNotifierTestYoung(mm, 0)).toBe(0);
    mmuNotifierChangePte(mm, 0, 0, 0);
    const inner = new InvalidationRecorder().attach(mm);
    const outer = new InvalidationRecorder().attach(mm);
    outer.onStart = (range) => (mmuNotifierRangeBlockable(range) ? 0 : -11);
    expect(await mmuNotifierInvalidateRangeStartNonblock(r)).toBe(-11);
    expect(r.flags & MMU_NOTIFIER_RANGE_BLOCKABLE).toBe(0);
    expect(inner.log).toEqual([]);
    outer.onStart = null;
    outer.clear();
    await mmap(mm, A, PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(1, 1));
    await munmap(mm, A, PAGE);
    expect(starts(inner)).toEqual(starts(outer));
    expect(starts(outer)).toEqual(['UNMAP 0x10000000-0x10001000']);
    outer.detach(mm);
    expect(mm.notifier).toBe(inner);
    await mmput(mm);
    expect(inner.log.at(-1)!.kind).toBe('release');
  });
});

describe('vma helpers', () => {
  it('lookups, split, merge, offsets', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, 4 * PAGE, RW, ANON | MAP_FIXED);
    await mmap(mm, A + 8 * PAGE, PAGE, PROT_READ, ANON | MAP_FIXED);
    expect(findVma(mm, A + 5 * PAGE)!.vmStart).toBe(A + 8 * PAGE);
    expect(findVmaContaining(mm, A + 5 * PAGE)).toBeUndefined();
    expect(findVmaIntersection(mm, A + 4 * PAGE, A + 8 * PAGE)).toBeUndefined();
    expect(findVmaIntersection(mm, A + 4 * PAGE, A + 9 * PAGE)!.vmStart).toBe(A + 8 * PAGE);
    const { vma, prev } = findVmaPrev(mm, A + 5 * PAGE);
    expect([prev!.vmStart, vma!.vmStart]).toEqual([A, A + 8 * PAGE]);
    const v = findVma(mm, A)!;
    expect(linearPageIndex(v, A + PAGE)).toBe(A / PAGE + 1);
    expect(vmaAddress(v, A / PAGE + 2)).toBe(A + 2 * PAGE);
    expect(isCowMapping(v.vmFlags)).toBe(true);
    const lower = await splitVma(mm, v, A + PAGE, true);
    expect([lower.vmStart, lower.vmEnd, v.vmStart]).toEqual([A, A + PAGE, A + PAGE]);
    expect(vmasMergeable(lower, v)).toBe(true);
    expect(vmaMerge(mm, v)).toBe(lower);
    expect(lower.vmEnd).toBe(A + 4 * PAGE);
    await expect(splitVma(mm, lower, A + 4 * PAGE, false)).rejects.toThrow(/strictly inside/);
    expect(calcVmProtBits(PROT_READ | PROT_EXEC)).toBe(VM_READ | 4);
    expect(calcVmFlagBits(MAP_LOCKED | 0x100)).toBe(VM_LOCKED | VM_GROWSDOWN);
    expect(getUnmappedArea(mm, A, PAGE, MAP_FIXED)).toBe(A);
    expect(getUnmappedArea(mm, A, PAGE, 0)).not.toBe(A);
    expect(getUnmappedArea(mm, A + 5 * PAGE, PAGE, 0)).toBe(A + 5 * PAGE);
    expect(getUnmappedArea(mm, A + 1, PAGE, MAP_FIXED)).toBe(-EINVAL);
    addMmCounter(mm, MM_ANONPAGES, 0);
    expect(getMmCounter(mm, MM_ANONPAGES)).toBe(0);
    check(machine);
  });

  it('MAP_LOCKED populates, DONTNEED refuses it, the child does not inherit VM_LOCKED', async () => {
    const { mm, machine } = setup();
    const a = await mmap(mm, 0, 2 * PAGE, RW, ANON | MAP_LOCKED);
    expect(mm.rss[MM_ANONPAGES]).toBe(2);
    const { madvise, MADV_DONTNEED, reclaimPage } = await import('../src/index.ts');
    expect(await madvise(mm, a, PAGE, MADV_DONTNEED)).toBe(-EINVAL);
    const pfn = mm.pt.val[pteOffset(mm.pt, a)]!;
    expect(await reclaimPage(machine, pfn)).toBe(-16);
    const child = (await fork(mm)) as MmStruct;
    expect(findVma(child, a)!.vmFlags & VM_LOCKED).toBe(0);
    check(machine);
    expect(await mmPopulate(mm, a, 2 * PAGE)).toBe(0);
    await mprotect(mm, a, PAGE, 0);
    expect(await mmPopulate(mm, a, PAGE)).toBe(-14);
    expect(followPageMask(mm, a + PAGE, true)).not.toBeNull();
    expect(followPageMask(mm, a, false)).toBeNull();
  });

  it('followPte reads the mapping without setting the accessed or dirty bit; followPageMask sets them', async () => {
    const { mm } = setup();
    const a = await mmap(mm, 0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(await mmPopulate(mm, a, PAGE)).toBe(0);
    const slot = pteOffset(mm.pt, a);
    const clean = (mm.pt.bits[slot] as number) & ~(_PAGE_ACCESSED | _PAGE_DIRTY);
    setPte(mm.pt, slot, clean, mm.pt.val[slot] as number);
    const m = followPte(mm, a);
    expect(m).toEqual({ pfn: mm.pt.val[slot], write: true, order: 0 });
    expect(mm.pt.bits[slot]).toBe(clean);
    expect(followPageMask(mm, a, true)).toBe(m?.pfn);
    expect((mm.pt.bits[slot] as number) & (_PAGE_ACCESSED | _PAGE_DIRTY)).toBe(
      _PAGE_ACCESSED | _PAGE_DIRTY,
    );
    await mprotect(mm, a, PAGE, 0);
    expect(followPte(mm, a)).toBeNull();
  });
});

describe('files', () => {
  it('read/write/sync/contents and their errnos', async () => {
    const { mm, machine } = setup();
    const f = createFile(machine, { data: bytes(10, 1), size: PAGE + 10 });
    expect(fileRead(machine, f, -1, 1)).toBe(-EINVAL);
    expect(fileRead(machine, openFile(f, FMODE_WRITE), 0, 1)).toBe(-EACCES);
    expect(fileWrite(machine, openFile(f, FMODE_READ), 0, bytes(1, 1))).toBe(-EACCES);
    expect(fileWrite(machine, f, -5, bytes(1, 1))).toBe(-EINVAL);
    expect(Array.from(fileRead(machine, f, 8, 4) as Uint8Array)).toEqual([1, 1, 0, 0]);
    expect((fileRead(machine, f, PAGE + 5, 100) as Uint8Array).length).toBe(5);
    expect(fileWrite(machine, f, 2 * PAGE, bytes(3, 4))).toBe(3);
    expect(f.inode.size).toBe(2 * PAGE + 3);
    expect(fileContents(machine, f).length).toBe(2 * PAGE + 3);
    const s = await mmap(mm, 0, PAGE, RW, MAP_SHARED, f);
    await cpuWrite(mm, s, bytes(2, 9));
    expect(fileSync(machine, f)).toBe(0);
    expect(Array.from(f.inode.backing.get(0)!.subarray(0, 3))).toEqual([9, 9, 1]);
    const sro = await mmap(mm, 0, PAGE, PROT_READ, MAP_SHARED, openFile(f, FMODE_READ));
    expect(findVma(mm, sro)!.vmFlags & (VM_SHARED | VM_MAYWRITE | VM_WRITE)).toBe(0);
    check(machine);
  });

  it('lockPageSleep / unlockPageWake / waitOnPageLocked hand the lock over through the scheduler', async () => {
    const { machine } = setup();
    const { allocUserPage } = await import('../src/index.ts');
    const pfn = allocUserPage(machine, 0);
    await lockPageSleep(machine, pfn);
    const order: string[] = [];
    machine.sched.spawn('waiter', async () => {
      await waitOnPageLocked(machine, pfn);
      order.push('waiter saw unlock');
      await lockPageSleep(machine, pfn);
      order.push('waiter locked');
      unlockPageWake(machine, pfn);
    });
    machine.sched.spawn('owner', async () => {
      await machine.sched.point({ kind: 'test', label: 'x' });
      order.push('owner unlocks');
      unlockPageWake(machine, pfn);
    });
    const res = await machine.sched.run();
    expect(res.errors).toEqual([]);
    expect(order).toEqual(['owner unlocks', 'waiter saw unlock', 'waiter locked']);
    check(machine);
  });
});

describe('special swap entries', () => {
  it('device-private entries: fork downgrades to read on both sides, CPU access calls migrate_to_ram, zap frees', async () => {
    const { mm, machine, rec } = setup();
    const pm = machine.phys;
    const dev = memmapAddRange(pm, 4, 7);
    let freed = -1;
    pm.devPageFree = (_pm, pfn) => {
      freed = pfn;
    };
    const seen: number[] = [];
    machine.devPagemaps.set(7, {
      migrateToRam: async (vmf) => {
        seen.push(vmf.page);
        return VM_FAULT_SIGBUS;
      },
    });
    await mmap(mm, A, PAGE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, A, bytes(1, 1));
    // What migrate_vma would leave behind: the RAM page replaced by a device-private entry.
    const slot = pteOffset(mm.pt, A);
    const ram = mm.pt.val[slot]!;
    const { pageRemoveRmap, mmPutPage } = await import('../src/index.ts');
    pageRemoveRmap(machine, ram, false);
    mmPutPage(machine, ram);
    getPage(pm, dev);
    pm.mapcount[dev] = 1;
    pm.flags[dev] = pm.flags[dev]! | PG_anon;
    pm.mapping[dev] = findVma(mm, A)!.anonVma!.id;
    pm.index[dev] = A / PAGE;
    const e = swpEntryToPte(makeDevicePrivateEntry(dev, true));
    setPte(mm.pt, slot, e.bits, e.val);
    check(machine);
    rec.clear();
    const child = (await fork(mm)) as MmStruct;
    expect(starts(rec)).toEqual(['PROTECTION_PAGE 0x10000000-0x10001000']);
    expect(pm.refcount[dev]).toBe(3);
    expect(pm.mapcount[dev]).toBe(2);
    const readEntry = swpEntryToPte(makeDevicePrivateEntry(dev, false));
    expect(mm.pt.bits[slot]).toBe(readEntry.bits);
    expect(child.pt.bits[pteOffset(child.pt, A)]).toBe(readEntry.bits);
    check(machine);
    expect(await cpuRead(child, A, 1)).toMatchObject({ ok: false, signal: 'SIGBUS' });
    expect(seen).toEqual([dev]);
    await mmput(child);
    expect(freed).toBe(-1);
    await munmap(mm, A, PAGE);
    expect(freed).toBe(dev);
    expect(pm.refcount[dev]).toBe(1);
    check(machine);
  });

  it('hwpoison entries give SIGBUS/BUS_MCEERR_AR', async () => {
    const { mm, machine } = setup();
    await mmap(mm, A, 2 * PAGE, RW, ANON | MAP_FIXED);
    await cpuRead(mm, A, 1);
    const slot = pteOffset(mm.pt, A + PAGE);
    const e = swpEntryToPte(makeHwpoisonEntry(3));
    setPte(mm.pt, slot, e.bits, e.val);
    const { handleMmFault } = await import('../src/index.ts');
    expect(await handleMmFault(findVma(mm, A)!, A + PAGE, 0)).toBe(VM_FAULT_HWPOISON);
    expect(await cpuRead(mm, A + PAGE, 1)).toMatchObject({
      ok: false,
      signal: 'SIGBUS',
      code: 'BUS_MCEERR_AR',
    });
    await munmap(mm, A, 2 * PAGE);
    check(machine);
  });
});

describe('exit range', () => {
  it('exit UNMAP covers [0, ULONG_MAX) and THPs are freed whole', async () => {
    const { mm, machine, rec } = setup({ thp: 'always' });
    await mmap(mm, 0x40000000, PMD_SIZE, RW, ANON | MAP_FIXED);
    await cpuWrite(mm, 0x40000000, bytes(1, 1));
    const child = (await fork(mm)) as MmStruct;
    await cpuWrite(child, 0x40000000 + PAGE, bytes(1, 2));
    check(machine);
    rec.clear();
    await mmput(mm);
    expect(rec.starts()).toEqual([{ event: 0, start: 0, end: ULONG_MAX, blockable: true }]);
    await mmput(child);
    check(machine);
    expect(machine.phys.freeArea.nrFree).toBe(machine.phys.nrPages - 1);
  });
});
