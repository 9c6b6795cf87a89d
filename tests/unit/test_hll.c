/* test_hll.c — HyperLogLog: estimates against exact distinct counts (a
 * bitmap over the drawn values) from 1 to 1,000,000, merge equal to the
 * sketch of the whole stream, encoding round trip and every corruption
 * refused, state sizes, and hashes that all land in one partition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/aggregate/ed_hll.h"
#include "actors/decode/ed_hash.h"
#include "runtime/ed_common.h"

static uint64_t s_rng(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Adds the value v as the text a JSON field would carry ("cust-<v>"). */
static void s_add(ed_hll_t **h, uint64_t v) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "cust-%llu", (unsigned long long)v);
    ed_hll_add(h, buf, (size_t)n);
}

/* Draws `draws` values from [0, range) into *h and returns the exact number
 * of distinct values drawn, counted in a bitmap. */
static uint64_t s_stream(ed_hll_t **h, uint64_t seed, uint64_t range, uint64_t draws) {
    uint8_t *seen = calloc((size_t)(range / 8 + 1), 1);
    uint64_t exact = 0, rng = seed;
    for (uint64_t i = 0; i < draws; i++) {
        uint64_t v = s_rng(&rng) % range;
        if (!(seen[v / 8] & (1u << (v % 8)))) {
            seen[v / 8] |= (uint8_t)(1u << (v % 8));
            exact++;
        }
        s_add(h, v);
    }
    free(seen);
    return exact;
}

static void t_empty(void **state) {
    (void)state;
    assert_true(ed_hll_estimate(NULL) == 0.0);
    assert_int_equal(ed_hll_size(NULL), 0);
    ed_hll_t *h = ed_hll_new(ED_HLL_P);
    assert_true(ed_hll_estimate(h) == 0.0);
    assert_true(ed_hll_is_sparse(h));
    assert_int_equal(ed_hll_size(h), 8);
    assert_int_equal(ed_hll_precision(h), 15);
    ed_hll_destroy(&h);
    assert_null(h);
    ed_hll_destroy(&h);
    /* a NULL slot is an empty sketch: add creates it */
    assert_int_equal(ed_hll_add(&h, "x", 1), 1);
    assert_non_null(h);
    assert_int_equal(ed_hll_add(&h, "x", 1), 0); /* the same value again */
    assert_int_equal(ed_hll_size(h), 12);
    assert_true(fabs(ed_hll_estimate(h) - 1.0) < 0.01);
    ed_hll_destroy(&h);
}

/* Relative error ≤ 2 % at every cardinality; up to 3,000 (sparse: linear
 * counting over 2^25 registers) the estimate rounds to the exact count. */
static void t_accuracy(void **state) {
    (void)state;
    static const uint64_t targets[] = {1,     2,     3,     5,     10,     20,     50,
                                       100,   200,   500,   1000,  2000,   3000,   5000,
                                       6500,  7000,  10000, 20000, 40000, 80000,  120000,
                                       160000,
                                       200000, 500000, 1000000};
    double worst = 0;
    for (size_t t = 0; t < ED_ARRAY_SIZE(targets); t++) {
        ed_hll_t *h = NULL;
        /* draw 1.5× the range: about 78 % of the range (1 − e^−1.5) distinct, with
         * repeats, so the exact count is not known in advance */
        uint64_t range = targets[t] + targets[t] * 2 / 7 + 1;
        uint64_t exact = s_stream(&h, 1000 + t, range, range + range / 2);
        double est = ed_hll_estimate(h);
        double rel = fabs(est - (double)exact) / (double)exact;
        print_message("# distinct %8llu  estimate %11.1f  error %+.3f %%  %s %zu bytes\n",
                      (unsigned long long)exact, est, 100.0 * (est - (double)exact) / (double)exact,
                      ed_hll_is_sparse(h) ? "sparse" : "dense ", ed_hll_size(h));
        if (rel > 0.02)
            fail_msg("distinct %llu: estimate %.1f is %.2f %% off (> 2 %%)",
                     (unsigned long long)exact, est, 100 * rel);
        if (exact <= 3000 && llround(est) != (long long)exact)
            fail_msg("distinct %llu: estimate %.2f does not round to it",
                     (unsigned long long)exact, est);
        if (rel > worst)
            worst = rel;
        ed_hll_destroy(&h);
    }
    print_message("# worst relative error %.3f %%\n", 100 * worst);
}

/* At 1M distinct, several independent streams: all within 2 %. */
static void t_million_seeds(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        ed_hll_t *h = NULL;
        uint64_t exact = s_stream(&h, seed * 7919, 1290000, 1935000);
        double est = ed_hll_estimate(h);
        double rel = fabs(est - (double)exact) / (double)exact;
        print_message("# seed %llu: distinct %llu estimate %.0f error %+.3f %%\n",
                      (unsigned long long)seed, (unsigned long long)exact, est,
                      100.0 * (est - (double)exact) / (double)exact);
        assert_true(exact > 995000 && exact < 1010000);
        assert_false(ed_hll_is_sparse(h));
        assert_int_equal(ed_hll_size(h), 8 + 24576 + 256);
        if (rel > 0.02)
            fail_msg("seed %llu: %.2f %% off", (unsigned long long)seed, 100 * rel);
        ed_hll_destroy(&h);
    }
}

/* Partial sketches of 8 "aggregators" (values split by hash), merged in
 * some order, equal the sketch of the whole stream byte for byte — over
 * sizes where the partials and the result are sparse, mixed and dense. */
static void t_merge_equals_whole(void **state) {
    (void)state;
    static const uint64_t sizes[] = {10, 300, 6000, 40000, 400000};
    for (size_t si = 0; si < ED_ARRAY_SIZE(sizes); si++) {
        ed_hll_t *whole = NULL, *part[8] = {NULL};
        uint64_t rng = 77 + si;
        int sparse_parts = 0;
        for (uint64_t i = 0; i < sizes[si]; i++) {
            char buf[32];
            int n = snprintf(buf, sizeof buf, "u%llu",
                             (unsigned long long)(s_rng(&rng) % (sizes[si] * 2)));
            ed_hll_add(&whole, buf, (size_t)n);
            uint32_t a = ed_hash_partition(ed_hash64(buf, (size_t)n), 8);
            ed_hll_add(&part[a], buf, (size_t)n);
        }
        for (int a = 0; a < 8; a++)
            sparse_parts += part[a] && ed_hll_is_sparse(part[a]);
        /* merge into a NULL slot, then the rest in a scrambled order */
        ed_hll_t *m = NULL;
        static const int order[8] = {5, 2, 7, 0, 3, 6, 1, 4};
        for (int k = 0; k < 8; k++)
            assert_int_equal(ed_hll_merge(&m, part[order[k]]), 0);
        assert_int_equal(ed_hll_size(m), ed_hll_size(whole));
        assert_memory_equal(ed_hll_bytes(m), ed_hll_bytes(whole), ed_hll_size(whole));
        assert_true(ed_hll_estimate(m) == ed_hll_estimate(whole));
        /* merging a sketch into itself (a copy) changes nothing */
        ed_hll_t *c = ed_hll_dup(m);
        assert_int_equal(ed_hll_merge(&m, c), 0);
        assert_memory_equal(ed_hll_bytes(m), ed_hll_bytes(c), ed_hll_size(c));
        print_message("# %llu values: %d sparse partials, merged %s\n",
                      (unsigned long long)sizes[si], sparse_parts,
                      ed_hll_is_sparse(m) ? "sparse" : "dense");
        ed_hll_destroy(&c);
        ed_hll_destroy(&m);
        ed_hll_destroy(&whole);
        for (int a = 0; a < 8; a++)
            ed_hll_destroy(&part[a]);
    }
    /* union of overlapping sets: [0, 60000) ∪ [40000, 100000) = 100000 */
    ed_hll_t *a = NULL, *b = NULL;
    for (uint64_t v = 0; v < 60000; v++)
        s_add(&a, v);
    for (uint64_t v = 40000; v < 100000; v++)
        s_add(&b, v);
    assert_int_equal(ed_hll_merge(&a, b), 0);
    assert_true(fabs(ed_hll_estimate(a) - 100000) < 2000);
    assert_int_equal(ed_hll_merge(&a, NULL), 0);
    ed_hll_t *p12 = ed_hll_new(12);
    s_add(&p12, 1);
    assert_int_equal(ed_hll_merge(&a, p12), ED_EINVAL); /* precisions differ */
    ed_hll_destroy(&p12);
    ed_hll_destroy(&a);
    ed_hll_destroy(&b);
}

/* Hashes that all pick aggregator 0 of 8 (the sketch of the key field
 * itself): the estimate stays within 2 %. */
static void t_one_partition(void **state) {
    (void)state;
    ed_hll_t *h = NULL;
    uint64_t n = 0;
    for (uint64_t v = 0; n < 50000; v++) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "k%llu", (unsigned long long)v);
        if (ed_hash_partition(ed_hash64(buf, (size_t)len), 8) != 0)
            continue;
        ed_hll_add(&h, buf, (size_t)len);
        n++;
    }
    double est = ed_hll_estimate(h);
    print_message("# 50000 values of one partition: estimate %.0f\n", est);
    assert_true(fabs(est - 50000) / 50000 <= 0.02);
    ed_hll_destroy(&h);
}

static void t_sizes(void **state) {
    (void)state;
    ed_hll_t *h = NULL;
    uint64_t v = 0;
    uint32_t last_nonzero = 0;
    /* sparse: 8 + 4 bytes per entry (a distinct 25-bit index), until 6208 of them */
    while (!h || ed_hll_is_sparse(h)) {
        s_add(&h, v++);
        if (ed_hll_is_sparse(h)) {
            size_t sz = ed_hll_size(h);
            assert_int_equal((sz - 8) % 4, 0);
            last_nonzero = (uint32_t)((sz - 8) / 4);
            assert_true(ed_hll_mem(h) >= sz && ed_hll_mem(h) <= 8 + 2 * (sz - 8) + 8);
        }
    }
    assert_int_equal(last_nonzero, 6208);
    assert_int_equal(ed_hll_size(h), 8 + 24576 + 256);
    print_message("# dense after %llu distinct values\n", (unsigned long long)v);
    assert_true(v > 6208 && v < 7500);
    ed_hll_destroy(&h);
    for (int p = ED_HLL_P_MIN; p <= ED_HLL_P_MAX; p++) {
        ed_hll_t *g = ed_hll_new(p);
        for (uint64_t k = 0; k < 40000; k++)
            s_add(&g, k);
        double err = fabs(ed_hll_estimate(g) - 40000) / 40000;
        /* within 4 standard errors of 1.04 / sqrt(m) */
        assert_true(err < 4 * 1.04 / sqrt((double)(1u << p)));
        ed_hll_destroy(&g);
    }
}

static void t_encoding(void **state) {
    (void)state;
    char err[256];
    static const uint64_t sizes[] = {0, 1, 100, 3000, 100000};
    for (size_t si = 0; si < ED_ARRAY_SIZE(sizes); si++) {
        ed_hll_t *h = ed_hll_new(ED_HLL_P), *d = NULL;
        for (uint64_t v = 0; v < sizes[si]; v++)
            s_add(&h, v * 31);
        assert_int_equal(ed_hll_decode(ed_hll_bytes(h), ed_hll_size(h), &d, err, sizeof err), 0);
        assert_int_equal(ed_hll_size(d), ed_hll_size(h));
        assert_memory_equal(ed_hll_bytes(d), ed_hll_bytes(h), ed_hll_size(h));
        assert_true(ed_hll_estimate(d) == ed_hll_estimate(h));
        /* the decoded sketch keeps working */
        s_add(&d, 999999999);
        s_add(&h, 999999999);
        assert_memory_equal(ed_hll_bytes(d), ed_hll_bytes(h), ed_hll_size(h));
        ed_hll_destroy(&d);
        ed_hll_destroy(&h);
    }
    /* corruptions, each refused with a message naming it */
    ed_hll_t *s = NULL, *dn = NULL;
    for (uint64_t v = 0; v < 50; v++)
        s_add(&s, v);
    for (uint64_t v = 0; v < 20000; v++)
        s_add(&dn, v);
    size_t sl = ed_hll_size(s), dl = ed_hll_size(dn);
    uint8_t *sb = malloc(sl), *db = malloc(dl);
    static const char *needles[] = {
        "not a version-2 sketch",         /* 0: magic */
        "not a version-2 sketch",         /* 1: version */
        "precision 3 outside [4, 18]",    /* 2 */
        "form 9 is neither",              /* 3 */
        "expected 208 bytes",             /* 4: sparse length off by one */
        "out of range",                   /* 5: rank 0 */
        "out of range",                   /* 6: rank 63 > 50 */
        "must be sorted and unique",      /* 7: entries 4 and 5 swapped */
        "must be sorted and unique",      /* 8: entry 6 repeats entry 5 */
        "at most 50",                     /* 9: a dense register of 63 */
        "bytes 4-7 of a dense sketch",    /* 10 */
        "dense sketch of 24839 bytes",    /* 11: dense length off by one */
    };
    assert_int_equal(sl, 8 + 4 * 50); /* 50 values, no register shared */
    for (size_t i = 0; i < ED_ARRAY_SIZE(needles); i++) {
        int dense = i >= 9;
        uint8_t *b = dense ? db : sb;
        size_t len = dense ? dl : sl;
        memcpy(b, ed_hll_bytes(dense ? dn : s), len);
        uint32_t e[8];
        memcpy(e, sb + 8, sizeof e);
        switch (i) {
        case 0: b[0] = 0; break;
        case 1: b[1] = 7; break;
        case 2: b[2] = 3; break;
        case 3: b[3] = 9; break;
        case 4: len--; break;
        case 5: e[3] &= ~63u; memcpy(sb + 8, e, sizeof e); break;
        case 6: e[3] |= 63u; memcpy(sb + 8, e, sizeof e); break;
        case 7: memcpy(sb + 8 + 16, &e[5], 4); memcpy(sb + 8 + 20, &e[4], 4); break;
        case 8: memcpy(sb + 8 + 24, &e[5], 4); break;
        case 9: b[8 + 100] = 0xff; break;
        case 10: b[4] = 1; break;
        case 11: len--; break;
        }
        ed_hll_t *out = (ed_hll_t *)1;
        err[0] = '\0';
        assert_int_equal(ed_hll_decode(b, len, &out, err, sizeof err), ED_EINVAL);
        assert_null(out);
        if (!strstr(err, needles[i]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, needles[i]);
    }
    /* every register saturated (rank 65 − p): the largest count a 64-bit
     * hash tells apart, not infinity */
    memset(db, 0, dl);
    memcpy(db, ed_hll_bytes(dn), 8);
    for (uint32_t i = 0; i < (1u << 15); i++) /* 6-bit little-endian packing */
        for (uint32_t bit = 0; bit < 6; bit++)
            if (50 >> bit & 1)
                db[8 + (i * 6 + bit) / 8] |= (uint8_t)(1u << ((i * 6 + bit) % 8));
    uint32_t full = 1u << 15;
    memcpy(db + 8 + 24576 + 50 * 4, &full, 4);
    ed_hll_t *sat = NULL;
    assert_int_equal(ed_hll_decode(db, dl, &sat, err, sizeof err), 0);
    assert_true(ed_hll_estimate(sat) == 18446744073709551616.0);
    ed_hll_destroy(&sat);
    ed_hll_t *out;
    assert_int_equal(ed_hll_decode(sb, 5, &out, err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "shorter than the 8-byte header"));
    free(sb);
    free(db);
    ed_hll_destroy(&s);
    ed_hll_destroy(&dn);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_empty),         cmocka_unit_test(t_accuracy),
        cmocka_unit_test(t_million_seeds), cmocka_unit_test(t_merge_equals_whole),
        cmocka_unit_test(t_one_partition), cmocka_unit_test(t_sizes),
        cmocka_unit_test(t_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
