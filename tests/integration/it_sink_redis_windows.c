/*
 * it_sink_redis_windows.c — the redis sink with windowed aggregations
 * against the real server: per-window top-N leaderboards (ZADD of the
 * current value, keep_top) checked after every flush against a tally of the
 * events kept apart from the sink and the aggregator model, with members
 * crossing the cut again and again; the same data written with ZINCRBY
 * (score_mode: increment) shown wrong; `ttl` set with every write; config
 * mistakes about windows. (The windowed contract is in it_sink_redis.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "tests/integration/it_redis.h"
#include "tests/integration/sink_contract.h"

#include "runtime/ed_batch.h"

/* 2025-12-01T00:00:00Z, 1-minute tumbling windows. */
#define S_T0 1764547200000LL
#define S_SIZE 60000LL
#define S_NWIN 3
#define S_NWORD 12
#define S_TOP 3
#define S_FLUSHES 60

static void s_del(redisContext *rc, const char *prefix) {
    for (int w = 0; w < S_NWIN; w++)
        freeReplyObject(redisCommand(rc, "DEL %s:%lld", prefix, S_T0 + w * S_SIZE));
}

static long long s_pttl(redisContext *rc, const char *key) {
    redisReply *rep = redisCommand(rc, "PTTL %s", key);
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
    long long v = rep->integer;
    freeReplyObject(rep);
    return v;
}

/* A windowed (1-minute tumbling) pipeline feeding redis sink `name` with
 * `extra` keys, opened. */
static void s_open(sc_sink_t *s, const char *name, const char *zset, const char *extra) {
    char body[512], yaml[4096], err[1024] = "";
    snprintf(body, sizeof body, "redis: { url: \"%s\" }, zset: \"%s\", %s",
             sc_env("EDDY_REDIS_URL"), zset, extra);
    sc_pipeline_window(yaml, sizeof yaml, name, body, "{ tumbling: 1m }");
    assert_int_equal(sc_sink_open_yaml(s, yaml, name, err, sizeof err), 0);
}

/* The oracle's tally: events per (window, word), counted as they are
 * generated, nothing else. */
typedef struct {
    long long n[S_NWIN][S_NWORD];
} s_tally_t;

static const char *s_word(int i) {
    static char words[S_NWORD][8];
    snprintf(words[i], sizeof words[i], "p%02d", i);
    return words[i];
}

/* The top S_TOP of window w as Redis orders a sorted set (score, then
 * member bytes, descending); returns how many (words with events only). */
static int s_oracle_top(const s_tally_t *t, int w, int *top) {
    int m = 0;
    for (int i = 0; i < S_NWORD; i++)
        if (t->n[w][i] > 0)
            top[m++] = i;
    for (int a = 0; a < m; a++) /* selection sort: tiny */
        for (int b = a + 1; b < m; b++) {
            long long na = t->n[w][top[a]], nb = t->n[w][top[b]];
            if (nb > na || (nb == na && strcmp(s_word(top[b]), s_word(top[a])) > 0)) {
                int x = top[a];
                top[a] = top[b];
                top[b] = x;
            }
        }
    return m < S_TOP ? m : S_TOP;
}

/* 1 if the set of window w under prefix holds exactly the oracle's top,
 * with the oracle's counts; else 0, with what differs in why. */
static int s_matches(redisContext *rc, const char *prefix, const s_tally_t *t, int w,
                     char *why, size_t n) {
    int top[S_NWORD];
    int m = s_oracle_top(t, w, top);
    redisReply *rep =
        redisCommand(rc, "ZREVRANGE %s:%lld 0 -1 WITHSCORES", prefix, S_T0 + w * S_SIZE);
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
    int ok = (int)rep->elements == 2 * m;
    for (int i = 0; ok && i < m; i++)
        ok = !strcmp(rep->element[2 * i]->str, s_word(top[i])) &&
             atof(rep->element[2 * i + 1]->str) == (double)t->n[w][top[i]];
    if (!ok) {
        int len = snprintf(why, n, "window %d: redis has", w);
        for (size_t i = 0; i + 1 < rep->elements && len < (int)n; i += 2)
            len += snprintf(why + len, n - (size_t)len, " %s=%s", rep->element[i]->str,
                            rep->element[i + 1]->str);
        len += snprintf(why + len, n - (size_t)len > 0 ? n - (size_t)len : 0, "; oracle:");
        for (int i = 0; i < m && len < (int)n; i++)
            len += snprintf(why + len, n - (size_t)len, " %s=%lld", s_word(top[i]),
                            t->n[w][top[i]]);
    }
    freeReplyObject(rep);
    return ok;
}

static uint64_t s_rand(uint64_t *x) {
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

/* Runs S_FLUSHES flushes of random (window, word) updates through sink s
 * (writing under prefix), checking each window's set against the oracle
 * after every flush. Returns the number of flushes after which some window
 * did not match (the first mismatch in why); *reentries counts members that
 * fell out of a window's top and came back into it. */
static int s_run(sc_sink_t *s, redisContext *rc, const char *prefix, int *reentries, char *why,
                 size_t n) {
    s_tally_t t;
    memset(&t, 0, sizeof t);
    sc_state_t st[S_NWIN][S_NWORD];
    int was_top[S_NWIN][S_NWORD], fell[S_NWIN][S_NWORD];
    memset(was_top, 0, sizeof was_top);
    memset(fell, 0, sizeof fell);
    for (int w = 0; w < S_NWIN; w++)
        for (int i = 0; i < S_NWORD; i++)
            st[w][i] = (sc_state_t){.doc = "d",
                                    .word = s_word(i),
                                    .word_len = strlen(s_word(i)),
                                    .ws = S_T0 + w * S_SIZE,
                                    .we = S_T0 + (w + 1) * S_SIZE};
    uint64_t seed = 7;
    int mismatches = 0;
    *reentries = 0;
    why[0] = 0;
    ed_sink_stats_t stats = {0};
    for (int f = 0; f < S_FLUSHES; f++) {
        ed_batch_t *b[1] = {ed_batch_new(ED_BATCH_CHANGELOG, 1024)};
        int rows = 2 + (int)(s_rand(&seed) % 5);
        for (int r = 0; r < rows; r++) {
            int w = (int)(s_rand(&seed) % S_NWIN);
            /* Words late in the list get bursts, so the cut moves a lot. */
            int i = (int)(s_rand(&seed) % S_NWORD);
            int k = 1 + (int)(s_rand(&seed) % (i < 6 ? 2 : 4));
            double xs[4] = {1, 1, 1, 1};
            sc_emit(b[0], &st[w][i], xs, k);
            t.n[w][i] += k;
        }
        ed_sink_flush_t fl = {.checkpoint = (uint64_t)f + 1,
                              .changes = b,
                              .nchanges = 1,
                              .rows = (uint64_t)rows};
        char err[1024] = "";
        ed_write_result_t res = sc_sink_write(s, &fl, &stats, err, sizeof err);
        ASSERT_WRITE(ED_WRITE_OK, res, err);
        ed_batch_destroy(&b[0]);
        int bad = 0;
        for (int w = 0; w < S_NWIN; w++) {
            char wwhy[512];
            if (!s_matches(rc, prefix, &t, w, wwhy, sizeof wwhy)) {
                if (!bad && !mismatches)
                    snprintf(why, n, "after flush %d: %s", f + 1, wwhy);
                bad = 1;
            }
            int top[S_NWORD], m = s_oracle_top(&t, w, top), in[S_NWORD] = {0};
            for (int j = 0; j < m; j++)
                in[top[j]] = 1;
            for (int i = 0; i < S_NWORD; i++) {
                if (was_top[w][i] && !in[i])
                    fell[w][i] = 1;
                if (fell[w][i] && in[i] && !was_top[w][i])
                    ++*reentries;
                was_top[w][i] = in[i];
            }
        }
        mismatches += bad;
    }
    assert_int_equal(stats.rows_rejected, 0);
    return mismatches;
}

/* Runs s_run on a fresh windowed sink named sc_run(name) writing sets
 * sc_run(prefix):<window_start> with keep_top 3 and `extra` keys; returns
 * the flushes left wrong (why: the first), *reentries as s_run. */
static int s_top_case(const char *prefix_t, const char *name_t, const char *extra,
                      int *reentries, char *why, size_t n) {
    redisContext *rc = it_redis();
    char prefix[96], name[64], zset[160], keys[256];
    snprintf(prefix, sizeof prefix, "%s", sc_run(prefix_t));
    snprintf(name, sizeof name, "%s", sc_run(name_t));
    snprintf(zset, sizeof zset, "%s:{window_start}", prefix);
    snprintf(keys, sizeof keys, "member: \"{word}\", keep_top: 3, %s", extra);
    s_del(rc, prefix);
    sc_sink_t s;
    s_open(&s, name, zset, keys);
    int bad = s_run(&s, rc, prefix, reentries, why, n);
    sc_sink_close(&s);
    s_del(rc, prefix);
    redisFree(rc);
    return bad;
}

/* score_mode auto on a windowed aggregation is set (ZADD of the current
 * value): every window's top 3 is exact after every flush, members leaving
 * and re-entering the cut included. */
static void test_redis_window_top_exact(void **state) {
    (void)state;
    char why[1024];
    int reentries = 0;
    int bad = s_top_case("eddy:it:{run}:wtop", "redis_wtop_{run}", "batch_rows: 2", &reentries,
                         why, sizeof why);
    if (bad)
        fail_msg("%d of %d flushes left a window's top %d wrong; first: %s", bad, S_FLUSHES, S_TOP,
                 why);
    printf("# %d re-entries into a window's top %d over %d flushes\n", reentries, S_TOP,
           S_FLUSHES);
    if (reentries < 5)
        fail_msg("only %d members re-entered the cut: the data does not test re-entry", reentries);
}

/* The same flushes with score_mode increment (ZINCRBY the delta): a member
 * trimmed and seen again comes back with its delta only — the oracle sees
 * it. (Why set is the default for windows; the check can fail.) */
static void test_redis_window_top_increment_is_wrong(void **state) {
    (void)state;
    char why[1024];
    int reentries = 0;
    int bad = s_top_case("eddy:it:{run}:wtopi", "redis_wtopi_{run}", "score_mode: increment",
                         &reentries, why, sizeof why);
    printf("# increment: %d of %d flushes wrong (%s)\n", bad, S_FLUSHES, why);
    assert_true(bad > 0);
}

/* ttl: 1h sets each written set's expiry in the same transaction, again
 * with every write (a longer expiry set by hand is brought back to 1 h, a
 * set made persistent gets one again); statements count one PEXPIRE per
 * set of a chunk. */
static void test_redis_window_ttl(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char prefix[96], name[64], zset[160], k0[128], k1[128], err[1024] = "";
    snprintf(prefix, sizeof prefix, "%s", sc_run("eddy:it:{run}:wttl"));
    snprintf(name, sizeof name, "%s", sc_run("redis_wttl_{run}"));
    snprintf(k0, sizeof k0, "%s:%lld", prefix, S_T0);
    snprintf(k1, sizeof k1, "%s:%lld", prefix, S_T0 + S_SIZE);
    s_del(rc, prefix);
    snprintf(zset, sizeof zset, "%s:{window_start}", prefix);
    sc_sink_t s;
    s_open(&s, name, zset, "member: \"{word}\", ttl: 1h");
    sc_state_t a = {.doc = "d", .word = "x", .word_len = 1, .ws = S_T0, .we = S_T0 + S_SIZE};
    sc_state_t b = a, c = a;
    b.word = "y";
    c.ws += S_SIZE;
    c.we += S_SIZE;
    ed_batch_t *bt[1] = {ed_batch_new(ED_BATCH_CHANGELOG, 1024)};
    sc_emit(bt[0], &a, (double[]){1}, 1);
    sc_emit(bt[0], &b, (double[]){1}, 1);
    sc_emit(bt[0], &c, (double[]){1}, 1);
    ed_sink_flush_t f1 = {.checkpoint = 1, .changes = bt, .nchanges = 1, .rows = 3};
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &f1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    ed_batch_destroy(&bt[0]);
    /* MULTI, 3 ZADD, 2 PEXPIRE (two sets), EXEC */
    assert_int_equal(st.statements, 1 + 3 + 2 + 1);
    long long t0 = s_pttl(rc, k0), t1 = s_pttl(rc, k1);
    if (t0 <= 0 || t0 > 3600000 || t1 <= 0 || t1 > 3600000)
        fail_msg("PTTL after the first write: %lld and %lld, want in (0, 3600000]", t0, t1);
    freeReplyObject(redisCommand(rc, "PEXPIRE %s 99999999", k0));
    freeReplyObject(redisCommand(rc, "PERSIST %s", k1));
    assert_true(s_pttl(rc, k0) > 3600000);
    assert_int_equal(s_pttl(rc, k1), -1);
    bt[0] = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_emit(bt[0], &a, (double[]){1}, 1);
    sc_emit(bt[0], &c, (double[]){1}, 1);
    ed_sink_flush_t f2 = {.checkpoint = 2, .changes = bt, .nchanges = 1, .rows = 2};
    r = sc_sink_write(&s, &f2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    ed_batch_destroy(&bt[0]);
    t0 = s_pttl(rc, k0);
    t1 = s_pttl(rc, k1);
    if (t0 <= 0 || t0 > 3600000 || t1 <= 0 || t1 > 3600000)
        fail_msg("PTTL after the second write: %lld and %lld, want in (0, 3600000]", t0, t1);
    redisReply *rep = redisCommand(rc, "ZSCORE %s x", k0);
    assert_non_null(rep);
    assert_string_equal(rep->str, "2");
    freeReplyObject(rep);
    sc_sink_close(&s);
    s_del(rc, prefix);
    redisFree(rc);
}

/* Config mistakes about windows, refused when the config loads. */
static void test_redis_window_config_errors(void **state) {
    (void)state;
    char yaml[4096], err[1024] = "";
    const char *url = "redis: { url: \"redis://127.0.0.1:6379\" }";
    char body[512];
    /* a window bound on a cumulative aggregation */
    snprintf(body, sizeof body, "%s, zset: \"top:{window_start}\", member: \"{word}\"", url);
    sc_pipeline(yaml, sizeof yaml, "redis_bad", body);
    assert_int_equal(sc_config_error(yaml, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "{window_start}");
    ASSERT_HAS(err, "has no window");
    /* a windowed aggregation whose sets and members do not name the window */
    snprintf(body, sizeof body, "%s, zset: \"top:{doc}\"", url);
    sc_pipeline_window(yaml, sizeof yaml, "redis_bad", body, "{ tumbling: 1m }");
    assert_int_equal(sc_config_error(yaml, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "sink 'redis_bad'");
    ASSERT_HAS(err, "{window_start}");
    /* increment of a score whose deltas do not add up */
    snprintf(body, sizeof body, "%s, zset: \"top:{window_start}\", score: hi, score_mode: increment",
             url);
    sc_pipeline_window(yaml, sizeof yaml, "redis_bad", body, "{ tumbling: 1m }");
    assert_int_equal(sc_config_error(yaml, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "score_mode 'increment'");
    ASSERT_HAS(err, "'set'");
    /* a negative ttl */
    snprintf(body, sizeof body, "%s, zset: \"top:{window_start}\", ttl: -1s", url);
    sc_pipeline_window(yaml, sizeof yaml, "redis_bad", body, "{ tumbling: 1m }");
    assert_int_equal(sc_config_error(yaml, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "ttl");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_window_config_errors),
        cmocka_unit_test(test_redis_window_top_exact),
        cmocka_unit_test(test_redis_window_top_increment_is_wrong),
        cmocka_unit_test(test_redis_window_ttl),
    };
    return cmocka_run_group_tests_name("it_sink_redis_windows", tests, NULL, NULL);
}
