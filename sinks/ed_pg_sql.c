/*
 * ed_pg_sql.c — the SQL of the postgres sink (sinks/ed_pg.h): its DDL and
 * upsert statements, the unnest array parameters of a chunk, and running a
 * statement with the outcome classified as OK, RETRY or DROP.
 */
#include "sinks/ed_pg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies a libpq message onto one line: libpq ends messages with a newline
 * and puts hints on indented lines of their own. */
void ed_pg_msg(char *dst, size_t n, const char *msg) {
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

/* Appends a quoted identifier (PQescapeIdentifier needs the connection for
 * its encoding). `suffix` is appended to the name before quoting. */
void ed_pg_ident(ed_pg_t *p, ed_buf_t *b, const char *name, const char *suffix) {
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
void ed_pg_table(ed_pg_t *p, ed_buf_t *b) {
    const char *dot = strchr(p->table, '.');
    if (dot && dot != p->table && dot[1]) {
        char schema[256];
        snprintf(schema, sizeof schema, "%.*s", (int)(dot - p->table), p->table);
        ed_pg_ident(p, b, schema, NULL);
        ed_buf_puts(b, ".");
        ed_pg_ident(p, b, dot + 1, NULL);
    } else {
        ed_pg_ident(p, b, p->table, NULL);
    }
}

static void s_pg_col_ident(ed_pg_t *p, ed_buf_t *b, const ed_sink_col_t *c) {
    ed_pg_ident(p, b, c->name, c->suffix);
}

/* A column reference in ON CONFLICT … DO UPDATE: t."c" (in the table) or
 * EXCLUDED."c" (being inserted). */
static void s_pg_ref(void *ctx, ed_buf_t *b, int incoming, const char *name, const char *suffix) {
    ed_buf_puts(b, incoming ? "EXCLUDED." : "t.");
    ed_pg_ident(ctx, b, name, suffix);
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

const char *ed_pg_elem_type(const ed_pg_t *p, int j) {
    return p->recs ? s_pg_rec_param[p->rcols[j].type] : s_pg_param_type[p->cols[j].sql];
}

void ed_pg_col(ed_pg_t *p, ed_buf_t *b, int j) {
    if (p->recs)
        ed_pg_ident(p, b, p->rcols[j].name, NULL);
    else
        s_pg_col_ident(p, b, &p->cols[j]);
}

/* Records: CREATE TABLE with the declared columns and key; INSERT … and,
 * for an upsert, ON CONFLICT (key) DO UPDATE SET every other column to the
 * incoming value (DO NOTHING when the key is every column). */
static void s_pg_build_rec_sql(ed_pg_t *p, ed_buf_t *ddl) {
    ed_buf_puts(ddl, "CREATE TABLE IF NOT EXISTS ");
    ed_pg_table(p, ddl);
    ed_buf_puts(ddl, " (");
    ed_buf_reset(&p->head);
    ed_buf_puts(&p->head, "INSERT INTO ");
    ed_pg_table(p, &p->head);
    ed_buf_puts(&p->head, " AS t (");
    for (int i = 0; i < p->ncols; i++) {
        const ed_rec_col_t *c = &p->rcols[i];
        ed_buf_puts(ddl, i ? ", " : "");
        ed_buf_puts(&p->head, i ? ", " : "");
        ed_pg_ident(p, ddl, c->name, NULL);
        ed_pg_ident(p, &p->head, c->name, NULL);
        if (c->type == ED_REC_TEXT && c->width)
            ed_buf_printf(ddl, " VARCHAR(%d)", c->width);
        else
            ed_buf_printf(ddl, " %s", s_pg_rec_ddl[c->type]);
        if (c->not_null)
            ed_buf_puts(ddl, " NOT NULL");
    }
    ed_buf_puts(&p->head, ") ");
    ed_buf_reset(&p->tail);
    p->set_at = 0;
    if (p->npk) {
        ed_buf_t keys = ED_BUF_INIT;
        for (int k = 0; k < p->npk; k++) {
            ed_buf_puts(&keys, k ? ", " : "");
            ed_pg_ident(p, &keys, p->rcols[p->rpk[k]].name, NULL);
        }
        ed_buf_printf(ddl, ", PRIMARY KEY (%s)", keys.data);
        if (p->upsert) {
            ed_buf_printf(&p->tail, " ON CONFLICT (%s) DO ", keys.data);
            int n = 0;
            for (int i = 0; i < p->ncols; i++) {
                if (p->rcols[i].pk)
                    continue;
                ed_buf_puts(&p->tail, n++ ? ", " : "UPDATE SET ");
                if (n == 1)
                    p->set_at = p->tail.len;
                ed_pg_ident(p, &p->tail, p->rcols[i].name, NULL);
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

void ed_pg_build_sql(ed_pg_t *p, ed_buf_t *ddl) {
    if (p->recs) {
        s_pg_build_rec_sql(p, ddl);
        return;
    }
    /* DDL */
    ed_buf_puts(ddl, "CREATE TABLE IF NOT EXISTS ");
    ed_pg_table(p, ddl);
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
    ed_pg_table(p, &p->head);
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
    p->set_at = t->len;
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

/* Value of column j of row i: its text into dst (numbers, times) or *part
 * (key bytes, record text); returns how it is written (S_PG_*), its length
 * in *len. */
int ed_pg_cell(ed_pg_t *p, size_t i, int j, char *dst, size_t n, const uint8_t **part,
               size_t *len) {
    *part = NULL;
    if (p->recs) {
        const ed_rec_cell_t *v = &ed_sink_records_row(p->recs, i)[j];
        if (v->null)
            return ED_PG_NULL;
        switch (p->rcols[j].type) {
        case ED_REC_TEXT:
        case ED_REC_JSON:
            *part = (const uint8_t *)v->str;
            *len = v->len;
            return ED_PG_BYTES;
        case ED_REC_BIGINT:
            *len = (size_t)snprintf(dst, n, "%lld", (long long)v->i);
            return ED_PG_BARE;
        case ED_REC_BOOL:
            *len = (size_t)snprintf(dst, n, "%s", v->i ? "t" : "f");
            return ED_PG_BARE;
        case ED_REC_TIME:
            *len = ed_sink_time_text(v->i, dst, n);
            *len += (size_t)snprintf(dst + *len, n - *len, "+00");
            return ED_PG_QUOTED;
        default:
            *len = s_pg_num(dst, n, v->d);
            return ED_PG_BARE;
        }
    }
    const ed_sink_row_t *r = ed_sink_rows_get(p->rows, i);
    const ed_sink_col_t *c = &p->cols[j];
    switch (c->sql) {
    case ED_SINK_SQL_KEY:
        *len = 0;
        ed_key_part(r->key, r->key_len, c->idx, part, len);
        return ED_PG_BYTES;
    case ED_SINK_SQL_BIGINT:
        *len = (size_t)snprintf(dst, n, "%lld", ed_sink_row_int(r, c));
        return ED_PG_BARE;
    case ED_SINK_SQL_TIME:
        /* With its offset: the server's and the session's TimeZone do not
         * matter (timestamptz is a point in time). */
        *len = ed_sink_time_text(ed_sink_row_time(r, c), dst, n);
        *len += (size_t)snprintf(dst + *len, n - *len, "+00");
        return ED_PG_QUOTED;
    default:
        *len = s_pg_num(dst, n, ed_sink_row_num(r, c));
        return ED_PG_BARE;
    }
}

/* The upsert: one row per element of the column arrays $1 … $n.
 * One prepared statement serves every chunk size; measured faster than a
 * multi-row VALUES list with per-value parameters or escaped literals (see
 * docs/sinks.md). */
void ed_pg_sql_upsert(ed_pg_t *p, ed_buf_t *b) {
    ed_buf_append(b, p->head.data, p->head.len);
    ed_buf_puts(b, "SELECT * FROM unnest(");
    for (int j = 0; j < p->ncols; j++)
        ed_buf_printf(b, "%s$%d::%s[]", j ? ", " : "", j + 1, ed_pg_elem_type(p, j));
    ed_buf_puts(b, ")");
    ed_buf_append(b, p->tail.data, p->tail.len);
}

/* Fills p->pval with one array literal per column for rows [from, from+nrows):
 * keys and texts quoted ("…", with \\ before " and \\), times quoted,
 * numbers bare, NULL bare. */
void ed_pg_params(ed_pg_t *p, size_t from, size_t nrows) {
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
            int how = ed_pg_cell(p, i, j, num, sizeof num, &part, &len);
            if (i > from)
                ed_buf_append(&p->pbuf, ",", 1);
            if (how == ED_PG_BYTES) {
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
            } else if (how == ED_PG_QUOTED) {
                ed_buf_printf(&p->pbuf, "\"%.*s\"", (int)len, num); /* holds a space */
            } else if (how == ED_PG_NULL) {
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

/* What to do after a failed statement (`race`: the CREATE TABLE or the
 * COPY path's INSERT of new keys, where a unique violation is a lost race). */
static ed_write_result_t s_pg_classify(ed_pg_t *p, const PGresult *res, int race) {
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
     * the catalog's unique index; next time the table exists. Likewise a
     * key inserted by another writer after the COPY path's UPDATE. */
    if (race && (!strcmp(state, "23505") || !strcmp(state, "42P07")))
        return ED_WRITE_RETRY;
    return ED_WRITE_DROP;
}

/* Runs a statement without results; on failure fills errstr and returns
 * RETRY or DROP, closing a broken connection. */
ed_write_result_t ed_pg_run(ed_pg_t *p, PGresult *res, const char *what, char *errstr,
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
        ed_pg_msg(msg, sizeof msg, one);
    } else {
        ed_pg_msg(msg, sizeof msg, PQerrorMessage(p->conn));
    }
    ed_write_result_t r = s_pg_classify(
        p, res, !strcmp(what, "CREATE TABLE") || !strcmp(what, ED_PG_NEW_KEYS));
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
        ed_pg_close(p);
        p->lost = 1;
    } else {
        PQclear(PQexec(p->conn, "ROLLBACK"));
    }
    if (r == ED_WRITE_RETRY)
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s%s%s; retrying", p->name, p->cp.addr,
                  what, *what ? ": " : "", msg);
    else
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "sink '%s' (%s): %s (table %s) failed for good (SQLSTATE %s): %s; check "
                  "that the table's columns match docs/sinks.md (drop or rename it, or set "
                  "`table:`); the flush is dropped",
                  p->name, p->cp.addr, what, p->table, state ? state : "?", msg);
    return r;
}
