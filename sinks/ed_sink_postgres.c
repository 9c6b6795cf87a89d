/*
 * ed_sink_postgres.c — changelog rows → multi-row upserts into PostgreSQL
 * (libpq); or, with `columns:`, records → rows upserted or inserted
 * (sinks/ed_sink_records.h). See docs/sinks.md for the DDL, the statements
 * and the guarantees.
 *
 * One flush is one transaction: BEGIN; INSERT … ON CONFLICT DO UPDATE in
 * chunks of `batch_rows` rows; COMMIT. A failed flush is rolled back by the
 * server, so RETRY never leaves half a flush applied.
 */
#include "sinks/ed_sink.h"

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

/* A btree index entry must fit in a third of a page (2704 bytes incl.
 * headers); longer keys would fail the whole statement, so they are rejected
 * up front, like invalid UTF-8. */
#define S_PG_MAX_KEY_BYTES 2600

typedef struct {
    const ed_conf_sink_t *sink;
    const ed_conf_aggregation_t *agg;
    const char *name;  /* sink name, for logs */
    const char *table; /* unquoted table name (the `table` option or the aggregation's) */
    char addr[256];    /* "postgres host=… port=…" for errors */
    const char **kw;   /* connection keywords/values, NULL-terminated */
    const char **val;
    PQconninfoOption *opts; /* owns the strings of kw/val */
    PGconn *conn;
    int connected_once;
    int lost;     /* the last connection failed or was lost: next connect counts as a reconnect */
    int ready;    /* DDL done and statements built for this connection */
    int prepared; /* the upsert is prepared on this connection */
    const ed_sink_col_t *cols; /* borrowed from rows */
    int ncols;
    int npk;        /* leading columns of cols in the primary key */
    int chunk_rows; /* rows per statement */
    ed_buf_t head;  /* "INSERT INTO … " */
    ed_buf_t tail;  /* " ON CONFLICT … DO UPDATE SET …" */
    ed_buf_t pbuf;  /* scratch: the array parameters, NUL-terminated */
    size_t *poff;   /* scratch: offsets into pbuf, one per column */
    const char **pval;
    ed_sink_rows_t *rows; /* changelog: the current flush's rows, merged and sorted */
    ed_sink_records_t *recs; /* records (`columns:`), instead of rows */
    const ed_rec_col_t *rcols; /* records: the columns (ncols of them), borrowed from recs */
    const int *rpk;            /* records: the primary key's column indexes (npk of them) */
    int upsert;                /* records: ON CONFLICT (key) DO UPDATE; 0: plain INSERT */
    const ed_sink_eo_t *eo;    /* exactly_once of the flush being written, or NULL */
} s_pg_t;

/* ---- options (the config map; see config/ed_conf_map.h) ---- */

typedef struct {
    char *dsn;   /* libpq connection string or URI */
    char *table; /* the table upserted; the link defaults it to the aggregation's name */
    ed_sink_rec_opts_t rec; /* records: mode, primary_key, columns */
} s_pg_opts_t;

static const ed_conf_map_t s_pg_map[] = {
    {ED_CONF_STR, "dsn", NULL, offsetof(s_pg_opts_t, dsn), ED_CONF_REQUIRED | ED_CONF_SECRET,
     "libpq connection string or URI, e.g. `host=127.0.0.1 port=5432 dbname=eddy user=eddy`",
     .expect = "a libpq connection string"},
    {ED_CONF_STR, "table", NULL, offsetof(s_pg_opts_t, table), ED_CONF_OUTER,
     "the table upserted: a SQL identifier, optionally `schema.table`", .expect = "a table name",
     .doc_def = "the aggregation's name"},
    ED_SINK_RECORD_ROWS(s_pg_opts_t, rec),
    {0}};

/* The DSN itself is parsed by init (libpq), as before: a config check of it
 * would refuse placeholders that never reach a server. */
static int s_pg_validate(ed_conf_check_t *ck, void *opts) {
    s_pg_opts_t *o = opts;
    int rc = ed_sink_check_table(ck, o->table);
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

static const char *s_pg_opt(const s_pg_t *p, const char *kw) {
    for (int i = 0; p->kw[i]; i++)
        if (!strcmp(p->kw[i], kw))
            return p->val[i];
    return NULL;
}

/* Copies a libpq message onto one line: libpq ends messages with a newline
 * and puts hints on indented lines of their own. */
static void s_pg_msg(char *dst, size_t n, const char *msg) {
    if (!msg || !*msg)
        msg = "unknown error";
    size_t l = 0;
    for (const char *s = msg; *s && l + 1 < n; s++) {
        if (*s == '\n' || *s == '\t' || *s == '\r') {
            if (l && dst[l - 1] != ' ')
                dst[l++] = ' ';
        } else {
            dst[l++] = *s;
        }
    }
    while (l && dst[l - 1] == ' ')
        l--;
    if (n)
        dst[l < n ? l : n - 1] = 0;
}

/* NOTICEs ("relation already exists, skipping") go to the debug log, not
 * to stderr as libpq's default processor would. */
static void s_pg_notice(void *arg, const char *message) {
    const s_pg_t *p = arg;
    char msg[512];
    s_pg_msg(msg, sizeof msg, message);
    ED_LOG_D(p->name, "%s: %s", p->addr, msg);
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
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(o->dsn, &perr);
    if (!opts) {
        err = ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': invalid postgres.dsn: %s",
                        sink->name, perr ? perr : "out of memory");
        PQfreemem(perr);
        return err;
    }

    s_pg_t *p = ed_calloc(1, sizeof *p);
    p->sink = sink;
    p->agg = agg;
    p->name = sink->name;
    p->table = o->table && *o->table ? o->table : agg ? agg->name : "";
    p->opts = opts;
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
                                                          .max_key = S_PG_MAX_KEY_BYTES,
                                                          .check = s_pg_part_check});
        p->cols = ed_sink_rows_cols(p->rows, &p->ncols);
        p->npk = ed_sink_rows_npk(p->rows);
    }

    /* Connection parameters: what the DSN says, plus bounded timeouts and
     * UTF8 (our key checks assume it) where the DSN does not say otherwise. */
    int n = 0;
    for (PQconninfoOption *ci = opts; ci->keyword; ci++)
        n++;
    p->kw = ed_calloc((size_t)n + 8, sizeof *p->kw);
    p->val = ed_calloc((size_t)n + 8, sizeof *p->val);
    int k = 0;
    for (PQconninfoOption *ci = opts; ci->keyword; ci++)
        if (ci->val) {
            p->kw[k] = ci->keyword;
            p->val[k++] = ci->val;
        }
    static const char *const defaults[][2] = {
        {"connect_timeout", "5"},
        {"client_encoding", "UTF8"},
        {"keepalives", "1"},
        {"keepalives_idle", "10"},
        {"keepalives_interval", "3"},
        {"keepalives_count", "3"},
        {"fallback_application_name", "eddy"},
    };
    for (size_t i = 0; i < ED_ARRAY_SIZE(defaults); i++)
        if (!s_pg_opt(p, defaults[i][0])) {
            p->kw[k] = defaults[i][0];
            p->val[k++] = defaults[i][1];
        }

    const char *host = s_pg_opt(p, "host"), *hostaddr = s_pg_opt(p, "hostaddr");
    const char *port = s_pg_opt(p, "port");
    if (!host)
        host = hostaddr ? hostaddr : getenv("PGHOST");
    if (!port)
        port = getenv("PGPORT");
    snprintf(p->addr, sizeof p->addr, "postgres host=%s port=%s", host ? host : "(local socket)",
             port ? port : "5432");

    p->chunk_rows = sink->batch_rows > 0 ? sink->batch_rows : 1000;
    *ctx_p = p;
    return 0;
}

static void s_pg_close(s_pg_t *p) {
    if (p->conn)
        PQfinish(p->conn);
    p->conn = NULL;
    p->ready = 0;
    p->prepared = 0;
}

static void s_pg_destroy(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    s_pg_t *p = *ctx_p;
    s_pg_close(p);
    PQconninfoFree(p->opts);
    free(p->kw);
    free(p->val);
    ed_buf_free(&p->head);
    ed_buf_free(&p->tail);
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
    s_pg_t *p = ctx;
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return ED_WRITE_OK;
    s_pg_close(p);
    p->conn = PQconnectdbParams(p->kw, p->val, 0);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        char msg[512];
        s_pg_msg(msg, sizeof msg, p->conn ? PQerrorMessage(p->conn) : "out of memory");
        s_pg_close(p);
        p->lost = 1;
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s; retrying", p->name, p->addr,
                  msg);
        return ED_WRITE_RETRY;
    }
    PQsetNoticeProcessor(p->conn, s_pg_notice, p);
    if (p->connected_once && p->lost) {
        stats->reconnects++;
        ED_LOG_I(p->name, "reconnected to %s (table %s)", p->addr, p->table);
    } else if (!p->connected_once) {
        ED_LOG_I(p->name, "connected to %s (table %s)", p->addr, p->table);
    }
    p->connected_once = 1;
    p->lost = 0;
    return ED_WRITE_OK;
}

/* Appends a quoted identifier (PQescapeIdentifier needs the connection for
 * its encoding). `suffix` is appended to the name before quoting. */
static void s_pg_ident(s_pg_t *p, ed_buf_t *b, const char *name, const char *suffix) {
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s%s", name, suffix ? suffix : "");
    char *q = PQescapeIdentifier(p->conn, tmp, strlen(tmp));
    if (!q) { /* only on OOM or invalid encoding of the name */
        ed_buf_puts(b, "\"?\"");
        return;
    }
    ed_buf_puts(b, q);
    PQfreemem(q);
}

/* "schema.table" names a table in a schema; anything else is one identifier. */
static void s_pg_table(s_pg_t *p, ed_buf_t *b) {
    const char *dot = strchr(p->table, '.');
    if (dot && dot != p->table && dot[1]) {
        char schema[256];
        snprintf(schema, sizeof schema, "%.*s", (int)(dot - p->table), p->table);
        s_pg_ident(p, b, schema, NULL);
        ed_buf_puts(b, ".");
        s_pg_ident(p, b, dot + 1, NULL);
    } else {
        s_pg_ident(p, b, p->table, NULL);
    }
}

static void s_pg_col_ident(s_pg_t *p, ed_buf_t *b, const ed_sink_col_t *c) {
    s_pg_ident(p, b, c->name, c->suffix);
}

/* A column reference in ON CONFLICT … DO UPDATE: t."c" (in the table) or
 * EXCLUDED."c" (being inserted). */
static void s_pg_ref(void *ctx, ed_buf_t *b, int incoming, const char *name, const char *suffix) {
    ed_buf_puts(b, incoming ? "EXCLUDED." : "t.");
    s_pg_ident(ctx, b, name, suffix);
}

/* Column types in the DDL, by ed_sink_sql_t. */
static const char *const s_pg_ddl_type[] = {
    [ED_SINK_SQL_KEY] = " TEXT NOT NULL, ",
    [ED_SINK_SQL_BIGINT] = " BIGINT NOT NULL DEFAULT 0, ",
    [ED_SINK_SQL_DOUBLE_SUM] = " DOUBLE PRECISION NOT NULL DEFAULT 0, ",
    [ED_SINK_SQL_DOUBLE] = " DOUBLE PRECISION, ",
    [ED_SINK_SQL_TIME] = " TIMESTAMPTZ NOT NULL, ",
};

/* Element types of the upsert's array parameters, by ed_sink_sql_t. */
static const char *const s_pg_param_type[] = {
    [ED_SINK_SQL_KEY] = "text",
    [ED_SINK_SQL_BIGINT] = "int8",
    [ED_SINK_SQL_DOUBLE_SUM] = "float8",
    [ED_SINK_SQL_DOUBLE] = "float8",
    [ED_SINK_SQL_TIME] = "timestamptz",
};

/* Column types of a records table, by ed_rec_type_t (varchar(N) aside). */
static const char *const s_pg_rec_ddl[] = {
    [ED_REC_TEXT] = "TEXT",          [ED_REC_BIGINT] = "BIGINT",
    [ED_REC_DOUBLE] = "DOUBLE PRECISION", [ED_REC_BOOL] = "BOOLEAN",
    [ED_REC_TIME] = "TIMESTAMPTZ",   [ED_REC_JSON] = "JSONB",
};

/* Element types of the records statement's array parameters. */
static const char *const s_pg_rec_param[] = {
    [ED_REC_TEXT] = "text", [ED_REC_BIGINT] = "int8",       [ED_REC_DOUBLE] = "float8",
    [ED_REC_BOOL] = "bool", [ED_REC_TIME] = "timestamptz", [ED_REC_JSON] = "jsonb",
};

/* Records: CREATE TABLE with the declared columns and key; INSERT … and,
 * for an upsert, ON CONFLICT (key) DO UPDATE SET every other column to the
 * incoming value (DO NOTHING when the key is every column). */
static void s_pg_build_rec_sql(s_pg_t *p, ed_buf_t *ddl) {
    ed_buf_puts(ddl, "CREATE TABLE IF NOT EXISTS ");
    s_pg_table(p, ddl);
    ed_buf_puts(ddl, " (");
    ed_buf_reset(&p->head);
    ed_buf_puts(&p->head, "INSERT INTO ");
    s_pg_table(p, &p->head);
    ed_buf_puts(&p->head, " AS t (");
    for (int i = 0; i < p->ncols; i++) {
        const ed_rec_col_t *c = &p->rcols[i];
        ed_buf_puts(ddl, i ? ", " : "");
        ed_buf_puts(&p->head, i ? ", " : "");
        s_pg_ident(p, ddl, c->name, NULL);
        s_pg_ident(p, &p->head, c->name, NULL);
        if (c->type == ED_REC_TEXT && c->width)
            ed_buf_printf(ddl, " VARCHAR(%d)", c->width);
        else
            ed_buf_printf(ddl, " %s", s_pg_rec_ddl[c->type]);
        if (c->not_null)
            ed_buf_puts(ddl, " NOT NULL");
    }
    ed_buf_puts(&p->head, ") ");
    ed_buf_reset(&p->tail);
    if (p->npk) {
        ed_buf_t keys = ED_BUF_INIT;
        for (int k = 0; k < p->npk; k++) {
            ed_buf_puts(&keys, k ? ", " : "");
            s_pg_ident(p, &keys, p->rcols[p->rpk[k]].name, NULL);
        }
        ed_buf_printf(ddl, ", PRIMARY KEY (%s)", keys.data);
        if (p->upsert) {
            ed_buf_printf(&p->tail, " ON CONFLICT (%s) DO ", keys.data);
            int n = 0;
            for (int i = 0; i < p->ncols; i++) {
                if (p->rcols[i].pk)
                    continue;
                ed_buf_puts(&p->tail, n++ ? ", " : "UPDATE SET ");
                s_pg_ident(p, &p->tail, p->rcols[i].name, NULL);
                ed_buf_puts(&p->tail, " = ");
                s_pg_ref(p, &p->tail, 1, p->rcols[i].name, NULL);
            }
            if (!n)
                ed_buf_puts(&p->tail, "NOTHING");
        }
        ed_buf_free(&keys);
    }
    ed_buf_puts(ddl, ")");
}

static void s_pg_build_sql(s_pg_t *p, ed_buf_t *ddl) {
    if (p->recs) {
        s_pg_build_rec_sql(p, ddl);
        return;
    }
    /* DDL */
    ed_buf_puts(ddl, "CREATE TABLE IF NOT EXISTS ");
    s_pg_table(p, ddl);
    ed_buf_puts(ddl, " (");
    for (int i = 0; i < p->ncols; i++) {
        s_pg_col_ident(p, ddl, &p->cols[i]);
        ed_buf_puts(ddl, s_pg_ddl_type[p->cols[i].sql]);
    }
    ed_buf_puts(ddl, "\"updated_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (");
    for (int i = 0; i < p->npk; i++) {
        if (i)
            ed_buf_puts(ddl, ", ");
        s_pg_col_ident(p, ddl, &p->cols[i]);
    }
    ed_buf_puts(ddl, "))");

    /* INSERT INTO t AS t (cols) */
    ed_buf_reset(&p->head);
    ed_buf_puts(&p->head, "INSERT INTO ");
    s_pg_table(p, &p->head);
    ed_buf_puts(&p->head, " AS t (");
    for (int i = 0; i < p->ncols; i++) {
        if (i)
            ed_buf_puts(&p->head, ", ");
        s_pg_col_ident(p, &p->head, &p->cols[i]);
    }
    ed_buf_puts(&p->head, ") ");

    /* ON CONFLICT (keys) DO UPDATE SET … */
    ed_buf_t *t = &p->tail;
    ed_buf_reset(t);
    ed_buf_puts(t, " ON CONFLICT (");
    for (int i = 0; i < p->npk; i++) {
        if (i)
            ed_buf_puts(t, ", ");
        s_pg_col_ident(p, t, &p->cols[i]);
    }
    ed_buf_puts(t, ") DO UPDATE SET ");
    for (int i = p->npk; i < p->ncols; i++) {
        s_pg_col_ident(p, t, &p->cols[i]);
        ed_buf_puts(t, " = ");
        ed_sink_col_merge(&p->cols[i], 0, s_pg_ref, p, t);
        ed_buf_puts(t, ", ");
    }
    ed_buf_puts(t, "\"updated_at\" = now()");
}

/* Text of one number for a DOUBLE PRECISION column. */
static size_t s_pg_num(char *dst, size_t n, double v) {
    if (isnan(v))
        return (size_t)snprintf(dst, n, "NaN");
    if (isinf(v))
        return (size_t)snprintf(dst, n, v > 0 ? "Infinity" : "-Infinity");
    return (size_t)snprintf(dst, n, "%.17g", v);
}

/* How a value goes into an array literal. */
enum { S_PG_BARE, S_PG_BYTES, S_PG_QUOTED, S_PG_NULL };

/* Value of column j of row i: its text into dst (numbers, times) or *part
 * (key bytes, record text); returns how it is written (S_PG_*), its length
 * in *len. */
static int s_pg_cell(s_pg_t *p, size_t i, int j, char *dst, size_t n, const uint8_t **part,
                     size_t *len) {
    *part = NULL;
    if (p->recs) {
        const ed_rec_cell_t *v = &ed_sink_records_row(p->recs, i)[j];
        if (v->null)
            return S_PG_NULL;
        switch (p->rcols[j].type) {
        case ED_REC_TEXT:
        case ED_REC_JSON:
            *part = (const uint8_t *)v->str;
            *len = v->len;
            return S_PG_BYTES;
        case ED_REC_BIGINT:
            *len = (size_t)snprintf(dst, n, "%lld", (long long)v->i);
            return S_PG_BARE;
        case ED_REC_BOOL:
            *len = (size_t)snprintf(dst, n, "%s", v->i ? "t" : "f");
            return S_PG_BARE;
        case ED_REC_TIME:
            *len = ed_sink_time_text(v->i, dst, n);
            *len += (size_t)snprintf(dst + *len, n - *len, "+00");
            return S_PG_QUOTED;
        default:
            *len = s_pg_num(dst, n, v->d);
            return S_PG_BARE;
        }
    }
    const ed_sink_row_t *r = ed_sink_rows_get(p->rows, i);
    const ed_sink_col_t *c = &p->cols[j];
    switch (c->sql) {
    case ED_SINK_SQL_KEY:
        *len = 0;
        ed_key_part(r->key, r->key_len, c->idx, part, len);
        return S_PG_BYTES;
    case ED_SINK_SQL_BIGINT:
        *len = (size_t)snprintf(dst, n, "%lld", ed_sink_row_int(r, c));
        return S_PG_BARE;
    case ED_SINK_SQL_TIME:
        /* With its offset: the server's and the session's TimeZone do not
         * matter (timestamptz is a point in time). */
        *len = ed_sink_time_text(ed_sink_row_time(r, c), dst, n);
        *len += (size_t)snprintf(dst + *len, n - *len, "+00");
        return S_PG_QUOTED;
    default:
        *len = s_pg_num(dst, n, ed_sink_row_num(r, c));
        return S_PG_BARE;
    }
}

/* The upsert: one row per element of the column arrays $1 … $n.
 * One prepared statement serves every chunk size; measured faster than a
 * multi-row VALUES list with per-value parameters or escaped literals (see
 * docs/sinks.md). */
static void s_pg_sql_upsert(s_pg_t *p, ed_buf_t *b) {
    ed_buf_append(b, p->head.data, p->head.len);
    ed_buf_puts(b, "SELECT * FROM unnest(");
    for (int j = 0; j < p->ncols; j++)
        ed_buf_printf(b, "%s$%d::%s[]", j ? ", " : "", j + 1,
                      p->recs ? s_pg_rec_param[p->rcols[j].type]
                              : s_pg_param_type[p->cols[j].sql]);
    ed_buf_puts(b, ")");
    ed_buf_append(b, p->tail.data, p->tail.len);
}

/* Fills p->pval with one array literal per column for rows [from, from+nrows):
 * keys and texts quoted ("…", with \\ before " and \\), times quoted,
 * numbers bare, NULL bare. */
static void s_pg_params(s_pg_t *p, size_t from, size_t nrows) {
    p->poff = ed_realloc(p->poff, (size_t)p->ncols * sizeof *p->poff);
    p->pval = ed_realloc(p->pval, (size_t)p->ncols * sizeof *p->pval);
    ed_buf_reset(&p->pbuf);
    for (int j = 0; j < p->ncols; j++) {
        p->poff[j] = p->pbuf.len;
        ed_buf_append(&p->pbuf, "{", 1);
        for (size_t i = from; i < from + nrows; i++) {
            char num[64];
            const uint8_t *part;
            size_t len = 0;
            int how = s_pg_cell(p, i, j, num, sizeof num, &part, &len);
            if (i > from)
                ed_buf_append(&p->pbuf, ",", 1);
            if (how == S_PG_BYTES) {
                ed_buf_append(&p->pbuf, "\"", 1);
                size_t st = 0;
                for (size_t k = 0; k < len; k++)
                    if (part[k] == '"' || part[k] == '\\') {
                        ed_buf_append(&p->pbuf, part + st, k - st);
                        ed_buf_append(&p->pbuf, "\\", 1);
                        st = k;
                    }
                ed_buf_append(&p->pbuf, part + st, len - st);
                ed_buf_append(&p->pbuf, "\"", 1);
            } else if (how == S_PG_QUOTED) {
                ed_buf_printf(&p->pbuf, "\"%.*s\"", (int)len, num); /* holds a space */
            } else if (how == S_PG_NULL) {
                ed_buf_append(&p->pbuf, "NULL", 4);
            } else {
                ed_buf_append(&p->pbuf, num, len);
            }
        }
        ed_buf_append(&p->pbuf, "}", 2); /* with the NUL */
    }
    for (int j = 0; j < p->ncols; j++)
        p->pval[j] = p->pbuf.data + p->poff[j];
}

/* What to do after a failed statement (`ddl`: the CREATE TABLE). */
static ed_write_result_t s_pg_classify(s_pg_t *p, const PGresult *res, int ddl) {
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK)
        return ED_WRITE_RETRY;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return ED_WRITE_RETRY;
    /* 08 connection, 40 serialization/deadlock, 53 resources, 57 operator
     * intervention (shutdown, cancel), 58 system, XX internal, 55P03 lock
     * not available, 25 transaction state (e.g. read-only during a
     * failover), 42P01 table vanished (created again on the retry). */
    static const char *const retry[] = {"08", "40", "53", "57", "58", "XX", "25"};
    for (size_t i = 0; i < ED_ARRAY_SIZE(retry); i++)
        if (!strncmp(state, retry[i], 2))
            return ED_WRITE_RETRY;
    if (!strcmp(state, "55P03") || !strcmp(state, "42P01"))
        return ED_WRITE_RETRY;
    /* Two processes creating the same table at once: one loses the race on
     * the catalog's unique index; next time the table exists. */
    if (ddl && (!strcmp(state, "23505") || !strcmp(state, "42P07")))
        return ED_WRITE_RETRY;
    return ED_WRITE_DROP;
}

/* Runs a statement without results; on failure fills errstr and returns
 * RETRY or DROP, closing a broken connection. */
static ed_write_result_t s_pg_run(s_pg_t *p, PGresult *res, const char *what, char *errstr,
                                  size_t errstr_size) {
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(res);
        return ED_WRITE_OK;
    }
    char msg[768], state_buf[8] = "";
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (sqlstate)
        snprintf(state_buf, sizeof state_buf, "%s", sqlstate);
    const char *state = sqlstate ? state_buf : NULL; /* outlives PQclear(res) */
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (primary) { /* without the statement excerpt libpq adds to the full message */
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        char one[768];
        snprintf(one, sizeof one, "%s%s%s%s%s", primary, detail ? " — " : "", detail ? detail : "",
                 hint ? " — hint: " : "", hint ? hint : "");
        s_pg_msg(msg, sizeof msg, one);
    } else {
        s_pg_msg(msg, sizeof msg, PQerrorMessage(p->conn));
    }
    ed_write_result_t r = s_pg_classify(p, res, !strcmp(what, "CREATE TABLE"));
    if (state && !strcmp(state, "42P01")) {
        /* Table dropped under us: CREATE it again on the retry, and prepare
         * the upsert again (its plan refers to the old table). */
        p->ready = 0;
        if (p->prepared && PQstatus(p->conn) == CONNECTION_OK) {
            PQclear(PQexec(p->conn, "ROLLBACK"));
            PQclear(PQexec(p->conn, "DEALLOCATE ed_upsert"));
            p->prepared = 0;
        }
    }
    PQclear(res);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        s_pg_close(p);
        p->lost = 1;
    } else {
        PQclear(PQexec(p->conn, "ROLLBACK"));
    }
    if (r == ED_WRITE_RETRY)
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s%s%s; retrying", p->name, p->addr,
                  what, *what ? ": " : "", msg);
    else
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "sink '%s' (%s): %s (table %s) failed for good (SQLSTATE %s): %s; check "
                  "that the table's columns match docs/sinks.md (drop or rename it, or set "
                  "`table:`); the flush is dropped",
                  p->name, p->addr, what, p->table, state ? state : "?", msg);
    return r;
}

/* After (re)connecting: CREATE TABLE IF NOT EXISTS, then PREPARE the upsert. */
static ed_write_result_t s_pg_prepare(void *ctx, char *errstr, size_t errstr_size) {
    s_pg_t *p = ctx;
    if (p->ready)
        return ED_WRITE_OK;
    ed_buf_t ddl = ED_BUF_INIT, up = ED_BUF_INIT;
    s_pg_build_sql(p, &ddl);
    ed_write_result_t r =
        s_pg_run(p, PQexec(p->conn, ddl.data), "CREATE TABLE", errstr, errstr_size);
    if (r == ED_WRITE_OK && !p->prepared) {
        /* Prepared statements live as long as the session: once per connection. */
        s_pg_sql_upsert(p, &up);
        r = s_pg_run(p, PQprepare(p->conn, "ed_upsert", up.data, p->ncols, NULL), "PREPARE upsert",
                     errstr, errstr_size);
        if (r == ED_WRITE_OK)
            p->prepared = 1;
    }
    ed_buf_free(&ddl);
    ed_buf_free(&up);
    if (r == ED_WRITE_OK)
        p->ready = 1;
    return r;
}

/* exactly_once: one statement on eddy_checkpoints with (pipeline, sink,
 * table) and, when pos is set, (id, pos); a row it returns goes to *got
 * and *got_pos (owned) when they are given. */
static ed_write_result_t s_pg_eo(s_pg_t *p, const char *sql, const char *pipeline, uint64_t id,
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
    return s_pg_run(p, res, "eddy_checkpoints", errstr, errstr_size);
}

static ed_write_result_t s_pg_eo_read(void *ctx, const char *pipeline, uint64_t *id,
                                      char **positions, char *errstr, size_t errstr_size) {
    s_pg_t *p = ctx;
    ed_sink_stats_t stats = {0};
    ed_write_result_t r = s_pg_connect(p, &stats, errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = s_pg_run(p, PQexec(p->conn, ED_EO_PG_DDL), "CREATE TABLE", errstr, errstr_size);
    return r ? r : s_pg_eo(p, ED_EO_PG_SELECT, pipeline, 0, NULL, id, positions, errstr, errstr_size);
}

/* BEGIN; the upsert per chunk; COMMIT. */
static ed_write_result_t s_pg_txn(void *ctx, uint64_t *statements, char *errstr,
                                  size_t errstr_size) {
    s_pg_t *p = ctx;
    ed_write_result_t r = s_pg_run(p, PQexec(p->conn, "BEGIN"), "BEGIN", errstr, errstr_size);
    uint64_t stored = 0; /* exactly_once: skip a replayed flush already applied */
    if (r == ED_WRITE_OK && p->eo &&
        (r = s_pg_eo(p, ED_EO_PG_SELECT " FOR UPDATE", p->eo->pipeline, 0, NULL, &stored, NULL,
                     errstr, errstr_size)) == ED_WRITE_OK &&
        stored >= p->eo->id) {
        *p->eo->skipped = 1;
        return s_pg_run(p, PQexec(p->conn, "ROLLBACK"), "ROLLBACK", errstr, errstr_size);
    }
    size_t chunk = (size_t)p->chunk_rows;
    size_t total = p->recs ? ed_sink_records_count(p->recs) : ed_sink_rows_count(p->rows);
    for (size_t from = 0; r == ED_WRITE_OK && from < total; from += chunk) {
        size_t nrows = total - from < chunk ? total - from : chunk;
        s_pg_params(p, from, nrows);
        PGresult *res = PQexecPrepared(p->conn, "ed_upsert", p->ncols, p->pval, NULL, NULL, 0);
        r = s_pg_run(p, res, "upsert", errstr, errstr_size);
        if (r == ED_WRITE_OK)
            (*statements)++;
    }
    if (r == ED_WRITE_OK && p->eo)
        r = s_pg_eo(p, ED_EO_PG_UPSERT, p->eo->pipeline, p->eo->id, p->eo->positions, NULL, NULL,
                    errstr, errstr_size);
    if (r == ED_WRITE_OK) {
        ed_crash_point("sql_before_commit");
        r = s_pg_run(p, PQexec(p->conn, "COMMIT"), "COMMIT", errstr, errstr_size);
    }
    return r;
}

static ed_write_result_t s_pg_write(void *ctx, const ed_sink_flush_t *flush, ed_sink_stats_t *stats,
                                    char *errstr, size_t errstr_size) {
    static const ed_sink_rows_ops_t ops = {s_pg_connect, s_pg_prepare, s_pg_txn};
    s_pg_t *p = ctx;
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
