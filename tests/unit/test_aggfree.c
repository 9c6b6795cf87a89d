/* test_aggfree.c — aggregation state that frees: the slab allocator,
 * deleting keys, evicting windows, and RSS staying bounded while 10M keys
 * are inserted and deleted in waves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "actors/aggregate/ed_aggfn.h"
#include "actors/aggregate/ed_aggtable.h"
#include "actors/aggregate/ed_slab.h"
#include "actors/decode/ed_hash.h"

/* The function table's row `name`. */
static const ed_aggfn_t *F(const char *name) {
    const ed_aggfn_t *f = ed_aggfn_find(name, strlen(name));
    assert_non_null(f);
    return f;
}

/* Resident set of this process, bytes (/proc/self/statm, second field). */
static size_t s_rss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    unsigned long size = 0, res = 0;
    assert_int_equal(fscanf(f, "%lu %lu", &size, &res), 2);
    fclose(f);
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

/* splitmix64: a deterministic stream for the random tests. */
static uint64_t s_rand(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------ slab */

typedef struct {
    ed_slab_t *s;
    size_t n;
} visit_t;

static void s_visit(void *ud, uint32_t ref, void *cell) {
    visit_t *v = ud;
    assert_int_equal(ed_slab_group(v->s, ref), 1);
    v->n++;
}

static void test_slab_reuse_and_release(void **state) {
    ed_slab_t *s = ed_slab_new();
    enum { N = 20000 };
    uint32_t *refs = calloc(N, sizeof *refs);
    /* Sizes across small classes, a large class and a huge cell. */
    for (int i = 0; i < N; i++) {
        size_t bytes = 8 + (size_t)(i % 300);
        refs[i] = ed_slab_alloc(s, (uint32_t)(i % 3), bytes);
        assert_true(refs[i] != 0);
        assert_int_equal((uintptr_t)ed_slab_ptr(s, refs[i]) % 8, 0);
        assert_int_equal(ed_slab_group(s, refs[i]), (uint32_t)(i % 3));
        memset(ed_slab_ptr(s, refs[i]), (int)(i & 0x7F), bytes); /* first word != FREE */
    }
    /* Every cell still holds what was written: no two cells overlap. */
    for (int i = 0; i < N; i++) {
        const uint8_t *p = ed_slab_ptr(s, refs[i]);
        size_t bytes = 8 + (size_t)(i % 300);
        for (size_t b = 0; b < bytes; b++)
            assert_int_equal(p[b], i & 0x7F);
    }
    size_t full = ed_slab_bytes(s);
    /* Free a random half, allocate as many again of the same sizes: the
     * freed cells are reused, nothing grows. */
    uint64_t x = 7;
    char *freed = calloc(N, 1);
    for (int i = 0; i < N; i++)
        if ((freed[i] = (char)(s_rand(&x) & 1)))
            ed_slab_free(s, refs[i]);
    for (int i = 0; i < N; i++)
        if (freed[i]) {
            refs[i] = ed_slab_alloc(s, (uint32_t)(i % 3), 8 + (size_t)(i % 300));
            memset(ed_slab_ptr(s, refs[i]), (int)(i & 0x7F), 8 + (size_t)(i % 300));
        }
    free(freed);
    assert_true(ed_slab_bytes(s) <= full);
    /* Count the live cells of group 1 by visiting them. */
    visit_t seen = {s, 0};
    ed_slab_group_each(s, 1, s_visit, &seen);
    assert_int_equal(seen.n, (N + 1) / 3);
    /* Releasing group 1 leaves groups 0 and 2 intact; freeing the rest
     * releases every page. */
    ed_slab_release_group(s, 1);
    for (int i = 0; i < N; i++)
        if (i % 3 != 1)
            ed_slab_free(s, refs[i]);
    assert_int_equal(s->live_pages, 0);
    /* A huge cell is a page of its own and goes with its last free. */
    uint32_t h = ed_slab_alloc(s, 0, 1u << 20);
    memset(ed_slab_ptr(s, h), 1, 1u << 20);
    assert_int_equal(s->live_pages, 1);
    ed_slab_free(s, h);
    assert_int_equal(s->live_pages, 0);
    free(refs);
    ed_slab_destroy(&s);
    assert_null(s);
}

/* ------------------------------------------------------------ delete */

typedef struct {
    int64_t *n; /* per key id: n of the last row seen, -1 = none */
    size_t rows;
} seen_t;

static int s_key_id(const uint8_t *key, uint32_t len) {
    char buf[16] = {0};
    assert_true(len > 1 && len < sizeof buf && key[0] == 'k');
    memcpy(buf, key + 1, len - 1);
    return atoi(buf);
}

static void on_seen(void *ud, const ed_change_t *h, const double *delta, const double *value,
                    const double *prev, const uint8_t *key) {
    seen_t *s = ud;
    s->n[s_key_id(key, h->key_len)] = h->n;
    assert_true(value[0] == (double)h->n);
    assert_true(delta[0] == (double)h->delta_n);
    s->rows++;
}

static int s_key(char *buf, int i) {
    return snprintf(buf, 16, "k%d", i);
}

static void apply_k(ed_aggtable_t *t, uint16_t agg, int64_t ws, int64_t we, int i) {
    char k[16];
    int n = s_key(k, i);
    ed_aggtable_apply(t, agg, ws, we, (const uint8_t *)k, (uint32_t)n, ed_hash64(k, (size_t)n),
                      NULL, 0);
}

static int delete_k(ed_aggtable_t *t, uint16_t agg, int64_t ws, int64_t we, int i) {
    char k[16];
    int n = s_key(k, i);
    return ed_aggtable_delete(t, agg, ws, we, (const uint8_t *)k, (uint32_t)n,
                              ed_hash64(k, (size_t)n));
}

static void test_delete_basics(void **state) {
    const ed_aggfn_t *fns[] = {F("count")};
    ed_aggspec_t spec = {1, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    int64_t n[8];
    seen_t s = {n, 0};
    assert_int_equal(delete_k(t, 0, 0, 0, 1), 0); /* nothing to delete */
    for (int i = 0; i < 8; i++)
        for (int r = 0; r <= i; r++)
            apply_k(t, 0, 0, 0, i);
    assert_int_equal(ed_aggtable_count(t), 8);
    /* Delete a changed key: its change is dropped, the others still flush. */
    assert_int_equal(delete_k(t, 0, 0, 0, 3), 1);
    assert_int_equal(delete_k(t, 0, 0, 0, 3), 0);
    memset(n, 0xff, sizeof n);
    assert_int_equal(ed_aggtable_flush(t, on_seen, &s), 7);
    for (int i = 0; i < 8; i++)
        assert_int_equal(n[i], i == 3 ? -1 : i + 1);
    /* Delete a clean key, then see it again: it starts over (n == delta_n,
     * i.e. a first flush). */
    assert_int_equal(delete_k(t, 0, 0, 0, 5), 1);
    apply_k(t, 0, 0, 0, 5);
    memset(n, 0xff, sizeof n);
    assert_int_equal(ed_aggtable_flush(t, on_seen, &s), 1);
    assert_int_equal(n[5], 1);
    assert_int_equal(ed_aggtable_count(t), 7);
    ed_aggtable_destroy(&t);
}

/* The oracle of test_delete_random: per (window, key id) the count. */
enum { R_KEYS = 3000, R_WIN = 4 };

static void on_rand(void *ud, const ed_change_t *h, const double *delta, const double *value,
                    const double *prev, const uint8_t *key) {
    int64_t *got = ud;
    int w = (int)(h->window_start_ms / 1000);
    assert_true(w >= 0 && w < R_WIN);
    got[w * R_KEYS + s_key_id(key, h->key_len)] = h->n;
}

static void test_delete_random(void **state) {
    /* Random applies and deletes over 3000 keys in a cumulative state and 3
     * windows, checked after every few thousand steps against a plain
     * array of counts: catches a backward shift that loses or hides an
     * entry, across wrap-around, growth and shrinking. */
    const ed_aggfn_t *fns[] = {F("count")};
    ed_aggspec_t spec = {1, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    int64_t *want = calloc(R_WIN * R_KEYS, sizeof *want);
    int64_t *got = calloc(R_WIN * R_KEYS, sizeof *got);
    uint64_t x = 42;
    size_t live = 0;
    for (int step = 0; step < 400000; step++) {
        uint64_t r = s_rand(&x);
        int w = (int)(r % R_WIN), k = (int)((r >> 8) % R_KEYS);
        /* Phases: mostly inserting, then mostly deleting, so the table grows
         * and shrinks several times. */
        int del_pct = ((step / 50000) % 2) ? 80 : 25;
        int64_t ws = w ? w * 1000 : 0, we = w ? w * 1000 + 1000 : 0;
        if ((int)((r >> 40) % 100) < del_pct) {
            int had = want[w * R_KEYS + k] > 0;
            assert_int_equal(delete_k(t, 0, ws, we, k), had);
            if (had)
                live--;
            want[w * R_KEYS + k] = 0;
        } else {
            apply_k(t, 0, ws, we, k);
            if (want[w * R_KEYS + k]++ == 0)
                live++;
        }
        assert_int_equal(ed_aggtable_count(t), live);
        if (step % 4999 == 0) {
            /* Every live entry is found: re-apply all (each becomes dirty)
             * and compare the flushed counts, then take the re-apply back
             * out of the oracle's view by adding it there too. */
            memset(got, 0, R_WIN * R_KEYS * sizeof *got);
            ed_aggtable_flush(t, on_rand, got); /* clears the dirty state */
            for (int i = 0; i < R_WIN * R_KEYS; i++)
                if (want[i]) {
                    int ww = i / R_KEYS;
                    apply_k(t, 0, ww ? ww * 1000 : 0, ww ? ww * 1000 + 1000 : 0, i % R_KEYS);
                    want[i]++;
                }
            memset(got, 0, R_WIN * R_KEYS * sizeof *got);
            assert_int_equal(ed_aggtable_flush(t, on_rand, got), live);
            for (int i = 0; i < R_WIN * R_KEYS; i++)
                if (got[i] != want[i])
                    fail_msg("window %d key %d: table %lld, oracle %lld (step %d)", i / R_KEYS,
                             i % R_KEYS, (long long)got[i], (long long)want[i], step);
        }
    }
    free(want);
    free(got);
    ed_aggtable_destroy(&t);
}

/* ------------------------------------------------------------ windows */

typedef struct {
    int rows;
    int per_window[8]; /* rows per window start / 60000 */
    int64_t n_total;
} win_t;

static void on_win(void *ud, const ed_change_t *h, const double *delta, const double *value,
                   const double *prev, const uint8_t *key) {
    win_t *w = ud;
    w->rows++;
    assert_true(h->window_end_ms - h->window_start_ms == 60000);
    w->per_window[h->window_start_ms / 60000]++;
    w->n_total += h->n;
}

typedef struct {
    int cum, w1, w2, agg1;
} tally_t;

static void on_tally(void *ud, const ed_change_t *h, const double *d, const double *val,
                     const double *p, const uint8_t *key) {
    tally_t *x = ud;
    if (h->agg == 1)
        x->agg1++;
    else if (!h->window_end_ms)
        x->cum++;
    else if (h->window_start_ms == 60000)
        x->w1++;
    else if (h->window_start_ms == 120000)
        x->w2++;
    else
        fail_msg("row of an evicted window");
}

static void test_evict_windows(void **state) {
    const ed_aggfn_t *f0[] = {F("count")};
    const ed_aggfn_t *f1[] = {F("sum")};
    ed_aggspec_t specs[] = {{1, f0}, {1, f1}};
    ed_aggtable_t *t = ed_aggtable_new(specs, 2);
    /* Windows [0,1m) with 5000 keys, [1m,2m) with 100, [2m,3m) with 10;
     * cumulative agg 0 with 50 keys; agg 1 has window [0,1m) too. */
    int sizes[3] = {5000, 100, 10};
    for (int w = 0; w < 3; w++)
        for (int i = 0; i < sizes[w]; i++)
            apply_k(t, 0, w * 60000, w * 60000 + 60000, i);
    for (int i = 0; i < 50; i++)
        apply_k(t, 0, 0, 0, i);
    double one = 1;
    ed_aggtable_apply(t, 1, 0, 60000, (const uint8_t *)"k1", 2, ed_hash64("k1", 2), &one, 0);
    assert_int_equal(ed_aggtable_count(t), 5000 + 100 + 10 + 50 + 1);

    /* window_each visits exactly one window's entries. */
    win_t v = {0};
    assert_int_equal(ed_aggtable_window_each(t, 0, 60000, 120000, on_win, &v), 100);
    assert_int_equal(v.rows, 100);
    assert_int_equal(v.per_window[1], 100);
    assert_int_equal(ed_aggtable_window_each(t, 0, 180000, 240000, on_win, &v), 0);

    /* The big window (most of the table: the one-pass path), with its
     * changes unflushed: they are dropped, the other windows' are not. */
    size_t before = ed_aggtable_bytes(t);
    assert_int_equal(ed_aggtable_evict_window(t, 0, 0, 60000), 5000);
    assert_int_equal(ed_aggtable_evict_window(t, 0, 0, 60000), 0);
    assert_int_equal(ed_aggtable_count(t), 100 + 10 + 50 + 1);
    assert_true(ed_aggtable_bytes(t) < before / 4);
    memset(&v, 0, sizeof v);
    /* Flush: 100 + 10 windowed rows of agg 0, 1 of agg 1, 50 cumulative. */
    tally_t tl = {0};
    assert_int_equal(ed_aggtable_flush(t, on_tally, &tl), 161);
    assert_true(tl.cum == 50 && tl.w1 == 100 && tl.w2 == 10 && tl.agg1 == 1);

    /* Small windows (the per-entry path), dirty again, by end time: every
     * window of agg 0 ending by 2m goes; agg 1's window [0,1m) stays. */
    for (int i = 0; i < 100; i++)
        apply_k(t, 0, 60000, 120000, i);
    assert_int_equal(ed_aggtable_evict_ended(t, 0, 120000), 100);
    assert_int_equal(ed_aggtable_count(t), 10 + 50 + 1);
    memset(&tl, 0, sizeof tl);
    assert_int_equal(ed_aggtable_flush(t, on_tally, &tl), 0);
    /* Keys of an evicted window start a new window entry from scratch. */
    apply_k(t, 0, 60000, 120000, 7);
    memset(&v, 0, sizeof v);
    assert_int_equal(ed_aggtable_window_each(t, 0, 60000, 120000, on_win, &v), 1);
    assert_int_equal(v.n_total, 1);
    assert_int_equal(ed_aggtable_evict_ended(t, 0, INT64_MAX), 11);
    assert_int_equal(ed_aggtable_evict_ended(t, 1, INT64_MAX), 1);
    assert_int_equal(ed_aggtable_count(t), 50);
    ed_aggtable_destroy(&t);
}

/* ------------------------------------------------------------ RSS */

static void apply_range(ed_aggtable_t *t, int64_t ws, int64_t we, int from, int to) {
    for (int i = from; i < to; i++)
        apply_k(t, 0, ws, we, i);
}

static void on_nothing(void *ud, const ed_change_t *h, const double *d, const double *v,
                       const double *p, const uint8_t *k) {
    ++*(size_t *)ud;
}

static void test_rss_bounded_in_waves(void **state) {
    /* 10M keys inserted and deleted in 10 waves of 1M: each wave inserts
     * 1M new keys (flushed, as a running pipeline does) and deletes the
     * previous wave's, so 1M-2M keys are live. Then 10M more in 1M-key
     * tumbling windows, each evicted once the next is full. RSS is read
     * from /proc/self/statm; the bound is on memory only. */
    enum { WAVE = 1000000, NWAVES = 10 };
    const ed_aggfn_t *fns[] = {F("count")};
    ed_aggspec_t spec = {1, fns};
    ed_aggtable_t *t = ed_aggtable_new(&spec, 1);
    size_t rss0 = s_rss(), rows = 0;
    size_t peak_rss[NWAVES], peak_bytes = 0, first_peak = 0;
    for (int w = 0; w < NWAVES; w++) {
        apply_range(t, 0, 0, w * WAVE, (w + 1) * WAVE);
        ed_aggtable_flush(t, on_nothing, &rows);
        size_t b = ed_aggtable_bytes(t);
        if (b > peak_bytes)
            peak_bytes = b;
        peak_rss[w] = s_rss();
        if (w > 0)
            for (int i = (w - 1) * WAVE; i < w * WAVE; i++)
                assert_int_equal(delete_k(t, 0, 0, 0, i), 1);
        size_t live = ed_aggtable_count(t);
        assert_int_equal(live, WAVE);
        if (w == 1)
            first_peak = peak_rss[w];
        print_message("wave %d: %zu keys live, table %.1f MiB (%.1f B/key), RSS %.1f MiB at the "
                      "peak\n",
                      w, live, b / 1048576.0, (double)b / (w ? 2.0 * WAVE : WAVE),
                      (peak_rss[w] - rss0) / 1048576.0);
    }
    /* The table never held more than 2M keys' worth, at <= 80 B a key. */
    assert_true(peak_bytes <= 2u * WAVE * 80u);
    for (int w = 2; w < NWAVES; w++)
            if (peak_rss[w] > first_peak + first_peak / 10)
                fail_msg("RSS grew from %.1f MiB (wave 1) to %.1f MiB (wave %d)",
                         first_peak / 1048576.0, peak_rss[w] / 1048576.0, w);
    /* Deleting the last wave gives the memory back. */
    for (int i = (NWAVES - 1) * WAVE; i < NWAVES * WAVE; i++)
        assert_int_equal(delete_k(t, 0, 0, 0, i), 1);
    assert_int_equal(ed_aggtable_count(t), 0);
    assert_true(ed_aggtable_bytes(t) < 64 * 1024);
    size_t rss_empty = s_rss();
    print_message("all deleted: table %zu B, RSS %.1f MiB above the start\n", ed_aggtable_bytes(t),
                  ((double)rss_empty - (double)rss0) / 1048576.0);
    assert_true(rss_empty < rss0 + (first_peak - rss0) / 10);

    /* Windows: 10 tumbling windows of 1M keys; window w is evicted when
     * window w+1 is full. */
    size_t wpeak = 0;
    for (int w = 0; w < NWAVES; w++) {
        apply_range(t, w * 60000, w * 60000 + 60000, w * WAVE, (w + 1) * WAVE);
        ed_aggtable_flush(t, on_nothing, &rows);
        size_t r = s_rss();
        if (w == 1)
            wpeak = r;
        if (w > 1 && r > wpeak + wpeak / 10)
            fail_msg("RSS grew from %.1f MiB (window 1) to %.1f MiB (window %d)",
                     wpeak / 1048576.0, r / 1048576.0, w);
        if (w > 0)
            assert_int_equal(ed_aggtable_evict_ended(t, 0, w * 60000), WAVE);
        assert_int_equal(ed_aggtable_count(t), WAVE);
    }
    assert_int_equal(ed_aggtable_evict_ended(t, 0, INT64_MAX), WAVE);
    assert_true(ed_aggtable_bytes(t) < 64 * 1024);
    ed_aggtable_destroy(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slab_reuse_and_release),
        cmocka_unit_test(test_delete_basics),
        cmocka_unit_test(test_delete_random),
        cmocka_unit_test(test_evict_windows),
        cmocka_unit_test(test_rss_bounded_in_waves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
