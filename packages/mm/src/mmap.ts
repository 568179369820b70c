/**
 * mmap(2): argument checks, address selection, mapping creation (anonymous private, shared
 * anonymous via shmem, file, device) and MAP_POPULATE. Mirrors mm/mmap.c (do_mmap, mmap_region,
 * get_unmapped_area) and mm/util.c:vm_mmap_pgoff().
 */

import {
  checkIntIn,
  downRead,
  downWrite,
  EACCES,
  EBADF,
  EEXIST,
  EFAULT,
  EINVAL,
  ENOMEM,
  EOVERFLOW,
  EPERM,
  InvalidArgumentError,
  KernelBugError,
  PAGE_SIZE,
  pageAlignDown,
  pageAlignUp,
  rwsemIsWriteLocked,
  TASK_SIZE,
  ULONG_MAX,
  upRead,
  upWrite,
} from '@hmmsim/kernel';
import { pteAlloc, pteMkspecial, pteNone, setPte } from '@hmmsim/pagetable';
import { followPageMask } from './access.ts';
import { checkAddr, checkLiveMm, checkMm, checkSize } from './check-args.ts';
import { FMODE_READ, FMODE_WRITE, MmFile, shmemFileSetup } from './filemap.ts';
import { FAULT_FLAG_WRITE, handleMmFault, VM_FAULT_ERROR } from './memory.ts';
import { MMAP_MIN_ADDR, type MmStruct, TASK_UNMAPPED_BASE } from './mm-struct.ts';
import { doMunmap } from './munmap.ts';
import { ptBits } from './shared-access.ts';
import {
  findVma,
  findVmaIntersection,
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_IO,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_MIXEDMAP,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WRITE,
  VmArea,
  vmaLink,
  vmaMerge,
  vmaSetPageProt,
} from './vma.ts';

/** Page cannot be accessed. Mirrors include/uapi/asm-generic/mman-common.h:PROT_NONE. */
export const PROT_NONE = 0x0;
/** Page can be read. Mirrors PROT_READ. */
export const PROT_READ = 0x1;
/** Page can be written. Mirrors PROT_WRITE. */
export const PROT_WRITE = 0x2;
/** Page can be executed. Mirrors PROT_EXEC. */
export const PROT_EXEC = 0x4;
/** Page may be used for atomic ops (accepted, ignored). Mirrors PROT_SEM. */
export const PROT_SEM = 0x8;
/** mprotect extends down to the start of a growsdown vma. Mirrors PROT_GROWSDOWN. */
export const PROT_GROWSDOWN = 0x01000000;
/** mprotect extends up (not on x86). Mirrors PROT_GROWSUP. */
export const PROT_GROWSUP = 0x02000000;

/** Share changes. Mirrors include/uapi/linux/mman.h:MAP_SHARED. */
export const MAP_SHARED = 0x01;
/** Changes are private (COW). Mirrors MAP_PRIVATE. */
export const MAP_PRIVATE = 0x02;
/** MAP_SHARED that fails on unknown flags. Mirrors MAP_SHARED_VALIDATE. */
export const MAP_SHARED_VALIDATE = 0x03;
/** Mask of the mapping type. Mirrors MAP_TYPE. */
export const MAP_TYPE = 0x0f;
/** Interpret addr exactly (replacing what is there). Mirrors MAP_FIXED. */
export const MAP_FIXED = 0x10;
/** No file. Mirrors MAP_ANONYMOUS. */
export const MAP_ANONYMOUS = 0x20;
/** Stack-like segment. Mirrors MAP_GROWSDOWN. */
export const MAP_GROWSDOWN = 0x0100;
/** Ignored. Mirrors MAP_DENYWRITE. */
export const MAP_DENYWRITE = 0x0800;
/** Ignored. Mirrors MAP_EXECUTABLE. */
export const MAP_EXECUTABLE = 0x1000;
/** Lock the pages (VM_LOCKED, populated). Mirrors MAP_LOCKED. */
export const MAP_LOCKED = 0x2000;
/** No swap reservation (accepted, ignored). Mirrors MAP_NORESERVE. */
export const MAP_NORESERVE = 0x4000;
/** Prefault the mapping. Mirrors MAP_POPULATE. */
export const MAP_POPULATE = 0x8000;
/** Do not block on IO (disables MAP_POPULATE). Mirrors MAP_NONBLOCK. */
export const MAP_NONBLOCK = 0x10000;
/** Like MAP_FIXED but never replaces: -EEXIST on overlap. Mirrors MAP_FIXED_NOREPLACE. */
export const MAP_FIXED_NOREPLACE = 0x100000;

const LEGACY_MAP_MASK =
  MAP_SHARED |
  MAP_PRIVATE |
  MAP_FIXED |
  MAP_ANONYMOUS |
  MAP_DENYWRITE |
  MAP_EXECUTABLE |
  0x4000000 /* MAP_UNINITIALIZED */ |
  MAP_GROWSDOWN |
  MAP_LOCKED |
  MAP_NORESERVE |
  MAP_POPULATE |
  MAP_NONBLOCK |
  0x20000 /* MAP_STACK */ |
  0x40000; /* MAP_HUGETLB */

/** EOPNOTSUPP is not in the kernel package's errno list. Mirrors include/uapi/asm-generic/errno.h:EOPNOTSUPP. */
export const EOPNOTSUPP = 95;

/** Most vmas per mm. Mirrors mm/mmap.c:sysctl_max_map_count (DEFAULT_MAX_MAP_COUNT). */
export const MAX_MAP_COUNT = 65530;

/** VM_READ/WRITE/EXEC from PROT_*. Mirrors include/linux/mman.h:calc_vm_prot_bits(). */
export function calcVmProtBits(prot: number): number {
  checkFlagWord('calcVmProtBits', 'prot', prot);
  return (
    ((prot & PROT_READ) !== 0 ? VM_READ : 0) |
    ((prot & PROT_WRITE) !== 0 ? VM_WRITE : 0) |
    ((prot & PROT_EXEC) !== 0 ? VM_EXEC : 0)
  );
}

/** VM_GROWSDOWN/VM_LOCKED from MAP_*. Mirrors include/linux/mman.h:calc_vm_flag_bits(). */
export function calcVmFlagBits(flags: number): number {
  checkFlagWord('calcVmFlagBits', 'flags', flags);
  return (
    ((flags & MAP_GROWSDOWN) !== 0 ? VM_GROWSDOWN : 0) |
    ((flags & MAP_LOCKED) !== 0 ? VM_LOCKED : 0)
  );
}

/** A flag mask the model keeps in 32 bits (the kernel's masks all fit). */
function checkFlagWord(fn: string, arg: string, v: number): void {
  if (v >>> 0 !== v) checkIntIn(fn, arg, v, 0, 2 ** 32 - 1, 'a 32-bit flag mask');
}

/** `v` (an unsigned long mask) without its bits above 32: the bits the kernel ignores or refuses. */
function high32(v: number): number {
  return Math.floor(v / 2 ** 32);
}

/**
 * Choose where `len` bytes go: MAP_FIXED takes `addr` as is; a free hint is honoured; otherwise
 * the highest gap below mm.mmapBase (top-down), then bottom-up from TASK_UNMAPPED_BASE. Returns
 * the address or -ENOMEM / -EINVAL / -EPERM. Mirrors mm/mmap.c:get_unmapped_area() with
 * arch/x86/kernel/sys_x86_64.c:arch_get_unmapped_area_topdown().
 */
export function getUnmappedArea(mm: MmStruct, addr: number, len: number, flags: number): number {
  checkMm('getUnmappedArea', mm);
  checkAddr('getUnmappedArea', 'addr', addr);
  checkSize('getUnmappedArea', 'len', len);
  checkFlagWord('getUnmappedArea', 'flags', flags);
  if (len > TASK_SIZE) return -ENOMEM;
  let out = -ENOMEM;
  if ((flags & MAP_FIXED) !== 0) {
    out = addr;
  } else {
    if (addr !== 0) {
      const a = pageAlignDown(addr);
      if (TASK_SIZE - len >= a) {
        const vma = findVma(mm, a);
        if (vma === undefined || a + len <= vma.vmStart) out = a;
      }
    }
    if (out < 0) out = topDown(mm, len, PAGE_SIZE, mm.mmapBase);
    if (out < 0) out = bottomUp(mm, len, TASK_UNMAPPED_BASE, TASK_SIZE);
    if (out < 0) return out;
  }
  if (out > TASK_SIZE - len) return -ENOMEM;
  if (out % PAGE_SIZE !== 0) return -EINVAL;
  if (out < MMAP_MIN_ADDR) return -EPERM;
  return out;
}

function topDown(mm: MmStruct, len: number, low: number, high: number): number {
  const v = mm.vmas;
  for (let i = v.length - 1; i >= -1; i--) {
    const gapStart = Math.max(low, i >= 0 ? v[i]!.vmEnd : low);
    const gapEnd = Math.min(high, i + 1 < v.length ? v[i + 1]!.vmStart : high);
    if (gapEnd - gapStart >= len) return gapEnd - len;
  }
  return -ENOMEM;
}

function bottomUp(mm: MmStruct, len: number, low: number, high: number): number {
  const v = mm.vmas;
  for (let i = -1; i < v.length; i++) {
    const gapStart = Math.max(low, i >= 0 ? v[i]!.vmEnd : low);
    const gapEnd = Math.min(high, i + 1 < v.length ? v[i + 1]!.vmStart : high);
    if (gapEnd - gapStart >= len) return gapStart;
  }
  return -ENOMEM;
}

/**
 * Map `len` bytes: returns the address or a negative errno (nothing changes on error). Takes
 * mmap_sem for write; MAP_POPULATE (without MAP_NONBLOCK) and MAP_LOCKED prefault afterwards
 * under mmap_sem read. `pgoff` is the file offset in pages. `file` is ignored with MAP_ANONYMOUS;
 * without it and without MAP_ANONYMOUS the call fails with -EBADF. Every number is a C unsigned
 * long (InvalidArgumentError otherwise); bits of `prot` above 32 are ignored and those of `flags`
 * refused by MAP_SHARED_VALIDATE only, as the kernel does. KernelBugError on an exited mm.
 * Mirrors mm/mmap.c:ksys_mmap_pgoff() → mm/util.c:vm_mmap_pgoff() → do_mmap().
 */
export async function mmap(
  mm: MmStruct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  file: MmFile | null = null,
  pgoff = 0,
): Promise<number> {
  checkLiveMm('mmap', mm);
  checkAddr('mmap', 'addr', addr);
  checkSize('mmap', 'len', len);
  checkAddr('mmap', 'prot', prot);
  checkAddr('mmap', 'flags', flags);
  checkSize('mmap', 'pgoff', pgoff);
  if (file !== null && !(file instanceof MmFile)) {
    throw new InvalidArgumentError(
      `mmap: file is ${typeof file}; expected an MmFile (createFile, createDeviceFile) or null`,
    );
  }
  if (high32(flags) !== 0 && (flags & MAP_TYPE) === MAP_SHARED_VALIDATE) return -EOPNOTSUPP;
  prot >>>= 0;
  flags >>>= 0;
  if ((flags & MAP_ANONYMOUS) === 0 && file === null) return -EBADF;
  const f = (flags & MAP_ANONYMOUS) !== 0 ? null : file;
  flags &= ~(MAP_EXECUTABLE | MAP_DENYWRITE);
  await downWrite(mm.mmapSem);
  let ret: number;
  let populate = 0;
  try {
    const r = await doMmap(mm, f, addr, len, prot, flags, pgoff);
    ret = r.addr;
    populate = r.populate;
  } finally {
    upWrite(mm.mmapSem);
  }
  if (ret >= 0 && populate > 0) await mmPopulate(mm, ret, populate);
  return ret;
}

async function doMmap(
  mm: MmStruct,
  file: MmFile | null,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  pgoff: number,
): Promise<{ addr: number; populate: number }> {
  const fail = (e: number) => ({ addr: e, populate: 0 });
  if (len === 0) return fail(-EINVAL);
  if ((flags & MAP_FIXED_NOREPLACE) !== 0) flags |= MAP_FIXED;
  if ((flags & MAP_FIXED) === 0) {
    addr = pageAlignDown(addr);
    if (addr !== 0 && addr < MMAP_MIN_ADDR) addr = pageAlignUp(MMAP_MIN_ADDR);
  }
  // PAGE_ALIGN(len) wrapping to 0 on a 64-bit kernel: any length past the address space.
  if (len > ULONG_MAX - PAGE_SIZE + 1) return fail(-ENOMEM);
  len = pageAlignUp(len);
  if (!Number.isSafeInteger(pgoff + len / PAGE_SIZE)) return fail(-EOVERFLOW);
  if (mm.mapCount > MAX_MAP_COUNT) return fail(-ENOMEM);
  const a = getUnmappedArea(mm, addr, len, flags);
  if (a < 0) return fail(a);
  addr = a;
  if ((flags & MAP_FIXED_NOREPLACE) !== 0) {
    const vma = findVma(mm, addr);
    if (vma !== undefined && vma.vmStart < addr + len) return fail(-EEXIST);
  }
  let vmFlags =
    calcVmProtBits(prot) | calcVmFlagBits(flags) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (file !== null) {
    const type = flags & MAP_TYPE;
    if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
      if (type === MAP_SHARED) flags &= LEGACY_MAP_MASK;
      if ((flags & ~LEGACY_MAP_MASK) !== 0) return fail(-EOPNOTSUPP);
      if ((prot & PROT_WRITE) !== 0 && (file.fmode & FMODE_WRITE) === 0) return fail(-EACCES);
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      if ((file.fmode & FMODE_WRITE) === 0) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
    } else if (type !== MAP_PRIVATE) {
      return fail(-EINVAL);
    }
    if ((file.fmode & FMODE_READ) === 0) return fail(-EACCES);
    if ((vmFlags & VM_GROWSDOWN) !== 0) return fail(-EINVAL);
    const dev = file.inode.device;
    if (dev !== null && pgoff + len / PAGE_SIZE > dev.pfns.length) return fail(-EINVAL);
  } else {
    const type = flags & MAP_TYPE;
    if (type === MAP_SHARED) {
      if ((vmFlags & VM_GROWSDOWN) !== 0) return fail(-EINVAL);
      pgoff = 0;
      vmFlags |= VM_SHARED | VM_MAYSHARE;
    } else if (type === MAP_PRIVATE) {
      pgoff = addr / PAGE_SIZE;
    } else {
      return fail(-EINVAL);
    }
  }
  const r = await mmapRegion(mm, file, addr, len, vmFlags, pgoff);
  const populate =
    r >= 0 &&
    ((vmFlags & VM_LOCKED) !== 0 || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE)
      ? len
      : 0;
  return { addr: r, populate };
}

/**
 * Create the vma for `[addr, addr + len)` (unmapping what was there), merging with compatible
 * neighbours. Caller holds mmap_sem for write. Mirrors mm/mmap.c:mmap_region().
 */
export async function mmapRegion(
  mm: MmStruct,
  file: MmFile | null,
  addr: number,
  len: number,
  vmFlags: number,
  pgoff: number,
): Promise<number> {
  checkLiveMm('mmapRegion', mm);
  checkAddr('mmapRegion', 'addr', addr);
  checkSize('mmapRegion', 'len', len);
  checkFlagWord('mmapRegion', 'vmFlags', vmFlags);
  checkSize('mmapRegion', 'pgoff', pgoff);
  if (addr % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0 || len === 0 || addr + len > TASK_SIZE) {
    throw new KernelBugError(
      `mmapRegion: [${addr}, ${addr} + ${len}) is not a page-aligned, non-empty range below TASK_SIZE; expected one from getUnmappedArea()`,
    );
  }
  if (!rwsemIsWriteLocked(mm.mmapSem)) {
    throw new KernelBugError(
      `mmapRegion: mm${mm.id} mmap_sem is not held for write; expected the caller to hold it`,
    );
  }
  const end = addr + len;
  if (findVmaIntersection(mm, addr, end) !== undefined) {
    if ((await doMunmap(mm, addr, len, false)) !== 0) return -ENOMEM;
  }
  if ((vmFlags & (VM_SHARED | VM_WRITE)) === VM_WRITE) vmFlags |= VM_ACCOUNT;
  let f = file;
  if (f === null && (vmFlags & VM_SHARED) !== 0) f = shmemFileSetup(mm.machine, len);
  const vma = new VmArea(mm, addr, end, vmFlags, pgoff, f);
  vmaSetPageProt(vma);
  const dev = f?.inode.device ?? null;
  if (dev !== null) {
    if (dev.mode === 'pfnmap') {
      vma.vmFlags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
      for (let i = 0; i < len / PAGE_SIZE; i++) {
        const slot = pteAlloc(mm.pt, addr + i * PAGE_SIZE);
        if (slot < 0) return -ENOMEM;
        if (pteNone(ptBits(mm.pt, slot))) {
          setPte(mm.pt, slot, pteMkspecial(vma.vmPageProt), dev.pfns[pgoff + i] as number);
        }
      }
    } else {
      vma.vmFlags |= VM_MIXEDMAP;
    }
  }
  vmaLink(mm, vma);
  if ((vma.vmFlags & VM_SPECIAL) === 0) vmaMerge(mm, vma);
  return addr;
}

/**
 * Prefault `[start, start + len)` like mlock/MAP_POPULATE: write-fault private writable
 * mappings, read-fault the rest, skip VM_IO/VM_PFNMAP vmas, stop at the first error. Takes
 * mmap_sem for read. Returns 0 or -ENOMEM/-EFAULT. Mirrors mm/gup.c:__mm_populate().
 */
export async function mmPopulate(mm: MmStruct, start: number, len: number): Promise<number> {
  checkLiveMm('mmPopulate', mm);
  checkAddr('mmPopulate', 'start', start);
  checkSize('mmPopulate', 'len', len);
  const end = Math.min(start + len, TASK_SIZE);
  await downRead(mm.mmapSem);
  try {
    for (let nstart = start; nstart < end; ) {
      const vma = findVma(mm, nstart);
      if (vma === undefined || vma.vmStart >= end) break;
      const nend = Math.min(end, vma.vmEnd);
      if ((vma.vmFlags & (VM_IO | VM_PFNMAP)) !== 0) {
        nstart = nend;
        continue;
      }
      if (nstart < vma.vmStart) nstart = vma.vmStart;
      if ((vma.vmFlags & (VM_READ | VM_WRITE | VM_EXEC)) === 0) return -EFAULT;
      const write = (vma.vmFlags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
      for (let a = nstart; a < nend; a += PAGE_SIZE) {
        for (let tries = 0; ; tries++) {
          const r = followPageMask(mm, a, write);
          if (r !== null) break;
          const ret = await handleMmFault(vma, a, write ? FAULT_FLAG_WRITE : 0);
          if ((ret & VM_FAULT_ERROR) !== 0) return -ENOMEM;
          if (tries > 100)
            throw new KernelBugError(`mm_populate: fault loop at 0x${a.toString(16)}`);
        }
      }
      nstart = nend;
    }
  } finally {
    upRead(mm.mmapSem);
  }
  return 0;
}
