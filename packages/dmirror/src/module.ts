/**
 * Loading the dmirror "module" on a machine: the device-private devices `/dev/hmm_dmirror0` and
 * `/dev/hmm_dmirror1`, each starting with one 256 MiB chunk of device memory on its free list.
 * (The device-coherent devices 2 and 3 need special-purpose memory the model does not have; they
 * are not created, as when the module parameters are 0.)
 *
 * Mirrors lib/test_hmm.c: hmm_dmirror_init(), dmirror_device_init(), DMIRROR_NDEVICES.
 */
import { checkIntIn } from '@hmmsim/kernel';
import type { Machine } from '@hmmsim/mm';
import { dmirrorAllocateChunk } from './devmem/chunk-alloc.ts';
import { DmirrorDevice } from './dmirror-device.ts';

/** Device slots of the module (two private, two coherent). Mirrors lib/test_hmm.c:DMIRROR_NDEVICES. */
export const DMIRROR_NDEVICES = 4;
/** Device-private devices created (minors 0 and 1). Model helper. */
export const DMIRROR_PRIVATE_DEVICES = 2;

/** The loaded module: its devices by minor. Mirrors the dmirror_devices[] array. */
export interface DmirrorModule {
  readonly machine: Machine;
  readonly devices: readonly DmirrorDevice[];
}

/**
 * Create device `minor` with its first chunk of device memory: the device, or the negative errno
 * of the chunk allocation; a minor outside [0, DMIRROR_NDEVICES) throws InvalidArgumentError. Mirrors lib/test_hmm.c:dmirror_device_init().
 */
export function dmirrorDeviceInit(machine: Machine, minor: number): DmirrorDevice | number {
  checkIntIn(
    'dmirror_device_init',
    'minor',
    minor,
    0,
    DMIRROR_NDEVICES - 1,
    `a device minor in [0, ${DMIRROR_NDEVICES})`,
  );
  const mdevice = new DmirrorDevice(machine, minor);
  const ret = dmirrorAllocateChunk(mdevice, false);
  return ret < 0 ? ret : mdevice;
}

/**
 * Load the module on `machine`: devices 0 and 1 (device-private), or the first errno.
 * Mirrors lib/test_hmm.c:hmm_dmirror_init().
 */
export function hmmDmirrorInit(machine: Machine): DmirrorModule | number {
  const devices: DmirrorDevice[] = [];
  for (let id = 0; id < DMIRROR_PRIVATE_DEVICES; id++) {
    const d = dmirrorDeviceInit(machine, id);
    if (typeof d === 'number') return d;
    devices.push(d);
  }
  return { machine, devices };
}
