/* ed_aggsession.c — see ed_aggsession.h.
 *
 * Layout: every (aggregation, key) is one s_key_t in the vector `keys`; an
 * open-addressing slot array (linear probing, power-of-two capacity, load
 * ≤ 1/2) maps (agg, key) to its index + 1. A key holds its sessions sorted
 * by time in three parallel arrays (bounds, counts, state blocks). Keys are
 * removed only by a close pass, which already walks every key of the
 * aggregation: it compacts the vector and rebuilds the slots once.
 *
 * Expired sessions leave the key's array before a record is placed: a
 * session with end + allowed_lateness ≤ the record's watermark is final
 * (the oracle's and Flink's rule), so a later record must not merge into it
 * even if the close pass of the next flush has not emitted it yet. Being
 * sorted and disjoint, the expired sessions are a prefix of the array; they
 * move to the `closing` list, with the sessions of too-late `late: update`
 * records, and the next close pass emits and frees that list (every entry's
 * end ≤ the horizon then, since watermarks never go back). So the list is
 * empty after each close pass, when snapshots are taken.
 */
#include "actors/aggregate/ed_aggsession.h"

#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_hash.h"
#include "runtime/ed_common.h"

typedef struct {
    uint8_t *key; /* owned */
    uint32_t key_len;
    uint16_t agg;
    uint64_t hash;
    int n, cap;               /* sessions */
    ed_window_bounds_t *b;    /* [cap] sorted, disjoint */
    int64_t *cnt;             /* [cap] records per session */
    uint8_t *st;              /* [cap * state_size] */
} s_key_t;

/* An expired session waiting for the close pass. */
typedef struct {
    uint8_t *key; /* owned */
    uint32_t key_len;
    uint16_t agg;
    ed_window_bounds_t b;
    int64_t n;
    uint8_t *st; /* owned, state_size bytes */
} s_closing_t;

typedef struct {
    int ncompute;
    const ed_aggfn_t **fns; /* owned array of borrowed rows */
    uint32_t *off;          /* [ncompute] byte offset of each compute's block */
    uint32_t state_size;
    int owns;         /* its state blocks own memory (ed_aggfn_owns): released when dropped */
    int64_t min_end;  /* ≤ the earliest end of its open sessions (INT64_MAX: none) */
    size_t sessions;  /* open sessions, the closing ones included */
    size_t nclosing;  /* of them in the closing list */
} s_agg_t;

struct ed_aggsession {
    s_agg_t *aggs;
    int naggs;
    s_key_t *keys;
    size_t nkeys, capkeys;
    uint32_t *slots; /* index + 1 into keys, 0 = empty */
    size_t nslots;   /* power of two, or 0 */
    s_closing_t *closing; /* expired sessions not emitted yet, every aggregation's */
    size_t nclosing, capclosing;
    double *vals; /* [3 · most computes]: delta, value and prev of one row */
    int maxc;
};

static uint64_t s_hash(uint16_t agg, uint64_t hash) {
    uint64_t h = hash ^ ((uint64_t)agg + 1) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

ed_aggsession_t *ed_aggsession_new(const ed_aggspec_t *specs, int nspecs) {
    ed_aggsession_t *s = ed_calloc(1, sizeof *s);
    s->naggs = nspecs;
    s->aggs = ed_calloc((size_t)nspecs + 1, sizeof *s->aggs);
    int maxc = 1;
    for (int a = 0; a < nspecs; a++) {
        s_agg_t *ag = &s->aggs[a];
        ag->ncompute = specs[a].ncompute;
        ag->fns = ed_calloc((size_t)ag->ncompute + 1, sizeof *ag->fns);
        ag->off = ed_calloc((size_t)ag->ncompute + 1, sizeof *ag->off);
        for (int c = 0; c < ag->ncompute; c++) {
            ag->fns[c] = specs[a].fns[c];
            ag->off[c] = ag->state_size;
            ag->state_size += ag->fns[c]->state_size;
        }
        ag->owns = ed_aggfn_owns(ag->fns, ag->ncompute);
        ag->min_end = INT64_MAX;
        if (ag->ncompute > maxc)
            maxc = ag->ncompute;
    }
    s->vals = ed_calloc(3 * (size_t)maxc, sizeof *s->vals);
    s->maxc = maxc;
    return s;
}

/* Releases what session state st of aggregation ag owns (a sketch). */
static void s_release(const s_agg_t *ag, uint8_t *st) {
    if (ag->owns)
        ed_aggfn_release(ag->fns, ag->ncompute, st);
}

/* Frees key k and its sessions (states of aggregation ag). */
static void s_key_free(const s_agg_t *ag, s_key_t *k) {
    for (int i = 0; i < k->n; i++)
        s_release(ag, k->st + (size_t)i * ag->state_size);
    free(k->key);
    free(k->b);
    free(k->cnt);
    free(k->st);
}

void ed_aggsession_destroy(ed_aggsession_t **s_p) {
    ed_aggsession_t *s = *s_p;
    if (!s)
        return;
    for (size_t i = 0; i < s->nkeys; i++)
        s_key_free(&s->aggs[s->keys[i].agg], &s->keys[i]);
    for (size_t i = 0; i < s->nclosing; i++) {
        s_release(&s->aggs[s->closing[i].agg], s->closing[i].st);
        free(s->closing[i].key);
        free(s->closing[i].st);
    }
    free(s->closing);
    for (int a = 0; a < s->naggs; a++) {
        free(s->aggs[a].fns);
        free(s->aggs[a].off);
    }
    free(s->aggs);
    free(s->keys);
    free(s->slots);
    free(s->vals);
    free(s);
    *s_p = NULL;
}

/* Rebuilds the slot array for the keys held (capacity ≥ 2 · keys). */
static void s_rehash(ed_aggsession_t *s) {
    size_t want = 16;
    while (want < 2 * (s->nkeys + 1))
        want *= 2;
    if (want != s->nslots) {
        free(s->slots);
        s->slots = ed_calloc(want, sizeof *s->slots);
        s->nslots = want;
    } else {
        memset(s->slots, 0, want * sizeof *s->slots);
    }
    for (size_t i = 0; i < s->nkeys; i++) {
        size_t j = s_hash(s->keys[i].agg, s->keys[i].hash) & (s->nslots - 1);
        while (s->slots[j])
            j = (j + 1) & (s->nslots - 1);
        s->slots[j] = (uint32_t)(i + 1);
    }
}

/* The key (agg, key), created empty when `create` and missing; NULL when
 * missing and not `create`. */
static s_key_t *s_find(ed_aggsession_t *s, uint16_t agg, const uint8_t *key, uint32_t key_len,
                       uint64_t hash, int create) {
    if (s->nslots) {
        size_t j = s_hash(agg, hash) & (s->nslots - 1);
        for (; s->slots[j]; j = (j + 1) & (s->nslots - 1)) {
            s_key_t *k = &s->keys[s->slots[j] - 1];
            if (k->agg == agg && k->hash == hash && k->key_len == key_len &&
                !memcmp(k->key, key, key_len))
                return k;
        }
    }
    if (!create)
        return NULL;
    if (s->nkeys == s->capkeys) {
        s->capkeys = s->capkeys ? s->capkeys * 2 : 16;
        s->keys = ed_realloc(s->keys, s->capkeys * sizeof *s->keys);
    }
    s_key_t *k = &s->keys[s->nkeys++];
    *k = (s_key_t){.key = ed_malloc(key_len + 1), .key_len = key_len, .agg = agg, .hash = hash};
    memcpy(k->key, key, key_len);
    if (2 * (s->nkeys + 1) > s->nslots) {
        s_rehash(s);
    } else {
        size_t j = s_hash(agg, hash) & (s->nslots - 1);
        while (s->slots[j])
            j = (j + 1) & (s->nslots - 1);
        s->slots[j] = (uint32_t)s->nkeys;
    }
    return k;
}

/* Room for one more session in k. */
static void s_grow(s_key_t *k, uint32_t ss) {
    if (k->n < k->cap)
        return;
    k->cap = k->cap ? k->cap * 2 : 2;
    k->b = ed_realloc(k->b, (size_t)k->cap * sizeof *k->b);
    k->cnt = ed_realloc(k->cnt, (size_t)k->cap * sizeof *k->cnt);
    k->st = ed_realloc(k->st, (size_t)k->cap * ss + 8);
}

/* Applies placement p to k's arrays: merges the states of sessions
 * [first, first + count) into the first of them (or inserts a zeroed one),
 * and returns the index of the resulting session. */
static int s_place(const s_agg_t *ag, s_key_t *k, const ed_session_place_t *p) {
    uint32_t ss = ag->state_size;
    int f = p->first;
    if (p->count == 0) {
        s_grow(k, ss);
        memmove(&k->cnt[f + 1], &k->cnt[f], (size_t)(k->n - f) * sizeof *k->cnt);
        memmove(k->st + (size_t)(f + 1) * ss, k->st + (size_t)f * ss, (size_t)(k->n - f) * ss);
        memset(k->st + (size_t)f * ss, 0, ss);
        k->cnt[f] = 0;
    } else {
        for (int i = 1; i < p->count; i++) {
            uint8_t *dst = k->st + (size_t)f * ss, *src = k->st + (size_t)(f + i) * ss;
            for (int c = 0; c < ag->ncompute; c++)
                ag->fns[c]->merge(dst + ag->off[c], src + ag->off[c], k->cnt[f], k->cnt[f + i]);
            s_release(ag, src);
            k->cnt[f] += k->cnt[f + i];
        }
        int gone = p->count - 1, tail = k->n - (f + p->count);
        memmove(&k->cnt[f + 1], &k->cnt[f + 1 + gone], (size_t)tail * sizeof *k->cnt);
        memmove(k->st + (size_t)(f + 1) * ss, k->st + (size_t)(f + 1 + gone) * ss,
                (size_t)tail * ss);
    }
    k->n = ed_session_apply(k->b, k->n, p);
    return f;
}

/* Removes k's first `done` sessions (state size ss). */
static void s_drop_prefix(s_key_t *k, int done, uint32_t ss) {
    if (!done)
        return;
    k->n -= done;
    memmove(k->b, k->b + done, (size_t)k->n * sizeof *k->b);
    memmove(k->cnt, k->cnt + done, (size_t)k->n * sizeof *k->cnt);
    memmove(k->st, k->st + (size_t)done * ss, (size_t)k->n * ss);
}

/* Appends an expired session (bounds b, n records, state st copied) of key
 * k to the closing list. */
static void s_closing_push(ed_aggsession_t *s, s_agg_t *ag, const s_key_t *k,
                           ed_window_bounds_t b, int64_t n, const uint8_t *st) {
    if (s->nclosing == s->capclosing) {
        s->capclosing = s->capclosing ? s->capclosing * 2 : 16;
        s->closing = ed_realloc(s->closing, s->capclosing * sizeof *s->closing);
    }
    s_closing_t *c = &s->closing[s->nclosing++];
    *c = (s_closing_t){.key = ed_malloc(k->key_len + 1), .key_len = k->key_len, .agg = k->agg,
                       .b = b, .n = n, .st = ed_malloc(ag->state_size + 8)};
    memcpy(c->key, k->key, k->key_len);
    memcpy(c->st, st, ag->state_size);
    ag->nclosing++;
}

/* Moves k's sessions expired under watermark W (end + L ≤ W: a prefix) to
 * the closing list. */
static void s_expire_prefix(ed_aggsession_t *s, s_agg_t *ag, s_key_t *k, const ed_window_t *w,
                            int64_t watermark) {
    uint32_t ss = ag->state_size;
    int done = 0;
    for (; done < k->n && ed_window_can_free(w, k->b[done].end_ms, watermark); done++)
        s_closing_push(s, ag, k, k->b[done], k->cnt[done], k->st + (size_t)done * ss);
    s_drop_prefix(k, done, ss);
}

int ed_aggsession_apply(ed_aggsession_t *s, uint16_t agg, const ed_window_t *w, int64_t watermark,
                        const uint8_t *key, uint32_t key_len, uint64_t hash, const double *vals,
                        int64_t ts_ms, ed_aggsession_result_t *res) {
    s_agg_t *ag = &s->aggs[agg];
    *res = (ed_aggsession_result_t){0};
    s_key_t *k = s_find(s, agg, key, key_len, hash, 0);
    if (k && ts_ms >= ED_EVENT_TIME_MIN && ts_ms <= ED_EVENT_TIME_MAX)
        s_expire_prefix(s, ag, k, w, watermark);
    ed_session_place_t p;
    if (ed_session_place(w->gap_ms, k ? k->b : NULL, k ? k->n : 0, ts_ms, &p) < 0)
        return ED_EINVAL;
    res->cls = ed_window_classify(w, p.bounds.end_ms, watermark);
    res->merged = p.count > 1 ? p.count - 1 : 0;
    if (res->cls == ED_WINDOW_TOO_LATE && w->late != ED_LATE_UPDATE)
        return 0;
    if (!k)
        k = s_find(s, agg, key, key_len, hash, 1);
    if (res->cls == ED_WINDOW_TOO_LATE) {
        /* `late: update`, and it merged nothing (an open session would have
         * kept it in time): a session of its own, closed at once. */
        uint8_t *st = ed_calloc(1, ag->state_size + 8);
        for (int c = 0; c < ag->ncompute; c++)
            if (ag->fns[c]->apply)
                ag->fns[c]->apply(st + ag->off[c], 0, vals ? vals[c] : 0.0, ts_ms);
        s_closing_push(s, ag, k, p.bounds, 1, st);
        free(st);
        ag->sessions++;
        res->applied = 1;
        return 0;
    }
    int before = k->n;
    int i = s_place(ag, k, &p);
    ag->sessions += (size_t)(k->n - before);
    if (p.bounds.end_ms < ag->min_end)
        ag->min_end = p.bounds.end_ms;
    uint8_t *st = k->st + (size_t)i * ag->state_size;
    for (int c = 0; c < ag->ncompute; c++)
        if (ag->fns[c]->apply)
            ag->fns[c]->apply(st + ag->off[c], k->cnt[i], vals ? vals[c] : 0.0, ts_ms);
    k->cnt[i]++;
    res->applied = 1;
    return 0;
}

/* Emits one session (of aggregation agg, key, bounds b, n records, state
 * st) as its one row. */
static void s_emit_one(ed_aggsession_t *s, uint16_t agg, const uint8_t *key, uint32_t key_len,
                       ed_window_bounds_t b, int64_t n, const uint8_t *st,
                       ed_aggtable_emit_fn emit, void *ud) {
    const s_agg_t *ag = &s->aggs[agg];
    double *delta = s->vals, *value = s->vals + s->maxc, *prev = s->vals + 2 * s->maxc;
    for (int c = 0; c < ag->ncompute; c++)
        ag->fns[c]->emit(st + ag->off[c], n, 0, &delta[c], &value[c], &prev[c]);
    ed_change_t hdr = {.agg = agg,
                       .nvals = (uint16_t)ag->ncompute,
                       .key_len = key_len,
                       .window_start_ms = b.start_ms,
                       .window_end_ms = b.end_ms,
                       .n = n,
                       .delta_n = n};
    emit(ud, &hdr, delta, value, prev, key);
}

/* Emits and frees the closing list's sessions of aggregation agg. */
static size_t s_close_list(ed_aggsession_t *s, uint16_t agg, ed_aggtable_emit_fn emit,
                           void *ud) {
    size_t out = 0, closed = 0;
    for (size_t i = 0; i < s->nclosing; i++) {
        s_closing_t *c = &s->closing[i];
        if (c->agg != agg) {
            s->closing[out++] = *c;
            continue;
        }
        s_emit_one(s, agg, c->key, c->key_len, c->b, c->n, c->st, emit, ud);
        s_release(&s->aggs[agg], c->st);
        free(c->key);
        free(c->st);
        closed++;
    }
    s->nclosing = out;
    s->aggs[agg].nclosing = 0;
    return closed;
}

size_t ed_aggsession_close(ed_aggsession_t *s, uint16_t agg, int64_t horizon_ms,
                           ed_aggtable_emit_fn emit, void *ud) {
    s_agg_t *ag = &s->aggs[agg];
    size_t listed = ag->nclosing ? s_close_list(s, agg, emit, ud) : 0, closed = 0, out = 0;
    ag->sessions -= listed;
    if (horizon_ms < ag->min_end && !listed)
        return 0;
    int64_t min_end = INT64_MAX;
    uint32_t ss = ag->state_size;
    for (size_t i = 0; i < s->nkeys; i++) {
        s_key_t *k = &s->keys[i];
        if (k->agg == agg) {
            int done = 0;
            for (; done < k->n && k->b[done].end_ms <= horizon_ms; done++) {
                s_emit_one(s, agg, k->key, k->key_len, k->b[done], k->cnt[done],
                           k->st + (size_t)done * ss, emit, ud);
                s_release(ag, k->st + (size_t)done * ss);
            }
            s_drop_prefix(k, done, ss);
            closed += (size_t)done;
            if (k->n && k->b[0].end_ms < min_end) /* sorted: the first ends first */
                min_end = k->b[0].end_ms;
            if (!k->n) {
                s_key_free(ag, k);
                continue;
            }
        }
        s->keys[out++] = *k;
    }
    ag->min_end = min_end;
    ag->sessions -= closed;
    if (out != s->nkeys) {
        s->nkeys = out;
        s_rehash(s);
    }
    return listed + closed;
}

size_t ed_aggsession_count(const ed_aggsession_t *s, uint16_t agg) {
    size_t n = 0;
    for (int a = 0; a < s->naggs; a++)
        if (agg == UINT16_MAX || a == agg)
            n += s->aggs[a].sessions;
    return n;
}

size_t ed_aggsession_bytes(const ed_aggsession_t *s) {
    size_t b = sizeof *s + s->capkeys * sizeof *s->keys + s->nslots * sizeof *s->slots;
    for (size_t i = 0; i < s->nkeys; i++) {
        const s_key_t *k = &s->keys[i];
        b += k->key_len + (size_t)k->cap *
                              (sizeof *k->b + sizeof *k->cnt + s->aggs[k->agg].state_size);
    }
    return b;
}

size_t ed_aggsession_each(const ed_aggsession_t *s,
                          void (*visit)(void *ud, const ed_aggsession_entry_t *e), void *ud) {
    size_t n = 0;
    for (size_t i = 0; i < s->nkeys; i++) {
        const s_key_t *k = &s->keys[i];
        uint32_t ss = s->aggs[k->agg].state_size;
        for (int j = 0; j < k->n; j++, n++)
            visit(ud, &(ed_aggsession_entry_t){.agg = k->agg,
                                               .key = k->key,
                                               .key_len = k->key_len,
                                               .start_ms = k->b[j].start_ms,
                                               .end_ms = k->b[j].end_ms,
                                               .n = k->cnt[j],
                                               .state = k->st + (size_t)j * ss,
                                               .state_size = ss});
    }
    return n;
}

int ed_aggsession_put(ed_aggsession_t *s, const ed_aggsession_entry_t *e) {
    if (e->agg >= s->naggs || e->state_size != s->aggs[e->agg].state_size || e->n < 1 ||
        e->start_ms >= e->end_ms || e->start_ms < ED_EVENT_TIME_MIN ||
        e->end_ms > ED_EVENT_TIME_MAX + ED_WINDOW_DURATION_MAX)
        return ED_EINVAL;
    s_agg_t *ag = &s->aggs[e->agg];
    uint64_t hash = ed_hash64(e->key, e->key_len);
    s_key_t *k = s_find(s, e->agg, e->key, e->key_len, hash, 1);
    int at = 0;
    while (at < k->n && k->b[at].end_ms <= e->start_ms)
        at++;
    if (at < k->n && k->b[at].start_ms < e->end_ms)
        return ED_EINVAL; /* overlaps: the key stays (it may be empty, freed at close) */
    ed_session_place_t p = {.bounds = {e->start_ms, e->end_ms}, .first = at, .count = 0};
    s_place(ag, k, &p);
    k->cnt[at] = e->n;
    memcpy(k->st + (size_t)at * ag->state_size, e->state, ag->state_size);
    ag->sessions++;
    if (e->end_ms < ag->min_end)
        ag->min_end = e->end_ms;
    return 0;
}

uint32_t ed_aggsession_state_size(const ed_aggsession_t *s, uint16_t agg) {
    return agg < s->naggs ? s->aggs[agg].state_size : UINT32_MAX;
}
