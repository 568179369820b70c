/**
 * Opening and closing a dmirror device file. open() creates a mirror of the opener's mm on the
 * implementation chosen (`opts.impl`) and subscribes it to every invalidation of that mm for the
 * file's whole life — a forked child that inherits the file still reaches the parent's mm, so a
 * child opens its own. close() unsubscribes and destroys the table; pages already migrated stay
 * in device memory, owned by the device. As in the VFS, a command in progress holds a reference
 * on the file (fget/fput): a close() while one runs returns 0 at once and the release happens
 * when the last command returns, so the command never finds its mirror torn down under it.
 *
 * Mirrors lib/test_hmm.c: dmirror_fops_open(), dmirror_fops_release().
 */
import { legacyHmmMirrorApi, shimHmmMirrorApi } from '@hmmsim/hmm-mirror';
import {
  accessReporting,
  EBADF,
  InvalidArgumentError,
  KernelBugError,
  noteRead,
  noteWrite,
} from '@hmmsim/kernel';
import { MmStruct } from '@hmmsim/mm';
import { IntervalBinding } from './binding/interval-binding.ts';
import { LegacyBinding } from './binding/legacy-binding.ts';
import type { MirrorBinding } from './binding/mirror-binding.ts';
import { Dmirror } from './dmirror.ts';
import { DmirrorDevice } from './dmirror-device.ts';
import { DmirrorConfigError, type DmirrorOpenOptions, dmirrorConfig } from './options.ts';

/**
 * An open device file: its device and, while open, its mirror (`private_data`). Accesses to
 * `privateData`, `users` and `pendingRelease` are reported on the file object.
 * Mirrors struct file (the fields the driver uses).
 */
export class DmirrorFile {
  /** The mirror; null once released (commands then fail with -EINVAL). */
  privateData: Dmirror | null;
  /** Commands in progress (their fget() references). Model of struct file.f_count. */
  users = 0;
  /** A mirror closed while commands ran: released by the last of them. */
  pendingRelease: Dmirror | null = null;

  constructor(
    readonly device: DmirrorDevice,
    /** The mirror the file was opened with (kept after release, for the checks). */
    readonly mirror: Dmirror,
  ) {
    this.privateData = mirror;
  }
}

/** The binding for the implementation the mirror was opened with. */
function bindingFor(dmirror: Dmirror): MirrorBinding {
  const config = dmirror.config;
  switch (config.impl) {
    case 'interval':
      return new IntervalBinding(dmirror, config);
    case 'legacy':
      return new LegacyBinding(dmirror, legacyHmmMirrorApi, config);
    case 'shim':
      return new LegacyBinding(dmirror, shimHmmMirrorApi, config);
    default:
      throw new DmirrorConfigError(
        String((config as { impl: unknown }).impl),
        'impl',
        "no such binding; expected 'interval', 'legacy' or 'shim' (use dmirrorConfig())",
      );
  }
}

/**
 * Open `device` from the process whose mm is `mm`: the file, or the negative errno of the
 * subscription (nothing is left behind then). The mm must be live (mm_users > 0); an option the
 * chosen binding cannot use (an unknown impl included) throws DmirrorConfigError before anything
 * happens, a device or mm of the wrong kind InvalidArgumentError.
 * Mirrors lib/test_hmm.c:dmirror_fops_open().
 */
export async function dmirrorOpen(
  device: DmirrorDevice,
  mm: MmStruct,
  opts: DmirrorOpenOptions = {},
): Promise<DmirrorFile | number> {
  if (!(device instanceof DmirrorDevice)) {
    throw new InvalidArgumentError(
      'dmirror open: device is not a DmirrorDevice; expected one of hmmDmirrorInit().devices',
    );
  }
  if (!(mm instanceof MmStruct)) {
    throw new InvalidArgumentError("dmirror open: mm is not an MmStruct; expected the opener's mm");
  }
  if (typeof opts !== 'object' || opts === null) {
    throw new DmirrorConfigError('?', 'opts', `${String(opts)}; expected an options object`);
  }
  if (mm.mmUsers <= 0) {
    throw new KernelBugError(
      `dmirror open: mm${mm.id} has exited; expected current->mm of a live process`,
    );
  }
  const dmirror = new Dmirror(device, mm, dmirrorConfig(opts));
  const binding = bindingFor(dmirror);
  const ret = await binding.bind();
  if (ret !== 0) return ret;
  if (accessReporting) noteWrite(dmirror);
  dmirror.binding = binding;
  return new DmirrorFile(device, dmirror);
}

/** InvalidArgumentError unless `file` is a DmirrorFile. */
function checkFile(fn: string, file: unknown): asserts file is DmirrorFile {
  if (!(file instanceof DmirrorFile)) {
    throw new InvalidArgumentError(
      `${fn}: file is not a DmirrorFile; expected dmirrorOpen()'s result`,
    );
  }
}

/** Unsubscribe the mirror and destroy its table. Mirrors lib/test_hmm.c:dmirror_fops_release(). */
async function releaseMirror(dmirror: Dmirror): Promise<void> {
  if (accessReporting) noteRead(dmirror);
  await dmirror.binding?.unbind();
  dmirror.pt.destroy();
  if (accessReporting) noteWrite(dmirror);
  dmirror.released = true;
}

/**
 * Take a reference on `file` for a command: its mirror, or null for a released file.
 * Mirrors fs/file.c:fget() (with the private_data read of the ioctl).
 */
export function dmirrorFileGet(file: DmirrorFile): Dmirror | null {
  checkFile('fget', file);
  if (accessReporting) noteWrite(file);
  const dmirror = file.privateData;
  if (dmirror !== null) file.users++;
  return dmirror;
}

/**
 * Drop a command's reference; the last one runs a release that close() deferred.
 * Mirrors fs/file_table.c:fput().
 */
export async function dmirrorFilePut(file: DmirrorFile): Promise<void> {
  if (accessReporting) noteWrite(file);
  if (file.users <= 0) {
    throw new KernelBugError('fput: the file has no command reference to drop (fput without fget)');
  }
  file.users--;
  const pending = file.pendingRelease;
  if (file.users === 0 && pending !== null) {
    file.pendingRelease = null;
    await releaseMirror(pending);
  }
}

/**
 * Close `file`: unsubscribe the mirror and destroy its table; 0, or -EBADF for a file that is
 * already closed (the VFS's answer to a second close(2) of the same descriptor). While commands
 * run on the file the release waits for the last of them (close returns 0 at once; new commands
 * get -EINVAL). A `file` that is not a DmirrorFile throws InvalidArgumentError.
 * Mirrors lib/test_hmm.c:dmirror_fops_release().
 */
export async function dmirrorRelease(file: DmirrorFile): Promise<number> {
  checkFile('dmirror release', file);
  if (accessReporting) noteWrite(file);
  const dmirror = file.privateData;
  if (dmirror === null) return -EBADF;
  file.privateData = null;
  if (file.users > 0) {
    file.pendingRelease = dmirror;
    return 0;
  }
  await releaseMirror(dmirror);
  return 0;
}
