/*
 * it_sink_postgres.c — the postgres sink plugin against the real server
 * (scripts/services; the runner exports `scripts/services env`): the sink
 * contract (sink_contract.h), then upserts of every kind of key read back
 * with libpq, the DDL, a table eddy cannot write, a killed session and a
 * server that is down.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "tests/integration/sink_contract.h"

/* How the sink's error names the COPY path's INSERT of new keys
 * (ED_PG_NEW_KEYS in sinks/ed_pg.h, not included: a test reads errors as a
 * user does). */
#define S_NEW_KEYS "INSERT of the stage's new keys"

static void s_pg_quiet(void *arg, const char *msg) {
    (void)arg;
    (void)msg;
}

static PGconn *s_pg(void) {
    PGconn *c = PQconnectdb(sc_env("EDDY_PG_DSN"));
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        PQfinish(c);
        fail_msg("cannot connect to %s: %s", sc_env("EDDY_PG_DSN"), msg);
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

static void s_pg_exec1(const char *sql) {
    PGconn *c = s_pg();
    s_pg_exec(c, sql);
    PQfinish(c);
}

/* ---------------------------------------------------------------- contract */

static void s_server(char *host, size_t size, int *port) {
    snprintf(host, size, "%s", sc_env("EDDY_PG_HOST"));
    *port = atoi(sc_env("EDDY_PG_PORT"));
}

/* The environment's DSN with host and port replaced (later keywords win);
 * no TLS, so that the contract's proxy can see the statements. copy_rows:
 * -1 the sink's default (small flushes: unnest), 1 every flush via COPY. */
static void s_body_rows(char *out, size_t size, const char *target, const char *host, int port,
                        int copy_rows) {
    char copy[32] = "";
    if (copy_rows >= 0)
        snprintf(copy, sizeof copy, ", copy_rows: %d", copy_rows);
    snprintf(out, size,
             "postgres: { dsn: \"%s host=%s port=%d sslmode=disable\"%s }, table: %s, "
             "batch_rows: 2",
             sc_env("EDDY_PG_DSN"), host, port, copy, target);
}

static void s_body(char *out, size_t size, const char *target, const char *host, int port) {
    s_body_rows(out, size, target, host, port, -1);
}

static void s_body_copy(char *out, size_t size, const char *target, const char *host, int port) {
    s_body_rows(out, size, target, host, port, 1);
}

static void s_where(char *out, size_t size, const char *target, const char *host, int port) {
    (void)target;
    snprintf(out, size, "(postgres host=%s port=%d)", host, port);
}

static void s_reset(const char *target) {
    char sql[256];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", target);
    s_pg_exec1(sql);
}

static void s_read(const char *target, sc_totals_t *t) {
    PGconn *c = s_pg();
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT doc, word, count FROM %s", target);
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    for (int i = 0; i < PQntuples(res); i++)
        sc_totals_add(t, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0),
                      PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1),
                      atof(PQgetvalue(res, i, 2)));
    PQclear(res);
    PQfinish(c);
}

/* The windowed rows, their bounds as ms since the epoch computed by the
 * server from the timestamptz values. */
static void s_read_windows(const char *target, sc_wtotals_t *t) {
    PGconn *c = s_pg();
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT (extract(epoch FROM window_start) * 1000)::int8, (extract(epoch FROM "
             "window_end) * 1000)::int8, doc, word, count FROM %s",
             target);
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    for (int i = 0; i < PQntuples(res); i++)
        sc_wtotals_add(t, atoll(PQgetvalue(res, i, 0)), atoll(PQgetvalue(res, i, 1)),
                       PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2),
                       PQgetvalue(res, i, 3), (size_t)PQgetlength(res, i, 3),
                       atof(PQgetvalue(res, i, 4)));
    PQclear(res);
    PQfinish(c);
}

/* A table with columns eddy cannot add to (TEXT counts) and a row that the
 * upsert would have to update: every row of the flush is refused. */
static int s_poison(const char *target) {
    char sql[512];
    s_reset(target);
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s (doc TEXT, word TEXT, count TEXT, total TEXT, lo TEXT, hi TEXT, "
             "mean TEXT, mean_sum TEXT, mean_n TEXT, updated_at TIMESTAMPTZ, PRIMARY KEY (doc, "
             "word))",
             target);
    s_pg_exec1(sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO %s VALUES ('d1', 'the', 'x', 'x', 'x', 'x', 'x', 'x', 'x', now())",
             target);
    s_pg_exec1(sql);
    return 3;
}

/* The simple-query message of libpq's PQexec("COMMIT"): 'Q', length, text. */
static const char s_commit[] = "COMMIT";

static int s_read_users(const char *target, sc_user_t *out, int max) {
    PGconn *c = s_pg();
    char sql[512];
    sc_users_query(sql, sizeof sql, target, "(extract(epoch FROM registered) * 1000)::bigint",
                   "active::int");
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    int n = PQntuples(res) < max ? PQntuples(res) : max;
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        for (int j = 0; j < 8; j++)
            sc_user_set(&out[i], j, PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j));
    }
    PQclear(res);
    PQfinish(c);
    return n;
}

static const sc_plugin_t s_plugin = {
    .type = "postgres",
    .server = s_server,
    .body = s_body,
    .where = s_where,
    .reset = s_reset,
    .read = s_read,
    .cut = s_commit,
    .cut_len = sizeof s_commit - 1,
    .cut_nth = 1,
    .poison = s_poison,
    .read_windows = s_read_windows,
    .read_users = s_read_users,
};

/* The contract again with every flush through COPY: rows, retries, a cut
 * at COMMIT, a table eddy cannot write, windows, records and their rejects
 * (main fills it: s_plugin with s_body_copy). */
static sc_plugin_t s_plugin_copy;

/* ------------------------------------------------------------------- tests */

/* Upserts of every kind of key, read back; `copy_rows` as in the sink's
 * options (0: unnest statements of 2 rows, several per flush; 1: every
 * flush through COPY, the stage, UPDATE and INSERT). */
static void s_upsert(int copy_rows) {
    PGconn *c = s_pg();
    s_pg_exec(c, sc_run("DROP TABLE IF EXISTS it_pg_words_{run}"));
    char body[512], err[1024] = "";
    snprintf(body, sizeof body,
             "postgres: { dsn: \"%s\", copy_rows: %d }, table: %s, batch_rows: 2",
             sc_env("EDDY_PG_DSN"), copy_rows, sc_run("it_pg_words_{run}"));
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "pg_words", body, err, sizeof err), 0);

    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3);
    assert_int_equal(st.rows_rejected, 1); /* K_BADUTF8 */
    /* unnest: 2 statements of 2 rows and 1; COPY: the COPY, UPDATE, INSERT */
    assert_int_equal(st.statements, copy_rows ? 3 : 2);
    r = sc_sink_write(&s, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3 + 8);
    assert_int_equal(st.rows_rejected, 3); /* + K_NUL, K_HUGE (too long for a btree entry) */
    sc_sink_close(&s);

    /* Read back. */
    int want_rows = 0;
    for (int i = 0; i < K_N; i++) {
        if (i == K_BADUTF8 || i == K_NUL || i == K_HUGE)
            continue;
        want_rows++;
        const sc_state_t *k = &d.st[i];
        const char *params[2] = {k->doc, k->word};
        PGresult *res = PQexecParams(c,
                                     sc_run("SELECT count, total, lo, hi, mean, mean_sum, mean_n, "
                                            "updated_at IS NOT NULL FROM it_pg_words_{run} "
                                            "WHERE doc = $1 AND word = $2"),
                                     2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
            fail_msg("row (%s, %.20s) not found: %s", k->doc, k->word, PQerrorMessage(c));
        sc_assert_num("count", k, atof(PQgetvalue(res, 0, 0)), k->count);
        sc_assert_num("total", k, atof(PQgetvalue(res, 0, 1)), k->sum);
        sc_assert_num("lo", k, atof(PQgetvalue(res, 0, 2)), k->min);
        sc_assert_num("hi", k, atof(PQgetvalue(res, 0, 3)), k->max);
        sc_assert_num("mean", k, atof(PQgetvalue(res, 0, 4)), k->sum / (double)k->n);
        sc_assert_num("mean_sum", k, atof(PQgetvalue(res, 0, 5)), k->sum);
        sc_assert_num("mean_n", k, atof(PQgetvalue(res, 0, 6)), (double)k->n);
        assert_string_equal(PQgetvalue(res, 0, 7), "t");
        PQclear(res);
    }
    PGresult *res = PQexec(c, sc_run("SELECT count(*), sum(count) FROM it_pg_words_{run}"));
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), want_rows);
    assert_int_equal(atoi(PQgetvalue(res, 0, 1)), 5 + 3 + 2 + 1 + 1 + 1 + 1 + 1);
    PQclear(res);
    /* The DDL: key columns TEXT, count BIGINT, the rest DOUBLE PRECISION. */
    res = PQexec(c, sc_run("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
                           "ordinal_position) FROM information_schema.columns WHERE table_name = "
                           "'it_pg_words_{run}'"));
    assert_string_equal(PQgetvalue(res, 0, 0),
                        "doc text, word text, count bigint, total double precision, lo double "
                        "precision, hi double precision, mean double precision, mean_sum double "
                        "precision, mean_n bigint, updated_at timestamp with time zone");
    PQclear(res);
    s_pg_exec(c, sc_run("DROP TABLE it_pg_words_{run}"));
    sc_data_free(&d);
    PQfinish(c);
}

/* Keys holding what COPY's text format escapes or reads specially (tab,
 * newline, carriage return, backslash, "\N", "\."), through COPY, twice
 * (insert, then update), read back byte for byte. */
static void test_postgres_copy_escapes(void **state) {
    (void)state;
    static const char *const words[] = {"tab\there", "nl\nx", "cr\rx", "\\N", "\\.", "\\",
                                        "a\\tb", "\\\\.\n"};
    enum { N = sizeof words / sizeof words[0] };
    PGconn *c = s_pg();
    s_pg_exec(c, sc_run("DROP TABLE IF EXISTS it_pg_esc_{run}"));
    char body[512], err[1024] = "";
    snprintf(body, sizeof body, "postgres: { dsn: \"%s\", copy_rows: 1 }, table: %s",
             sc_env("EDDY_PG_DSN"), sc_run("it_pg_esc_{run}"));
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "pg_esc", body, err, sizeof err), 0);
    sc_state_t k[N];
    ed_sink_stats_t st = {0};
    for (int pass = 0; pass < 2; pass++) {
        ed_batch_t *b[1] = {ed_batch_new(ED_BATCH_CHANGELOG, 4096)};
        for (int i = 0; i < N; i++) {
            if (!pass)
                k[i] = (sc_state_t){.doc = "d\t1", .word = words[i], .word_len = strlen(words[i])};
            sc_emit(b[0], &k[i], (double[]){i + 1.0}, 1);
        }
        ed_sink_flush_t f = {.checkpoint = (uint64_t)pass + 1, .changes = b, .nchanges = 1,
                             .rows = N};
        ed_write_result_t r = sc_sink_write(&s, &f, &st, err, sizeof err);
        ASSERT_WRITE(ED_WRITE_OK, r, err);
        ed_batch_destroy(&b[0]);
    }
    sc_sink_close(&s);
    assert_int_equal(st.rows_written, 2 * N);
    assert_int_equal(st.rows_rejected, 0);
    for (int i = 0; i < N; i++) {
        const char *params[2] = {"d\t1", words[i]};
        PGresult *res = PQexecParams(
            c, sc_run("SELECT count, total FROM it_pg_esc_{run} WHERE doc = $1 AND word = $2"), 2,
            NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
            fail_msg("row (d\\t1, %s) not found: %s", words[i], PQerrorMessage(c));
        sc_assert_num("count", &k[i], atof(PQgetvalue(res, 0, 0)), 2);
        sc_assert_num("total", &k[i], atof(PQgetvalue(res, 0, 1)), 2 * (i + 1.0));
        PQclear(res);
    }
    PGresult *res = PQexec(c, sc_run("SELECT count(*) FROM it_pg_esc_{run}"));
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), N);
    PQclear(res);
    s_pg_exec(c, sc_run("DROP TABLE it_pg_esc_{run}"));
    PQfinish(c);
}

/* The race of the COPY path's INSERT of new keys: another session holds an
 * uncommitted insert of the flush's key, so the sink's UPDATE misses it and
 * its INSERT waits; once the sink's session waits on that lock (seen in
 * pg_stat_activity), the other session commits. The INSERT then fails with
 * 23505: RETRY, nothing of the flush applied; the retry updates the row. */
static void *s_commit_when_waiting(void *arg) {
    PGconn *other = arg, *watch = s_pg();
    for (int i = 0; i < 3000; i++) { /* up to 30 s */
        PGresult *r = PQexec(watch, "SELECT count(*) FROM pg_stat_activity WHERE "
                                    "wait_event_type = 'Lock' AND query LIKE '%eddy_stage%'");
        int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : 0;
        PQclear(r);
        if (n)
            break;
        usleep(10000);
    }
    PQfinish(watch);
    PQclear(PQexec(other, "COMMIT"));
    return NULL;
}

static void test_postgres_copy_race_retries(void **state) {
    (void)state;
    PGconn *c = s_pg(), *other = s_pg();
    s_pg_exec(c, sc_run("DROP TABLE IF EXISTS it_pg_race_{run}"));
    char body[512], err[1024] = "";
    snprintf(body, sizeof body, "postgres: { dsn: \"%s\", copy_rows: 1 }, table: %s",
             sc_env("EDDY_PG_DSN"), sc_run("it_pg_race_{run}"));
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "pg_race", body, err, sizeof err), 0);
    sc_state_t first = {.doc = "d1", .word = "first", .word_len = 5};
    sc_state_t race = {.doc = "d1", .word = "race", .word_len = 4};
    ed_batch_t *b[1] = {ed_batch_new(ED_BATCH_CHANGELOG, 4096)};
    sc_emit(b[0], &first, (double[]){1}, 1);
    ed_sink_flush_t f = {.checkpoint = 1, .changes = b, .nchanges = 1, .rows = 1};
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &f, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    ed_batch_destroy(&b[0]);

    s_pg_exec(other, "BEGIN");
    s_pg_exec(other, sc_run("INSERT INTO it_pg_race_{run} (doc, word, count) VALUES ('d1', "
                            "'race', 5)"));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_commit_when_waiting, other), 0);
    b[0] = ed_batch_new(ED_BATCH_CHANGELOG, 4096);
    sc_emit(b[0], &first, (double[]){1}, 1);
    sc_emit(b[0], &race, (double[]){1, 1}, 2);
    f = (ed_sink_flush_t){.checkpoint = 2, .changes = b, .nchanges = 1, .rows = 2};
    r = sc_sink_write(&s, &f, &st, err, sizeof err);
    pthread_join(t, NULL);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, S_NEW_KEYS);
    r = sc_sink_write(&s, &f, &st, err, sizeof err); /* the retry */
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    ed_batch_destroy(&b[0]);
    sc_sink_close(&s);
    PGresult *res = PQexec(c, sc_run("SELECT word, count FROM it_pg_race_{run} ORDER BY word"));
    assert_int_equal(PQntuples(res), 2);
    assert_string_equal(PQgetvalue(res, 0, 0), "first");
    assert_int_equal(atoi(PQgetvalue(res, 0, 1)), 2); /* 1 + 1: the failed try added nothing */
    assert_string_equal(PQgetvalue(res, 1, 0), "race");
    assert_int_equal(atoi(PQgetvalue(res, 1, 1)), 5 + 2);
    PQclear(res);
    s_pg_exec(c, sc_run("DROP TABLE it_pg_race_{run}"));
    PQfinish(other);
    PQfinish(c);
}

/* A sink whose table is named like the COPY stage: the rows reach the
 * table (read from another session), not the session's stage. */
static void test_postgres_copy_table_named_like_stage(void **state) {
    (void)state;
    PGconn *c = s_pg();
    s_pg_exec(c, "DROP TABLE IF EXISTS public.eddy_stage");
    char body[512], err[1024] = "";
    snprintf(body, sizeof body, "postgres: { dsn: \"%s\", copy_rows: 1 }, table: eddy_stage",
             sc_env("EDDY_PG_DSN"));
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "pg_stage", body, err, sizeof err), 0);
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    r = sc_sink_write(&s, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    sc_sink_close(&s);
    PGresult *res = PQexec(c, "SELECT count(*), sum(count) FROM public.eddy_stage");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), K_N - 3); /* all but 3 rejected keys */
    assert_int_equal(atoi(PQgetvalue(res, 0, 1)), 5 + 3 + 2 + 1 + 1 + 1 + 1 + 1);
    PQclear(res);
    s_pg_exec(c, "DROP TABLE public.eddy_stage");
    sc_data_free(&d);
    PQfinish(c);
}

static void test_postgres_upsert(void **state) {
    (void)state;
    s_upsert(0);
}

static void test_postgres_upsert_copy(void **state) {
    (void)state;
    s_upsert(1);
}

/* A table that exists with columns eddy cannot add to: DROP, not RETRY. */
static void test_postgres_bad_table_drops(void **state) {
    (void)state;
    PGconn *c = s_pg();
    char table[96], body[512], err[1024] = "";
    snprintf(table, sizeof table, "%s", sc_run("it_pg_bad_{run}"));
    s_poison(table);
    snprintf(body, sizeof body, "postgres: { dsn: \"%s\" }, table: %s", sc_env("EDDY_PG_DSN"),
             table);
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "pg_bad", body, err, sizeof err), 0);
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_DROP, r, err);
    ASSERT_HAS(err, "sink 'pg_bad'");
    ASSERT_HAS(err, table);
    assert_int_equal(st.rows_written, 0);
    assert_int_equal(st.rows_rejected, 4);
    /* The operator drops the bad table: the next flush creates it anew. */
    s_pg_exec(c, sc_run("DROP TABLE it_pg_bad_{run}"));
    r = sc_sink_write(&s, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    PGresult *res =
        PQexec(c, sc_run("SELECT count FROM it_pg_bad_{run} WHERE doc = 'd1' AND word = 'the'"));
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "2");
    PQclear(res);
    /* The table vanishes while eddy runs: RETRY, and the retry creates it. */
    s_pg_exec(c, sc_run("DROP TABLE it_pg_bad_{run}"));
    d.flush1.checkpoint = 3;
    r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "does not exist");
    assert_null(strchr(err, '\n'));
    r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    res = PQexec(c, sc_run("SELECT count FROM it_pg_bad_{run} WHERE doc = 'd1' AND word = 'the'"));
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "3");
    PQclear(res);
    sc_sink_close(&s);
    s_pg_exec(c, sc_run("DROP TABLE IF EXISTS it_pg_bad_{run}"));
    sc_data_free(&d);
    PQfinish(c);
}

/* The server ends the sink's session between flushes: RETRY, then the next
 * call reconnects and the flush is applied exactly once. */
static void test_postgres_reconnect(void **state) {
    (void)state;
    PGconn *c = s_pg();
    s_pg_exec(c, sc_run("DROP TABLE IF EXISTS it_pg_reconnect_{run}"));
    char app[64], kill[256], body[512], err[1024] = "";
    snprintf(app, sizeof app, "eddy_it_%d", (int)getpid());
    snprintf(kill, sizeof kill,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
             "'%s'",
             app);
    snprintf(body, sizeof body, "postgres: { dsn: \"%s application_name=%s\" }, table: %s",
             sc_env("EDDY_PG_DSN"), app, sc_run("it_pg_reconnect_{run}"));
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "pg_reconnect", body, err, sizeof err), 0);
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    s_pg_exec(c, kill);
    r = sc_sink_write(&s, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'pg_reconnect' (postgres host=");
    r = sc_sink_write(&s, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.rows_written, 3 + 8);
    sc_sink_close(&s);
    PGresult *res = PQexec(c, sc_run("SELECT sum(count) FROM it_pg_reconnect_{run}"));
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 5 + 3 + 2 + 1 + 1 + 1 + 1 + 1);
    PQclear(res);
    s_pg_exec(c, sc_run("DROP TABLE it_pg_reconnect_{run}"));
    sc_data_free(&d);
    PQfinish(c);
}

/* Beyond the contract's down test: rows refused before the server is
 * reached are counted once per flush, not again on the retry. */
static void test_postgres_down_retries(void **state) {
    (void)state;
    char err[1024] = "";
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "pg_down",
                                  "postgres: { dsn: \"host=127.0.0.1 port=1 dbname=eddy "
                                  "user=postgres\" }",
                                  err, sizeof err),
                     0); /* init never connects */
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'pg_down' (postgres host=127.0.0.1 port=1): ");
    ASSERT_HAS(err, "; retrying");
    assert_null(strchr(err, '\n'));
    r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_int_equal(st.rows_rejected, 1);
    assert_int_equal(st.rows_written, 0);
    sc_sink_close(&s);
    sc_data_free(&d);
}

/* Config mistakes the plugin finds in init(), without a server. */
static void test_postgres_init_errors(void **state) {
    (void)state;
    char err[1024] = "";
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "pg_bad_dsn",
                                  "postgres: { dsn: \"host=127.0.0.1 nonsense\" }", err,
                                  sizeof err),
                     ED_EINVAL);
    ASSERT_HAS(err, "sink 'pg_bad_dsn'");

    /* An avg named m gives columns m, m_sum and m_n; a key column m_n clashes. */
    static const char clash[] =
        "sources:\n"
        "  docs: { directory: { path: /nonexistent/eddy-sink-contract }, format: json }\n"
        "aggregations:\n"
        "  it_words:\n"
        "    from: docs\n"
        "    key: [{mean_n: x}]\n"
        "    compute: { count: count, total: \"sum(x)\", lo: \"min(x)\", hi: \"max(x)\", mean: "
        "\"avg(x)\" }\n"
        "    to: [pg_clash]\n"
        "sinks:\n"
        "  pg_clash: { postgres: { dsn: \"host=127.0.0.1\" } }\n";
    assert_int_equal(sc_sink_open_yaml(&s, clash, "pg_clash", err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "mean_n");

    /* A windowed aggregation's table has window_start: a key column of that
     * name clashes (it does not in a cumulative one). */
    static const char wclash[] =
        "sources:\n"
        "  docs: { directory: { path: /nonexistent/eddy-sink-contract }, format: json }\n"
        "aggregations:\n"
        "  it_words:\n"
        "    from: docs\n"
        "    key: [doc, window_start]\n"
        "    window: { tumbling: 1m }\n"
        "    to: [pg_wclash]\n"
        "sinks:\n"
        "  pg_wclash: { postgres: { dsn: \"host=127.0.0.1\" } }\n";
    assert_int_equal(sc_sink_open_yaml(&s, wclash, "pg_wclash", err, sizeof err), ED_EINVAL);
    ASSERT_HAS(err, "\"window_start\" twice");
}

/* A windowed aggregation's table: window_start and window_end lead the
 * columns and the primary key, as timestamptz holding the UTC bounds to
 * the millisecond whatever the time zone of eddy or of the reader; every
 * compute merges per (window, key) across flushes. */
static void test_postgres_windowed_table(void **state) {
    (void)state;
    PGconn *c = s_pg();
    char table[96], body[512], yaml[4096], err[1024] = "";
    snprintf(table, sizeof table, "%s", sc_run("it_pg_win_{run}"));
    s_reset(table);
    /* eddy in a zone 3.5 h behind UTC: a local-time conversion would show. */
    setenv("TZ", "America/St_Johns", 1);
    tzset();
    snprintf(body, sizeof body, "postgres: { dsn: \"%s\" }, table: %s", sc_env("EDDY_PG_DSN"),
             table);
    sc_pipeline_window(yaml, sizeof yaml, "pg_win", body, "{ hopping: 3s, slide: 1500ms }");
    sc_sink_t s;
    assert_int_equal(sc_sink_open_yaml(&s, yaml, "pg_win", err, sizeof err), 0);
    sc_state_t w0, w1;
    sc_write_overlapping(&s, &w0, &w1);
    sc_sink_close(&s);
    unsetenv("TZ");
    tzset();

    s_pg_exec(c, "SET TimeZone = 'Asia/Kathmandu'"); /* the reader's zone is +05:45 */
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), "
             "to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), count, total, "
             "lo, hi, mean, mean_n FROM %s ORDER BY window_start",
             table);
    PGresult *res = PQexec(c, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 2);
    assert_string_equal(PQgetvalue(res, 0, 0), "2025-12-01 00:00:00.000");
    assert_string_equal(PQgetvalue(res, 0, 1), "2025-12-01 00:00:03.000");
    assert_string_equal(PQgetvalue(res, 1, 0), "2025-12-01 00:00:01.500");
    assert_string_equal(PQgetvalue(res, 1, 1), "2025-12-01 00:00:04.500");
    const sc_state_t *k[2] = {&w0, &w1};
    for (int i = 0; i < 2; i++) {
        sc_assert_num("count", k[i], atof(PQgetvalue(res, i, 2)), k[i]->count);
        sc_assert_num("total", k[i], atof(PQgetvalue(res, i, 3)), k[i]->sum);
        sc_assert_num("lo", k[i], atof(PQgetvalue(res, i, 4)), k[i]->min);
        sc_assert_num("hi", k[i], atof(PQgetvalue(res, i, 5)), k[i]->max);
        sc_assert_num("mean", k[i], atof(PQgetvalue(res, i, 6)), k[i]->sum / (double)k[i]->n);
        sc_assert_num("mean_n", k[i], atof(PQgetvalue(res, i, 7)), (double)k[i]->n);
    }
    PQclear(res);
    snprintf(sql, sizeof sql,
             "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
             "FROM information_schema.columns WHERE table_name = '%s'",
             table);
    res = PQexec(c, sql);
    assert_string_equal(PQgetvalue(res, 0, 0),
                        "window_start timestamp with time zone, window_end timestamp with time "
                        "zone, doc text, word text, count bigint, total double precision, lo "
                        "double precision, hi double precision, mean double precision, mean_sum "
                        "double precision, mean_n bigint, updated_at timestamp with time zone");
    PQclear(res);
    snprintf(sql, sizeof sql,
             "SELECT string_agg(a.attname, ', ' ORDER BY array_position(i.indkey, a.attnum)) "
             "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = "
             "ANY(i.indkey) WHERE i.indrelid = '%s'::regclass AND i.indisprimary",
             table);
    res = PQexec(c, sql);
    assert_string_equal(PQgetvalue(res, 0, 0), "window_start, window_end, doc, word");
    PQclear(res);
    s_reset(table);
    PQfinish(c);
}

int main(void) {
    s_plugin_copy = s_plugin;
    s_plugin_copy.body = s_body_copy;
    const struct CMUnitTest tests[] = {
        SC_CONTRACT_TESTS(&s_plugin),
        SC_WINDOWS_TEST(&s_plugin),
        SC_RECORDS_TEST(&s_plugin),
        SC_CONTRACT_TESTS(&s_plugin_copy),
        SC_WINDOWS_TEST(&s_plugin_copy),
        SC_RECORDS_TEST(&s_plugin_copy),
        cmocka_unit_test(test_postgres_copy_escapes),
        cmocka_unit_test(test_postgres_copy_race_retries),
        cmocka_unit_test(test_postgres_copy_table_named_like_stage),
        cmocka_unit_test(test_postgres_init_errors),
        cmocka_unit_test(test_postgres_upsert),
        cmocka_unit_test(test_postgres_upsert_copy),
        cmocka_unit_test(test_postgres_bad_table_drops),
        cmocka_unit_test(test_postgres_reconnect),
        cmocka_unit_test(test_postgres_down_retries),
        cmocka_unit_test(test_postgres_windowed_table),
    };
    return cmocka_run_group_tests_name("it_sink_postgres", tests, NULL, NULL);
}
