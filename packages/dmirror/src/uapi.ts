/**
 * The user ABI of the dmirror device: the command block, the ioctl numbers (the v6.0+ numbering,
 * `_IOWR('H', nr, struct hmm_dmirror_cmd)`), the per-page snapshot codes and the FLAGS bits.
 *
 * Mirrors lib/test_hmm_uapi.h.
 */

/** Size of struct hmm_dmirror_cmd: five __u64 fields. Mirrors sizeof(struct hmm_dmirror_cmd). */
export const HMM_DMIRROR_CMD_SIZE = 40;

/**
 * The command block. `addr`, `ptr` and `npages` are inputs, `cpages` and `faults` outputs
 * (written back only when the command succeeds). Fields are u64 values held as safe integers.
 * Mirrors lib/test_hmm_uapi.h:struct hmm_dmirror_cmd.
 */
export interface HmmDmirrorCmd {
  /** Page-aligned virtual address in the mirrored mm. */
  addr: number;
  /** User address (in the calling process) of the data buffer or the snapshot byte array. */
  ptr: number;
  /** Number of pages from `addr`; for FLAGS, the flags word. */
  npages: number;
  /** Out: pages copied or reported. */
  cpages: number;
  /** Out: device fault passes. */
  faults: number;
}

const IOC_READ_WRITE = 3;

/**
 * An `_IOWR(type, nr, size)` ioctl number, computed without 32-bit bitwise operators (the result
 * is above 2^31). Mirrors include/uapi/asm-generic/ioctl.h:_IOWR().
 */
export function iowr(type: string, nr: number, size: number): number {
  return IOC_READ_WRITE * 2 ** 30 + size * 2 ** 16 + type.charCodeAt(0) * 2 ** 8 + nr;
}

/** The command number (`_IOC_NR`) of an ioctl number. Mirrors include/uapi/asm-generic/ioctl.h:_IOC_NR(). */
export function iocNr(request: number): number {
  return request % 256;
}

/** Device reads `npages` at `addr` into `ptr`. Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_READ. */
export const HMM_DMIRROR_READ = iowr('H', 0x00, HMM_DMIRROR_CMD_SIZE);
/** Device writes `npages` from `ptr` to `addr`. Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_WRITE. */
export const HMM_DMIRROR_WRITE = iowr('H', 0x01, HMM_DMIRROR_CMD_SIZE);
/** Migrate system memory to this device. Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_MIGRATE_TO_DEV. */
export const HMM_DMIRROR_MIGRATE_TO_DEV = iowr('H', 0x02, HMM_DMIRROR_CMD_SIZE);
/** Migrate this device's pages back to system memory. Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_MIGRATE_TO_SYS. */
export const HMM_DMIRROR_MIGRATE_TO_SYS = iowr('H', 0x03, HMM_DMIRROR_CMD_SIZE);
/** One protection byte per page, no faulting. Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_SNAPSHOT. */
export const HMM_DMIRROR_SNAPSHOT = iowr('H', 0x04, HMM_DMIRROR_CMD_SIZE);
/** Make pages device-exclusive (not built: -EINVAL). Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_EXCLUSIVE. */
export const HMM_DMIRROR_EXCLUSIVE = iowr('H', 0x05, HMM_DMIRROR_CMD_SIZE);
/** Check for surviving atomic mappings. Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_CHECK_EXCLUSIVE. */
export const HMM_DMIRROR_CHECK_EXCLUSIVE = iowr('H', 0x06, HMM_DMIRROR_CMD_SIZE);
/** Evict all device memory (not built: -EINVAL). Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_RELEASE. */
export const HMM_DMIRROR_RELEASE = iowr('H', 0x07, HMM_DMIRROR_CMD_SIZE);
/** Set the per-file flags word from `npages`. Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_FLAGS. */
export const HMM_DMIRROR_FLAGS = iowr('H', 0x08, HMM_DMIRROR_CMD_SIZE);

/** FLAGS bit: fail the next large device allocation once. Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_FLAG_FAIL_ALLOC. */
export const HMM_DMIRROR_FLAG_FAIL_ALLOC = 1;

/** Snapshot: error entry (no VMA, unreadable VMA). Mirrors HMM_DMIRROR_PROT_ERROR. */
export const HMM_DMIRROR_PROT_ERROR = 0xff;
/** Snapshot: not valid (pte_none, another owner's private page). Mirrors HMM_DMIRROR_PROT_NONE. */
export const HMM_DMIRROR_PROT_NONE = 0x00;
/** Snapshot: valid, read-only. Mirrors HMM_DMIRROR_PROT_READ. */
export const HMM_DMIRROR_PROT_READ = 0x01;
/** Snapshot: valid, writable. Mirrors HMM_DMIRROR_PROT_WRITE. */
export const HMM_DMIRROR_PROT_WRITE = 0x02;
/** Snapshot: mapped by a PMD. Mirrors HMM_DMIRROR_PROT_PMD. */
export const HMM_DMIRROR_PROT_PMD = 0x04;
/** Snapshot: mapped by a PUD. Mirrors HMM_DMIRROR_PROT_PUD. */
export const HMM_DMIRROR_PROT_PUD = 0x08;
/** Snapshot base: the shared zero page. Mirrors HMM_DMIRROR_PROT_ZERO. */
export const HMM_DMIRROR_PROT_ZERO = 0x10;
/** Snapshot base: device-private page of this device. Mirrors HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL. */
export const HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL = 0x20;
/** Snapshot base: device-private page of another device. Mirrors HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE. */
export const HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE = 0x30;
/** Snapshot base: device-coherent page of this device. Mirrors HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL. */
export const HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL = 0x40;
/** Snapshot base: device-coherent page of another device. Mirrors HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE. */
export const HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE = 0x50;

/** Device memory type: device-private. Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_MEMORY_DEVICE_PRIVATE. */
export const HMM_DMIRROR_MEMORY_DEVICE_PRIVATE = 1;
/** Device memory type: device-coherent (not built). Mirrors lib/test_hmm_uapi.h:HMM_DMIRROR_MEMORY_DEVICE_COHERENT. */
export const HMM_DMIRROR_MEMORY_DEVICE_COHERENT = 2;

/** A readable name of a dmirror ioctl number ('HMM_DMIRROR_READ'), or the number in hex. Model helper. */
export function dmirrorCommandName(request: number): string {
  const names: Record<number, string> = {
    [HMM_DMIRROR_READ]: 'HMM_DMIRROR_READ',
    [HMM_DMIRROR_WRITE]: 'HMM_DMIRROR_WRITE',
    [HMM_DMIRROR_MIGRATE_TO_DEV]: 'HMM_DMIRROR_MIGRATE_TO_DEV',
    [HMM_DMIRROR_MIGRATE_TO_SYS]: 'HMM_DMIRROR_MIGRATE_TO_SYS',
    [HMM_DMIRROR_SNAPSHOT]: 'HMM_DMIRROR_SNAPSHOT',
    [HMM_DMIRROR_EXCLUSIVE]: 'HMM_DMIRROR_EXCLUSIVE',
    [HMM_DMIRROR_CHECK_EXCLUSIVE]: 'HMM_DMIRROR_CHECK_EXCLUSIVE',
    [HMM_DMIRROR_RELEASE]: 'HMM_DMIRROR_RELEASE',
    [HMM_DMIRROR_FLAGS]: 'HMM_DMIRROR_FLAGS',
  };
  return names[request] ?? `0x${request.toString(16)}`;
}
