/* ed_aggtable.c — see ed_aggtable.h.
 *
 * Memory layout, chosen for a low cost per key (a word count holds millions):
 *
 *   slots   power-of-two array of {ref, tag}: 8 bytes each. `ref` locates the
 *           entry (0 = empty slot); `tag` is the low 32 bits of the key hash,
 *           which gives both the home slot (tag & mask) and a cheap filter
 *           before comparing keys. Resizing rehashes from the tags alone,
 *           without touching the entries. The low bits are used because the
 *           partitioner uses the high 32 bits: within one aggregator actor
 *           the high bits are skewed, the low ones are not.
 *   entries variable-size records in chunks: a 28-byte header, the window
 *           (16 bytes, only for windowed entries), the per-compute doubles,
 *           then the key bytes; 4-byte aligned. A count-only entry with a
 *           10-byte key is 40 bytes. Chunks grow from 4 KiB to 1 MiB and are
 *           never moved, so no realloc doubles the peak memory. A ref is
 *           (chunk index << 18 | offset in 4-byte units).
 *
 * Per compute, the doubles kept in an entry:
 *   count     none: value = n, delta = n - n_flushed, prev = n_flushed
 *   sum, avg  [total, prev emitted value, sum since last flush]
 *   min, max  [current, prev emitted value]
 * The since-last-flush sum is accumulated on its own (rather than computed
 * as total - total at last flush) so a delta is exactly the sum of its
 * inputs, and `prev` is exactly what was emitted, so alert crossings never
 * flicker from rounding.
 */
#include "actors/aggregate/ed_aggtable.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

#define S_OFF_BITS 18u                         /* offset bits in a ref */
#define S_OFF_MASK ((1u << S_OFF_BITS) - 1u)   /* offset part of a ref */
#define S_UNIT 4u                              /* bytes per offset unit */
#define S_CHUNK_MIN (4096u)                    /* first chunk, bytes */
#define S_CHUNK_MAX (S_UNIT << S_OFF_BITS)     /* largest regular chunk: 1 MiB */
#define S_MAX_CHUNKS (1u << (32 - S_OFF_BITS)) /* so all refs fit 32 bits: 16 GiB of entries */
/* Dirty-list terminator. Never a valid ref: regular chunks are 2^18 units and
 * an entry is ≥ 7 units, so no entry starts at the last unit; oversized
 * entries sit at offset 0 of a chunk of their own. */
#define S_END UINT32_MAX
#define S_WINDOWED 1u /* entry flag: window start/end follow the header */

/* Entry header. Packed to 4-byte alignment: 28 bytes, not 32. */
typedef struct __attribute__((packed, aligned(4))) {
    uint32_t next;     /* dirty list: 0 = clean, S_END = last dirty, else next dirty ref */
    uint32_t key_len;  /* bytes of key, stored after the doubles */
    uint16_t agg;      /* aggregation index */
    uint16_t flags;    /* S_WINDOWED */
    int64_t n;         /* records so far */
    int64_t n_flushed; /* n at the last flush */
} s_entry_t;

typedef struct {
    uint32_t ref; /* entry ref; 0 = empty */
    uint32_t tag; /* low 32 bits of the key hash */
} s_slot_t;

typedef struct {
    int ncompute;
    ed_aggfn_t *fns; /* ncompute, owned */
    int *off;        /* per compute: index of its first double (unused for count) */
    int ndoubles;    /* doubles per entry */
} s_spec_t;

struct ed_aggtable {
    s_spec_t *specs; /* nspecs, owned */
    int nspecs;
    s_slot_t *slots; /* mask + 1 */
    uint32_t mask;
    size_t count; /* entries */
    uint8_t **chunks;
    uint32_t nchunks;
    uint32_t chunks_cap;
    uint32_t cur;        /* chunk new entries go into */
    uint32_t cur_used;   /* units used in chunks[cur] */
    uint32_t cur_units;  /* units in chunks[cur] */
    uint32_t last_size;  /* bytes of the most recent regular chunk */
    size_t chunk_bytes;  /* sum of chunk sizes */
    uint32_t dirty_head; /* first dirty ref, 0 = none */
    double *buf;         /* flush scratch: delta, value, prev for the widest spec */
    int maxc;
};

static inline s_entry_t *s_entry(const ed_aggtable_t *t, uint32_t ref) {
    return (s_entry_t *)(void *)(t->chunks[ref >> S_OFF_BITS] +
                                 (size_t)(ref & S_OFF_MASK) * S_UNIT);
}

static inline uint8_t *s_after_hdr(s_entry_t *e) {
    return (uint8_t *)(e + 1);
}

static inline uint8_t *s_doubles(s_entry_t *e) {
    return s_after_hdr(e) + ((e->flags & S_WINDOWED) ? 16 : 0);
}

static inline uint8_t *s_key(s_entry_t *e, const s_spec_t *sp) {
    return s_doubles(e) + (size_t)sp->ndoubles * sizeof(double);
}

/* Doubles in an entry may be only 4-byte aligned: go through memcpy, which
 * compiles to plain loads and stores. */
static inline double s_getd(const uint8_t *d, int i) {
    double v;
    memcpy(&v, d + (size_t)i * sizeof v, sizeof v);
    return v;
}
static inline void s_setd(uint8_t *d, int i, double v) {
    memcpy(d + (size_t)i * sizeof v, &v, sizeof v);
}

ed_aggtable_t *ed_aggtable_new(const ed_aggspec_t *specs, int nspecs) {
    assert(nspecs >= 0 && nspecs <= UINT16_MAX + 1);
    ed_aggtable_t *t = ed_calloc(1, sizeof *t);
    t->nspecs = nspecs;
    t->specs = ed_calloc((size_t)(nspecs ? nspecs : 1), sizeof *t->specs);
    for (int a = 0; a < nspecs; a++) {
        s_spec_t *sp = &t->specs[a];
        int nc = specs[a].ncompute;
        assert(nc >= 0 && nc <= UINT16_MAX);
        sp->ncompute = nc;
        sp->fns = ed_malloc((size_t)(nc ? nc : 1) * sizeof *sp->fns);
        sp->off = ed_malloc((size_t)(nc ? nc : 1) * sizeof *sp->off);
        for (int c = 0; c < nc; c++) {
            ed_aggfn_t fn = specs[a].fns[c];
            sp->fns[c] = fn;
            sp->off[c] = sp->ndoubles;
            switch (fn) {
            case ED_AGG_COUNT:
                break;
            case ED_AGG_SUM:
            case ED_AGG_AVG:
                sp->ndoubles += 3;
                break;
            case ED_AGG_MIN:
            case ED_AGG_MAX:
                sp->ndoubles += 2;
                break;
            default:
                assert(!"unknown aggregate function");
            }
        }
        if (nc > t->maxc)
            t->maxc = nc;
    }
    t->mask = 15;
    t->slots = ed_calloc(t->mask + 1, sizeof *t->slots);
    t->buf = ed_malloc((size_t)(t->maxc ? t->maxc : 1) * 3 * sizeof(double));
    return t;
}

void ed_aggtable_destroy(ed_aggtable_t **t_p) {
    if (!t_p || !*t_p)
        return;
    ed_aggtable_t *t = *t_p;
    for (int a = 0; a < t->nspecs; a++) {
        free(t->specs[a].fns);
        free(t->specs[a].off);
    }
    free(t->specs);
    for (uint32_t i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    free(t->slots);
    free(t->buf);
    free(t);
    *t_p = NULL;
}

static uint32_t s_add_chunk(ed_aggtable_t *t, size_t bytes) {
    if (t->nchunks == S_MAX_CHUNKS) {
        ED_LOG_E("aggtable", "aggregation state exceeds %u chunks (16 GiB); exiting", S_MAX_CHUNKS);
        abort();
    }
    if (t->nchunks == t->chunks_cap) {
        t->chunks_cap = t->chunks_cap ? t->chunks_cap * 2 : 8;
        t->chunks = ed_realloc(t->chunks, t->chunks_cap * sizeof *t->chunks);
    }
    t->chunks[t->nchunks] = ed_malloc(bytes);
    t->chunk_bytes += bytes;
    return t->nchunks++;
}

/* Reserves `units` units for a new entry and returns its ref. */
static uint32_t s_alloc(ed_aggtable_t *t, uint32_t units) {
    if (t->nchunks == 0) {
        /* Chunk 0 starts at unit 1 so that ref 0 can mean "none". */
        t->last_size = S_CHUNK_MIN;
        t->cur = s_add_chunk(t, S_CHUNK_MIN);
        t->cur_units = S_CHUNK_MIN / S_UNIT;
        t->cur_used = 1;
    }
    if (t->cur_used + (uint64_t)units <= t->cur_units) {
        uint32_t ref = (t->cur << S_OFF_BITS) | t->cur_used;
        t->cur_used += units;
        return ref;
    }
    if ((uint64_t)units * S_UNIT > S_CHUNK_MAX) {
        /* Oversized (huge composite key): a chunk of its own, at offset 0. */
        return s_add_chunk(t, (size_t)units * S_UNIT) << S_OFF_BITS;
    }
    uint32_t size = t->last_size < S_CHUNK_MAX ? t->last_size * 2 : S_CHUNK_MAX;
    while ((uint64_t)size < (uint64_t)units * S_UNIT)
        size *= 2;
    t->last_size = size;
    t->cur = s_add_chunk(t, size);
    t->cur_units = size / S_UNIT;
    t->cur_used = units;
    return t->cur << S_OFF_BITS;
}

/* Doubles the slot array; entries stay where they are. */
static void s_grow(ed_aggtable_t *t) {
    uint32_t ocap = t->mask + 1;
    if (ocap > UINT32_MAX / 2) {
        ED_LOG_E("aggtable", "aggregation state exceeds 2^31 slots; exiting");
        abort();
    }
    uint32_t ncap = ocap * 2, nmask = ncap - 1;
    s_slot_t *ns = ed_calloc(ncap, sizeof *ns);
    for (uint32_t i = 0; i < ocap; i++) {
        s_slot_t s = t->slots[i];
        if (!s.ref)
            continue;
        uint32_t j = s.tag & nmask;
        while (ns[j].ref)
            j = (j + 1) & nmask;
        ns[j] = s;
    }
    free(t->slots);
    t->slots = ns;
    t->mask = nmask;
}

void ed_aggtable_apply(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                       int64_t window_end_ms, const uint8_t *key, uint32_t key_len, uint64_t hash,
                       const double *vals) {
    assert(agg < t->nspecs);
    const s_spec_t *sp = &t->specs[agg];
    uint16_t flags = (window_start_ms || window_end_ms) ? S_WINDOWED : 0;
    uint32_t tag = (uint32_t)hash;

    if ((t->count + 1) * 4 > ((size_t)t->mask + 1) * 3)
        s_grow(t);

    uint32_t i = tag & t->mask;
    s_entry_t *e;
    uint32_t ref;
    for (;;) {
        s_slot_t *sl = &t->slots[i];
        ref = sl->ref;
        if (!ref)
            break;
        if (sl->tag == tag) {
            e = s_entry(t, ref);
            if (e->agg == agg && e->key_len == key_len && e->flags == flags) {
                int same = 1;
                if (flags & S_WINDOWED) {
                    int64_t w[2];
                    memcpy(w, s_after_hdr(e), sizeof w);
                    same = w[0] == window_start_ms && w[1] == window_end_ms;
                }
                if (same && memcmp(s_key(e, sp), key, key_len) == 0)
                    goto found;
            }
        }
        i = (i + 1) & t->mask;
    }

    /* New entry. */
    {
        size_t bytes = sizeof(s_entry_t) + ((flags & S_WINDOWED) ? 16 : 0) +
                       (size_t)sp->ndoubles * sizeof(double) + key_len;
        ref = s_alloc(t, (uint32_t)((bytes + S_UNIT - 1) / S_UNIT));
        e = s_entry(t, ref);
        e->next = 0;
        e->key_len = key_len;
        e->agg = agg;
        e->flags = flags;
        e->n = 0;
        e->n_flushed = 0;
        if (flags & S_WINDOWED) {
            int64_t w[2] = {window_start_ms, window_end_ms};
            memcpy(s_after_hdr(e), w, sizeof w);
        }
        memset(s_doubles(e), 0, (size_t)sp->ndoubles * sizeof(double));
        if (key_len)
            memcpy(s_key(e, sp), key, key_len);
        t->slots[i].ref = ref;
        t->slots[i].tag = tag;
        t->count++;
    }

found:;
    int64_t n0 = e->n;
    e->n = n0 + 1;
    uint8_t *d = s_doubles(e);
    for (int c = 0; c < sp->ncompute; c++) {
        int o = sp->off[c];
        switch (sp->fns[c]) {
        case ED_AGG_COUNT:
            break;
        case ED_AGG_SUM:
        case ED_AGG_AVG:
            s_setd(d, o, s_getd(d, o) + vals[c]);
            s_setd(d, o + 2, s_getd(d, o + 2) + vals[c]);
            break;
        case ED_AGG_MIN:
            if (n0 == 0 || vals[c] < s_getd(d, o))
                s_setd(d, o, vals[c]);
            break;
        case ED_AGG_MAX:
            if (n0 == 0 || vals[c] > s_getd(d, o))
                s_setd(d, o, vals[c]);
            break;
        }
    }
    if (!e->next) {
        e->next = t->dirty_head ? t->dirty_head : S_END;
        t->dirty_head = ref;
    }
}

size_t ed_aggtable_flush(ed_aggtable_t *t, ed_aggtable_emit_fn emit, void *ud) {
    size_t rows = 0;
    uint32_t ref = t->dirty_head;
    t->dirty_head = 0;
    while (ref && ref != S_END) {
        s_entry_t *e = s_entry(t, ref);
        const s_spec_t *sp = &t->specs[e->agg];
        int nc = sp->ncompute;
        double *delta = t->buf, *value = t->buf + nc, *prev = t->buf + 2 * nc;
        uint8_t *d = s_doubles(e);

        ed_change_t hdr = {
            .agg = e->agg,
            .nvals = (uint16_t)nc,
            .key_len = e->key_len,
            .n = e->n,
            .delta_n = e->n - e->n_flushed,
        };
        if (e->flags & S_WINDOWED) {
            int64_t w[2];
            memcpy(w, s_after_hdr(e), sizeof w);
            hdr.window_start_ms = w[0];
            hdr.window_end_ms = w[1];
        }
        for (int c = 0; c < nc; c++) {
            int o = sp->off[c];
            switch (sp->fns[c]) {
            case ED_AGG_COUNT:
                delta[c] = (double)(e->n - e->n_flushed);
                value[c] = (double)e->n;
                prev[c] = (double)e->n_flushed;
                break;
            case ED_AGG_SUM:
                delta[c] = s_getd(d, o + 2);
                value[c] = s_getd(d, o);
                prev[c] = s_getd(d, o + 1);
                break;
            case ED_AGG_AVG:
                delta[c] = s_getd(d, o + 2);
                value[c] = e->n ? s_getd(d, o) / (double)e->n : 0.0;
                prev[c] = s_getd(d, o + 1);
                break;
            case ED_AGG_MIN:
            case ED_AGG_MAX:
                delta[c] = value[c] = s_getd(d, o);
                prev[c] = s_getd(d, o + 1);
                break;
            }
        }

        emit(ud, &hdr, delta, value, prev, s_key(e, sp));

        /* Mark clean: what was just emitted becomes "previous". */
        uint32_t next = e->next;
        e->next = 0;
        e->n_flushed = e->n;
        for (int c = 0; c < nc; c++) {
            int o = sp->off[c];
            if (sp->fns[c] == ED_AGG_COUNT)
                continue;
            s_setd(d, o + 1, value[c]);
            if (sp->fns[c] == ED_AGG_SUM || sp->fns[c] == ED_AGG_AVG)
                s_setd(d, o + 2, 0.0);
        }
        ref = next;
        rows++;
    }
    return rows;
}

size_t ed_aggtable_count(const ed_aggtable_t *t) {
    return t->count;
}

size_t ed_aggtable_bytes(const ed_aggtable_t *t) {
    size_t b = sizeof *t + ((size_t)t->mask + 1) * sizeof(s_slot_t) + t->chunk_bytes +
               (size_t)t->chunks_cap * sizeof *t->chunks +
               (size_t)(t->maxc ? t->maxc : 1) * 3 * sizeof(double);
    for (int a = 0; a < t->nspecs; a++)
        b += sizeof(s_spec_t) + (size_t)t->specs[a].ncompute * (sizeof(ed_aggfn_t) + sizeof(int));
    return b;
}

int ed_cmp(ed_cmp_op_t op, double a, double b) {
    switch (op) {
    case ED_OP_GE:
        return a >= b;
    case ED_OP_GT:
        return a > b;
    case ED_OP_LE:
        return a <= b;
    case ED_OP_LT:
        return a < b;
    case ED_OP_EQ:
        return a == b;
    }
    return 0;
}

int ed_rule_crossed(ed_cmp_op_t op, double threshold, int has_prev, double prev, double now) {
    return ed_cmp(op, now, threshold) && !(has_prev && ed_cmp(op, prev, threshold));
}
