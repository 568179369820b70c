/**
 * The invalidation a contention run issues: the CPU side moves one page of the address space to
 * another physical page — MADV_DONTNEED of the page (one real single-page invalidation through
 * the mm's notifier hooks; the page is freed), then CPU write faults on a fresh scratch page
 * (which takes the freed frame) and on the page itself (which gets a new one). The address space
 * stays fully populated, so every fault of the driver costs the same, and a device entry that
 * still holds the old frame is a stale mapping the oracle can see.
 */
import { downRead, PAGE_SIZE, upRead } from '@hmmsim/kernel';
import {
  FAULT_FLAG_WRITE,
  findVma,
  handleMmFault,
  MADV_DONTNEED,
  type MmStruct,
  madvise,
  VM_FAULT_ERROR,
} from '@hmmsim/mm';

/** A span of pages: first address and page count. */
export interface PageSpan {
  readonly start: number;
  readonly npages: number;
}

/** Moves pages of `space` to new frames, using `scratch` pages to hold the freed ones. */
export class PageMover {
  private cursor = 0;
  /** Pages moved so far (one single-page invalidation each). */
  moves = 0;

  constructor(
    private readonly mm: MmStruct,
    private readonly space: PageSpan,
    private readonly scratch: PageSpan,
  ) {}

  /** Move page `page` of the space: zap it (one invalidation) and fault it back at a new frame. */
  async move(page: number): Promise<void> {
    const addr = this.space.start + page * PAGE_SIZE;
    const ret = await madvise(this.mm, addr, PAGE_SIZE, MADV_DONTNEED);
    if (ret !== 0) throw new Error(`madvise(DONTNEED) at 0x${addr.toString(16)} returned ${ret}`);
    this.moves++;
    await this.writeFault(await this.nextScratch());
    await this.writeFault(addr);
  }

  /** The next unused scratch page (all are zapped and reused when they run out). */
  private async nextScratch(): Promise<number> {
    if (this.cursor === this.scratch.npages) {
      const len = this.scratch.npages * PAGE_SIZE;
      const ret = await madvise(this.mm, this.scratch.start, len, MADV_DONTNEED);
      if (ret !== 0) throw new Error(`madvise(DONTNEED) of the scratch area returned ${ret}`);
      this.cursor = 0;
    }
    return this.scratch.start + this.cursor++ * PAGE_SIZE;
  }

  /** A CPU write fault at `addr` under mmap_sem (read), as the fault handler takes it. */
  private async writeFault(addr: number): Promise<void> {
    await downRead(this.mm.mmapSem);
    try {
      const vma = findVma(this.mm, addr);
      if (vma === undefined) throw new Error(`no vma at 0x${addr.toString(16)}`);
      const ret = await handleMmFault(vma, addr, FAULT_FLAG_WRITE);
      if ((ret & VM_FAULT_ERROR) !== 0) {
        throw new Error(`write fault at 0x${addr.toString(16)} returned ${ret}`);
      }
    } finally {
      upRead(this.mm.mmapSem);
    }
  }
}
