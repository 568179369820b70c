/**
 * The mm package's bad-input table: every public function that takes a number (address, length,
 * count, pfn, swap entry, slot, flag mask, page offset) tried with every bad number, the values a
 * C caller can pass but the kernel refuses (its errno), and the misuses in the wrong state (after
 * exit, twice, without the lock, on the wrong page, vma or mm). After every row the machine-wide
 * checkers must pass in their quiescent form (no lock left held), the machine must be exactly as
 * before, the row must have fired no invalidation, and an mmap/write/read/munmap cycle must work.
 */
import {
  EBUSY,
  EFBIG,
  EINVAL,
  ENOMEM,
  EOVERFLOW,
  InvalidArgumentError,
  KernelBugError,
  PAGE_SIZE,
  PMD_SIZE,
  TASK_SIZE,
  ULONG_MAX,
} from '@hmmsim/kernel';
import {
  BAD_NUMBERS,
  type BadInputReport,
  type BadInputRow,
  formatBadInputReport,
  runBadInputTable,
} from '@hmmsim/kernel/testing';
import { PAGE_SHARED, pmdOffset } from '@hmmsim/pagetable';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addMmCounter,
  addrEnd,
  addToPageCache,
  addToSwap,
  addToSwapCache,
  allocUserPage,
  assertMachineInvariants,
  calcVmFlagBits,
  calcVmProtBits,
  changeHugePmd,
  changeProtection,
  copyHugePmd,
  copyPageRange,
  cpuRead,
  cpuWrite,
  createDeviceFile,
  createFile,
  createMachine,
  createMm,
  deleteFromPageCache,
  deleteFromSwapCache,
  doHugePmdWpPage,
  doMunmap,
  exitMmap,
  fileRead,
  fileWrite,
  findGetPage,
  findVma,
  findVmaContaining,
  findVmaIntersection,
  findVmaPrev,
  followPageMask,
  followPte,
  forEachLeaf,
  fork,
  freePgtables,
  freeSwapAndCache,
  getMmCounter,
  getPageRef,
  getUnmappedArea,
  handleMmFault,
  hugePmdSetAccessed,
  InvalidationRecorder,
  isCowMapping,
  linearPageIndex,
  lockPageSleep,
  lookupSwapCache,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  type MmStruct,
  madvise,
  maybeMkwrite,
  mmap,
  mmapRegion,
  mmCounter,
  mmdrop,
  mmget,
  mmgrab,
  mmPopulate,
  mmPutPage,
  mmput,
  mmuNotifierChangePte,
  mmuNotifierClearFlushYoung,
  mmuNotifierClearYoung,
  mmuNotifierInvalidateRange,
  mmuNotifierRangeInit,
  mmuNotifierRangeInitMigrate,
  mmuNotifierSetHooks,
  mmuNotifierTestYoung,
  mmuNotifyEventName,
  mprotect,
  mprotectFixup,
  munmap,
  nextPmdAddr,
  openFile,
  PROT_READ,
  PROT_WRITE,
  pageAddAnonRmap,
  pageAddFileRmap,
  pageAddNewAnonRmap,
  pagecacheGetPage,
  pageDupRmap,
  pageMoveAnonRmap,
  pageoutRange,
  pageRemoveRmap,
  pteLookup,
  reclaimPage,
  remapPfnRange,
  reuseSwapPage,
  rmapCandidates,
  setAllocFailure,
  shmemFileSetup,
  shrinkMm,
  snapshotMm,
  splitHugePmd,
  splitHugePmdAddress,
  splitVma,
  swapCount,
  swapDuplicate,
  swapFree,
  swapReadpage,
  swapWritepage,
  tlbGatherMmu,
  tlbRemovePage,
  transhugeVmaSuitable,
  tryToFreeSwap,
  tryToUnmap,
  tryToUnmapOne,
  unlockPageWake,
  unmapPageRange,
  unmapRegion,
  unmapSingleVma,
  unmapVmas,
  VmArea,
  type VmFault,
  vmaAddress,
  vmaAdjustTransHuge,
  vmaLink,
  vmaMerge,
  vmaUnlinkList,
  vmGetPageProt,
  vmNormalPage,
  waitOnPageLocked,
  writeOnePage,
  zapHugePmd,
  zapPageRange,
} from '../src/index.ts';

const PAGE = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const BASE = 0x1000_0000;
const FILE_BASE = 0x2000_0000;
const THP_BASE = 0x4000_0000;
const NORMAL = 0x5000_0000;

// ---- the machine every row runs against ----
const machine = createMachine({ ramBytes: 6 * 2 ** 20, swapPages: 64, thp: 'madvise' });
const mm = createMm(machine);
const rec = new InvalidationRecorder().attach(mm);
await mmap(mm, BASE, 8 * PAGE, RW, ANON | MAP_FIXED);
for (let i = 0; i < 8; i++) await cpuWrite(mm, BASE + i * PAGE, new Uint8Array([i + 1]));
const anonPfn = followPte(mm, BASE)!.pfn;
const swappedPfn = followPte(mm, BASE + 7 * PAGE)!.pfn;
expect(await reclaimPage(machine, swappedPfn)).toBe(0); // BASE + 7 pages is a swap entry now
const swapEntry = 1; // the first slot of swap device 0
expect(swapCount(machine, swapEntry)).toBe(1);
const file = createFile(machine, { data: new Uint8Array(4 * PAGE).fill(7) });
await mmap(mm, FILE_BASE, 4 * PAGE, RW, MAP_SHARED | MAP_FIXED, file);
await cpuRead(mm, FILE_BASE, 1);
const cachePfn = followPte(mm, FILE_BASE)!.pfn;
expect(fileRead(machine, file, 3 * PAGE, 1)).toEqual(new Uint8Array([7]));
const unmappedCachePfn = file.inode.mapping.pages.get(3)!;
await mmap(mm, THP_BASE, PMD_SIZE, RW, ANON | MAP_FIXED);
expect(await madvise(mm, THP_BASE, PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
await cpuWrite(mm, THP_BASE, new Uint8Array([9]));
const thpSlot = pmdOffset(mm.pt, THP_BASE);
const thpHead = mm.pt.val[thpSlot] as number;
expect(followPte(mm, THP_BASE)!.order).toBe(9);
const vma = findVma(mm, BASE)!;
const fileVma = findVma(mm, FILE_BASE)!;
const thpVma = findVma(mm, THP_BASE)!;
const dead = createMm(machine);
await mmput(dead);
const freePfn = allocUserPage(machine, 0);
mmPutPage(machine, freePfn);
rec.clear();

const bad = { error: InvalidArgumentError } as const;
const bug = { error: KernelBugError } as const;

/** One row per bad number for `call(v)`, skipping the labels in `skip` (valid there). */
function rows(
  fn: string,
  arg: string,
  call: (v: number) => unknown,
  skip: readonly string[] = [],
): BadInputRow[] {
  return BAD_NUMBERS.filter(([label]) => !skip.includes(label)).map(([label, v]) => ({
    fn,
    input: `${arg} = ${label}`,
    call: () => call(v),
    expect: bad,
  }));
}

const errno = (fn: string, input: string, call: () => unknown, e: number): BadInputRow => ({
  fn,
  input,
  call,
  expect: { errno: e },
});
const misuse = (fn: string, input: string, call: () => unknown, message?: RegExp): BadInputRow => ({
  fn,
  input,
  call,
  expect: message === undefined ? bug : { error: KernelBugError, message },
});
const refuse = (fn: string, input: string, call: () => unknown): BadInputRow => ({
  fn,
  input,
  call,
  expect: bad,
});

const fakeVmf = { vma: thpVma, pmdSlot: thpSlot } as unknown as VmFault;

/** Every numeric argument of access.ts to memory.ts. */
const numberRowsA: BadInputRow[] = [
  // access.ts
  ...rows('followPte', 'addr', (v) => followPte(mm, v)),
  ...rows('followPageMask', 'addr', (v) => followPageMask(mm, v, false)),
  ...rows('cpuRead', 'addr', (v) => cpuRead(mm, v, 1)),
  ...rows('cpuRead', 'len', (v) => cpuRead(mm, BASE, v)),
  ...rows('cpuWrite', 'addr', (v) => cpuWrite(mm, v, new Uint8Array(1))),
  // filemap.ts
  ...rows('createFile', 'size', (v) => createFile(machine, { size: v })),
  ...rows('createFile', 'fmode', (v) => createFile(machine, { fmode: v })),
  ...rows('openFile', 'fmode', (v) => openFile(file, v)),
  ...rows('shmemFileSetup', 'size', (v) => shmemFileSetup(machine, v)),
  ...rows('createDeviceFile', 'nrPages', (v) => createDeviceFile(machine, 'pfnmap', v)),
  ...rows('findGetPage', 'pgoff', (v) => findGetPage(file.inode.mapping, v)),
  ...rows('add_to_page_cache', 'pfn', (v) => addToPageCache(machine, file.inode.mapping, v, 9)),
  ...rows('add_to_page_cache', 'pgoff', (v) =>
    addToPageCache(machine, file.inode.mapping, anonPfn, v),
  ),
  ...rows('delete_from_page_cache', 'pfn', (v) => deleteFromPageCache(machine, v)),
  ...rows('pagecacheGetPage', 'pgoff', (v) => pagecacheGetPage(machine, file.inode.mapping, v)),
  ...rows('write_one_page', 'pfn', (v) => writeOnePage(machine, v)),
  ...rows('fileRead', 'pos', (v) => fileRead(machine, file, v, 1), ['-1']),
  ...rows('fileRead', 'len', (v) => fileRead(machine, file, 0, v)),
  ...rows('fileWrite', 'pos', (v) => fileWrite(machine, file, v, new Uint8Array(1)), ['-1']),
  ...rows('lock_page', 'pfn', (v) => lockPageSleep(machine, v)),
  ...rows('unlock_page', 'pfn', (v) => unlockPageWake(machine, v)),
  ...rows('wait_on_page_locked', 'pfn', (v) => waitOnPageLocked(machine, v)),
  // huge-memory.ts
  ...rows('transhugeVmaSuitable', 'haddr', (v) => transhugeVmaSuitable(thpVma, v)),
  ...rows('hugePmdSetAccessed', 'bits', (v) => hugePmdSetAccessed(fakeVmf, v)),
  ...rows('doHugePmdWpPage', 'bits', (v) => doHugePmdWpPage(fakeVmf, v, thpHead)),
  ...rows('doHugePmdWpPage', 'head', (v) => doHugePmdWpPage(fakeVmf, 0, v)),
  ...rows('__split_huge_pmd', 'address', (v) => splitHugePmd(thpVma, v)),
  ...rows('split_huge_pmd_address', 'address', (v) => splitHugePmdAddress(thpVma, v)),
  ...rows('vma_adjust_trans_huge', 'start', (v) => vmaAdjustTransHuge(vma, v, BASE, 0)),
  ...rows('vma_adjust_trans_huge', 'end', (v) => vmaAdjustTransHuge(vma, BASE, v, 0)),
  ...rows('vma_adjust_trans_huge', 'adjustNext', (v) => vmaAdjustTransHuge(vma, BASE, BASE, v), [
    '-1',
  ]),
  ...rows('zap_huge_pmd', 'slot', (v) => zapHugePmd(tlbGatherMmu(mm, 0, 1), thpVma, v, THP_BASE)),
  ...rows('zap_huge_pmd', 'addr', (v) => zapHugePmd(tlbGatherMmu(mm, 0, 1), thpVma, thpSlot, v)),
  ...rows('copy_huge_pmd', 'srcSlot', (v) => copyHugePmd(dead, mm, v, THP_BASE)),
  ...rows('copy_huge_pmd', 'addr', (v) => copyHugePmd(dead, mm, thpSlot, v)),
  ...rows('change_huge_pmd', 'slot', (v) => changeHugePmd(thpVma, v, PAGE_SHARED)),
  ...rows('change_huge_pmd', 'newprot', (v) => changeHugePmd(thpVma, thpSlot, v)),
  // machine.ts
  ...rows('createMachine', 'ramBytes', (v) => createMachine({ ramBytes: v })),
  ...rows('createMachine', 'swapPages', (v) => createMachine({ ramBytes: 2 ** 20, swapPages: v })),
  ...rows('allocUserPage', 'order', (v) => allocUserPage(machine, v as 0)),
  ...rows('mmPutPage', 'pfn', (v) => mmPutPage(machine, v)),
  // madvise.ts
  ...rows('madvise', 'start', (v) => madvise(mm, v, PAGE, MADV_DONTNEED)),
  ...rows('madvise', 'len', (v) => madvise(mm, BASE, v, MADV_DONTNEED)),
  ...rows('madvise', 'behavior', (v) => madvise(mm, BASE, PAGE, v), ['-1']),
  // memory.ts
  ...rows('mmCounter', 'pfn', (v) => mmCounter(machine, v)),
  ...rows('maybeMkwrite', 'bits', (v) => maybeMkwrite(v, vma)),
  ...rows('vmNormalPage', 'bits', (v) => vmNormalPage(vma, v, anonPfn)),
  ...rows('vmNormalPage', 'pfn', (v) => vmNormalPage(vma, PAGE_SHARED, v)),
  ...rows('pteLookup', 'addr', (v) => pteLookup(mm, v)),
  ...rows('handleMmFault', 'address', (v) => handleMmFault(vma, v, 0)),
  ...rows('handleMmFault', 'flags', (v) => handleMmFault(vma, BASE, v)),
  ...rows('reuseSwapPage', 'pfn', (v) => reuseSwapPage(machine, v)),
  ...rows('tlbGatherMmu', 'start', (v) => tlbGatherMmu(mm, v, PAGE)),
  ...rows('tlbGatherMmu', 'end', (v) => tlbGatherMmu(mm, 0, v)),
  ...rows('tlbRemovePage', 'addr', (v) => tlbRemovePage(tlbGatherMmu(mm, 0, 1), v, PAGE, -1)),
  ...rows('tlbRemovePage', 'size', (v) => tlbRemovePage(tlbGatherMmu(mm, 0, 1), 0, v, -1)),
  ...rows('tlbRemovePage', 'pfn', (v) => tlbRemovePage(tlbGatherMmu(mm, 0, 1), 0, PAGE, v), ['-1']),
  ...rows('addrEnd', 'addr', (v) => addrEnd(v, PMD_SIZE, PMD_SIZE)),
  ...rows('addrEnd', 'size', (v) => addrEnd(0, v, PMD_SIZE)),
  ...rows('addrEnd', 'end', (v) => addrEnd(0, PMD_SIZE, v)),
  ...rows('nextPmdAddr', 'addr', (v) => nextPmdAddr(mm.pt, v, PMD_SIZE)),
  ...rows('nextPmdAddr', 'end', (v) => nextPmdAddr(mm.pt, 0, v)),
  ...rows('unmapPageRange', 'addr', (v) =>
    unmapPageRange(tlbGatherMmu(mm, 0, 1), vma, v, BASE + PAGE),
  ),
  ...rows('unmapPageRange', 'end', (v) => unmapPageRange(tlbGatherMmu(mm, 0, 1), vma, BASE, v)),
  ...rows('unmapSingleVma', 'start', (v) =>
    unmapSingleVma(tlbGatherMmu(mm, 0, 1), vma, v, BASE + PAGE),
  ),
  ...rows('unmapSingleVma', 'end', (v) => unmapSingleVma(tlbGatherMmu(mm, 0, 1), vma, BASE, v)),
  ...rows('unmapVmas', 'start', (v) => unmapVmas(tlbGatherMmu(mm, 0, 1), [vma], v, BASE + PAGE)),
  ...rows('unmapVmas', 'end', (v) => unmapVmas(tlbGatherMmu(mm, 0, 1), [vma], BASE, v)),
  ...rows('zapPageRange', 'start', (v) => zapPageRange(vma, v, PAGE)),
  ...rows('zapPageRange', 'size', (v) => zapPageRange(vma, BASE, v)),
  ...rows('remapPfnRange', 'addr', (v) => remapPfnRange(vma, v, 1, PAGE, PAGE_SHARED)),
  ...rows('remapPfnRange', 'pfn', (v) => remapPfnRange(vma, BASE, v, PAGE, PAGE_SHARED)),
  ...rows('remapPfnRange', 'size', (v) => remapPfnRange(vma, BASE, 1, v, PAGE_SHARED)),
  ...rows('remapPfnRange', 'prot', (v) => remapPfnRange(vma, BASE, 1, PAGE, v)),
];

/** Every numeric argument of mm-struct.ts to vmscan.ts. */
const numberRowsB: BadInputRow[] = [
  // mm-struct.ts
  ...rows('createMm', 'mmapBase', (v) => createMm(machine, { mmapBase: v })),
  ...rows('createMm', 'maxPageTables', (v) => createMm(machine, { maxPageTables: v })),
  ...rows('addMmCounter', 'member', (v) => addMmCounter(mm, v, 0)),
  ...rows('addMmCounter', 'delta', (v) => addMmCounter(mm, 0, v), ['-1']),
  ...rows('getMmCounter', 'member', (v) => getMmCounter(mm, v)),
  // mmap.ts
  ...rows('calcVmProtBits', 'prot', (v) => calcVmProtBits(v)),
  ...rows('calcVmFlagBits', 'flags', (v) => calcVmFlagBits(v)),
  ...rows('getUnmappedArea', 'addr', (v) => getUnmappedArea(mm, v, PAGE, 0)),
  ...rows('getUnmappedArea', 'len', (v) => getUnmappedArea(mm, 0, v, 0)),
  ...rows('getUnmappedArea', 'flags', (v) => getUnmappedArea(mm, 0, PAGE, v)),
  ...rows('mmap', 'addr', (v) => mmap(mm, v, PAGE, RW, ANON)),
  ...rows('mmap', 'len', (v) => mmap(mm, 0, v, RW, ANON)),
  ...rows('mmap', 'prot', (v) => mmap(mm, 0, PAGE, v, ANON)),
  ...rows('mmap', 'flags', (v) => mmap(mm, 0, PAGE, RW, v)),
  ...rows('mmap', 'pgoff', (v) => mmap(mm, 0, PAGE, RW, MAP_SHARED, file, v)),
  ...rows('mmapRegion', 'addr', (v) => mmapRegion(mm, null, v, PAGE, 0, 0)),
  ...rows('mmapRegion', 'len', (v) => mmapRegion(mm, null, NORMAL, v, 0, 0)),
  ...rows('mmapRegion', 'vmFlags', (v) => mmapRegion(mm, null, NORMAL, PAGE, v, 0)),
  ...rows('mmapRegion', 'pgoff', (v) => mmapRegion(mm, null, NORMAL, PAGE, 0, v)),
  ...rows('mmPopulate', 'start', (v) => mmPopulate(mm, v, PAGE)),
  ...rows('mmPopulate', 'len', (v) => mmPopulate(mm, BASE, v)),
  // mmu-notifier-hooks.ts
  ...rows('mmuNotifyEventName', 'event', (v) => mmuNotifyEventName(v)),
  ...rows('mmu_notifier_range_init', 'event', (v) =>
    mmuNotifierRangeInit(v as 0, 0, null, mm, 0, PAGE),
  ),
  ...rows('mmu_notifier_range_init', 'flags', (v) => mmuNotifierRangeInit(1, v, null, mm, 0, PAGE)),
  ...rows('mmu_notifier_range_init', 'start', (v) => mmuNotifierRangeInit(1, 0, null, mm, v, PAGE)),
  ...rows('mmu_notifier_range_init', 'end', (v) => mmuNotifierRangeInit(1, 0, null, mm, 0, v)),
  ...rows('mmu_notifier_range_init_migrate', 'start', (v) =>
    mmuNotifierRangeInitMigrate(0, null, mm, v, PAGE, null),
  ),
  ...rows('mmu_notifier_range_init_migrate', 'end', (v) =>
    mmuNotifierRangeInitMigrate(0, null, mm, 0, v, null),
  ),
  ...rows('mmu_notifier_invalidate_range', 'start', (v) => mmuNotifierInvalidateRange(mm, v, PAGE)),
  ...rows('mmu_notifier_invalidate_range', 'end', (v) => mmuNotifierInvalidateRange(mm, 0, v)),
  ...rows('mmu_notifier_change_pte', 'addr', (v) => mmuNotifierChangePte(mm, v, 0, 0)),
  ...rows('mmu_notifier_change_pte', 'bits', (v) => mmuNotifierChangePte(mm, 0, v, 0)),
  ...rows('mmu_notifier_change_pte', 'val', (v) => mmuNotifierChangePte(mm, 0, 0, v)),
  ...rows('mmu_notifier_clear_flush_young', 'start', (v) =>
    mmuNotifierClearFlushYoung(mm, v, PAGE),
  ),
  ...rows('mmu_notifier_clear_young', 'end', (v) => mmuNotifierClearYoung(mm, 0, v)),
  ...rows('mmu_notifier_test_young', 'addr', (v) => mmuNotifierTestYoung(mm, v)),
  // mprotect.ts
  ...rows('changeProtection', 'start', (v) => changeProtection(vma, v, BASE + PAGE, PAGE_SHARED)),
  ...rows('changeProtection', 'end', (v) => changeProtection(vma, BASE, v, PAGE_SHARED)),
  ...rows('changeProtection', 'newprot', (v) => changeProtection(vma, BASE, BASE + PAGE, v)),
  ...rows('mprotectFixup', 'start', (v) => mprotectFixup(vma, v, BASE + PAGE, vma.vmFlags)),
  ...rows('mprotectFixup', 'end', (v) => mprotectFixup(vma, BASE, v, vma.vmFlags)),
  ...rows('mprotectFixup', 'newflags', (v) => mprotectFixup(vma, BASE, BASE + PAGE, v)),
  ...rows('mprotect', 'start', (v) => mprotect(mm, v, PAGE, PROT_READ)),
  ...rows('mprotect', 'len', (v) => mprotect(mm, BASE, v, PROT_READ)),
  ...rows('mprotect', 'prot', (v) => mprotect(mm, BASE, PAGE, v)),
  // munmap.ts
  ...rows('munmap', 'addr', (v) => munmap(mm, v, PAGE)),
  ...rows('munmap', 'len', (v) => munmap(mm, BASE, v)),
  ...rows('doMunmap', 'start', (v) => doMunmap(mm, v, PAGE, false)),
  ...rows('doMunmap', 'len', (v) => doMunmap(mm, BASE, v, false)),
  ...rows('unmapRegion', 'start', (v) => unmapRegion(mm, [], undefined, undefined, v, PAGE)),
  ...rows('unmapRegion', 'end', (v) => unmapRegion(mm, [], undefined, undefined, 0, v)),
  ...rows('freePgtables', 'floor', (v) => freePgtables(mm, [], v, PAGE)),
  ...rows('freePgtables', 'ceiling', (v) => freePgtables(mm, [], 0, v)),
  // rmap.ts
  ...rows('page_add_new_anon_rmap', 'pfn', (v) => pageAddNewAnonRmap(machine, v, vma, BASE, false)),
  ...rows('page_add_new_anon_rmap', 'addr', (v) =>
    pageAddNewAnonRmap(machine, anonPfn, vma, v, false),
  ),
  ...rows('page_dup_rmap', 'pfn', (v) => pageDupRmap(machine, v, false)),
  ...rows('page_add_anon_rmap', 'pfn', (v) => pageAddAnonRmap(machine, v, vma, BASE)),
  ...rows('page_add_anon_rmap', 'addr', (v) => pageAddAnonRmap(machine, anonPfn, vma, v)),
  ...rows('page_add_file_rmap', 'pfn', (v) => pageAddFileRmap(machine, v)),
  ...rows('page_remove_rmap', 'pfn', (v) => pageRemoveRmap(machine, v, false)),
  ...rows('page_move_anon_rmap', 'pfn', (v) => pageMoveAnonRmap(machine, v, vma)),
  ...rows('getPageRef', 'pfn', (v) => getPageRef(machine, v)),
  ...rows('rmap_walk', 'pfn', (v) => rmapCandidates(machine, v)),
  // swap.ts
  ...rows('add_to_swap', 'pfn', (v) => addToSwap(machine, v)),
  ...rows('add_to_swap_cache', 'pfn', (v) => addToSwapCache(machine, v, swapEntry)),
  ...rows('add_to_swap_cache', 'entry', (v) => addToSwapCache(machine, anonPfn, v)),
  ...rows('lookup_swap_cache', 'entry', (v) => lookupSwapCache(machine, v)),
  ...rows('delete_from_swap_cache', 'pfn', (v) => deleteFromSwapCache(machine, v)),
  ...rows('swap_duplicate', 'entry', (v) => swapDuplicate(machine, v)),
  ...rows('swap_count', 'entry', (v) => swapCount(machine, v)),
  ...rows('swap_free', 'entry', (v) => swapFree(machine, v)),
  ...rows('swap_free', 'entry (free_swap_and_cache)', (v) => freeSwapAndCache(machine, v)),
  ...rows('try_to_free_swap', 'entry', (v) => tryToFreeSwap(machine, v)),
  ...rows('swap_writepage', 'pfn', (v) => swapWritepage(machine, v, swapEntry)),
  ...rows('swap_writepage', 'entry', (v) => swapWritepage(machine, anonPfn, v)),
  ...rows('swap_readpage', 'pfn', (v) => swapReadpage(machine, v, swapEntry)),
  ...rows('swap_readpage', 'entry', (v) => swapReadpage(machine, anonPfn, v)),
  // vma.ts
  ...rows('isCowMapping', 'flags', (v) => isCowMapping(v)),
  ...rows('linearPageIndex', 'addr', (v) => linearPageIndex(vma, v)),
  ...rows('vmaAddress', 'pgoff', (v) => vmaAddress(vma, v)),
  ...rows('findVma', 'addr', (v) => findVma(mm, v)),
  ...rows('findVmaContaining', 'addr', (v) => findVmaContaining(mm, v)),
  ...rows('findVmaIntersection', 'start', (v) => findVmaIntersection(mm, v, PAGE)),
  ...rows('findVmaIntersection', 'end', (v) => findVmaIntersection(mm, 0, v)),
  ...rows('findVmaPrev', 'addr', (v) => findVmaPrev(mm, v)),
  ...rows('vmGetPageProt', 'flags', (v) => vmGetPageProt(v)),
  ...rows('__split_vma', 'addr', (v) => splitVma(mm, vma, v, false)),
  // vmscan.ts
  ...rows('try_to_unmap_one', 'addr', (v) => tryToUnmapOne(machine, vma, v, anonPfn)),
  ...rows('try_to_unmap_one', 'pfn', (v) => tryToUnmapOne(machine, vma, BASE, v)),
  ...rows('try_to_unmap', 'pfn', (v) => tryToUnmap(machine, v)),
  ...rows('reclaimPage', 'pfn', (v) => reclaimPage(machine, v)),
  ...rows('shrinkMm', 'nrPages', (v) => shrinkMm(mm, v)),
  ...rows('pageoutRange', 'start', (v) => pageoutRange(vma, v, BASE + PAGE)),
  ...rows('pageoutRange', 'end', (v) => pageoutRange(vma, BASE, v)),
];

/** Values a C caller can pass, refused with the kernel's errno. */
const errnoRows: BadInputRow[] = [
  errno('mmap', 'len = 0', () => mmap(mm, 0, 0, RW, ANON), -EINVAL),
  errno(
    'mmap',
    'len = ULONG_MAX ("-1" as a size_t)',
    () => mmap(mm, 0, ULONG_MAX, RW, ANON),
    -ENOMEM,
  ),
  errno('mmap', 'len past TASK_SIZE', () => mmap(mm, 0, TASK_SIZE + PAGE, RW, ANON), -ENOMEM),
  errno(
    'mmap',
    'addr unaligned with MAP_FIXED',
    () => mmap(mm, NORMAL + 1, PAGE, RW, ANON | MAP_FIXED),
    -EINVAL,
  ),
  errno(
    'mmap',
    'addr = 2^47 with MAP_FIXED',
    () => mmap(mm, 2 ** 47, PAGE, RW, ANON | MAP_FIXED),
    -ENOMEM,
  ),
  errno(
    'mmap',
    'pgoff past 2^53 pages',
    () => mmap(mm, 0, 2 * PAGE, RW, MAP_SHARED, file, ULONG_MAX),
    -EOVERFLOW,
  ),
  errno('munmap', 'addr unaligned', () => munmap(mm, BASE + 1, PAGE), -EINVAL),
  errno('munmap', 'len = 0', () => munmap(mm, BASE, 0), -EINVAL),
  errno(
    'munmap',
    'addr = ULONG_MAX - PAGE + 1',
    () => munmap(mm, ULONG_MAX - PAGE + 1, PAGE),
    -EINVAL,
  ),
  errno('mprotect', 'start unaligned', () => mprotect(mm, BASE + 1, PAGE, PROT_READ), -EINVAL),
  errno('mprotect', 'prot = 2^40 (unknown bits)', () => mprotect(mm, BASE, PAGE, 2 ** 40), -EINVAL),
  errno('mprotect', 'len = ULONG_MAX', () => mprotect(mm, BASE, ULONG_MAX, PROT_READ), -ENOMEM),
  errno('mprotect', 'a hole', () => mprotect(mm, NORMAL, PAGE, PROT_READ), -ENOMEM),
  errno('madvise', 'behavior = -1', () => madvise(mm, BASE, PAGE, -1), -EINVAL),
  errno('madvise', 'len = ULONG_MAX', () => madvise(mm, BASE, ULONG_MAX, MADV_DONTNEED), -EINVAL),
  errno('madvise', 'start unaligned', () => madvise(mm, BASE + 1, PAGE, MADV_DONTNEED), -EINVAL),
  errno('fileRead', 'pos = -1', () => fileRead(machine, file, -1, 1), -EINVAL),
  errno('fileWrite', 'pos = -1', () => fileWrite(machine, file, -1, new Uint8Array(1)), -EINVAL),
  errno(
    'fileWrite',
    'pos + len past 2^53 - 1',
    () => fileWrite(machine, file, ULONG_MAX, new Uint8Array(1)),
    -EFBIG,
  ),
  errno('reclaimPage', 'pfn past the memmap', () => reclaimPage(machine, 2 ** 40), -EINVAL),
  errno('reclaimPage', 'the zero page', () => reclaimPage(machine, 0), -EINVAL),
  errno('reclaimPage', 'a free page', () => reclaimPage(machine, freePfn), -EINVAL),
  errno(
    'remapPfnRange',
    'over populated PTEs',
    () => remapPfnRange(vma, BASE, 1, 8 * PAGE, PAGE_SHARED),
    -EBUSY,
  ),
  errno(
    'remapPfnRange',
    'part of a COW mapping',
    () => remapPfnRange(vma, BASE, 1, PAGE, PAGE_SHARED),
    -EINVAL,
  ),
  errno(
    'remapPfnRange',
    'past the vma',
    () => remapPfnRange(vma, BASE, 1, 9 * PAGE, PAGE_SHARED),
    -EINVAL,
  ),
];

/** Values no C caller could pass that are no plain number. */
const shapeRows: BadInputRow[] = [
  refuse('cpuRead', 'len past MAX_USER_COPY', () => cpuRead(mm, BASE, 2 ** 31)),
  refuse('cpuWrite', 'bytes = [1, 2]', () => cpuWrite(mm, BASE, [1, 2] as never)),
  refuse('fileWrite', 'bytes = "x"', () => fileWrite(machine, file, 0, 'x' as never)),
  refuse('mmap', 'file = {}', () => mmap(mm, 0, PAGE, RW, MAP_SHARED, {} as never)),
  refuse('munmap', 'mm = undefined', () => munmap(undefined as never, BASE, PAGE)),
  refuse('handleMmFault', 'vma = {}', () => handleMmFault({} as never, BASE, 0)),
  refuse('createMachine', "thp = 'sometimes'", () => createMachine({ thp: 'sometimes' as never })),
  refuse('createMachine', 'sched = {}', () => createMachine({ sched: {} as never })),
  refuse('createMachine', 'ramBytes unaligned', () => createMachine({ ramBytes: 2 ** 20 + 1 })),
  refuse('setAllocFailure', "policy = 'yes'", () => setAllocFailure(machine, 'yes' as never)),
  refuse('createDeviceFile', "mode = 'x'", () => createDeviceFile(machine, 'x' as never, 1)),
  refuse('createDeviceFile', 'more pages than RAM', () =>
    createDeviceFile(machine, 'pfnmap', 2 ** 20),
  ),
  refuse('createMm', 'mmapBase unaligned', () => createMm(machine, { mmapBase: 2 ** 40 + 1 })),
  refuse('allocUserPage', 'order = 3', () => allocUserPage(machine, 3 as 0)),
  refuse('mmuNotifierSetHooks', 'hooks without release', () =>
    mmuNotifierSetHooks(mm, {
      invalidateRangeStart: async () => 0,
      invalidateRangeEnd: async () => {},
    } as never),
  ),
  refuse('mmu_notifier_range_init', 'start > end', () =>
    mmuNotifierRangeInit(1, 0, null, mm, PAGE, 0),
  ),
  refuse('mmu_notifier_range_init', 'event = 7', () =>
    mmuNotifierRangeInit(7 as 0, 0, null, mm, 0, PAGE),
  ),
  refuse('forEachLeaf', 'visit = null', () => forEachLeaf(mm.pt, null as never)),
  refuse('remapPfnRange', 'pfns past 2^32', () =>
    remapPfnRange(vma, BASE, 2 ** 32 - 1, 2 * PAGE, PAGE_SHARED),
  ),
  refuse('openFile', 'file = null', () => openFile(null as never, 1)),
];

/** A fresh mm holding `pages` pages at NORMAL (for misuses that need their own victim). */
async function scratchMm(): Promise<MmStruct> {
  const s = createMm(machine);
  await mmap(s, NORMAL, PAGE, RW, ANON | MAP_FIXED);
  return s;
}

const stateRows: BadInputRow[] = [
  misuse('mmap', 'an exited mm', () => mmap(dead, 0, PAGE, RW, ANON), /has already exited/),
  misuse('munmap', 'an exited mm', () => munmap(dead, BASE, PAGE)),
  misuse('mprotect', 'an exited mm', () => mprotect(dead, BASE, PAGE, PROT_READ)),
  misuse('madvise', 'an exited mm', () => madvise(dead, BASE, PAGE, MADV_DONTNEED)),
  misuse('fork', 'an exited mm', () => fork(dead)),
  misuse('mmPopulate', 'an exited mm', () => mmPopulate(dead, BASE, PAGE)),
  misuse('mmput', 'twice (mm_users already 0)', () => mmput(dead), /mmput twice/),
  misuse('exit_mmap', 'an mm that already exited', () => exitMmap(dead)),
  misuse('exit_mmap', 'an mm that still has users', () => exitMmap(mm), /still has mm_users 1/),
  misuse('mmget', 'an mm with mm_users 0', () => mmget(dead)),
  misuse('mmgrab', 'a freed mm', () => mmgrab(dead)),
  misuse('mmdrop', 'a freed mm', () => mmdrop(dead)),
  misuse('mmdrop', 'the pin mm_users holds', () => mmdrop(mm), /with mm_users 1/),
  misuse('mmapRegion', 'without mmap_sem', () => mmapRegion(mm, null, NORMAL, PAGE, 0x73, 0)),
  misuse('doMunmap', 'without mmap_sem', () => doMunmap(mm, BASE, PAGE, false)),
  misuse('mmapRegion', 'an unaligned range', () => mmapRegion(mm, null, NORMAL + 1, PAGE, 0x73, 0)),
  misuse('vma_link', 'a vma that is already linked', () => vmaLink(mm, vma)),
  misuse('vma_link', 'a vma of another mm', () =>
    vmaLink(dead, new VmArea(mm, NORMAL, NORMAL + PAGE, 0x73, 0, null)),
  ),
  misuse('vma_link', 'an empty vma', () =>
    vmaLink(mm, new VmArea(mm, NORMAL, NORMAL, 0x73, 0, null)),
  ),
  misuse('vma_unlink', 'a vma that is not linked', () =>
    vmaUnlinkList(mm, new VmArea(mm, NORMAL, NORMAL + PAGE, 0x73, 0, null)),
  ),
  misuse('__split_vma', 'at the vma start', () => splitVma(mm, vma, BASE, false)),
  misuse('__split_vma', 'a vma of another mm', () => splitVma(dead, vma, BASE + PAGE, false)),
  misuse('vma_merge', 'an unlinked vma', () =>
    vmaMerge(mm, new VmArea(mm, NORMAL, NORMAL + PAGE, 0x73, 0, null)),
  ),
  misuse('unlock_page', 'an unlocked page', () => unlockPageWake(machine, anonPfn)),
  misuse('lock_page', 'a free page', () => lockPageSleep(machine, freePfn)),
  misuse('add_to_page_cache', 'a page already in a page cache', () =>
    addToPageCache(machine, file.inode.mapping, cachePfn, 9),
  ),
  misuse('add_to_page_cache', 'an anonymous page', () =>
    addToPageCache(machine, file.inode.mapping, anonPfn, 9),
  ),
  misuse('delete_from_page_cache', 'an anonymous page', () =>
    deleteFromPageCache(machine, anonPfn),
  ),
  misuse(
    'delete_from_page_cache',
    'a mapped page-cache page',
    () => deleteFromPageCache(machine, cachePfn),
    /still mapped/,
  ),
  misuse('add_to_swap', 'a free page', () => addToSwap(machine, freePfn)),
  misuse('add_to_swap', 'a THP', () => addToSwap(machine, thpHead)),
  misuse(
    'add_to_swap_cache',
    'a free slot',
    () => addToSwapCache(machine, anonPfn, 5),
    /slot 5 is free/,
  ),
  misuse('swap_duplicate', 'a free slot', () => swapDuplicate(machine, 5), /slot 5 is free/),
  misuse('swap_free', 'a free slot (underflow)', () => swapFree(machine, 5)),
  misuse('swap_free', 'an entry of no slot', () => swapFree(machine, 64)),
  misuse('delete_from_swap_cache', 'a page not in it', () => deleteFromSwapCache(machine, anonPfn)),
  misuse('page_remove_rmap', 'an unmapped page (underflow)', () =>
    pageRemoveRmap(machine, unmappedCachePfn, false),
  ),
  misuse(
    'page_remove_rmap',
    'compound, for an order-0 page',
    () => pageRemoveRmap(machine, unmappedCachePfn, true),
    /not part of a THP/,
  ),
  misuse('page_dup_rmap', 'compound, for an order-0 page', () =>
    pageDupRmap(machine, anonPfn, true),
  ),
  misuse('page_add_new_anon_rmap', 'a vma without anon_vma', () =>
    pageAddNewAnonRmap(machine, unmappedCachePfn, fileVma, FILE_BASE, false),
  ),
  misuse('page_add_new_anon_rmap', 'an address outside the vma', () =>
    pageAddNewAnonRmap(machine, unmappedCachePfn, vma, NORMAL, false),
  ),
  misuse('copy_page_range', 'a vma of another mm', () => copyPageRange(mm, mm, thpVma)),
  misuse('copy_page_range', 'into an exited mm', () => copyPageRange(dead, mm, vma)),
  misuse('unmapPageRange', 'a range past the vma', () =>
    unmapPageRange(tlbGatherMmu(mm, 0, 1), vma, BASE, NORMAL),
  ),
  misuse('unmapVmas', 'a gather of another mm', async () => {
    const s = await scratchMm();
    try {
      await unmapVmas(tlbGatherMmu(s, 0, 1), [vma], BASE, BASE + PAGE);
    } finally {
      await mmput(s);
    }
  }),
  misuse('zapPageRange', 'an unlinked vma', () =>
    zapPageRange(new VmArea(mm, NORMAL, NORMAL + PAGE, 0x73, 0, null), NORMAL, PAGE),
  ),
  misuse('zap_huge_pmd', 'a slot without a huge PMD', () =>
    zapHugePmd(tlbGatherMmu(mm, 0, 1), vma, pmdOffset(mm.pt, BASE), BASE),
  ),
  misuse('change_huge_pmd', 'a slot without a huge PMD', () =>
    changeHugePmd(vma, pmdOffset(mm.pt, BASE), PAGE_SHARED),
  ),
  misuse('copy_huge_pmd', 'an unaligned address', () =>
    copyHugePmd(mm, mm, thpSlot, THP_BASE + PAGE),
  ),
  misuse('mprotectFixup', 'a range past the vma', () =>
    mprotectFixup(vma, BASE, NORMAL, vma.vmFlags),
  ),
  misuse('changeProtection', 'an unaligned range', () =>
    changeProtection(vma, BASE + 1, BASE + PAGE, PAGE_SHARED),
  ),
  misuse('pageoutRange', 'a range past the vma', () => pageoutRange(vma, BASE, NORMAL)),
  misuse('try_to_unmap_one', 'an address outside the vma', () =>
    tryToUnmapOne(machine, vma, NORMAL, anonPfn),
  ),
  misuse(
    'down_write',
    'mmap while holding mmap_sem (recursive)',
    async () => {
      const { downWrite, upWrite } = await import('@hmmsim/kernel');
      await downWrite(mm.mmapSem);
      try {
        await mmap(mm, 0, PAGE, RW, ANON);
      } finally {
        upWrite(mm.mmapSem);
      }
    },
    /recursive locking/,
  ),
];

/** Everything a row could have changed, as one string. */
function digest(): string {
  const pm = machine.phys;
  const sum = (a: ArrayLike<number>) => {
    let h = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i] as number;
      if (v !== 0) h = (Math.imul(Math.imul(h, 31) + i, 31) + v) | 0;
    }
    return h;
  };
  return JSON.stringify([
    snapshotMm(mm),
    [mm.mmUsers, mm.mmCount, mm.exited, dead.mmUsers, dead.mmCount, machine.mms.size],
    [sum(pm.refcount), sum(pm.mapcount), sum(pm.flags), sum(pm.mapping), sum(pm.privateVal)],
    [pm.freeArea.nrFree, machine.swap.inuse, sum(machine.swap.swapMap), sum(machine.swap.cachePfn)],
    [...file.inode.mapping.pages],
    [vma.vmFlags, vma.vmPgoff, machine.anonVmas.size, mm.notifier === rec],
  ]);
}

const before = digest();

/**
 * The quiescent checks pass, nothing changed or fired, and a normal cycle still works (the
 * state it leaves is checked by the next row's call, and after the last row by the test).
 */
async function afterEach(): Promise<void> {
  assertMachineInvariants(machine, { quiescent: true });
  const now = digest();
  if (now !== before) throw new Error(`state changed:\n  ${before}\n  ${now}`);
  if (rec.log.length !== 0) throw new Error(`fired ${rec.lines().join('; ')}`);
  const a = await mmap(mm, NORMAL, PAGE, RW, ANON | MAP_FIXED);
  const w = await cpuWrite(mm, NORMAL + 5, new Uint8Array([42]));
  const r = await cpuRead(mm, NORMAL + 5, 1);
  const u = await munmap(mm, NORMAL, PAGE);
  if (a !== NORMAL || !w.ok || !r.ok || r.data?.[0] !== 42 || u !== 0) {
    throw new Error(
      `the normal cycle broke: mmap ${a}, write ${w.ok}, read ${JSON.stringify(r)}, munmap ${u}`,
    );
  }
  rec.clear();
}

/** The table in four parts, so that each test stays far inside its budget on a loaded CI. */
const PARTS: readonly (readonly [string, readonly BadInputRow[]])[] = [
  ['numbers, access.ts to memory.ts', numberRowsA],
  ['numbers, mm-struct.ts to vmscan.ts', numberRowsB],
  [
    'values the kernel refuses with an errno, and arguments of the wrong shape',
    [...errnoRows, ...shapeRows],
  ],
  ['misuse in the wrong state', stateRows],
];

describe('bad-input table of @hmmsim/mm', () => {
  const reports: BadInputReport[] = [];

  for (const [part, rows] of PARTS) {
    it(`answers every bad input (${part}) with its errno or a typed error, and changes nothing`, async () => {
      const report = await runBadInputTable(`mm (${part})`, rows, { afterEach });
      reports.push(report);
      console.log(formatBadInputReport(report));
      expect(report.failures).toEqual([]);
      assertMachineInvariants(machine, { quiescent: true });
      expect(digest()).toBe(before);
    });
  }

  afterAll(() => {
    const answers = new Map<string, number>();
    for (const r of reports)
      for (const [k, n] of r.answers) answers.set(k, (answers.get(k) ?? 0) + n);
    const total: BadInputReport = {
      table: 'mm',
      tried: reports.reduce((n, r) => n + r.tried, 0),
      answers,
      failures: reports.flatMap((r) => r.failures),
    };
    console.log(formatBadInputReport(total));
    expect(total.tried).toBeGreaterThan(900);
  });
});
