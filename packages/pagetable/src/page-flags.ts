/**
 * Page flags: masks stored in `PhysMem.flags[pfn]`. Each PG_x is `1 << n` where n is the bit
 * number of enum pageflags in include/linux/page-flags.h (v5.4); PG_tail and PG_anon are model
 * flags (the kernel encodes them in page->compound_head and page->mapping).
 */

/** Page is locked (I/O, migration, split). Mirrors include/linux/page-flags.h:PG_locked. */
export const PG_locked = 1 << 0;
/** Recently referenced. Mirrors include/linux/page-flags.h:PG_referenced. */
export const PG_referenced = 1 << 1;
/** Contents are valid. Mirrors include/linux/page-flags.h:PG_uptodate. */
export const PG_uptodate = 1 << 2;
/** Contents differ from backing store. Mirrors include/linux/page-flags.h:PG_dirty. */
export const PG_dirty = 1 << 3;
/** On an LRU list. Mirrors include/linux/page-flags.h:PG_lru. */
export const PG_lru = 1 << 4;
/** On the active LRU list. Mirrors include/linux/page-flags.h:PG_active. */
export const PG_active = 1 << 5;
/** Someone waits for PG_locked/PG_writeback to clear. Mirrors include/linux/page-flags.h:PG_waiters. */
export const PG_waiters = 1 << 7;
/** In the swap cache (PG_owner_priv_1 of swap-backed pages). Mirrors include/linux/page-flags.h:PG_swapcache. */
export const PG_swapcache = 1 << 10;
/** Never freed to the allocator (zero page, ZONE_DEVICE pages). Mirrors include/linux/page-flags.h:PG_reserved. */
export const PG_reserved = 1 << 12;
/** Under writeback. Mirrors include/linux/page-flags.h:PG_writeback. */
export const PG_writeback = 1 << 15;
/** Head of a compound (THP) page; `order[pfn]` holds its order. Mirrors include/linux/page-flags.h:PG_head. */
export const PG_head = 1 << 16;
/** Backed by swap (anonymous/shmem). Mirrors include/linux/page-flags.h:PG_swapbacked. */
export const PG_swapbacked = 1 << 19;
/** Tail of a compound page; its head is the 2 MiB aligned pfn below (model of compound_head bit 0). */
export const PG_tail = 1 << 24;
/** `mapping` is an anon_vma id (model of PAGE_MAPPING_ANON in page->mapping). */
export const PG_anon = 1 << 25;

/** Flags that make freeing a page a bug (locked, under writeback, still in swap cache). Mirrors include/linux/page-flags.h:PAGE_FLAGS_CHECK_AT_FREE (subset). */
export const PAGE_FLAGS_CHECK_AT_FREE = PG_locked | PG_writeback | PG_swapcache;
