/**
 * A model-only check after each test process ends: every device page the test migrated has come
 * back to its device's free list (calloc = cfree), the free lists are consistent
 * (checkDmirrorDevice), and the machine's core-mm and device-memory
 * invariants hold with nothing in flight. (The kernel test cannot look; the model can, and a leak
 * or a refcount slip there would make a passing test meaningless.)
 *
 * Mirrors: model-only (@hmmsim/mm's assertMachineInvariants, @hmmsim/migrate's invariants 16–20).
 */

import { assertMigrateInvariants } from '@hmmsim/migrate';
import { assertMachineInvariants } from '@hmmsim/mm';
import { checkDmirrorDevice } from '../invariants.ts';
import { SelftestFailure } from './failure.ts';
import type { SelftestProcess } from './process.ts';

/** Throw SelftestFailure naming the first broken model invariant. Mirrors: model-only. */
export function checkQuiescent(proc: SelftestProcess): void {
  for (const d of proc.module.devices) {
    if (d.calloc !== d.cfree) {
      throw new SelftestFailure(
        `model invariant: ${d.name}: ${d.calloc - d.cfree} device page(s) still allocated after the process exited`,
      );
    }
  }
  const device = proc.module.devices.flatMap((d) => checkDmirrorDevice(d));
  if (device.length > 0) throw new SelftestFailure(`model invariant: ${device.join('; ')}`);
  try {
    assertMachineInvariants(proc.machine);
    assertMigrateInvariants(proc.machine, { quiescent: true });
  } catch (error) {
    throw new SelftestFailure(
      `model invariant: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
