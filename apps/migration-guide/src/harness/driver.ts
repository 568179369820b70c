/**
 * What every driver of the guide exposes to the harness: the device page table the invariant
 * reads, and the three things a process does with the device (open it, make the device access
 * the mirrored range, close it). The v5.4 drivers, each intermediate step of the port and every
 * pitfall implement it, so one scenario builder checks them all.
 */
import type { DevicePageTable } from '@hmmsim/hmm-mirror';

/** A guide driver bound to one process and one mirrored range. */
export interface GuideDriver {
  /** The simulated device's page table over the mirrored range (what the invariant checks). */
  readonly dev: DevicePageTable;
  /** Per-process setup (mirror registration, notifier insertion, …): 0 or a negative errno. */
  bind(): Promise<number>;
  /**
   * The device accesses the whole mirrored range (a GPU fault for the SVM driver, a buffer
   * validation + command submission for the userptr driver): 0 when the device was programmed,
   * else a negative errno.
   */
  fault(write: boolean): Promise<number>;
  /** Per-process teardown. */
  unbind(): Promise<void>;
}
