import { PAGE_SIZE } from '@hmmsim/kernel';
import {
  cpuRead,
  cpuWrite,
  createMachine,
  createMm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type Machine,
  type MmStruct,
  mmap,
  PROT_READ,
  PROT_WRITE,
} from '@hmmsim/mm';
import {
  type DmirrorFile,
  type DmirrorImpl,
  type DmirrorModule,
  type DmirrorOpenOptions,
  dmirrorIoctl,
  dmirrorOpen,
  type HmmDmirrorCmd,
  hmmDmirrorInit,
} from '../src/index.ts';

export const IMPLS: readonly DmirrorImpl[] = ['interval', 'legacy', 'shim'];

export interface World {
  readonly machine: Machine;
  readonly module: DmirrorModule;
  readonly mm: MmStruct;
}

/** A machine with the module loaded and one process. */
export function world(ramBytes = 64 * 2 ** 20): World {
  const machine = createMachine({ ramBytes });
  const module = hmmDmirrorInit(machine);
  if (typeof module === 'number') throw new Error(`init ${module}`);
  return { machine, module, mm: createMm(machine) };
}

/** Open device `minor` for `mm`. */
export async function open(
  w: World,
  impl: DmirrorImpl,
  minor = 0,
  mm = w.mm,
  opts: DmirrorOpenOptions = {},
): Promise<DmirrorFile> {
  const f = await dmirrorOpen(w.module.devices[minor]!, mm, { ...opts, impl });
  if (typeof f === 'number') throw new Error(`open ${f}`);
  return f;
}

/** An anonymous mapping of `pages` pages. */
export async function anon(
  mm: MmStruct,
  pages: number,
  prot = PROT_READ | PROT_WRITE,
  flags = MAP_PRIVATE | MAP_ANONYMOUS,
) {
  const a = await mmap(mm, 0, pages * PAGE_SIZE, prot, flags);
  if (a <= 0) throw new Error(`mmap ${a}`);
  return a;
}

/** Words k + c over `pages` pages as bytes. */
export function words(pages: number, f: (k: number) => number = (k) => k): Uint8Array {
  const w = new Int32Array((pages * PAGE_SIZE) / 4);
  for (let k = 0; k < w.length; k++) w[k] = f(k);
  return new Uint8Array(w.buffer);
}

export async function write(mm: MmStruct, addr: number, data: Uint8Array): Promise<void> {
  const r = await cpuWrite(mm, addr, data);
  if (!r.ok) throw new Error(`cpuWrite ${r.signal}`);
}

export async function read(mm: MmStruct, addr: number, len: number): Promise<Uint8Array> {
  const r = await cpuRead(mm, addr, len);
  if (!r.ok || r.data === undefined) throw new Error(`cpuRead ${r.ok ? '' : r.signal}`);
  return r.data;
}

/** A command block. */
export function cmd(addr: number, ptr: number, npages: number): HmmDmirrorCmd {
  return { addr, ptr, npages, cpages: 0, faults: 0 };
}

/** Run a command; returns [ret, block]. */
export async function ioctl(f: DmirrorFile, request: number, c: HmmDmirrorCmd, user?: MmStruct) {
  const ret = await dmirrorIoctl(f, request, c, user);
  return ret;
}
