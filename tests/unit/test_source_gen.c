/* test_source_gen.c — the generator source driver: count, eof, key range,
 * values, determinism, pacing, pause, synthetic event time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/ed_registry.h"
#include "actors/sources/ed_source.h"
#include "config/ed_config.h"

extern const ed_source_type_t ed_source_generator;
static const ed_source_type_t *T = &ed_source_generator;

typedef struct {
    uint64_t n;
    uint64_t hash;   /* FNV-1a over keys and values, in order */
    uint64_t maxkey; /* largest key index seen */
    uint64_t *hits;  /* per key index, when counting */
    uint64_t nkeys;
    int64_t next_off; /* expected offset */
} gen_stats_t;

static void s_collect(void *ud, const ed_input_t *in) {
    gen_stats_t *g = ud;
    assert_int_equal(in->offset, g->next_off);
    g->next_off++;
    assert_true(in->key_len >= 2 && in->key_len < 22);
    assert_int_equal(in->key[0], 'k');
    assert_int_equal(in->key[in->key_len], '\0');
    char *end;
    uint64_t k = strtoull(in->key + 1, &end, 10);
    assert_ptr_equal(end, in->key + in->key_len);
    assert_true(in->key_len == 2 || in->key[1] != '0'); /* no leading zeros */
    if (k > g->maxkey)
        g->maxkey = k;
    if (g->hits) {
        assert_true(k < g->nkeys);
        g->hits[k]++;
    }
    /* value in [0, 1000) with at most two decimals */
    assert_true(in->num >= 0 && in->num < 1000);
    double cents = in->num * 100;
    assert_true(fabs(cents - round(cents)) < 1e-6);
    assert_true(in->ts_ms > 1600000000000LL);
    assert_int_equal(in->partition, -1);
    assert_null(in->topic);
    assert_null(in->file);
    assert_int_equal(in->len, 0);
    for (size_t i = 0; i < in->key_len; i++)
        g->hash = (g->hash ^ (unsigned char)in->key[i]) * 1099511628211ULL;
    uint64_t c = (uint64_t)llround(cents);
    g->hash = (g->hash ^ c) * 1099511628211ULL;
    g->n++;
}

/* The configs s_conf loaded, freed after the last test. */
static ed_config_t *s_confs[64];
static int s_nconfs;

static int s_free_confs(void **state) {
    (void)state;
    while (s_nconfs)
        ed_config_destroy(&s_confs[--s_nconfs]);
    return 0;
}

/* A generator source loaded from YAML, as eddy builds it. */
static const ed_conf_source_t *s_conf(uint64_t events, uint64_t keys, double rate, uint64_t seed) {
    char yaml[512], err[1024];
    snprintf(yaml, sizeof yaml,
             "sources:\n  gen:\n    generator: { events: %llu, keys: %llu, rate: %g, seed: %llu }\n"
             "    to: n\nsinks:\n  n: { null: {} }\n",
             (unsigned long long)events, (unsigned long long)keys, rate,
             (unsigned long long)seed);
    ed_config_t *c = NULL;
    if (ed_config_load_string(yaml, "gen.yaml", ed_registry(), &c, err, sizeof err))
        fail_msg("config: %s", err);
    assert_true(s_nconfs < 64);
    s_confs[s_nconfs++] = c;
    return &c->sources[0];
}

static void *s_open(const ed_conf_source_t *src) {
    void *ctx = NULL;
    char err[256] = "";
    int rc = T->open(&ctx, NULL, src, err, sizeof err);
    if (rc)
        fail_msg("open: %s", err);
    return ctx;
}

/* Reads everything with `max` per call; returns the number of read calls. */
static int s_run(void *ctx, int max, gen_stats_t *g, int *eof) {
    char err[256];
    int calls = 0;
    while (!*eof) {
        int n = T->read(ctx, max, s_collect, g, eof, err, sizeof err);
        assert_true(n >= 0 && n <= max);
        calls++;
        if (n == 0 && !*eof)
            fail_msg("read returned 0 before eof (unpaced generator)");
    }
    return calls;
}

static void test_exact_count_and_eof(void **state) {
    (void)state;
    const ed_conf_source_t *src = s_conf(10007, 1000, 0, 1);
    void *ctx = s_open(src);
    assert_int_equal(T->fd(ctx), -1);
    gen_stats_t g = {.hash = 1469598103934665603ULL};
    int eof = 0;
    int calls = s_run(ctx, 1000, &g, &eof);
    assert_int_equal(g.n, 10007);
    assert_int_equal(calls, 11); /* 10 full batches and 7 */
    assert_int_equal(eof, 1);
    /* After the end: nothing, eof stays set. */
    char err[64];
    eof = 0;
    assert_int_equal(T->read(ctx, 1000, s_collect, &g, &eof, err, sizeof err), 0);
    assert_int_equal(eof, 1);
    assert_int_equal(T->checkpoint(ctx, 1), 0);
    assert_int_equal(T->commit(ctx, 1, err, sizeof err), 0);
    T->close(&ctx);
    assert_null(ctx);
    T->close(&ctx); /* NULL-safe */
}

static void test_key_range_and_spread(void **state) {
    (void)state;
    const ed_conf_source_t *src = s_conf(100000, 10, 0, 42);
    void *ctx = s_open(src);
    uint64_t hits[10] = {0};
    gen_stats_t g = {.hits = hits, .nkeys = 10};
    int eof = 0;
    s_run(ctx, 4096, &g, &eof);
    for (int k = 0; k < 10; k++) /* uniform: 10000 each, give or take a few % */
        assert_true(hits[k] > 9000 && hits[k] < 11000);
    T->close(&ctx);

    /* One key: always "k0". */
    src = s_conf(100, 1, 0, 7);
    ctx = s_open(src);
    uint64_t one[1] = {0};
    gen_stats_t g1 = {.hits = one, .nkeys = 1};
    eof = 0;
    s_run(ctx, 64, &g1, &eof);
    assert_int_equal(one[0], 100);
    T->close(&ctx);

    /* Many keys: indexes reach near the top, never past it. */
    src = s_conf(200000, 1000000, 0, 3);
    ctx = s_open(src);
    gen_stats_t g2 = {0};
    eof = 0;
    s_run(ctx, 1024, &g2, &eof);
    assert_true(g2.maxkey < 1000000 && g2.maxkey > 990000);
    T->close(&ctx);
}

static uint64_t s_digest(uint64_t seed, int max) {
    const ed_conf_source_t *src = s_conf(5000, 500, 0, seed);
    void *ctx = s_open(src);
    gen_stats_t g = {.hash = 1469598103934665603ULL};
    int eof = 0;
    s_run(ctx, max, &g, &eof);
    T->close(&ctx);
    return g.hash;
}

static void test_determinism(void **state) {
    (void)state;
    uint64_t a = s_digest(1, 100);
    assert_int_equal(a, s_digest(1, 100));
    assert_int_equal(a, s_digest(1, 7)); /* independent of batch sizes */
    assert_int_not_equal(a, s_digest(2, 100));
}

static void test_rate_paces(void **state) {
    (void)state;
    /* 2000 events/s over ~50 ms: the count follows the clock, whatever the
     * scheduling, and never jumps to the 1e6 total. */
    const ed_conf_source_t *src = s_conf(1000000, 10, 2000, 1);
    void *ctx = s_open(src);
    gen_stats_t g = {0};
    char err[64];
    int eof = 0;
    int64_t t0 = ed_now_us();
    int n = T->read(ctx, 100000, s_collect, &g, &eof, err, sizeof err);
    int64_t t1 = ed_now_us(); /* the generator's clock started in [t0, t1] */
    assert_true(n >= 1);
    assert_true((double)n <= (double)(t1 - t0) * 2000 / 1e6 + 1);
    int64_t tb, ta;
    do {
        tb = ed_now_us();
        n = T->read(ctx, 100000, s_collect, &g, &eof, err, sizeof err);
        ta = ed_now_us();
        assert_true(n >= 0);
    } while (tb - t0 < 50000);
    assert_true((double)g.n >= (double)(tb - t1) * 2000 / 1e6);
    assert_true((double)g.n <= (double)(ta - t0) * 2000 / 1e6 + 1);
    assert_int_equal(eof, 0);
    T->close(&ctx);
}

static void test_pause(void **state) {
    (void)state;
    const ed_conf_source_t *src = s_conf(0, 10, 0, 1); /* unbounded */
    void *ctx = s_open(src);
    gen_stats_t g = {0};
    char err[64];
    int eof = 0;
    assert_int_equal(T->read(ctx, 10, s_collect, &g, &eof, err, sizeof err), 10);
    T->pause(ctx, 1);
    assert_int_equal(T->read(ctx, 10, s_collect, &g, &eof, err, sizeof err), 0);
    T->pause(ctx, 0);
    assert_int_equal(T->read(ctx, 10, s_collect, &g, &eof, err, sizeof err), 10);
    assert_int_equal(g.n, 20);
    assert_int_equal(eof, 0);
    T->close(&ctx);
}

/* A negative rate is refused when the config is loaded, with its position. */
static void test_bad_rate(void **state) {
    (void)state;
    ed_config_t *c = NULL;
    char err[1024] = "";
    assert_int_equal(ed_config_load_string("sources:\n  gen: { generator: { rate: -1 }, to: n }\n"
                                           "sinks:\n  n: { null: {} }\n",
                                           "gen.yaml", ed_registry(), &c, err, sizeof err),
                     ED_EINVAL);
    assert_null(c);
    if (!strstr(err, "gen.yaml:2:29: invalid value '-1' for 'rate' in generator of source 'gen'"))
        fail_msg("got: %s", err);
}

/* Instances split the events evenly (10 over 3: 4, 3, 3), draw from
 * different seeds and share the rate. */
static void test_instances_split(void **state) {
    (void)state;
    for (int paced = 0; paced < 2; paced++) {
        ed_config_t *c = NULL;
        char err[1024] = "", yaml[256];
        snprintf(yaml, sizeof yaml,
                 "sources:\n  gen:\n    generator: { events: 10, rate: %d }\n"
                 "    instances: 3\n    to: n\nsinks:\n  n: { null: {} }\n",
                 paced ? 300 : 0);
        if (ed_config_load_string(yaml, "gen.yaml", ed_registry(), &c, err, sizeof err))
            fail_msg("config: %s", err);
        const ed_conf_source_t *src = &c->sources[0];
        uint64_t total = 0, hash[3];
        for (int i = 0; i < 3; i++) {
            void *opts = malloc(T->conf.opts_size);
            memcpy(opts, src->opts, T->conf.opts_size);
            T->instance(opts, i, 3);
            char buf[64];
            assert_string_equal(ed_conf_map_get(T->conf.map, opts, "events", buf, sizeof buf),
                                i == 0 ? "4" : "3");
            assert_string_equal(ed_conf_map_get(T->conf.map, opts, "rate", buf, sizeof buf),
                                paced ? "100" : "0");
            if (!paced) {
                ed_conf_source_t one = *src;
                one.opts = opts;
                void *ctx = s_open(&one);
                gen_stats_t g = {.hash = 1469598103934665603ULL};
                int eof = 0;
                s_run(ctx, 100, &g, &eof);
                total += g.n;
                hash[i] = g.hash;
                T->close(&ctx);
            }
            free(opts);
        }
        if (!paced) {
            assert_int_equal(total, 10);
            assert_true(hash[1] != hash[2]); /* as many events, another seed */
        }
        ed_config_destroy(&c);
    }
}

/* Collects the event times of the inputs. */
typedef struct {
    int64_t ts[64];
    int n;
} ts_list_t;

static void s_collect_ts(void *ud, const ed_input_t *in) {
    ts_list_t *l = ud;
    assert_true(l->n < 64);
    l->ts[l->n++] = in->ts_ms;
}

/* event_rate: @timestamp is event_start + floor(i * 1000 / event_rate),
 * the same in every run, and instances share the event rate. */
static void test_event_time(void **state) {
    (void)state;
    const char *yamls[] = {
        "sources:\n  gen:\n    generator: { events: 10, event_rate: 3 }\n    to: n\n"
        "sinks:\n  n: { null: {} }\n",
        "sources:\n  gen:\n    generator: { events: 10, event_rate: 2k, event_start: 1800000000000 }\n"
        "    to: n\nsinks:\n  n: { null: {} }\n"};
    const int64_t start[] = {1767225600000LL, 1800000000000LL};
    const double rate[] = {3, 2000};
    for (int y = 0; y < 2; y++) {
        ed_config_t *c = NULL;
        char err[1024];
        if (ed_config_load_string(yamls[y], "gen.yaml", ed_registry(), &c, err, sizeof err))
            fail_msg("config: %s", err);
        void *ctx = s_open(&c->sources[0]);
        ts_list_t l = {.n = 0};
        int eof = 0;
        while (!eof)
            T->read(ctx, 4, s_collect_ts, &l, &eof, err, sizeof err);
        assert_int_equal(l.n, 10);
        for (int i = 0; i < 10; i++)
            assert_int_equal(l.ts[i], start[y] + (int64_t)floor(i * 1000.0 / rate[y]));
        if (y == 0) /* 1767225600000, …333, …666, …1000 */
            assert_int_equal(l.ts[3] - l.ts[0], 1000);
        T->close(&ctx);
        void *opts = malloc(T->conf.opts_size);
        memcpy(opts, c->sources[0].opts, T->conf.opts_size);
        T->instance(opts, 1, 2);
        char buf[64];
        assert_string_equal(ed_conf_map_get(T->conf.map, opts, "event_rate", buf, sizeof buf),
                            y == 0 ? "1.5" : "1000");
        free(opts);
        ed_config_destroy(&c);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_time),
        cmocka_unit_test(test_exact_count_and_eof),
        cmocka_unit_test(test_key_range_and_spread),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_rate_paces),
        cmocka_unit_test(test_pause),
        cmocka_unit_test(test_bad_rate),
        cmocka_unit_test(test_instances_split),
    };
    return cmocka_run_group_tests_name("source_gen", tests, NULL, s_free_confs);
}
