/* ed_slab.c — see ed_slab.h.
 *
 * Why pages per group and size classes rather than the bump chunks this
 * replaced: a bump allocator cannot give back the memory of one deleted key,
 * nor of one closed window whose entries are interleaved with everybody
 * else's. Here a window's entries live in its own pages (released together),
 * and a deleted key's cell is reused by the next entry of the same class in
 * the same group. Measured on the S6 key space (bench/README.md): the state
 * per key stays the size of the old layout (the class rounding costs what the
 * dropped per-entry window and aggregation fields saved).
 *
 * Page lists: the pages of one (group, class) form a circular doubly linked
 * list whose head is where cells are taken. Invariant: every page with room
 * comes before every full page. A head that fills up is rotated to the tail;
 * a full page that gets a cell back moves to the head; a page that empties
 * is released. So allocation and freeing are O(1).
 */
#include "actors/aggregate/ed_slab.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime/ed_common.h"

#define S_NREG 80u                 /* regular classes: 8 … 32768 bytes */
#define S_HUGE S_NREG              /* class of cells bigger than 32 KiB: a page each */
#define S_NCLS (S_NREG + 1u)       /* list heads per group */
#define S_CLS_MAX 32768u           /* largest regular cell */
#define S_PAGE_MIN 1024u           /* first page of a (group, class), bytes */
#define S_PAGE_MAX (256u * 1024u)  /* pages double up to this */
#define S_MMAP_MIN (64u * 1024u)   /* pages this big are mmap'd */
#define S_MAX_PAGES ((1u << (32 - ED_SLAB_CELL_BITS)) - 1u)
#define S_OS_PAGE 4096u

struct ed_slab_group {
    uint32_t *heads; /* [S_NCLS] first page of each class list, 0 = none; NULL = no pages */
    uint8_t *lg;     /* [S_NCLS] log2 of the cells of the class's next new page (in heads' block) */
};

/* Class of a cell of `bytes` (1 … S_CLS_MAX). */
static uint32_t s_cls(size_t bytes) {
    if (bytes <= 128)
        return (uint32_t)((bytes + 7) / 8) - 1u;
    uint32_t k = 63u - (uint32_t)__builtin_clzll((unsigned long long)(bytes - 1)); /* 2^k < b */
    uint32_t m = (uint32_t)((bytes - 1 - ((size_t)1 << k)) >> (k - 3)) + 1u;     /* 1 … 8 */
    return 16u + (k - 7u) * 8u + (m - 1u);
}

/* Bytes of a cell of regular class `c`. */
static uint32_t s_cls_size(uint32_t c) {
    if (c < 16)
        return (c + 1) * 8;
    uint32_t k = 7 + (c - 16) / 8, m = (c - 16) % 8 + 1;
    return (1u << k) + (m << (k - 3));
}

ed_slab_t *ed_slab_new(void) {
    ed_slab_t *s = ed_calloc(1, sizeof *s);
    s->pages_cap = 16;
    s->pages = ed_calloc(s->pages_cap, sizeof *s->pages);
    s->npages = 1; /* page 0 is reserved: ref 0 means "none" */
    return s;
}

static void *s_map(size_t bytes) {
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        ED_LOG_E("aggtable", "out of memory mapping %zu bytes of aggregation state; exiting",
                 bytes);
        abort();
    }
    return m;
}

void *ed_slab_zalloc(size_t bytes) {
    return bytes >= S_MMAP_MIN ? s_map(bytes) : ed_calloc(1, bytes ? bytes : 1);
}

void ed_slab_zfree(void *p, size_t bytes) {
    if (!p)
        return;
    if (bytes >= S_MMAP_MIN)
        munmap(p, bytes);
    else
        free(p);
}

static void s_page_unmap(ed_slab_page_t *p) {
    size_t bytes = (size_t)p->ncells * p->cell;
    if (p->mapped)
        munmap(p->mem, bytes);
    else
        free(p->mem);
    p->mem = NULL;
}

void ed_slab_destroy(ed_slab_t **s_p) {
    if (!s_p || !*s_p)
        return;
    ed_slab_t *s = *s_p;
    for (uint32_t i = 1; i < s->npages; i++)
        if (s->pages[i].mem)
            s_page_unmap(&s->pages[i]);
    for (uint32_t g = 0; g < s->groups_cap; g++)
        free(s->groups[g].heads);
    free(s->groups);
    free(s->pages);
    free(s);
    *s_p = NULL;
}

static struct ed_slab_group *s_group(ed_slab_t *s, uint32_t group) {
    if (group >= s->groups_cap) {
        uint32_t ncap = s->groups_cap ? s->groups_cap : 8;
        while (ncap <= group)
            ncap *= 2;
        s->groups = ed_realloc(s->groups, ncap * sizeof *s->groups);
        memset(s->groups + s->groups_cap, 0, (ncap - s->groups_cap) * sizeof *s->groups);
        s->groups_cap = ncap;
    }
    struct ed_slab_group *g = &s->groups[group];
    if (!g->heads) {
        g->heads = ed_calloc(1, S_NCLS * (sizeof *g->heads + sizeof *g->lg));
        g->lg = (uint8_t *)(g->heads + S_NCLS);
    }
    return g;
}

static int s_has_room(const ed_slab_page_t *p) {
    return p->free || p->used < p->ncells;
}

/* Unlinks page `pi` from its circular list whose head is *head. */
static void s_unlink(ed_slab_t *s, uint32_t *head, uint32_t pi) {
    ed_slab_page_t *p = &s->pages[pi];
    if (p->next == pi) {
        *head = 0;
    } else {
        s->pages[p->prev].next = p->next;
        s->pages[p->next].prev = p->prev;
        if (*head == pi)
            *head = p->next;
    }
    p->prev = p->next = 0;
}

/* Links page `pi` in front of *head and makes it the head. */
static void s_push_front(ed_slab_t *s, uint32_t *head, uint32_t pi) {
    ed_slab_page_t *p = &s->pages[pi];
    if (!*head) {
        p->prev = p->next = pi;
    } else {
        ed_slab_page_t *h = &s->pages[*head];
        p->next = *head;
        p->prev = h->prev;
        s->pages[h->prev].next = pi;
        h->prev = pi;
    }
    *head = pi;
}

/* A new page of `ncells` cells of `cell` bytes for (group, cls), at the head
 * of its list. */
static uint32_t s_page_new(ed_slab_t *s, uint32_t group, uint32_t *head, uint32_t cls,
                           uint32_t cell, uint32_t ncells) {
    uint32_t pi = s->unused;
    if (pi) {
        s->unused = s->pages[pi].next;
    } else {
        if (s->npages > S_MAX_PAGES) {
            ED_LOG_E("aggtable", "aggregation state exceeds %u pages; exiting", S_MAX_PAGES);
            abort();
        }
        if (s->npages == s->pages_cap) {
            s->pages_cap *= 2;
            s->pages = ed_realloc(s->pages, s->pages_cap * sizeof *s->pages);
        }
        pi = s->npages++;
    }
    ed_slab_page_t *p = &s->pages[pi];
    size_t bytes = (size_t)ncells * cell;
    memset(p, 0, sizeof *p);
    if (bytes >= S_MMAP_MIN) {
        p->mem = s_map(bytes);
        p->mapped = 1;
    } else {
        p->mem = ed_malloc(bytes);
    }
    p->cell = cell;
    p->ncells = ncells;
    p->group = group;
    p->cls = (uint16_t)cls;
    s->live_pages++;
    s_push_front(s, head, pi);
    return pi;
}

static void s_page_release(ed_slab_t *s, uint32_t pi) {
    ed_slab_page_t *p = &s->pages[pi];
    s_page_unmap(p);
    s->live_pages--;
    p->next = s->unused;
    s->unused = pi;
}

uint32_t ed_slab_alloc(ed_slab_t *s, uint32_t group, size_t bytes) {
    assert(bytes > 0);
    struct ed_slab_group *g = s_group(s, group);
    uint32_t *heads = g->heads;
    if (bytes > S_CLS_MAX) {
        if (bytes > UINT32_MAX - 8) {
            ED_LOG_E("aggtable", "an aggregation entry of %zu bytes is too large; exiting", bytes);
            abort();
        }
        uint32_t pi = s_page_new(s, group, &heads[S_HUGE], S_HUGE, (uint32_t)((bytes + 7) & ~7u), 1);
        s->pages[pi].used = s->pages[pi].live = 1;
        return pi << ED_SLAB_CELL_BITS;
    }
    uint32_t cls = s_cls(bytes);
    uint32_t *head = &heads[cls];
    uint32_t pi = *head;
    if (!pi || !s_has_room(&s->pages[pi])) {
        /* Pages of a class double from S_PAGE_MIN up to S_PAGE_MAX (never
         * shrinking: the head may be an old small page, and an untouched
         * mmap'd tail costs no memory). */
        uint32_t cell = s_cls_size(cls);
        if (!g->lg[cls])
            while ((cell << g->lg[cls]) < S_PAGE_MIN)
                g->lg[cls]++;
        uint32_t n = 1u << g->lg[cls];
        if ((uint64_t)cell * n * 2 <= S_PAGE_MAX && n * 2 <= ED_SLAB_CELL_MASK + 1)
            g->lg[cls]++;
        pi = s_page_new(s, group, head, cls, cell, n);
    }
    ed_slab_page_t *p = &s->pages[pi];
    uint32_t c;
    if (p->free) {
        c = p->free - 1;
        uint32_t w[2];
        memcpy(w, p->mem + (size_t)c * p->cell, sizeof w);
        p->free = w[1];
    } else {
        c = p->used++;
    }
    p->live++;
    if (!s_has_room(p))
        *head = p->next; /* full: the head rotates to the tail */
    return (pi << ED_SLAB_CELL_BITS) | c;
}

void ed_slab_free(ed_slab_t *s, uint32_t ref) {
    uint32_t pi = ref >> ED_SLAB_CELL_BITS, c = ref & ED_SLAB_CELL_MASK;
    ed_slab_page_t *p = &s->pages[pi];
    assert(pi && pi < s->npages && p->mem && c < p->used && p->live);
    uint32_t *head = &s->groups[p->group].heads[p->cls];
    int was_full = !s_has_room(p);
    if (--p->live == 0) {
        s_unlink(s, head, pi);
        s_page_release(s, pi);
        return;
    }
    uint32_t w[2] = {ED_SLAB_FREE, p->free};
    memcpy(p->mem + (size_t)c * p->cell, w, sizeof w);
    p->free = c + 1;
    if (was_full) {
        s_unlink(s, head, pi);
        s_push_front(s, head, pi);
    }
}

void ed_slab_release_group(ed_slab_t *s, uint32_t group) {
    if (group >= s->groups_cap || !s->groups[group].heads)
        return;
    uint32_t *heads = s->groups[group].heads;
    for (uint32_t c = 0; c < S_NCLS; c++) {
        uint32_t pi = heads[c];
        if (!pi)
            continue;
        s->pages[s->pages[pi].prev].next = 0; /* break the circle */
        while (pi) {
            uint32_t next = s->pages[pi].next;
            s_page_release(s, pi);
            pi = next;
        }
    }
    free(heads);
    s->groups[group].heads = NULL;
    s->groups[group].lg = NULL;
}

void ed_slab_group_each(const ed_slab_t *s, uint32_t group, ed_slab_cell_fn fn, void *ud) {
    if (group >= s->groups_cap || !s->groups[group].heads)
        return;
    const uint32_t *heads = s->groups[group].heads;
    for (uint32_t c = 0; c < S_NCLS; c++) {
        uint32_t first = heads[c], pi = first;
        if (!pi)
            continue;
        do {
            const ed_slab_page_t *p = &s->pages[pi];
            for (uint32_t i = 0; i < p->used; i++) {
                uint8_t *cell = p->mem + (size_t)i * p->cell;
                uint32_t w;
                memcpy(&w, cell, sizeof w);
                if (w != ED_SLAB_FREE)
                    fn(ud, (pi << ED_SLAB_CELL_BITS) | i, cell);
            }
            pi = p->next;
        } while (pi != first);
    }
}

size_t ed_slab_bytes(const ed_slab_t *s) {
    size_t b = sizeof *s + (size_t)s->pages_cap * sizeof *s->pages +
               (size_t)s->groups_cap * sizeof *s->groups;
    for (uint32_t g = 0; g < s->groups_cap; g++)
        if (s->groups[g].heads)
            b += S_NCLS * (sizeof(uint32_t) + 1);
    for (uint32_t i = 1; i < s->npages; i++) {
        const ed_slab_page_t *p = &s->pages[i];
        if (!p->mem)
            continue;
        if (p->mapped)
            b += ((size_t)p->used * p->cell + S_OS_PAGE - 1) / S_OS_PAGE * S_OS_PAGE;
        else
            b += (size_t)p->ncells * p->cell;
    }
    return b;
}
