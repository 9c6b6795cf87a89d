/* test_aggfn.c — the aggregate function table: each function's apply, emit,
 * flush bookkeeping, merge of two partial states and merge of two changelog
 * rows, checked against a direct computation over the same records (with
 * many ties in time), plus first/last through the aggregation table and the
 * SQL merge expressions as the sinks expand them; approx_distinct against
 * exact counts (1 to 200, and 1,000,000) through the table, its sketches
 * freed with their windows, and merged when session windows merge. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actors/aggregate/ed_aggfn.h"
#include "actors/aggregate/ed_aggsession.h"
#include "actors/aggregate/ed_aggtable.h"
#include "actors/aggregate/ed_hll.h"
#include "actors/sources/ed_watermark.h"
#include "actors/decode/ed_hash.h"
#include "runtime/ed_buf.h"
#include "sinks/ed_sink_rows.h"

static const ed_aggfn_t *F(const char *name) {
    const ed_aggfn_t *f = ed_aggfn_find(name, strlen(name));
    assert_non_null(f);
    return f;
}

static uint64_t s_rand(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------ the table */

static void test_table_rows(void **state) {
    const char *names[] = {"count", "sum", "min", "max", "avg", "first", "last", "approx_distinct"};
    assert_int_equal(ed_naggfns, 8);
    for (int i = 0; i < ed_naggfns; i++) {
        const ed_aggfn_t *f = &ed_aggfns[i];
        assert_string_equal(f->name, names[i]);
        assert_ptr_equal(F(f->name), f);
        assert_true(f->state_size % 8 == 0);
        assert_non_null(f->emit);
        assert_non_null(f->merge);
        assert_non_null(f->merge_row);
        assert_true(f->apply || f->state_size == 0);
        /* A block that owns memory can be released, saved and loaded. */
        assert_true(!f->release == !f->save && !f->save == !f->load);
        assert_int_equal(f->input, !strcmp(f->name, "approx_distinct") ? ED_AGGFN_IN_HASH
                                                                       : ED_AGGFN_IN_NUMBER);
        /* Additive functions add deltas in Redis; the others set values. */
        assert_string_equal(f->redis, f->additive ? "ZINCRBY" : "ZADD");
        assert_true(f->ncols >= 1 && f->ncols <= ED_AGGFN_MAX_COLS);
        assert_null(f->cols[0].suffix);
        for (int c = 0; c < f->ncols; c++) {
            assert_non_null(f->cols[c].insert);
            assert_non_null(f->cols[c].merge);
            assert_true(c == 0 || f->cols[c].suffix);
        }
    }
    assert_ptr_equal(F("SUM"), F("sum"));
    assert_null(ed_aggfn_find("summ", 4));
    assert_null(ed_aggfn_find("su", 2));
    char buf[256];
    assert_string_equal(ed_aggfn_list(buf, sizeof buf),
                        "count, sum(FIELD), min(FIELD), max(FIELD), avg(FIELD), first(FIELD), "
                        "last(FIELD), approx_distinct(FIELD)");
    assert_int_equal(strlen(ed_aggfn_list(buf, 10)), 9); /* truncates, terminated */
}

/* ------------------------------------------------------------ semantics */

typedef struct {
    double v;
    int64_t ts;
} rec_t;

/* What a function must give for records[0..n), computed directly. */
static double s_expect(const char *fn, const rec_t *r, int n) {
    double acc = 0;
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(fn, "sum") || !strcmp(fn, "avg"))
            acc += r[i].v;
        else if (!strcmp(fn, "min"))
            acc = (i == 0 || r[i].v < acc) ? r[i].v : acc;
        else if (!strcmp(fn, "max"))
            acc = (i == 0 || r[i].v > acc) ? r[i].v : acc;
        else if (!strcmp(fn, "first")) /* earliest time; the first of equal times */
            best = (best < 0 || r[i].ts < r[best].ts) ? i : best;
        else if (!strcmp(fn, "last")) /* latest time; the last of equal times */
            best = (best < 0 || r[i].ts >= r[best].ts) ? i : best;
    }
    if (!strcmp(fn, "count"))
        return n;
    if (!strcmp(fn, "approx_distinct")) { /* the exact number of distinct values */
        int d = 0;
        for (int i = 0; i < n; i++) {
            int seen = 0;
            for (int j = 0; j < i && !seen; j++)
                seen = r[j].v == r[i].v;
            d += !seen;
        }
        return d;
    }
    if (!strcmp(fn, "avg"))
        return n ? acc / n : 0;
    if (best >= 0)
        return r[best].v;
    return acc;
}

static void s_release(const ed_aggfn_t *f, void *st) {
    if (f->release)
        f->release(st);
}

static void s_apply_all(const ed_aggfn_t *f, void *st, const rec_t *r, int n, int64_t n0) {
    for (int i = 0; i < n; i++)
        if (f->apply)
            f->apply(st, n0 + i, r[i].v, r[i].ts);
}

static void test_apply_merge_against_direct(void **state) {
    /* Random records with few distinct times (many ties) and values; every
     * function over the whole sequence, and over a random split into two
     * partial states merged, gives the direct result. */
    uint64_t x = 1;
    enum { MAXN = 40 };
    rec_t r[MAXN];
    for (int round = 0; round < 3000; round++) {
        int n = 1 + (int)(s_rand(&x) % MAXN);
        for (int i = 0; i < n; i++) {
            r[i].v = (double)((int64_t)(s_rand(&x) % 2001) - 1000) / 4; /* exact in binary */
            r[i].ts = 1700000000000 + (int64_t)(s_rand(&x) % 5);
        }
        int cut = (int)(s_rand(&x) % (uint64_t)(n + 1)); /* 0 … n: a part may be empty */
        for (int i = 0; i < ed_naggfns; i++) {
            const ed_aggfn_t *f = &ed_aggfns[i];
            uint64_t whole[8] = {0}, a[8] = {0}, b[8] = {0};
            assert_true(f->state_size <= sizeof whole);
            double d, v, p, want = s_expect(f->name, r, n);
            /* approx_distinct: the value's bits stand for its hash; ≤ 40
             * values are counted exactly (sparse: 2^25 registers). */
            double tol = 0;
            s_apply_all(f, whole, r, n, 0);
            f->emit(whole, n, 0, &d, &v, &p);
            if (fabs(v - want) > tol)
                fail_msg("%s over %d records: %g, expected %g", f->name, n, v, want);
            double v_whole = v;
            /* Two partial states (each counts from 0), merged. */
            s_apply_all(f, a, r, cut, 0);
            s_apply_all(f, b, r + cut, n - cut, 0);
            f->merge(a, b, cut, n - cut);
            f->emit(a, n, 0, &d, &v, &p);
            if (fabs(v - want) > tol)
                fail_msg("%s merged at %d of %d: %g, expected %g", f->name, cut, n, v, want);
            if (v != v_whole) /* a union of sketches is the sketch of the whole */
                fail_msg("%s merged at %d of %d: %g, whole %g", f->name, cut, n, v, v_whole);
            s_release(f, whole);
            s_release(f, a);
            s_release(f, b);
            /* The delta of first/last is the time of the value chosen. */
            if (!strcmp(f->name, "first") || !strcmp(f->name, "last")) {
                int64_t t = INT64_MAX * !strcmp(f->name, "first");
                for (int k = 0; k < n; k++)
                    t = !strcmp(f->name, "first") ? (r[k].ts < t ? r[k].ts : t)
                                                  : (r[k].ts > t ? r[k].ts : t);
                assert_true(d == (double)t);
            }
        }
    }
}

static void test_ties_in_time(void **state) {
    /* Equal times: first keeps the earliest applied, last the latest; a
     * merge gives a tie to the earlier part (first) / the later part (last). */
    const ed_aggfn_t *first = F("first"), *last = F("last");
    uint64_t s1[4] = {0}, s2[4] = {0};
    double d, v, p;
    first->apply(s1, 0, 1.0, 100);
    first->apply(s1, 1, 2.0, 100);
    first->apply(s1, 2, 3.0, 101);
    first->emit(s1, 3, 0, &d, &v, &p);
    assert_true(v == 1.0 && d == 100);
    last->apply(s2, 0, 1.0, 100);
    last->apply(s2, 1, 2.0, 100);
    last->apply(s2, 2, 0.5, 99);
    last->emit(s2, 3, 0, &d, &v, &p);
    assert_true(v == 2.0 && d == 100);

    uint64_t a[4] = {0}, b[4] = {0};
    first->apply(a, 0, 10.0, 500);
    first->apply(b, 0, 20.0, 500);
    first->merge(a, b, 1, 1);
    first->emit(a, 2, 0, &d, &v, &p);
    assert_true(v == 10.0);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    last->apply(a, 0, 10.0, 500);
    last->apply(b, 0, 20.0, 500);
    last->merge(a, b, 1, 1);
    last->emit(a, 2, 0, &d, &v, &p);
    assert_true(v == 20.0);
    /* An earlier time in the later part still wins for first, loses for last. */
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    first->apply(a, 0, 10.0, 500);
    first->apply(b, 0, 20.0, 400);
    first->merge(a, b, 1, 1);
    first->emit(a, 2, 0, &d, &v, &p);
    assert_true(v == 20.0 && d == 400);
    /* Merging into an empty state takes the other side's. */
    memset(a, 0, sizeof a);
    last->merge(a, b, 0, 1);
    last->emit(a, 1, 0, &d, &v, &p);
    assert_true(v == 20.0 && d == 400);

    /* Changelog rows of one key in one sink flush: the same rules on
     * (delta = time, value). */
    double rd = 500, rv = 1;
    first->merge_row(&rd, &rv, 500, 2);
    assert_true(rd == 500 && rv == 1);
    first->merge_row(&rd, &rv, 499, 3);
    assert_true(rd == 499 && rv == 3);
    rd = 500, rv = 1;
    last->merge_row(&rd, &rv, 500, 2);
    assert_true(rd == 500 && rv == 2);
    last->merge_row(&rd, &rv, 499, 3);
    assert_true(rd == 500 && rv == 2);
}

static void test_flush_bookkeeping(void **state) {
    /* prev is what the last flush emitted; sum/avg deltas restart. */
    for (int i = 0; i < ed_naggfns; i++) {
        const ed_aggfn_t *f = &ed_aggfns[i];
        uint64_t st[8] = {0};
        double d, v, p;
        rec_t r[3] = {{4, 10}, {6, 20}, {-1, 5}};
        s_apply_all(f, st, r, 2, 0);
        f->emit(st, 2, 0, &d, &v, &p);
        if (f->flushed)
            f->flushed(st, v);
        double v1 = v;
        s_apply_all(f, st, r + 2, 1, 2);
        f->emit(st, 3, 2, &d, &v, &p);
        assert_true(p == v1);
        if (!strcmp(f->name, "count"))
            assert_true(d == 1 && v == 3 && p == 2);
        if (!strcmp(f->name, "sum"))
            assert_true(d == -1 && v == 9);
        if (!strcmp(f->name, "avg"))
            assert_true(d == -1 && v == 3);
        if (!strcmp(f->name, "min"))
            assert_true(d == -1 && v == -1);
        if (!strcmp(f->name, "max"))
            assert_true(d == 6 && v == 6);
        if (!strcmp(f->name, "first"))
            assert_true(d == 5 && v == -1);
        if (!strcmp(f->name, "last"))
            assert_true(d == 20 && v == 6);
        if (!strcmp(f->name, "approx_distinct"))
            assert_true(d == 3 && v == 3 && p == 2);
        s_release(f, st);
    }
}

/* ------------------------------------------------------------ through the table */

typedef struct {
    double delta[2], value[2], prev[2];
    int rows;
} one_t;

static void on_one(void *ud, const ed_change_t *h, const double *delta, const double *value,
                   const double *prev, const uint8_t *key) {
    one_t *o = ud;
    memcpy(o->delta, delta, sizeof o->delta);
    memcpy(o->value, value, sizeof o->value);
    memcpy(o->prev, prev, sizeof o->prev);
    o->rows++;
}

static void test_first_last_in_table(void **state) {
    const ed_aggfn_t *fns[] = {F("first"), F("last")};
    ed_aggspec_t spec = {2, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    uint64_t h = ed_hash64("k", 1);
    struct {
        double v;
        int64_t ts;
    } in[] = {{5, 1000}, {7, 900}, {8, 1200}, {9, 1200}, {1, 900}};
    for (size_t i = 0; i < 5; i++) {
        double vals[2] = {in[i].v, in[i].v};
        ed_aggtable_apply(t, 0, 0, 0, (const uint8_t *)"k", 1, h, vals, in[i].ts);
    }
    one_t o = {0};
    assert_int_equal(ed_aggtable_flush(t, on_one, &o), 1);
    assert_true(o.value[0] == 7 && o.delta[0] == 900);  /* first: ts 900, applied first */
    assert_true(o.value[1] == 9 && o.delta[1] == 1200); /* last: ts 1200, applied last */
    /* A later, older record changes first but not last. */
    double vals[2] = {3, 3};
    ed_aggtable_apply(t, 0, 0, 0, (const uint8_t *)"k", 1, h, vals, 800);
    memset(&o, 0, sizeof o);
    assert_int_equal(ed_aggtable_flush(t, on_one, &o), 1);
    assert_true(o.value[0] == 3 && o.delta[0] == 800 && o.prev[0] == 7);
    assert_true(o.value[1] == 9 && o.prev[1] == 9);
    ed_aggtable_destroy(&t);
}

/* ------------------------------------------------------------ approx_distinct */

/* Applies the value whose text is "v<i>" to (agg 0, window, key), hashed as
 * the keyer hashes a field's text. */
static void s_hll_apply_text(ed_aggtable_t *t, int64_t ws, int64_t we, const char *key,
                             uint64_t i) {
    char text[32];
    int n = snprintf(text, sizeof text, "v%llu", (unsigned long long)i);
    double vals[2];
    vals[0] = vals[1] = ed_aggfn_hash_v(ed_hash64(text, (size_t)n));
    ed_aggtable_apply(t, 0, ws, we, (const uint8_t *)key, (uint32_t)strlen(key),
                      ed_hash64(key, strlen(key)), vals, 0);
}

typedef struct {
    double value[256]; /* by key "k<i>" or window start / 10 */
    int rows;
} rows_t;

static void on_rows(void *ud, const ed_change_t *h, const double *delta, const double *value,
                    const double *prev, const uint8_t *key) {
    rows_t *o = ud;
    char k[16] = "";
    snprintf(k, sizeof k, "%.*s", (int)h->key_len, (const char *)key); /* not terminated */
    int i = h->window_end_ms ? (int)(h->window_start_ms / 10) : atoi(k + 1);
    assert_true(i >= 0 && i < 256);
    int c = h->nvals - 1; /* approx_distinct is the last compute */
    assert_true(delta[c] == value[c]);
    o->value[i] = value[c];
    o->rows++;
}

/* 1,000,000 distinct values, each applied twice, through the aggregation
 * table: the estimate is within 2 % of the exact count (measured: 995,311,
 * 0.47 % low); 1 … 200 distinct values per key exactly (the sparse form's
 * linear counting over 2^25 registers). */
static void test_approx_distinct_accuracy(void **state) {
    const ed_aggfn_t *fns[] = {F("approx_distinct")};
    ed_aggspec_t spec = {1, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    enum { M = 1000000 };
    for (uint64_t i = 0; i < M; i++)
        s_hll_apply_text(t, 0, 0, "k00000", i);
    for (uint64_t i = M; i-- > 0;)
        s_hll_apply_text(t, 0, 0, "k00000", i);
    for (int k = 1; k <= 200; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%05d", k);
        for (int rep = 0; rep < 3; rep++)
            for (int i = 0; i < k; i++)
                s_hll_apply_text(t, 0, 0, key, (uint64_t)k * 1000 + (uint64_t)i);
    }
    rows_t o = {0};
    assert_int_equal(ed_aggtable_flush(t, on_rows, &o), 201);
    double err = fabs(o.value[0] - M) / M;
    print_message("# approx_distinct of 1,000,000 distinct: %.0f (%.3f %% off)\n", o.value[0],
                  100 * err);
    assert_true(err <= 0.02);
    int off = 0;
    for (int k = 1; k <= 200; k++) {
        if (o.value[k] != k)
            fail_msg("%d distinct values estimated %g", k, o.value[k]);
        off += o.value[k] != k;
    }
    print_message("# 1..200 distinct: %d of 200 estimates not exact\n", off);
    ed_aggtable_destroy(&t);
}

/* Sketches of windows are freed with them (evicted, closed, deleted, or
 * the table destroyed: the sanitizer build's leak check fails otherwise),
 * and each window's estimate is its own values'. */
static void test_approx_distinct_windows_freed(void **state) {
    const ed_aggfn_t *fns[] = {F("count"), F("approx_distinct")};
    ed_aggspec_t spec = {2, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    for (int w = 0; w < 8; w++) /* window w: 10·(w+1) distinct values, some 8,000 (dense) */
        for (uint64_t i = 0; i < (w == 7 ? 8000u : 10u * (uint64_t)(w + 1)); i++)
            s_hll_apply_text(t, w * 10, w * 10 + 10, "k", i + 100000 * (uint64_t)w);
    rows_t o = {0};
    assert_int_equal(ed_aggtable_flush(t, on_rows, &o), 8);
    for (int w = 0; w < 7; w++)
        assert_true(fabs(o.value[w] - 10 * (w + 1)) <= 1);
    assert_true(fabs(o.value[7] - 8000) <= 0.02 * 8000);
    assert_int_equal(ed_aggtable_evict_ended(t, 0, 20), 2);    /* [0,10), [10,20) */
    assert_int_equal(ed_aggtable_evict_window(t, 0, 20, 30), 1); /* [20,30) */
    assert_int_equal(ed_aggtable_delete(t, 0, 30, 40, (const uint8_t *)"k", 1,
                                        ed_hash64("k", 1)), 1);
    memset(&o, 0, sizeof o);
    assert_int_equal(ed_aggtable_close_ended(t, 0, 50, on_rows, &o), 1); /* [40,50) */
    assert_true(o.value[4] == 50);
    assert_int_equal(ed_aggtable_count(t), 3); /* [50,60), [60,70), [70,80): destroyed */
    ed_aggtable_destroy(&t);
}

/* A record bridging two session windows merges their sketches: the
 * session's estimate equals one sketch's over all its values (ed_hll). */
static void test_approx_distinct_sessions_merge(void **state) {
    const ed_aggfn_t *fns[] = {F("count"), F("approx_distinct")};
    ed_aggspec_t spec = {2, fns};
    ed_aggsession_t *ss = ed_aggsession_new(&spec, 1);
    ed_window_t w = {.type = ED_WINDOW_SESSION, .gap_ms = 20};
    ed_hll_t *want = NULL;
    ed_aggsession_result_t res;
    uint64_t h = ed_hash64("k", 1);
    int64_t ts[] = {0, 5, 9, 40, 45, 49, 25}; /* [0, 29) and [40, 69), then 25 bridges */
    for (int r = 0; r < 7; r++) {
        for (int i = 0; i < 300; i++) {
            char text[32];
            int n = snprintf(text, sizeof text, "s%d-%d", r < 3 ? 0 : r < 6 ? 1 : 2, i + r * 7);
            ed_hll_add(&want, text, (size_t)n);
            double vals[2] = {0, ed_aggfn_hash_v(ed_hash64(text, (size_t)n))};
            assert_int_equal(ed_aggsession_apply(ss, 0, &w, ED_WATERMARK_NONE,
                                                 (const uint8_t *)"k", 1, h, vals, ts[r], &res),
                             0);
            assert_int_equal(res.merged, r == 6 && i == 0);
        }
        assert_int_equal(ed_aggsession_count(ss, 0), r < 3 ? 1 : r < 6 ? 2 : 1);
    }
    rows_t o = {0};
    assert_int_equal(ed_aggsession_close(ss, 0, INT64_MAX, on_rows, &o), 1);
    assert_true(o.value[0] == round(ed_hll_estimate(want)));
    assert_true(fabs(o.value[0] - ed_hll_estimate(want)) < 1);
    print_message("# merged session: %g distinct (sketch of the whole: %.1f)\n", o.value[0],
                  ed_hll_estimate(want));
    ed_hll_destroy(&want);
    ed_aggsession_destroy(&ss);
}

/* ------------------------------------------------------------ SQL */

static void s_ref(void *ctx, ed_buf_t *out, int incoming, const char *name, const char *suffix) {
    ed_buf_printf(out, "%s.%s%s", incoming ? "new" : "old", name, suffix ? suffix : "");
}

static void test_sql_merge_expressions(void **state) {
    /* Every column of every function expands to an expression that names
     * only its compute's columns. */
    ed_conf_keyfield_t key[1] = {{"k", "k"}};
    ed_conf_compute_t comp[8];
    for (int i = 0; i < 8; i++)
        comp[i] = (ed_conf_compute_t){(char *)ed_aggfns[i].name, &ed_aggfns[i], "x"};
    ed_conf_aggregation_t agg = {.name = "a", .key = key, .nkey = 1, .compute = comp,
                                 .ncompute = 8};
    ed_sink_rows_conf_t rc = {.agg = &agg, .sink = "s", .type = "test", .table = "a"};
    ed_sink_rows_t *rs = ed_sink_rows_new(&rc);
    int ncols;
    const ed_sink_col_t *cols = ed_sink_rows_cols(rs, &ncols);
    assert_int_equal(ncols, 1 + 1 + 1 + 1 + 1 + 3 + 2 + 2 + 1);
    struct {
        const char *col, *pg, *my;
    } want[] = {
        {"count", "old.count + new.count", NULL},
        {"sum", "old.sum + new.sum", NULL},
        {"min", "LEAST(old.min, new.min)", "COALESCE(LEAST(old.min, new.min), new.min, old.min)"},
        {"max", "GREATEST(old.max, new.max)", NULL},
        {"avg", "(old.avg_sum + new.avg_sum) / NULLIF(old.avg_n + new.avg_n, 0)", NULL},
        {"avg_sum", "old.avg_sum + new.avg_sum", NULL},
        {"avg_n", "old.avg_n + new.avg_n", NULL},
        {"first", "CASE WHEN new.first_ts < old.first_ts THEN new.first ELSE old.first END", NULL},
        {"first_ts", "LEAST(old.first_ts, new.first_ts)", NULL},
        {"last", "CASE WHEN new.last_ts >= old.last_ts THEN new.last ELSE old.last END", NULL},
        {"last_ts", "GREATEST(old.last_ts, new.last_ts)", NULL},
        {"approx_distinct", "GREATEST(old.approx_distinct, new.approx_distinct)", NULL},
    };
    for (int i = 1; i < ncols; i++) {
        const ed_sink_col_t *c = &cols[i];
        char name[64];
        snprintf(name, sizeof name, "%s%s", c->name, c->suffix ? c->suffix : "");
        assert_string_equal(name, want[i - 1].col);
        ed_buf_t pg = ED_BUF_INIT, my = ED_BUF_INIT;
        ed_sink_col_merge(c, 0, s_ref, NULL, &pg);
        ed_sink_col_merge(c, 1, s_ref, NULL, &my);
        assert_string_equal(pg.data, want[i - 1].pg);
        if (want[i - 1].my)
            assert_string_equal(my.data, want[i - 1].my);
        ed_buf_free(&pg);
        ed_buf_free(&my);
    }
    /* What each column inserts for a merged row. */
    double delta[8] = {3, 10, -2, 9, 12, 1000, 2000, 41},
           value[8] = {30, 100, -2, 9, 4, 1.5, 2.5, 41};
    ed_sink_row_t row = {.key = NULL, .key_len = 0, .delta_n = 3, .n = 30, .delta = delta,
                         .value = value};
    assert_int_equal(ed_sink_row_int(&row, &cols[1]), 3);       /* count: delta */
    assert_true(ed_sink_row_num(&row, &cols[2]) == 10);         /* sum: delta */
    assert_true(ed_sink_row_num(&row, &cols[3]) == -2);         /* min: value */
    assert_true(ed_sink_row_num(&row, &cols[5]) == 4);          /* avg: delta / delta_n */
    assert_true(ed_sink_row_num(&row, &cols[6]) == 12);         /* avg_sum: delta */
    assert_int_equal(ed_sink_row_int(&row, &cols[7]), 3);       /* avg_n: delta_n */
    assert_true(ed_sink_row_num(&row, &cols[8]) == 1.5);        /* first: value */
    assert_int_equal(ed_sink_row_int(&row, &cols[9]), 1000);    /* first_ts: delta */
    assert_int_equal(ed_sink_row_int(&row, &cols[11]), 2000);   /* last_ts */
    assert_int_equal(ed_sink_row_int(&row, &cols[12]), 41);     /* approx_distinct: value */
    ed_sink_rows_destroy(&rs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_rows),
        cmocka_unit_test(test_apply_merge_against_direct),
        cmocka_unit_test(test_ties_in_time),
        cmocka_unit_test(test_flush_bookkeeping),
        cmocka_unit_test(test_first_last_in_table),
        cmocka_unit_test(test_sql_merge_expressions),
        cmocka_unit_test(test_approx_distinct_accuracy),
        cmocka_unit_test(test_approx_distinct_windows_freed),
        cmocka_unit_test(test_approx_distinct_sessions_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
