/**
 * A simulated machine: physical memory, the scheduler and clock, one swap device, the THP policy
 * and the registries the reverse map needs (anon_vma and address_space ids stored in the memmap).
 * Also the mm-side page allocator policy (fault injection) and put_page.
 */
import type { Clock, Scheduler } from '@hmmsim/kernel';
import {
  accessReporting,
  checkIntIn,
  createScheduler,
  InvalidArgumentError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
  type WaitQueueHead,
} from '@hmmsim/kernel';
import {
  allocPages,
  assertPfnValid,
  createPhysMem,
  type PhysMem,
  putPage,
} from '@hmmsim/pagetable';
import type { AddressSpace } from './filemap.ts';
import type { MmStruct } from './mm-struct.ts';
import type { AnonVma } from './rmap.ts';
import { SwapDevice } from './swap.ts';

/** Transparent hugepage policy (/sys/kernel/mm/transparent_hugepage/enabled). */
export type ThpPolicy = 'always' | 'madvise' | 'never';

/** Options of createMachine(). */
export interface MachineOptions {
  /** RAM size in bytes (default 64 MiB). */
  readonly ramBytes?: number;
  /** Swap device size in pages (default 4096 = 16 MiB; 0 = no swap). */
  readonly swapPages?: number;
  /** Scheduler (default: a free-running createScheduler()). */
  readonly sched?: Scheduler;
  /** THP policy (default 'madvise', the common distribution default). */
  readonly thp?: ThpPolicy;
}

/**
 * What the core mm sees of a dev_pagemap (set by the device-memory layer): the fault hook and,
 * from v5.7, the opaque `owner` identifying the driver that manages the memory (undefined or
 * null: none, as in v5.4). Mirrors include/linux/memremap.h:struct dev_pagemap_ops (the fault
 * side) and struct dev_pagemap.owner (v5.7).
 */
export interface DevPagemapOps {
  /** CPU fault on a device-private entry; returns VM_FAULT_* bits. */
  migrateToRam(vmf: import('./memory.ts').VmFault): Promise<number>;
  /** The pgmap's owner (v5.7 `dev_pagemap.owner`); compared by identity. */
  readonly owner?: unknown;
}

/** Decides whether an allocation of `order` fails (fault injection); null = never. */
export type AllocFailurePolicy = ((order: 0 | 9) => boolean) | null;

const PAGE_WAIT_TABLE = 64;
/** Largest swap device (2^24 slots = 64 GiB). */
const MAX_SWAP_PAGES = 2 ** 24;

// Elements of a Machine in access reports (noteRead/noteWrite(machine, element)): MACHINE_THP 0,
// MACHINE_ALLOC_FAILURE 1, MACHINE_NEXT_ID 2. The accessors write them as literals, the name in
// a comment, for the reason given at VmArea's (vma.ts).
const MACHINE_ALLOC_FAILURE = 1;

/**
 * One simulated machine.
 *
 * Access reports (for the explorer's partial-order reduction): `thp`, `allocFailure` and
 * `nextId` are accessors reporting each as an element of the machine; the registries report on
 * themselves, element = the id looked up or changed (`noteRead(machine.anonVmas, id)`), and `mms`
 * as a whole. Code outside this package that reads or changes a registry must report the same way.
 */
export class Machine {
  readonly phys: PhysMem;
  readonly sched: Scheduler;
  readonly clock: Clock;
  readonly swap: SwapDevice;
  private _thp: ThpPolicy;
  /** Every mm whose page tables are alive (created and not yet exited); reported as a whole. */
  readonly mms = new Set<MmStruct>();
  /** anon_vma registry (memmap `mapping` ids of PG_anon pages); reported by id. */
  readonly anonVmas = new Map<number, AnonVma>();
  /** address_space registry (memmap `mapping` ids of file/shmem pages); reported by id. */
  readonly addressSpaces = new Map<number, AddressSpace>();
  /** dev_pagemap ops by pgmap id (memmap `pgmap`); reported by id. */
  readonly devPagemaps = new Map<number, DevPagemapOps>();
  private _allocFailure: AllocFailurePolicy = null;
  /**
   * Hashed page wait queues for the sleeping lock_page, each made when a page of its hash is first
   * waited on (undefined before: nobody ever waited there). Mirrors mm/filemap.c:page_wait_table.
   */
  readonly pageWaitTable: (WaitQueueHead | undefined)[];
  private _nextId = 1;

  /** THP policy (/sys/kernel/mm/transparent_hugepage/enabled). */
  get thp(): ThpPolicy {
    if (accessReporting) noteRead(this, 0 /* MACHINE_THP */);
    return this._thp;
  }
  set thp(policy: ThpPolicy) {
    if (accessReporting) noteWrite(this, 0 /* MACHINE_THP */);
    this._thp = policy;
  }

  /** Allocation fault injection. */
  get allocFailure(): AllocFailurePolicy {
    if (accessReporting) noteRead(this, 1 /* MACHINE_ALLOC_FAILURE */);
    return this._allocFailure;
  }
  set allocFailure(policy: AllocFailurePolicy) {
    if (accessReporting) noteWrite(this, 1 /* MACHINE_ALLOC_FAILURE */);
    this._allocFailure = policy;
  }

  /** Next id for an anon_vma / address_space / mm. */
  get nextId(): number {
    if (accessReporting) noteRead(this, 2 /* MACHINE_NEXT_ID */);
    return this._nextId;
  }
  set nextId(n: number) {
    if (accessReporting) noteWrite(this, 2 /* MACHINE_NEXT_ID */);
    this._nextId = n;
  }

  constructor(phys: PhysMem, sched: Scheduler, swapPages: number, thp: ThpPolicy) {
    this.phys = phys;
    this.sched = sched;
    this.clock = sched.clock;
    this.swap = new SwapDevice(swapPages);
    this._thp = thp;
    this.pageWaitTable = new Array<WaitQueueHead | undefined>(PAGE_WAIT_TABLE).fill(undefined);
  }
}

/**
 * Create a machine (RAM, scheduler, swap device, THP policy). Model entry point (no kernel
 * counterpart: boot).
 */
export function createMachine(opts: MachineOptions = {}): Machine {
  const ramBytes = opts.ramBytes ?? 64 * 2 ** 20;
  const what = 'a multiple of PAGE_SIZE of at least 2 pages and at most 1 TiB';
  checkIntIn('createMachine', 'ramBytes', ramBytes, 2 * PAGE_SIZE, 2 ** 40, what);
  if (ramBytes % PAGE_SIZE !== 0) {
    throw new InvalidArgumentError(
      `createMachine: ramBytes ${ramBytes} is not page aligned; expected ${what}`,
    );
  }
  const swapPages = opts.swapPages ?? 4096;
  checkIntIn(
    'createMachine',
    'swapPages',
    swapPages,
    0,
    MAX_SWAP_PAGES,
    'a slot count in [0, 2^24]',
  );
  const thp = opts.thp ?? 'madvise';
  if (thp !== 'always' && thp !== 'madvise' && thp !== 'never') {
    throw new InvalidArgumentError(
      `createMachine: thp is ${JSON.stringify(thp)}; expected 'always', 'madvise' or 'never'`,
    );
  }
  const s = opts.sched;
  if (
    s !== undefined &&
    (typeof s !== 'object' ||
      s === null ||
      typeof s.point !== 'function' ||
      typeof s.sleep !== 'function' ||
      typeof s.spawn !== 'function')
  ) {
    throw new InvalidArgumentError(
      'createMachine: sched is not a Scheduler; expected createScheduler() (or undefined)',
    );
  }
  const phys = createPhysMem({ ramBytes });
  return new Machine(phys, s ?? createScheduler(), swapPages, thp);
}

/**
 * Install (or clear with null) the allocation fault-injection policy.
 * Mirrors mm/page_alloc.c:should_fail_alloc_page() (fail_page_alloc).
 */
export function setAllocFailure(machine: Machine, policy: AllocFailurePolicy): void {
  if (policy !== null && typeof policy !== 'function') {
    throw new InvalidArgumentError(
      `setAllocFailure: policy is a ${typeof policy}; expected (order) => boolean or null`,
    );
  }
  machine.allocFailure = policy;
}

/**
 * Allocate an order-0 or order-9 page for user memory (refcount 1, zeroed); -1 when out of
 * memory or when fault injection says so. Mirrors mm/mempolicy.c:alloc_pages_vma().
 */
export function allocUserPage(machine: Machine, order: 0 | 9): number {
  if (order !== 0 && order !== 9) {
    checkIntIn('allocUserPage', 'order', order, 0, 2 ** 32 - 1, 'an order (0 or 9)');
    throw new InvalidArgumentError(
      `allocUserPage: order ${order} is not modelled; expected 0 (a page) or 9 (a THP)`,
    );
  }
  const policy = machine.allocFailure;
  if (policy !== null) {
    // The policy may keep state (a countdown): calling it is a write of the machine's policy.
    if (accessReporting) noteWrite(machine, MACHINE_ALLOC_FAILURE);
    if (policy(order)) return -1;
  }
  return allocPages(machine.phys, order);
}

/**
 * Drop a page reference (the last one frees a RAM page; a device page returning to 1 goes idle).
 * Mirrors include/linux/mm.h:put_page().
 */
export function mmPutPage(machine: Machine, pfn: number): void {
  assertPfnValid(machine.phys, pfn, 'mmPutPage');
  putPage(machine.phys, pfn);
}

/** Allocate a fresh id for an anon_vma / address_space / mm. Model helper. */
export function machineNextId(machine: Machine): number {
  return machine.nextId++;
}
