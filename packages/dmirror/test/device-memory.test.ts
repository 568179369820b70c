import { PAGE_SIZE } from '@hmmsim/kernel';
import { getDevPagemap, isDevicePrivatePage, MEMORY_DEVICE_PRIVATE } from '@hmmsim/migrate';
import { munmap } from '@hmmsim/mm';
import { PG_locked, pageCount } from '@hmmsim/pagetable';
import { describe, expect, it } from 'vitest';
import {
  chunkPageData,
  DEVMEM_CHUNK_PAGES,
  DEVMEM_CHUNK_SIZE,
  DEVMEM_CHUNKS_RESERVE,
  type DmirrorChunk,
  dmirrorDevmemAllocPage,
  dmirrorDevmemFree,
  dmirrorIoctl,
  dmirrorPageToChunk,
  freeListLength,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  NO_PAGE,
} from '../src/index.ts';
import { anon, cmd, open, words, world, write } from './helpers.ts';

describe('device-private memory: chunks and the free list', () => {
  it('the module creates devices 0 and 1, each with one 256 MiB chunk on its free list', () => {
    const w = world();
    expect(w.module.devices.map((d) => d.name)).toEqual(['hmm_dmirror0', 'hmm_dmirror1']);
    for (const d of w.module.devices) {
      expect(d.devmemCount).toBe(1);
      expect(d.devmemCapacity).toBe(DEVMEM_CHUNKS_RESERVE);
      const chunk = d.devmemChunks[0] as DmirrorChunk;
      expect(chunk.type).toBe(MEMORY_DEVICE_PRIVATE);
      expect(chunk.nrPages * PAGE_SIZE).toBe(DEVMEM_CHUNK_SIZE);
      expect(freeListLength(d)).toBe(DEVMEM_CHUNK_PAGES);
      expect([d.calloc, d.cfree]).toEqual([0, 0]);
      // LIFO: the last page pushed is the head.
      expect(d.freePages).toBe(chunk.firstPfn + DEVMEM_CHUNK_PAGES - 1);
    }
  });

  it('alloc pops the head with a fresh backing page, referenced and locked; page_free pushes it back', () => {
    const w = world();
    const d = w.module.devices[0]!;
    const pm = w.machine.phys;
    const head = d.freePages;
    const dpage = dmirrorDevmemAllocPage(d);
    expect(dpage).toBe(head);
    expect(isDevicePrivatePage(w.machine, dpage)).toBe(true);
    expect(pageCount(pm, dpage)).toBe(2);
    expect((pm.flags[dpage] as number) & PG_locked).not.toBe(0);
    const chunk = dmirrorPageToChunk(w.machine, dpage)!;
    const rpage = chunkPageData(chunk, dpage);
    expect(rpage).toBeLessThan(pm.nrPages); // a system page
    expect(pageCount(pm, rpage)).toBe(1);
    expect(d.calloc).toBe(1);
    // page_free (as the core calls it when the page goes idle): backing page freed, page on top.
    dmirrorDevmemFree(w.machine, dpage);
    expect(pageCount(pm, rpage)).toBe(0);
    expect(d.freePages).toBe(dpage);
    expect(d.cfree).toBe(1);
  });

  it('an empty free list allocates a new chunk and takes its first page', () => {
    const w = world();
    const d = w.module.devices[1]!;
    d.freePages = NO_PAGE; // pretend all 65,536 pages are in use
    const dpage = dmirrorDevmemAllocPage(d);
    expect(d.devmemCount).toBe(2);
    expect(d.devmemCapacity).toBe(DEVMEM_CHUNKS_RESERVE);
    const second = d.devmemChunks[1]!;
    expect(getDevPagemap(w.machine, dpage)).toBe(second);
    expect(dpage).toBe(second.firstPfn + DEVMEM_CHUNK_PAGES - 1);
    expect(freeListLength(d)).toBe(DEVMEM_CHUNK_PAGES - 1);
  });

  it('migrated pages come back to the free list when the process unmaps them', async () => {
    const w = world();
    const d = w.module.devices[0]!;
    const f = await open(w, 'interval');
    const ptr = await anon(w.mm, 8);
    const mirror = await anon(w.mm, 8);
    await write(w.mm, ptr, words(8));
    expect(await dmirrorIoctl(f, HMM_DMIRROR_MIGRATE_TO_DEV, cmd(ptr, mirror, 8))).toBe(0);
    expect([d.calloc, d.cfree]).toEqual([8, 0]);
    expect(d.backingMirror.size).toBe(8);
    expect(await munmap(w.mm, ptr, 8 * PAGE_SIZE)).toBe(0);
    expect([d.calloc, d.cfree]).toEqual([8, 8]);
    expect(d.backingMirror.size).toBe(0);
    expect(freeListLength(d)).toBe(DEVMEM_CHUNK_PAGES);
  });
});
