/**
 * The dmirror's ioctl entry point: the steps common to every command, in the kernel's order —
 * no mirror (a released file): -EINVAL; no command block: -EFAULT; `addr` not page aligned:
 * -EINVAL; `addr + npages * PAGE_SIZE` not above `addr` (zero pages, or a 64-bit wrap): -EINVAL;
 * clear cpages/faults; dispatch (unknown command: -EINVAL) holding a reference on the file, so
 * that a close() meanwhile waits for the command; on failure return the errno and copy nothing
 * back; on success copy cpages/faults back and return 0.
 *
 * Mirrors lib/test_hmm.c:dmirror_fops_unlocked_ioctl().
 */
import {
  accessReporting,
  checkIntIn,
  checkUlong,
  EFAULT,
  EINVAL,
  InvalidArgumentError,
  noteRead,
  noteWrite,
  PAGE_SIZE,
} from '@hmmsim/kernel';
import { MmStruct } from '@hmmsim/mm';
import { dmirrorCheckAtomic } from './commands/check-exclusive.ts';
import { dmirrorSetFlags } from './commands/flags.ts';
import { dmirrorMigrateToDevice } from './commands/migrate-to-device.ts';
import { dmirrorMigrateToSystem } from './commands/migrate-to-system.ts';
import { dmirrorRead } from './commands/read.ts';
import { dmirrorSnapshot } from './commands/snapshot.ts';
import { dmirrorWrite } from './commands/write.ts';
import type { Dmirror } from './dmirror.ts';
import { DmirrorFile, dmirrorFileGet, dmirrorFilePut } from './file.ts';
import {
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
} from './uapi.ts';

const U64 = 2 ** 64;
const FIELDS = ['addr', 'ptr', 'npages', 'cpages', 'faults'] as const;
/** Elements of the user's command block in access reports (its index in FIELDS). */
const CPAGES = 3;
const FAULTS = 4;

/** The function named in the typed errors of the ioctl path. */
const FN = 'dmirror_fops_unlocked_ioctl';

/** Throw unless every field is a u64 the model can hold (a safe integer >= 0). */
function checkFields(cmd: HmmDmirrorCmd): void {
  if (typeof cmd !== 'object') {
    throw new InvalidArgumentError(
      `${FN}: arg is a ${typeof cmd}; expected a struct hmm_dmirror_cmd or null`,
    );
  }
  for (const f of FIELDS) checkUlong(FN, `cmd.${f}`, cmd[f], 'a __u64 held as a safe integer');
}

/** Throw unless the file, the request number and the calling process are of the right kinds. */
function checkCall(file: DmirrorFile, request: number, user: MmStruct | undefined): void {
  if (!(file instanceof DmirrorFile)) {
    throw new InvalidArgumentError(
      `${FN}: file is not a DmirrorFile; expected dmirrorOpen()'s result`,
    );
  }
  checkIntIn(FN, 'cmd', request, 0, 2 ** 32 - 1, 'an ioctl number (an unsigned int)');
  if (user !== undefined && !(user instanceof MmStruct)) {
    throw new InvalidArgumentError(
      `${FN}: user is not an MmStruct; expected the calling process's mm`,
    );
  }
}

/** True if `addr >= addr + (npages << PAGE_SHIFT)` in 64-bit arithmetic. */
function emptyOrWraps(addr: number, npages: number): boolean {
  const size = (npages * PAGE_SIZE) % U64;
  return size === 0 || addr >= U64 - size;
}

/** The command's handler. */
type Handler = (d: Dmirror, cmd: HmmDmirrorCmd, user: MmStruct) => Promise<number> | number;

const HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [HMM_DMIRROR_READ, dmirrorRead],
  [HMM_DMIRROR_WRITE, dmirrorWrite],
  [HMM_DMIRROR_MIGRATE_TO_DEV, dmirrorMigrateToDevice],
  [HMM_DMIRROR_MIGRATE_TO_SYS, (d, cmd) => dmirrorMigrateToSystem(d, cmd)],
  [HMM_DMIRROR_SNAPSHOT, dmirrorSnapshot],
  [
    HMM_DMIRROR_CHECK_EXCLUSIVE,
    (d, cmd) => dmirrorCheckAtomic(d, cmd.addr, cmd.addr + cmd.npages * PAGE_SIZE),
  ],
  [HMM_DMIRROR_FLAGS, (d, cmd) => dmirrorSetFlags(d, cmd)],
]);

/**
 * Run one dmirror command on `file` for the calling process `user` (whose memory `arg.ptr`
 * points into; default the mirrored mm): 0 with `arg.cpages`/`arg.faults` updated, or a negative
 * errno with `arg` unchanged. A `null` block stands for an unreadable user pointer (-EFAULT);
 * fields that are not u64 values (NaN, ±Infinity, negative, fractional, >= 2^53), a request that
 * is not an unsigned int, a file that is not a DmirrorFile and a `user` that is not an mm throw
 * InvalidArgumentError naming the function, the field and what is expected.
 * Mirrors lib/test_hmm.c:dmirror_fops_unlocked_ioctl().
 */
export async function dmirrorIoctl(
  file: DmirrorFile,
  request: number,
  arg: HmmDmirrorCmd | null,
  user?: MmStruct,
): Promise<number> {
  checkCall(file, request, user);
  if (accessReporting) noteRead(file);
  if (file.privateData === null) return -EINVAL;
  if (arg === null) return -EFAULT;
  // copy_from_user of the block (it is user memory, which another task may share).
  if (accessReporting) noteRead(arg);
  checkFields(arg);
  if (arg.addr % PAGE_SIZE !== 0) return -EINVAL;
  if (emptyOrWraps(arg.addr, arg.npages)) return -EINVAL;
  const cmd: HmmDmirrorCmd = { ...arg, cpages: 0, faults: 0 };
  const handler = HANDLERS.get(request);
  if (handler === undefined) return -EINVAL;
  const dmirror = dmirrorFileGet(file);
  if (dmirror === null) return -EINVAL;
  try {
    const ret = await handler(dmirror, cmd, user ?? dmirror.mm);
    if (ret !== 0) return ret;
    if (accessReporting) noteWrite(arg, CPAGES);
    arg.cpages = cmd.cpages;
    if (accessReporting) noteWrite(arg, FAULTS);
    arg.faults = cmd.faults;
    return 0;
  } finally {
    await dmirrorFilePut(file);
  }
}
