/*
 * it_sink_sqlite.c — the sqlite sink plugin on database files in a fresh
 * directory: the sink contract (sink_contract.h) with a file standing for
 * the server (a path in a missing directory for one that is down, a write
 * lock held by another connection for a flush that cannot commit), then
 * upserts of every kind of key, the DDL, retention of old windows, a table
 * eddy cannot write and a database in memory. Everything is read back by
 * an independent reader: the sqlite3 command-line program, never eddy.
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/sink_contract.h"

/* ------------------------------------------------ the independent reader */

static char s_dir[256]; /* this run's directory of database files */

static const char *s_path(const char *target) {
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    if (!s_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(s_dir, sizeof s_dir, "%s/eddy-it-sqlite-%d", tmp && *tmp ? tmp : "/tmp",
                 (int)getpid());
        if (mkdir(s_dir, 0700) && errno != EEXIST)
            fail_msg("mkdir %s: %s", s_dir, strerror(errno));
    }
    snprintf(b, 512, "%s/%s.db", s_dir, target);
    return b;
}

/* Rows the sqlite3 CLI printed: fields split at \x1f, rows at \x1e, SQL
 * NULL as the single byte \x02. */
typedef struct {
    char *text; /* owned */
    char *row[64][16];
    int nrows;
} s_out_t;

/* Runs `sqlite3 -readonly FILE SQL` and splits its output into out; fails
 * the test with what it printed unless it exits 0. */
static void s_cli(const char *file, const char *sql, s_out_t *out) {
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        execlp("sqlite3", "sqlite3", "-readonly", "-batch", "-noheader", "-separator", "\x1f",
               "-newline", "\x1e", "-nullvalue", "\x02", file, sql, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    ssize_t n;
    while ((n = read(fd[0], text + len, cap - len - 1)) > 0)
        if ((len += (size_t)n) + 1 == cap)
            text = realloc(text, cap *= 2);
    close(fd[0]);
    text[len] = 0;
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        fail_msg("sqlite3 %s \"%s\": %s", file, sql, text);
    memset(out, 0, sizeof *out);
    out->text = text;
    for (char *r = text, *end; *r; r = end + 1) {
        end = strchr(r, '\x1e');
        if (!end)
            break;
        *end = 0;
        assert_true(out->nrows < 64);
        int f = 0;
        for (char *c = r, *e;; c = e + 1) {
            e = strchr(c, '\x1f');
            if (e)
                *e = 0;
            assert_true(f < 16);
            out->row[out->nrows][f++] = strcmp(c, "\x02") ? c : NULL;
            if (!e)
                break;
        }
        out->nrows++;
    }
}

static void s_out_free(s_out_t *o) {
    free(o->text);
    o->text = NULL;
}

/* The bytes of hex text h into dst (at most n); returns how many. */
static size_t s_unhex(const char *h, char *dst, size_t n) {
    size_t l = 0;
    for (; h[0] && h[1] && l < n; h += 2) {
        unsigned v = 0;
        sscanf(h, "%2x", &v);
        dst[l++] = (char)v;
    }
    return l;
}

/* One statement on the file with SQLite's own C library: for tests that
 * must set up a table or hold a lock, never to read what eddy wrote. */
static sqlite3 *s_open(const char *file) {
    sqlite3 *db = NULL;
    if (sqlite3_open(file, &db) != SQLITE_OK)
        fail_msg("open %s: %s", file, sqlite3_errmsg(db));
    return db;
}

static void s_exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

/* ---------------------------------------------------------------- contract */

/* No server: "live" is the directory of this run, port 1 a directory that
 * does not exist (the database cannot be opened: as a server that is down). */
static void s_server(char *host, size_t size, int *port) {
    snprintf(host, size, "live");
    *port = 0;
}

static const char *s_target_path(const char *target, int port) {
    static char buf[600];
    if (port != 1)
        return s_path(target);
    snprintf(buf, sizeof buf, "%s/missing/%s.db", s_dir[0] ? s_dir : "/nonexistent", target);
    return buf;
}

static void s_body(char *out, size_t size, const char *target, const char *host, int port) {
    (void)host;
    snprintf(out, size,
             "sqlite: { path: \"%s\", busy_timeout: 300ms }, table: %s, batch_rows: 2",
             s_target_path(target, port), target);
}

static void s_where(char *out, size_t size, const char *target, const char *host, int port) {
    (void)host;
    snprintf(out, size, "(sqlite %s)", s_target_path(target, port));
}

static void s_reset(const char *target) {
    static const char *const ext[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        char f[700];
        snprintf(f, sizeof f, "%s%s", s_path(target), ext[i]);
        unlink(f);
    }
}

static void s_read(const char *target, sc_totals_t *t) {
    struct stat sb;
    if (stat(s_path(target), &sb))
        return; /* nothing written yet */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT doc, word, count FROM %s", target);
    s_out_t o;
    s_cli(s_path(target), sql, &o);
    for (int i = 0; i < o.nrows; i++)
        sc_totals_add(t, o.row[i][0], strlen(o.row[i][0]), o.row[i][1], strlen(o.row[i][1]),
                      atof(o.row[i][2]));
    s_out_free(&o);
}

static void s_read_windows(const char *target, sc_wtotals_t *t) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT window_start, window_end, doc, word, count FROM %s",
             target);
    s_out_t o;
    s_cli(s_path(target), sql, &o);
    for (int i = 0; i < o.nrows; i++)
        sc_wtotals_add(t, atoll(o.row[i][0]), atoll(o.row[i][1]), o.row[i][2],
                       strlen(o.row[i][2]), o.row[i][3], strlen(o.row[i][3]),
                       atof(o.row[i][4]));
    s_out_free(&o);
}

/* A table without most of the columns eddy writes: the upsert cannot be
 * prepared, so every row of the flush is refused. */
static int s_poison(const char *target) {
    s_reset(target);
    sqlite3 *db = s_open(s_path(target));
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE TABLE %s (doc TEXT, word TEXT, PRIMARY KEY (doc, word))",
             target);
    s_exec(db, sql);
    sqlite3_close(db);
    return 3;
}

static int s_read_users(const char *target, sc_user_t *out, int max) {
    char sql[512];
    sc_users_query(sql, sizeof sql, target, "registered", "active");
    s_out_t o;
    s_cli(s_path(target), sql, &o);
    int n = o.nrows < max ? o.nrows : max;
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        for (int j = 0; j < 8; j++)
            sc_user_set(&out[i], j, o.row[i][j]);
    }
    s_out_free(&o);
    return n;
}

static const sc_plugin_t s_plugin = {
    .type = "sqlite",
    .server = s_server,
    .body = s_body,
    .where = s_where,
    .reset = s_reset,
    .read = s_read,
    .poison = s_poison,
    .read_windows = s_read_windows,
    .read_users = s_read_users,
};

/* ------------------------------------------------------------------- tests */

static void s_open_sink(sc_sink_t *s, const char *name, const char *target, const char *extra) {
    char body[1024], err[1024] = "";
    snprintf(body, sizeof body, "sqlite: { path: \"%s\", busy_timeout: 300ms }, table: %s%s",
             s_path(target), target, extra ? extra : "");
    if (sc_sink_open(s, name, body, err, sizeof err))
        fail_msg("open %s: %s", name, err);
}

/* The contract's `once` for a database file: another connection holds the
 * write lock while flush B is written: RETRY after busy_timeout, nothing of
 * B applied; once the lock is released the retry applies B exactly once. */
static void test_sqlite_once_locked(void **state) {
    (void)state;
    const char *target = sc_run("it_{run}_locked");
    s_reset(target);
    sc_sink_t s;
    s_open_sink(&s, "sqlite_locked", target, ", batch_rows: 2");
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    char err[1024] = "";
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &d.flush1, &st, err, sizeof err), err);
    s_out_t o;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT sum(count), count(*) FROM %s", target);
    s_cli(s_path(target), sql, &o);
    assert_string_equal(o.row[0][0], "6"); /* the ×3, ünïcödé ×1, 日本語 ×2 */
    s_out_free(&o);

    sqlite3 *lock = s_open(s_path(target));
    s_exec(lock, "BEGIN IMMEDIATE");
    ed_write_result_t r = sc_sink_write(&s, &d.flush2, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, "sink 'sqlite_locked' (sqlite ");
    ASSERT_HAS(err, "database is locked");
    ASSERT_HAS(err, "; retrying");
    assert_null(strchr(err, '\n'));
    s_cli(s_path(target), sql, &o); /* readers are not blocked (WAL) */
    assert_string_equal(o.row[0][0], "6");
    s_out_free(&o);
    s_exec(lock, "ROLLBACK");
    sqlite3_close(lock);
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &d.flush2, &st, err, sizeof err), err);
    sc_sink_close(&s);
    long long want = 0;
    for (int i = 0; i < K_N; i++)
        if (i != K_BADUTF8 && i != K_NUL)
            want += (long long)d.st[i].count;
    s_cli(s_path(target), sql, &o);
    assert_int_equal(atoll(o.row[0][0]), want);
    assert_int_equal(atoi(o.row[0][1]), K_N - 2);
    s_out_free(&o);
    /* WAL, as readers see it from outside. */
    s_cli(s_path(target), "PRAGMA journal_mode", &o);
    assert_string_equal(o.row[0][0], "wal");
    s_out_free(&o);
    sc_data_free(&d);
    s_reset(target);
}

/* Every kind of key read back byte for byte (hex), every compute, the DDL. */
static void test_sqlite_upsert(void **state) {
    (void)state;
    const char *target = sc_run("it_sq_words_{run}");
    s_reset(target);
    sc_sink_t s;
    s_open_sink(&s, "sq_words", target, ", batch_rows: 2");
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    char err[1024] = "";
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &d.flush1, &st, err, sizeof err), err);
    assert_int_equal(st.rows_written, 3);
    assert_int_equal(st.rows_rejected, 1); /* K_BADUTF8 */
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &d.flush2, &st, err, sizeof err), err);
    assert_int_equal(st.rows_written, 3 + 9);
    assert_int_equal(st.rows_rejected, 2); /* + K_NUL; K_HUGE fits */
    sc_sink_close(&s);

    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT hex(doc), hex(word), count, total, lo, hi, mean, mean_sum, mean_n, "
             "typeof(updated_at), typeof(count), typeof(total) FROM %s",
             target);
    s_out_t o;
    s_cli(s_path(target), sql, &o);
    assert_int_equal(o.nrows, K_N - 2);
    int seen = 0;
    for (int i = 0; i < o.nrows; i++) {
        char doc[64], word[4096];
        size_t dl = s_unhex(o.row[i][0], doc, sizeof doc);
        size_t wl = s_unhex(o.row[i][1], word, sizeof word);
        const sc_state_t *k = NULL;
        for (int j = 0; j < K_N && !k; j++)
            if (strlen(d.st[j].doc) == dl && !memcmp(d.st[j].doc, doc, dl) &&
                d.st[j].word_len == wl && !memcmp(d.st[j].word, word, wl)) {
                k = &d.st[j];
                seen |= 1 << j;
            }
        if (!k)
            fail_msg("row (%s, %.40s) was never written", o.row[i][0], o.row[i][1]);
        sc_assert_num("count", k, atof(o.row[i][2]), k->count);
        sc_assert_num("total", k, atof(o.row[i][3]), k->sum);
        sc_assert_num("lo", k, atof(o.row[i][4]), k->min);
        sc_assert_num("hi", k, atof(o.row[i][5]), k->max);
        sc_assert_num("mean", k, atof(o.row[i][6]), k->sum / (double)k->n);
        sc_assert_num("mean_sum", k, atof(o.row[i][7]), k->sum);
        sc_assert_num("mean_n", k, atof(o.row[i][8]), (double)k->n);
        assert_string_equal(o.row[i][9], "integer");
        assert_string_equal(o.row[i][10], "integer");
        assert_string_equal(o.row[i][11], "real");
    }
    assert_int_equal(seen, ((1 << K_N) - 1) & ~(1 << K_BADUTF8) & ~(1 << K_NUL));
    s_out_free(&o);
    snprintf(sql, sizeof sql,
             "SELECT group_concat(name || ' ' || type || ' ' || pk, ', ') FROM "
             "pragma_table_info('%s')",
             target);
    s_cli(s_path(target), sql, &o);
    assert_string_equal(o.row[0][0], "doc TEXT 1, word TEXT 2, count INTEGER 0, total REAL 0, "
                                     "lo REAL 0, hi REAL 0, mean REAL 0, mean_sum REAL 0, "
                                     "mean_n INTEGER 0, updated_at INTEGER 0");
    s_out_free(&o);
    snprintf(sql, sizeof sql, "SELECT sql LIKE '%%WITHOUT ROWID' FROM sqlite_schema WHERE name = "
                              "'%s'", target);
    s_cli(s_path(target), sql, &o);
    assert_string_equal(o.row[0][0], "1");
    s_out_free(&o);
    sc_data_free(&d);
    s_reset(target);
}

/* The windowed table: INTEGER ms bounds lead the key, values merge per
 * (window, key) across flushes. */
static void test_sqlite_windowed_table(void **state) {
    (void)state;
    const char *target = sc_run("it_sq_win_{run}");
    s_reset(target);
    char body[1024], yaml[4096], err[1024] = "";
    snprintf(body, sizeof body, "sqlite: { path: \"%s\" }, table: %s", s_path(target), target);
    sc_pipeline_window(yaml, sizeof yaml, "sq_win", body, "{ hopping: 3s, slide: 1500ms }");
    sc_sink_t s;
    assert_int_equal(sc_sink_open_yaml(&s, yaml, "sq_win", err, sizeof err), 0);
    sc_state_t w0, w1;
    sc_write_overlapping(&s, &w0, &w1);
    sc_sink_close(&s);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT strftime('%%Y-%%m-%%d %%H:%%M:%%f', window_start / 1000.0, 'unixepoch'), "
             "window_end - window_start, count, total, lo, hi, mean, mean_n FROM %s ORDER BY "
             "window_start",
             target);
    s_out_t o;
    s_cli(s_path(target), sql, &o);
    assert_int_equal(o.nrows, 2);
    assert_string_equal(o.row[0][0], "2025-12-01 00:00:00.000");
    assert_string_equal(o.row[1][0], "2025-12-01 00:00:01.500");
    const sc_state_t *k[2] = {&w0, &w1};
    for (int i = 0; i < 2; i++) {
        assert_string_equal(o.row[i][1], "3000");
        sc_assert_num("count", k[i], atof(o.row[i][2]), k[i]->count);
        sc_assert_num("total", k[i], atof(o.row[i][3]), k[i]->sum);
        sc_assert_num("lo", k[i], atof(o.row[i][4]), k[i]->min);
        sc_assert_num("hi", k[i], atof(o.row[i][5]), k[i]->max);
        sc_assert_num("mean", k[i], atof(o.row[i][6]), k[i]->sum / (double)k[i]->n);
        sc_assert_num("mean_n", k[i], atof(o.row[i][7]), (double)k[i]->n);
    }
    s_out_free(&o);
    snprintf(sql, sizeof sql,
             "SELECT group_concat(name, ', ') FROM pragma_table_info('%s') WHERE pk > 0", target);
    s_cli(s_path(target), sql, &o);
    assert_string_equal(o.row[0][0], "window_start, window_end, doc, word");
    s_out_free(&o);
    s_reset(target);
}

/* One windowed row of d1/the in [ws, ws + 1 s), count +n. */
static ed_batch_t *s_win_row(int64_t ws, double n) {
    ed_batch_t *b = ed_batch_new(ED_BATCH_CHANGELOG, 0);
    sc_state_t k = {.doc = "d1", .word = "the", .word_len = 3, .ws = ws, .we = ws + 1000};
    double xs[16] = {0};
    sc_emit(b, &k, xs, (int)n);
    return b;
}

/* retention: 2s deletes the windows ending more than 2 s before the newest
 * window end written, also across a restart of the sink. */
static void test_sqlite_retention(void **state) {
    (void)state;
    const char *target = sc_run("it_sq_ret_{run}");
    s_reset(target);
    char body[1024], yaml[4096], err[1024] = "";
    snprintf(body, sizeof body, "sqlite: { path: \"%s\" }, table: %s, retention: 2s",
             s_path(target), target);
    sc_pipeline_window(yaml, sizeof yaml, "sq_ret", body, "{ tumbling: 1s }");
    static const int64_t T0 = 1764547200000LL;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT group_concat((window_start - %lld) / 1000, ',') FROM "
                              "(SELECT window_start FROM %s ORDER BY 1)",
             (long long)T0, target);
    for (int round = 0; round < 2; round++) { /* the second round reopens the sink */
        sc_sink_t s;
        assert_int_equal(sc_sink_open_yaml(&s, yaml, "sq_ret", err, sizeof err), 0);
        ed_sink_stats_t st = {0};
        for (int w = round * 5; w < round * 5 + 5; w++) {
            ed_batch_t *b = s_win_row(T0 + w * 1000, 1 + w);
            ed_sink_flush_t f = {.checkpoint = (uint64_t)w + 1, .changes = &b, .nchanges = 1,
                                 .rows = 1};
            ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &f, &st, err, sizeof err), err);
            ed_batch_destroy(&b);
        }
        sc_sink_close(&s);
        s_out_t o;
        s_cli(s_path(target), sql, &o);
        /* The newest ends at w + 1; kept: ends ≥ newest end - 2 s. */
        assert_string_equal(o.row[0][0], round ? "7,8,9" : "2,3,4");
        s_out_free(&o);
    }
    /* retention on a cumulative aggregation is refused. */
    char pipeline[4096];
    sc_pipeline(pipeline, sizeof pipeline, "sq_ret", body);
    assert_true(sc_config_error(pipeline, err, sizeof err) < 0);
    ASSERT_HAS(err, "'retention'");
    ASSERT_HAS(err, "has no window");
    s_reset(target);
}

/* ":memory:" is one database per sink, shared through the memdb VFS with
 * any connection of the process (the HTTP readers) while the sink lives. */
static void test_sqlite_memory(void **state) {
    (void)state;
    sc_sink_t s;
    char err[1024] = "";
    assert_int_equal(sc_sink_open(&s, "sq_mem", "sqlite: { path: \":memory:\" }, table: mem_words",
                                  err, sizeof err),
                     0);
    sc_data_t d;
    sc_data(&d);
    ed_sink_stats_t st = {0};
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(&s, &d.flush1, &st, err, sizeof err), err);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2("file:/eddy-mem/sq_mem?vfs=memdb", &db,
                                     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL),
                     SQLITE_OK);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT sum(count) FROM mem_words", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 6);
    sqlite3_finalize(q);
    sqlite3_close(db);
    sc_sink_close(&s);
    sc_data_free(&d);
}

/* Config mistakes found without a database. */
static void test_sqlite_config_errors(void **state) {
    (void)state;
    char yaml[4096], err[1024] = "";
    sc_pipeline(yaml, sizeof yaml, "sq_bad", "sqlite: { }");
    assert_true(sc_config_error(yaml, err, sizeof err) < 0);
    ASSERT_HAS(err, "path");
    sc_pipeline(yaml, sizeof yaml, "sq_bad", "sqlite: { path: x.db }, table: main.words");
    assert_true(sc_config_error(yaml, err, sizeof err) < 0);
    ASSERT_HAS(err, "names a schema");
}

static int s_cleanup(void **state) {
    (void)state;
    if (s_dir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
        if (system(cmd))
            return 1;
    }
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(sc_test_down, (void *)&s_plugin),
        cmocka_unit_test_prestate(sc_test_durable, (void *)&s_plugin),
        cmocka_unit_test_prestate(sc_test_drop, (void *)&s_plugin),
        SC_WINDOWS_TEST(&s_plugin),
        SC_RECORDS_TEST(&s_plugin),
        cmocka_unit_test(test_sqlite_once_locked),
        cmocka_unit_test(test_sqlite_upsert),
        cmocka_unit_test(test_sqlite_windowed_table),
        cmocka_unit_test(test_sqlite_retention),
        cmocka_unit_test(test_sqlite_memory),
        cmocka_unit_test(test_sqlite_config_errors),
    };
    return cmocka_run_group_tests_name("it_sink_sqlite", tests, NULL, s_cleanup);
}
