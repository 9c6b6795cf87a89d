/*
 * ed_sink_mariadb.c — changelog rows → multi-row upserts into MariaDB/MySQL
 * (MariaDB Connector/C). See docs/sinks.md for the DDL, the statement and the
 * guarantees.
 *
 * One flush is one InnoDB transaction (autocommit off): INSERT … ON DUPLICATE
 * KEY UPDATE in chunks of `batch_rows` rows, then COMMIT. Key columns are
 * VARBINARY(255): keys compare byte for byte, so no collation ever merges two
 * distinct input keys ("The"/"the", "a"/"a ").
 */
#include "ed_sink.h"

#include <errmsg.h>
#include <math.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/ed_buf.h"

#define S_MY_MAX_KEY_PART 255 /* VARBINARY(255) */

/* ------------------------------------------------------------------------ */
/* Merged rows of one flush. A flush may hold the same key more than once (two
 * changelog batches from different flush rounds); one INSERT … ON CONFLICT may
 * not touch a row twice, so duplicates are merged first. Rows are then sorted
 * by key bytes so that concurrent writers (several eddy processes in one
 * consumer group) lock rows in the same order and do not deadlock.
 * (The same code is in ed_sink_postgres.c; keep them in step.) */

typedef struct {
    const uint8_t *key; /* borrowed from the flush's batch */
    uint32_t key_len;
    int64_t delta_n; /* records since the last flush, summed over merged rows */
    int64_t n;       /* records so far (latest) */
    size_t vals;     /* index of delta[0] in the pool; value[] follows delta[] */
} s_row_t;

typedef struct {
    const ed_conf_aggregation_t *agg;
    s_row_t *rows;
    size_t nrows, cap;
    double *pool;
    size_t pool_len, pool_cap;
    uint32_t *slots; /* open addressing: row index + 1, 0 = empty */
    size_t nslots;
    uint64_t accepted; /* input rows accepted (before merging) */
    uint64_t rejected; /* input rows refused (bad shape or key) */
    const char *why;   /* reason of the first rejection */
    size_t max_key;    /* most bytes of all key parts together; 0 = no limit */
} s_rows_t;

/* Returns NULL if the key part can be written, else why not. */
typedef const char *(*s_part_check_fn)(const uint8_t *part, size_t len);

static uint64_t s_hash(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static int s_row_cmp(const void *a, const void *b) {
    const s_row_t *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static void s_rows_free(s_rows_t *rs) {
    free(rs->rows);
    free(rs->pool);
    free(rs->slots);
    memset(rs, 0, sizeof *rs);
}

static const char *s_rows_check(const s_rows_t *rs, const ed_change_t *c, s_part_check_fn check) {
    const ed_conf_aggregation_t *agg = rs->agg;
    if (c->nvals != agg->ncompute)
        return "row has the wrong number of values for the aggregation";
    const uint8_t *key = ed_change_key(c);
    if (ed_key_nparts(key, c->key_len) != agg->nkey)
        return "row has the wrong number of key parts for the aggregation";
    size_t total = 0;
    for (int i = 0; i < agg->nkey; i++) {
        const uint8_t *part;
        size_t len;
        if (ed_key_part(key, c->key_len, i, &part, &len) < 0)
            return "malformed composite key";
        const char *why = check ? check(part, len) : NULL;
        if (why)
            return why;
        total += len;
    }
    if (rs->max_key && total > rs->max_key)
        return "key longer than the primary key index allows";
    return NULL;
}

/* Collects, checks, merges and sorts the changelog rows of `flush`. */
static void s_rows_build(s_rows_t *rs, const ed_sink_flush_t *flush, s_part_check_fn check) {
    const ed_conf_aggregation_t *agg = rs->agg;
    size_t nv = (size_t)agg->ncompute;
    size_t total = 0;
    for (int b = 0; b < flush->nchanges; b++)
        total += flush->changes[b]->count;
    rs->nrows = rs->pool_len = 0;
    rs->accepted = rs->rejected = 0;
    rs->why = NULL;
    if (total > rs->cap) {
        rs->cap = total;
        rs->rows = ed_realloc(rs->rows, rs->cap * sizeof *rs->rows);
    }
    if (total * 2 * nv > rs->pool_cap) {
        rs->pool_cap = total * 2 * nv;
        rs->pool = ed_realloc(rs->pool, rs->pool_cap * sizeof *rs->pool);
    }
    size_t want = 16;
    while (want < total * 2)
        want *= 2;
    if (want > rs->nslots) {
        free(rs->slots);
        rs->slots = ed_malloc(want * sizeof *rs->slots);
        rs->nslots = want;
    }
    memset(rs->slots, 0, rs->nslots * sizeof *rs->slots);
    size_t mask = rs->nslots - 1;

    for (int b = 0; b < flush->nchanges; b++) {
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, flush->changes[b]);
        const ed_change_t *c;
        while ((c = ed_batch_next_change(&it))) {
            const char *why = s_rows_check(rs, c, check);
            if (why) {
                rs->rejected++;
                if (!rs->why)
                    rs->why = why;
                continue;
            }
            rs->accepted++;
            const uint8_t *key = ed_change_key(c);
            const double *d = ed_change_delta(c), *v = ed_change_value(c);
            size_t slot = (size_t)s_hash(key, c->key_len) & mask;
            while (rs->slots[slot]) {
                s_row_t *r = &rs->rows[rs->slots[slot] - 1];
                if (r->key_len == c->key_len && !memcmp(r->key, key, c->key_len))
                    break;
                slot = (slot + 1) & mask;
            }
            if (!rs->slots[slot]) {
                s_row_t *r = &rs->rows[rs->nrows];
                r->key = key;
                r->key_len = c->key_len;
                r->delta_n = c->delta_n;
                r->n = c->n;
                r->vals = rs->pool_len;
                memcpy(rs->pool + rs->pool_len, d, nv * sizeof(double));
                memcpy(rs->pool + rs->pool_len + nv, v, nv * sizeof(double));
                rs->pool_len += 2 * nv;
                rs->slots[slot] = (uint32_t)++rs->nrows;
                continue;
            }
            /* Merge into the earlier row of the same key: rows come in flush
             * order, so the later value is the newer total. */
            s_row_t *r = &rs->rows[rs->slots[slot] - 1];
            double *rd = rs->pool + r->vals, *rv = rd + nv;
            for (size_t i = 0; i < nv; i++) {
                switch (agg->compute[i].fn) {
                case ED_AGG_MIN:
                    rd[i] = rv[i] = fmin(rv[i], v[i]);
                    break;
                case ED_AGG_MAX:
                    rd[i] = rv[i] = fmax(rv[i], v[i]);
                    break;
                default: /* count, sum, avg: additive deltas, newest value */
                    rd[i] += d[i];
                    rv[i] = v[i];
                    break;
                }
            }
            r->delta_n += c->delta_n;
            if (c->n > r->n)
                r->n = c->n;
        }
    }
    qsort(rs->rows, rs->nrows, sizeof *rs->rows, s_row_cmp);
}

/* ------------------------------------------------------------------------ */

/* One column of the table, in statement order. */
typedef enum { S_COL_KEY, S_COL_VALUE, S_COL_AVG_SUM, S_COL_AVG_N } s_col_role_t;
typedef struct {
    s_col_role_t role;
    int idx; /* key part or compute index */
    ed_aggfn_t fn;
} s_col_t;

typedef struct {
    const ed_conf_sink_t *sink;
    const ed_conf_aggregation_t *agg;
    const char *name;  /* sink name, for logs */
    const char *table; /* unquoted table name (sink->table or the aggregation's) */
    char addr[300];    /* "mariadb host:port/db" for errors */
    MYSQL *my;
    MYSQL_STMT *stmt; /* the prepared one-row upsert, executed with array binding */
    int connected_once;
    int lost;  /* the last connection failed or was lost: the next connect is a reconnect */
    int ready; /* DDL done and statements built for this connection */
    s_col_t *cols;
    int ncols;
    int chunk_rows;
    ed_buf_t head; /* "INSERT INTO … VALUES " */
    ed_buf_t tail; /* " ON DUPLICATE KEY UPDATE …" */
    /* column-wise parameter arrays of chunk_rows entries each */
    MYSQL_BIND *bind;
    void **arr;
    unsigned long **lens;
    char **ind;
    s_rows_t rows;
    uint64_t rejects_logged_for; /* checkpoint + 1 whose rejections were counted */
} s_my_t;

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

/* Returns the name of a column that two of the table's columns would share,
 * or NULL. `buf` holds the name. MariaDB column names compare
 * case-insensitively. */
static const char *s_my_dup_column(const ed_conf_aggregation_t *agg, char *buf, size_t n) {
    int ncols = 0;
    char **names = ed_calloc((size_t)agg->nkey + 3 * (size_t)agg->ncompute + 1, sizeof *names);
    for (int i = 0; i < agg->nkey; i++)
        names[ncols++] = ed_strdup(agg->key[i].column);
    for (int i = 0; i < agg->ncompute; i++) {
        names[ncols++] = ed_strdup(agg->compute[i].name);
        if (agg->compute[i].fn == ED_AGG_AVG) {
            snprintf(buf, n, "%s_sum", agg->compute[i].name);
            names[ncols++] = ed_strdup(buf);
            snprintf(buf, n, "%s_n", agg->compute[i].name);
            names[ncols++] = ed_strdup(buf);
        }
    }
    names[ncols++] = ed_strdup("updated_at");
    const char *dup = NULL;
    for (int i = 0; i < ncols && !dup; i++)
        for (int j = i + 1; j < ncols && !dup; j++)
            if (!strcasecmp(names[i], names[j])) {
                snprintf(buf, n, "%s", names[i]);
                dup = buf;
            }
    for (int i = 0; i < ncols; i++)
        free(names[i]);
    free(names);
    return dup;
}

static int s_my_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    const ed_conf_sink_t *sink = sc->sink;
    const ed_conf_aggregation_t *agg = sc->agg;
    if (!agg)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': a mariadb sink writes aggregation changelogs; list it in "
                         "the `to:` of an aggregation",
                         sink->name);
    if (!sink->mariadb.database || !*sink->mariadb.database)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': mariadb.database is required",
                         sink->name);
    char dup[300];
    if (s_my_dup_column(agg, dup, sizeof dup))
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': aggregation '%s' would give table column `%s` twice (key "
                         "columns, compute names, <avg>_sum, <avg>_n and updated_at share one "
                         "table); rename a key column or compute",
                         sink->name, agg->name, dup);
    if (agg->nkey > 12)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': aggregation '%s' has %d key columns; a MariaDB primary key "
                         "holds at most 12 VARBINARY(255) columns (3072 bytes)",
                         sink->name, agg->name, agg->nkey);
    pthread_once(&s_lib_once, s_lib_init);

    s_my_t *p = ed_calloc(1, sizeof *p);
    p->sink = sink;
    p->agg = agg;
    p->name = sink->name;
    p->table = sink->table && *sink->table ? sink->table : agg->name;
    p->rows.agg = agg;
    snprintf(p->addr, sizeof p->addr, "mariadb %s:%d/%s",
             sink->mariadb.host && *sink->mariadb.host ? sink->mariadb.host : "localhost",
             sink->mariadb.port > 0 ? sink->mariadb.port : 3306, sink->mariadb.database);

    p->cols = ed_calloc((size_t)agg->nkey + 3 * (size_t)agg->ncompute, sizeof *p->cols);
    for (int i = 0; i < agg->nkey; i++)
        p->cols[p->ncols++] = (s_col_t){S_COL_KEY, i, 0};
    for (int i = 0; i < agg->ncompute; i++) {
        ed_aggfn_t fn = agg->compute[i].fn;
        p->cols[p->ncols++] = (s_col_t){S_COL_VALUE, i, fn};
        if (fn == ED_AGG_AVG) {
            p->cols[p->ncols++] = (s_col_t){S_COL_AVG_SUM, i, fn};
            p->cols[p->ncols++] = (s_col_t){S_COL_AVG_N, i, fn};
        }
    }
    p->chunk_rows = sink->batch_rows > 0 ? sink->batch_rows : 1000;
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
    free(p->cols);
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
    free(p->bind);
    s_rows_free(&p->rows);
    free(p);
    *ctx_p = NULL;
}

/* Connection-level trouble: the client library's own errors (2000–2999:
 * server gone, lost, timeouts) and server-side conditions that pass. */
static int s_my_retryable(unsigned int err) {
    if (err >= CR_MIN_ERROR && err <= CR_MAX_ERROR)
        return 1;
    switch (err) {
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_NO_SUCH_TABLE: /* dropped under us: CREATE it again on the retry */
    case ER_CON_COUNT_ERROR:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_QUERY_INTERRUPTED:
    case ER_DISK_FULL:
    case ER_RECORD_FILE_FULL:
    case ER_OUT_OF_RESOURCES:
    case ER_OUTOFMEMORY:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_OPTION_PREVENTS_STATEMENT: /* read-only server (failover in progress) */
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_BAD_DB_ERROR:
        return 1;
    default:
        return 0;
    }
}

static ed_write_result_t s_my_connect(s_my_t *p, ed_sink_stats_t *stats, char *errstr,
                                      size_t errstr_size) {
    if (p->my)
        return ED_WRITE_OK;
    const ed_conf_sink_t *s = p->sink;
    p->my = mysql_init(NULL);
    if (!p->my)
        return ed_seterr(errstr, errstr_size, ED_ENOMEM, "sink '%s' (%s): mysql_init failed",
                         p->name, p->addr),
               ED_WRITE_RETRY;
    unsigned int connect_timeout = 5, io_timeout = 10;
    mysql_options(p->my, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(p->my, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
    mysql_options(p->my, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
    mysql_options(p->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(p->my, s->mariadb.host && *s->mariadb.host ? s->mariadb.host : NULL,
                            s->mariadb.user && *s->mariadb.user ? s->mariadb.user : "root",
                            s->mariadb.password ? s->mariadb.password : "", s->mariadb.database,
                            s->mariadb.port > 0 ? (unsigned)s->mariadb.port : 3306, NULL, 0) ||
        mysql_autocommit(p->my, 0)) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s (error %u); retrying", p->name,
                  p->addr, mysql_error(p->my), mysql_errno(p->my));
        s_my_close(p);
        p->lost = 1;
        return ED_WRITE_RETRY;
    }
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

static void s_my_col_ident(const s_my_t *p, ed_buf_t *b, const s_col_t *c) {
    if (c->role == S_COL_KEY)
        s_my_ident(b, p->agg->key[c->idx].column, NULL);
    else
        s_my_ident(b, p->agg->compute[c->idx].name,
                   c->role == S_COL_AVG_SUM ? "_sum"
                   : c->role == S_COL_AVG_N ? "_n"
                                            : NULL);
}

static void s_my_build_sql(s_my_t *p, ed_buf_t *ddl) {
    ed_buf_puts(ddl, "CREATE TABLE IF NOT EXISTS ");
    s_my_table(p, ddl);
    ed_buf_puts(ddl, " (");
    for (int i = 0; i < p->ncols; i++) {
        const s_col_t *c = &p->cols[i];
        s_my_col_ident(p, ddl, c);
        switch (c->role) {
        case S_COL_KEY:
            ed_buf_puts(ddl, " VARBINARY(255) NOT NULL, ");
            break;
        case S_COL_AVG_SUM:
            ed_buf_puts(ddl, " DOUBLE NOT NULL DEFAULT 0, ");
            break;
        case S_COL_AVG_N:
            ed_buf_puts(ddl, " BIGINT NOT NULL DEFAULT 0, ");
            break;
        case S_COL_VALUE:
            ed_buf_puts(ddl, c->fn == ED_AGG_COUNT ? " BIGINT NOT NULL DEFAULT 0, " : " DOUBLE, ");
            break;
        }
    }
    ed_buf_puts(ddl, "`updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
                     "PRIMARY KEY (");
    for (int i = 0; i < p->agg->nkey; i++) {
        if (i)
            ed_buf_puts(ddl, ", ");
        s_my_col_ident(p, ddl, &p->cols[i]);
    }
    ed_buf_puts(ddl, ")) ENGINE=InnoDB");

    ed_buf_reset(&p->head);
    ed_buf_puts(&p->head, "INSERT INTO ");
    s_my_table(p, &p->head);
    ed_buf_puts(&p->head, " (");
    for (int i = 0; i < p->ncols; i++) {
        if (i)
            ed_buf_puts(&p->head, ", ");
        s_my_col_ident(p, &p->head, &p->cols[i]);
    }
    ed_buf_puts(&p->head, ") VALUES ");

    /* ON DUPLICATE KEY UPDATE assigns left to right and later expressions see
     * the new values of earlier columns: so the average comes after its sum
     * and count and reads them, already updated. LEAST/GREATEST return NULL
     * if either side is NULL in MariaDB, hence the COALESCE. */
    ed_buf_t *t = &p->tail;
    ed_buf_reset(t);
    ed_buf_puts(t, " ON DUPLICATE KEY UPDATE ");
    for (int i = p->agg->nkey; i < p->ncols; i++) {
        const s_col_t *c = &p->cols[i];
        ed_buf_t col = ED_BUF_INIT;
        s_my_col_ident(p, &col, c);
        const char *q = col.data;
        if (c->role == S_COL_VALUE && (c->fn == ED_AGG_MIN || c->fn == ED_AGG_MAX)) {
            ed_buf_printf(t, "%s = COALESCE(%s(%s, VALUES(%s)), VALUES(%s), %s), ", q,
                          c->fn == ED_AGG_MIN ? "LEAST" : "GREATEST", q, q, q, q);
        } else if (c->role == S_COL_VALUE && c->fn == ED_AGG_AVG) {
            ed_buf_free(&col);
            continue; /* after its _sum and _n, below */
        } else {
            ed_buf_printf(t, "%s = %s + VALUES(%s), ", q, q, q);
        }
        if (c->role == S_COL_AVG_N) {
            ed_buf_t s = ED_BUF_INIT, nn = ED_BUF_INIT, v = ED_BUF_INIT;
            s_my_ident(&v, p->agg->compute[c->idx].name, NULL);
            s_my_ident(&s, p->agg->compute[c->idx].name, "_sum");
            s_my_ident(&nn, p->agg->compute[c->idx].name, "_n");
            ed_buf_printf(t, "%s = %s / NULLIF(%s, 0), ", v.data, s.data, nn.data);
            ed_buf_free(&s);
            ed_buf_free(&nn);
            ed_buf_free(&v);
        }
        ed_buf_free(&col);
    }
    ed_buf_puts(t, "`updated_at` = CURRENT_TIMESTAMP(6)");
}

/* The numeric value of column `c` of row `r`; *is_int for BIGINT columns.
 * Returns 0 for SQL NULL (DOUBLE cannot hold NaN or infinities). */
static int s_my_num(const s_my_t *p, const s_row_t *r, const s_col_t *c, double *out,
                    long long *iout, int *is_int) {
    size_t nv = (size_t)p->agg->ncompute;
    const double *d = p->rows.pool + r->vals, *v = d + nv;
    double x;
    *is_int = 0;
    switch (c->role) {
    case S_COL_AVG_N:
        *is_int = 1;
        *iout = (long long)r->delta_n;
        return 1;
    case S_COL_AVG_SUM:
        x = d[c->idx];
        break;
    default:
        switch (c->fn) {
        case ED_AGG_COUNT:
            *is_int = 1;
            *iout = isfinite(d[c->idx]) ? (long long)llround(d[c->idx]) : 0;
            return 1;
        case ED_AGG_SUM:
            x = d[c->idx];
            break;
        case ED_AGG_AVG:
            /* The average of what this row adds, so a new table row has
             * avg == avg_sum / avg_n, like every updated one. */
            x = r->delta_n ? d[c->idx] / (double)r->delta_n : v[c->idx];
            break;
        default:
            x = v[c->idx];
            break;
        }
    }
    *out = x;
    return isfinite(x);
}

/* Fails the flush: rolls back, or closes a broken connection. */
static ed_write_result_t s_my_fail(s_my_t *p, unsigned int err, const char *msg, const char *what,
                                   char *errstr, size_t errstr_size) {
    int retry = s_my_retryable(err);
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
    }
    return ED_WRITE_OK;
}

static ed_write_result_t s_my_exec_chunk(s_my_t *p, size_t from, size_t nrows, char *errstr,
                                         size_t errstr_size) {
    for (int j = 0; j < p->ncols; j++) {
        const s_col_t *c = &p->cols[j];
        MYSQL_BIND *bd = &p->bind[j];
        memset(bd, 0, sizeof *bd);
        bd->buffer = p->arr[j];
        bd->u.indicator = p->ind[j];
        int is_int = c->role == S_COL_AVG_N || (c->role == S_COL_VALUE && c->fn == ED_AGG_COUNT);
        bd->buffer_type = c->role == S_COL_KEY ? MYSQL_TYPE_BLOB
                          : is_int             ? MYSQL_TYPE_LONGLONG
                                               : MYSQL_TYPE_DOUBLE;
        if (c->role == S_COL_KEY)
            bd->length = p->lens[j];
        for (size_t i = 0; i < nrows; i++) {
            const s_row_t *r = &p->rows.rows[from + i];
            p->ind[j][i] = STMT_INDICATOR_NONE;
            if (c->role == S_COL_KEY) {
                const uint8_t *part = NULL;
                size_t len = 0;
                ed_key_part(r->key, r->key_len, c->idx, &part, &len);
                ((const char **)p->arr[j])[i] = (const char *)part;
                p->lens[j][i] = (unsigned long)len;
                continue;
            }
            double x;
            long long ix;
            int isi;
            if (!s_my_num(p, r, c, &x, &ix, &isi))
                p->ind[j][i] = STMT_INDICATOR_NULL;
            else if (isi)
                ((long long *)p->arr[j])[i] = ix;
            else
                ((double *)p->arr[j])[i] = x;
        }
    }
    unsigned int n = (unsigned int)nrows;
    if (mysql_stmt_attr_set(p->stmt, STMT_ATTR_ARRAY_SIZE, &n) ||
        mysql_stmt_bind_param(p->stmt, p->bind) || mysql_stmt_execute(p->stmt))
        return s_my_stmt_fail(p, "upsert", errstr, errstr_size);
    return ED_WRITE_OK;
}

/* After (re)connecting: CREATE TABLE IF NOT EXISTS, then prepare the upsert. */
static ed_write_result_t s_my_prepare(s_my_t *p, char *errstr, size_t errstr_size) {
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

/* The upsert per chunk, then COMMIT (autocommit is off: one transaction). */
static ed_write_result_t s_my_txn(s_my_t *p, uint64_t *statements, char *errstr,
                                  size_t errstr_size) {
    size_t chunk = (size_t)p->chunk_rows;
    for (size_t from = 0; from < p->rows.nrows; from += chunk) {
        size_t nrows = p->rows.nrows - from < chunk ? p->rows.nrows - from : chunk;
        ed_write_result_t r = s_my_exec_chunk(p, from, nrows, errstr, errstr_size);
        if (r != ED_WRITE_OK)
            return r;
        (*statements)++;
    }
    if (mysql_commit(p->my)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mysql_error(p->my));
        return s_my_fail(p, mysql_errno(p->my), msg, "COMMIT", errstr, errstr_size);
    }
    return ED_WRITE_OK;
}

static ed_write_result_t s_my_write(void *ctx, const ed_sink_flush_t *flush, ed_sink_stats_t *stats,
                                    char *errstr, size_t errstr_size) {
    s_my_t *p = ctx;
    s_rows_build(&p->rows, flush, s_my_part_check);

    uint64_t records = 0;
    for (int b = 0; b < flush->nrecords; b++)
        records += flush->records[b]->count;
    /* Count and log refused rows once per flush, not again on a retry. */
    if (p->rejects_logged_for != flush->checkpoint + 1) {
        p->rejects_logged_for = flush->checkpoint + 1;
        if (p->rows.rejected) {
            stats->rows_rejected += p->rows.rejected;
            ED_LOG_W(p->name,
                     "table %s: %llu changelog row(s) rejected (first: %s); the rest is written",
                     p->table, (unsigned long long)p->rows.rejected, p->rows.why);
        }
        if (records) {
            stats->rows_rejected += records;
            ED_LOG_W(p->name,
                     "table %s: %llu record(s) rejected: a mariadb sink takes "
                     "aggregation changelogs only",
                     p->table, (unsigned long long)records);
        }
    }
    if (p->rows.nrows == 0)
        return ED_WRITE_OK;

    uint64_t statements = 0;
    ed_write_result_t r = s_my_connect(p, stats, errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = s_my_prepare(p, errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = s_my_txn(p, &statements, errstr, errstr_size);
    if (r == ED_WRITE_OK) {
        stats->statements += statements;
        stats->rows_written += p->rows.accepted;
    } else if (r == ED_WRITE_DROP) {
        stats->rows_rejected += p->rows.accepted;
    }
    return r;
}

const ed_sink_type_t ed_sink_mariadb = {
    .name = "mariadb",
    .kind = ED_SINK_MARIADB,
    .init = s_my_init,
    .write = s_my_write,
    .destroy = s_my_destroy,
};
