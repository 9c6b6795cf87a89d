/* ed_aggtable.c — see ed_aggtable.h.
 *
 * Memory layout, chosen for a low cost per key (a word count holds millions)
 * and so that state can be given back:
 *
 *   slots   power-of-two array of {ref, tag}: 8 bytes each. `ref` is the
 *           entry's cell in the slab (0 = empty slot); `tag` is the low 32
 *           bits of the key hash mixed with the entry's group (0 for the
 *           first aggregation's cumulative state, so that common case costs
 *           nothing), which gives both the home slot (tag & mask) and a cheap
 *           filter before comparing keys. Resizing rehashes from the tags
 *           alone, without touching the entries. The low bits are used
 *           because the partitioner uses the high 32 bits: within one
 *           aggregator actor the high bits are skewed, the low ones are not.
 *           Mixing in the group keeps one key's windows (and aggregations)
 *           off the same home slot, where they would lengthen probe chains.
 *   groups  an entry belongs to a group: aggregation a's cumulative state is
 *           group a; each window (aggregation, start, end) that holds
 *           entries is a group of its own, found through a small map. The
 *           group, not the entry, knows the aggregation and the window: an
 *           entry no longer stores them (16 bytes less per windowed entry).
 *   entries a cell in the slab (ed_slab.h) of the entry's group: a 24-byte
 *           header, the per-compute state (doubles), then the key bytes. A
 *           count-only entry with a 10-byte key is a 40-byte cell. Cells
 *           never move; a deleted entry's cell is reused, and a window's
 *           pages are released together when it is evicted.
 *   dirty   a vector of the refs changed since the last flush; each entry
 *           knows its index there, so deleting a changed entry is O(1).
 *
 * Deletion is backward-shift deletion (linear probing keeps no tombstones,
 * so lookups never slow down as keys come and go), and the slot array
 * shrinks by rehashing when the load falls below 3/16.
 *
 * What each compute keeps and emits is its row of the function table
 * (ed_aggfn.h); the table only lays the state blocks out and calls them.
 */
#define _GNU_SOURCE /* qsort_r */
#include "actors/aggregate/ed_aggtable.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/aggregate/ed_slab.h"
#include "actors/decode/ed_hash.h"
#include "runtime/ed_common.h"

#define S_MIN_SLOTS 16u
#define S_NONE UINT32_MAX /* no group */

/* Entry header; the compute state and the key follow. */
typedef struct {
    uint32_t key_len;  /* bytes of key, stored after the state; never ED_SLAB_FREE */
    uint32_t dirty;    /* 0 = clean, else 1 + index in the dirty vector */
    int64_t n;         /* records so far */
    int64_t n_flushed; /* n at the last flush */
} s_entry_t;

typedef struct {
    uint32_t ref; /* entry ref; 0 = empty */
    uint32_t tag; /* low 32 bits of the key hash ^ s_gmix(group) */
} s_slot_t;

/* A compute with something to do per record. */
typedef struct {
    void (*apply)(void *st, int64_t n_before, double v, int64_t ts_ms);
    uint32_t off; /* of its state, from the start of the entry's state */
    int idx;      /* its input in vals[] */
} s_apply_t;

typedef struct {
    int ncompute;
    const ed_aggfn_t **fns; /* ncompute, owned array of borrowed rows */
    uint32_t *off;          /* per compute: offset of its state block */
    s_apply_t *ap;          /* the computes with an apply, in order */
    int nap;
    size_t koff; /* offset of the key in an entry */
    int on_close; /* flushes do not emit its entries (ed_aggtable_close_ended does) */
    int owns;     /* its state blocks own memory (ed_aggfn_owns): released with the entry */
} s_spec_t;

typedef struct {
    int64_t ws, we; /* window; both 0 for cumulative state */
    size_t live;    /* entries */
    uint32_t next;  /* free list of group ids (id + 1); 0 = end */
    uint16_t agg;
    uint8_t in_use;
    uint8_t windowed;
} s_group_t;

struct ed_aggtable {
    s_spec_t *specs; /* nspecs, owned */
    int nspecs;
    s_slot_t *slots; /* mask + 1 */
    uint32_t mask;
    size_t count; /* entries */
    ed_slab_t *slab;
    uint32_t *dirty; /* refs changed since the last flush */
    size_t ndirty, dirty_cap;
    s_group_t *groups; /* [0, nspecs): cumulative; then windows */
    uint32_t ngroups, groups_cap;
    uint32_t free_groups; /* first recycled group id + 1; 0 = none */
    uint32_t *gmap;       /* windows: group id + 1, 0 = empty; gmap_mask + 1 */
    uint32_t gmap_mask;
    uint32_t nwindows;
    uint32_t last_g; /* the window group found last (S_NONE: none) */
    double *buf;     /* flush scratch: delta, value, prev for the widest spec */
    int maxc;
};

static inline uint32_t s_gmix(uint32_t g) {
    return g * 0x9E3779B1u;
}

static inline s_entry_t *s_ent(const ed_aggtable_t *t, uint32_t ref) {
    return ed_slab_ptr(t->slab, ref);
}

static inline uint8_t *s_state(s_entry_t *e) {
    return (uint8_t *)(e + 1);
}

static inline uint8_t *s_key(s_entry_t *e, const s_spec_t *sp) {
    return (uint8_t *)e + sp->koff;
}

ed_aggtable_t *ed_aggtable_new(const ed_aggspec_t *specs, int nspecs) {
    assert(nspecs >= 0 && nspecs <= UINT16_MAX + 1);
    ed_aggtable_t *t = ed_calloc(1, sizeof *t);
    t->nspecs = nspecs;
    t->specs = ed_calloc((size_t)(nspecs ? nspecs : 1), sizeof *t->specs);
    for (int a = 0; a < nspecs; a++) {
        s_spec_t *sp = &t->specs[a];
        int nc = specs[a].ncompute;
        size_t bytes = 0;
        assert(nc >= 0 && nc <= UINT16_MAX);
        sp->ncompute = nc;
        sp->fns = ed_malloc((size_t)(nc ? nc : 1) * sizeof *sp->fns);
        sp->off = ed_malloc((size_t)(nc ? nc : 1) * sizeof *sp->off);
        sp->ap = ed_malloc((size_t)(nc ? nc : 1) * sizeof *sp->ap);
        for (int c = 0; c < nc; c++) {
            const ed_aggfn_t *fn = specs[a].fns[c];
            assert(fn && fn->state_size % 8 == 0);
            sp->fns[c] = fn;
            sp->off[c] = (uint32_t)bytes;
            if (fn->apply)
                sp->ap[sp->nap++] = (s_apply_t){fn->apply, (uint32_t)bytes, c};
            bytes += fn->state_size;
        }
        sp->koff = sizeof(s_entry_t) + bytes;
        sp->owns = ed_aggfn_owns(sp->fns, nc);
        if (nc > t->maxc)
            t->maxc = nc;
    }
    t->mask = S_MIN_SLOTS - 1;
    t->slots = ed_slab_zalloc((t->mask + 1) * sizeof *t->slots);
    t->slab = ed_slab_new();
    t->groups_cap = (uint32_t)nspecs + 8;
    t->groups = ed_calloc(t->groups_cap, sizeof *t->groups);
    for (int a = 0; a < nspecs; a++)
        t->groups[a] = (s_group_t){.agg = (uint16_t)a, .in_use = 1};
    t->ngroups = (uint32_t)nspecs;
    t->last_g = S_NONE;
    t->buf = ed_malloc((size_t)(t->maxc ? t->maxc : 1) * 3 * sizeof(double));
    return t;
}

void ed_aggtable_set_on_close(ed_aggtable_t *t, uint16_t agg) {
    assert(agg < t->nspecs);
    t->specs[agg].on_close = 1;
}

/* Releases what the state of entry `cell` owns (approx_distinct's sketch). */
static void s_release_cell(void *ud, uint32_t ref, void *cell) {
    const ed_aggtable_t *t = ud;
    const s_spec_t *sp = &t->specs[t->groups[ed_slab_group(t->slab, ref)].agg];
    ed_aggfn_release(sp->fns, sp->ncompute, s_state(cell));
}

void ed_aggtable_destroy(ed_aggtable_t **t_p) {
    if (!t_p || !*t_p)
        return;
    ed_aggtable_t *t = *t_p;
    for (uint32_t g = 0; g < t->ngroups; g++)
        if (t->groups[g].in_use && t->specs[t->groups[g].agg].owns)
            ed_slab_group_each(t->slab, g, s_release_cell, t);
    for (int a = 0; a < t->nspecs; a++) {
        free(t->specs[a].fns);
        free(t->specs[a].off);
        free(t->specs[a].ap);
    }
    free(t->specs);
    ed_slab_destroy(&t->slab);
    ed_slab_zfree(t->slots, ((size_t)t->mask + 1) * sizeof *t->slots);
    ed_slab_zfree(t->dirty, t->dirty_cap * sizeof *t->dirty);
    free(t->groups);
    free(t->gmap);
    free(t->buf);
    free(t);
    *t_p = NULL;
}

/* ---- slots ---- */

/* Rebuilds the slot array with `ncap` slots (a power of two, > count),
 * leaving out the entries of group `drop` (S_NONE: none). */
static void s_rehash(ed_aggtable_t *t, uint32_t ncap, uint32_t drop) {
    uint32_t ocap = t->mask + 1, nmask = ncap - 1;
    s_slot_t *ns = ed_slab_zalloc((size_t)ncap * sizeof *ns);
    for (uint32_t i = 0; i < ocap; i++) {
        s_slot_t s = t->slots[i];
        if (!s.ref || (drop != S_NONE && ed_slab_group(t->slab, s.ref) == drop))
            continue;
        uint32_t j = s.tag & nmask;
        while (ns[j].ref)
            j = (j + 1) & nmask;
        ns[j] = s;
    }
    ed_slab_zfree(t->slots, (size_t)ocap * sizeof *t->slots);
    t->slots = ns;
    t->mask = nmask;
}

/* Slots for `count` entries at a load of at most 3/8. */
static uint32_t s_cap_for(size_t count) {
    uint64_t cap = S_MIN_SLOTS;
    while (cap * 3 < (uint64_t)count * 8)
        cap *= 2;
    if (cap > (1ull << 31)) {
        ED_LOG_E("aggtable", "aggregation state exceeds 2^31 slots; exiting");
        abort();
    }
    return (uint32_t)cap;
}

/* Moves the dirty vector to room for `cap` refs (>= ndirty). */
static void s_dirty_resize(ed_aggtable_t *t, size_t cap) {
    uint32_t *nd = ed_slab_zalloc(cap * sizeof *nd);
    if (t->ndirty)
        memcpy(nd, t->dirty, t->ndirty * sizeof *nd);
    ed_slab_zfree(t->dirty, t->dirty_cap * sizeof *t->dirty);
    t->dirty = nd;
    t->dirty_cap = cap;
}

/* Gives back slots and dirty-vector room the table no longer needs. */
static void s_maybe_shrink(ed_aggtable_t *t) {
    if (t->mask + 1 > S_MIN_SLOTS && t->count * 16 < ((size_t)t->mask + 1) * 3)
        s_rehash(t, s_cap_for(t->count), S_NONE);
    if (t->dirty_cap > 4096 && t->ndirty * 4 < t->dirty_cap) {
        size_t cap = t->dirty_cap;
        while (cap > 4096 && t->ndirty * 4 < cap)
            cap /= 2;
        s_dirty_resize(t, cap);
    }
}

/* Empties slot i by backward-shift deletion: later slots of the same probe
 * run move back, so no tombstone is left. */
static void s_slot_remove(ed_aggtable_t *t, uint32_t i) {
    uint32_t mask = t->mask, j = i;
    for (;;) {
        j = (j + 1) & mask;
        s_slot_t s = t->slots[j];
        if (!s.ref)
            break;
        /* s may fill the hole at i if i lies between its home and j. */
        if (((j - (s.tag & mask)) & mask) >= ((j - i) & mask)) {
            t->slots[i] = s;
            i = j;
        }
    }
    t->slots[i] = (s_slot_t){0, 0};
}

/* Looks (g, key) up. Returns the entry's ref and its slot in *pos, or 0 and
 * the empty slot where it would go. */
static inline uint32_t s_lookup(const ed_aggtable_t *t, uint32_t g, const s_spec_t *sp,
                                uint32_t tag, const uint8_t *key, uint32_t key_len,
                                uint32_t *pos) {
    uint32_t i = tag & t->mask;
    for (;;) {
        const s_slot_t *sl = &t->slots[i];
        uint32_t ref = sl->ref;
        if (!ref)
            break;
        if (sl->tag == tag) {
            const ed_slab_page_t *p = &t->slab->pages[ref >> ED_SLAB_CELL_BITS];
            if (p->group == g) {
                s_entry_t *e = (s_entry_t *)(void *)(p->mem + (size_t)(ref & ED_SLAB_CELL_MASK) *
                                                                  p->cell);
                if (e->key_len == key_len && memcmp(s_key(e, sp), key, key_len) == 0) {
                    *pos = i;
                    return ref;
                }
            }
        }
        i = (i + 1) & t->mask;
    }
    *pos = i;
    return 0;
}

/* Finds the slot of the live entry `ref` (its tag recomputed from its key). */
static uint32_t s_slot_of(const ed_aggtable_t *t, uint32_t ref) {
    uint32_t g = ed_slab_group(t->slab, ref);
    s_entry_t *e = s_ent(t, ref);
    const s_spec_t *sp = &t->specs[t->groups[g].agg];
    uint32_t tag = (uint32_t)ed_hash64(s_key(e, sp), e->key_len) ^ s_gmix(g);
    uint32_t i = tag & t->mask;
    while (t->slots[i].ref != ref) {
        assert(t->slots[i].ref); /* the hash given to apply was not ed_hash64 of the key */
        i = (i + 1) & t->mask;
    }
    return i;
}

/* ---- dirty vector ---- */

static void s_mark_dirty(ed_aggtable_t *t, s_entry_t *e, uint32_t ref) {
    if (t->ndirty == t->dirty_cap)
        s_dirty_resize(t, t->dirty_cap ? t->dirty_cap * 2 : 256);
    t->dirty[t->ndirty++] = ref;
    e->dirty = (uint32_t)t->ndirty;
}

/* Takes a changed entry off the dirty vector (its change is dropped). */
static void s_unmark_dirty(ed_aggtable_t *t, s_entry_t *e) {
    size_t i = e->dirty - 1, last = --t->ndirty;
    if (i != last) {
        uint32_t moved = t->dirty[last];
        t->dirty[i] = moved;
        s_ent(t, moved)->dirty = (uint32_t)i + 1;
    }
    e->dirty = 0;
}

/* ---- groups ---- */

static uint64_t s_window_hash(uint16_t agg, int64_t ws, int64_t we) {
    uint64_t w[3] = {agg, (uint64_t)ws, (uint64_t)we};
    return ed_hash64(w, sizeof w);
}

static void s_gmap_rebuild(ed_aggtable_t *t) {
    uint32_t cap = 16;
    while (cap < t->nwindows * 2u)
        cap *= 2;
    free(t->gmap);
    t->gmap = ed_calloc(cap, sizeof *t->gmap);
    t->gmap_mask = cap - 1;
    for (uint32_t g = (uint32_t)t->nspecs; g < t->ngroups; g++) {
        const s_group_t *gr = &t->groups[g];
        if (!gr->in_use)
            continue;
        uint32_t i = (uint32_t)s_window_hash(gr->agg, gr->ws, gr->we) & t->gmap_mask;
        while (t->gmap[i])
            i = (i + 1) & t->gmap_mask;
        t->gmap[i] = g + 1;
    }
}

/* The group of window (agg, ws, we); created if `create`, else S_NONE when
 * the window holds no entries. */
static uint32_t s_window_group(ed_aggtable_t *t, uint16_t agg, int64_t ws, int64_t we,
                               int create) {
    if (t->last_g != S_NONE) {
        const s_group_t *gr = &t->groups[t->last_g];
        if (gr->agg == agg && gr->ws == ws && gr->we == we)
            return t->last_g;
    }
    uint32_t i = 0;
    if (t->gmap) {
        i = (uint32_t)s_window_hash(agg, ws, we) & t->gmap_mask;
        for (uint32_t id; (id = t->gmap[i]); i = (i + 1) & t->gmap_mask) {
            const s_group_t *gr = &t->groups[id - 1];
            if (gr->agg == agg && gr->ws == ws && gr->we == we)
                return t->last_g = id - 1;
        }
    }
    if (!create)
        return S_NONE;
    uint32_t g;
    if (t->free_groups) {
        g = t->free_groups - 1;
        t->free_groups = t->groups[g].next;
    } else {
        if (t->ngroups == t->groups_cap) {
            t->groups_cap *= 2;
            t->groups = ed_realloc(t->groups, t->groups_cap * sizeof *t->groups);
        }
        g = t->ngroups++;
    }
    t->groups[g] = (s_group_t){.ws = ws, .we = we, .agg = agg, .in_use = 1, .windowed = 1};
    t->nwindows++;
    if (!t->gmap || t->nwindows * 2u > t->gmap_mask + 1) {
        s_gmap_rebuild(t);
    } else {
        t->gmap[i] = g + 1;
    }
    return t->last_g = g;
}

/* The group of (agg, window): the aggregation's cumulative group when the
 * window is (0, 0), else as s_window_group. */
static inline uint32_t s_group_of(ed_aggtable_t *t, uint16_t agg, int64_t ws, int64_t we,
                                  int create) {
    return (ws || we) ? s_window_group(t, agg, ws, we, create) : agg;
}

/* Forgets window group g (it holds no entries any more). */
static void s_window_drop(ed_aggtable_t *t, uint32_t g) {
    assert(t->groups[g].windowed && t->groups[g].live == 0);
    ed_slab_release_group(t->slab, g);
    t->groups[g].in_use = 0;
    t->groups[g].next = t->free_groups;
    t->free_groups = g + 1;
    t->nwindows--;
    if (t->last_g == g)
        t->last_g = S_NONE;
    s_gmap_rebuild(t);
}

/* ---- apply ---- */

static void s_grow(ed_aggtable_t *t) {
    uint32_t ocap = t->mask + 1;
    if (ocap > UINT32_MAX / 2) {
        ED_LOG_E("aggtable", "aggregation state exceeds 2^31 slots; exiting");
        abort();
    }
    s_rehash(t, ocap * 2, S_NONE);
}

void ed_aggtable_apply(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                       int64_t window_end_ms, const uint8_t *key, uint32_t key_len, uint64_t hash,
                       const double *vals, int64_t ts_ms) {
    assert(agg < t->nspecs);
    assert(key_len != ED_SLAB_FREE);
    const s_spec_t *sp = &t->specs[agg];
    uint32_t g = s_group_of(t, agg, window_start_ms, window_end_ms, 1);
    uint32_t tag = (uint32_t)hash ^ s_gmix(g);

    if ((t->count + 1) * 4 > ((size_t)t->mask + 1) * 3)
        s_grow(t);

    uint32_t pos;
    uint32_t ref = s_lookup(t, g, sp, tag, key, key_len, &pos);
    s_entry_t *e;
    if (ref) {
        e = s_ent(t, ref);
    } else {
        ref = ed_slab_alloc(t->slab, g, sp->koff + key_len);
        e = s_ent(t, ref);
        e->key_len = key_len;
        e->dirty = 0;
        e->n = 0;
        e->n_flushed = 0;
        memset(s_state(e), 0, sp->koff - sizeof *e);
        if (key_len)
            memcpy(s_key(e, sp), key, key_len);
        t->slots[pos] = (s_slot_t){ref, tag};
        t->count++;
        t->groups[g].live++;
    }

    int64_t n0 = e->n;
    e->n = n0 + 1;
    uint8_t *st = s_state(e);
    for (int i = 0; i < sp->nap; i++) {
        const s_apply_t *ap = &sp->ap[i];
        ap->apply(st + ap->off, n0, vals[ap->idx], ts_ms);
    }
    if (!e->dirty)
        s_mark_dirty(t, e, ref);
}

/* ---- flush ---- */

/* Fills hdr, delta, value and prev for entry e of group gr (spec sp). */
static inline void s_row(s_entry_t *e, const s_group_t *gr, const s_spec_t *sp, ed_change_t *hdr,
                         double *delta, double *value, double *prev) {
    int nc = sp->ncompute;
    const uint8_t *st = s_state(e);
    *hdr = (ed_change_t){
        .agg = gr->agg,
        .nvals = (uint16_t)nc,
        .key_len = e->key_len,
        .window_start_ms = gr->ws,
        .window_end_ms = gr->we,
        .n = e->n,
        .delta_n = e->n - e->n_flushed,
    };
    for (int c = 0; c < nc; c++)
        sp->fns[c]->emit(st + sp->off[c], e->n, e->n_flushed, &delta[c], &value[c], &prev[c]);
}

size_t ed_aggtable_flush(ed_aggtable_t *t, ed_aggtable_emit_fn emit, void *ud) {
    size_t rows = t->ndirty, emitted = 0;
    for (size_t i = 0; i < rows; i++) {
        uint32_t ref = t->dirty[i];
        const ed_slab_page_t *p = &t->slab->pages[ref >> ED_SLAB_CELL_BITS];
        s_entry_t *e = (s_entry_t *)(void *)(p->mem + (size_t)(ref & ED_SLAB_CELL_MASK) * p->cell);
        const s_group_t *gr = &t->groups[p->group];
        const s_spec_t *sp = &t->specs[gr->agg];
        if (sp->on_close) { /* emitted whole when its window closes */
            e->dirty = 0;
            continue;
        }
        emitted++;
        int nc = sp->ncompute;
        double *delta = t->buf, *value = t->buf + nc, *prev = t->buf + 2 * nc;
        ed_change_t hdr;
        s_row(e, gr, sp, &hdr, delta, value, prev);

        emit(ud, &hdr, delta, value, prev, s_key(e, sp));

        /* Mark clean: what was just emitted becomes "previous". */
        e->dirty = 0;
        e->n_flushed = e->n;
        uint8_t *st = s_state(e);
        for (int c = 0; c < nc; c++)
            if (sp->fns[c]->flushed)
                sp->fns[c]->flushed(st + sp->off[c], value[c]);
    }
    t->ndirty = 0;
    /* A burst of changes (the first flush of many keys) need not keep its
     * vector for ever: halve it on every flush that used less than a
     * quarter. */
    if (t->dirty_cap > 4096 && rows * 4 < t->dirty_cap)
        s_dirty_resize(t, t->dirty_cap / 2);
    return emitted;
}

/* ---- deleting ---- */

/* Removes the entry in slot `pos`. Does not release an emptied window. */
static void s_remove_at(ed_aggtable_t *t, uint32_t pos) {
    uint32_t ref = t->slots[pos].ref;
    s_entry_t *e = s_ent(t, ref);
    uint32_t g = ed_slab_group(t->slab, ref);
    if (e->dirty)
        s_unmark_dirty(t, e);
    if (t->specs[t->groups[g].agg].owns)
        s_release_cell(t, ref, e);
    t->groups[g].live--;
    s_slot_remove(t, pos);
    ed_slab_free(t->slab, ref);
    t->count--;
}

int ed_aggtable_delete(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                       int64_t window_end_ms, const uint8_t *key, uint32_t key_len, uint64_t hash) {
    assert(agg < t->nspecs);
    uint32_t g = s_group_of(t, agg, window_start_ms, window_end_ms, 0);
    if (g == S_NONE)
        return 0;
    uint32_t pos;
    if (!s_lookup(t, g, &t->specs[agg], (uint32_t)hash ^ s_gmix(g), key, key_len, &pos))
        return 0;
    s_remove_at(t, pos);
    if (t->groups[g].windowed && t->groups[g].live == 0)
        s_window_drop(t, g);
    s_maybe_shrink(t);
    return 1;
}

static void s_evict_cell(void *ud, uint32_t ref, void *cell) {
    ed_aggtable_t *t = ud;
    s_entry_t *e = cell;
    if (e->dirty)
        s_unmark_dirty(t, e);
    s_slot_remove(t, s_slot_of(t, ref));
}

/* Removes every entry of window group g and releases it. */
static size_t s_evict_group(ed_aggtable_t *t, uint32_t g) {
    size_t n = t->groups[g].live;
    if (t->specs[t->groups[g].agg].owns)
        ed_slab_group_each(t->slab, g, s_release_cell, t);
    if (n * 2 >= t->count) {
        /* Most of the table: one pass over the slots beats a probe per entry. */
        size_t k = 0;
        for (size_t i = 0; i < t->ndirty; i++) {
            uint32_t ref = t->dirty[i];
            if (ed_slab_group(t->slab, ref) == g)
                continue;
            t->dirty[k++] = ref;
            s_ent(t, ref)->dirty = (uint32_t)k;
        }
        t->ndirty = k;
        s_rehash(t, s_cap_for(t->count - n), g);
    } else {
        ed_slab_group_each(t->slab, g, s_evict_cell, t);
    }
    t->count -= n;
    t->groups[g].live = 0;
    s_window_drop(t, g);
    s_maybe_shrink(t);
    return n;
}

size_t ed_aggtable_evict_window(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                                int64_t window_end_ms) {
    assert(agg < t->nspecs && (window_start_ms || window_end_ms));
    uint32_t g = s_window_group(t, agg, window_start_ms, window_end_ms, 0);
    return g == S_NONE ? 0 : s_evict_group(t, g);
}

size_t ed_aggtable_evict_ended(ed_aggtable_t *t, uint16_t agg, int64_t end_ms) {
    size_t n = 0;
    for (uint32_t g = (uint32_t)t->nspecs; g < t->ngroups; g++) {
        const s_group_t *gr = &t->groups[g];
        if (gr->in_use && gr->agg == agg && gr->we <= end_ms)
            n += s_evict_group(t, g);
    }
    return n;
}

/* ---- visiting a window ---- */

typedef struct {
    ed_aggtable_t *t;
    ed_aggtable_emit_fn emit;
    void *ud;
    size_t n;
} s_each_t;

static void s_each_cell(void *ud, uint32_t ref, void *cell) {
    s_each_t *x = ud;
    const ed_aggtable_t *t = x->t;
    const s_group_t *gr = &t->groups[ed_slab_group(t->slab, ref)];
    const s_spec_t *sp = &t->specs[gr->agg];
    int nc = sp->ncompute;
    double *delta = t->buf, *value = t->buf + nc, *prev = t->buf + 2 * nc;
    ed_change_t hdr;
    s_row(cell, gr, sp, &hdr, delta, value, prev);
    x->emit(x->ud, &hdr, delta, value, prev, s_key(cell, sp));
    x->n++;
}

size_t ed_aggtable_window_each(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                               int64_t window_end_ms, ed_aggtable_emit_fn emit, void *ud) {
    assert(agg < t->nspecs);
    uint32_t g = s_group_of(t, agg, window_start_ms, window_end_ms, 0);
    if (g == S_NONE)
        return 0;
    s_each_t x = {t, emit, ud, 0};
    ed_slab_group_each(t->slab, g, s_each_cell, &x);
    return x.n;
}

/* ---- snapshots ---- */

typedef struct {
    const ed_aggtable_t *t;
    ed_aggtable_visit_fn visit;
    void *ud;
    size_t n;
} s_visit_t;

static void s_visit_cell(void *ud, uint32_t ref, void *cell) {
    s_visit_t *x = ud;
    const s_group_t *gr = &x->t->groups[ed_slab_group(x->t->slab, ref)];
    const s_spec_t *sp = &x->t->specs[gr->agg];
    s_entry_t *e = cell;
    ed_aggtable_entry_t out = {
        .agg = gr->agg,
        .window_start_ms = gr->ws,
        .window_end_ms = gr->we,
        .key = s_key(e, sp),
        .key_len = e->key_len,
        .n = e->n,
        .n_flushed = e->n_flushed,
        .state = s_state(e),
        .state_size = (uint32_t)(sp->koff - sizeof *e),
    };
    x->visit(x->ud, &out);
    x->n++;
}

size_t ed_aggtable_each(const ed_aggtable_t *t, ed_aggtable_visit_fn visit, void *ud) {
    s_visit_t x = {t, visit, ud, 0};
    for (uint32_t g = 0; g < t->ngroups; g++)
        if (t->groups[g].in_use && (!t->groups[g].windowed || t->groups[g].live))
            ed_slab_group_each(t->slab, g, s_visit_cell, &x);
    return x.n;
}

int ed_aggtable_spec(const ed_aggtable_t *t, uint16_t agg, ed_aggspec_t *out) {
    if (agg >= t->nspecs)
        return ED_EINVAL;
    *out = (ed_aggspec_t){t->specs[agg].ncompute, t->specs[agg].fns};
    return 0;
}

uint32_t ed_aggtable_state_size(const ed_aggtable_t *t, uint16_t agg) {
    if (agg >= t->nspecs)
        return UINT32_MAX;
    return (uint32_t)(t->specs[agg].koff - sizeof(s_entry_t));
}

void ed_aggtable_reserve(ed_aggtable_t *t, size_t n) {
    uint32_t cap = s_cap_for(t->count + n);
    if (cap > t->mask + 1)
        s_rehash(t, cap, S_NONE);
}

int ed_aggtable_put(ed_aggtable_t *t, const ed_aggtable_entry_t *in) {
    if (in->agg >= t->nspecs || in->key_len == ED_SLAB_FREE || in->n_flushed > in->n ||
        in->n_flushed < 0 || in->state_size != ed_aggtable_state_size(t, in->agg))
        return ED_EINVAL;
    const s_spec_t *sp = &t->specs[in->agg];
    uint32_t g = s_group_of(t, in->agg, in->window_start_ms, in->window_end_ms, 1);
    uint32_t tag = (uint32_t)ed_hash64(in->key, in->key_len) ^ s_gmix(g);
    if ((t->count + 1) * 4 > ((size_t)t->mask + 1) * 3)
        s_grow(t);
    uint32_t pos;
    if (s_lookup(t, g, sp, tag, in->key, in->key_len, &pos))
        return ED_EINVAL;
    uint32_t ref = ed_slab_alloc(t->slab, g, sp->koff + in->key_len);
    s_entry_t *e = s_ent(t, ref);
    e->key_len = in->key_len;
    e->dirty = 0;
    e->n = in->n;
    e->n_flushed = in->n_flushed;
    if (in->state_size)
        memcpy(s_state(e), in->state, in->state_size);
    if (in->key_len)
        memcpy(s_key(e, sp), in->key, in->key_len);
    t->slots[pos] = (s_slot_t){ref, tag};
    t->count++;
    t->groups[g].live++;
    if (e->n != e->n_flushed)
        s_mark_dirty(t, e, ref);
    return 0;
}

/* Orders window groups by (end, start). */
static int s_cmp_window(const void *a, const void *b, void *ud) {
    const s_group_t *groups = ud;
    const s_group_t *x = &groups[*(const uint32_t *)a], *y = &groups[*(const uint32_t *)b];
    if (x->we != y->we)
        return x->we < y->we ? -1 : 1;
    return (x->ws > y->ws) - (x->ws < y->ws);
}

size_t ed_aggtable_close_ended(ed_aggtable_t *t, uint16_t agg, int64_t end_ms,
                               ed_aggtable_emit_fn emit, void *ud) {
    uint32_t *ended = NULL, n = 0, cap = 0;
    for (uint32_t g = (uint32_t)t->nspecs; g < t->ngroups; g++) {
        const s_group_t *gr = &t->groups[g];
        if (!gr->in_use || gr->agg != agg || gr->we > end_ms)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ended = ed_realloc(ended, cap * sizeof *ended);
        }
        ended[n++] = g;
    }
    if (n > 1)
        qsort_r(ended, n, sizeof *ended, s_cmp_window, t->groups);
    size_t rows = 0;
    for (uint32_t i = 0; i < n; i++) {
        s_each_t x = {t, emit, ud, 0};
        ed_slab_group_each(t->slab, ended[i], s_each_cell, &x);
        rows += x.n;
        s_evict_group(t, ended[i]);
    }
    free(ended);
    return rows;
}

/* ---- sizes ---- */

size_t ed_aggtable_windows(const ed_aggtable_t *t, uint16_t agg) {
    size_t n = 0;
    for (uint32_t g = (uint32_t)t->nspecs; g < t->ngroups; g++)
        n += t->groups[g].in_use && t->groups[g].agg == agg;
    return n;
}

size_t ed_aggtable_count(const ed_aggtable_t *t) {
    return t->count;
}

size_t ed_aggtable_bytes(const ed_aggtable_t *t) {
    size_t b = sizeof *t + ((size_t)t->mask + 1) * sizeof(s_slot_t) + ed_slab_bytes(t->slab) +
               t->dirty_cap * sizeof *t->dirty + (size_t)t->groups_cap * sizeof *t->groups +
               (t->gmap ? ((size_t)t->gmap_mask + 1) * sizeof *t->gmap : 0) +
               (size_t)(t->maxc ? t->maxc : 1) * 3 * sizeof(double);
    for (int a = 0; a < t->nspecs; a++)
        b += sizeof(s_spec_t) + (size_t)t->specs[a].ncompute *
                                    (sizeof(ed_aggfn_t *) + sizeof(uint32_t) + sizeof(s_apply_t));
    return b;
}
