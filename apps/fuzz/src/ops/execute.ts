/**
 * Running one operation on the real system, as the process would: syscalls, CPU accesses
 * through the fault path, device commands through the dmirror ioctl with the process's own I/O
 * buffer as `ptr` (filled by a CPU write before a device WRITE, read back by a CPU read after a
 * READ, SNAPSHOT or MIGRATE_TO_DEV — what a test program does), fork (the child opens its own
 * device files) and exit (in either order of mm teardown and file close).
 */
import {
  type DmirrorFile,
  dmirrorIoctl,
  dmirrorRelease,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
} from '@hmmsim/dmirror';
import { PAGE_SIZE } from '@hmmsim/kernel';
import {
  type CpuAccessFault,
  cpuRead,
  cpuWrite,
  fork,
  MADV_DONTNEED,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type MmStruct,
  madvise,
  mmap,
  mmput,
  mprotect,
  munmap,
  shrinkMm,
} from '@hmmsim/mm';
import { pattern } from '../content.ts';
import { PROTS } from '../ref-model.ts';
import { FuzzHarnessError } from '../violation.ts';
import { type FuzzProc, ioSlot, openFiles, type World } from '../world.ts';
import type { ResolvedOp } from './resolve.ts';

/** What an operation returned. */
export interface OpResult {
  /** 0 / negative errno / mmap's address / reclaim's count; CPU accesses: 0, or -1 on a fault. */
  readonly rc: number;
  /** Bytes handed back: CPU read data, READ output, SNAPSHOT bytes, MIGRATE_TO_DEV read-back. */
  readonly data: Uint8Array | undefined;
  /** A CPU access's fault. */
  readonly fault: CpuAccessFault | undefined;
  /** fork: the child's mm and files. */
  readonly child: { readonly mm: MmStruct; readonly files: DmirrorFile[] } | undefined;
}

/** A plain return value. */
function ret(rc: number): OpResult {
  return { rc, data: undefined, fault: undefined, child: undefined };
}

/** The bytes of `len` at `addr` in `mm`; the harness needs this read to work. */
async function readBack(
  mm: MmStruct,
  addr: number,
  len: number,
  what: string,
): Promise<Uint8Array> {
  const r = await cpuRead(mm, addr, len);
  if (!r.ok || r.data === undefined) {
    throw new FuzzHarnessError(`reading back the ${what} from the I/O buffer faulted`);
  }
  return r.data;
}

/** The device pattern of a WRITE: `npages` pages of `pattern(stamp)`. */
export function devWriteBytes(stamp: number, npages: number): Uint8Array {
  return pattern(stamp, npages * PAGE_SIZE);
}

/** A device command through the process's file on device `dev`, `ptr` = its CPU's slot. */
async function devCmd(
  proc: FuzzProc,
  op: ResolvedOp,
  dev: number,
  request: number,
  outBytes: number,
): Promise<OpResult> {
  const ptr = ioSlot(proc, op.cpu);
  const cmd: HmmDmirrorCmd = { addr: op.addr, ptr, npages: op.npages, cpages: 0, faults: 0 };
  const rc = await dmirrorIoctl(proc.files[dev]!, request, cmd);
  if (rc !== 0 || outBytes === 0) return ret(rc);
  const data = await readBack(proc.mm, ptr, outBytes, 'device output');
  return { rc, data, fault: undefined, child: undefined };
}

/** fork, and the child's own device files. */
async function doFork(world: World, proc: FuzzProc): Promise<OpResult> {
  const child = await fork(proc.mm);
  if (typeof child === 'number') return ret(child);
  const files = await openFiles(world, child);
  return { rc: 0, data: undefined, fault: undefined, child: { mm: child, files } };
}

/** exit: tear the mm down and close the files, in the order drawn. */
async function doExit(proc: FuzzProc, order: 'mm-first' | 'files-first'): Promise<OpResult> {
  let rc = 0;
  const close = async () => {
    for (const f of proc.files) rc = rc || (await dmirrorRelease(f));
  };
  if (order === 'files-first') await close();
  await mmput(proc.mm);
  if (order === 'mm-first') await close();
  return ret(rc);
}

/** Run `op` on the real system (on the current task, i.e. its CPU). */
export async function executeOp(world: World, op: ResolvedOp): Promise<OpResult> {
  const proc = world.procs.get(op.pid);
  if (proc === undefined) throw new FuzzHarnessError(`P${op.pid} is not live`);
  const mm = proc.mm;
  const s = op.spec;
  const size = op.npages * PAGE_SIZE;
  switch (s.kind) {
    case 'mmap':
      return ret(await mmap(mm, 0, size, PROTS[s.prot], MAP_PRIVATE | MAP_ANONYMOUS));
    case 'munmap':
      return ret(await munmap(mm, op.addr, size));
    case 'mprotect':
      return ret(await mprotect(mm, op.addr, size, PROTS[s.prot]));
    case 'madvise':
      return ret(
        await madvise(mm, op.addr, size, s.advice === 'dontneed' ? MADV_DONTNEED : MADV_PAGEOUT),
      );
    case 'reclaim':
      return ret(await shrinkMm(mm, s.nr));
    case 'fork':
      return doFork(world, proc);
    case 'exit':
      return doExit(proc, s.order);
    case 'cpu-read': {
      const r = await cpuRead(mm, op.start, op.len);
      if (r.ok) return { rc: 0, data: r.data, fault: undefined, child: undefined };
      return { rc: -1, data: undefined, fault: r, child: undefined };
    }
    case 'cpu-write': {
      const r = await cpuWrite(mm, op.start, pattern(s.stamp, op.len));
      return r.ok ? ret(0) : { rc: -1, data: undefined, fault: r, child: undefined };
    }
    case 'dev-read':
      return devCmd(proc, op, s.dev, HMM_DMIRROR_READ, size);
    case 'dev-write': {
      const w = await cpuWrite(mm, ioSlot(proc, op.cpu), devWriteBytes(s.stamp, op.npages));
      if (!w.ok) throw new FuzzHarnessError('filling the I/O buffer for a device WRITE faulted');
      return devCmd(proc, op, s.dev, HMM_DMIRROR_WRITE, 0);
    }
    case 'dev-snapshot':
      return devCmd(proc, op, s.dev, HMM_DMIRROR_SNAPSHOT, op.npages);
    case 'migrate-to-dev':
      return devCmd(proc, op, s.dev, HMM_DMIRROR_MIGRATE_TO_DEV, size);
    case 'migrate-to-sys':
      return devCmd(proc, op, s.dev, HMM_DMIRROR_MIGRATE_TO_SYS, 0);
  }
}
