/*
 * it_sink_mariadb.c — the mariadb sink plugin against the real server
 * (scripts/services; the runner exports `scripts/services env`): the sink
 * contract (sink_contract.h), then upserts of every kind of key read back
 * with MariaDB Connector/C, and a server that is down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>

#include "tests/integration/sink_contract.h"

static MYSQL *s_my(void) {
    MYSQL *m = mysql_init(NULL);
    const char *host = sc_env("EDDY_MYSQL_HOST");
    int port = atoi(sc_env("EDDY_MYSQL_PORT"));
    if (!mysql_real_connect(m, host, sc_env("EDDY_MYSQL_USER"), "", sc_env("EDDY_MYSQL_DB"),
                            (unsigned)port, NULL, 0))
        fail_msg("cannot connect to mariadb %s:%d: %s", host, port, mysql_error(m));
    return m;
}

static void s_my_exec(MYSQL *m, const char *sql) {
    if (mysql_query(m, sql))
        fail_msg("%s: %s", sql, mysql_error(m));
}

static void s_my_exec1(const char *sql) {
    MYSQL *m = s_my();
    s_my_exec(m, sql);
    mysql_close(m);
}

/* ---------------------------------------------------------------- contract */

static void s_server(char *host, size_t size, int *port) {
    snprintf(host, size, "%s", sc_env("EDDY_MYSQL_HOST"));
    *port = atoi(sc_env("EDDY_MYSQL_PORT"));
}

static void s_body(char *out, size_t size, const char *target, const char *host, int port) {
    snprintf(out, size,
             "mariadb: { host: \"%s\", port: %d, user: \"%s\", password: \"\", database: \"%s\" "
             "}, table: %s, batch_rows: 2",
             host, port, sc_env("EDDY_MYSQL_USER"), sc_env("EDDY_MYSQL_DB"), target);
}

static void s_where(char *out, size_t size, const char *target, const char *host, int port) {
    (void)target;
    snprintf(out, size, "(mariadb %s:%d/%s)", host, port, sc_env("EDDY_MYSQL_DB"));
}

static void s_reset(const char *target) {
    char sql[256];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", target);
    s_my_exec1(sql);
}

/* Runs a SELECT and calls row_fn(row, lengths, arg) for every row. */
static void s_each_row(const char *sql, void (*row_fn)(MYSQL_ROW, unsigned long *, void *),
                       void *arg) {
    MYSQL *m = s_my();
    s_my_exec(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    assert_non_null(res);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        row_fn(row, mysql_fetch_lengths(res), arg);
    mysql_free_result(res);
    mysql_close(m);
}

static void s_total_row(MYSQL_ROW row, unsigned long *len, void *t) {
    sc_totals_add(t, row[0], len[0], row[1], len[1], atof(row[2]));
}

static void s_read(const char *target, sc_totals_t *t) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT doc, word, count FROM %s", target);
    s_each_row(sql, s_total_row, t);
}

static void s_wtotal_row(MYSQL_ROW row, unsigned long *len, void *t) {
    sc_wtotals_add(t, atoll(row[0]), atoll(row[1]), row[2], len[2], row[3], len[3], atof(row[4]));
}

/* The windowed rows; their DATETIME(3) bounds, UTC, as ms since the epoch
 * (TIMESTAMPDIFF from the epoch: no time zone involved). */
static void s_read_windows(const char *target, sc_wtotals_t *t) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_start) DIV 1000, "
             "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_end) DIV 1000, doc, word, count "
             "FROM %s",
             target);
    s_each_row(sql, s_wtotal_row, t);
}

/* A table without the computed columns: the upsert cannot be prepared
 * (unknown column), so every row of the flush is refused. */
static int s_poison(const char *target) {
    char sql[256];
    s_reset(target);
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s (doc VARBINARY(255), word VARBINARY(255), PRIMARY KEY (doc, word))",
             target);
    s_my_exec1(sql);
    return 3;
}

/* mysql_commit() sends the text query "COMMIT". */
static const char s_commit[] = "COMMIT";

static int s_read_users(const char *target, sc_user_t *out, int max) {
    MYSQL *m = s_my();
    char sql[512];
    sc_users_query(sql, sizeof sql, target,
                   "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', registered) DIV 1000",
                   "active");
    s_my_exec(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    assert_non_null(res);
    MYSQL_ROW row;
    int n = 0;
    while ((row = mysql_fetch_row(res)) && n < max) {
        memset(&out[n], 0, sizeof out[n]);
        for (int j = 0; j < 8; j++)
            sc_user_set(&out[n], j, row[j]);
        n++;
    }
    mysql_free_result(res);
    mysql_close(m);
    return n;
}

static const sc_plugin_t s_plugin = {
    .type = "mariadb",
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

/* ------------------------------------------------------------------- tests */

static void test_mariadb_upsert(void **state) {
    (void)state;
    MYSQL *m = s_my();
    s_my_exec(m, sc_run("DROP TABLE IF EXISTS it_my_words_{run}"));
    char body[512], err[1024] = "";
    snprintf(body, sizeof body,
             "mariadb: { host: \"%s\", port: %s, user: \"%s\", password: \"\", database: \"%s\" "
             "}, table: %s, batch_rows: 3",
             sc_env("EDDY_MYSQL_HOST"), sc_env("EDDY_MYSQL_PORT"), sc_env("EDDY_MYSQL_USER"),
             sc_env("EDDY_MYSQL_DB"), sc_run("it_my_words_{run}"));
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "my_words", body, err, sizeof err), 0);
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 4); /* invalid UTF-8 is fine in VARBINARY */
    assert_int_equal(st.rows_rejected, 0);
    r = sc_sink_write(&s, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 4 + 8);
    assert_int_equal(st.rows_rejected, 2); /* K_LONG, K_HUGE: > VARBINARY(255) */
    sc_sink_close(&s);

    s_my_exec(m, sc_run("SELECT doc, word, count, total, lo, hi, mean, mean_sum, mean_n FROM "
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
        const sc_state_t *k = &d.st[found];
        seen[found]++;
        sc_assert_num("count", k, atof(row[2]), k->count);
        sc_assert_num("total", k, atof(row[3]), k->sum);
        sc_assert_num("lo", k, atof(row[4]), k->min);
        sc_assert_num("hi", k, atof(row[5]), k->max);
        sc_assert_num("mean", k, atof(row[6]), k->sum / (double)k->n);
        sc_assert_num("mean_sum", k, atof(row[7]), k->sum);
        sc_assert_num("mean_n", k, atof(row[8]), (double)k->n);
    }
    mysql_free_result(res);
    for (int i = 0; i < K_N; i++)
        if (seen[i] != (i == K_LONG || i == K_HUGE ? 0 : 1))
            fail_msg("key %d (%s, %.20s) found %d times", i, d.st[i].doc, d.st[i].word, seen[i]);
    s_my_exec(m, sc_run("DROP TABLE it_my_words_{run}"));
    sc_data_free(&d);
    mysql_close(m);
}

/* The contract's down test with the exotic keys of the other tests. */
static void test_mariadb_down_retries(void **state) {
    (void)state;
    char err[1024] = "";
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "my_down",
                                  "mariadb: { host: \"127.0.0.1\", port: 1, user: root, database: "
                                  "eddy }",
                                  err, sizeof err),
                     0);
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &d.flush1, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'my_down' (mariadb 127.0.0.1:1/eddy): ");
    ASSERT_HAS(err, "; retrying");
    sc_sink_close(&s);
    sc_data_free(&d);
}

/* The first column of the first row of `sql` (NULL: no row), copied into
 * out. */
static const char *s_my_one(MYSQL *m, const char *sql, char *out, size_t size) {
    s_my_exec(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    assert_non_null(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    const char *v = row && row[0] ? out : NULL;
    if (v)
        snprintf(out, size, "%s", row[0]);
    mysql_free_result(res);
    return v;
}

/* A windowed aggregation's table: window_start and window_end lead the
 * columns and the primary key, as DATETIME(3) holding the UTC bounds to
 * the millisecond whatever the time zone of eddy or of the reader's
 * session; every compute merges per (window, key) across flushes. */
static void test_mariadb_windowed_table(void **state) {
    (void)state;
    MYSQL *m = s_my();
    char table[96], body[512], yaml[4096], err[1024] = "", sql[1024], got[512];
    snprintf(table, sizeof table, "%s", sc_run("it_my_win_{run}"));
    s_reset(table);
    setenv("TZ", "America/St_Johns", 1); /* eddy 3.5 h behind UTC */
    tzset();
    snprintf(body, sizeof body,
             "mariadb: { host: \"%s\", port: %s, user: \"%s\", database: \"%s\" }, table: %s",
             sc_env("EDDY_MYSQL_HOST"), sc_env("EDDY_MYSQL_PORT"), sc_env("EDDY_MYSQL_USER"),
             sc_env("EDDY_MYSQL_DB"), table);
    sc_pipeline_window(yaml, sizeof yaml, "my_win", body, "{ hopping: 3s, slide: 1500ms }");
    sc_sink_t s;
    assert_int_equal(sc_sink_open_yaml(&s, yaml, "my_win", err, sizeof err), 0);
    sc_state_t w0, w1;
    sc_write_overlapping(&s, &w0, &w1);
    sc_sink_close(&s);
    unsetenv("TZ");
    tzset();

    s_my_exec(m, "SET time_zone = '+05:00'"); /* DATETIME does not move with it */
    snprintf(sql, sizeof sql,
             "SELECT CAST(window_start AS CHAR), CAST(window_end AS CHAR), count, total, lo, hi, "
             "mean, mean_n FROM %s ORDER BY window_start",
             table);
    s_my_exec(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    assert_non_null(res);
    assert_int_equal(mysql_num_rows(res), 2);
    static const char *const bounds[2][2] = {{"2025-12-01 00:00:00.000", "2025-12-01 00:00:03.000"},
                                             {"2025-12-01 00:00:01.500", "2025-12-01 00:00:04.500"}};
    const sc_state_t *k[2] = {&w0, &w1};
    for (int i = 0; i < 2; i++) {
        MYSQL_ROW row = mysql_fetch_row(res);
        assert_string_equal(row[0], bounds[i][0]);
        assert_string_equal(row[1], bounds[i][1]);
        sc_assert_num("count", k[i], atof(row[2]), k[i]->count);
        sc_assert_num("total", k[i], atof(row[3]), k[i]->sum);
        sc_assert_num("lo", k[i], atof(row[4]), k[i]->min);
        sc_assert_num("hi", k[i], atof(row[5]), k[i]->max);
        sc_assert_num("mean", k[i], atof(row[6]), k[i]->sum / (double)k[i]->n);
        sc_assert_num("mean_n", k[i], atof(row[7]), (double)k[i]->n);
    }
    mysql_free_result(res);
    snprintf(sql, sizeof sql,
             "SELECT GROUP_CONCAT(CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE) ORDER BY "
             "ORDINAL_POSITION SEPARATOR ', ') FROM information_schema.COLUMNS WHERE "
             "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '%s'",
             table);
    assert_non_null(s_my_one(m, sql, got, sizeof got));
    assert_string_equal(got, "window_start datetime(3), window_end datetime(3), doc "
                             "varbinary(255), word varbinary(255), count bigint(20), total double, "
                             "lo double, hi double, mean double, mean_sum double, mean_n "
                             "bigint(20), updated_at timestamp(6)");
    snprintf(sql, sizeof sql,
             "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ', ') FROM "
             "information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND "
             "TABLE_NAME = '%s' AND CONSTRAINT_NAME = 'PRIMARY'",
             table);
    assert_non_null(s_my_one(m, sql, got, sizeof got));
    assert_string_equal(got, "window_start, window_end, doc, word");
    s_reset(table);
    mysql_close(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        SC_CONTRACT_TESTS(&s_plugin),
        SC_WINDOWS_TEST(&s_plugin),
        SC_RECORDS_TEST(&s_plugin),
        cmocka_unit_test(test_mariadb_upsert),
        cmocka_unit_test(test_mariadb_down_retries),
        cmocka_unit_test(test_mariadb_windowed_table),
    };
    return cmocka_run_group_tests_name("it_sink_mariadb", tests, NULL, NULL);
}
