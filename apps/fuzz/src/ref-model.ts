/**
 * The reference model: what every process should see, page by page — whether the page is
 * mapped, its protection, and its bytes — with no notion of where the bytes live (RAM, swap,
 * device memory) or of any kernel structure. After a step whose operations raced, a page may
 * have several possible contents (`cands`: the linearisations the model cannot tell apart); the
 * data check then requires the machine's bytes to be one of them and keeps that one.
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { PROT_NONE, PROT_READ, PROT_WRITE } from '@hmmsim/mm';

/** One mapped page of a process. */
export interface RefPage {
  /** PROT_NONE, PROT_READ or PROT_READ | PROT_WRITE. */
  readonly prot: number;
  /** The possible contents (one after the data check). */
  readonly cands: readonly Uint8Array[];
}

/** An address range a process mapped once (operations aim inside it; holes may appear). */
export interface RefRegion {
  readonly start: number;
  readonly npages: number;
}

/** One process. */
export interface RefProc {
  readonly pid: number;
  /** Mapped data pages by page number (the I/O buffer is not modelled: it is scratch space). */
  readonly pages: Map<number, RefPage>;
  readonly regions: RefRegion[];
  /** Start of the process's I/O buffer (never unmapped, never a target). */
  readonly ioBuf: number;
}

/** Every live process. */
export interface RefModel {
  readonly procs: Map<number, RefProc>;
  nextPid: number;
}

/** The protections the fuzzer uses, by name. */
export const PROTS = { rw: PROT_READ | PROT_WRITE, r: PROT_READ, none: PROT_NONE } as const;
/** A protection's name. */
export type ProtName = keyof typeof PROTS;

/** 'rw', 'r' or 'none' for a protection value. */
export function protName(prot: number): string {
  if (prot === PROTS.rw) return 'rw';
  if (prot === PROTS.r) return 'r';
  if (prot === PROTS.none) return 'none';
  return `0x${prot.toString(16)}`;
}

/** True if the CPU (and hmm_range_fault) may read the page. */
export function readable(page: RefPage | undefined): page is RefPage {
  return page !== undefined && (page.prot & PROT_READ) !== 0;
}

/** True if the CPU may write the page. */
export function writable(page: RefPage | undefined): page is RefPage {
  return page !== undefined && (page.prot & PROT_WRITE) !== 0;
}

/** A copy of `proc` (pages map and region list copied; pages themselves are immutable). */
export function cloneProc(proc: RefProc, pid = proc.pid): RefProc {
  return { pid, pages: new Map(proc.pages), regions: [...proc.regions], ioBuf: proc.ioBuf };
}

/** Page number of an address. */
export function vpnOf(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}

/** The page numbers of `[addr, addr + len)` (len > 0). */
export function vpnsOf(addr: number, len: number): number[] {
  const out: number[] = [];
  for (let v = vpnOf(addr); v <= vpnOf(addr + len - 1); v++) out.push(v);
  return out;
}
