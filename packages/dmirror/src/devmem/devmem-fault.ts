/**
 * The migrate_to_ram callback: a CPU access hit a device-private entry of a dmirror device page.
 * Find the mirror that migrated it (through the backing page), migrate that one page back to a
 * system page (erasing the mirror's table entry; the collect invalidation is this device's own
 * MMU_NOTIFY_MIGRATE, which its mirrors skip), and let the fault retry.
 *
 * Mirrors lib/test_hmm.c:dmirror_devmem_fault().
 */
import { accessReporting, KernelBugError, noteRead, PAGE_SIZE } from '@hmmsim/kernel';
import { devicePrivatePteAt, migrateVmaFinalize, migrateVmaPages } from '@hmmsim/migrate';
import { VM_FAULT_SIGBUS, type VmFault } from '@hmmsim/mm';
import { dmirrorMigrateVma, dmirrorMigrateVmaSetup } from '../migrate-args.ts';
import { chunkPageData, dmirrorPageToChunk } from './dmirror-chunk.ts';
import { devmemToSystemCopy } from './to-system-copy.ts';

/** The device page the fault is about: vmf.page, or the entry at the faulting address. */
function faultPage(vmf: VmFault): number {
  if (vmf.page >= 0) return vmf.page;
  return devicePrivatePteAt(vmf.vma.vmMm, vmf.address)?.pfn ?? -1;
}

/**
 * dev_pagemap_ops.migrate_to_ram: 0 (the page moved back, or someone else moved it first) or
 * VM_FAULT_SIGBUS when migrate_vma_setup fails. Runs with mmap_sem held by the fault path.
 * Mirrors lib/test_hmm.c:dmirror_devmem_fault().
 */
export async function dmirrorDevmemFault(vmf: VmFault): Promise<number> {
  const mm = vmf.vma.vmMm;
  const page = faultPage(vmf);
  const chunk = dmirrorPageToChunk(mm.machine, page);
  if (chunk === null) {
    throw new KernelBugError(`dmirror migrate_to_ram: pfn ${page} is not a dmirror device page`);
  }
  const mdevice = chunk.mdevice;
  const rpage = chunkPageData(chunk, page);
  if (accessReporting) noteRead(mdevice.backingMirror, rpage >= 0 ? rpage : undefined);
  const dmirror = mdevice.backingMirror.get(rpage) ?? null;
  const args = dmirrorMigrateVma(
    mdevice,
    vmf.vma,
    vmf.address,
    vmf.address + PAGE_SIZE,
    'device-private',
  );
  if ((await dmirrorMigrateVmaSetup(args)) !== 0) return VM_FAULT_SIGBUS;
  devmemToSystemCopy(args, mdevice, dmirror);
  await migrateVmaPages(args);
  await migrateVmaFinalize(args);
  return 0;
}
