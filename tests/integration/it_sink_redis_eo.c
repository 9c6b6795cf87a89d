/*
 * it_sink_redis_eo.c — the redis sink under runtime.delivery: exactly_once
 * against the real server (scripts/services): its fence
 * (sinks/ed_redis_fence.h) makes a replayed flush a no-op after a restart,
 * lets a flush cut between its chunks resume after a restart with its rows
 * in another order without applying a chunk twice, makes a chunk whose
 * reply was lost a no-op, keeps max / min scores from going back (ZADD GT /
 * LT), and refuses a fence key of another type by name. The scores are
 * checked against the counts the test fed in (sc_emit), read back with
 * ZRANGE … WITHSCORES.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "sinks/ed_redis_fence.h"
#include "tests/integration/it_redis.h"
#include "tests/integration/sink_contract.h"

#define S_PIPELINE "it_eo"

/* A flush of n rows into the set of doc "c": word "w00042" gets count
 * delta 1 + i % 3 and max/min value `x` (+ i with `plus_i`); rows appended
 * in reverse order with `reverse` (a replay's order differs). */
typedef struct {
    sc_state_t *st;
    char (*words)[16];
    ed_batch_t *b[1];
    ed_sink_flush_t flush;
    ed_sink_eo_t eo;
    int skipped, n;
} s_flush_t;

static void s_flush(s_flush_t *g, int n, uint64_t local, uint64_t id, int reverse, double x,
                    int plus_i) {
    memset(g, 0, sizeof *g);
    g->n = n;
    g->st = calloc((size_t)n, sizeof *g->st);
    g->words = calloc((size_t)n, sizeof *g->words);
    assert_true(g->st && g->words);
    g->b[0] = ed_batch_new(ED_BATCH_CHANGELOG, 4096);
    for (int k = 0; k < n; k++) {
        int i = reverse ? n - 1 - k : k;
        snprintf(g->words[i], sizeof g->words[i], "w%05d", i);
        g->st[i] = (sc_state_t){.doc = "c", .word = g->words[i], .word_len = 6};
        double xs[3] = {x + (plus_i ? i : 0), x + (plus_i ? i : 0), x + (plus_i ? i : 0)};
        sc_emit(g->b[0], &g->st[i], xs, 1 + i % 3);
    }
    g->eo = (ed_sink_eo_t){.pipeline = S_PIPELINE,
                           .id = id,
                           .positions = "docs\tt\t0\t4242\n",
                           .skipped = &g->skipped};
    g->flush = (ed_sink_flush_t){.checkpoint = local,
                                 .changes = g->b,
                                 .nchanges = 1,
                                 .rows = (uint64_t)n,
                                 .eo = &g->eo};
}

static void s_flush_free(s_flush_t *g) {
    ed_batch_destroy(&g->b[0]);
    free(g->st);
    free(g->words);
}

/* Every member of zset is a word of g with `times` × its count (or, with
 * times 0, the score `want` + its index with plus_i), and there are g->n. */
static void s_check(redisContext *rc, const char *zset, const s_flush_t *g, double times,
                    double want, int plus_i) {
    redisReply *rep = redisCommand(rc, "ZRANGE %s 0 -1 WITHSCORES", zset);
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
    if (rep->elements != 2 * (size_t)g->n)
        fail_msg("%s holds %zu members, expected %d", zset, rep->elements / 2, g->n);
    for (size_t j = 0; j < rep->elements; j += 2) {
        int i = atoi(rep->element[j]->str + 1);
        assert_true(i >= 0 && i < g->n);
        double got = atof(rep->element[j + 1]->str);
        double exp = times ? times * g->st[i].count : want + (plus_i ? i : 0);
        sc_assert_num("score", &g->st[i], got, exp);
    }
    freeReplyObject(rep);
}

/* A redis sink named sc_run(name) at url on "eddy:it:{run}:eo:<tag>:{doc}"
 * with `extra` keys; its set name into z, its fence key into fence. */
static void s_open(sc_sink_t *s, const char *tag, const char *url, const char *extra, char *z,
                   size_t zsize, char *fence, size_t fsize) {
    char body[512], name[64], tmpl[96], err[1024] = "";
    snprintf(name, sizeof name, "%s", sc_run("redis_eo_{run}"));
    snprintf(name + strlen(name), sizeof name - strlen(name), "_%s", tag);
    snprintf(z, zsize, "eddy:it:%s:eo:%s:c", sc_run("{run}"), tag);
    snprintf(tmpl, sizeof tmpl, "eddy:it:%s:eo:%s:{doc}", sc_run("{run}"), tag);
    snprintf(body, sizeof body, "redis: { url: \"%s\" }, zset: \"%s\"%s%s", url, tmpl,
             *extra ? ", " : "", extra);
    assert_int_equal(sc_sink_open(s, name, body, err, sizeof err), 0);
    ed_buf_t b = ED_BUF_INIT;
    ed_redis_fence_key(&b, S_PIPELINE, name, tmpl);
    snprintf(fence, fsize, "%s", b.data);
    ed_buf_free(&b);
}

static void s_fence(redisContext *rc, const char *fence, ed_redis_fence_t *f) {
    char err[256];
    assert_int_equal(ed_redis_fence_read(rc, fence, f, err, sizeof err), 0);
}

static void s_del(redisContext *rc, const char *z, const char *fence) {
    freeReplyObject(redisCommand(rc, "DEL %s %s", z, fence));
}

/* 2500 rows in 3 chunks, id 5: applied once, the fence holds 5 and the
 * positions. A restarted instance offered the same flush (id 5, rows in
 * another order) skips it whole; id 6 applies it again. */
static void test_redis_eo_replay_noop(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char z[128], fence[160], err[1024] = "";
    sc_sink_t s;
    s_open(&s, "rp", sc_env("EDDY_REDIS_URL"), "", z, sizeof z, fence, sizeof fence);
    s_del(rc, z, fence);
    uint64_t id = 1;
    char *pos = NULL;
    ASSERT_WRITE(ED_WRITE_OK, s.type->eo_read(s.ctx, S_PIPELINE, &id, &pos, err, sizeof err), err);
    assert_int_equal(id, 0); /* no fence yet */
    assert_null(pos);
    s_flush_t g;
    s_flush(&g, 2500, 1, 5, 0, 1, 0);
    ed_sink_stats_t st = {0};
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &g.flush, &st, err, sizeof err), err);
    assert_int_equal(g.skipped, 0);
    assert_int_equal(st.rows_written, 2500);
    s_check(rc, z, &g, 1, 0, 0);
    ed_redis_fence_t f;
    s_fence(rc, fence, &f);
    assert_int_equal(f.id, 5);
    assert_string_equal(f.positions, "docs\tt\t0\t4242\n");
    assert_int_equal(f.pend_id, 0);
    ed_redis_fence_clear(&f);
    sc_sink_close(&s);

    /* The restart: a new instance reads the fence, the replay offers id 5. */
    s_open(&s, "rp", sc_env("EDDY_REDIS_URL"), "", z, sizeof z, fence, sizeof fence);
    ASSERT_WRITE(ED_WRITE_OK, s.type->eo_read(s.ctx, S_PIPELINE, &id, &pos, err, sizeof err), err);
    assert_int_equal(id, 5);
    assert_string_equal(pos, "docs\tt\t0\t4242\n");
    free(pos);
    s_flush_t again;
    s_flush(&again, 2500, 1, 5, 1, 1, 0);
    ed_sink_stats_t st2 = {0};
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &again.flush, &st2, err, sizeof err), err);
    assert_int_equal(again.skipped, 1);
    assert_int_equal(st2.rows_written, 0);
    s_check(rc, z, &g, 1, 0, 0); /* not doubled */

    again.eo.id = 6; /* a new checkpoint with the same rows adds them */
    again.flush.checkpoint = 2;
    again.skipped = 0;
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &again.flush, &st2, err, sizeof err), err);
    assert_int_equal(again.skipped, 0);
    assert_int_equal(st2.rows_written, 2500);
    s_check(rc, z, &g, 2, 0, 0);
    sc_sink_close(&s);
    s_del(rc, z, fence);
    s_flush_free(&g);
    s_flush_free(&again);
    redisFree(rc);
}

/* The connection breaks before chunk 2 of 3 reaches Redis, and the process
 * "dies": the fence holds chunk 1 of id 9 applied, which a restarted
 * instance reports (eo_pending) for the replay; the replayed flush, its
 * rows in reverse order, applies chunks 2 and 3 only: every score once. */
static void test_redis_eo_partial_resume(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    static const char evalsha[] = "$7\r\nEVALSHA\r\n";
    char z[128], fence[160], url[64], err[1024] = "";
    sc_proxy_t *px = sc_proxy_start(atoi(sc_env("EDDY_REDIS_PORT")), evalsha, sizeof evalsha - 1, 0);
    sc_proxy_arm(px, 2, 0);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", sc_proxy_port(px));
    sc_sink_t s;
    s_open(&s, "pr", url, "", z, sizeof z, fence, sizeof fence);
    s_del(rc, z, fence);
    s_flush_t g;
    s_flush(&g, 2500, 3, 9, 0, 1, 0);
    ed_sink_stats_t st = {0};
    ASSERT_WRITE(ED_WRITE_RETRY, sc_sink_write(&s, &g.flush, &st, err, sizeof err), err);
    assert_true(sc_proxy_cut(px));
    ASSERT_HAS(err, "_pr' (redis 127.0.0.1:");
    ASSERT_HAS(err, "the exactly_once fence script: ");
    ASSERT_HAS(err, "; retrying");
    assert_null(strstr(err, "script: the exactly_once")); /* said once */
    uint64_t first = st.rows_written; /* chunk 1's rows, about a third */
    assert_true(first > 500 && first < 1200);
    ed_redis_fence_t f;
    s_fence(rc, fence, &f);
    assert_int_equal(f.id, 0);
    assert_int_equal(f.pend_id, 9);
    assert_int_equal(f.pend_done, 1);
    assert_int_equal(f.pend_n, 3);
    ed_redis_fence_clear(&f);
    sc_sink_close(&s);
    sc_proxy_stop(&px);

    s_open(&s, "pr", sc_env("EDDY_REDIS_URL"), "", z, sizeof z, fence, sizeof fence);
    uint64_t id = 1, pend = 0;
    char *pos = NULL;
    const char *ppos = NULL;
    ASSERT_WRITE(ED_WRITE_OK, s.type->eo_read(s.ctx, S_PIPELINE, &id, &pos, err, sizeof err), err);
    assert_int_equal(id, 0);
    assert_null(pos);
    s.type->eo_pending(s.ctx, &pend, &ppos);
    assert_int_equal(pend, 9);
    assert_string_equal(ppos, "docs\tt\t0\t4242\n");
    s_flush_t again;
    s_flush(&again, 2500, 1, 9, 1, 1, 0);
    ed_sink_stats_t st2 = {0};
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &again.flush, &st2, err, sizeof err), err);
    assert_int_equal(again.skipped, 0);
    assert_int_equal(st2.rows_written, 2500 - first);
    s_check(rc, z, &g, 1, 0, 0);
    s_fence(rc, fence, &f);
    assert_int_equal(f.id, 9);
    assert_int_equal(f.pend_id, 0);
    ed_redis_fence_clear(&f);
    sc_sink_close(&s);
    s_del(rc, z, fence);
    s_flush_free(&g);
    s_flush_free(&again);
    redisFree(rc);
}

/* A chunk sent again after its reply was lost (the script ran): the fence
 * answers "applied before" and the rows are not added twice. */
static void test_redis_eo_chunk_twice(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char z[96], fence[96], sha[41] = "", err[256];
    snprintf(z, sizeof z, "%s", sc_run("eddy:it:{run}:eo:tw"));
    snprintf(fence, sizeof fence, "%s", sc_run("eddy:eo:it_eo:tw_{run}"));
    s_del(rc, z, fence);
    const char *argv[6] = {z, "a", "3", z, "b", "4"};
    size_t argl[6] = {strlen(z), 1, 1, strlen(z), 1, 1};
    ed_redis_fence_chunk_t c = {.key = fence, .id = 12, .chunk = 0, .nchunks = 2,
                                .positions = "p", .op = "ZINCRBY", .ttl = "", .nrows = 2,
                                .argv = argv, .argl = argl};
    ed_redis_fence_res_t res;
    uint64_t statements = 0;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(ed_redis_fence_apply(rc, sha, &c, &res, &statements, err, sizeof err), 0);
        assert_int_equal(res.applied, round == 0);
        redisReply *rep = redisCommand(rc, "ZSCORE %s b", z);
        assert_string_equal(rep->str, "4");
        freeReplyObject(rep);
    }
    assert_int_equal(statements, 3); /* SCRIPT LOAD, then one EVALSHA per call */
    c.chunk = 1; /* the last chunk completes the flush */
    c.nrows = 0;
    assert_int_equal(ed_redis_fence_apply(rc, sha, &c, &res, &statements, err, sizeof err), 0);
    assert_int_equal(res.applied, 1);
    freeReplyObject(redisCommand(rc, "SCRIPT FLUSH")); /* the server forgot it: EVAL */
    c.chunk = 0;
    c.nrows = 2;
    assert_int_equal(ed_redis_fence_apply(rc, sha, &c, &res, &statements, err, sizeof err), 0);
    assert_int_equal(res.applied, 0); /* id 12 is complete */
    ed_redis_fence_t f;
    s_fence(rc, fence, &f);
    assert_int_equal(f.id, 12);
    assert_string_equal(f.positions, "p");
    ed_redis_fence_clear(&f);
    c.id = 13;
    c.chunk = 1; /* a chunk before its chunk 0: refused by the script */
    assert_int_equal(ed_redis_fence_apply(rc, sha, &c, &res, &statements, err, sizeof err), -2);
    ASSERT_HAS(err, "EDDYFENCE");
    redisReply *rep = redisCommand(rc, "ZSCORE %s a", z);
    assert_string_equal(rep->str, "3");
    freeReplyObject(rep);
    s_del(rc, z, fence);
    redisFree(rc);
}

/* score_mode set under exactly_once: max is written with ZADD GT and min
 * with ZADD LT, so the value after a restart (counted from the replay only)
 * never replaces a better one. */
static void test_redis_eo_set_max_min(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    static const char *tags[2] = {"mx", "mn"}, *extra[2] = {"score: hi", "score: lo"};
    for (int m = 0; m < 2; m++) {
        char z[128], fence[160], err[1024] = "";
        sc_sink_t s;
        s_open(&s, tags[m], sc_env("EDDY_REDIS_URL"), extra[m], z, sizeof z, fence, sizeof fence);
        s_del(rc, z, fence);
        double first = 50, later[2] = {m ? 80 : 20, m ? 10 : 90};
        s_flush_t g;
        s_flush(&g, 30, 1, 1, 0, first, 1);
        ed_sink_stats_t st = {0};
        ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &g.flush, &st, err, sizeof err), err);
        s_check(rc, z, &g, 0, first, 1);
        s_flush_t w; /* worse than the stored value: kept */
        s_flush(&w, 30, 2, 2, 0, later[0], 1);
        ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &w.flush, &st, err, sizeof err), err);
        s_check(rc, z, &g, 0, first, 1);
        s_flush_t b; /* better: replaces */
        s_flush(&b, 30, 3, 3, 0, later[1], 1);
        ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &b.flush, &st, err, sizeof err), err);
        s_check(rc, z, &g, 0, later[1], 1);
        sc_sink_close(&s);
        s_del(rc, z, fence);
        s_flush_free(&g);
        s_flush_free(&w);
        s_flush_free(&b);
    }
    redisFree(rc);
}

/* A fence key that holds another type is named, with what to do. */
static void test_redis_eo_fence_wrongtype(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    char z[128], fence[160], err[1024] = "";
    sc_sink_t s;
    s_open(&s, "wt", sc_env("EDDY_REDIS_URL"), "", z, sizeof z, fence, sizeof fence);
    freeReplyObject(redisCommand(rc, "SET %s not-a-hash", fence));
    uint64_t id = 0;
    char *pos = NULL;
    ASSERT_WRITE(ED_WRITE_DROP, s.type->eo_read(s.ctx, S_PIPELINE, &id, &pos, err, sizeof err),
                 err);
    ASSERT_HAS(err, "WRONGTYPE");
    ASSERT_HAS(err, fence);
    ASSERT_HAS(err, "delete it");
    s_flush_t g;
    s_flush(&g, 10, 1, 1, 0, 1, 0);
    ed_sink_stats_t st = {0};
    ASSERT_WRITE(ED_WRITE_RETRY, sc_sink_write(&s, &g.flush, &st, err, sizeof err), err);
    ASSERT_HAS(err, fence);
    assert_int_equal(st.rows_written, 0);
    sc_sink_close(&s);
    s_del(rc, z, fence);
    s_flush_free(&g);
    redisFree(rc);
}

static double s_secs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The cost of the fence: 100k rows (100 chunks) written at-least-once
 * (MULTI/EXEC) and exactly-once (the script), both exact; the times are
 * printed ("# …"), not asserted. */
static void test_redis_eo_cost(void **state) {
    (void)state;
    redisContext *rc = it_redis();
    double secs[2];
    for (int eo = 0; eo < 2; eo++) {
        char z[128], fence[160], err[1024] = "";
        sc_sink_t s;
        s_open(&s, eo ? "ce" : "ca", sc_env("EDDY_REDIS_URL"), "", z, sizeof z, fence,
               sizeof fence);
        s_del(rc, z, fence);
        s_flush_t g;
        s_flush(&g, 100000, 1, 1, 0, 1, 0);
        if (!eo)
            g.flush.eo = NULL;
        ed_sink_stats_t st = {0};
        double t0 = s_secs();
        ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &g.flush, &st, err, sizeof err), err);
        secs[eo] = s_secs() - t0;
        assert_int_equal(st.rows_written, 100000);
        s_check(rc, z, &g, 1, 0, 0);
        sc_sink_close(&s);
        s_del(rc, z, fence);
        s_flush_free(&g);
    }
    print_message("# 100000 rows: MULTI/EXEC %.0f ms (%.0f rows/s), fence script %.0f ms "
                  "(%.0f rows/s)\n",
                  secs[0] * 1e3, 1e5 / secs[0], secs[1] * 1e3, 1e5 / secs[1]);
    redisFree(rc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_eo_replay_noop),
        cmocka_unit_test(test_redis_eo_partial_resume),
        cmocka_unit_test(test_redis_eo_chunk_twice),
        cmocka_unit_test(test_redis_eo_set_max_min),
        cmocka_unit_test(test_redis_eo_fence_wrongtype),
        cmocka_unit_test(test_redis_eo_cost),
    };
    return cmocka_run_group_tests_name("it_sink_redis_eo", tests, NULL, NULL);
}
