/*
 * ed_slab.h — the memory of an aggregation table: fixed-size cells in pages,
 * by size class, each page owned by one *group* (in the table: one
 * aggregation's cumulative state, or one window of it).
 *
 * - A cell is named by a 32-bit ref: page index << ED_SLAB_CELL_BITS | cell
 *   index. Ref 0 is never handed out (page 0 is reserved), so 0 can mean
 *   "none". Cells never move.
 * - Sizes are rounded up to a class: multiples of 8 bytes up to 128, then 8
 *   classes per power of two (at most 12.5 % lost), up to 32 KiB; bigger
 *   cells get a page of their own. Cells are 8-byte aligned.
 * - A freed cell goes on its page's free list and is reused first; a page
 *   whose last cell is freed is released at once (munmap / free), so memory
 *   goes back to the system as the state shrinks.
 * - All pages of a group are released in one call (a closed window), without
 *   touching other groups.
 * - Pages of a (group, class) start at 1 KiB and double up to 256 KiB;
 *   pages of 64 KiB and more are mmap'd, so their untouched tail costs no
 *   RSS and releasing them returns memory to the kernel whatever malloc's
 *   thresholds are.
 *
 * Contract with the user: the first 4 bytes of a live cell (read as
 * uint32_t) are never ED_SLAB_FREE; the slab uses that word to mark free
 * cells. Threads: one slab per table, one thread.
 */
#ifndef ED_SLAB_H
#define ED_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define ED_SLAB_CELL_BITS 14u                            /* cell index bits in a ref */
#define ED_SLAB_CELL_MASK ((1u << ED_SLAB_CELL_BITS) - 1u) /* cell part of a ref */
#define ED_SLAB_FREE UINT32_MAX                          /* first word of a free cell */

/* A page. Public only so that ed_slab_ptr can be inlined; read-only outside
 * ed_slab.c. */
typedef struct {
    uint8_t *mem;     /* ncells * cell bytes; NULL: descriptor unused */
    uint32_t cell;    /* bytes per cell */
    uint32_t ncells;  /* cells in the page */
    uint32_t used;    /* cells handed out so far by bumping (the rest untouched) */
    uint32_t live;    /* cells in use */
    uint32_t free;    /* first free cell + 1; 0 = none */
    uint32_t group;   /* owning group */
    uint32_t prev;    /* circular list of the group's pages of this class */
    uint32_t next;    /* idem; for an unused descriptor: the next unused one */
    uint16_t cls;     /* size class */
    uint16_t mapped;  /* 1: mmap'd, 0: malloc'd */
} ed_slab_page_t;

typedef struct ed_slab ed_slab_t;

struct ed_slab {
    ed_slab_page_t *pages; /* [npages]; [0] reserved */
    uint32_t npages;       /* descriptors in use or recycled */
    uint32_t pages_cap;
    uint32_t unused;       /* first recycled descriptor, 0 = none */
    struct ed_slab_group *groups; /* [groups_cap], by group id */
    uint32_t groups_cap;
    size_t live_pages;     /* pages holding memory */
};

/* Creates an empty slab. Owned; never NULL (OOM aborts). */
ed_slab_t *ed_slab_new(void);

/* Releases every page and NULLs *s_p. NULL-safe. */
void ed_slab_destroy(ed_slab_t **s_p);

/* Returns a ref to a cell of at least `bytes` bytes (> 0) for `group`
 * (any id; ids are small integers chosen by the caller). The cell's content
 * is undefined. Aborts with a log line if the page limit (2^18 pages) is
 * reached or memory runs out. */
uint32_t ed_slab_alloc(ed_slab_t *s, uint32_t group, size_t bytes);

/* Frees the cell `ref`; its page is released if it was the last live cell. */
void ed_slab_free(ed_slab_t *s, uint32_t ref);

/* Releases every page of `group` (every cell of it becomes invalid). */
void ed_slab_release_group(ed_slab_t *s, uint32_t group);

/* Calls fn for every live cell of `group`. fn must not allocate or free
 * cells of that group. */
typedef void (*ed_slab_cell_fn)(void *ud, uint32_t ref, void *cell);
void ed_slab_group_each(const ed_slab_t *s, uint32_t group, ed_slab_cell_fn fn, void *ud);

/* Resident bytes of the pages (cells handed out, rounded up to 4 KiB for
 * mmap'd pages; whole malloc'd pages) plus descriptors. */
size_t ed_slab_bytes(const ed_slab_t *s);

/* Zeroed memory of `bytes` for the table's large arrays (slots, the dirty
 * vector): mmap'd from 64 KiB on, so that ed_slab_zfree gives it back to the
 * kernel (malloc keeps big freed blocks once its threshold has risen);
 * calloc below. Never NULL (OOM aborts). Free with ed_slab_zfree and the
 * same size. */
void *ed_slab_zalloc(size_t bytes);
void ed_slab_zfree(void *p, size_t bytes);

/* The cell of `ref` (a live ref). */
static inline void *ed_slab_ptr(const ed_slab_t *s, uint32_t ref) {
    const ed_slab_page_t *p = &s->pages[ref >> ED_SLAB_CELL_BITS];
    return p->mem + (size_t)(ref & ED_SLAB_CELL_MASK) * p->cell;
}

/* The group owning the cell of `ref` (a live ref). */
static inline uint32_t ed_slab_group(const ed_slab_t *s, uint32_t ref) {
    return s->pages[ref >> ED_SLAB_CELL_BITS].group;
}

#endif
