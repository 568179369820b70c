/**
 * @hmmsim/mm: mm_struct, VMAs, the CPU page-fault handler (zero page, COW, THP, swap-in, file
 * faults), mmap/munmap/mprotect/madvise/fork/exit, reclaim with a swap device, simple files with
 * a page cache, and the mmu-notifier invalidation hook points (the mm knows nothing of who listens).
 */
export * from './access.ts';
export * from './exit.ts';
export * from './filemap.ts';
export * from './fork.ts';
export * from './huge-memory.ts';
export * from './invariants.ts';
export * from './machine.ts';
export * from './madvise.ts';
export * from './memory.ts';
export * from './mm-struct.ts';
export * from './mmap.ts';
export * from './mmu-notifier-hooks.ts';
export * from './mprotect.ts';
export * from './munmap.ts';
export * from './rmap.ts';
export * from './swap.ts';
export * from './vma.ts';
export * from './vmscan.ts';
