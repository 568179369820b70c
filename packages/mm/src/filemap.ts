/**
 * Simple in-memory files and their page cache, plus the sleeping page lock.
 *
 * An {@link MmInode} has a size, a backing store (the "disk": a sparse set of 4 KiB blocks) and an
 * {@link AddressSpace} (the page cache: page offset → pfn, and `iMmap`, the vmas mapping it). An
 * {@link MmFile} is an open file description on an inode with an `fmode`. Three kinds of inode:
 * - 'regular': page-cache misses read the backing store (a major fault); dirty pages are written
 *   back when reclaimed or by {@link fileSync};
 * - 'shmem': the object behind MAP_SHARED|MAP_ANONYMOUS (shmem_zero_setup); no backing store,
 *   pages are created zeroed and are never reclaimed in this model;
 * - 'device': a driver file whose mmap installs raw pfns (VM_IO|VM_PFNMAP via remapPfnRange) or
 *   inserts pages at fault time (VM_MIXEDMAP); see {@link createDeviceFile}.
 *
 * Page-cache pages hold one reference for the cache, have `mapping` = the address_space id,
 * `index` = the page offset, PG_uptodate, and PG_dirty when they differ from the backing store.
 * The model does no dirty accounting (like tmpfs), so shared writable mappings get writable PTEs
 * at once and writeback never write-protects them (no page_mkclean).
 */

import {
  accessReporting,
  checkIntIn,
  EACCES,
  EFAULT,
  EFBIG,
  EINVAL,
  ENOMEM,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  WaitQueueHead,
  waitEvent,
  wakeUpAll,
} from '@hmmsim/kernel';
import {
  compoundHead,
  PG_anon,
  PG_dirty,
  PG_locked,
  PG_lru,
  PG_swapbacked,
  PG_uptodate,
  readPage,
  writePage,
} from '@hmmsim/pagetable';
import { checkBytes, checkMachine, checkPfn, checkSize } from './check-args.ts';
import type { Machine } from './machine.ts';
import { allocUserPage, machineNextId, mmPutPage } from './machine.ts';
import {
  ADDRESS_SPACE_FIELD_I_MMAP,
  pgFlags,
  pgIndex,
  pgMapcount,
  pgMapping,
  pgRefcount,
  pgSetFlags,
  pgSetIndex,
  pgSetMapping,
  pgSetRefcount,
} from './shared-access.ts';
import type { VmArea } from './vma.ts';

/** Open for reading. Mirrors include/linux/fs.h:FMODE_READ. */
export const FMODE_READ = 0x1;
/** Open for writing. Mirrors include/linux/fs.h:FMODE_WRITE. */
export const FMODE_WRITE = 0x2;

/** InvalidArgumentError unless `fmode` is FMODE_READ | FMODE_WRITE bits. */
function checkFmode(fn: string, fmode: number): void {
  checkIntIn(fn, 'fmode', fmode, 0, FMODE_READ | FMODE_WRITE, 'FMODE_READ | FMODE_WRITE bits');
}

/** InvalidArgumentError unless `file` is an MmFile. */
function checkFile(fn: string, file: unknown): asserts file is MmFile {
  if (!(file instanceof MmFile)) {
    throw new InvalidArgumentError(
      `${fn}: file is not an MmFile; expected createFile() or openFile()`,
    );
  }
}

/** InvalidArgumentError unless `mapping` is an AddressSpace. */
function checkMapping(fn: string, mapping: unknown): asserts mapping is AddressSpace {
  if (!(mapping instanceof AddressSpace)) {
    throw new InvalidArgumentError(
      `${fn}: mapping is not an AddressSpace; expected an inode's mapping (file.inode.mapping)`,
    );
  }
}

/** A file position (loff_t): a safe integer, negative ones are the caller's EINVAL. */
function checkPos(fn: string, pos: number): void {
  checkIntIn(
    fn,
    'pos',
    pos,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER,
    'a file offset (a safe integer)',
  );
}

/** What an inode is. */
export type InodeKind = 'regular' | 'shmem' | 'device';

/**
 * A file's page cache and the vmas mapping it. Mirrors include/linux/fs.h:struct address_space.
 *
 * Access reports: the page cache reports on the `pages` map, element = the page offset modulo
 * 2^32 (`noteRead(mapping.pages, pgoff >>> 0)`; aliasing only adds conflicts); `iMmap` as element
 * ADDRESS_SPACE_FIELD_I_MMAP of the address_space (reading the property reports the read).
 */
export class AddressSpace {
  readonly id: number;
  readonly host: MmInode;
  /** Page cache: page offset → pfn (reported by offset, see the class comment). */
  readonly pages = new Map<number, number>();
  private readonly _iMmap = new Set<VmArea>();

  constructor(id: number, host: MmInode) {
    this.id = id;
    this.host = host;
  }

  /** Every vma mapping this file (i_mmap); a reported read. */
  get iMmap(): Set<VmArea> {
    if (accessReporting) noteRead(this, ADDRESS_SPACE_FIELD_I_MMAP);
    return this._iMmap;
  }

  /** Pages in the page cache. Mirrors address_space.nrpages. */
  get nrpages(): number {
    if (accessReporting) noteRead(this.pages);
    return this.pages.size;
  }
}

/** Device memory behind a 'device' inode. */
export interface DeviceMemory {
  /** 'pfnmap': remap_pfn_range at mmap (VM_IO|VM_PFNMAP); 'mixedmap': vm_insert_page at fault (VM_MIXEDMAP). */
  readonly mode: 'pfnmap' | 'mixedmap';
  /** First pfn of the device's pages (allocated RAM pages standing for a BAR). */
  readonly pfns: readonly number[];
}

// Elements of an MmInode in access reports (noteRead/noteWrite(inode, element)).
const INODE_SIZE = 0;
const INODE_WRITEBACKS = 1;

/**
 * A file. Mirrors include/linux/fs.h:struct inode.
 *
 * Access reports: `size` and `writebacks` are accessors reporting each as an element of the
 * inode; the backing store reports on the `backing` map, element = the page offset modulo 2^32.
 */
export class MmInode {
  readonly id: number;
  readonly kind: InodeKind;
  readonly mapping: AddressSpace;
  private _size: number;
  /** Backing store blocks by page offset (regular files only; reported by offset). */
  readonly backing = new Map<number, Uint8Array>();
  readonly device: DeviceMemory | null;
  private _writebacks = 0;

  constructor(machine: Machine, kind: InodeKind, size: number, device: DeviceMemory | null) {
    this.id = machineNextId(machine);
    this.kind = kind;
    this._size = size;
    this.device = device;
    this.mapping = new AddressSpace(machineNextId(machine), this);
    if (accessReporting) noteWrite(machine.addressSpaces, this.mapping.id);
    machine.addressSpaces.set(this.mapping.id, this.mapping);
  }

  /** Size in bytes (i_size). */
  get size(): number {
    if (accessReporting) noteRead(this, INODE_SIZE);
    return this._size;
  }
  set size(n: number) {
    if (accessReporting) noteWrite(this, INODE_SIZE);
    this._size = n;
  }

  /** Pages written back (statistics). */
  get writebacks(): number {
    if (accessReporting) noteRead(this, INODE_WRITEBACKS);
    return this._writebacks;
  }
  set writebacks(n: number) {
    if (accessReporting) noteWrite(this, INODE_WRITEBACKS);
    this._writebacks = n;
  }
}

/** An open file description. Mirrors include/linux/fs.h:struct file. */
export class MmFile {
  readonly inode: MmInode;
  readonly fmode: number;

  constructor(inode: MmInode, fmode: number) {
    this.inode = inode;
    this.fmode = fmode;
  }
}

/** Options of createFile(). */
export interface CreateFileOptions {
  /** Size in bytes (default: the length of `data`, or 0). */
  readonly size?: number;
  /** Initial contents written to the backing store. */
  readonly data?: Uint8Array;
  /** FMODE_READ | FMODE_WRITE bits of the returned description (default both). */
  readonly fmode?: number;
}

/**
 * Create a regular in-memory file and open it. Model of creat() + write() on a disk-backed
 * filesystem (fs/open.c:do_sys_open()).
 */
export function createFile(machine: Machine, opts: CreateFileOptions = {}): MmFile {
  checkMachine('createFile', machine);
  if (opts.data !== undefined) checkBytes('createFile', 'data', opts.data);
  if (opts.size !== undefined) checkSize('createFile', 'size', opts.size);
  if (opts.fmode !== undefined) checkFmode('createFile', opts.fmode);
  const data = opts.data ?? new Uint8Array(0);
  const inode = new MmInode(machine, 'regular', Math.max(opts.size ?? 0, data.length), null);
  for (let off = 0; off < data.length; off += PAGE_SIZE) {
    const block = new Uint8Array(PAGE_SIZE);
    block.set(data.subarray(off, Math.min(off + PAGE_SIZE, data.length)));
    inode.backing.set(off / PAGE_SIZE, block);
  }
  return new MmFile(inode, opts.fmode ?? FMODE_READ | FMODE_WRITE);
}

/** Another open file description on the same inode with `fmode`. Mirrors fs/open.c:dentry_open(). */
export function openFile(file: MmFile, fmode: number): MmFile {
  checkFile('openFile', file);
  checkFmode('openFile', fmode);
  return new MmFile(file.inode, fmode);
}

/**
 * The shmem object behind a shared anonymous mapping of `size` bytes.
 * Mirrors mm/shmem.c:shmem_zero_setup() (shmem_kernel_file_setup()).
 */
export function shmemFileSetup(machine: Machine, size: number): MmFile {
  checkMachine('shmemFileSetup', machine);
  checkSize('shmemFileSetup', 'size', size);
  return new MmFile(new MmInode(machine, 'shmem', size, null), FMODE_READ | FMODE_WRITE);
}

/**
 * A device file of `nrPages` pages of "device memory" (RAM pages allocated now and owned by the
 * driver). Mapping it gives a VM_IO|VM_PFNMAP vma ('pfnmap', populated at mmap by remapPfnRange)
 * or a VM_MIXEDMAP vma ('mixedmap', pages inserted at fault). Returns -ENOMEM if RAM runs out.
 * Model of a character driver's mmap (e.g. drivers/char/mem.c:mmap_mem()).
 */
export function createDeviceFile(
  machine: Machine,
  mode: 'pfnmap' | 'mixedmap',
  nrPages: number,
): MmFile | number {
  checkMachine('createDeviceFile', machine);
  if (mode !== 'pfnmap' && mode !== 'mixedmap') {
    throw new InvalidArgumentError(
      `createDeviceFile: mode is ${JSON.stringify(mode)}; expected 'pfnmap' or 'mixedmap'`,
    );
  }
  checkIntIn(
    'createDeviceFile',
    'nrPages',
    nrPages,
    0,
    machine.phys.nrPages,
    'a page count that fits in RAM',
  );
  const pfns: number[] = [];
  for (let i = 0; i < nrPages; i++) {
    const pfn = allocUserPage(machine, 0);
    if (pfn < 0) {
      for (const p of pfns) mmPutPage(machine, p);
      return -ENOMEM;
    }
    pfns.push(pfn);
  }
  const inode = new MmInode(machine, 'device', nrPages * PAGE_SIZE, { mode, pfns });
  return new MmFile(inode, FMODE_READ | FMODE_WRITE);
}

/** The page-cache page at `pgoff`, or -1. Mirrors mm/filemap.c:find_get_page() (without the ref). */
export function findGetPage(mapping: AddressSpace, pgoff: number): number {
  checkMapping('findGetPage', mapping);
  checkSize('findGetPage', 'pgoff', pgoff);
  if (accessReporting) noteRead(mapping.pages, pgoff >>> 0);
  return mapping.pages.get(pgoff) ?? -1;
}

/**
 * Insert a fresh page into the page cache (takes the cache's reference). KernelBugError, with
 * nothing changed, for a free page, a page already in a page cache or anonymous, or an offset
 * already cached (the kernel's -EEXIST, which no caller here expects).
 * Mirrors mm/filemap.c:add_to_page_cache_lru().
 */
export function addToPageCache(
  machine: Machine,
  mapping: AddressSpace,
  pfn: number,
  pgoff: number,
): void {
  checkMachine('add_to_page_cache', machine);
  checkMapping('add_to_page_cache', mapping);
  checkPfn('add_to_page_cache', machine, pfn);
  checkSize('add_to_page_cache', 'pgoff', pgoff);
  const pm = machine.phys;
  const old = pgFlags(pm, pfn);
  if (pgRefcount(pm, pfn) < 1 || pgMapping(pm, pfn) !== 0 || (old & PG_anon) !== 0) {
    throw new KernelBugError(
      `add_to_page_cache: pfn ${pfn} (refcount ${pgRefcount(pm, pfn)}, mapping ${pgMapping(pm, pfn)}) is not a fresh page; expected an allocated page in no mapping`,
    );
  }
  if (accessReporting) noteWrite(mapping.pages, pgoff >>> 0);
  if (mapping.pages.has(pgoff)) {
    throw new KernelBugError(
      `add_to_page_cache: offset ${pgoff} of mapping ${mapping.id} already caches pfn ${mapping.pages.get(pgoff)}; expected a free offset (-EEXIST)`,
    );
  }
  mapping.pages.set(pgoff, pfn);
  pgSetMapping(pm, pfn, mapping.id);
  pgSetIndex(pm, pfn, pgoff);
  let f = pgFlags(pm, pfn) | PG_uptodate | PG_lru;
  if (mapping.host.kind === 'shmem') f |= PG_swapbacked;
  pgSetFlags(pm, pfn, f);
  pgSetRefcount(pm, pfn, pgRefcount(pm, pfn) + 1);
}

/**
 * Remove an unmapped page from the page cache, dropping the cache's reference. KernelBugError,
 * with nothing changed, for a page that is in no page cache or is still mapped.
 * Mirrors mm/filemap.c:delete_from_page_cache().
 */
export function deleteFromPageCache(machine: Machine, pfn: number): void {
  checkMachine('delete_from_page_cache', machine);
  checkPfn('delete_from_page_cache', machine, pfn);
  const pm = machine.phys;
  const anon = (pgFlags(pm, pfn) & PG_anon) !== 0;
  const id = anon ? 0 : pgMapping(pm, pfn);
  if (!anon) noteRead(machine.addressSpaces, id);
  const mapping = anon ? undefined : machine.addressSpaces.get(id);
  const pgoff = pgIndex(pm, pfn);
  if (mapping !== undefined) noteWrite(mapping.pages, pgoff >>> 0);
  if (mapping === undefined || mapping.pages.get(pgoff) !== pfn) {
    throw new KernelBugError(
      `delete_from_page_cache: pfn ${pfn} is not in a page cache; expected a page-cache page`,
    );
  }
  if (pgMapcount(pm, pfn) !== 0) {
    throw new KernelBugError(
      `delete_from_page_cache: pfn ${pfn} is still mapped ${pgMapcount(pm, pfn)} time(s); expected it unmapped first`,
    );
  }
  mapping.pages.delete(pgoff);
  pgSetMapping(pm, pfn, 0);
  pgSetIndex(pm, pfn, 0);
  pgSetFlags(pm, pfn, pgFlags(pm, pfn) & ~(PG_dirty | PG_lru | PG_uptodate | PG_swapbacked));
  mmPutPage(machine, pfn);
}

/**
 * Find or create the page-cache page at `pgoff` and return it with an extra reference for the
 * caller; `major` is true when it had to be read from the backing store. -ENOMEM when no memory.
 * Mirrors mm/filemap.c:pagecache_get_page() with FGP_CREAT (+ the readpage of filemap_fault).
 */
export function pagecacheGetPage(
  machine: Machine,
  mapping: AddressSpace,
  pgoff: number,
): { pfn: number; major: boolean } | number {
  checkMachine('pagecacheGetPage', machine);
  checkMapping('pagecacheGetPage', mapping);
  checkSize('pagecacheGetPage', 'pgoff', pgoff);
  const pm = machine.phys;
  if (accessReporting) noteRead(mapping.pages, pgoff >>> 0);
  const hit = mapping.pages.get(pgoff);
  if (hit !== undefined) {
    pgSetRefcount(pm, hit, pgRefcount(pm, hit) + 1);
    return { pfn: hit, major: false };
  }
  const pfn = allocUserPage(machine, 0);
  if (pfn < 0) return -ENOMEM;
  const inode = mapping.host;
  if (accessReporting) noteRead(inode.backing, pgoff >>> 0);
  const block = inode.backing.get(pgoff);
  if (block !== undefined) writePage(pm, pfn, 0, block);
  addToPageCache(machine, mapping, pfn, pgoff);
  return { pfn, major: inode.kind === 'regular' };
}

/** Copy a page-cache page to the backing store and mark it clean. Mirrors mm/page-writeback.c:write_one_page(). */
export function writeOnePage(machine: Machine, pfn: number): void {
  checkMachine('write_one_page', machine);
  checkPfn('write_one_page', machine, pfn);
  const pm = machine.phys;
  const id = pgMapping(pm, pfn);
  if (accessReporting) noteRead(machine.addressSpaces, id);
  const mapping = machine.addressSpaces.get(id);
  if (mapping === undefined || mapping.host.kind !== 'regular') return;
  const buf = new Uint8Array(PAGE_SIZE);
  readPage(pm, pfn, 0, buf);
  const pgoff = pgIndex(pm, pfn);
  if (accessReporting) noteWrite(mapping.host.backing, pgoff >>> 0);
  mapping.host.backing.set(pgoff, buf);
  mapping.host.writebacks++;
  pgSetFlags(pm, pfn, pgFlags(pm, pfn) & ~PG_dirty);
}

/**
 * Write every dirty page-cache page of the file back (dirty PTE bits are not harvested: call
 * after the mappings' writes, the model's pages are marked dirty at write fault / pwrite).
 * Returns 0. Mirrors mm/filemap.c:filemap_write_and_wait().
 */
export function fileSync(machine: Machine, file: MmFile): number {
  checkMachine('fileSync', machine);
  checkFile('fileSync', file);
  const pm = machine.phys;
  const pages = file.inode.mapping.pages;
  if (accessReporting) noteRead(pages);
  for (const pfn of pages.values()) {
    if ((pgFlags(pm, pfn) & PG_dirty) !== 0) writeOnePage(machine, pfn);
  }
  return 0;
}

/**
 * Call `copy(pfn, offset in page, bytes done, n)` for each page-cache page of `[pos, end)`,
 * holding a page reference around the call; 0, or -ENOMEM when a page cannot be created (the
 * pages before it were copied). The page loop of mm/filemap.c:generic_file_buffered_read() and
 * generic_perform_write().
 */
function forEachCachePage(
  machine: Machine,
  mapping: AddressSpace,
  pos: number,
  end: number,
  copy: (pfn: number, off: number, done: number, n: number) => void,
): number {
  for (let p = pos; p < end; ) {
    const pgoff = Math.floor(p / PAGE_SIZE);
    const off = p - pgoff * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, end - p);
    const got = pagecacheGetPage(machine, mapping, pgoff);
    if (typeof got === 'number') return got;
    copy(got.pfn, off, p - pos, n);
    mmPutPage(machine, got.pfn);
    p += n;
  }
  return 0;
}

/**
 * Read up to `len` bytes at `pos` through the page cache (short at end of file). Returns the
 * bytes, or -EINVAL (negative pos), -EACCES (not open for reading), -ENOMEM. InvalidArgumentError
 * for a pos that is no loff_t or a len that is no size_t.
 * Mirrors mm/filemap.c:generic_file_read_iter().
 */
export function fileRead(
  machine: Machine,
  file: MmFile,
  pos: number,
  len: number,
): Uint8Array | number {
  checkMachine('fileRead', machine);
  checkFile('fileRead', file);
  checkPos('fileRead', pos);
  checkSize('fileRead', 'len', len);
  if (pos < 0) return -EINVAL;
  if ((file.fmode & FMODE_READ) === 0) return -EACCES;
  const inode = file.inode;
  if (inode.kind === 'device') return -EINVAL;
  const end = Math.min(inode.size, pos + len);
  const out = new Uint8Array(Math.max(0, end - pos));
  const err = forEachCachePage(machine, inode.mapping, pos, end, (pfn, off, done, n) =>
    readPage(machine.phys, pfn, off, out.subarray(done, done + n)),
  );
  return err !== 0 ? err : out;
}

/**
 * Write `bytes` at `pos` through the page cache (extends the file). Returns the byte count, or
 * -EINVAL (negative pos), -EFBIG (past the largest file, 2^53 - 1 bytes here), -EACCES (not open
 * for writing), -EFAULT (device file), -ENOMEM. InvalidArgumentError for a pos that is no loff_t
 * or bytes that are no Uint8Array. Mirrors mm/filemap.c:generic_perform_write().
 */
export function fileWrite(machine: Machine, file: MmFile, pos: number, bytes: Uint8Array): number {
  checkMachine('fileWrite', machine);
  checkFile('fileWrite', file);
  checkPos('fileWrite', pos);
  checkBytes('fileWrite', 'bytes', bytes);
  if (pos < 0) return -EINVAL;
  if (pos + bytes.length > Number.MAX_SAFE_INTEGER) return -EFBIG;
  if ((file.fmode & FMODE_WRITE) === 0) return -EACCES;
  const inode = file.inode;
  if (inode.kind === 'device') return -EFAULT;
  const pm = machine.phys;
  const end = pos + bytes.length;
  const err = forEachCachePage(machine, inode.mapping, pos, end, (pfn, off, done, n) => {
    writePage(pm, pfn, off, bytes.subarray(done, done + n));
    pgSetFlags(pm, pfn, pgFlags(pm, pfn) | PG_dirty);
  });
  if (err !== 0) return err;
  if (end > inode.size) inode.size = end;
  return bytes.length;
}

/** The contents of the file's backing store merged with its page cache (what a reader sees). Model helper for tests. */
export function fileContents(machine: Machine, file: MmFile): Uint8Array {
  const r = fileRead(machine, new MmFile(file.inode, FMODE_READ), 0, file.inode.size);
  return typeof r === 'number' ? new Uint8Array(0) : r;
}

/** The wait queue `pfn` hashes to, made on first use. Mirrors mm/filemap.c:page_waitqueue(). */
function pageWaitQueue(machine: Machine, pfn: number): WaitQueueHead {
  const table = machine.pageWaitTable;
  const i = pfn % table.length;
  const wq = table[i];
  if (wq !== undefined) return wq;
  const made = new WaitQueueHead(machine.sched, `page_wait_table[${i}]`);
  table[i] = made;
  return made;
}

/** The head of `pfn`'s page after checking `pfn` (the page lock lives on the head). */
function lockHead(fn: string, machine: Machine, pfn: number): number {
  checkMachine(fn, machine);
  checkPfn(fn, machine, pfn);
  return compoundHead(machine.phys, pfn);
}

/**
 * Lock a page (its head), sleeping while someone else holds it; KernelBugError for a free page.
 * Mirrors mm/filemap.c:__lock_page().
 */
export async function lockPageSleep(machine: Machine, pfn: number): Promise<void> {
  const head = lockHead('lock_page', machine, pfn);
  const pm = machine.phys;
  if (pgRefcount(pm, head) < 1) {
    throw new KernelBugError(
      `lock_page: pfn ${pfn} is free (refcount 0); expected an allocated page`,
    );
  }
  if ((pgFlags(pm, head) & PG_locked) === 0) {
    pgSetFlags(pm, head, pgFlags(pm, head) | PG_locked);
    return;
  }
  await waitEvent(pageWaitQueue(machine, head), () => (pgFlags(pm, head) & PG_locked) === 0);
  pgSetFlags(pm, head, pgFlags(pm, head) | PG_locked);
}

/** Unlock a page (its head) and wake its waiters; KernelBugError if it is not locked. Mirrors mm/filemap.c:unlock_page(). */
export function unlockPageWake(machine: Machine, pfn: number): void {
  const head = lockHead('unlock_page', machine, pfn);
  const pm = machine.phys;
  if ((pgFlags(pm, head) & PG_locked) === 0) {
    throw new KernelBugError(
      `unlock_page: pfn ${pfn} is not locked; expected a page locked by the caller`,
    );
  }
  pgSetFlags(pm, head, pgFlags(pm, head) & ~PG_locked);
  wakeUpAll(pageWaitQueue(machine, head));
}

/** Sleep until the page (its head) is unlocked, without taking the lock. Mirrors mm/filemap.c:wait_on_page_locked(). */
export async function waitOnPageLocked(machine: Machine, pfn: number): Promise<void> {
  const head = lockHead('wait_on_page_locked', machine, pfn);
  const pm = machine.phys;
  if ((pgFlags(pm, head) & PG_locked) === 0) return;
  await waitEvent(pageWaitQueue(machine, head), () => (pgFlags(pm, head) & PG_locked) === 0);
}
