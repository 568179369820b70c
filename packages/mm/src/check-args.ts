/**
 * Argument checks shared by the mm's public functions, on top of the kernel's number vocabulary
 * (`checkUlong`, `checkIntIn`): the object arguments (mm, vma, machine, byte buffers) and the
 * mm's own kinds of number (a pfn of this machine, a swap entry). Each throws
 * InvalidArgumentError naming the function, the argument, what was wrong and what is expected,
 * before anything is changed. Values a C caller could pass but the kernel refuses are not
 * checked here: they keep the kernel's errno, decided by the caller.
 */
import { checkUlong, InvalidArgumentError, isUlong, KernelBugError } from '@hmmsim/kernel';
import { assertPfnValid, checkPteWord } from '@hmmsim/pagetable';
import { Machine } from './machine.ts';
import { MmStruct } from './mm-struct.ts';
import { VmArea } from './vma.ts';

function kindOf(v: unknown): string {
  return v === null ? 'null' : typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

/**
 * Throw the InvalidArgumentError of an object check: out of line, so that the checks stay small
 * enough to be inlined on the hot paths.
 */
function badObject(fn: string, arg: string, v: unknown, expected: string): never {
  throw new InvalidArgumentError(`${fn}: ${arg} is ${kindOf(v)}; expected ${expected}`);
}

/** InvalidArgumentError unless `mm` is an MmStruct. Model helper. */
export function checkMm(fn: string, mm: unknown, arg = 'mm'): asserts mm is MmStruct {
  if (!(mm instanceof MmStruct)) badObject(fn, arg, mm, 'an mm from createMm()');
}

/** As checkMm(), and KernelBugError if the address space has already exited. Model helper. */
export function checkLiveMm(fn: string, mm: unknown): asserts mm is MmStruct {
  checkMm(fn, mm);
  if (mm.exited) {
    throw new KernelBugError(
      `${fn}: mm${mm.id} has already exited; expected a live address space (mm_users > 0)`,
    );
  }
}

/** InvalidArgumentError unless `vma` is a VmArea. Model helper. */
export function checkVma(fn: string, vma: unknown, arg = 'vma'): asserts vma is VmArea {
  if (!(vma instanceof VmArea)) badObject(fn, arg, vma, 'a VmArea of an mm');
}

/** InvalidArgumentError unless `machine` is a Machine. Model helper. */
export function checkMachine(fn: string, machine: unknown): asserts machine is Machine {
  if (!(machine instanceof Machine)) {
    badObject(fn, 'machine', machine, 'a Machine from createMachine()');
  }
}

/** InvalidArgumentError unless `pfn` has a struct page on `machine`. Model helper. */
export function checkPfn(fn: string, machine: Machine, pfn: number): void {
  assertPfnValid(machine.phys, pfn, fn);
}

/** InvalidArgumentError unless `v` is an address (a C unsigned long). Model helper. */
export function checkAddr(fn: string, arg: string, v: number): void {
  if (!isUlong(v)) checkUlong(fn, arg, v, 'an address');
}

/** InvalidArgumentError unless `v` is a length or count (a C size_t / unsigned long). Model helper. */
export function checkSize(fn: string, arg: string, v: number): void {
  if (!isUlong(v)) checkUlong(fn, arg, v, 'a length (a size_t)');
}

/** InvalidArgumentError unless `v` is a 32-bit page-table entry word. Model helper. */
export function checkWord(fn: string, arg: string, v: number): void {
  checkPteWord(fn, arg, v);
}

/** InvalidArgumentError unless `v` is a Uint8Array. Model helper. */
export function checkBytes(fn: string, arg: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) badObject(fn, arg, v, 'a Uint8Array');
}
