/*
 * ed_sink_postgres.c — changelog rows → multi-row upserts into PostgreSQL
 * (libpq); or, with `columns:`, records → rows upserted or inserted
 * (sinks/ed_sink_records.h). See docs/sinks.md for the DDL, the statements
 * and the guarantees.
 *
 * One flush is one transaction: BEGIN; INSERT … ON CONFLICT DO UPDATE in
 * chunks of `batch_rows` rows, or for a flush of `copy_rows` rows or more
 * COPY into a stage and its merge (ed_pg_copy.c); COMMIT. A failed flush is
 * rolled back by the server, so RETRY never leaves half a flush applied.
 */
#include "sinks/ed_pg.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/ed_eo.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_utf8.h"
#include "sinks/ed_sink_eo.h"
#include "sinks/ed_sink_records.h"
#include "sinks/ed_sink_rows.h"

/* ---- options (the config map; see config/ed_conf_map.h) ---- */

typedef struct {
    char *dsn;   /* libpq connection string or URI */
    char *table; /* the table upserted; the link defaults it to the aggregation's name */
    ed_pg_tls_opts_t tls;   /* sslmode, sslrootcert, sslcert, sslkey */
    int copy_rows; /* flushes of at least this many rows go through COPY; 0 = never */
    ed_sink_rec_opts_t rec; /* records: mode, primary_key, columns */
} s_pg_opts_t;

static const ed_conf_map_t s_pg_map[] = {
    {ED_CONF_STR, "dsn", NULL, offsetof(s_pg_opts_t, dsn), ED_CONF_REQUIRED | ED_CONF_SECRET,
     "libpq connection string or URI, e.g. `host=127.0.0.1 port=5432 dbname=eddy user=eddy`",
     .expect = "a libpq connection string"},
    ED_PG_TLS_ROWS(s_pg_opts_t, tls),
    {ED_CONF_STR, "table", NULL, offsetof(s_pg_opts_t, table), ED_CONF_OUTER,
     "the table upserted: a SQL identifier, optionally `schema.table`", .expect = "a table name",
     .doc_def = "the aggregation's name"},
    {ED_CONF_INT, "copy_rows", "0", offsetof(s_pg_opts_t, copy_rows), 0,
     "a flush of at least this many rows is sent with one `COPY` into a temporary table, then "
     "one `UPDATE … FROM` it and one `INSERT … SELECT` of the new keys (a plain insert: `COPY` "
     "into the table); smaller flushes use `batch_rows`-row `unnest` upserts; 0 (the default): "
     "never `COPY`. Only for a table no other process writes: with a concurrent writer an "
     "increment can be lost (docs/sinks-sql.md)",
     .min = 0, .max = 1000000000},
    ED_SINK_RECORD_ROWS(s_pg_opts_t, rec),
    {0}};

/* The DSN itself is parsed by init (libpq), as before: a config check of it
 * would refuse placeholders that never reach a server. */
static int s_pg_validate(ed_conf_check_t *ck, void *opts) {
    s_pg_opts_t *o = opts;
    int rc = ed_sink_check_table(ck, o->table);
    if (ed_pg_tls_validate(ck, &o->tls, o->dsn) < 0)
        rc = ED_EINVAL;
    return ed_sink_rec_validate(ck, &o->rec, o->table, 0) < 0 ? ED_EINVAL : rc;
}

static int s_pg_link(ed_conf_check_t *ck, void *opts, const ed_conf_aggregation_t *agg) {
    s_pg_opts_t *o = opts;
    if (ed_sink_rec_link(ck, &o->rec) < 0)
        return ED_EINVAL;
    return ed_sink_link_table(ck, &o->table, agg);
}

static int s_pg_link_records(ed_conf_check_t *ck, void *opts) {
    return ed_sink_rec_link_records(ck, &((s_pg_opts_t *)opts)->rec);
}

/* host, port, dbname and user of the DSN (never its password), and the table. */
static void s_pg_describe(const void *opts, ed_buf_t *out) {
    const s_pg_opts_t *o = opts;
    PQconninfoOption *ci = o->dsn ? PQconninfoParse(o->dsn, NULL) : NULL;
    static const char *const shown[] = {"host", "hostaddr", "port", "dbname", "user", NULL};
    for (int i = 0; shown[i]; i++)
        for (PQconninfoOption *c = ci; c && c->keyword; c++)
            if (c->val && !strcmp(c->keyword, shown[i]))
                ed_buf_printf(out, "%s%s=%s", out->len ? " " : "", c->keyword, c->val);
    ed_pg_tls_describe(&o->tls, ci, out);
    PQconninfoFree(ci);
    if (o->table)
        ed_buf_printf(out, "%stable=%s", out->len ? " " : "", o->table);
    if (ed_sink_rec_on(&o->rec))
        ed_buf_printf(out, " records: %d columns, %s", o->rec.columns.n,
                      o->rec.mode == ED_REC_MODE_INSERT || (!o->rec.mode && !o->rec.primary_key.n)
                          ? "insert"
                          : "upsert");
}

static const char *s_pg_part_check(const uint8_t *part, size_t len) {
    if (memchr(part, 0, len))
        return "key contains a NUL byte, which TEXT cannot hold";
    if (!ed_utf8_valid((const char *)part, len))
        return "key is not valid UTF-8";
    return NULL;
}

/* NOTICEs ("relation already exists, skipping") go to the debug log, not
 * to stderr as libpq's default processor would. */
static void s_pg_notice(void *arg, const char *message) {
    const ed_pg_t *p = arg;
    char msg[512];
    ed_pg_msg(msg, sizeof msg, message);
    ED_LOG_D(p->name, "%s: %s", p->cp.addr, msg);
}

static void s_pg_destroy(void **ctx_p);

static int s_pg_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    const ed_conf_sink_t *sink = sc->sink;
    const ed_conf_aggregation_t *agg = sc->agg;
    const s_pg_opts_t *o = sink->opts;
    int records = o && ed_sink_rec_on(&o->rec);
    int err = ed_sink_sql_init_check(sc, "postgres", records, 0, '"', errstr, errstr_size);
    if (err < 0)
        return err;
    if (!o || !o->dsn || !*o->dsn)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': postgres.dsn is required (e.g. \"host=127.0.0.1 port=5432 "
                         "dbname=eddy user=eddy\")",
                         sink->name);
    ed_pg_params_t cp;
    if ((err = ed_pg_params_init(&cp, sink->name, o->dsn, &o->tls, errstr, errstr_size)) < 0)
        return err;

    ed_pg_t *p = ed_calloc(1, sizeof *p);
    p->sink = sink;
    p->agg = agg;
    p->name = sink->name;
    p->table = o->table && *o->table ? o->table : agg ? agg->name : "";
    p->cp = cp;
    if (records) {
        if (ed_sink_rec_open(sc->conf, p->name, p->table, &o->rec, 0, &p->recs, &p->rcols,
                             &p->ncols, &p->rpk, &p->npk, &p->upsert, errstr, errstr_size)) {
            void *pp = p;
            s_pg_destroy(&pp);
            return ED_EINVAL;
        }
    } else {
        p->rows = ed_sink_rows_new(&(ed_sink_rows_conf_t){.agg = agg,
                                                          .sink = p->name,
                                                          .type = "postgres",
                                                          .table = p->table,
                                                          .max_key = ED_PG_MAX_KEY_BYTES,
                                                          .check = s_pg_part_check});
        p->cols = ed_sink_rows_cols(p->rows, &p->ncols);
        p->npk = ed_sink_rows_npk(p->rows);
    }

    p->chunk_rows = sink->batch_rows > 0 ? sink->batch_rows : 1000;
    p->copy_rows = o->copy_rows;
    *ctx_p = p;
    return 0;
}

void ed_pg_close(ed_pg_t *p) {
    if (p->conn)
        PQfinish(p->conn);
    p->conn = NULL;
    p->ready = 0;
    p->prepared = 0;
    p->staged = 0;
}

static void s_pg_destroy(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    ed_pg_t *p = *ctx_p;
    ed_pg_close(p);
    ed_pg_params_free(&p->cp);
    ed_buf_free(&p->head);
    ed_buf_free(&p->tail);
    ed_buf_free(&p->copy);
    ed_buf_free(&p->update);
    ed_buf_free(&p->insert);
    ed_buf_free(&p->pbuf);
    free(p->poff);
    free(p->pval);
    ed_sink_rows_destroy(&p->rows);
    ed_sink_records_destroy(&p->recs);
    free(p);
    *ctx_p = NULL;
}

static ed_write_result_t s_pg_connect(void *ctx, ed_sink_stats_t *stats, char *errstr,
                                      size_t errstr_size) {
    ed_pg_t *p = ctx;
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return ED_WRITE_OK;
    ed_pg_close(p);
    p->conn = PQconnectdbParams(p->cp.kw, p->cp.val, 0);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        char msg[512];
        ed_pg_msg(msg, sizeof msg, p->conn ? PQerrorMessage(p->conn) : "out of memory");
        ed_pg_close(p);
        p->lost = 1;
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s%s; retrying", p->name,
                  p->cp.addr, msg, ed_pg_conn_hint(msg));
        return ED_WRITE_RETRY;
    }
    PQsetNoticeProcessor(p->conn, s_pg_notice, p);
    const char *tls = PQsslInUse(p->conn) ? PQsslAttribute(p->conn, "protocol") : NULL;
    if (p->connected_once && p->lost) {
        stats->reconnects++;
        ED_LOG_I(p->name, "reconnected to %s (table %s%s%s)", p->cp.addr, p->table,
                 tls ? ", TLS " : "", tls ? tls : "");
    } else if (!p->connected_once) {
        ED_LOG_I(p->name, "connected to %s (table %s%s%s)", p->cp.addr, p->table,
                 tls ? ", TLS " : "", tls ? tls : "");
    }
    p->connected_once = 1;
    p->lost = 0;
    return ED_WRITE_OK;
}

/* After (re)connecting: CREATE TABLE IF NOT EXISTS, then PREPARE the upsert
 * and, where flushes may be large enough for COPY, create the stage. */
static ed_write_result_t s_pg_prepare(void *ctx, char *errstr, size_t errstr_size) {
    ed_pg_t *p = ctx;
    if (p->ready)
        return ED_WRITE_OK;
    ed_buf_t ddl = ED_BUF_INIT, up = ED_BUF_INIT;
    ed_pg_build_sql(p, &ddl);
    ed_write_result_t r =
        ed_pg_run(p, PQexec(p->conn, ddl.data), "CREATE TABLE", errstr, errstr_size);
    if (r == ED_WRITE_OK && !p->prepared) {
        /* Prepared statements live as long as the session: once per connection. */
        ed_pg_sql_upsert(p, &up);
        r = ed_pg_run(p, PQprepare(p->conn, "ed_upsert", up.data, p->ncols, NULL),
                      "PREPARE upsert", errstr, errstr_size);
        if (r == ED_WRITE_OK)
            p->prepared = 1;
    }
    if (r == ED_WRITE_OK && p->copy_rows > 0)
        r = ed_pg_copy_prepare(p, errstr, errstr_size);
    ed_buf_free(&ddl);
    ed_buf_free(&up);
    if (r == ED_WRITE_OK)
        p->ready = 1;
    return r;
}

/* exactly_once: one statement on eddy_checkpoints with (pipeline, sink,
 * table) and, when pos is set, (id, pos); a row it returns goes to *got
 * and *got_pos (owned) when they are given. */
static ed_write_result_t s_pg_eo(ed_pg_t *p, const char *sql, const char *pipeline, uint64_t id,
                                 const char *pos, uint64_t *got, char **got_pos, char *errstr,
                                 size_t errstr_size) {
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%llu", (unsigned long long)id);
    const char *v[5] = {pipeline, p->name, p->table, idtxt, pos};
    PGresult *res = PQexecParams(p->conn, sql, pos ? 5 : 3, NULL, v, NULL, NULL, 0);
    if (got && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        *got = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        if (got_pos)
            *got_pos = ed_strdup(PQgetvalue(res, 0, 1));
    }
    return ed_pg_run(p, res, "eddy_checkpoints", errstr, errstr_size);
}

static ed_write_result_t s_pg_eo_read(void *ctx, const char *pipeline, uint64_t *id,
                                      char **positions, char *errstr, size_t errstr_size) {
    ed_pg_t *p = ctx;
    ed_sink_stats_t stats = {0};
    ed_write_result_t r = s_pg_connect(p, &stats, errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = ed_pg_run(p, PQexec(p->conn, ED_EO_PG_DDL), "CREATE TABLE", errstr, errstr_size);
    return r ? r : s_pg_eo(p, ED_EO_PG_SELECT, pipeline, 0, NULL, id, positions, errstr, errstr_size);
}

/* BEGIN; the upsert per chunk, or COPY and one merge; COMMIT. */
static ed_write_result_t s_pg_txn(void *ctx, uint64_t *statements, char *errstr,
                                 size_t errstr_size) {
    ed_pg_t *p = ctx;
    ed_write_result_t r = ed_pg_run(p, PQexec(p->conn, "BEGIN"), "BEGIN", errstr, errstr_size);
    uint64_t stored = 0; /* exactly_once: skip a replayed flush already applied */
    if (r == ED_WRITE_OK && p->eo &&
        (r = s_pg_eo(p, ED_EO_PG_SELECT " FOR UPDATE", p->eo->pipeline, 0, NULL, &stored, NULL,
                     errstr, errstr_size)) == ED_WRITE_OK &&
        stored >= p->eo->id) {
        *p->eo->skipped = 1;
        return ed_pg_run(p, PQexec(p->conn, "ROLLBACK"), "ROLLBACK", errstr, errstr_size);
    }
    size_t chunk = (size_t)p->chunk_rows;
    size_t total = p->recs ? ed_sink_records_count(p->recs) : ed_sink_rows_count(p->rows);
    if (r == ED_WRITE_OK && p->copy_rows > 0 && total >= (size_t)p->copy_rows)
        r = ed_pg_copy_rows(p, total, statements, errstr, errstr_size);
    else
        for (size_t from = 0; r == ED_WRITE_OK && from < total; from += chunk) {
            size_t nrows = total - from < chunk ? total - from : chunk;
            ed_pg_params(p, from, nrows);
            PGresult *res = PQexecPrepared(p->conn, "ed_upsert", p->ncols, p->pval, NULL, NULL, 0);
            r = ed_pg_run(p, res, "upsert", errstr, errstr_size);
            if (r == ED_WRITE_OK)
                (*statements)++;
        }
    if (r == ED_WRITE_OK && p->eo)
        r = s_pg_eo(p, ED_EO_PG_UPSERT, p->eo->pipeline, p->eo->id, p->eo->positions, NULL, NULL,
                    errstr, errstr_size);
    if (r == ED_WRITE_OK) {
        ed_crash_point("sql_before_commit");
        r = ed_pg_run(p, PQexec(p->conn, "COMMIT"), "COMMIT", errstr, errstr_size);
    }
    return r;
}

static ed_write_result_t s_pg_write(void *ctx, const ed_sink_flush_t *flush, ed_sink_stats_t *stats,
                                    char *errstr, size_t errstr_size) {
    static const ed_sink_rows_ops_t ops = {s_pg_connect, s_pg_prepare, s_pg_txn};
    ed_pg_t *p = ctx;
    p->eo = flush->eo;
    if (p->recs)
        return ed_sink_records_write(p->recs, flush, stats, &ops, ctx, errstr, errstr_size);
    return ed_sink_rows_write(p->rows, flush, stats, &ops, ctx, errstr, errstr_size);
}

const ed_sink_type_t ed_sink_postgres = {
    .conf = {.name = "postgres",
             .desc = "upserts an aggregation's changelog, or upserts or inserts records, into a "
                     "PostgreSQL table",
             .map = s_pg_map,
             .opts_size = sizeof(s_pg_opts_t),
             .caps = ED_CAP_CHANGELOG | ED_CAP_RECORDS | ED_CAP_ALERTS | ED_CAP_REJECTS_OUT |
                     ED_CAP_WINDOWS | ED_CAP_EXACTLY_ONCE,
             .example = "postgres: { dsn: \"host=127.0.0.1 dbname=eddy\" }",
             .validate = s_pg_validate,
             .link = s_pg_link,
             .link_records = s_pg_link_records,
             .describe = s_pg_describe},
    .init = s_pg_init,
    .write = s_pg_write,
    .destroy = s_pg_destroy,
    .eo_read = s_pg_eo_read,
};