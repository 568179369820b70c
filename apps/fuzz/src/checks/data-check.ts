/**
 * The data check: every byte the reference model says a process has is there — in RAM, in swap
 * or in device memory (peek.ts finds it without disturbing anything) — with the protection the
 * model says, and the process maps nothing the model does not know of (beyond its I/O buffer).
 * Where a step left a page with several possible contents, the one found is kept.
 */
import { PAGE_SIZE } from '@hmmsim/kernel';
import { describeBytes, sameBytes } from '../content.ts';
import { type PageLocation, peekPage } from '../peek.ts';
import { protName, type RefModel } from '../ref-model.ts';
import { IO_BUF_BYTES, type World } from '../world.ts';

/** Where the checked pages were, counted (coverage). */
export type LocationCounts = Record<PageLocation, number>;

/** Zeroed location counts. */
export function emptyLocationCounts(): LocationCounts {
  return { none: 0, ram: 0, swap: 0, dev0: 0, dev1: 0, migrating: 0, other: 0 };
}

/** `0x7f0000003000` */
function hex(vpn: number): string {
  return `0x${(vpn * PAGE_SIZE).toString(16)}`;
}

/**
 * Compare every live process with the model; problems found (the model keeps, for each page,
 * the candidate the machine holds). Counts where the pages were into `locs`.
 * Model helper (the fuzzer's data oracle).
 */
export function dataProblems(world: World, model: RefModel, locs: LocationCounts): string[] {
  const out: string[] = [];
  for (const [pid, ref] of model.procs) {
    const proc = world.procs.get(pid);
    if (proc === undefined) {
      out.push(`P${pid} is in the model but not on the machine`);
      continue;
    }
    for (const [vpn, page] of ref.pages) {
      const got = peekPage(proc.mm, vpn * PAGE_SIZE);
      if (!got.mapped) {
        out.push(`data: P${pid} ${hex(vpn)} should be mapped (${protName(page.prot)}) but is not`);
        continue;
      }
      locs[got.loc]++;
      if (got.odd !== undefined) out.push(`data: P${pid} ${hex(vpn)} holds ${got.odd}`);
      if (got.prot !== page.prot) {
        out.push(
          `data: P${pid} ${hex(vpn)} is mapped ${protName(got.prot)}; expected ${protName(page.prot)}`,
        );
      }
      const match = page.cands.find((c) => sameBytes(c, got.bytes));
      if (match === undefined) {
        out.push(
          `data: P${pid} ${hex(vpn)} (${got.loc}) holds ${describeBytes(got.bytes)}; expected ${page.cands.map(describeBytes).join(' or ')}`,
        );
      } else if (page.cands.length > 1) {
        ref.pages.set(vpn, { prot: page.prot, cands: [match] });
      }
    }
    for (const vma of proc.mm.vmas) {
      for (let a = vma.vmStart; a < vma.vmEnd; a += PAGE_SIZE) {
        if (a >= ref.ioBuf && a < ref.ioBuf + IO_BUF_BYTES) continue;
        if (!ref.pages.has(a / PAGE_SIZE)) {
          out.push(`data: P${pid} maps 0x${a.toString(16)}, which the model says is unmapped`);
        }
      }
    }
  }
  for (const pid of world.procs.keys()) {
    if (!model.procs.has(pid)) out.push(`P${pid} is on the machine but not in the model`);
  }
  return out;
}
