/*
 * it_sink_mariadb.c — the mariadb sink plugin against the real server
 * (scripts/services; the runner exports `scripts/services env`): the sink
 * contract (sink_contract.h), then upserts of every kind of key read back
 * with MariaDB Connector/C, and a server that is down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void s_read(const char *target, sc_totals_t *t) {
    MYSQL *m = s_my();
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT doc, word, count FROM %s", target);
    s_my_exec(m, sql);
    MYSQL_RES *res = mysql_store_result(m);
    assert_non_null(res);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *len = mysql_fetch_lengths(res);
        sc_totals_add(t, row[0], len[0], row[1], len[1], atof(row[2]));
    }
    mysql_free_result(res);
    mysql_close(m);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        SC_CONTRACT_TESTS(&s_plugin),
        cmocka_unit_test(test_mariadb_upsert),
        cmocka_unit_test(test_mariadb_down_retries),
    };
    return cmocka_run_group_tests_name("it_sink_mariadb", tests, NULL, NULL);
}
