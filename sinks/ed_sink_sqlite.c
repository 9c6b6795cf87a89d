/*
 * ed_sink_sqlite.c — changelog rows → upserts into a SQLite table (Debian
 * libsqlite3), in a file or in memory; or, with `columns:`, records → rows
 * upserted or inserted (sinks/ed_sink_records.h). The database is what the
 * HTTP endpoint's `/v1/sql` reads (actors/http/ed_http_sql.c). See
 * docs/sinks.md for the DDL, the statements and the guarantees.
 *
 * One flush is one transaction: BEGIN IMMEDIATE (the write lock at once, so
 * the transaction never fails half-way for a lock), one prepared INSERT …
 * ON CONFLICT DO UPDATE per row, the retention DELETE, COMMIT. A file is in
 * WAL mode with synchronous=FULL: COMMIT returns once the transaction is on
 * disk (fsync), and readers never block the writer. A failed flush is
 * rolled back, so RETRY never leaves half a flush applied.
 */
#include "sinks/ed_sink.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/ed_eo.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_file.h"
#include "runtime/ed_utf8.h"
#include "sinks/ed_sink_eo.h"
#include "sinks/ed_sink_records.h"
#include "sinks/ed_sink_rows.h"
#include "sinks/ed_sqlite_db.h"

typedef struct {
    const char *name;  /* sink name, for logs */
    const char *table; /* unquoted table name */
    const ed_sqlite_opts_t *o;
    char uri[1200];    /* what sqlite3_open_v2 opens */
    char addr[1100];   /* "sqlite PATH" for errors */
    int memdb;         /* ":memory:" */
    sqlite3 *db;
    int opened_once;
    int lost;  /* the last open failed: the next successful one counts as a reconnect */
    int ready; /* table created and statements prepared on this connection */
    sqlite3_stmt *up;    /* the one-row upsert / insert */
    sqlite3_stmt *del;   /* retention: DELETE of the windows that ended too long ago */
    int64_t newest_end;  /* retention: the latest window end written (ms); INT64_MIN = none */
    const ed_sink_col_t *cols; /* changelog: borrowed from rows */
    int ncols;
    int npk;
    ed_sink_rows_t *rows;
    ed_sink_records_t *recs;
    const ed_rec_col_t *rcols;
    const int *rpk;
    int upsert;
    const ed_sink_eo_t *eo; /* exactly_once of the flush being written, or NULL */
} s_sq_t;

/* ---- options (the config map; see config/ed_conf_map.h) ---- */

static const ed_conf_map_t s_sq_map[] = {
    {ED_CONF_STR, "path", NULL, offsetof(ed_sqlite_opts_t, path), ED_CONF_REQUIRED,
     "the database file (created with its table when missing), or `\":memory:\"`: a database "
     "in memory that lives as long as the process, which `/v1/sql` reads",
     .expect = "a file name or \":memory:\""},
    {ED_CONF_DURATION, "busy_timeout", "5s", offsetof(ed_sqlite_opts_t, busy_timeout_ms), 0,
     "how long a write waits for a lock another process holds on the database before the flush "
     "is retried",
     .min = 0},
    {ED_CONF_STR, "table", NULL, offsetof(ed_sqlite_opts_t, table), ED_CONF_OUTER,
     "the table upserted: a SQL identifier", .expect = "a table name",
     .doc_def = "the aggregation's name"},
    {ED_CONF_DURATION, "retention", NULL, offsetof(ed_sqlite_opts_t, retention_ms),
     ED_CONF_OUTER,
     "windowed aggregations: each flush deletes the windows whose end is more than this before "
     "the newest window end written (stream time, not the clock)",
     .min = 1, .doc_def = "windows are kept"},
    ED_SINK_RECORD_ROWS(ed_sqlite_opts_t, rec),
    {0}};

static int s_sq_validate(ed_conf_check_t *ck, void *opts) {
    ed_sqlite_opts_t *o = opts;
    int rc = 0;
    if (o->table && strchr(o->table, '.'))
        rc = ed_conf_check_err(ck, "table",
                               "table '%s' in %s names a schema; a sqlite sink writes a table of "
                               "its own database: expected a plain SQL identifier",
                               o->table, ed_conf_check_where(ck, "table"));
    if (ed_sink_check_table(ck, o->table) < 0)
        rc = ED_EINVAL;
    if (ed_sink_rec_validate(ck, &o->rec, o->table, 0) < 0)
        rc = ED_EINVAL;
    return rc;
}

static int s_sq_link(ed_conf_check_t *ck, void *opts, const ed_conf_aggregation_t *agg) {
    ed_sqlite_opts_t *o = opts;
    if (ed_sink_rec_link(ck, &o->rec) < 0)
        return ED_EINVAL;
    if (o->retention_ms && !ed_sink_windowed(agg))
        return ed_conf_check_err(ck, "retention",
                                 "'retention' in %s deletes old windows, but aggregation '%s' "
                                 "has no window; expected a `window:` in the aggregation, or no "
                                 "retention",
                                 ed_conf_check_where(ck, "retention"), agg->name);
    return ed_sink_link_table(ck, &o->table, agg);
}

static int s_sq_link_records(ed_conf_check_t *ck, void *opts) {
    ed_sqlite_opts_t *o = opts;
    if (o->retention_ms)
        return ed_conf_check_err(ck, "retention",
                                 "'retention' in %s deletes old windows of an aggregation; "
                                 "records have none: expected no retention",
                                 ed_conf_check_where(ck, "retention"));
    return ed_sink_rec_link_records(ck, &o->rec);
}

static const char *s_sq_part_check(const uint8_t *part, size_t len) {
    if (memchr(part, 0, len))
        return "key contains a NUL byte, which TEXT cannot hold";
    if (!ed_utf8_valid((const char *)part, len))
        return "key is not valid UTF-8";
    return NULL;
}

static void s_sq_destroy(void **ctx_p);

static int s_sq_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    const ed_conf_sink_t *sink = sc->sink;
    const ed_conf_aggregation_t *agg = sc->agg;
    const ed_sqlite_opts_t *o = sink->opts;
    int records = o && ed_sink_rec_on(&o->rec);
    int err = ed_sink_sql_init_check(sc, ED_SQLITE_TYPE, records, 1, '"', errstr, errstr_size);
    if (err < 0)
        return err;
    if (!o || !o->path || !*o->path)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': sqlite.path is required (a file, or \":memory:\")",
                         sink->name);
    s_sq_t *p = ed_calloc(1, sizeof *p);
    p->name = sink->name;
    p->o = o;
    p->table = o->table && *o->table ? o->table : agg ? agg->name : "";
    p->newest_end = INT64_MIN;
    ed_sqlite_uri(sink->name, o->path, p->uri, sizeof p->uri, &p->memdb);
    snprintf(p->addr, sizeof p->addr, "sqlite %s", o->path);
    if (records) {
        if (ed_sink_rec_open(sc->conf, p->name, p->table, &o->rec, 0, &p->recs, &p->rcols,
                             &p->ncols, &p->rpk, &p->npk, &p->upsert, errstr, errstr_size)) {
            void *pp = p;
            s_sq_destroy(&pp);
            return ED_EINVAL;
        }
    } else {
        p->rows = ed_sink_rows_new(&(ed_sink_rows_conf_t){.agg = agg,
                                                          .sink = p->name,
                                                          .type = ED_SQLITE_TYPE,
                                                          .table = p->table,
                                                          .check = s_sq_part_check});
        p->cols = ed_sink_rows_cols(p->rows, &p->ncols);
        p->npk = ed_sink_rows_npk(p->rows);
    }
    *ctx_p = p;
    return 0;
}

static void s_sq_unprepare(s_sq_t *p) {
    sqlite3_finalize(p->up);
    sqlite3_finalize(p->del);
    p->up = p->del = NULL;
    p->ready = 0;
}

static void s_sq_destroy(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    s_sq_t *p = *ctx_p;
    s_sq_unprepare(p);
    if (p->db)
        sqlite3_close_v2(p->db);
    ed_sink_rows_destroy(&p->rows);
    ed_sink_records_destroy(&p->recs);
    free(p);
    *ctx_p = NULL;
}

/* Transient: a lock held elsewhere, I/O, a full disk, no memory, a file
 * that cannot be opened (a directory not mounted yet), a read-only file,
 * a table dropped while eddy runs (created again on the retry). The rest
 * (a table whose columns do not fit, a constraint) fails for good. */
static int s_sq_retryable(s_sq_t *p, int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
    case SQLITE_INTERRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return 1;
    case SQLITE_ERROR:
        return p->db && strstr(sqlite3_errmsg(p->db), "no such table") != NULL;
    default:
        return 0;
    }
}

/* Fails the flush with SQLite's message: rolls back an open transaction,
 * finalizes the statements (prepared again next time), RETRY or DROP. */
static ed_write_result_t s_sq_fail(s_sq_t *p, int rc, const char *what, char *errstr,
                                   size_t errstr_size) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", p->db ? sqlite3_errmsg(p->db) : sqlite3_errstr(rc));
    int retry = s_sq_retryable(p, rc);
    s_sq_unprepare(p);
    if (p->db && !sqlite3_get_autocommit(p->db))
        sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
    if (retry)
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s: %s (%s); %s%sretrying",
                  p->name, p->addr, what, msg, sqlite3_errstr(rc),
                  (rc & 0xff) == SQLITE_FULL ? ed_file_remedy(ENOSPC) : "",
                  (rc & 0xff) == SQLITE_FULL ? "; " : "");
    else
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "sink '%s' (%s): %s (table %s) failed for good: %s (%s); check that the "
                  "table's columns match docs/sinks.md (drop or rename it, or set `table:`); the "
                  "flush is dropped",
                  p->name, p->addr, what, p->table, msg, sqlite3_errstr(rc));
    return retry ? ED_WRITE_RETRY : ED_WRITE_DROP;
}

static ed_write_result_t s_sq_exec(s_sq_t *p, const char *sql, const char *what, char *errstr,
                                   size_t errstr_size) {
    int rc = sqlite3_exec(p->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? ED_WRITE_OK : s_sq_fail(p, rc, what, errstr, errstr_size);
}

/* Opens the database once; the connection stays open for the life of the
 * sink (a ":memory:" database lives only while it does). */
static ed_write_result_t s_sq_connect(void *ctx, ed_sink_stats_t *stats, char *errstr,
                                      size_t errstr_size) {
    s_sq_t *p = ctx;
    if (p->db)
        return ED_WRITE_OK;
    int rc = sqlite3_open_v2(p->uri, &p->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI |
                                 SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_extended_result_codes(p->db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(p->db, (int)(p->o->busy_timeout_ms > 0x7fffffff
                                                   ? 0x7fffffff
                                                   : p->o->busy_timeout_ms));
    if (rc == SQLITE_OK)
        rc = ed_sqlite_functions(p->db);
    /* A file: WAL (readers never block the writer, and the writer does not
     * block them) and a full fsync at every COMMIT. */
    if (rc == SQLITE_OK && !p->memdb)
        rc = sqlite3_exec(p->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(p->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        ed_write_result_t r = s_sq_fail(p, rc, "open", errstr, errstr_size);
        sqlite3_close_v2(p->db);
        p->db = NULL;
        p->lost = 1;
        return r;
    }
    if (p->opened_once && p->lost) {
        stats->reconnects++;
        ED_LOG_I(p->name, "opened %s again (table %s)", p->addr, p->table);
    } else if (!p->opened_once) {
        ED_LOG_I(p->name, "opened %s (table %s)", p->addr, p->table);
    }
    p->opened_once = 1;
    p->lost = 0;
    return ED_WRITE_OK;
}

/* Column types in the DDL, by ed_sink_sql_t: window bounds are INTEGER ms
 * since the epoch (UTC), keys TEXT (UTF-8, compared byte for byte). */
static const char *const s_sq_ddl_type[] = {
    [ED_SINK_SQL_KEY] = " TEXT NOT NULL, ",
    [ED_SINK_SQL_BIGINT] = " INTEGER NOT NULL DEFAULT 0, ",
    [ED_SINK_SQL_DOUBLE_SUM] = " REAL NOT NULL DEFAULT 0, ",
    [ED_SINK_SQL_DOUBLE] = " REAL, ",
    [ED_SINK_SQL_TIME] = " INTEGER NOT NULL, ",
};

/* Column types of a records table, by ed_rec_type_t: times are INTEGER ms
 * since the epoch, booleans 0/1, JSON its text. */
static const char *const s_sq_rec_ddl[] = {
    [ED_REC_TEXT] = "TEXT",    [ED_REC_BIGINT] = "INTEGER", [ED_REC_DOUBLE] = "REAL",
    [ED_REC_BOOL] = "INTEGER", [ED_REC_TIME] = "INTEGER",   [ED_REC_JSON] = "TEXT",
};

/* A column reference in ON CONFLICT … DO UPDATE: "c" (the row in the
 * table) or excluded."c" (the row being inserted). */
static void s_sq_ref(void *ctx, ed_buf_t *b, int incoming, const char *name, const char *suffix) {
    (void)ctx;
    if (incoming)
        ed_buf_puts(b, "excluded.");
    ed_sqlite_ident(b, name, suffix);
}

/* The name of column i (changelog or records). */
static void s_sq_col(const s_sq_t *p, ed_buf_t *b, int i) {
    if (p->recs)
        ed_sqlite_ident(b, p->rcols[i].name, NULL);
    else
        ed_sqlite_ident(b, p->cols[i].name, p->cols[i].suffix);
}

/* The name of primary-key column k. */
static void s_sq_pk(const s_sq_t *p, ed_buf_t *b, int k) {
    s_sq_col(p, b, p->recs ? p->rpk[k] : k);
}

/* CREATE TABLE into ddl; the upsert (or insert) into up. */
static void s_sq_build_sql(s_sq_t *p, ed_buf_t *ddl, ed_buf_t *up) {
    ed_buf_puts(ddl, "CREATE TABLE IF NOT EXISTS ");
    ed_sqlite_ident(ddl, p->table, NULL);
    ed_buf_puts(ddl, " (");
    ed_buf_puts(up, "INSERT INTO ");
    ed_sqlite_ident(up, p->table, NULL);
    ed_buf_puts(up, " (");
    for (int i = 0; i < p->ncols; i++) {
        ed_buf_puts(up, i ? ", " : "");
        s_sq_col(p, up, i);
        s_sq_col(p, ddl, i);
        if (!p->recs) {
            ed_buf_puts(ddl, s_sq_ddl_type[p->cols[i].sql]);
            continue;
        }
        ed_buf_printf(ddl, " %s%s%s", s_sq_rec_ddl[p->rcols[i].type],
                      p->rcols[i].not_null ? " NOT NULL" : "", i + 1 < p->ncols ? ", " : "");
    }
    if (!p->recs) {
        ed_buf_puts(ddl, "\"updated_at\" INTEGER NOT NULL");
        ed_buf_puts(up, ", \"updated_at\"");
    }
    ed_buf_puts(up, ") VALUES (");
    for (int i = 0; i < p->ncols + !p->recs; i++)
        ed_buf_printf(up, "%s?%d", i ? ", " : "", i + 1);
    ed_buf_puts(up, ")");
    if (p->npk) {
        ed_buf_t keys = ED_BUF_INIT;
        for (int k = 0; k < p->npk; k++) {
            ed_buf_puts(&keys, k ? ", " : "");
            s_sq_pk(p, &keys, k);
        }
        ed_buf_printf(ddl, ", PRIMARY KEY (%s)) WITHOUT ROWID", keys.data);
        if (!p->recs || p->upsert) {
            ed_buf_printf(up, " ON CONFLICT (%s) DO ", keys.data);
            int n = 0;
            for (int i = 0; i < p->ncols; i++) {
                if (p->recs ? p->rcols[i].pk != 0 : i < p->npk)
                    continue;
                ed_buf_puts(up, n++ ? ", " : "UPDATE SET ");
                s_sq_col(p, up, i);
                ed_buf_puts(up, " = ");
                if (p->recs) /* records: the incoming row replaces the old one */
                    s_sq_ref(p, up, 1, p->rcols[i].name, NULL);
                else /* SQLite evaluates every SET expression on the old row */
                    ed_sink_col_merge(&p->cols[i], 0, s_sq_ref, p, up);
            }
            if (!p->recs)
                ed_buf_puts(up, ", \"updated_at\" = excluded.\"updated_at\"");
            else if (!n)
                ed_buf_puts(up, "NOTHING");
        }
        ed_buf_free(&keys);
    } else {
        ed_buf_puts(ddl, ")");
    }
}

static ed_write_result_t s_sq_stmt(s_sq_t *p, const char *sql, sqlite3_stmt **st,
                                   const char *what, char *errstr, size_t errstr_size) {
    int rc = sqlite3_prepare_v3(p->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    return rc == SQLITE_OK ? ED_WRITE_OK : s_sq_fail(p, rc, what, errstr, errstr_size);
}

/* The newest window end in the table, from which retention counts (so
 * that a restarted sink deletes as the one before it did). */
static ed_write_result_t s_sq_newest(s_sq_t *p, char *errstr, size_t errstr_size) {
    ed_buf_t q = ED_BUF_INIT;
    ed_buf_puts(&q, "SELECT max(\"window_end\") FROM ");
    ed_sqlite_ident(&q, p->table, NULL);
    sqlite3_stmt *st = NULL;
    ed_write_result_t r = s_sq_stmt(p, q.data, &st, "read the newest window", errstr, errstr_size);
    ed_buf_free(&q);
    if (r != ED_WRITE_OK)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        int64_t end = sqlite3_column_int64(st, 0);
        if (end > p->newest_end)
            p->newest_end = end;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? ED_WRITE_OK
               : s_sq_fail(p, rc, "read the newest window", errstr, errstr_size);
}

/* CREATE TABLE IF NOT EXISTS, then prepare the statements, once per
 * connection (again after a failure). */
static ed_write_result_t s_sq_prepare(void *ctx, char *errstr, size_t errstr_size) {
    s_sq_t *p = ctx;
    if (p->ready)
        return ED_WRITE_OK;
    ed_buf_t ddl = ED_BUF_INIT, up = ED_BUF_INIT;
    s_sq_build_sql(p, &ddl, &up);
    ed_write_result_t r = s_sq_exec(p, ddl.data, "CREATE TABLE", errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = s_sq_stmt(p, up.data, &p->up, "prepare upsert", errstr, errstr_size);
    if (r == ED_WRITE_OK && p->o->retention_ms && !p->recs) {
        ed_buf_reset(&ddl);
        ed_buf_puts(&ddl, "DELETE FROM ");
        ed_sqlite_ident(&ddl, p->table, NULL);
        ed_buf_puts(&ddl, " WHERE \"window_end\" < ?1");
        r = s_sq_stmt(p, ddl.data, &p->del, "prepare retention", errstr, errstr_size);
        if (r == ED_WRITE_OK)
            r = s_sq_newest(p, errstr, errstr_size);
    }
    ed_buf_free(&ddl);
    ed_buf_free(&up);
    if (r == ED_WRITE_OK)
        p->ready = 1;
    return r;
}

/* Binds parameter j + 1 of the statement to record cell v of column j. */
static int s_sq_bind_rec(s_sq_t *p, int j, const ed_rec_cell_t *v) {
    sqlite3_stmt *st = p->up;
    if (v->null)
        return sqlite3_bind_null(st, j + 1);
    switch (p->rcols[j].type) {
    case ED_REC_TEXT:
    case ED_REC_JSON:
        return sqlite3_bind_text64(st, j + 1, v->str, v->len, SQLITE_STATIC, SQLITE_UTF8);
    case ED_REC_DOUBLE:
        return isfinite(v->d) ? sqlite3_bind_double(st, j + 1, v->d) : sqlite3_bind_null(st, j + 1);
    default: /* bigint, boolean 0/1, time in ms */
        return sqlite3_bind_int64(st, j + 1, v->i);
    }
}

/* Binds the parameters of changelog row r: column j is parameter j + 1,
 * updated_at the last. */
static int s_sq_bind_row(s_sq_t *p, const ed_sink_row_t *r, int64_t now_ms) {
    sqlite3_stmt *st = p->up;
    int rc = SQLITE_OK;
    for (int j = 0; j < p->ncols && rc == SQLITE_OK; j++) {
        const ed_sink_col_t *c = &p->cols[j];
        if (c->sql == ED_SINK_SQL_KEY) {
            const uint8_t *part = NULL;
            size_t len = 0;
            ed_key_part(r->key, r->key_len, c->idx, &part, &len);
            rc = sqlite3_bind_text64(st, j + 1, (const char *)part, len, SQLITE_STATIC,
                                     SQLITE_UTF8);
        } else if (c->sql == ED_SINK_SQL_TIME) {
            rc = sqlite3_bind_int64(st, j + 1, ed_sink_row_time(r, c));
        } else if (c->sql == ED_SINK_SQL_BIGINT) {
            rc = sqlite3_bind_int64(st, j + 1, ed_sink_row_int(r, c));
        } else {
            /* NaN has no REAL value: SQL NULL (min/max/first/last merge
             * around it; a sum column refuses it: NOT NULL). */
            double x = ed_sink_row_num(r, c);
            rc = isnan(x) ? sqlite3_bind_null(st, j + 1) : sqlite3_bind_double(st, j + 1, x);
        }
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, p->ncols + 1, now_ms);
    return rc;
}

/* exactly_once: runs one statement on eddy_checkpoints with (pipeline,
 * sink, table) and, when pos is set, (id, pos); a row it returns goes to
 * *got and *got_pos (owned) when they are given. */
static ed_write_result_t s_sq_eo(s_sq_t *p, const char *sql, const char *pipeline, uint64_t id,
                                 const char *pos, uint64_t *got, char **got_pos, char *errstr,
                                 size_t errstr_size) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, p->table, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && pos)
        rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)id);
    if (rc == SQLITE_OK && pos)
        rc = sqlite3_bind_text(st, 5, pos, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && got) {
        *got = (uint64_t)sqlite3_column_int64(st, 0);
        const unsigned char *t = sqlite3_column_text(st, 1);
        if (got_pos)
            *got_pos = ed_strdup(t ? (const char *)t : "");
        rc = SQLITE_DONE;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? ED_WRITE_OK
                           : s_sq_fail(p, rc, "eddy_checkpoints", errstr, errstr_size);
}

static ed_write_result_t s_sq_eo_read(void *ctx, const char *pipeline, uint64_t *id,
                                      char **positions, char *errstr, size_t errstr_size) {
    s_sq_t *p = ctx;
    ed_sink_stats_t stats = {0};
    ed_write_result_t r = s_sq_connect(p, &stats, errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = s_sq_exec(p, ED_EO_SQ_DDL, "CREATE TABLE eddy_checkpoints", errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = s_sq_eo(p, ED_EO_SQ_SELECT, pipeline, 0, NULL, id, positions, errstr, errstr_size);
    return r;
}

/* BEGIN IMMEDIATE; one upsert per row; the retention DELETE; COMMIT. */
static ed_write_result_t s_sq_txn(void *ctx, uint64_t *statements, char *errstr,
                                  size_t errstr_size) {
    s_sq_t *p = ctx;
    ed_write_result_t r = s_sq_exec(p, "BEGIN IMMEDIATE", "BEGIN", errstr, errstr_size);
    if (r == ED_WRITE_OK && p->eo) { /* a replayed flush already applied: skip it */
        uint64_t stored = 0;
        r = s_sq_eo(p, ED_EO_SQ_SELECT, p->eo->pipeline, 0, NULL, &stored, NULL, errstr,
                    errstr_size);
        if (r == ED_WRITE_OK && stored >= p->eo->id) {
            sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
            *p->eo->skipped = 1;
            return ED_WRITE_OK;
        }
    }
    size_t total = p->recs ? ed_sink_records_count(p->recs) : ed_sink_rows_count(p->rows);
    int64_t now = ed_wall_ms(), newest = p->newest_end;
    uint64_t n = 0;
    for (size_t i = 0; r == ED_WRITE_OK && i < total; i++) {
        int rc = SQLITE_OK;
        if (p->recs) {
            const ed_rec_cell_t *row = ed_sink_records_row(p->recs, i);
            for (int j = 0; j < p->ncols && rc == SQLITE_OK; j++)
                rc = s_sq_bind_rec(p, j, &row[j]);
        } else {
            const ed_sink_row_t *row = ed_sink_rows_get(p->rows, i);
            rc = s_sq_bind_row(p, row, now);
            if (row->window_end_ms > newest)
                newest = row->window_end_ms;
        }
        if (rc == SQLITE_OK)
            rc = sqlite3_step(p->up);
        if (rc == SQLITE_DONE)
            rc = sqlite3_reset(p->up);
        else
            sqlite3_reset(p->up);
        sqlite3_clear_bindings(p->up); /* SQLITE_STATIC text points into the flush */
        if (rc != SQLITE_OK)
            r = s_sq_fail(p, rc, p->upsert || !p->recs ? "upsert" : "insert", errstr,
                          errstr_size);
        n++;
    }
    if (r == ED_WRITE_OK && p->del && newest != INT64_MIN) {
        int rc = sqlite3_bind_int64(p->del, 1, newest - p->o->retention_ms);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(p->del);
        if (rc == SQLITE_DONE)
            rc = sqlite3_reset(p->del);
        else
            sqlite3_reset(p->del);
        if (rc != SQLITE_OK)
            r = s_sq_fail(p, rc, "retention DELETE", errstr, errstr_size);
        n++;
    }
    if (r == ED_WRITE_OK && p->eo)
        r = s_sq_eo(p, ED_EO_SQ_UPSERT, p->eo->pipeline, p->eo->id, p->eo->positions, NULL, NULL,
                    errstr, errstr_size);
    if (r == ED_WRITE_OK) {
        ed_crash_point("sql_before_commit");
        r = s_sq_exec(p, "COMMIT", "COMMIT", errstr, errstr_size);
    }
    if (r == ED_WRITE_OK) {
        *statements += n;
        p->newest_end = newest;
    }
    return r;
}

static ed_write_result_t s_sq_write(void *ctx, const ed_sink_flush_t *flush, ed_sink_stats_t *stats,
                                    char *errstr, size_t errstr_size) {
    static const ed_sink_rows_ops_t ops = {s_sq_connect, s_sq_prepare, s_sq_txn};
    s_sq_t *p = ctx;
    p->eo = flush->eo;
    if (p->recs)
        return ed_sink_records_write(p->recs, flush, stats, &ops, ctx, errstr, errstr_size);
    return ed_sink_rows_write(p->rows, flush, stats, &ops, ctx, errstr, errstr_size);
}

const ed_sink_type_t ed_sink_sqlite = {
    .conf = {.name = ED_SQLITE_TYPE,
             .desc = "upserts an aggregation's changelog, or upserts or inserts records, into a "
                     "SQLite table (a file, or in memory), which the HTTP endpoint's `/v1/sql` "
                     "queries",
             .map = s_sq_map,
             .opts_size = sizeof(ed_sqlite_opts_t),
             .caps = ED_CAP_CHANGELOG | ED_CAP_RECORDS | ED_CAP_ALERTS | ED_CAP_REJECTS_OUT |
                     ED_CAP_WINDOWS | ED_CAP_EXACTLY_ONCE,
             .example = "sqlite: { path: results.db }",
             .validate = s_sq_validate,
             .link = s_sq_link,
             .link_records = s_sq_link_records},
    .init = s_sq_init,
    .write = s_sq_write,
    .destroy = s_sq_destroy,
    .eo_read = s_sq_eo_read,
};
