/* test_aggtable.c — aggregation state, changelog flushes, alert crossings,
 * key hashing and partition choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actors/aggregate/ed_aggfn.h"
#include "actors/aggregate/ed_aggtable.h"
#include "actors/aggregate/ed_fired.h"
#include "actors/decode/ed_hash.h"
#include "runtime/ed_batch.h"

/* ------------------------------------------------------------ helpers */

/* The function table's row `name`. */
static const ed_aggfn_t *F(const char *name) {
    const ed_aggfn_t *f = ed_aggfn_find(name, strlen(name));
    assert_non_null(f);
    return f;
}

#define MAXV 8

/* One flushed row, copied. */
typedef struct {
    ed_change_t hdr;
    double delta[MAXV], value[MAXV], prev[MAXV];
    char key[64];
} row_t;

typedef struct {
    row_t *rows;
    size_t n, cap;
} rows_t;

static void on_row(void *ud, const ed_change_t *hdr, const double *delta, const double *value,
                   const double *prev, const uint8_t *key) {
    rows_t *r = ud;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->rows = realloc(r->rows, r->cap * sizeof *r->rows);
        assert_non_null(r->rows);
    }
    row_t *row = &r->rows[r->n++];
    memset(row, 0, sizeof *row);
    row->hdr = *hdr;
    assert_true(hdr->nvals <= MAXV);
    memcpy(row->delta, delta, hdr->nvals * sizeof(double));
    memcpy(row->value, value, hdr->nvals * sizeof(double));
    memcpy(row->prev, prev, hdr->nvals * sizeof(double));
    assert_true(hdr->key_len < sizeof row->key);
    memcpy(row->key, key, hdr->key_len);
}

static size_t flush(ed_aggtable_t *t, rows_t *r) {
    r->n = 0;
    size_t n = ed_aggtable_flush(t, on_row, r);
    assert_int_equal(n, r->n);
    return n;
}

/* Applies one record keyed by the bytes of `key` (no composite encoding needed here). */
static void apply(ed_aggtable_t *t, uint16_t agg, int64_t ws, int64_t we, const char *key,
                  const double *vals) {
    size_t len = strlen(key);
    ed_aggtable_apply(t, agg, ws, we, (const uint8_t *)key, (uint32_t)len, ed_hash64(key, len),
                      vals, 0);
}

static const row_t *find_w(const rows_t *r, uint16_t agg, int64_t ws, int64_t we, const char *key) {
    for (size_t i = 0; i < r->n; i++) {
        const row_t *w = &r->rows[i];
        if (w->hdr.agg == agg && w->hdr.window_start_ms == ws && w->hdr.window_end_ms == we &&
            w->hdr.key_len == strlen(key) && memcmp(w->key, key, strlen(key)) == 0)
            return w;
    }
    fail_msg("no row for agg %u window [%lld, %lld) key '%s'", agg, (long long)ws, (long long)we,
             key);
    return NULL;
}

static const row_t *find(const rows_t *r, uint16_t agg, const char *key) {
    return find_w(r, agg, 0, 0, key);
}

/* ------------------------------------------------------------ semantics */

enum { C_COUNT, C_SUM, C_MIN, C_MAX, C_AVG, NC };
static const char *const s_all_names[NC] = {"count", "sum", "min", "max", "avg"};

static void apply_x(ed_aggtable_t *t, const char *key, double x) {
    double v[NC] = {0, x, x, x, x};
    apply(t, 0, 0, 0, key, v);
}

static void test_all_functions_across_flushes(void **state) {
    const ed_aggfn_t *all[NC];
    for (int i = 0; i < NC; i++)
        all[i] = F(s_all_names[i]);
    ed_aggspec_t spec = {NC, all};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    rows_t r = {0};

    apply_x(t, "k", 10);
    apply_x(t, "k", 4);
    apply_x(t, "k", 7);
    assert_int_equal(flush(t, &r), 1);
    const row_t *w = &r.rows[0];
    assert_int_equal(w->hdr.agg, 0);
    assert_int_equal(w->hdr.nvals, NC);
    assert_int_equal(w->hdr.key_len, 1);
    assert_int_equal(w->hdr.window_start_ms, 0);
    assert_int_equal(w->hdr.window_end_ms, 0);
    assert_int_equal(w->hdr.n, 3);
    assert_int_equal(w->hdr.delta_n, 3); /* first flush: n == delta_n */
    assert_true(w->delta[C_COUNT] == 3 && w->value[C_COUNT] == 3);
    assert_true(w->delta[C_SUM] == 21 && w->value[C_SUM] == 21);
    assert_true(w->delta[C_MIN] == 4 && w->value[C_MIN] == 4);
    assert_true(w->delta[C_MAX] == 10 && w->value[C_MAX] == 10);
    assert_true(w->delta[C_AVG] == 21 && w->value[C_AVG] == 7);

    apply_x(t, "k", 1);
    apply_x(t, "k", 20);
    assert_int_equal(flush(t, &r), 1);
    w = &r.rows[0];
    assert_int_equal(w->hdr.n, 5);
    assert_int_equal(w->hdr.delta_n, 2);
    assert_true(w->delta[C_COUNT] == 2 && w->value[C_COUNT] == 5 && w->prev[C_COUNT] == 3);
    assert_true(w->delta[C_SUM] == 21 && w->value[C_SUM] == 42 && w->prev[C_SUM] == 21);
    assert_true(w->delta[C_MIN] == 1 && w->value[C_MIN] == 1 && w->prev[C_MIN] == 4);
    assert_true(w->delta[C_MAX] == 20 && w->value[C_MAX] == 20 && w->prev[C_MAX] == 10);
    assert_true(w->delta[C_AVG] == 21 && w->value[C_AVG] == 42.0 / 5 && w->prev[C_AVG] == 7);

    /* A change that leaves min/max alone still emits them (current value). */
    apply_x(t, "k", 5);
    assert_int_equal(flush(t, &r), 1);
    w = &r.rows[0];
    assert_int_equal(w->hdr.n, 6);
    assert_int_equal(w->hdr.delta_n, 1);
    assert_true(w->delta[C_COUNT] == 1 && w->value[C_COUNT] == 6 && w->prev[C_COUNT] == 5);
    assert_true(w->delta[C_SUM] == 5 && w->value[C_SUM] == 47 && w->prev[C_SUM] == 42);
    assert_true(w->delta[C_MIN] == 1 && w->value[C_MIN] == 1 && w->prev[C_MIN] == 1);
    assert_true(w->delta[C_MAX] == 20 && w->value[C_MAX] == 20 && w->prev[C_MAX] == 20);
    assert_true(w->delta[C_AVG] == 5 && w->value[C_AVG] == 47.0 / 6 && w->prev[C_AVG] == 42.0 / 5);

    /* Negative values, and a key whose first value is its min and max. */
    apply_x(t, "neg", -3);
    assert_int_equal(flush(t, &r), 1);
    w = &r.rows[0];
    assert_true(w->value[C_MIN] == -3 && w->value[C_MAX] == -3 && w->value[C_SUM] == -3);

    assert_int_equal(ed_aggtable_count(t), 2);
    free(r.rows);
    ed_aggtable_destroy(&t);
    assert_null(t);
    ed_aggtable_destroy(&t); /* NULL-safe */
}

static void test_only_changed_keys(void **state) {
    const ed_aggfn_t *fns[] = {F("count")};
    ed_aggspec_t spec = {1, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    rows_t r = {0};
    assert_int_equal(flush(t, &r), 0); /* empty */
    apply(t, 0, 0, 0, "a", NULL);
    apply(t, 0, 0, 0, "b", NULL);
    apply(t, 0, 0, 0, "c", NULL);
    apply(t, 0, 0, 0, "a", NULL);
    assert_int_equal(flush(t, &r), 3);
    assert_true(find(&r, 0, "a")->value[0] == 2);
    assert_true(find(&r, 0, "b")->value[0] == 1);
    assert_true(find(&r, 0, "c")->value[0] == 1);
    assert_int_equal(flush(t, &r), 0); /* nothing changed since */
    apply(t, 0, 0, 0, "b", NULL);
    apply(t, 0, 0, 0, "b", NULL);
    assert_int_equal(flush(t, &r), 1);
    assert_string_equal(r.rows[0].key, "b");
    assert_int_equal(r.rows[0].hdr.n, 3);
    assert_int_equal(r.rows[0].hdr.delta_n, 2);
    assert_true(r.rows[0].prev[0] == 1);
    assert_int_equal(flush(t, &r), 0);
    assert_int_equal(ed_aggtable_count(t), 3);
    free(r.rows);
    ed_aggtable_destroy(&t);
}

static void test_aggregations_and_windows_are_separate(void **state) {
    const ed_aggfn_t *f0[] = {F("count")};
    const ed_aggfn_t *f1[] = {F("sum"), F("count")};
    ed_aggspec_t specs[] = {{1, f0}, {2, f1}};
    ed_aggtable_t *t = ed_aggtable_new(specs, 2);
    rows_t r = {0};
    double v1[] = {2.5, 0};

    apply(t, 0, 0, 0, "k", NULL);          /* agg 0, cumulative */
    apply(t, 0, 0, 60000, "k", NULL);      /* agg 0, window [0, 60s) */
    apply(t, 0, 60000, 120000, "k", NULL); /* agg 0, window [60s, 120s) */
    apply(t, 0, 60000, 120000, "k", NULL);
    apply(t, 0, 60000, 180000, "k", NULL); /* hopping: same start, other end */
    apply(t, 1, 0, 0, "k", v1);            /* agg 1, cumulative */
    apply(t, 1, 60000, 120000, "k", v1);   /* agg 1, window */
    apply(t, 1, 60000, 120000, "k", v1);
    apply(t, 0, 0, 0, "k2", NULL); /* other key */
    assert_int_equal(ed_aggtable_count(t), 7);
    assert_int_equal(flush(t, &r), 7);

    assert_int_equal(find(&r, 0, "k")->hdr.n, 1);
    assert_int_equal(find_w(&r, 0, 0, 60000, "k")->hdr.n, 1);
    assert_int_equal(find_w(&r, 0, 60000, 120000, "k")->hdr.n, 2);
    assert_int_equal(find_w(&r, 0, 60000, 180000, "k")->hdr.n, 1);
    const row_t *w = find(&r, 1, "k");
    assert_int_equal(w->hdr.nvals, 2);
    assert_true(w->value[0] == 2.5 && w->value[1] == 1);
    w = find_w(&r, 1, 60000, 120000, "k");
    assert_true(w->value[0] == 5.0 && w->value[1] == 2);
    assert_int_equal(find(&r, 0, "k2")->hdr.n, 1);
    free(r.rows);
    ed_aggtable_destroy(&t);
}

/* Tallies rows of test_hash_collisions_and_odd_keys without copying keys. */
typedef struct {
    size_t rows;
    int64_t n_total;
    double sum_total;
    int seen_big, seen_empty, seen_a0b, seen_a0c, seen_after;
    int c_seen[500];
} tally_t;

static void on_tally(void *ud, const ed_change_t *h, const double *delta, const double *value,
                     const double *prev, const uint8_t *key) {
    tally_t *t = ud;
    t->rows++;
    t->n_total += h->n;
    t->sum_total += value[1];
    assert_true(value[0] == (double)h->n);
    if (h->key_len == 3u << 20) {
        assert_int_equal(h->n, 2);
        assert_true(key[0] == 'x' && key[h->key_len - 1] == 'x');
        t->seen_big++;
    } else if (h->key_len == 0) {
        t->seen_empty++;
    } else if (h->key_len == 3 && memcmp(key, "a\0b", 3) == 0) {
        t->seen_a0b++;
    } else if (h->key_len == 3 && memcmp(key, "a\0c", 3) == 0) {
        t->seen_a0c++;
    } else if (h->key_len == 5 && memcmp(key, "after", 5) == 0) {
        t->seen_after++;
    } else {
        char buf[16] = {0};
        assert_true(h->key_len < sizeof buf && key[0] == 'c');
        memcpy(buf, key + 1, h->key_len - 1);
        unsigned long i = strtoul(buf, NULL, 10);
        assert_true(i < 500);
        assert_int_equal(h->n, 3);
        assert_true(value[1] == 3.0 * i);
        t->c_seen[i]++;
    }
}

static void test_hash_collisions_and_odd_keys(void **state) {
    /* Half the keys share one hash outright, the other half share its low
     * 32 bits (the slot tag): entries must still be told apart by bytes. */
    const ed_aggfn_t *fns[] = {F("count"), F("sum")};
    ed_aggspec_t spec = {2, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    char key[32];
    for (int rep = 0; rep < 3; rep++)
        for (int i = 0; i < 500; i++) {
            int n = snprintf(key, sizeof key, "c%d", i);
            double v[] = {0, i};
            uint64_t h = (i & 1) ? 42 : (42 | ((uint64_t)i << 32));
            ed_aggtable_apply(t, 0, 0, 0, (const uint8_t *)key, (uint32_t)n, h, v, 0);
        }
    /* The empty key, keys with NUL bytes, and a 3 MiB key (bigger than a
     * regular chunk). */
    double v[] = {0, 1};
    ed_aggtable_apply(t, 0, 0, 0, (const uint8_t *)"", 0, ed_hash64("", 0), v, 0);
    ed_aggtable_apply(t, 0, 0, 0, (const uint8_t *)"a\0b", 3, ed_hash64("a\0b", 3), v, 0);
    ed_aggtable_apply(t, 0, 0, 0, (const uint8_t *)"a\0c", 3, ed_hash64("a\0c", 3), v, 0);
    size_t big_len = 3u << 20;
    uint8_t *big = malloc(big_len);
    memset(big, 'x', big_len);
    ed_aggtable_apply(t, 0, 0, 0, big, (uint32_t)big_len, ed_hash64(big, big_len), v, 0);
    ed_aggtable_apply(t, 0, 0, 0, big, (uint32_t)big_len, ed_hash64(big, big_len), v, 0);
    /* Entries after the oversized one still go to regular chunks. */
    ed_aggtable_apply(t, 0, 0, 0, (const uint8_t *)"after", 5, ed_hash64("after", 5), v, 0);
    assert_int_equal(ed_aggtable_count(t), 505);
    assert_true(ed_aggtable_bytes(t) > big_len);

    tally_t *tl = calloc(1, sizeof *tl);
    assert_int_equal(ed_aggtable_flush(t, on_tally, tl), 505);
    assert_int_equal(tl->rows, 505);
    assert_int_equal(tl->seen_after, 1);
    assert_int_equal(tl->seen_big, 1);
    assert_int_equal(tl->seen_empty, 1);
    assert_int_equal(tl->seen_a0b, 1);
    assert_int_equal(tl->seen_a0c, 1);
    for (int i = 0; i < 500; i++)
        assert_int_equal(tl->c_seen[i], 1);
    assert_int_equal(tl->n_total, 1500 + 1 + 1 + 1 + 2 + 1);
    free(tl);
    free(big);
    ed_aggtable_destroy(&t);
}

/* ------------------------------------------------------------ scale */

typedef struct {
    int64_t *n;  /* per key number: n seen in rows */
    double *sum; /* per key number: sum value seen in rows */
    int64_t *dn; /* per key number: delta_n of the last flush */
    size_t nkeys;
    size_t rows;
} big_t;

static void on_big(void *ud, const ed_change_t *h, const double *delta, const double *value,
                   const double *prev, const uint8_t *key) {
    big_t *b = ud;
    const uint8_t *part;
    size_t plen;
    assert_int_equal(ed_key_part(key, h->key_len, 0, &part, &plen), 0);
    char buf[24] = {0};
    assert_true(plen > 4 && plen < sizeof buf);
    memcpy(buf, part, plen);
    size_t i = strtoul(buf + 4, NULL, 10); /* "key-<i>" */
    assert_true(i < b->nkeys);
    if (h->agg == 0) {
        b->n[i] = h->n;
        b->dn[i] = h->delta_n;
        assert_true(value[0] == (double)h->n);
        assert_true(delta[0] == (double)h->delta_n);
    } else {
        assert_int_equal(h->agg, 1);
        b->sum[i] = value[0];
        assert_true(delta[0] == (double)i * (double)h->delta_n);
    }
    b->rows++;
}

static void test_many_keys(void **state) {
    enum { NKEYS = 200000 };
    const ed_aggfn_t *f_count[] = {F("count")};
    const ed_aggfn_t *f_sum[] = {F("sum")};
    ed_aggspec_t specs[] = {{1, f_count}, {1, f_sum}};
    ed_aggtable_t *t = ed_aggtable_new(specs, 2);

    /* Independent expectation: key i gets (i % 7) + 1 records of value i. */
    int64_t *want_n = calloc(NKEYS, sizeof *want_n);
    big_t b = {calloc(NKEYS, sizeof(int64_t)), calloc(NKEYS, sizeof(double)),
               calloc(NKEYS, sizeof(int64_t)), NKEYS, 0};
    uint8_t key[32];
    char part[24];
    /* Interleaved passes so keys recur after many others were inserted (and
     * after resizes). */
    for (int pass = 0; pass < 7; pass++) {
        for (size_t i = 0; i < NKEYS; i++) {
            if ((int)(i % 7) < pass)
                continue;
            size_t klen = 0;
            int pl = snprintf(part, sizeof part, "key-%zu", i);
            ed_key_append(key, &klen, part, (size_t)pl);
            uint64_t h = ed_hash64(key, klen);
            double v = (double)i;
            ed_aggtable_apply(t, 0, 0, 0, key, (uint32_t)klen, h, NULL, 0);
            ed_aggtable_apply(t, 1, 0, 0, key, (uint32_t)klen, h, &v, 0);
            want_n[i]++;
        }
    }
    assert_int_equal(ed_aggtable_count(t), 2 * NKEYS);
    assert_int_equal(ed_aggtable_flush(t, on_big, &b), 2 * NKEYS);
    for (size_t i = 0; i < NKEYS; i++) {
        assert_int_equal(want_n[i], (int64_t)(i % 7) + 1);
        assert_int_equal(b.n[i], want_n[i]);
        assert_int_equal(b.dn[i], want_n[i]);
        assert_true(b.sum[i] == (double)i * (double)want_n[i]);
    }

    /* Touch every 10th key once more: only those come out, with delta 1. */
    b.rows = 0;
    for (size_t i = 0; i < NKEYS; i += 10) {
        size_t klen = 0;
        int pl = snprintf(part, sizeof part, "key-%zu", i);
        ed_key_append(key, &klen, part, (size_t)pl);
        ed_aggtable_apply(t, 0, 0, 0, key, (uint32_t)klen, ed_hash64(key, klen), NULL, 0);
        want_n[i]++;
    }
    assert_int_equal(ed_aggtable_flush(t, on_big, &b), NKEYS / 10);
    for (size_t i = 0; i < NKEYS; i += 10) {
        assert_int_equal(b.n[i], want_n[i]);
        assert_int_equal(b.dn[i], 1);
    }
    assert_int_equal(ed_aggtable_count(t), 2 * NKEYS);
    free(want_n);
    free(b.n);
    free(b.sum);
    free(b.dn);
    ed_aggtable_destroy(&t);
}

static void test_bytes_per_key(void **state) {
    /* Guard for the memory budget: a count-only aggregation over short keys
     * stays under 80 bytes per key. */
    enum { NKEYS = 300000 };
    const ed_aggfn_t *fns[] = {F("count")};
    ed_aggspec_t spec = {1, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    uint8_t key[32];
    char part[24];
    for (size_t i = 0; i < NKEYS; i++) {
        size_t klen = 0;
        int pl = snprintf(part, sizeof part, "w%zu", i * 7919);
        ed_key_append(key, &klen, part, (size_t)pl);
        ed_aggtable_apply(t, 0, 0, 0, key, (uint32_t)klen, ed_hash64(key, klen), NULL, 0);
    }
    double per_key = (double)ed_aggtable_bytes(t) / NKEYS;
    print_message("bytes/key for %d count-only keys: %.1f\n", NKEYS, per_key);
    assert_true(per_key <= 80.0);
    ed_aggtable_destroy(&t);
}

/* ------------------------------------------------------------ alerts */

static void test_cmp(void **state) {
    assert_true(ed_cmp(ED_OP_GE, 2, 1) && ed_cmp(ED_OP_GE, 1, 1) && !ed_cmp(ED_OP_GE, 0, 1));
    assert_true(ed_cmp(ED_OP_GT, 2, 1) && !ed_cmp(ED_OP_GT, 1, 1) && !ed_cmp(ED_OP_GT, 0, 1));
    assert_true(!ed_cmp(ED_OP_LE, 2, 1) && ed_cmp(ED_OP_LE, 1, 1) && ed_cmp(ED_OP_LE, 0, 1));
    assert_true(!ed_cmp(ED_OP_LT, 2, 1) && !ed_cmp(ED_OP_LT, 1, 1) && ed_cmp(ED_OP_LT, 0, 1));
    assert_true(!ed_cmp(ED_OP_EQ, 2, 1) && ed_cmp(ED_OP_EQ, 1, 1) && !ed_cmp(ED_OP_EQ, 0, 1));
    assert_true(ed_cmp(ED_OP_LT, -1e300, 1e300) && ed_cmp(ED_OP_EQ, -0.0, 0.0));
}

static void test_rule_crossed(void **state) {
    /* count >= 1000 over successive flushes of a growing counter: fires once. */
    double seq[] = {10, 999, 1000, 1500, 2000};
    int want[] = {0, 0, 1, 0, 0};
    int has_prev = 0;
    double prev = 0;
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ed_rule_crossed(ED_OP_GE, 1000, has_prev, prev, seq[i]), want[i]);
        has_prev = 1;
        prev = seq[i];
    }
    /* First flush already above: fires (no previous value). */
    assert_int_equal(ed_rule_crossed(ED_OP_GE, 1000, 0, 0, 5000), 1);
    assert_int_equal(ed_rule_crossed(ED_OP_GE, 1000, 0, 0, 5), 0);
    /* A previous value above the threshold suppresses it, whatever now is. */
    assert_int_equal(ed_rule_crossed(ED_OP_GT, 100, 1, 101, 102), 0);
    assert_int_equal(ed_rule_crossed(ED_OP_GT, 100, 1, 100, 101), 1);
    assert_int_equal(ed_rule_crossed(ED_OP_GT, 100, 1, 99, 100), 0);

    /* A max/avg can go down and up again: each new crossing fires. */
    double avg[] = {50, 120, 130, 90, 80, 150, 150, 99, 100};
    int want_ge[] = {0, 1, 0, 0, 0, 1, 0, 0, 1};
    has_prev = 0;
    for (size_t i = 0; i < sizeof avg / sizeof avg[0]; i++) {
        assert_int_equal(ed_rule_crossed(ED_OP_GE, 100, has_prev, prev, avg[i]), want_ge[i]);
        has_prev = 1;
        prev = avg[i];
    }
    /* "min < 10": crossing downward. */
    double mins[] = {50, 20, 9, 5, 12, 3};
    int want_lt[] = {0, 0, 1, 0, 0, 1};
    has_prev = 0;
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(ed_rule_crossed(ED_OP_LT, 10, has_prev, prev, mins[i]), want_lt[i]);
        has_prev = 1;
        prev = mins[i];
    }
    /* "<=": equal counts as holding. */
    assert_int_equal(ed_rule_crossed(ED_OP_LE, 10, 1, 11, 10), 1);
    assert_int_equal(ed_rule_crossed(ED_OP_LE, 10, 1, 10, 9), 0);
    /* "==": fires when it becomes equal, again after leaving and returning. */
    double eq[] = {4, 5, 5, 6, 5};
    int want_eq[] = {0, 1, 0, 0, 1};
    has_prev = 0;
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ed_rule_crossed(ED_OP_EQ, 5, has_prev, prev, eq[i]), want_eq[i]);
        has_prev = 1;
        prev = eq[i];
    }
}

static void test_rule_with_table_prev(void **state) {
    /* End to end with the table: alert "total >= 100" on a sum, using the
     * prev of each flush and n == delta_n for "no previous flush". */
    const ed_aggfn_t *fns[] = {F("sum")};
    ed_aggspec_t spec = {1, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    rows_t r = {0};
    double adds[] = {40, 40, 40, 40};
    int want[] = {0, 0, 1, 0};
    for (int i = 0; i < 4; i++) {
        apply(t, 0, 0, 0, "acct", &adds[i]);
        assert_int_equal(flush(t, &r), 1);
        const row_t *w = &r.rows[0];
        int has_prev = w->hdr.n != w->hdr.delta_n;
        assert_int_equal(ed_rule_crossed(ED_OP_GE, 100, has_prev, w->prev[0], w->value[0]),
                         want[i]);
    }
    free(r.rows);
    ed_aggtable_destroy(&t);
}

/* ------------------------------------------------------------ partition */

static void test_hash_stable(void **state) {
    /* XXH3-64 of the empty input, seed 0: the reference value from the
     * xxHash spec; guards against a seed or variant change, which would
     * silently re-partition every key between processes. */
    assert_true(ed_hash64("", 0) == 0x2D06800538D394C2ull);
    assert_true(ed_hash64("abc", 3) == ed_hash64("abcd", 3));
    assert_true(ed_hash64("abc", 3) != ed_hash64("abd", 3));
}

static void test_partition_distribution(void **state) {
    enum { NKEYS = 100000, NPART = 8 };
    int count[NPART] = {0};
    char key[32];
    for (int i = 0; i < NKEYS; i++) {
        int n = snprintf(key, sizeof key, "user-%d", i);
        uint32_t p = ed_hash_partition(ed_hash64(key, (size_t)n), NPART);
        assert_true(p < NPART);
        count[p]++;
    }
    for (int p = 0; p < NPART; p++) {
        double ratio = (double)count[p] / (NKEYS / NPART);
        if (ratio < 0.9 || ratio > 1.1)
            fail_msg("partition %d has %d keys (%.2f of the fair share)", p, count[p], ratio);
    }
    /* Range edges, and odd n. */
    assert_int_equal(ed_hash_partition(0, 8), 0);
    assert_int_equal(ed_hash_partition(UINT64_MAX, 8), 7);
    assert_int_equal(ed_hash_partition(UINT64_MAX, 1), 0);
    for (uint32_t n = 1; n < 50; n++)
        for (int i = 0; i < 200; i++)
            assert_true(ed_hash_partition(ed_hash64(&i, sizeof i), n) < n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_functions_across_flushes),
        cmocka_unit_test(test_only_changed_keys),
        cmocka_unit_test(test_aggregations_and_windows_are_separate),
        cmocka_unit_test(test_hash_collisions_and_odd_keys),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_bytes_per_key),
        cmocka_unit_test(test_cmp),
        cmocka_unit_test(test_rule_crossed),
        cmocka_unit_test(test_rule_with_table_prev),
        cmocka_unit_test(test_hash_stable),
        cmocka_unit_test(test_partition_distribution),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
