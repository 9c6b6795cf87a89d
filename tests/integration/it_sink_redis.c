/*
 * it_sink_redis.c — the redis sink plugin against the real server
 * (scripts/services; the runner exports `scripts/services env`): the sink
 * contract (sink_contract.h), then sorted sets of every kind of key read
 * back with hiredis, MULTI/EXEC chunks, a connection cut between chunks or
 * after an EXEC whose reply is lost, keep_top trims, SIGPIPE, a server that
 * is down, and config mistakes. Windowed leaderboards and ttl:
 * it_sink_redis_windows.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "tests/integration/it_redis.h"
#include "tests/integration/sink_contract.h"

static double s_zscore(redisContext *rc, const char *zset, const char *member, size_t mlen,
                       int *found) {
    const char *argv[3] = {"ZSCORE", zset, member};
    size_t argl[3] = {6, strlen(zset), mlen};
    redisReply *rep = redisCommandArgv(rc, 3, argv, argl);
    assert_non_null(rep);
    *found = rep->type == REDIS_REPLY_STRING;
    double v = *found ? atof(rep->str) : 0;
    freeReplyObject(rep);
    return v;
}

static long long s_zcard(redisContext *rc, const char *zset) {
    redisReply *rep = redisCommand(rc, "ZCARD %s", zset);
    assert_non_null(rep);
    long long n = rep->integer;
    freeReplyObject(rep);
    return n;
}

/* Closes the connection Redis knows by CLIENT SETNAME eddy-<sink>. */
static void s_redis_kill(redisContext *rc, const char *sink) {
    redisReply *list = redisCommand(rc, "CLIENT LIST");
    assert_non_null(list);
    char needle[96], id[32] = "";
    snprintf(needle, sizeof needle, " name=eddy-%s ", sink);
    const char *line = strstr(list->str, needle);
    if (!line)
        fail_msg("no client named eddy-%s in CLIENT LIST", sink);
    while (line > list->str && line[-1] != '\n')
        line--;
    assert_int_equal(sscanf(line, "id=%31s", id), 1);
    freeReplyObject(list);
    freeReplyObject(redisCommand(rc, "CLIENT KILL ID %s", id));
}

/* The YAML body of a redis sink: url, zset, and `extra` keys (may be ""). */
static void s_rbody(char *out, size_t size, const char *url, const char *zset, const char *extra) {
    snprintf(out, size, "redis: { url: \"%s\" }, zset: \"%s\"%s%s", url, zset, *extra ? ", " : "",
             extra);
}

/* ---------------------------------------------------------------- contract */

static void s_server(char *host, size_t size, int *port) {
    snprintf(host, size, "%s", sc_env("EDDY_REDIS_HOST"));
    *port = atoi(sc_env("EDDY_REDIS_PORT"));
}

/* One sorted set per doc, "<target>:<doc>", member = word, score = count. */
static void s_body(char *out, size_t size, const char *target, const char *host, int port) {
    char url[128], zset[160];
    snprintf(url, sizeof url, "redis://%s:%d/0", host, port);
    snprintf(zset, sizeof zset, "%s:{doc}", target);
    s_rbody(out, size, url, zset, "batch_rows: 2");
}

static void s_where(char *out, size_t size, const char *target, const char *host, int port) {
    (void)target;
    snprintf(out, size, "(redis %s:%d/0)", host, port);
}

/* Deletes every key "<target>:*" (SCAN, so nothing else is touched). */
static void s_reset(const char *target) {
    redisContext *rc = it_redis();
    char cursor[32] = "0";
    do {
        redisReply *rep = redisCommand(rc, "SCAN %s MATCH %s:* COUNT 1000", cursor, target);
        assert_non_null(rep);
        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        for (size_t i = 0; i < rep->element[1]->elements; i++)
            freeReplyObject(redisCommand(rc, "DEL %b", rep->element[1]->element[i]->str,
                                         rep->element[1]->element[i]->len));
        freeReplyObject(rep);
    } while (strcmp(cursor, "0"));
    redisFree(rc);
}

static void s_read(const char *target, sc_totals_t *t) {
    redisContext *rc = it_redis();
    for (int d = 1; d <= 3; d++) {
        char doc[16];
        snprintf(doc, sizeof doc, "d%d", d);
        redisReply *rep = redisCommand(rc, "ZRANGE %s:%s 0 -1 WITHSCORES", target, doc);
        assert_non_null(rep);
        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        for (size_t i = 0; i + 1 < rep->elements; i += 2)
            sc_totals_add(t, doc, strlen(doc), rep->element[i]->str, rep->element[i]->len,
                          atof(rep->element[i + 1]->str));
        freeReplyObject(rep);
    }
    redisFree(rc);
}

/* The set of d1 is a string: ZINCRBY fails with WRONGTYPE for d1's two rows
 * of the flush; d2's row is written. */
static int s_poison(const char *target) {
    s_reset(target);
    redisContext *rc = it_redis();
    freeReplyObject(redisCommand(rc, "SET %s:d1 not-a-zset", target));
    redisFree(rc);
    return 2;
}

/* Windowed: one sorted set per window and doc,
 * "<target>:<window_start>:<window_end>:<doc>", member = word. */
static void s_wbody(char *out, size_t size, const char *target, const char *host, int port) {
    char url[128], zset[192];
    snprintf(url, sizeof url, "redis://%s:%d/0", host, port);
    snprintf(zset, sizeof zset, "%s:{window_start}:{window_end}:{doc}", target);
    s_rbody(out, size, url, zset, "batch_rows: 2");
}

static void s_read_windows(const char *target, sc_wtotals_t *t) {
    redisContext *rc = it_redis();
    redisReply *keys = redisCommand(rc, "KEYS %s:*", target);
    assert_non_null(keys);
    assert_int_equal(keys->type, REDIS_REPLY_ARRAY);
    for (size_t k = 0; k < keys->elements; k++) {
        const char *name = keys->element[k]->str + strlen(target) + 1;
        long long ws, we;
        char doc[16];
        if (sscanf(name, "%lld:%lld:%15s", &ws, &we, doc) != 3)
            fail_msg("sorted set '%s' does not name a window and a doc", keys->element[k]->str);
        redisReply *rep = redisCommand(rc, "ZRANGE %s 0 -1 WITHSCORES", keys->element[k]->str);
        assert_non_null(rep);
        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        for (size_t i = 0; i + 1 < rep->elements; i += 2)
            sc_wtotals_add(t, ws, we, doc, strlen(doc), rep->element[i]->str,
                           rep->element[i]->len, atof(rep->element[i + 1]->str));
        freeReplyObject(rep);
    }
    freeReplyObject(keys);
    redisFree(rc);
}

/* EXEC as hiredis formats it; batch_rows 2 gives the contract's second
 * flush two MULTI … EXEC chunks, and the cut falls before the second. */
static const char s_exec[] = "*1\r\n$4\r\nEXEC\r\n";

static const sc_plugin_t s_plugin = {
    .type = "redis",
    .server = s_server,
    .body = s_body,
    .where = s_where,
    .reset = s_reset,
    .read = s_read,
    .cut = s_exec,
    .cut_len = sizeof s_exec - 1,
    .cut_nth = 2,
    .poison = s_poison,
    .wbody = s_wbody,
    .read_windows = s_read_windows,
};

/* ------------------------------------------------------------------- tests */

static void test_redis_zsets(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    freeReplyObject(
        redisCommand(rc, sc_run("DEL eddy:it:{run}:top:d1 eddy:it:{run}:top:d2 "
                                "eddy:it:{run}:top:d3 eddy:it:{run}:max")));
    const char *url = sc_env("EDDY_REDIS_URL");
    char body[512], err[1024] = "";
    /* A: one set per doc, member = word (the key part not in the zset
     * template), score = count via ZINCRBY. batch_rows 2: read replies
     * mid-pipeline. */
    sc_sink_t a, b;
    s_rbody(body, sizeof body, url, sc_run("eddy:it:{run}:top:{doc}"), "batch_rows: 2");
    assert_int_equal(sc_sink_open(&a, "redis_top", body, err, sizeof err), 0);
    /* B: one set, member "doc/word", score = max via ZADD, top 2 kept. */
    s_rbody(body, sizeof body, url, sc_run("eddy:it:{run}:max"),
            "member: \"{doc}/{word}\", score: hi, keep_top: 2");
    assert_int_equal(sc_sink_open(&b, "redis_max", body, err, sizeof err), 0);

    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t sa = {0}, sb = {0};
    ed_write_result_t r = sc_sink_write(&a, &d.flush1, &sa, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    r = sc_sink_write(&b, &d.flush1, &sb, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(s_zcard(rc, sc_run("eddy:it:{run}:max")), 2);
    r = sc_sink_write(&a, &d.flush2, &sa, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    r = sc_sink_write(&b, &d.flush2, &sb, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(sa.rows_written, 4 + 10);
    assert_int_equal(sa.rows_rejected, 0);
    /* batch_rows 2: one MULTI … EXEC per 2 rows (2 + 5 chunks). */
    assert_int_equal(sa.statements, 2 * (1 + 2 + 1) + 5 * (1 + 2 + 1));
    sc_sink_close(&a);
    sc_sink_close(&b);

    int found;
    for (int i = 0; i < K_N; i++) {
        const sc_state_t *k = &d.st[i];
        char zset[96];
        snprintf(zset, sizeof zset, "%s%s", sc_run("eddy:it:{run}:top:"), k->doc);
        double v = s_zscore(rc, zset, k->word, k->word_len, &found);
        if (!found)
            fail_msg("member %.20s missing from %s", k->word, zset);
        sc_assert_num("zscore", k, v, k->count);
    }
    assert_int_equal(s_zcard(rc, sc_run("eddy:it:{run}:top:d1")), 8);
    assert_int_equal(s_zcard(rc, sc_run("eddy:it:{run}:top:d2")), 2);
    assert_int_equal(s_zcard(rc, sc_run("eddy:it:{run}:top:d3")), 1);
    /* Top 2 by max: d1/ünïcödé (30) and d2/\xff\xfe (8). */
    assert_int_equal(s_zcard(rc, sc_run("eddy:it:{run}:max")), 2);
    char m[64];
    int ml = snprintf(m, sizeof m, "d1/%s", "ünïcödé");
    assert_true(s_zscore(rc, sc_run("eddy:it:{run}:max"), m, (size_t)ml, &found) == 30 && found);
    assert_true(s_zscore(rc, sc_run("eddy:it:{run}:max"), "d2/\xff\xfe", 5, &found) == 8 && found);
    freeReplyObject(
        redisCommand(rc, sc_run("DEL eddy:it:{run}:top:d1 eddy:it:{run}:top:d2 "
                                "eddy:it:{run}:top:d3 eddy:it:{run}:max")));
    sc_data_free(&d);
    redisFree(rc);
}

/* The server drops the sink's connection between flushes: RETRY, then the
 * next call reconnects and applies the flush once. */
static void test_redis_reconnect(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char name[64], body[512], err[1024] = "";
    snprintf(name, sizeof name, "%s", sc_run("redis_re_{run}"));
    freeReplyObject(redisCommand(rc, sc_run("DEL eddy:it:{run}:re:d1 eddy:it:{run}:re:d2 "
                                            "eddy:it:{run}:re:d3")));
    s_rbody(body, sizeof body, sc_env("EDDY_REDIS_URL"), sc_run("eddy:it:{run}:re:{doc}"), "");
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, name, body, err, sizeof err), 0);
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    s_redis_kill(rc, name); /* found by its name */
    r = sc_sink_write(&s, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'redis_re_");
    r = sc_sink_write(&s, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.reconnects, 1);
    sc_sink_close(&s);
    int found;
    char z[96];
    snprintf(z, sizeof z, "%s", sc_run("eddy:it:{run}:re:d1"));
    assert_true(s_zscore(rc, z, "the", 3, &found) == 5 && found);
    freeReplyObject(redisCommand(rc, sc_run("DEL eddy:it:{run}:re:d1 eddy:it:{run}:re:d2 "
                                            "eddy:it:{run}:re:d3")));
    sc_data_free(&d);
    redisFree(rc);
}

/* A flush of `n` rows into one set per doc ("c"): word "w00042", count
 * delta 1 + i % 3, max (hi) i + 1. */
typedef struct {
    sc_state_t *st;
    char (*words)[16];
    ed_batch_t *b[1];
    ed_sink_flush_t flush;
    int n;
} s_big_t;

static void s_big(s_big_t *g, int n, uint64_t checkpoint) {
    g->n = n;
    g->st = calloc((size_t)n, sizeof *g->st);
    g->words = calloc((size_t)n, sizeof *g->words);
    assert_true(g->st && g->words);
    g->b[0] = ed_batch_new(ED_BATCH_CHANGELOG, 4096);
    for (int i = 0; i < n; i++) {
        snprintf(g->words[i], sizeof g->words[i], "w%05d", i);
        g->st[i] = (sc_state_t){.doc = "c", .word = g->words[i], .word_len = 6};
        double xs[3] = {i + 1, i + 1, i + 1};
        sc_emit(g->b[0], &g->st[i], xs, 1 + i % 3);
    }
    g->flush = (ed_sink_flush_t){
        .checkpoint = checkpoint, .changes = g->b, .nchanges = 1, .rows = (uint64_t)n};
}

static void s_big_free(s_big_t *g) {
    ed_batch_destroy(&g->b[0]);
    free(g->st);
    free(g->words);
}

/* Every member of rows [from, to) has `times` × its count. */
static void s_big_check(redisContext *rc, const char *zset, const s_big_t *g, int from, int to,
                        double times) {
    for (int i = from; i < to; i++) {
        int found;
        double v = s_zscore(rc, zset, g->words[i], 6, &found);
        if (!found)
            fail_msg("member %s missing from %s", g->words[i], zset);
        sc_assert_num("zscore", &g->st[i], v, times * g->st[i].count);
    }
}

/* A redis sink named sc_run(name) on sc_run(zset) at url, with `extra`
 * keys. The name is copied into name_out (for CLIENT LIST). */
static void s_rsink(sc_sink_t *s, char *name_out, size_t size, const char *name, const char *zset,
                    const char *url, const char *extra) {
    char body[512], err[1024] = "";
    snprintf(name_out, size, "%s", sc_run(name));
    s_rbody(body, sizeof body, url, sc_run(zset), extra);
    assert_int_equal(sc_sink_open(s, name_out, body, err, sizeof err), 0);
}

/* 2500 rows with batch_rows 1000: three MULTI … EXEC chunks, exact scores.
 * The same checkpoint offered again after OK applies nothing; the next
 * checkpoint starts over. */
static void test_redis_chunks(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char z[96], name[64], err[1024] = "";
    snprintf(z, sizeof z, "%s", sc_run("eddy:it:{run}:ch:c"));
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    sc_sink_t s;
    s_rsink(&s, name, sizeof name, "redis_ch_{run}", "eddy:it:{run}:ch:{doc}",
            sc_env("EDDY_REDIS_URL"), "");
    s_big_t g;
    s_big(&g, 2500, 1);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 2500);
    assert_int_equal(st.statements, 3 * 2 + 2500); /* MULTI + EXEC per chunk */
    assert_int_equal(s_zcard(rc, z), 2500);
    s_big_check(rc, z, &g, 0, 2500, 1);

    r = sc_sink_write(&s, &g.flush, &st, err, sizeof err); /* same checkpoint: already done */
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 2500);
    assert_int_equal(st.statements, 3 * 2 + 2500);
    s_big_check(rc, z, &g, 0, 2500, 1);

    g.flush.checkpoint = 2; /* a new flush with the same rows adds them again */
    r = sc_sink_write(&s, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 5000);
    s_big_check(rc, z, &g, 0, 2500, 2);
    assert_int_equal(st.rows_rejected, 0);
    sc_sink_close(&s);
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_big_free(&g);
    redisFree(rc);
}

/* For the cut tests: a sink "redis_<tag>_{run}" on the set
 * "eddy:it:{run}:<tag>:c" (its name, emptied, into z) through a proxy armed
 * to cut at the 2nd EXEC (`after`: see sc_proxy_arm), and a flush of 2500
 * rows (3 chunks) for `checkpoint`. Returns the proxy. */
static sc_proxy_t *s_proxied(redisContext *rc, char *z, size_t zsize, const char *tag, int after,
                             sc_sink_t *s, s_big_t *g, uint64_t checkpoint) {
    char url[64], name[64], sink[64], zset[96];
    snprintf(z, zsize, "eddy:it:%s:%s:c", sc_run("{run}"), tag);
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    sc_proxy_t *px = sc_proxy_start(atoi(sc_env("EDDY_REDIS_PORT")), s_exec, sizeof s_exec - 1, 0);
    sc_proxy_arm(px, 2, after);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", sc_proxy_port(px));
    snprintf(sink, sizeof sink, "redis_%s_{run}", tag);
    snprintf(zset, sizeof zset, "eddy:it:{run}:%s:{doc}", tag);
    s_rsink(s, name, sizeof name, sink, zset, url, "");
    s_big(g, 2500, checkpoint);
    return px;
}

/* The connection breaks mid-flush, between chunk 1 and chunk 2 (EXEC never
 * reached Redis): RETRY, and the retry for the same checkpoint reconnects
 * and resumes at chunk 2 — chunk 1 is not applied twice. */
static void test_redis_resume(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char z[96], err[1024] = "";
    sc_sink_t s;
    s_big_t g;
    sc_proxy_t *px = s_proxied(rc, z, sizeof z, "rs", 0, &s, &g, 7);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'redis_rs_");
    assert_int_equal(st.rows_written, 1000);
    assert_int_equal(s_zcard(rc, z), 1000); /* chunk 1 only */
    s_big_check(rc, z, &g, 0, 1000, 1);

    r = sc_sink_write(&s, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.rows_written, 2500);
    assert_int_equal(st.statements, 3 * 2 + 2500); /* chunk 1 sent once */
    assert_int_equal(s_zcard(rc, z), 2500);
    s_big_check(rc, z, &g, 0, 2500, 1);
    sc_sink_close(&s);
    sc_proxy_stop(&px);
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_big_free(&g);
    redisFree(rc);
}

/* The limit of the guarantee, pinned down: the connection breaks after
 * chunk 2's EXEC ran but before its reply arrived. The sink cannot know it
 * was applied; the retry sends chunk 2 again (at-least-once), and only
 * chunk 2: chunks 1 and 3 are applied once. */
static void test_redis_lost_exec_reply(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char z[96], err[1024] = "";
    sc_sink_t s;
    s_big_t g;
    sc_proxy_t *px = s_proxied(rc, z, sizeof z, "lr", 1, &s, &g, 3);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_int_equal(st.rows_written, 1000);
    assert_int_equal(s_zcard(rc, z), 2000); /* chunk 2 ran */
    r = sc_sink_write(&s, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 2500);
    s_big_check(rc, z, &g, 0, 1000, 1);
    s_big_check(rc, z, &g, 1000, 2000, 2);
    s_big_check(rc, z, &g, 2000, 2500, 1);
    sc_sink_close(&s);
    sc_proxy_stop(&px);
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_big_free(&g);
    redisFree(rc);
}

/* keep_top trims run after every row chunk, in chunks of their own. */
static void test_redis_keep_top_chunks(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char z[96], name[64], err[1024] = "";
    snprintf(z, sizeof z, "%s", sc_run("eddy:it:{run}:kt:c"));
    freeReplyObject(redisCommand(rc, "DEL %s", z));

    /* One set, 2500 rows, top 10 by max: 3 row chunks + 1 trim chunk. */
    sc_sink_t x;
    s_rsink(&x, name, sizeof name, "redis_kt_{run}", "eddy:it:{run}:kt:{doc}",
            sc_env("EDDY_REDIS_URL"), "score: hi, keep_top: 10");
    s_big_t g;
    s_big(&g, 2500, 1);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&x, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.statements, 3 * 2 + 2500 + (2 + 1));
    assert_int_equal(s_zcard(rc, z), 10);
    for (int i = 2490; i < 2500; i++) {
        int found;
        assert_true(s_zscore(rc, z, g.words[i], 6, &found) == i + 1 && found);
    }
    sc_sink_close(&x);
    s_big_free(&g);

    /* One set per doc, batch_rows 1: the trims of a flush touching two sets
     * take two chunks. Top 1 by max per doc. */
    freeReplyObject(redisCommand(rc, sc_run("DEL eddy:it:{run}:kt1:d1 eddy:it:{run}:kt1:d2 "
                                            "eddy:it:{run}:kt1:d3")));
    sc_sink_t y;
    s_rsink(&y, name, sizeof name, "redis_kt1_{run}", "eddy:it:{run}:kt1:{doc}",
            sc_env("EDDY_REDIS_URL"), "score: hi, keep_top: 1, batch_rows: 1");
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t sy = {0};
    r = sc_sink_write(&y, &d.flush1, &sy, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    r = sc_sink_write(&y, &d.flush2, &sy, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    /* flush 1: 4 rows, sets d1 d2; flush 2: 10 rows, sets d1 d3; 3 commands per chunk */
    assert_int_equal(sy.statements, 3 * (4 + 2) + 3 * (10 + 2));
    assert_int_equal(sy.rows_written, 14);
    int found;
    assert_int_equal(s_zcard(rc, sc_run("eddy:it:{run}:kt1:d1")), 1);
    assert_int_equal(s_zcard(rc, sc_run("eddy:it:{run}:kt1:d2")), 1);
    assert_int_equal(s_zcard(rc, sc_run("eddy:it:{run}:kt1:d3")), 1);
    const char *uni = "ünïcödé";
    assert_true(s_zscore(rc, sc_run("eddy:it:{run}:kt1:d1"), uni, strlen(uni), &found) == 30 &&
                found);
    assert_true(s_zscore(rc, sc_run("eddy:it:{run}:kt1:d2"), "\xff\xfe", 2, &found) == 8 && found);
    assert_true(s_zscore(rc, sc_run("eddy:it:{run}:kt1:d3"), "new", 3, &found) == 7 && found);
    sc_sink_close(&y);
    sc_data_free(&d);
    freeReplyObject(redisCommand(rc, sc_run("DEL eddy:it:{run}:kt1:d1 eddy:it:{run}:kt1:d2 "
                                            "eddy:it:{run}:kt1:d3")));
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    redisFree(rc);
}

/* The server closed the connection and the next chunk is larger than a
 * socket buffer: hiredis's second write(2) on the dead socket raises SIGPIPE,
 * which used to end the process. Now: RETRY, and the retry writes it all. */
static void test_redis_no_sigpipe(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char z[96], name[64], err[1024] = "";
    snprintf(z, sizeof z, "%s", sc_run("eddy:it:{run}:sp:c"));
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    sc_sink_t s;
    s_rsink(&s, name, sizeof name, "redis_sp_{run}", "eddy:it:{run}:sp:{doc}",
            sc_env("EDDY_REDIS_URL"), "batch_rows: 50000"); /* one ~2 MB chunk */
    s_big_t small, g;
    s_big(&small, 10, 1);
    s_big(&g, 50000, 2);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &small.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    s_redis_kill(rc, name);
    /* libmariadb's init ignores SIGPIPE process-wide (when a mariadb sink
     * ran before); an eddy without a mariadb sink has the default action. */
    struct sigaction dfl = {.sa_handler = SIG_DFL}, was;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGPIPE, &dfl, &was);
    r = sc_sink_write(&s, &g.flush, &st, err, sizeof err);
    sigaction(SIGPIPE, &was, NULL);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "; retrying");
    r = sc_sink_write(&s, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 10 + 50000);
    assert_int_equal(s_zcard(rc, z), 50000);
    /* rows 0..9 were written twice (both flushes), the rest once */
    s_big_check(rc, z, &g, 0, 10, 2);
    for (int i = 10; i < 50000; i += 97)
        s_big_check(rc, z, &g, i, i + 1, 1);
    s_big_check(rc, z, &g, 49999, 50000, 1);
    sc_sink_close(&s);
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_big_free(&small);
    s_big_free(&g);
    redisFree(rc);
}

/* The contract's down test with a database number and the exotic keys. */
static void test_redis_down_retries(void **state) {
    (void)state;
    char err[1024] = "";
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "redis_down",
                                  "redis: { url: \"redis://127.0.0.1:1/2\" }, zset: \"top:{doc}\"",
                                  err, sizeof err),
                     0);
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'redis_down' (redis 127.0.0.1:1/2): ");
    ASSERT_HAS(err, "; retrying");
    sc_sink_close(&s);
    sc_data_free(&d);
}

/* Config mistakes: the loader refuses them before any plugin is made (the
 * plugin's init checks the same, for configs built otherwise). */
static void test_redis_config_errors(void **state) {
    (void)state;
    char yaml[4096], err[1024] = "";
    sc_pipeline(yaml, sizeof yaml, "redis_bad",
                "redis: { url: \"redis://127.0.0.1:6379\" }, zset: \"top:{docs}\"");
    assert_int_equal(sc_config_error(yaml, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "sink 'redis_bad'");
    ASSERT_HAS(err, "{docs}");
    ASSERT_HAS(err, "doc, word"); /* the key columns a placeholder may name */
    sc_pipeline(yaml, sizeof yaml, "redis_bad", /* nothing left for the member */
                "redis: { url: \"redis://127.0.0.1:6379\" }, zset: \"top:{doc}:{word}\"");
    assert_int_equal(sc_config_error(yaml, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "member");
    sc_pipeline(yaml, sizeof yaml, "redis_bad",
                "redis: { url: \"redis://127.0.0.1:6379\" }, zset: top, score: nope");
    assert_int_equal(sc_config_error(yaml, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "score 'nope'");
    sc_pipeline(yaml, sizeof yaml, "redis_bad", "redis: { url: \"rediss://x\" }, zset: top");
    assert_int_equal(sc_config_error(yaml, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "'url' in redis");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        SC_CONTRACT_TESTS(&s_plugin),
        SC_WINDOWS_TEST(&s_plugin),
        cmocka_unit_test(test_redis_config_errors),
        cmocka_unit_test(test_redis_zsets),
        cmocka_unit_test(test_redis_reconnect),
        cmocka_unit_test(test_redis_chunks),
        cmocka_unit_test(test_redis_resume),
        cmocka_unit_test(test_redis_lost_exec_reply),
        cmocka_unit_test(test_redis_keep_top_chunks),
        cmocka_unit_test(test_redis_no_sigpipe),
        cmocka_unit_test(test_redis_down_retries),
    };
    return cmocka_run_group_tests_name("it_sink_redis", tests, NULL, NULL);
}
