/*
 * it_sinks.c — the postgres, mariadb, redis and kafka sink plugins against
 * real servers (scripts/services start; the runner exports
 * `scripts/services env`). Each test writes changelog flushes through the
 * plugin and reads the result back with the server's own client library.
 *
 * The config structs are built by hand so this test does not depend on the
 * YAML loader. Changelog rows come from a tiny model of the aggregator
 * (s_emit) that keeps per-key totals, so expected values are exact.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <mysql.h>

#include "runtime/ed_buf.h"
#include "sinks/ed_sink.h"

/* ------------------------------------------------------------------ setup */

static const char *s_env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set: start the servers with `scripts/services start` and export "
                 "their addresses with `eval \"$(scripts/services env)\"` (tests/run does both)",
                 name);
    return v;
}

/* Names of tables and keys carry "{run}", replaced by this process's id, so
 * that test runs sharing the servers (build and build-san, two developers)
 * never touch each other's data. Returns one of a few rotating buffers. */
static const char *s_run(const char *text) {
    static char bufs[8][1024];
    static int next;
    char *out = bufs[next++ % 8], tag[16];
    snprintf(tag, sizeof tag, "%d", (int)getpid());
    size_t n = 0;
    for (const char *p = text; *p && n + 16 < sizeof bufs[0];) {
        if (!strncmp(p, "{run}", 5)) {
            n += (size_t)snprintf(out + n, sizeof bufs[0] - n, "%s", tag);
            p += 5;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    return out;
}

#define ASSERT_HAS(text, needle)                                                                   \
    do {                                                                                           \
        if (!strstr((text), (needle)))                                                             \
            fail_msg("expected \"%s\" in: %s", (needle), (text));                                  \
    } while (0)

#define ASSERT_WRITE(expect, r, err)                                                               \
    do {                                                                                           \
        if ((r) != (expect))                                                                       \
            fail_msg("write returned %d, expected %d: %s", (int)(r), (int)(expect), (err));        \
    } while (0)

static ed_conf_keyfield_t s_key2[] = {{"doc", "doc"}, {"word", "word"}};
static ed_conf_compute_t s_comp5[] = {
    {"count", ED_AGG_COUNT, NULL}, {"total", ED_AGG_SUM, "x"}, {"lo", ED_AGG_MIN, "x"},
    {"hi", ED_AGG_MAX, "x"},       {"mean", ED_AGG_AVG, "x"},
};

static ed_conf_aggregation_t s_agg(const char *name) {
    ed_conf_aggregation_t a = {0};
    a.name = (char *)name;
    a.from = "docs";
    a.key = s_key2;
    a.nkey = 2;
    a.compute = s_comp5;
    a.ncompute = 5;
    return a;
}

/* A config of one aggregation and one sink, pointing at each other. */
typedef struct {
    ed_config_t conf;
    ed_conf_aggregation_t agg;
    ed_conf_sink_t sink;
    ed_sink_ctx_t sc;
} s_setup_t;

static void s_setup(s_setup_t *s, const char *agg_name, const char *sink_name,
                    ed_sink_kind_t kind) {
    memset(s, 0, sizeof *s);
    s->agg = s_agg(agg_name);
    s->sink.name = (char *)sink_name;
    s->sink.kind = kind;
    s->sink.batch_rows = 1000;
    s->sink.retry_max_ms = 5000;
    s->sink.from_agg = 0;
    s->sink.nfeeds = 1;
    s->conf.path = "it_sinks.c";
    s->conf.aggregations = &s->agg;
    s->conf.naggregations = 1;
    s->conf.sinks = &s->sink;
    s->conf.nsinks = 1;
    s->sc.conf = &s->conf;
    s->sc.sink = &s->sink;
    s->sc.agg = &s->agg;
}

/* ------------------------------------------------- a model of the aggregator */

typedef struct {
    const char *doc;
    const char *word;
    size_t word_len; /* words may hold NUL bytes */
    double count, sum, min, max;
    int64_t n;
} s_state_t;

/* Feeds `xs` into `k` and appends the changelog row the aggregator would
 * emit for them (see ed_change_t for delta/value per function). */
static void s_emit(ed_batch_t *b, s_state_t *k, const double *xs, int nx) {
    double dsum = 0;
    for (int i = 0; i < nx; i++) {
        dsum += xs[i];
        k->min = k->n + i == 0 ? xs[i] : fmin(k->min, xs[i]);
        k->max = k->n + i == 0 ? xs[i] : fmax(k->max, xs[i]);
    }
    k->count += nx;
    k->sum += dsum;
    k->n += nx;
    double delta[5] = {nx, dsum, k->min, k->max, dsum};
    double value[5] = {k->count, k->sum, k->min, k->max, k->sum / (double)k->n};
    uint8_t key[4096];
    size_t len = 0;
    ed_key_append(key, &len, k->doc, strlen(k->doc));
    ed_key_append(key, &len, k->word, k->word_len);
    ed_change_t h = {.agg = 0, .nvals = 5, .key_len = (uint32_t)len, .n = k->n, .delta_n = nx};
    ed_batch_add_change(b, &h, delta, value, key);
}

static char s_long_word[301], s_huge_word[3001];

enum {
    K_THE,
    K_UNI,
    K_JP,
    K_BADUTF8,
    K_NEW,
    K_THE_UPPER,
    K_THE_SPACE,
    K_NUL,
    K_LONG,
    K_QUOTE,
    K_HUGE,
    K_N
};

static void s_states(s_state_t st[K_N]) {
    memset(s_long_word, 'a', 300);
    s_long_word[300] = 0;
    memset(s_huge_word, 'h', 3000);
    s_huge_word[3000] = 0;
    memset(st, 0, sizeof(s_state_t) * K_N);
    st[K_THE] = (s_state_t){.doc = "d1", .word = "the", .word_len = 3};
    st[K_UNI] = (s_state_t){.doc = "d1", .word = "ünïcödé", .word_len = strlen("ünïcödé")};
    st[K_JP] = (s_state_t){.doc = "d2", .word = "日本語", .word_len = strlen("日本語")};
    st[K_BADUTF8] = (s_state_t){.doc = "d2", .word = "\xff\xfe", .word_len = 2};
    st[K_NEW] = (s_state_t){.doc = "d3", .word = "new", .word_len = 3};
    st[K_THE_UPPER] = (s_state_t){.doc = "d1", .word = "The", .word_len = 3};
    st[K_THE_SPACE] = (s_state_t){.doc = "d1", .word = "the ", .word_len = 4};
    st[K_NUL] = (s_state_t){.doc = "d1", .word = "nul\0byte", .word_len = 8};
    st[K_LONG] = (s_state_t){.doc = "d1", .word = s_long_word, .word_len = 300};
    /* Quoting: SQL, array literals, JSON. */
    st[K_QUOTE] = (s_state_t){.doc = "d1", .word = "q'u\"o\\te,{} NULL", .word_len = 16};
    st[K_HUGE] = (s_state_t){.doc = "d1", .word = s_huge_word, .word_len = 3000};
}

/* Two flushes. The second has two changelog batches (two aggregator flush
 * rounds merged by the sink actor) that both carry K_THE. */
typedef struct {
    s_state_t st[K_N];
    ed_batch_t *f1[1];
    ed_batch_t *f2[2];
    ed_sink_flush_t flush1, flush2;
} s_data_t;

static void s_data(s_data_t *d) {
    s_states(d->st);
    s_state_t *st = d->st;
    d->f1[0] = ed_batch_new(ED_BATCH_CHANGELOG, 4096);
    s_emit(d->f1[0], &st[K_THE], (double[]){1, 2, 3}, 3);
    s_emit(d->f1[0], &st[K_UNI], (double[]){10}, 1);
    s_emit(d->f1[0], &st[K_JP], (double[]){-5, 5}, 2);
    s_emit(d->f1[0], &st[K_BADUTF8], (double[]){8}, 1);
    d->f2[0] = ed_batch_new(ED_BATCH_CHANGELOG, 4096);
    s_emit(d->f2[0], &st[K_THE], (double[]){4}, 1);
    s_emit(d->f2[0], &st[K_NEW], (double[]){7}, 1);
    s_emit(d->f2[0], &st[K_THE_UPPER], (double[]){1}, 1);
    s_emit(d->f2[0], &st[K_THE_SPACE], (double[]){2}, 1);
    s_emit(d->f2[0], &st[K_NUL], (double[]){3}, 1);
    s_emit(d->f2[0], &st[K_LONG], (double[]){6}, 1);
    s_emit(d->f2[0], &st[K_QUOTE], (double[]){0.25}, 1);
    s_emit(d->f2[0], &st[K_HUGE], (double[]){1}, 1);
    d->f2[1] = ed_batch_new(ED_BATCH_CHANGELOG, 4096);
    s_emit(d->f2[1], &st[K_THE], (double[]){0.5}, 1);
    s_emit(d->f2[1], &st[K_UNI], (double[]){20, 30}, 2);
    d->flush1 = (ed_sink_flush_t){.checkpoint = 1, .changes = d->f1, .nchanges = 1, .rows = 4};
    d->flush2 = (ed_sink_flush_t){.checkpoint = 2, .changes = d->f2, .nchanges = 2, .rows = 10};
}

static void s_data_free(s_data_t *d) {
    ed_batch_destroy(&d->f1[0]);
    ed_batch_destroy(&d->f2[0]);
    ed_batch_destroy(&d->f2[1]);
}

static void s_assert_num(const char *what, const s_state_t *k, double got, double want) {
    if (fabs(got - want) > 1e-9 * fmax(1, fabs(want)))
        fail_msg("%s of (%s, %.*s): got %.17g, want %.17g", what, k->doc, (int)k->word_len, k->word,
                 got, want);
}

/* ---------------------------------------------------------------- postgres */

static void s_pg_quiet(void *arg, const char *msg) {
    (void)arg;
    (void)msg;
}

static PGconn *s_pg(void) {
    PGconn *c = PQconnectdb(s_env("EDDY_PG_DSN"));
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        PQfinish(c);
        fail_msg("cannot connect to %s: %s", s_env("EDDY_PG_DSN"), msg);
    }
    PQsetNoticeProcessor(c, s_pg_quiet, NULL);
    return c;
}

static void s_pg_exec(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static void test_postgres_upsert(void **state) {
    (void)state;
    PGconn *c = s_pg();
    s_pg_exec(c, s_run("DROP TABLE IF EXISTS it_pg_words_{run}"));
    s_setup_t s;
    s_setup(&s, "it_words", "pg_words", ED_SINK_POSTGRES);
    s.sink.dsn = (char *)s_env("EDDY_PG_DSN");
    char table[64];
    snprintf(table, sizeof table, "%s", s_run("it_pg_words_{run}"));
    s.sink.table = table;
    s.sink.batch_rows = 2; /* several statements per flush */
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_POSTGRES);
    assert_non_null(t);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0);

    s_data_t d;
    s_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3);
    assert_int_equal(st.rows_rejected, 1); /* K_BADUTF8 */
    r = t->write(ctx, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3 + 8);
    assert_int_equal(st.rows_rejected, 3); /* + K_NUL, K_HUGE (too long for a btree entry) */
    t->destroy(&ctx);
    assert_null(ctx);

    /* Read back. */
    int want_rows = 0;
    for (int i = 0; i < K_N; i++) {
        if (i == K_BADUTF8 || i == K_NUL || i == K_HUGE)
            continue;
        want_rows++;
        const s_state_t *k = &d.st[i];
        const char *params[2] = {k->doc, k->word};
        PGresult *res = PQexecParams(c,
                                     s_run("SELECT count, total, lo, hi, mean, mean_sum, mean_n, "
                                           "updated_at IS NOT NULL FROM it_pg_words_{run} "
                                           "WHERE doc = $1 AND word = $2"),
                                     2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
            fail_msg("row (%s, %.20s) not found: %s", k->doc, k->word, PQerrorMessage(c));
        s_assert_num("count", k, atof(PQgetvalue(res, 0, 0)), k->count);
        s_assert_num("total", k, atof(PQgetvalue(res, 0, 1)), k->sum);
        s_assert_num("lo", k, atof(PQgetvalue(res, 0, 2)), k->min);
        s_assert_num("hi", k, atof(PQgetvalue(res, 0, 3)), k->max);
        s_assert_num("mean", k, atof(PQgetvalue(res, 0, 4)), k->sum / (double)k->n);
        s_assert_num("mean_sum", k, atof(PQgetvalue(res, 0, 5)), k->sum);
        s_assert_num("mean_n", k, atof(PQgetvalue(res, 0, 6)), (double)k->n);
        assert_string_equal(PQgetvalue(res, 0, 7), "t");
        PQclear(res);
    }
    PGresult *res = PQexec(c, s_run("SELECT count(*), sum(count) FROM it_pg_words_{run}"));
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), want_rows);
    assert_int_equal(atoi(PQgetvalue(res, 0, 1)), 5 + 3 + 2 + 1 + 1 + 1 + 1 + 1);
    PQclear(res);
    /* The DDL: key columns TEXT, count BIGINT, the rest DOUBLE PRECISION. */
    res = PQexec(c, s_run("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
                          "ordinal_position) FROM information_schema.columns WHERE table_name = "
                          "'it_pg_words_{run}'"));
    assert_string_equal(PQgetvalue(res, 0, 0),
                        "doc text, word text, count bigint, total double precision, lo double "
                        "precision, hi double precision, mean double precision, mean_sum double "
                        "precision, mean_n bigint, updated_at timestamp with time zone");
    PQclear(res);
    s_pg_exec(c, s_run("DROP TABLE it_pg_words_{run}"));
    s_data_free(&d);
    PQfinish(c);
}

/* A table that exists with columns eddy cannot add to: DROP, not RETRY. */
static void test_postgres_bad_table_drops(void **state) {
    (void)state;
    PGconn *c = s_pg();
    s_pg_exec(c, s_run("DROP TABLE IF EXISTS it_pg_bad_{run}"));
    s_pg_exec(c,
              s_run("CREATE TABLE it_pg_bad_{run} (doc TEXT, word TEXT, count TEXT, total TEXT, lo "
                    "TEXT, hi TEXT, mean TEXT, mean_sum TEXT, mean_n TEXT, updated_at TIMESTAMPTZ, "
                    "PRIMARY KEY (doc, word))"));
    s_pg_exec(
        c,
        s_run("INSERT INTO it_pg_bad_{run} VALUES ('d1', 'the', 'x', 'x', 'x', 'x', 'x', 'x', 'x', "
              "now())"));
    s_setup_t s;
    s_setup(&s, "it_words", "pg_bad", ED_SINK_POSTGRES);
    s.sink.dsn = (char *)s_env("EDDY_PG_DSN");
    char table[64];
    snprintf(table, sizeof table, "%s", s_run("it_pg_bad_{run}"));
    s.sink.table = table;
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_POSTGRES);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0);
    s_data_t d;
    s_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_DROP, r, err);
    ASSERT_HAS(err, "sink 'pg_bad'");
    ASSERT_HAS(err, s_run("it_pg_bad_{run}"));
    assert_int_equal(st.rows_written, 0);
    assert_int_equal(st.rows_rejected, 4);
    /* The operator drops the bad table: the next flush creates it anew. */
    s_pg_exec(c, s_run("DROP TABLE it_pg_bad_{run}"));
    r = t->write(ctx, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    PGresult *res =
        PQexec(c, s_run("SELECT count FROM it_pg_bad_{run} WHERE doc = 'd1' AND word = 'the'"));
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "2");
    PQclear(res);
    /* The table vanishes while eddy runs: RETRY, and the retry creates it. */
    s_pg_exec(c, s_run("DROP TABLE it_pg_bad_{run}"));
    d.flush1.checkpoint = 3;
    r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "does not exist");
    assert_null(strchr(err, '\n'));
    r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    res = PQexec(c, s_run("SELECT count FROM it_pg_bad_{run} WHERE doc = 'd1' AND word = 'the'"));
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "3");
    PQclear(res);
    t->destroy(&ctx);
    s_pg_exec(c, s_run("DROP TABLE IF EXISTS it_pg_bad_{run}"));
    s_data_free(&d);
    PQfinish(c);
}

/* The server ends the sink's session between flushes: RETRY, then the next
 * call reconnects and the flush is applied exactly once. */
static void test_postgres_reconnect(void **state) {
    (void)state;
    PGconn *c = s_pg();
    s_pg_exec(c, s_run("DROP TABLE IF EXISTS it_pg_reconnect_{run}"));
    char dsn[512], app[64], kill[256];
    snprintf(app, sizeof app, "eddy_it_%d", (int)getpid());
    snprintf(dsn, sizeof dsn, "%s application_name=%s", s_env("EDDY_PG_DSN"), app);
    snprintf(kill, sizeof kill,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
             "'%s'",
             app);
    s_setup_t s;
    s_setup(&s, "it_words", "pg_reconnect", ED_SINK_POSTGRES);
    s.sink.dsn = dsn;
    char table[64];
    snprintf(table, sizeof table, "%s", s_run("it_pg_reconnect_{run}"));
    s.sink.table = table;
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_POSTGRES);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0);
    s_data_t d;
    s_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    s_pg_exec(c, kill);
    r = t->write(ctx, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'pg_reconnect' (postgres host=");
    r = t->write(ctx, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.rows_written, 3 + 8);
    t->destroy(&ctx);
    PGresult *res = PQexec(c, s_run("SELECT sum(count) FROM it_pg_reconnect_{run}"));
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 5 + 3 + 2 + 1 + 1 + 1 + 1 + 1);
    PQclear(res);
    s_pg_exec(c, s_run("DROP TABLE it_pg_reconnect_{run}"));
    s_data_free(&d);
    PQfinish(c);
}

static void test_postgres_down_retries(void **state) {
    (void)state;
    s_setup_t s;
    s_setup(&s, "it_words", "pg_down", ED_SINK_POSTGRES);
    s.sink.dsn = "host=127.0.0.1 port=1 dbname=eddy user=postgres";
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_POSTGRES);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0); /* init never connects */
    s_data_t d;
    s_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'pg_down' (postgres host=127.0.0.1 port=1): ");
    ASSERT_HAS(err, "; retrying");
    assert_null(strchr(err, '\n'));
    /* Rejections are counted once per flush, not again on the retry. */
    r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_int_equal(st.rows_rejected, 1);
    assert_int_equal(st.rows_written, 0);
    t->destroy(&ctx);
    s_data_free(&d);
}

/* ----------------------------------------------------------------- mariadb */

static MYSQL *s_my(void) {
    MYSQL *m = mysql_init(NULL);
    const char *host = s_env("EDDY_MYSQL_HOST");
    int port = atoi(s_env("EDDY_MYSQL_PORT"));
    if (!mysql_real_connect(m, host, s_env("EDDY_MYSQL_USER"), "", s_env("EDDY_MYSQL_DB"),
                            (unsigned)port, NULL, 0))
        fail_msg("cannot connect to mariadb %s:%d: %s", host, port, mysql_error(m));
    return m;
}

static void s_my_exec(MYSQL *m, const char *sql) {
    if (mysql_query(m, sql))
        fail_msg("%s: %s", sql, mysql_error(m));
}

static void s_my_sink(s_setup_t *s, const char *name) {
    s_setup(s, "it_words", name, ED_SINK_MARIADB);
    s->sink.mariadb.host = (char *)s_env("EDDY_MYSQL_HOST");
    s->sink.mariadb.port = atoi(s_env("EDDY_MYSQL_PORT"));
    s->sink.mariadb.user = (char *)s_env("EDDY_MYSQL_USER");
    s->sink.mariadb.password = "";
    s->sink.mariadb.database = (char *)s_env("EDDY_MYSQL_DB");
}

static void test_mariadb_upsert(void **state) {
    (void)state;
    MYSQL *m = s_my();
    s_my_exec(m, s_run("DROP TABLE IF EXISTS it_my_words_{run}"));
    s_setup_t s;
    s_my_sink(&s, "my_words");
    char table[64];
    snprintf(table, sizeof table, "%s", s_run("it_my_words_{run}"));
    s.sink.table = table;
    s.sink.batch_rows = 3;
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_MARIADB);
    assert_non_null(t);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0);
    s_data_t d;
    s_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 4); /* invalid UTF-8 is fine in VARBINARY */
    assert_int_equal(st.rows_rejected, 0);
    r = t->write(ctx, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 4 + 8);
    assert_int_equal(st.rows_rejected, 2); /* K_LONG, K_HUGE: > VARBINARY(255) */
    t->destroy(&ctx);

    s_my_exec(m, s_run("SELECT doc, word, count, total, lo, hi, mean, mean_sum, mean_n FROM "
                       "it_my_words_{run}"));
    MYSQL_RES *res = mysql_store_result(m);
    assert_non_null(res);
    int seen[K_N] = {0};
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *len = mysql_fetch_lengths(res);
        int found = -1;
        for (int i = 0; i < K_N; i++)
            if (len[0] == strlen(d.st[i].doc) && !memcmp(row[0], d.st[i].doc, len[0]) &&
                len[1] == d.st[i].word_len && !memcmp(row[1], d.st[i].word, len[1]))
                found = i;
        if (found < 0) {
            fail_msg("unexpected row (%.*s, %.*s)", (int)len[0], row[0], (int)len[1], row[1]);
            return; /* not reached: fail_msg jumps out */
        }
        const s_state_t *k = &d.st[found];
        seen[found]++;
        s_assert_num("count", k, atof(row[2]), k->count);
        s_assert_num("total", k, atof(row[3]), k->sum);
        s_assert_num("lo", k, atof(row[4]), k->min);
        s_assert_num("hi", k, atof(row[5]), k->max);
        s_assert_num("mean", k, atof(row[6]), k->sum / (double)k->n);
        s_assert_num("mean_sum", k, atof(row[7]), k->sum);
        s_assert_num("mean_n", k, atof(row[8]), (double)k->n);
    }
    mysql_free_result(res);
    for (int i = 0; i < K_N; i++)
        if (seen[i] != (i == K_LONG || i == K_HUGE ? 0 : 1))
            fail_msg("key %d (%s, %.20s) found %d times", i, d.st[i].doc, d.st[i].word, seen[i]);
    s_my_exec(m, s_run("DROP TABLE it_my_words_{run}"));
    s_data_free(&d);
    mysql_close(m);
}

static void test_mariadb_down_retries(void **state) {
    (void)state;
    s_setup_t s;
    s_setup(&s, "it_words", "my_down", ED_SINK_MARIADB);
    s.sink.mariadb.host = "127.0.0.1";
    s.sink.mariadb.port = 1;
    s.sink.mariadb.user = "root";
    s.sink.mariadb.database = "eddy";
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_MARIADB);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0);
    s_data_t d;
    s_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'my_down' (mariadb 127.0.0.1:1/eddy): ");
    ASSERT_HAS(err, "; retrying");
    t->destroy(&ctx);
    s_data_free(&d);
}

/* ------------------------------------------------------------------- redis */

static redisContext *s_redis(void) {
    const char *url = s_env("EDDY_REDIS_URL");
    char host[256];
    int port = 0;
    if (sscanf(url, "redis://%255[^:]:%d", host, &port) != 2)
        fail_msg("cannot parse EDDY_REDIS_URL=%s", url);
    redisContext *rc = redisConnect(host, port);
    if (!rc || rc->err)
        fail_msg("cannot connect to %s: %s", url, rc ? rc->errstr : "?");
    return rc;
}

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

static void test_redis_zsets(void **state) {
    (void)state;
    redisContext *rc = s_redis();
    freeReplyObject(
        redisCommand(rc, s_run("DEL eddy:it:{run}:top:d1 eddy:it:{run}:top:d2 eddy:it:{run}:top:d3 "
                               "eddy:it:{run}:max")));
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_REDIS);
    assert_non_null(t);

    /* A: one set per doc, member = word (the key part not in the zset
     * template), score = count via ZINCRBY. */
    s_setup_t a;
    s_setup(&a, "it_words", "redis_top", ED_SINK_REDIS);
    a.sink.url = (char *)s_env("EDDY_REDIS_URL");
    char zset_a[64], zset_b[64];
    snprintf(zset_a, sizeof zset_a, "%s", s_run("eddy:it:{run}:top:{doc}"));
    snprintf(zset_b, sizeof zset_b, "%s", s_run("eddy:it:{run}:max"));
    a.sink.zset = zset_a;
    a.sink.batch_rows = 2; /* read replies mid-pipeline */
    /* B: one set, member "doc/word", score = max via ZADD, top 2 kept. */
    s_setup_t b;
    s_setup(&b, "it_words", "redis_max", ED_SINK_REDIS);
    b.sink.url = (char *)s_env("EDDY_REDIS_URL");
    b.sink.zset = zset_b;
    b.sink.member = "{doc}/{word}";
    b.sink.score = "hi";
    b.sink.keep_top = 2;
    void *ca = NULL, *cb = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ca, &a.sc, err, sizeof err), 0);
    assert_int_equal(t->init(&cb, &b.sc, err, sizeof err), 0);

    s_data_t d;
    s_data(&d);
    ed_sink_stats_t sa = {0}, sb = {0};
    ed_write_result_t r = t->write(ca, &d.flush1, &sa, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    r = t->write(cb, &d.flush1, &sb, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(s_zcard(rc, s_run("eddy:it:{run}:max")), 2);
    r = t->write(ca, &d.flush2, &sa, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    r = t->write(cb, &d.flush2, &sb, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(sa.rows_written, 4 + 10);
    assert_int_equal(sa.rows_rejected, 0);
    /* batch_rows 2: one MULTI … EXEC per 2 rows (2 + 5 chunks). */
    assert_int_equal(sa.statements, 2 * (1 + 2 + 1) + 5 * (1 + 2 + 1));
    t->destroy(&ca);
    t->destroy(&cb);

    int found;
    for (int i = 0; i < K_N; i++) {
        const s_state_t *k = &d.st[i];
        char zset[64];
        snprintf(zset, sizeof zset, "%s%s", s_run("eddy:it:{run}:top:"), k->doc);
        double v = s_zscore(rc, zset, k->word, k->word_len, &found);
        if (!found)
            fail_msg("member %.20s missing from %s", k->word, zset);
        s_assert_num("zscore", k, v, k->count);
    }
    assert_int_equal(s_zcard(rc, s_run("eddy:it:{run}:top:d1")), 8);
    assert_int_equal(s_zcard(rc, s_run("eddy:it:{run}:top:d2")), 2);
    assert_int_equal(s_zcard(rc, s_run("eddy:it:{run}:top:d3")), 1);
    /* Top 2 by max: d1/ünïcödé (30) and d2/\xff\xfe (8). */
    assert_int_equal(s_zcard(rc, s_run("eddy:it:{run}:max")), 2);
    char m[64];
    int ml = snprintf(m, sizeof m, "d1/%s", "ünïcödé");
    assert_true(s_zscore(rc, s_run("eddy:it:{run}:max"), m, (size_t)ml, &found) == 30 && found);
    assert_true(s_zscore(rc, s_run("eddy:it:{run}:max"), "d2/\xff\xfe", 5, &found) == 8 && found);
    freeReplyObject(
        redisCommand(rc, s_run("DEL eddy:it:{run}:top:d1 eddy:it:{run}:top:d2 eddy:it:{run}:top:d3 "
                               "eddy:it:{run}:max")));
    s_data_free(&d);
    redisFree(rc);
}

/* The server drops the sink's connection between flushes: RETRY, then the
 * next call reconnects and applies the flush once. */
static void test_redis_reconnect(void **state) {
    (void)state;
    redisContext *rc = s_redis();
    char zset[64], name[64];
    snprintf(zset, sizeof zset, "%s", s_run("eddy:it:{run}:re:{doc}"));
    snprintf(name, sizeof name, "%s", s_run("redis_re_{run}"));
    freeReplyObject(redisCommand(rc, s_run("DEL eddy:it:{run}:re:d1 eddy:it:{run}:re:d2 "
                                           "eddy:it:{run}:re:d3")));
    s_setup_t s;
    s_setup(&s, "it_words", name, ED_SINK_REDIS);
    s.sink.url = (char *)s_env("EDDY_REDIS_URL");
    s.sink.zset = zset;
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_REDIS);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0);
    s_data_t d;
    s_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    /* Find the sink's connection by its name and close it. */
    redisReply *list = redisCommand(rc, "CLIENT LIST");
    assert_non_null(list);
    char needle[96], id[32] = "";
    snprintf(needle, sizeof needle, " name=eddy-%s ", name);
    const char *line = strstr(list->str, needle);
    if (!line)
        fail_msg("no client named eddy-%s in CLIENT LIST", name);
    while (line > list->str && line[-1] != '\n')
        line--;
    assert_int_equal(sscanf(line, "id=%31s", id), 1);
    freeReplyObject(list);
    freeReplyObject(redisCommand(rc, "CLIENT KILL ID %s", id));
    r = t->write(ctx, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'redis_re_");
    r = t->write(ctx, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.reconnects, 1);
    t->destroy(&ctx);
    int found;
    char z[64];
    snprintf(z, sizeof z, "%s", s_run("eddy:it:{run}:re:d1"));
    assert_true(s_zscore(rc, z, "the", 3, &found) == 5 && found);
    freeReplyObject(redisCommand(rc, s_run("DEL eddy:it:{run}:re:d1 eddy:it:{run}:re:d2 "
                                           "eddy:it:{run}:re:d3")));
    s_data_free(&d);
    redisFree(rc);
}

/* A flush of `n` rows into one set per doc ("c"): word "w00042", count
 * delta 1 + i % 3, max (hi) i + 1. */
typedef struct {
    s_state_t *st;
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
        g->st[i] = (s_state_t){.doc = "c", .word = g->words[i], .word_len = 6};
        double xs[3] = {i + 1, i + 1, i + 1};
        s_emit(g->b[0], &g->st[i], xs, 1 + i % 3);
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
        s_assert_num("zscore", &g->st[i], v, times * g->st[i].count);
    }
}

/* A redis sink config for the chunk tests; `zset` and `name` are copied. */
typedef struct {
    s_setup_t s;
    char zset[96], name[64], url[64];
} s_rsink_t;

static void s_rsink(s_rsink_t *x, const char *name, const char *zset, const char *url) {
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", s_run(name));
    snprintf(x->zset, sizeof x->zset, "%s", s_run(zset));
    snprintf(x->url, sizeof x->url, "%s", url);
    s_setup(&x->s, "it_words", x->name, ED_SINK_REDIS);
    x->s.sink.url = x->url;
    x->s.sink.zset = x->zset;
}

/* 2500 rows with batch_rows 1000: three MULTI … EXEC chunks, exact scores.
 * The same checkpoint offered again after OK applies nothing; the next
 * checkpoint starts over. */
static void test_redis_chunks(void **state) {
    (void)state;
    redisContext *rc = s_redis();
    char z[96];
    snprintf(z, sizeof z, "%s", s_run("eddy:it:{run}:ch:c"));
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_rsink_t x;
    s_rsink(&x, "redis_ch_{run}", "eddy:it:{run}:ch:{doc}", s_env("EDDY_REDIS_URL"));
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_REDIS);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &x.s.sc, err, sizeof err), 0);
    s_big_t g;
    s_big(&g, 2500, 1);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 2500);
    assert_int_equal(st.statements, 3 * 2 + 2500); /* MULTI + EXEC per chunk */
    assert_int_equal(s_zcard(rc, z), 2500);
    s_big_check(rc, z, &g, 0, 2500, 1);

    r = t->write(ctx, &g.flush, &st, err, sizeof err); /* same checkpoint: already done */
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 2500);
    assert_int_equal(st.statements, 3 * 2 + 2500);
    s_big_check(rc, z, &g, 0, 2500, 1);

    g.flush.checkpoint = 2; /* a new flush with the same rows adds them again */
    r = t->write(ctx, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 5000);
    s_big_check(rc, z, &g, 0, 2500, 2);
    assert_int_equal(st.rows_rejected, 0);
    t->destroy(&ctx);
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_big_free(&g);
    redisFree(rc);
}

/* A TCP proxy between a sink and the real Redis that breaks the connection
 * at the `at`-th EXEC it sees from the sink. Deterministic without sleeps: a
 * sink sends a whole chunk (MULTI … EXEC) and then waits for its replies, so
 * the cut falls exactly there. S_CUT_BEFORE holds back the last byte of that
 * EXEC: the server never runs the chunk. S_CUT_AFTER passes the EXEC, lets
 * the server run it, and closes without passing its reply: the chunk is
 * applied but the sink cannot know. Later connections pass through. */
typedef enum { S_CUT_BEFORE, S_CUT_AFTER } s_cut_t;

typedef struct {
    int lfd;     /* listening socket */
    int port;    /* its port */
    int up_port; /* Redis */
    s_cut_t mode;
    int at;          /* cut at this EXEC (1-based) */
    atomic_int stop; /* set by the test thread */
    pthread_t thr;
} s_proxy_t;

static int s_send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *s_proxy_run(void *arg) {
    s_proxy_t *p = arg;
    static const char pat[] = "*1\r\n$4\r\nEXEC\r\n"; /* as hiredis formats EXEC */
    const size_t plen = sizeof pat - 1;
    int seen = 0;
    static char buf[1 << 16];
    while (!atomic_load(&p->stop)) {
        struct pollfd lp = {p->lfd, POLLIN, 0};
        if (poll(&lp, 1, 20) <= 0)
            continue;
        int c = accept(p->lfd, NULL, NULL);
        if (c < 0)
            continue;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in up = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->up_port)};
        up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (s < 0 || connect(s, (struct sockaddr *)&up, sizeof up) < 0) {
            if (s >= 0)
                close(s);
            close(c);
            continue;
        }
        size_t match = 0;
        int cut = 0;
        while (!atomic_load(&p->stop) && !cut) {
            struct pollfd fds[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
            if (poll(fds, 2, 20) <= 0)
                continue;
            if (fds[1].revents) {
                ssize_t n = read(s, buf, sizeof buf);
                if (n <= 0 || s_send_all(c, buf, (size_t)n) < 0)
                    break;
            }
            if (fds[0].revents) {
                ssize_t n = read(c, buf, sizeof buf);
                if (n <= 0)
                    break;
                size_t fwd = (size_t)n;
                for (size_t i = 0; i < (size_t)n && seen < p->at; i++) {
                    /* '*' occurs only first in the pattern: restarting there is exact */
                    match = buf[i] == pat[match] ? match + 1 : buf[i] == pat[0];
                    if (match == plen && ++seen == p->at) {
                        fwd = p->mode == S_CUT_BEFORE ? i : i + 1;
                        cut = 1;
                    } else if (match == plen) {
                        match = 0;
                    }
                }
                if (s_send_all(s, buf, fwd) < 0)
                    break;
            }
        }
        if (cut) {
            /* FIN to Redis: it runs every complete command it received (an
             * unfinished EXEC is not, and the open MULTI is discarded), then
             * closes. Its replies are dropped; the sink sees the connection
             * close only after that. */
            shutdown(s, SHUT_WR);
            while (read(s, buf, sizeof buf) > 0)
                ;
        }
        close(s);
        close(c);
    }
    return NULL;
}

static void s_proxy_start(s_proxy_t *p, s_cut_t mode, int at) {
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->at = at;
    p->up_port = atoi(s_env("EDDY_REDIS_PORT"));
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(p->lfd, 4), 0);
    assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &alen), 0);
    p->port = ntohs(a.sin_port);
    atomic_store(&p->stop, 0);
    assert_int_equal(pthread_create(&p->thr, NULL, s_proxy_run, p), 0);
}

static void s_proxy_stop(s_proxy_t *p) {
    atomic_store(&p->stop, 1);
    pthread_join(p->thr, NULL);
    close(p->lfd);
}

/* The connection breaks mid-flush, between chunk 1 and chunk 2 (EXEC never
 * reached Redis): RETRY, and the retry for the same checkpoint reconnects
 * and resumes at chunk 2 — chunk 1 is not applied twice. */
static void test_redis_resume(void **state) {
    (void)state;
    redisContext *rc = s_redis();
    char z[96], url[64];
    snprintf(z, sizeof z, "%s", s_run("eddy:it:{run}:rs:c"));
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_proxy_t px;
    s_proxy_start(&px, S_CUT_BEFORE, 2);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", px.port);
    s_rsink_t x;
    s_rsink(&x, "redis_rs_{run}", "eddy:it:{run}:rs:{doc}", url);
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_REDIS);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &x.s.sc, err, sizeof err), 0);
    s_big_t g;
    s_big(&g, 2500, 7);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'redis_rs_");
    assert_int_equal(st.rows_written, 1000);
    assert_int_equal(s_zcard(rc, z), 1000); /* chunk 1 only */
    s_big_check(rc, z, &g, 0, 1000, 1);

    r = t->write(ctx, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.rows_written, 2500);
    assert_int_equal(st.statements, 3 * 2 + 2500); /* chunk 1 sent once */
    assert_int_equal(s_zcard(rc, z), 2500);
    s_big_check(rc, z, &g, 0, 2500, 1);
    t->destroy(&ctx);
    s_proxy_stop(&px);
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
    redisContext *rc = s_redis();
    char z[96], url[64];
    snprintf(z, sizeof z, "%s", s_run("eddy:it:{run}:lr:c"));
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_proxy_t px;
    s_proxy_start(&px, S_CUT_AFTER, 2);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", px.port);
    s_rsink_t x;
    s_rsink(&x, "redis_lr_{run}", "eddy:it:{run}:lr:{doc}", url);
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_REDIS);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &x.s.sc, err, sizeof err), 0);
    s_big_t g;
    s_big(&g, 2500, 3);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_int_equal(st.rows_written, 1000);
    assert_int_equal(s_zcard(rc, z), 2000); /* chunk 2 ran */
    r = t->write(ctx, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 2500);
    s_big_check(rc, z, &g, 0, 1000, 1);
    s_big_check(rc, z, &g, 1000, 2000, 2);
    s_big_check(rc, z, &g, 2000, 2500, 1);
    t->destroy(&ctx);
    s_proxy_stop(&px);
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_big_free(&g);
    redisFree(rc);
}

/* keep_top trims run after every row chunk, in chunks of their own. */
static void test_redis_keep_top_chunks(void **state) {
    (void)state;
    redisContext *rc = s_redis();
    char z[96];
    snprintf(z, sizeof z, "%s", s_run("eddy:it:{run}:kt:c"));
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_REDIS);
    char err[1024] = "";

    /* One set, 2500 rows, top 10 by max: 3 row chunks + 1 trim chunk. */
    s_rsink_t x;
    s_rsink(&x, "redis_kt_{run}", "eddy:it:{run}:kt:{doc}", s_env("EDDY_REDIS_URL"));
    x.s.sink.score = "hi";
    x.s.sink.keep_top = 10;
    void *ctx = NULL;
    assert_int_equal(t->init(&ctx, &x.s.sc, err, sizeof err), 0);
    s_big_t g;
    s_big(&g, 2500, 1);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.statements, 3 * 2 + 2500 + (2 + 1));
    assert_int_equal(s_zcard(rc, z), 10);
    for (int i = 2490; i < 2500; i++) {
        int found;
        assert_true(s_zscore(rc, z, g.words[i], 6, &found) == i + 1 && found);
    }
    t->destroy(&ctx);
    s_big_free(&g);

    /* One set per doc, batch_rows 1: the trims of a flush touching two sets
     * take two chunks. Top 1 by max per doc. */
    s_rsink_t y;
    s_rsink(&y, "redis_kt1_{run}", "eddy:it:{run}:kt1:{doc}", s_env("EDDY_REDIS_URL"));
    y.s.sink.score = "hi";
    y.s.sink.keep_top = 1;
    y.s.sink.batch_rows = 1;
    freeReplyObject(redisCommand(rc, s_run("DEL eddy:it:{run}:kt1:d1 eddy:it:{run}:kt1:d2 "
                                           "eddy:it:{run}:kt1:d3")));
    assert_int_equal(t->init(&ctx, &y.s.sc, err, sizeof err), 0);
    s_data_t d;
    s_data(&d);
    ed_sink_stats_t sy = {0};
    r = t->write(ctx, &d.flush1, &sy, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    r = t->write(ctx, &d.flush2, &sy, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    /* flush 1: 4 rows, sets d1 d2; flush 2: 10 rows, sets d1 d3; 3 commands per chunk */
    assert_int_equal(sy.statements, 3 * (4 + 2) + 3 * (10 + 2));
    assert_int_equal(sy.rows_written, 14);
    int found;
    assert_int_equal(s_zcard(rc, s_run("eddy:it:{run}:kt1:d1")), 1);
    assert_int_equal(s_zcard(rc, s_run("eddy:it:{run}:kt1:d2")), 1);
    assert_int_equal(s_zcard(rc, s_run("eddy:it:{run}:kt1:d3")), 1);
    const char *uni = "ünïcödé";
    assert_true(s_zscore(rc, s_run("eddy:it:{run}:kt1:d1"), uni, strlen(uni), &found) == 30 &&
                found);
    assert_true(s_zscore(rc, s_run("eddy:it:{run}:kt1:d2"), "\xff\xfe", 2, &found) == 8 && found);
    assert_true(s_zscore(rc, s_run("eddy:it:{run}:kt1:d3"), "new", 3, &found) == 7 && found);
    t->destroy(&ctx);
    s_data_free(&d);
    freeReplyObject(redisCommand(rc, s_run("DEL eddy:it:{run}:kt1:d1 eddy:it:{run}:kt1:d2 "
                                           "eddy:it:{run}:kt1:d3")));
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    redisFree(rc);
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

/* The server closed the connection and the next chunk is larger than a
 * socket buffer: hiredis's second write(2) on the dead socket raises SIGPIPE,
 * which used to end the process. Now: RETRY, and the retry writes it all. */
static void test_redis_no_sigpipe(void **state) {
    (void)state;
    redisContext *rc = s_redis();
    char z[96];
    snprintf(z, sizeof z, "%s", s_run("eddy:it:{run}:sp:c"));
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_rsink_t x;
    s_rsink(&x, "redis_sp_{run}", "eddy:it:{run}:sp:{doc}", s_env("EDDY_REDIS_URL"));
    x.s.sink.batch_rows = 50000; /* one ~2 MB chunk */
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_REDIS);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &x.s.sc, err, sizeof err), 0);
    s_big_t small, g;
    s_big(&small, 10, 1);
    s_big(&g, 50000, 2);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &small.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    s_redis_kill(rc, x.name);
    /* libmariadb's init ignores SIGPIPE process-wide (the mariadb tests ran
     * before); an eddy without a mariadb sink has the default action. */
    struct sigaction dfl = {.sa_handler = SIG_DFL}, was;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGPIPE, &dfl, &was);
    r = t->write(ctx, &g.flush, &st, err, sizeof err);
    sigaction(SIGPIPE, &was, NULL);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "; retrying");
    r = t->write(ctx, &g.flush, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 10 + 50000);
    assert_int_equal(s_zcard(rc, z), 50000);
    /* rows 0..9 were written twice (both flushes), the rest once */
    s_big_check(rc, z, &g, 0, 10, 2);
    for (int i = 10; i < 50000; i += 97)
        s_big_check(rc, z, &g, i, i + 1, 1);
    s_big_check(rc, z, &g, 49999, 50000, 1);
    t->destroy(&ctx);
    freeReplyObject(redisCommand(rc, "DEL %s", z));
    s_big_free(&small);
    s_big_free(&g);
    redisFree(rc);
}

static void test_redis_down_retries(void **state) {
    (void)state;
    s_setup_t s;
    s_setup(&s, "it_words", "redis_down", ED_SINK_REDIS);
    s.sink.url = "redis://127.0.0.1:1/2";
    s.sink.zset = "top:{doc}";
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_REDIS);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0);
    s_data_t d;
    s_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = t->write(ctx, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'redis_down' (redis 127.0.0.1:1/2): ");
    ASSERT_HAS(err, "; retrying");
    t->destroy(&ctx);
    s_data_free(&d);
}

/* Config mistakes are found by init(), without a server. */
static void test_init_errors(void **state) {
    (void)state;
    char err[1024] = "";
    void *ctx = NULL;
    s_setup_t s;
    s_setup(&s, "it_words", "redis_bad", ED_SINK_REDIS);
    s.sink.url = "redis://127.0.0.1:6379";
    s.sink.zset = "top:{docs}";
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_REDIS);
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), ED_EINVAL);
    assert_null(ctx);
    ASSERT_HAS(err, "sink 'redis_bad'");
    ASSERT_HAS(err, "{docs}");
    ASSERT_HAS(err, "{doc}, {word}");
    s.sink.zset = "top:{doc}:{word}"; /* nothing left for the member */
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "member");
    s.sink.zset = "top";
    s.sink.score = "nope";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "score 'nope'");
    s.sink.score = NULL;
    s.sink.url = "rediss://x";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "redis.url");

    s_setup(&s, "it_words", "pg_bad_dsn", ED_SINK_POSTGRES);
    s.sink.dsn = "host=127.0.0.1 nonsense";
    t = ed_sink_type_find(ED_SINK_POSTGRES);
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "sink 'pg_bad_dsn'");

    /* An avg named m gives columns m, m_sum and m_n; a key column m_n clashes. */
    s_setup(&s, "it_words", "pg_clash", ED_SINK_POSTGRES);
    s.sink.dsn = "host=127.0.0.1";
    ed_conf_keyfield_t key[1] = {{"mean_n", "x"}};
    s.agg.key = key;
    s.agg.nkey = 1;
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "mean_n");

    s_setup(&s, "it_words", "kafka_bad", ED_SINK_KAFKA);
    s.sink.kafka.brokers = "127.0.0.1:1";
    s.sink.kafka.topic = "t";
    ed_conf_kv_t props[1] = {{"no.such.property", "1"}};
    s.sink.kafka.props = props;
    s.sink.kafka.nprops = 1;
    t = ed_sink_type_find(ED_SINK_KAFKA);
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "no.such.property");
}

/* ------------------------------------------------------------------- kafka */

/* Alert records and changelog rows, consumed back from a fresh topic. */
static void test_kafka_produce(void **state) {
    (void)state;
    const char *brokers = s_env("EDDY_KAFKA");
    char topic[128];
    snprintf(topic, sizeof topic, "eddy.it.sinks.%d.%lld", (int)getpid(), (long long)ed_wall_ms());
    /* Two aggregations feed this sink, so it has no single one (from_agg -1):
     * each row names its aggregation. */
    s_setup_t s;
    s_setup(&s, "word_counts", "kafka_out", ED_SINK_KAFKA);
    ed_conf_keyfield_t doc_key[1] = {{"doc", "doc"}};
    ed_conf_compute_t doc_comp[1] = {{"docs", ED_AGG_COUNT, NULL}};
    ed_conf_aggregation_t aggs[2] = {s.agg, s_agg("doc_totals")};
    aggs[1].key = doc_key;
    aggs[1].nkey = 1;
    aggs[1].compute = doc_comp;
    aggs[1].ncompute = 1;
    s.conf.aggregations = aggs;
    s.conf.naggregations = 2;
    s.sink.from_agg = -1;
    s.sc.agg = NULL;
    s.sink.kafka.brokers = (char *)brokers;
    s.sink.kafka.topic = topic;
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_KAFKA);
    assert_non_null(t);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0);

    static const char *alerts[3][2] = {
        {"the", "{\"alert\":\"hot_word\",\"key\":{\"word\":\"the\"},\"count\":1000}"},
        {"", "{\"alert\":\"no_key\"}"},
        {"日本", "{\"alert\":\"hot_word\",\"key\":{\"word\":\"日本\"},\"count\":1200}"},
    };
    ed_batch_t *recs = ed_batch_new(ED_BATCH_RECORDS, 1024);
    for (int i = 0; i < 3; i++)
        ed_batch_add_record(recs, alerts[i][0], (uint32_t)strlen(alerts[i][0]), alerts[i][1],
                            (uint32_t)strlen(alerts[i][1]), 0);
    s_state_t st[K_N];
    s_states(st);
    ed_batch_t *rows = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    s_emit(rows, &st[K_THE], (double[]){1, 2, 3}, 3);
    s_emit(rows, &st[K_THE], (double[]){1.5}, 1);
    s_emit(rows, &st[K_BADUTF8], (double[]){8}, 1);
    uint8_t dkey[16];
    size_t dlen = 0;
    ed_key_append(dkey, &dlen, "d9", 2);
    ed_change_t dh = {.agg = 1, .nvals = 1, .key_len = (uint32_t)dlen, .n = 12, .delta_n = 2};
    ed_batch_add_change(rows, &dh, (double[]){2}, (double[]){12}, dkey);
    ed_sink_flush_t f = {.checkpoint = 7,
                         .changes = &rows,
                         .nchanges = 1,
                         .records = &recs,
                         .nrecords = 1,
                         .rows = 7};
    ed_sink_stats_t stats = {0};
    ed_write_result_t r;
    int64_t deadline = ed_now_ms() + 30000;
    /* A new topic may take a moment to get a leader: the same checkpoint is
     * offered again, as the sink actor would, and nothing is produced twice. */
    while ((r = t->write(ctx, &f, &stats, err, sizeof err)) == ED_WRITE_RETRY &&
           ed_now_ms() < deadline)
        ;
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(stats.rows_written, 7);
    assert_int_equal(stats.statements, 7);
    t->destroy(&ctx);
    ed_batch_destroy(&recs);
    ed_batch_destroy(&rows);

    static const char *want[7][2] = {
        {"the", NULL},
        {"", NULL},
        {"日本", NULL},
        {"d1:the", "{\"aggregation\":\"word_counts\",\"key\":{\"doc\":\"d1\",\"word\":\"the\"},"
                   "\"count\":3,\"total\":6,\"lo\":1,\"hi\":3,\"mean\":2,\"delta\":{\"count\":3,"
                   "\"total\":6,\"lo\":1,\"hi\":3,\"mean\":6},\"n\":3}"},
        {"d1:the", "{\"aggregation\":\"word_counts\",\"key\":{\"doc\":\"d1\",\"word\":\"the\"},"
                   "\"count\":4,\"total\":7.5,\"lo\":1,\"hi\":3,\"mean\":1.875,\"delta\":{"
                   "\"count\":1,\"total\":1.5,\"lo\":1,\"hi\":3,\"mean\":1.5},\"n\":4}"},
        {"d2:\xff\xfe",
         "{\"aggregation\":\"word_counts\",\"key\":{\"doc\":\"d2\",\"word\":"
         "\"\\u00ff\\u00fe\"},\"count\":1,\"total\":8,\"lo\":8,\"hi\":8,\"mean\":8,"
         "\"delta\":{\"count\":1,\"total\":8,\"lo\":8,\"hi\":8,\"mean\":8},\"n\":1}"},
        {"d9", "{\"aggregation\":\"doc_totals\",\"key\":{\"doc\":\"d9\"},\"docs\":12,\"delta\":{"
               "\"docs\":2},\"n\":12}"},
    };
    for (int i = 0; i < 3; i++)
        want[i][1] = alerts[i][1];

    /* Consume everything back. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char group[160], kerr[512];
    snprintf(group, sizeof group, "eddy-it-%s", topic);
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, kerr, sizeof kerr), 0);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", group, kerr, sizeof kerr), 0);
    assert_int_equal(rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", kerr, sizeof kerr),
                     0);
    assert_int_equal(rd_kafka_conf_set(conf, "enable.auto.commit", "false", kerr, sizeof kerr), 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    assert_non_null(rk);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, topic, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(rk, tl), 0);
    rd_kafka_topic_partition_list_destroy(tl);
    int got[7] = {0}, ngot = 0;
    deadline = ed_now_ms() + 30000;
    while (ngot < 7 && ed_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        int match = -1;
        for (int i = 0; i < 7; i++)
            if (m->key_len == strlen(want[i][0]) &&
                (!m->key_len || !memcmp(m->key, want[i][0], m->key_len)) &&
                m->len == strlen(want[i][1]) && !memcmp(m->payload, want[i][1], m->len) && !got[i])
                match = i;
        if (match < 0) {
            fail_msg("unexpected message key=%.*s value=%.*s", (int)m->key_len,
                     (const char *)m->key, (int)m->len, (const char *)m->payload);
            return; /* not reached: fail_msg jumps out */
        }
        if (strlen(want[match][0]) == 0)
            assert_null(m->key); /* empty key → no key */
        got[match] = 1;
        ngot++;
        rd_kafka_message_destroy(m);
    }
    /* And nothing more (no duplicates from the retries above). */
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
    if (m && !m->err)
        fail_msg("unexpected extra message %.*s", (int)m->len, (const char *)m->payload);
    if (m)
        rd_kafka_message_destroy(m);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (ngot != 7)
        fail_msg("consumed %d of 7 messages from topic %s within 30 s", ngot, topic);
}

static void test_kafka_down_retries(void **state) {
    (void)state;
    s_setup_t s;
    s_setup(&s, "word_counts", "kafka_down", ED_SINK_KAFKA);
    s.sink.kafka.brokers = "127.0.0.1:1";
    s.sink.kafka.topic = "eddy.it.down";
    const ed_sink_type_t *t = ed_sink_type_find(ED_SINK_KAFKA);
    void *ctx = NULL;
    char err[1024] = "";
    assert_int_equal(t->init(&ctx, &s.sc, err, sizeof err), 0);
    ed_batch_t *recs = ed_batch_new(ED_BATCH_RECORDS, 1024);
    ed_batch_add_record(recs, "k", 1, "v", 1, 0);
    ed_batch_add_record(recs, "k", 1, "w", 1, 0);
    ed_sink_flush_t f = {.checkpoint = 1, .records = &recs, .nrecords = 1, .rows = 2};
    ed_sink_stats_t st = {0};
    int64_t t0 = ed_now_ms();
    ed_write_result_t r = t->write(ctx, &f, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_true(ed_now_ms() - t0 < 3000); /* bounded */
    ASSERT_HAS(err, "sink 'kafka_down' (kafka brokers=127.0.0.1:1 topic=eddy.it.down): ");
    ASSERT_HAS(err, "; retrying");
    assert_int_equal(st.statements, 2);
    /* The same checkpoint again: keep waiting, produce nothing new. */
    r = t->write(ctx, &f, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_int_equal(st.statements, 2);
    assert_int_equal(st.rows_written, 0);
    t->destroy(&ctx);
    ed_batch_destroy(&recs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_postgres_upsert),
        cmocka_unit_test(test_postgres_bad_table_drops),
        cmocka_unit_test(test_postgres_reconnect),
        cmocka_unit_test(test_postgres_down_retries),
        cmocka_unit_test(test_mariadb_upsert),
        cmocka_unit_test(test_mariadb_down_retries),
        cmocka_unit_test(test_redis_zsets),
        cmocka_unit_test(test_redis_reconnect),
        cmocka_unit_test(test_redis_chunks),
        cmocka_unit_test(test_redis_resume),
        cmocka_unit_test(test_redis_lost_exec_reply),
        cmocka_unit_test(test_redis_keep_top_chunks),
        cmocka_unit_test(test_redis_no_sigpipe),
        cmocka_unit_test(test_redis_down_retries),
        cmocka_unit_test(test_kafka_produce),
        cmocka_unit_test(test_kafka_down_retries),
    };
    return cmocka_run_group_tests_name("it_sinks", tests, NULL, NULL);
}
