/*
 * ed_sink_mariadb.c — changelog rows → multi-row upserts into MariaDB/MySQL
 * (MariaDB Connector/C); or, with `columns:`, records → rows upserted or
 * inserted (sinks/ed_sink_records.h). See docs/sinks.md for the DDL, the
 * statements and the guarantees.
 *
 * One flush is one InnoDB transaction (autocommit off): INSERT … ON DUPLICATE
 * KEY UPDATE in chunks of `batch_rows` rows, then COMMIT. Key columns are
 * VARBINARY(255): keys compare byte for byte, so no collation ever merges two
 * distinct input keys ("The"/"the", "a"/"a ").
 */
#include "sinks/ed_sink.h"

#include <ctype.h>
#include <errmsg.h>
#include <math.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/ed_eo.h"
#include "runtime/ed_buf.h"
#include "sinks/ed_mariadb_conn.h"
#include "sinks/ed_mariadb_url.h"
#include "sinks/ed_sink_eo.h"
#include "sinks/ed_sink_records.h"
#include "sinks/ed_sink_rows.h"

#define S_MY_MAX_KEY_PART 255 /* VARBINARY(255) */
#define S_MY_TIME_TEXT 32     /* bytes per time's text (ed_sink_time_text) */
#define S_MY_PK_TEXT 255      /* records: a text key column is VARCHAR(255) unless declared */

typedef struct s_my_opts s_my_opts_t; /* the options, below */

typedef struct {
    const ed_conf_sink_t *sink;
    const ed_conf_aggregation_t *agg;
    const char *name;  /* sink name, for logs */
    const char *table; /* unquoted table name (the `table` option or the aggregation's) */
    const s_my_opts_t *o; /* the sink's options */
    char addr[300];    /* "mariadb host:port/db" for errors */
    MYSQL *my;
    MYSQL_STMT *stmt; /* the prepared one-row upsert, executed with array binding */
    int connected_once;
    int lost;  /* the last connection failed or was lost: the next connect is a reconnect */
    int ready; /* DDL done and statements built for this connection */
    const ed_sink_col_t *cols; /* borrowed from rows */
    int ncols;
    int npk; /* leading columns of cols in the primary key */
    int chunk_rows;
    ed_buf_t head; /* "INSERT INTO … VALUES " */
    ed_buf_t tail; /* " ON DUPLICATE KEY UPDATE …" */
    /* column-wise parameter arrays of chunk_rows entries each */
    MYSQL_BIND *bind;
    void **arr;
    unsigned long **lens;
    char **ind;
    char *ttext; /* times as text: (2 window bounds, or ncols) × chunk_rows × S_MY_TIME_TEXT */
    ed_sink_rows_t *rows; /* changelog: the current flush's rows, merged and sorted */
    ed_sink_records_t *recs;   /* records (`columns:`), instead of rows */
    const ed_rec_col_t *rcols; /* records: the columns (ncols of them), borrowed from recs */
    const int *rpk;            /* records: the primary key's column indexes (npk of them) */
    int upsert;                /* records: ON DUPLICATE KEY UPDATE; 0: plain INSERT */
    const ed_sink_eo_t *eo;    /* exactly_once of the flush being written, or NULL */
} s_my_t;

/* ---- options (the config map; see config/ed_conf_map.h) ---- */

struct s_my_opts {
    char *url;      /* mysql://user[:password]@host[:port]/database, instead of the parts */
    char *host;     /* default 127.0.0.1 */
    int port;       /* default 3306 */
    char *user;     /* default root */
    char *password; /* default "" */
    char *database; /* required (from the parts or the URL) */
    char *table;    /* the table upserted; the link defaults it to the aggregation's name */
    ed_my_tls_opts_t tls;   /* ssl, ssl_ca, ssl_cert, ssl_key, ssl_verify_server_cert */
    ed_sink_rec_opts_t rec; /* records: mode, primary_key, columns */
};

static const ed_conf_map_t s_my_map[] = {
    {ED_CONF_STR, "host", "127.0.0.1", offsetof(s_my_opts_t, host), 0, "server host name or address",
     .expect = "a host name or address"},
    {ED_CONF_INT, "port", "3306", offsetof(s_my_opts_t, port), 0, "server port", .min = 1,
     .max = 65535},
    {ED_CONF_STR, "user", "root", offsetof(s_my_opts_t, user), 0, "user name",
     .expect = "a user name"},
    {ED_CONF_STR, "password", "", offsetof(s_my_opts_t, password),
     ED_CONF_SECRET | ED_CONF_EMPTY_OK, "password (may be empty)", .expect = "a password",
     .doc_def = "empty"},
    {ED_CONF_STR, "database", NULL, offsetof(s_my_opts_t, database), 0,
     "the database, **required** (here or in `url`)", .expect = "a database name"},
    {ED_CONF_STR, "url", NULL, offsetof(s_my_opts_t, url), ED_CONF_SECRET,
     "all of the above in one: `mysql://user[:password]@host[:port]/database` (or "
     "`mariadb://…`), not combined with them; `%XX` escapes are decoded in the user, password "
     "and database, the password may contain `/` and `@`, an IPv6 host is written `[::1]`, "
     "options (`?…`) are not supported; error messages never repeat the URL",
     .expect = "mysql://user:password@host:port/database"},
    ED_MARIADB_TLS_ROWS(s_my_opts_t, tls),
    {ED_CONF_STR, "table", NULL, offsetof(s_my_opts_t, table), ED_CONF_OUTER,
     "the table upserted: a SQL identifier, optionally `database.table`",
     .expect = "a table name", .doc_def = "the aggregation's name"},
    ED_SINK_RECORD_ROWS(s_my_opts_t, rec),
    {0}};

static int s_my_validate(ed_conf_check_t *ck, void *opts) {
    static const char *const parts[] = {"host", "port", "user", "password", "database", NULL};
    s_my_opts_t *o = opts;
    const char *w = ed_conf_check_where(ck, "url");
    ed_sink_check_table(ck, o->table);
    ed_sink_rec_validate(ck, &o->rec, o->table, S_MY_PK_TEXT);
    ed_mariadb_tls_validate(ck, &o->tls);
    if (!ed_conf_check_given(ck, "url")) {
        if (!o->database && ed_conf_check_ok(ck, "database"))
            return ed_conf_check_err(ck, "database",
                                     "missing required key 'database' in %s; expected database: "
                                     "<a database name> (or url: "
                                     "mysql://user:password@host:port/database)",
                                     w);
        return 0;
    }
    int rc = 0;
    for (int i = 0; parts[i]; i++)
        if (ed_conf_check_given(ck, parts[i]))
            rc = ed_conf_check_errk(ck, parts[i],
                                    "'%s' cannot be combined with 'url' in %s; expected either "
                                    "url: mysql://user:password@host:port/database or host, port, "
                                    "user, password and database",
                                    parts[i], w);
    const char *why = o->url ? ed_mariadb_url_parse(o->url, &o->user, &o->password, &o->host,
                                                    &o->port, &o->database)
                             : NULL;
    if (why)
        rc = ed_conf_check_err(ck, "url",
                               "invalid 'url' in %s: %s; expected "
                               "mysql://user[:password]@host[:port]/database",
                               w, why);
    return rc;
}

static int s_my_link(ed_conf_check_t *ck, void *opts, const ed_conf_aggregation_t *agg) {
    s_my_opts_t *o = opts;
    if (ed_sink_rec_link(ck, &o->rec) < 0)
        return ED_EINVAL;
    return ed_sink_link_table(ck, &o->table, agg);
}

static int s_my_link_records(ed_conf_check_t *ck, void *opts) {
    return ed_sink_rec_link_records(ck, &((s_my_opts_t *)opts)->rec);
}

static pthread_once_t s_lib_once = PTHREAD_ONCE_INIT;
/* mysql_library_init is not thread-safe; mysql_init would call it lazily
 * from whichever worker connects first. */
static void s_lib_init(void) {
    mysql_library_init(0, NULL, NULL);
}

static const char *s_my_part_check(const uint8_t *part, size_t len) {
    (void)part;
    if (len > S_MY_MAX_KEY_PART)
        return "key part longer than 255 bytes (key columns are VARBINARY(255))";
    return NULL;
}

static void s_my_destroy(void **ctx_p);

/* What both modes set up: name, options, address, chunk size. */
static s_my_t *s_my_new(const ed_sink_ctx_t *sc, const char *table) {
    const s_my_opts_t *o = sc->sink->opts;
    pthread_once(&s_lib_once, s_lib_init);
    s_my_t *p = ed_calloc(1, sizeof *p);
    p->sink = sc->sink;
    p->agg = sc->agg;
    p->name = sc->sink->name;
    p->o = o;
    p->table = table;
    snprintf(p->addr, sizeof p->addr, "mariadb %s:%d/%s",
             o->host && *o->host ? o->host : "localhost", o->port > 0 ? o->port : 3306,
             o->database);
    p->chunk_rows = sc->sink->batch_rows > 0 ? sc->sink->batch_rows : 1000;
    return p;
}

static int s_my_init_records(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr,
                             size_t errstr_size) {
    const s_my_opts_t *o = sc->sink->opts;
    s_my_t *p = s_my_new(sc, o->table ? o->table : "");
    if (ed_sink_rec_open(sc->conf, p->name, p->table, &o->rec, S_MY_PK_TEXT, &p->recs, &p->rcols,
                         &p->ncols, &p->rpk, &p->npk, &p->upsert, errstr, errstr_size)) {
        void *pp = p;
        s_my_destroy(&pp);
        return ED_EINVAL;
    }
    *ctx_p = p;
    return 0;
}

static int s_my_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    const ed_conf_sink_t *sink = sc->sink;
    const ed_conf_aggregation_t *agg = sc->agg;
    const s_my_opts_t *o = sink->opts;
    int records = o && ed_sink_rec_on(&o->rec);
    /* MariaDB column names compare case-insensitively. */
    int rc = ed_sink_sql_init_check(sc, "mariadb", records, 1, '`', errstr, errstr_size);
    if (rc < 0)
        return rc;
    if (!o || !o->database || !*o->database)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': mariadb.database is required",
                         sink->name);
    if ((rc = ed_mariadb_tls_check_files(&o->tls, sink->name, errstr, errstr_size)) < 0)
        return rc;
    if (records)
        return s_my_init_records(ctx_p, sc, errstr, errstr_size);
    /* InnoDB's 3072-byte key: 12 × 255 bytes, or 11 beside the two
     * DATETIME(3) window bounds. */
    int max_keys = ed_sink_windowed(agg) ? 11 : 12;
    if (agg->nkey > max_keys)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': aggregation '%s' has %d key columns; a MariaDB primary key "
                         "holds at most %d VARBINARY(255) columns (3072 bytes)%s",
                         sink->name, agg->name, agg->nkey, max_keys,
                         max_keys < 12 ? " beside the window bounds" : "");
    s_my_t *p = s_my_new(sc, o->table && *o->table ? o->table : agg->name);
    p->rows = ed_sink_rows_new(&(ed_sink_rows_conf_t){.agg = agg,
                                                      .sink = p->name,
                                                      .type = "mariadb",
                                                      .table = p->table,
                                                      .check = s_my_part_check});
    p->cols = ed_sink_rows_cols(p->rows, &p->ncols);
    p->npk = ed_sink_rows_npk(p->rows);
    *ctx_p = p;
    return 0;
}

static void s_my_close(s_my_t *p) {
    if (p->stmt)
        mysql_stmt_close(p->stmt);
    p->stmt = NULL;
    if (p->my)
        mysql_close(p->my);
    p->my = NULL;
    p->ready = 0;
}

static void s_my_destroy(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    s_my_t *p = *ctx_p;
    s_my_close(p);
    ed_buf_free(&p->head);
    ed_buf_free(&p->tail);
    if (p->arr)
        for (int i = 0; i < p->ncols; i++) {
            free(p->arr[i]);
            free(p->lens[i]);
            free(p->ind[i]);
        }
    free(p->arr);
    free(p->lens);
    free(p->ind);
    free(p->ttext);
    free(p->bind);
    ed_sink_rows_destroy(&p->rows);
    ed_sink_records_destroy(&p->recs);
    free(p);
    *ctx_p = NULL;
}

static ed_write_result_t s_my_connect(void *ctx, ed_sink_stats_t *stats, char *errstr,
                                      size_t errstr_size) {
    s_my_t *p = ctx;
    if (p->my)
        return ED_WRITE_OK;
    p->my = mysql_init(NULL);
    if (!p->my)
        return ed_seterr(errstr, errstr_size, ED_ENOMEM, "sink '%s' (%s): mysql_init failed",
                         p->name, p->addr),
               ED_WRITE_RETRY;
    const s_my_opts_t *o = p->o;
    ed_mariadb_conn_options(p->my, &o->tls);
    if (!mysql_real_connect(p->my, o->host && *o->host ? o->host : NULL,
                            o->user && *o->user ? o->user : "root",
                            o->password ? o->password : "", o->database,
                            o->port > 0 ? (unsigned)o->port : 3306, NULL, 0) ||
        mysql_autocommit(p->my, 0)) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s (error %u%s); retrying",
                  p->name, p->addr, mysql_error(p->my), mysql_errno(p->my),
                  ed_mariadb_hint(mysql_errno(p->my)));
        s_my_close(p);
        p->lost = 1;
        return ED_WRITE_RETRY;
    }
    const char *tls = mysql_get_ssl_cipher(p->my);
    if (p->connected_once && p->lost) {
        stats->reconnects++;
        ED_LOG_I(p->name, "reconnected to %s (table %s%s%s)", p->addr, p->table,
                 tls ? ", TLS " : "", tls ? tls : "");
    } else if (!p->connected_once) {
        ED_LOG_I(p->name, "connected to %s (table %s%s%s)", p->addr, p->table,
                 tls ? ", TLS " : "", tls ? tls : "");
    }
    p->connected_once = 1;
    p->lost = 0;
    return ED_WRITE_OK;
}

/* Appends `name` + `suffix` as a backquoted identifier. */
static void s_my_ident(ed_buf_t *b, const char *name, const char *suffix) {
    ed_buf_append(b, "`", 1);
    for (int k = 0; k < 2; k++)
        for (const char *c = k ? (suffix ? suffix : "") : name; *c; c++) {
            if (*c == '`')
                ed_buf_append(b, "`", 1);
            ed_buf_append(b, c, 1);
        }
    ed_buf_append(b, "`", 1);
}

/* "db.table" names a table in another database; anything else is one name. */
static void s_my_table(const s_my_t *p, ed_buf_t *b) {
    const char *dot = strchr(p->table, '.');
    if (dot && dot != p->table && dot[1]) {
        char db[256];
        snprintf(db, sizeof db, "%.*s", (int)(dot - p->table), p->table);
        s_my_ident(b, db, NULL);
        ed_buf_puts(b, ".");
        s_my_ident(b, dot + 1, NULL);
    } else {
        s_my_ident(b, p->table, NULL);
    }
}

/* A column reference in ON DUPLICATE KEY UPDATE: `c` (in the table) or
 * VALUES(`c`) (being inserted). */
static void s_my_ref(void *ctx, ed_buf_t *b, int incoming, const char *name, const char *suffix) {
    if (incoming)
        ed_buf_puts(b, "VALUES(");
    s_my_ident(b, name, suffix);
    if (incoming)
        ed_buf_puts(b, ")");
}

static void s_my_col_ident(ed_buf_t *b, const ed_sink_col_t *c) {
    s_my_ident(b, c->name, c->suffix);
}

/* Column types in the DDL, by ed_sink_sql_t. */
static const char *const s_my_ddl_type[] = {
    [ED_SINK_SQL_KEY] = " VARBINARY(255) NOT NULL, ",
    [ED_SINK_SQL_BIGINT] = " BIGINT NOT NULL DEFAULT 0, ",
    [ED_SINK_SQL_DOUBLE_SUM] = " DOUBLE NOT NULL DEFAULT 0, ",
    [ED_SINK_SQL_DOUBLE] = " DOUBLE, ",
    [ED_SINK_SQL_TIME] = " DATETIME(3) NOT NULL, ",
};

/* Parameter buffer types, by ed_sink_sql_t. */
static const enum enum_field_types s_my_param_type[] = {
    [ED_SINK_SQL_KEY] = MYSQL_TYPE_BLOB,
    [ED_SINK_SQL_BIGINT] = MYSQL_TYPE_LONGLONG,
    [ED_SINK_SQL_DOUBLE_SUM] = MYSQL_TYPE_DOUBLE,
    [ED_SINK_SQL_DOUBLE] = MYSQL_TYPE_DOUBLE,
    [ED_SINK_SQL_TIME] = MYSQL_TYPE_STRING, /* "YYYY-MM-DD HH:MM:SS.mmm", UTC */
};

/* Column types of a records table, by ed_rec_type_t (text and varchar(N)
 * aside: byte-exact utf8mb4). */
static const char *const s_my_rec_ddl[] = {
    [ED_REC_BIGINT] = "BIGINT", [ED_REC_DOUBLE] = "DOUBLE", [ED_REC_BOOL] = "BOOLEAN",
    [ED_REC_TIME] = "DATETIME(3)", [ED_REC_JSON] = "JSON",
};

/* Records: CREATE TABLE with the declared columns and key; INSERT … and,
 * for an upsert, ON DUPLICATE KEY UPDATE every other column to the incoming
 * value (the key itself when the key is every column). */
static void s_my_build_rec_sql(s_my_t *p, ed_buf_t *ddl) {
    ed_buf_puts(ddl, "CREATE TABLE IF NOT EXISTS ");
    s_my_table(p, ddl);
    ed_buf_puts(ddl, " (");
    ed_buf_reset(&p->head);
    ed_buf_puts(&p->head, "INSERT INTO ");
    s_my_table(p, &p->head);
    ed_buf_puts(&p->head, " (");
    for (int i = 0; i < p->ncols; i++) {
        const ed_rec_col_t *c = &p->rcols[i];
        ed_buf_puts(ddl, i ? ", " : "");
        ed_buf_puts(&p->head, i ? ", " : "");
        s_my_ident(ddl, c->name, NULL);
        s_my_ident(&p->head, c->name, NULL);
        /* Text compares byte for byte, as changelog keys do: no collation
         * merges two distinct keys ("Ann"/"ann"). */
        if (c->type == ED_REC_TEXT && c->width)
            ed_buf_printf(ddl, " VARCHAR(%d) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", c->width);
        else if (c->type == ED_REC_TEXT)
            ed_buf_puts(ddl, " LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        else
            ed_buf_printf(ddl, " %s", s_my_rec_ddl[c->type]);
        if (c->not_null)
            ed_buf_puts(ddl, " NOT NULL");
    }
    ed_buf_puts(&p->head, ") VALUES ");
    ed_buf_reset(&p->tail);
    if (p->npk) {
        ed_buf_puts(ddl, ", PRIMARY KEY (");
        for (int k = 0; k < p->npk; k++) {
            ed_buf_puts(ddl, k ? ", " : "");
            s_my_ident(ddl, p->rcols[p->rpk[k]].name, NULL);
        }
        ed_buf_puts(ddl, ")");
        if (p->upsert) {
            int n = 0;
            ed_buf_puts(&p->tail, " ON DUPLICATE KEY UPDATE ");
            for (int i = 0; i < p->ncols; i++) {
                if (p->rcols[i].pk)
                    continue;
                ed_buf_puts(&p->tail, n++ ? ", " : "");
                s_my_ident(&p->tail, p->rcols[i].name, NULL);
                ed_buf_puts(&p->tail, " = ");
                s_my_ref(NULL, &p->tail, 1, p->rcols[i].name, NULL);
            }
            if (!n) { /* nothing to update: a no-op assignment keeps the row */
                s_my_ident(&p->tail, p->rcols[p->rpk[0]].name, NULL);
                ed_buf_puts(&p->tail, " = ");
                s_my_ident(&p->tail, p->rcols[p->rpk[0]].name, NULL);
            }
        }
    }
    ed_buf_puts(ddl, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
}

static void s_my_build_sql(s_my_t *p, ed_buf_t *ddl) {
    if (p->recs) {
        s_my_build_rec_sql(p, ddl);
        return;
    }
    ed_buf_puts(ddl, "CREATE TABLE IF NOT EXISTS ");
    s_my_table(p, ddl);
    ed_buf_puts(ddl, " (");
    for (int i = 0; i < p->ncols; i++) {
        s_my_col_ident(ddl, &p->cols[i]);
        ed_buf_puts(ddl, s_my_ddl_type[p->cols[i].sql]);
    }
    ed_buf_puts(ddl, "`updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
                     "PRIMARY KEY (");
    for (int i = 0; i < p->npk; i++) {
        if (i)
            ed_buf_puts(ddl, ", ");
        s_my_col_ident(ddl, &p->cols[i]);
    }
    ed_buf_puts(ddl, ")) ENGINE=InnoDB");

    ed_buf_reset(&p->head);
    ed_buf_puts(&p->head, "INSERT INTO ");
    s_my_table(p, &p->head);
    ed_buf_puts(&p->head, " (");
    for (int i = 0; i < p->ncols; i++) {
        if (i)
            ed_buf_puts(&p->head, ", ");
        s_my_col_ident(&p->head, &p->cols[i]);
    }
    ed_buf_puts(&p->head, ") VALUES ");

    /* ON DUPLICATE KEY UPDATE assigns left to right and later expressions see
     * the new values of earlier columns: the columns go in the functions'
     * order, whose expressions read only their own column and later ones
     * (still old), as in PostgreSQL (see ed_aggfn_col_t). */
    ed_buf_t *t = &p->tail;
    ed_buf_reset(t);
    ed_buf_puts(t, " ON DUPLICATE KEY UPDATE ");
    for (int i = p->npk; i < p->ncols; i++) {
        s_my_col_ident(t, &p->cols[i]);
        ed_buf_puts(t, " = ");
        ed_sink_col_merge(&p->cols[i], 1, s_my_ref, NULL, t);
        ed_buf_puts(t, ", ");
    }
    ed_buf_puts(t, "`updated_at` = CURRENT_TIMESTAMP(6)");
}

/* Fails the flush: rolls back, or closes a broken connection. */
static ed_write_result_t s_my_fail(s_my_t *p, unsigned int err, const char *msg, const char *what,
                                   char *errstr, size_t errstr_size) {
    int retry = ed_mariadb_retryable(err);
    if (err == ER_NO_SUCH_TABLE)
        p->ready = 0;
    if (err >= CR_MIN_ERROR && err <= CR_MAX_ERROR) {
        s_my_close(p);
        p->lost = 1;
    } else if (p->my) {
        mysql_rollback(p->my);
    }
    if (retry)
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s: %s (error %u); retrying",
                  p->name, p->addr, what, msg, err);
    else
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "sink '%s' (%s): %s (table %s) failed for good: %s (error %u); check that "
                  "the table's columns match docs/sinks.md (drop or rename it, or set `table:`); "
                  "the flush is dropped",
                  p->name, p->addr, what, p->table, msg, err);
    return retry ? ED_WRITE_RETRY : ED_WRITE_DROP;
}

static ed_write_result_t s_my_query(s_my_t *p, const char *sql, size_t len, const char *what,
                                    char *errstr, size_t errstr_size) {
    if (!mysql_real_query(p->my, sql, (unsigned long)len))
        return ED_WRITE_OK;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", mysql_error(p->my));
    return s_my_fail(p, mysql_errno(p->my), msg, what, errstr, errstr_size);
}

static ed_write_result_t s_my_stmt_fail(s_my_t *p, const char *what, char *errstr,
                                        size_t errstr_size) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", mysql_stmt_error(p->stmt));
    unsigned int err = mysql_stmt_errno(p->stmt);
    mysql_stmt_close(p->stmt);
    p->stmt = NULL;
    return s_my_fail(p, err, msg, what, errstr, errstr_size);
}

/* Prepares the one-row upsert once per connection. Each chunk executes it
 * with column-wise array binding (STMT_ATTR_ARRAY_SIZE): one round trip per
 * chunk, no escaping, keys sent as binary. Measured faster than multi-row
 * INSERT text with mysql_real_escape_string (see docs/sinks.md). */
static ed_write_result_t s_my_prepare_stmt(s_my_t *p, char *errstr, size_t errstr_size) {
    if (p->stmt)
        return ED_WRITE_OK;
    ed_buf_t sql = ED_BUF_INIT;
    ed_buf_append(&sql, p->head.data, p->head.len);
    ed_buf_puts(&sql, "(");
    for (int j = 0; j < p->ncols; j++)
        ed_buf_puts(&sql, j ? ",?" : "?");
    ed_buf_puts(&sql, ")");
    ed_buf_append(&sql, p->tail.data, p->tail.len);
    p->stmt = mysql_stmt_init(p->my);
    int failed = !p->stmt || mysql_stmt_prepare(p->stmt, sql.data, (unsigned long)sql.len);
    ed_buf_free(&sql);
    if (failed && !p->stmt) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mysql_error(p->my));
        return s_my_fail(p, mysql_errno(p->my), msg, "prepare upsert", errstr, errstr_size);
    }
    if (failed)
        return s_my_stmt_fail(p, "prepare upsert", errstr, errstr_size);
    if (!p->arr) {
        size_t n = (size_t)p->chunk_rows;
        p->bind = ed_calloc((size_t)p->ncols, sizeof *p->bind);
        p->arr = ed_calloc((size_t)p->ncols, sizeof *p->arr);
        p->lens = ed_calloc((size_t)p->ncols, sizeof *p->lens);
        p->ind = ed_calloc((size_t)p->ncols, sizeof *p->ind);
        for (int j = 0; j < p->ncols; j++) {
            p->arr[j] = ed_calloc(n, 8); /* char * / double / long long */
            p->lens[j] = ed_calloc(n, sizeof **p->lens);
            p->ind[j] = ed_calloc(n, 1);
        }
        p->ttext = ed_calloc((p->recs ? (size_t)p->ncols : 2) * n, S_MY_TIME_TEXT);
    }
    return ED_WRITE_OK;
}

/* Binds column j of records rows [from, from + nrows). */
static void s_my_bind_rec(s_my_t *p, int j, size_t from, size_t nrows) {
    const ed_rec_col_t *c = &p->rcols[j];
    MYSQL_BIND *bd = &p->bind[j];
    memset(bd, 0, sizeof *bd);
    bd->buffer = p->arr[j];
    bd->u.indicator = p->ind[j];
    bd->length = p->lens[j];
    bd->buffer_type = c->type == ED_REC_BIGINT || c->type == ED_REC_BOOL ? MYSQL_TYPE_LONGLONG
                      : c->type == ED_REC_DOUBLE                         ? MYSQL_TYPE_DOUBLE
                                                                         : MYSQL_TYPE_STRING;
    for (size_t i = 0; i < nrows; i++) {
        const ed_rec_cell_t *v = &ed_sink_records_row(p->recs, from + i)[j];
        p->ind[j][i] = v->null ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
        if (v->null)
            continue;
        if (c->type == ED_REC_TEXT || c->type == ED_REC_JSON) {
            ((const char **)p->arr[j])[i] = v->str;
            p->lens[j][i] = (unsigned long)v->len;
        } else if (c->type == ED_REC_TIME) {
            /* UTC text: the session's time_zone is +00:00 (s_my_connect). */
            char *t = p->ttext + ((size_t)j * (size_t)p->chunk_rows + i) * S_MY_TIME_TEXT;
            p->lens[j][i] = (unsigned long)ed_sink_time_text(v->i, t, S_MY_TIME_TEXT);
            ((const char **)p->arr[j])[i] = t;
        } else if (c->type == ED_REC_DOUBLE) {
            ((double *)p->arr[j])[i] = v->d;
        } else {
            ((long long *)p->arr[j])[i] = (long long)v->i;
        }
    }
}

static ed_write_result_t s_my_exec_chunk(s_my_t *p, size_t from, size_t nrows, char *errstr,
                                         size_t errstr_size) {
    for (int j = 0; j < p->ncols && p->recs; j++)
        s_my_bind_rec(p, j, from, nrows);
    for (int j = 0; j < p->ncols && !p->recs; j++) {
        const ed_sink_col_t *c = &p->cols[j];
        MYSQL_BIND *bd = &p->bind[j];
        memset(bd, 0, sizeof *bd);
        bd->buffer = p->arr[j];
        bd->u.indicator = p->ind[j];
        bd->buffer_type = s_my_param_type[c->sql];
        if (c->sql == ED_SINK_SQL_KEY || c->sql == ED_SINK_SQL_TIME)
            bd->length = p->lens[j];
        for (size_t i = 0; i < nrows; i++) {
            const ed_sink_row_t *r = ed_sink_rows_get(p->rows, from + i);
            p->ind[j][i] = STMT_INDICATOR_NONE;
            if (c->sql == ED_SINK_SQL_KEY) {
                const uint8_t *part = NULL;
                size_t len = 0;
                ed_key_part(r->key, r->key_len, c->idx, &part, &len);
                ((const char **)p->arr[j])[i] = (const char *)part;
                p->lens[j][i] = (unsigned long)len;
            } else if (c->sql == ED_SINK_SQL_TIME) {
                /* As text, which the server reads as DATETIME without any
                 * time zone conversion. */
                char *t = p->ttext + ((size_t)c->idx * (size_t)p->chunk_rows + i) * S_MY_TIME_TEXT;
                size_t len = ed_sink_time_text(ed_sink_row_time(r, c), t, S_MY_TIME_TEXT);
                ((const char **)p->arr[j])[i] = t;
                p->lens[j][i] = (unsigned long)len;
            } else if (c->sql == ED_SINK_SQL_BIGINT) {
                ((long long *)p->arr[j])[i] = ed_sink_row_int(r, c);
            } else {
                /* DOUBLE cannot hold NaN or infinities: SQL NULL. */
                double x = ed_sink_row_num(r, c);
                if (isfinite(x))
                    ((double *)p->arr[j])[i] = x;
                else
                    p->ind[j][i] = STMT_INDICATOR_NULL;
            }
        }
    }
    unsigned int n = (unsigned int)nrows;
    if (mysql_stmt_attr_set(p->stmt, STMT_ATTR_ARRAY_SIZE, &n) ||
        mysql_stmt_bind_param(p->stmt, p->bind) || mysql_stmt_execute(p->stmt))
        return s_my_stmt_fail(p, "upsert", errstr, errstr_size);
    return ED_WRITE_OK;
}

/* After (re)connecting: CREATE TABLE IF NOT EXISTS, then prepare the upsert. */
static ed_write_result_t s_my_prepare(void *ctx, char *errstr, size_t errstr_size) {
    s_my_t *p = ctx;
    if (!p->ready) {
        ed_buf_t ddl = ED_BUF_INIT;
        s_my_build_sql(p, &ddl);
        ed_write_result_t r = s_my_query(p, ddl.data, ddl.len, "CREATE TABLE", errstr, errstr_size);
        ed_buf_free(&ddl);
        if (r != ED_WRITE_OK)
            return r;
        p->ready = 1;
    }
    return s_my_prepare_stmt(p, errstr, errstr_size);
}

/* exactly_once: one statement on eddy_checkpoints (ed_eo_my_sql); a row
 * it returns goes to *got and *got_pos (owned) when they are given. */
static ed_write_result_t s_my_eo(s_my_t *p, const char *pipeline, uint64_t id, const char *pos,
                                 int for_update, uint64_t *got, char **got_pos, char *errstr,
                                 size_t errstr_size) {
    ed_buf_t sql = ED_BUF_INIT;
    ed_eo_my_sql(&sql, p->my, pipeline, p->name, p->table, id, pos, for_update);
    ed_write_result_t r = s_my_query(p, sql.data, sql.len, "eddy_checkpoints", errstr, errstr_size);
    ed_buf_free(&sql);
    MYSQL_RES *res = r == ED_WRITE_OK && !pos ? mysql_store_result(p->my) : NULL;
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && got) {
        *got = strtoull(row[0], NULL, 10);
        if (got_pos)
            *got_pos = ed_strdup(row[1] ? row[1] : "");
    }
    if (res)
        mysql_free_result(res);
    return r;
}

static ed_write_result_t s_my_eo_read(void *ctx, const char *pipeline, uint64_t *id,
                                      char **positions, char *errstr, size_t errstr_size) {
    s_my_t *p = ctx;
    ed_sink_stats_t stats = {0};
    ed_write_result_t r = s_my_connect(p, &stats, errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = s_my_query(p, ED_EO_MY_DDL, strlen(ED_EO_MY_DDL), "CREATE TABLE", errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = s_my_eo(p, pipeline, 0, NULL, 0, id, positions, errstr, errstr_size);
    if (r == ED_WRITE_OK)
        mysql_rollback(p->my);
    return r;
}

/* The upsert per chunk, then COMMIT (autocommit is off: one transaction). */
static ed_write_result_t s_my_txn(void *ctx, uint64_t *statements, char *errstr,
                                  size_t errstr_size) {
    s_my_t *p = ctx;
    size_t chunk = (size_t)p->chunk_rows;
    size_t total = p->recs ? ed_sink_records_count(p->recs) : ed_sink_rows_count(p->rows);
    uint64_t stored = 0; /* exactly_once: skip a replayed flush already applied */
    ed_write_result_t r = p->eo ? s_my_eo(p, p->eo->pipeline, 0, NULL, 1, &stored, NULL, errstr,
                                          errstr_size)
                                : ED_WRITE_OK;
    if (r != ED_WRITE_OK)
        return r;
    if (p->eo && stored >= p->eo->id) {
        *p->eo->skipped = 1;
        mysql_rollback(p->my);
        return ED_WRITE_OK;
    }
    for (size_t from = 0; from < total; from += chunk) {
        size_t nrows = total - from < chunk ? total - from : chunk;
        r = s_my_exec_chunk(p, from, nrows, errstr, errstr_size);
        if (r != ED_WRITE_OK)
            return r;
        (*statements)++;
    }
    if (p->eo && (r = s_my_eo(p, p->eo->pipeline, p->eo->id, p->eo->positions, 0, NULL, NULL,
                              errstr, errstr_size)) != ED_WRITE_OK)
        return r;
    ed_crash_point("sql_before_commit");
    if (mysql_commit(p->my)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mysql_error(p->my));
        return s_my_fail(p, mysql_errno(p->my), msg, "COMMIT", errstr, errstr_size);
    }
    return ED_WRITE_OK;
}

static ed_write_result_t s_my_write(void *ctx, const ed_sink_flush_t *flush, ed_sink_stats_t *stats,
                                    char *errstr, size_t errstr_size) {
    static const ed_sink_rows_ops_t ops = {s_my_connect, s_my_prepare, s_my_txn};
    s_my_t *p = ctx;
    p->eo = flush->eo;
    if (p->recs)
        return ed_sink_records_write(p->recs, flush, stats, &ops, ctx, errstr, errstr_size);
    return ed_sink_rows_write(p->rows, flush, stats, &ops, ctx, errstr, errstr_size);
}

const ed_sink_type_t ed_sink_mariadb = {
    .conf = {.name = "mariadb",
             .desc = "upserts an aggregation's changelog, or upserts or inserts records, into a "
                     "MariaDB or MySQL table",
             .map = s_my_map,
             .opts_size = sizeof(s_my_opts_t),
             .caps = ED_CAP_CHANGELOG | ED_CAP_RECORDS | ED_CAP_ALERTS | ED_CAP_REJECTS_OUT |
                     ED_CAP_WINDOWS | ED_CAP_EXACTLY_ONCE,
             .example = "mariadb: { host: 127.0.0.1, database: eddy }",
             .validate = s_my_validate,
             .link = s_my_link,
             .link_records = s_my_link_records},
    .init = s_my_init,
    .write = s_my_write,
    .destroy = s_my_destroy,
    .eo_read = s_my_eo_read,
};
