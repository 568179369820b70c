/**
 * Opening and closing a dmirror device file. open() creates a mirror of the opener's mm on the
 * implementation chosen (`opts.impl`) and subscribes it to every invalidation of that mm for the
 * file's whole life — a forked child that inherits the file still reaches the parent's mm, so a
 * child opens its own. close() unsubscribes and destroys the table; pages already migrated stay
 * in device memory, owned by the device.
 *
 * Mirrors lib/test_hmm.c: dmirror_fops_open(), dmirror_fops_release().
 */
import { legacyHmmMirrorApi, shimHmmMirrorApi } from '@hmmsim/hmm-mirror';
import { EBADF, KernelBugError } from '@hmmsim/kernel';
import type { MmStruct } from '@hmmsim/mm';
import { IntervalBinding } from './binding/interval-binding.ts';
import { LegacyBinding } from './binding/legacy-binding.ts';
import type { MirrorBinding } from './binding/mirror-binding.ts';
import { Dmirror } from './dmirror.ts';
import type { DmirrorDevice } from './dmirror-device.ts';
import { type DmirrorOpenOptions, dmirrorConfig } from './options.ts';

/**
 * An open device file: its device and, while open, its mirror (`private_data`).
 * Mirrors struct file (the fields the driver uses).
 */
export class DmirrorFile {
  /** The mirror; null once released (commands then fail with -EINVAL). */
  privateData: Dmirror | null;

  constructor(
    readonly device: DmirrorDevice,
    dmirror: Dmirror,
  ) {
    this.privateData = dmirror;
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
  }
}

/**
 * Open `device` from the process whose mm is `mm`: the file, or the negative errno of the
 * subscription (nothing is left behind then). The mm must be live (mm_users > 0); an option the
 * chosen binding cannot use throws DmirrorConfigError before anything happens.
 * Mirrors lib/test_hmm.c:dmirror_fops_open().
 */
export async function dmirrorOpen(
  device: DmirrorDevice,
  mm: MmStruct,
  opts: DmirrorOpenOptions = {},
): Promise<DmirrorFile | number> {
  if (mm.mmUsers <= 0) {
    throw new KernelBugError(
      `dmirror open: mm${mm.id} has exited; expected current->mm of a live process`,
    );
  }
  const dmirror = new Dmirror(device, mm, dmirrorConfig(opts));
  const binding = bindingFor(dmirror);
  const ret = await binding.bind();
  if (ret !== 0) return ret;
  dmirror.binding = binding;
  return new DmirrorFile(device, dmirror);
}

/**
 * Close `file`: unsubscribe the mirror and destroy its table; 0, or -EBADF for a file that is
 * already closed (the VFS's answer to a second close(2) of the same descriptor).
 * Mirrors lib/test_hmm.c:dmirror_fops_release().
 */
export async function dmirrorRelease(file: DmirrorFile): Promise<number> {
  const dmirror = file.privateData;
  if (dmirror === null) return -EBADF;
  file.privateData = null;
  await dmirror.binding?.unbind();
  dmirror.pt.destroy();
  dmirror.released = true;
  return 0;
}
