/*
 * ed_http_sql.c — /v1/sql, /a/<table> and /c/<sql>: read-only queries on
 * the sqlite sinks' databases. See ed_http_sql.h.
 */
#include "actors/http/ed_http_sql.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/ed_common.h"
#include "sinks/ed_sqlite_db.h"

/* One sqlite sink: where its database is and what table it writes. */
typedef struct {
    const char *sink;  /* sink name (borrowed from the config) */
    const char *table; /* its table (borrowed) */
    const char *path;  /* its `path` option (borrowed) */
    char uri[1200];
    int db;            /* index of the first sink with the same database: one database */
} s_db_t;

struct ed_http_sql {
    s_db_t *dbs;
    int n;
    int ndistinct; /* distinct databases */
};

ed_http_sql_t *ed_http_sql_new(const ed_config_t *conf) {
    int n = 0;
    for (int i = 0; i < conf->nsinks; i++)
        n += ed_sqlite_is_sink(&conf->sinks[i]);
    if (!n)
        return NULL;
    ed_http_sql_t *s = ed_calloc(1, sizeof *s);
    s->dbs = ed_calloc((size_t)n, sizeof *s->dbs);
    for (int i = 0; i < conf->nsinks; i++) {
        const ed_conf_sink_t *k = &conf->sinks[i];
        if (!ed_sqlite_is_sink(k))
            continue;
        const ed_sqlite_opts_t *o = k->opts;
        s_db_t *d = &s->dbs[s->n];
        d->sink = k->name;
        d->table = o->table ? o->table : "";
        d->path = o->path;
        ed_sqlite_uri(k->name, o->path, d->uri, sizeof d->uri, NULL);
        d->db = s->n;
        for (int j = 0; j < s->n; j++)
            if (!strcmp(s->dbs[j].uri, d->uri)) {
                d->db = j;
                break;
            }
        s->ndistinct += d->db == s->n;
        s->n++;
    }
    return s;
}

void ed_http_sql_destroy(ed_http_sql_t **s_p) {
    if (!s_p || !*s_p)
        return;
    free((*s_p)->dbs);
    free(*s_p);
    *s_p = NULL;
}

/* The database a request reads: `db=SINK` when given; else the sink whose
 * table is `table` (for /a/); else the only database. NULL with a 400/404
 * answered. */
static const s_db_t *s_pick(const ed_http_sql_t *s, const ed_http_req_t *req, const char *table,
                            ed_http_resp_t *resp) {
    const char *want = ed_http_req_arg(req, "db");
    ed_buf_t names = ED_BUF_INIT;
    const s_db_t *hit = NULL;
    for (int i = 0; i < s->n; i++) {
        const s_db_t *d = &s->dbs[i];
        ed_buf_printf(&names, "%s%s", i ? ", " : "", d->sink);
        if (want ? !strcmp(d->sink, want) : table && !strcasecmp(d->table, table))
            hit = hit ? hit : d;
    }
    if (!hit && !want && s->ndistinct == 1)
        hit = &s->dbs[0];
    if (!hit && want)
        ed_http_error(resp, 404, "db=%s: no sqlite sink of that name; the sqlite sinks are: %s",
                      want, names.data);
    else if (!hit)
        ed_http_error(resp, 400,
                      "the sqlite sinks write %d databases (sinks %s): say which with db=SINK",
                      s->ndistinct, names.data);
    ed_buf_free(&names);
    return hit;
}

/* ---- the reader's connection ---- */

/* The authorizer: reading only. */
static int s_auth(void *ud, int action, const char *a, const char *b, const char *c,
                  const char *d) {
    (void)ud;
    (void)b;
    (void)c;
    (void)d;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_FUNCTION: /* a: NULL, b: the function's name */
        return b && !strcasecmp(b, "load_extension") ? SQLITE_DENY : SQLITE_OK;
    default:
        (void)a;
        return SQLITE_DENY;
    }
}

static int s_progress(void *ud) {
    return ed_now_ms() > *(const int64_t *)ud; /* non-zero: interrupt */
}

/* Opens d read-only with the guards; NULL with an answer (503) when it
 * cannot be opened. */
static sqlite3 *s_open(const s_db_t *d, int64_t *deadline, ed_http_resp_t *resp) {
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(d->uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
                                              SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        ed_http_error(resp, 503,
                      "cannot open the database of sqlite sink '%s' (%s): %s; the sink creates it "
                      "at its first write",
                      d->sink, d->path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 1000);
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, (int)ED_HTTP_SQL_MAX_BYTES);
    sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, ED_HTTP_SQL_MAX_QUERY);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    ed_sqlite_functions(db);
    sqlite3_set_authorizer(db, s_auth, NULL);
    sqlite3_progress_handler(db, 1000, s_progress, deadline);
    return db;
}

/* ---- rows as JSON ---- */

static void s_value(ed_buf_t *b, sqlite3_stmt *st, int i) {
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        ed_buf_printf(b, "%lld", (long long)sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT:
        ed_buf_json_num(b, sqlite3_column_double(st, i));
        break;
    case SQLITE_TEXT: {
        const char *t = (const char *)sqlite3_column_text(st, i);
        ed_buf_json_str(b, t, (size_t)sqlite3_column_bytes(st, i));
        break;
    }
    case SQLITE_BLOB: { /* as hex text */
        const unsigned char *p = sqlite3_column_blob(st, i);
        int n = sqlite3_column_bytes(st, i);
        ed_buf_puts(b, "\"");
        for (int k = 0; k < n; k++)
            ed_buf_printf(b, "%02x", p[k]);
        ed_buf_puts(b, "\"");
        break;
    }
    default:
        ed_buf_puts(b, "null");
    }
}

/* Runs `sql` on d and writes the answer: `objects` (for /a and /c): an
 * array of one object per row; else /v1/sql's object. */
static void s_run(const s_db_t *d, const char *sql, long limit, int objects,
                  ed_http_resp_t *resp) {
    if (strlen(sql) > ED_HTTP_SQL_MAX_QUERY)
        return ed_http_error(resp, 400, "query longer than %d bytes", ED_HTTP_SQL_MAX_QUERY);
    int64_t t0 = ed_now_ms(), deadline = t0 + ED_HTTP_SQL_TIMEOUT_MS;
    sqlite3 *db = s_open(d, &deadline, resp);
    if (!db)
        return;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
    if (rc != SQLITE_OK || !st) {
        if (rc == SQLITE_OK)
            ed_http_error(resp, 400, "empty query; expected one SELECT statement");
        else if (rc == SQLITE_AUTH)
            ed_http_error(resp, 400, "%s: only reading is allowed (one SELECT; no writes, PRAGMA, "
                                     "ATTACH or transactions)",
                          sqlite3_errmsg(db));
        else
            ed_http_error(resp, 400, "%s", sqlite3_errmsg(db));
        sqlite3_close_v2(db);
        return;
    }
    while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' ||
                    *tail == ';'))
        tail++;
    if ((tail && *tail) || !sqlite3_stmt_readonly(st)) {
        ed_http_error(resp, 400, tail && *tail ? "one statement only; found more after it"
                                               : "only a read-only statement is allowed");
        sqlite3_finalize(st);
        sqlite3_close_v2(db);
        return;
    }
    int ncol = sqlite3_column_count(st);
    ed_buf_t *b = &resp->body;
    if (!objects) {
        ed_buf_puts(b, "{\"db\":");
        ed_buf_json_str(b, d->sink, strlen(d->sink));
        ed_buf_puts(b, ",\"columns\":[");
        for (int i = 0; i < ncol; i++) {
            const char *c = sqlite3_column_name(st, i);
            ed_buf_puts(b, i ? "," : "");
            ed_buf_json_str(b, c ? c : "", c ? strlen(c) : 0);
        }
        ed_buf_puts(b, "],\"rows\":[");
    } else {
        ed_buf_puts(b, "[");
    }
    long nrows = 0;
    int truncated = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (nrows >= limit || b->len >= ED_HTTP_SQL_MAX_BYTES) {
            truncated = 1;
            break;
        }
        ed_buf_puts(b, nrows++ ? ",\n" : "\n");
        ed_buf_puts(b, objects ? "{" : "[");
        for (int i = 0; i < ncol; i++) {
            ed_buf_puts(b, i ? "," : "");
            if (objects) {
                const char *c = sqlite3_column_name(st, i);
                ed_buf_json_str(b, c ? c : "", c ? strlen(c) : 0);
                ed_buf_puts(b, ":");
            }
            s_value(b, st, i);
        }
        ed_buf_puts(b, objects ? "}" : "]");
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        if (rc == SQLITE_INTERRUPT)
            ed_http_error(resp, 400, "query interrupted: it ran longer than the limit of %d ms",
                          ED_HTTP_SQL_TIMEOUT_MS);
        else
            ed_http_error(resp, 400, "%s", sqlite3_errmsg(db));
    } else if (objects) {
        ed_buf_puts(b, "\n]\n");
        resp->content_type = "application/json";
    } else {
        ed_buf_printf(b, "\n],\"row_count\":%ld,\"truncated\":%s,\"elapsed_ms\":%lld}\n", nrows,
                      truncated ? "true" : "false", (long long)(ed_now_ms() - t0));
        resp->content_type = "application/json";
    }
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
}

/* `limit=N` (1 … ED_HTTP_SQL_MAX_ROWS), else the maximum; -1 after a 400. */
static long s_limit(const ed_http_req_t *req, ed_http_resp_t *resp) {
    const char *l = ed_http_req_arg(req, "limit");
    if (!l)
        return ED_HTTP_SQL_MAX_ROWS;
    char *end = NULL;
    long v = strtol(l, &end, 10);
    if (!*l || *end || v < 1 || v > ED_HTTP_SQL_MAX_ROWS) {
        ed_http_error(resp, 400, "limit=%.40s: expected a number of rows from 1 to %d", l,
                      ED_HTTP_SQL_MAX_ROWS);
        return -1;
    }
    return v;
}

static void s_sql(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    const char *q = ed_http_req_arg(req, "q");
    if (!q || !*q)
        return ed_http_error(resp, 400, "expected ?q=SELECT … (the query, URL-encoded), "
                                        "optionally &db=SINK and &limit=N");
    long limit = s_limit(req, resp);
    const s_db_t *d = limit > 0 ? s_pick(ud, req, NULL, resp) : NULL;
    if (d)
        s_run(d, q, limit, 0, resp);
}

static void s_table(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    const char *t = ed_http_req_rest(req);
    if (!*t || strchr(t, '/'))
        return ed_http_error(resp, 400, "expected /a/<table>: a table name");
    const s_db_t *d = s_pick(ud, req, t, resp);
    if (!d)
        return;
    ed_buf_t q = ED_BUF_INIT;
    ed_buf_puts(&q, "SELECT * FROM ");
    ed_sqlite_ident(&q, t, NULL);
    s_run(d, q.data, ED_HTTP_SQL_MAX_ROWS, 1, resp);
    ed_buf_free(&q);
}

static void s_custom(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    const char *q = ed_http_req_rest(req);
    if (!*q)
        return ed_http_error(resp, 400, "expected /c/<query>: a SELECT, URL-encoded");
    const s_db_t *d = s_pick(ud, req, NULL, resp);
    if (d)
        s_run(d, q, ED_HTTP_SQL_MAX_ROWS, 1, resp);
}

int ed_http_sql_routes(ed_http_t *h, ed_http_sql_t *s) {
    if (ed_http_route(h, "/v1/sql", s_sql, s) < 0 || ed_http_route(h, "/a/", s_table, s) < 0 ||
        ed_http_route(h, "/c/", s_custom, s) < 0)
        return ED_EINVAL;
    return 0;
}
