import { KernelBugError } from '@hmmsim/kernel';
import { getPage, PG_reserved, putPage, unlockPage } from '@hmmsim/pagetable';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DevPagemap,
  getDevPagemap,
  isDevicePrivatePage,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_PCI_P2PDMA,
  MEMORY_DEVICE_PRIVATE,
  memremapPages,
  memunmapPages,
  migrateVmaCheckPage,
  pageZoneDeviceData,
  setPageZoneDeviceData,
} from '../src/index.ts';
import { checkAll, setup } from './helpers.ts';

afterEach(() => checkAll());

describe('memremap_pages and the 2019 refcount convention', () => {
  it('gives the range its own struct pages after RAM, idle at refcount 1, PG_reserved', () => {
    const { machine, dev } = setup({ devicePages: 8 });
    const pm = machine.phys;
    expect(dev.firstPfn).toBeGreaterThanOrEqual(pm.nrPages);
    expect(dev.firstPfn % 512).toBe(0);
    for (let p = dev.firstPfn; p < dev.firstPfn + 8; p++) {
      expect(pm.refcount[p]).toBe(1);
      expect((pm.flags[p] as number) & PG_reserved).toBe(PG_reserved);
      expect(isDevicePrivatePage(machine, p)).toBe(true);
      expect(getDevPagemap(machine, p)).toBe(dev.pgmap);
    }
    expect(machine.devPagemaps.get(dev.pgmap.id)).toBe(dev.pgmap);
    expect(isDevicePrivatePage(machine, 1)).toBe(false);
    expect(dev.pgmap.type).toBe(MEMORY_DEVICE_PRIVATE);
  });

  it('enum memory_type values are those of v5.4', () => {
    expect([MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_PCI_P2PDMA]).toEqual([
      1, 2, 4,
    ]);
  });

  it('page_free runs once per return of the refcount to 1; below 1 is a bug', () => {
    const { machine, dev } = setup({ devicePages: 4 });
    const pm = machine.phys;
    const p = dev.allocPage(); // get_page + lock_page: refcount 2
    expect(pm.refcount[p]).toBe(2);
    getPage(pm, p);
    putPage(pm, p);
    expect(dev.pgmap.pageFreeCalls).toBe(0);
    unlockPage(pm, p); // the driver's unlock_page
    putPage(pm, p);
    expect(pm.refcount[p]).toBe(1);
    expect(dev.pgmap.pageFreeCalls).toBe(1);
    expect(dev.isFree(p)).toBe(true);
    expect(() => putPage(pm, p)).toThrow(KernelBugError);
    expect(dev.pgmap.pageFreeViolations).toEqual([]);
  });

  it('a driver that frees a page twice is caught', () => {
    const { dev } = setup({ devicePages: 2 });
    expect(() => dev.pageFree(dev.firstPfn)).toThrow(/double free/);
  });

  it('refuses DEVICE_PRIVATE without migrate_to_ram or page_free, and type 0', () => {
    const { machine } = setup();
    expect(() =>
      memremapPages(machine, new DevPagemap(MEMORY_DEVICE_PRIVATE, 4, { pageFree: () => {} })),
    ).toThrow(/migrate_to_ram/);
    expect(() =>
      memremapPages(
        machine,
        new DevPagemap(MEMORY_DEVICE_PRIVATE, 4, { migrateToRam: async () => 0 }),
      ),
    ).toThrow(/page_free/);
    expect(() => memremapPages(machine, new DevPagemap(0, 4, {}))).toThrow(/Invalid pgmap type/);
  });

  it('other ZONE_DEVICE types register, are not device-private and never pass the pin test', () => {
    const { machine } = setup();
    const p2p = new DevPagemap(MEMORY_DEVICE_PCI_P2PDMA, 4, {});
    const first = memremapPages(machine, p2p);
    expect(first).toBeGreaterThan(0);
    expect(isDevicePrivatePage(machine, first)).toBe(false);
    expect(migrateVmaCheckPage(machine, first)).toBe(false);
    memunmapPages(p2p);
    expect(getDevPagemap(machine, first)).toBeNull();
  });

  it('zone_device_data is per page', () => {
    const { machine, dev } = setup({ devicePages: 2 });
    setPageZoneDeviceData(machine, dev.firstPfn + 1, 'chunk A');
    expect(pageZoneDeviceData(machine, dev.firstPfn + 1)).toBe('chunk A');
    expect(pageZoneDeviceData(machine, dev.firstPfn)).toBeUndefined();
    expect(() => setPageZoneDeviceData(machine, 3, 'x')).toThrow(KernelBugError);
  });

  it('memunmap_pages of a pgmap with a busy page would wait forever: KernelBugError', () => {
    const { dev } = setup({ devicePages: 2 });
    const p = dev.allocPage();
    expect(() => memunmapPages(dev.pgmap)).toThrow(/wait/);
    unlockPage(dev.machine.phys, p);
    putPage(dev.machine.phys, p);
  });
});
