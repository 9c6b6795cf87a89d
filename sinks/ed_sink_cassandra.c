/*
 * ed_sink_cassandra.c — records → rows upserted into an Apache Cassandra
 * table (sinks/ed_sink_records.h maps the record's fields to the columns),
 * through the ScyllaDB Rust driver behind sinks/ed_cql.h. See docs/sinks.md
 * for the DDL, the statements and the guarantees.
 *
 * Every CQL INSERT is an upsert by primary key: the rows of one flush (the
 * last record of each key, sorted by key) are written by one prepared
 * INSERT, as UNLOGGED BATCHes of the rows of one partition (at most
 * `batch_rows` rows and S_CS_BATCH_BYTES bytes of values each; a partition
 * of one row is a plain EXECUTE), up to S_CS_INFLIGHT requests at a time.
 * A flush is acked once every request succeeded; after a failure the whole
 * flush is written again (an upsert of the same values is harmless; the
 * driver's client-side monotonic timestamps keep a late duplicate from
 * overwriting a newer write).
 */
#include "sinks/ed_sink.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_buf.h"
#include "sinks/ed_cql.h"
#include "sinks/ed_sink_records.h"
#include "sinks/ed_sink_rows.h"

#define S_CS_MAX_IDENT 48          /* Cassandra's limit for keyspace and table names */
#define S_CS_BATCH_BYTES (24 << 10) /* below the server's batch_size_fail_threshold (50 KiB) */
#define S_CS_INFLIGHT 32            /* requests at a time */
#define S_CS_CONNECT_MS 5000
#define S_CS_REQUEST_MS 10000

enum { S_CS_CL_ANY = 1, S_CS_CL_ONE, S_CS_CL_TWO, S_CS_CL_THREE, S_CS_CL_QUORUM, S_CS_CL_ALL,
       S_CS_CL_LOCAL_QUORUM, S_CS_CL_EACH_QUORUM, S_CS_CL_LOCAL_ONE };

static const ed_conf_choice_t s_cs_consistency[] = {
    {"any", S_CS_CL_ANY, 0},
    {"one", S_CS_CL_ONE, 0},
    {"two", S_CS_CL_TWO, 0},
    {"three", S_CS_CL_THREE, 0},
    {"quorum", S_CS_CL_QUORUM, 0},
    {"all", S_CS_CL_ALL, 0},
    {"local_quorum", S_CS_CL_LOCAL_QUORUM, 0},
    {"each_quorum", S_CS_CL_EACH_QUORUM, 0},
    {"local_one", S_CS_CL_LOCAL_ONE, 0},
    {NULL, 0, 0}};

typedef struct {
    ed_conf_strlist_t contact_points; /* "host:port" each */
    char *keyspace;                   /* required */
    int consistency;                  /* S_CS_CL_* */
    int replication_factor;           /* of a keyspace created here (SimpleStrategy) */
    char *table;                      /* required (beside the block) */
    ed_conf_strlist_t partition_key;  /* leading primary-key columns; default the first */
    ed_sink_rec_opts_t rec;           /* mode, primary_key, columns */
} s_cs_opts_t;

static const ed_conf_map_t s_cs_map[] = {
    {ED_CONF_STRLIST, "contact_points", "127.0.0.1:9042", offsetof(s_cs_opts_t, contact_points), 0,
     "nodes to connect to first, each `host:port` (the driver finds the others)",
     .expect = "host:port or a list of them"},
    {ED_CONF_STR, "keyspace", NULL, offsetof(s_cs_opts_t, keyspace), 0,
     "the keyspace, **required**; created if missing (SimpleStrategy with "
     "`replication_factor`)",
     .expect = "a keyspace name"},
    {ED_CONF_ENUM, "consistency", "local_quorum", offsetof(s_cs_opts_t, consistency), 0,
     "the consistency level of every write", .choices = s_cs_consistency},
    {ED_CONF_INT, "replication_factor", "1", offsetof(s_cs_opts_t, replication_factor), 0,
     "replicas of a keyspace the sink creates (an existing keyspace is left as it is)", .min = 1,
     .max = 32},
    {ED_CONF_STR, "table", NULL, offsetof(s_cs_opts_t, table), ED_CONF_OUTER,
     "the table written, in the keyspace; created if missing", .expect = "a table name"},
    {ED_CONF_STRLIST, "partition_key", NULL, offsetof(s_cs_opts_t, partition_key), ED_CONF_OUTER,
     "the leading `primary_key` columns that form Cassandra's partition key (rows of one "
     "partition share a batch)",
     .expect = "a column name or a list of them", .doc_def = "the first `primary_key` column"},
    ED_SINK_RECORD_ROWS(s_cs_opts_t, rec),
    {0}};

typedef struct {
    const char *name; /* sink name, for logs */
    const s_cs_opts_t *o;
    char addr[300];   /* "cassandra 127.0.0.1:9042/eddy.users" for errors */
    char *points;     /* contact points, comma-separated */
    ed_cql_t *cql;
    ed_cql_stmt_t *ins;
    int connected_once;
    int lost;  /* the last session failed: the next connect is a reconnect */
    int ready; /* keyspace and table created on this session */
    ed_sink_records_t *recs;
    const ed_rec_col_t *cols;
    int ncols;
    int npart;     /* leading primary-key columns in the partition key */
    const int *pk; /* primary-key column indexes */
    int batch_rows;
    ed_cql_value_t *vals; /* nrows × ncols, grown as needed */
    size_t vcap;
    size_t *req_end;
    size_t rcap;
} s_cs_t;

static int s_cs_valid_name(const char *s) {
    return s && ed_conf_valid_ident(s, strlen(s)) && strlen(s) <= S_CS_MAX_IDENT;
}

static int s_cs_validate(ed_conf_check_t *ck, void *opts) {
    s_cs_opts_t *o = opts;
    int rc = 0;
    const char *w = ed_conf_check_where(ck, "table");
    if (!o->keyspace && ed_conf_check_ok(ck, "keyspace"))
        rc = ed_conf_check_err(ck, "keyspace",
                               "missing required key 'keyspace' in %s; expected keyspace: <a "
                               "keyspace name>",
                               ed_conf_check_where(ck, "keyspace"));
    else if (o->keyspace && !s_cs_valid_name(o->keyspace))
        rc = ed_conf_check_err(ck, "keyspace",
                               "invalid keyspace name '%s' in %s; expected letters, digits and "
                               "'_', starting with a letter or '_', at most %d characters",
                               o->keyspace, ed_conf_check_where(ck, "keyspace"), S_CS_MAX_IDENT);
    if (o->table && !s_cs_valid_name(o->table))
        rc = ed_conf_check_err(ck, "table",
                               "invalid table name '%s' in %s; expected letters, digits and '_', "
                               "starting with a letter or '_', at most %d characters (the "
                               "keyspace is `keyspace:`)",
                               o->table, w, S_CS_MAX_IDENT);
    for (int i = 0; i < o->contact_points.n; i++) {
        const char *c = strrchr(o->contact_points.v[i], ':');
        if (!c || c == o->contact_points.v[i] || !c[1] || strspn(c + 1, "0123456789") != strlen(c + 1))
            rc = ed_conf_check_err(ck, "contact_points",
                                   "invalid contact point '%s' in %s; expected host:port "
                                   "(127.0.0.1:9042, [::1]:9042)",
                                   o->contact_points.v[i], ed_conf_check_where(ck, "contact_points"));
    }
    if (!ed_sink_rec_on(&o->rec))
        return rc;
    if (o->rec.mode == ED_REC_MODE_INSERT)
        return ed_conf_check_err(ck, "mode",
                                 "'mode: insert' in %s: every Cassandra INSERT replaces the row "
                                 "of its primary key; expected mode: upsert with primary_key",
                                 w);
    if (o->rec.primary_key.n == 0 && ed_conf_check_ok(ck, "primary_key"))
        return ed_conf_check_errk(ck, "columns",
                                  "%s writes records to Cassandra and has no `primary_key`; "
                                  "expected primary_key: [<column>, …] beside `columns:` (every "
                                  "Cassandra table has one)",
                                  w);
    if (ed_sink_rec_validate(ck, &o->rec, o->table, 0) < 0)
        return ED_EINVAL;
    const ed_conf_strlist_t *pk = &o->rec.primary_key, *part = &o->partition_key;
    for (int i = 0; i < part->n; i++)
        if (i >= pk->n || strcmp(part->v[i], pk->v[i]))
            return ed_conf_check_err(ck, "partition_key",
                                     "invalid partition_key in %s: '%s' is not primary_key "
                                     "column %d; expected the partition key to be the first "
                                     "columns of primary_key, in its order",
                                     w, part->v[i], i + 1);
    return rc;
}

static int s_cs_link_records(ed_conf_check_t *ck, void *opts) {
    return ed_sink_rec_link_records(ck, &((s_cs_opts_t *)opts)->rec);
}

static void s_cs_close(s_cs_t *p) {
    ed_cql_stmt_free(p->ins);
    p->ins = NULL;
    ed_cql_close(p->cql);
    p->cql = NULL;
    p->ready = 0;
}

static void s_cs_destroy(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    s_cs_t *p = *ctx_p;
    s_cs_close(p);
    ed_sink_records_destroy(&p->recs);
    free(p->points);
    free(p->vals);
    free(p->req_end);
    free(p);
    *ctx_p = NULL;
}

static int s_cs_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    const s_cs_opts_t *o = sc->sink->opts;
    if (!o || !ed_sink_rec_on(&o->rec) || !o->keyspace || !o->table)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': a cassandra sink writes records and needs keyspace, table, "
                         "primary_key and columns",
                         sc->sink->name);
    s_cs_t *p = ed_calloc(1, sizeof *p);
    p->name = sc->sink->name;
    p->o = o;
    p->batch_rows = sc->sink->batch_rows > 0 ? sc->sink->batch_rows : 100;
    if (p->batch_rows > 100) /* Cassandra batches are meant to be small */
        p->batch_rows = 100;
    ed_buf_t b = ED_BUF_INIT;
    for (int i = 0; i < o->contact_points.n; i++)
        ed_buf_printf(&b, "%s%s", i ? "," : "", o->contact_points.v[i]);
    p->points = strdup(b.len ? b.data : "127.0.0.1:9042");
    ed_buf_free(&b);
    snprintf(p->addr, sizeof p->addr, "cassandra %s/%s.%s", p->points, o->keyspace, o->table);
    ed_sink_records_conf_t rc = {.conf = sc->conf, .sink = p->name, .table = o->table};
    ed_sink_rec_conf(&rc, &o->rec);
    rc.upsert = 1;
    p->recs = ed_sink_records_new(&rc, errstr, errstr_size);
    if (!p->recs) {
        void *pp = p;
        s_cs_destroy(&pp);
        return ED_EINVAL;
    }
    p->cols = ed_sink_records_cols(p->recs, &p->ncols);
    int npk = 0;
    p->pk = ed_sink_records_pk(p->recs, &npk);
    p->npart = o->partition_key.n > 0 ? o->partition_key.n : 1;
    *ctx_p = p;
    return 0;
}

/* A failure of the driver: TRANSIENT closes the session (a new one is made
 * on the retry), PERMANENT drops the flush. */
static ed_write_result_t s_cs_fail(s_cs_t *p, int rc, const char *what, const char *msg,
                                   char *errstr, size_t errstr_size) {
    if (rc == ED_CQL_TRANSIENT) {
        s_cs_close(p);
        p->lost = 1;
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s: %s; retrying", p->name,
                  p->addr, what, msg);
        return ED_WRITE_RETRY;
    }
    p->ready = 0;
    ed_seterr(errstr, errstr_size, ED_EINVAL,
              "sink '%s' (%s): %s failed for good: %s; check that the table's columns match "
              "docs/sinks.md (drop or rename it, or set `table:`); the flush is dropped",
              p->name, p->addr, what, msg);
    return ED_WRITE_DROP;
}

static ed_write_result_t s_cs_connect(void *ctx, ed_sink_stats_t *stats, char *errstr,
                                      size_t errstr_size) {
    s_cs_t *p = ctx;
    if (p->cql)
        return ED_WRITE_OK;
    const ed_conf_choice_t *cl = s_cs_consistency;
    while (cl->name && cl->value != p->o->consistency)
        cl++;
    ed_cql_opts_t co = {.contact_points = p->points,
                        .consistency = cl->name ? cl->name : "local_quorum",
                        .connect_timeout_ms = S_CS_CONNECT_MS,
                        .request_timeout_ms = S_CS_REQUEST_MS};
    char msg[512];
    int rc = ed_cql_connect(&co, &p->cql, msg, sizeof msg);
    if (rc != ED_CQL_OK) {
        p->lost = 1;
        return s_cs_fail(p, ED_CQL_TRANSIENT, "connect", msg, errstr, errstr_size);
    }
    if (p->connected_once && p->lost) {
        stats->reconnects++;
        ED_LOG_I(p->name, "reconnected to %s", p->addr);
    } else if (!p->connected_once) {
        ED_LOG_I(p->name, "connected to %s", p->addr);
    }
    p->connected_once = 1;
    p->lost = 0;
    return ED_WRITE_OK;
}

/* Cassandra's column types, by ed_rec_type_t (varchar(N) is text: the
 * width is checked per record). */
static const char *const s_cs_type[] = {
    [ED_REC_TEXT] = "text",       [ED_REC_BIGINT] = "bigint", [ED_REC_DOUBLE] = "double",
    [ED_REC_BOOL] = "boolean",    [ED_REC_TIME] = "timestamp", [ED_REC_JSON] = "text",
};

/* A quoted identifier: case kept as written (names are [A-Za-z0-9_]). */
static void s_cs_ident(ed_buf_t *b, const char *name) { ed_buf_printf(b, "\"%s\"", name); }

static void s_cs_table(const s_cs_t *p, ed_buf_t *b) {
    s_cs_ident(b, p->o->keyspace);
    ed_buf_puts(b, ".");
    s_cs_ident(b, p->o->table);
}

/* The DDL and the INSERT (docs/sinks.md, "Cassandra"). */
static void s_cs_build_cql(const s_cs_t *p, ed_buf_t *ks, ed_buf_t *ddl, ed_buf_t *ins) {
    ed_buf_puts(ks, "CREATE KEYSPACE IF NOT EXISTS ");
    s_cs_ident(ks, p->o->keyspace);
    ed_buf_printf(ks, " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}",
                  p->o->replication_factor > 0 ? p->o->replication_factor : 1);
    ed_buf_puts(ddl, "CREATE TABLE IF NOT EXISTS ");
    s_cs_table(p, ddl);
    ed_buf_puts(ddl, " (");
    ed_buf_puts(ins, "INSERT INTO ");
    s_cs_table(p, ins);
    ed_buf_puts(ins, " (");
    for (int i = 0; i < p->ncols; i++) {
        s_cs_ident(ddl, p->cols[i].name);
        ed_buf_printf(ddl, " %s, ", s_cs_type[p->cols[i].type]);
        ed_buf_puts(ins, i ? ", " : "");
        s_cs_ident(ins, p->cols[i].name);
    }
    int npk = 0;
    ed_sink_records_pk(p->recs, &npk);
    ed_buf_puts(ddl, "PRIMARY KEY ((");
    for (int k = 0; k < npk; k++) {
        ed_buf_puts(ddl, k == 0 ? "" : k == p->npart ? "), " : ", ");
        s_cs_ident(ddl, p->cols[p->pk[k]].name);
    }
    ed_buf_puts(ddl, p->npart >= npk ? ")))" : "))");
    ed_buf_puts(ins, ") VALUES (");
    for (int i = 0; i < p->ncols; i++)
        ed_buf_puts(ins, i ? ", ?" : "?");
    ed_buf_puts(ins, ")");
}

/* Creates the keyspace and table where this session has not done so, and
 * prepares the INSERT. */
static ed_write_result_t s_cs_prepare(void *ctx, char *errstr, size_t errstr_size) {
    s_cs_t *p = ctx;
    if (p->ready && p->ins)
        return ED_WRITE_OK;
    ed_buf_t ks = ED_BUF_INIT, ddl = ED_BUF_INIT, ins = ED_BUF_INIT;
    s_cs_build_cql(p, &ks, &ddl, &ins);
    char msg[512];
    const char *what = "CREATE KEYSPACE";
    int rc = ed_cql_query(p->cql, ks.data, msg, sizeof msg);
    if (rc == ED_CQL_OK) {
        what = "CREATE TABLE";
        rc = ed_cql_query(p->cql, ddl.data, msg, sizeof msg);
    }
    if (rc == ED_CQL_OK) {
        what = "prepare INSERT";
        ed_cql_stmt_free(p->ins);
        p->ins = NULL;
        rc = ed_cql_prepare(p->cql, ins.data, &p->ins, msg, sizeof msg);
    }
    if (rc == ED_CQL_OK && ed_cql_stmt_nparams(p->ins) != (size_t)p->ncols) {
        rc = ED_CQL_PERMANENT;
        snprintf(msg, sizeof msg, "the INSERT takes %zu values, not %d",
                 ed_cql_stmt_nparams(p->ins), p->ncols);
    }
    ed_buf_free(&ks);
    ed_buf_free(&ddl);
    ed_buf_free(&ins);
    if (rc != ED_CQL_OK)
        return s_cs_fail(p, rc, what, msg, errstr, errstr_size);
    p->ready = 1;
    return ED_WRITE_OK;
}

/* 1 if rows a and b have the same partition key. */
static int s_cs_same_part(const s_cs_t *p, const ed_rec_cell_t *a, const ed_rec_cell_t *b) {
    for (int k = 0; k < p->npart; k++) {
        const ed_rec_cell_t *x = &a[p->pk[k]], *y = &b[p->pk[k]];
        if (x->len != y->len || x->i != y->i || x->d != y->d ||
            (x->len && memcmp(x->str, y->str, x->len)))
            return 0;
    }
    return 1;
}

/* Row r's values into p->vals; returns their bytes (for the batch limit). */
static size_t s_cs_bind_row(s_cs_t *p, size_t r, const ed_rec_cell_t *row) {
    size_t bytes = 0;
    for (int j = 0; j < p->ncols; j++) {
        ed_cql_value_t *v = &p->vals[r * (size_t)p->ncols + (size_t)j];
        const ed_rec_cell_t *c = &row[j];
        memset(v, 0, sizeof *v);
        bytes += 8 + c->len;
        if (c->null)
            continue;
        switch (p->cols[j].type) {
        case ED_REC_TEXT:
        case ED_REC_JSON: v->type = ED_CQL_V_TEXT, v->str = c->str, v->len = c->len; break;
        case ED_REC_BIGINT: v->type = ED_CQL_V_BIGINT, v->i = c->i; break;
        case ED_REC_DOUBLE: v->type = ED_CQL_V_DOUBLE, v->d = c->d; break;
        case ED_REC_BOOL: v->type = ED_CQL_V_BOOL, v->i = c->i; break;
        case ED_REC_TIME: v->type = ED_CQL_V_TIME, v->i = c->i; break;
        }
    }
    return bytes;
}

/* All rows of the build: one request per run of rows of one partition, cut
 * at batch_rows rows and S_CS_BATCH_BYTES bytes. */
static ed_write_result_t s_cs_txn(void *ctx, uint64_t *statements, char *errstr,
                                  size_t errstr_size) {
    s_cs_t *p = ctx;
    size_t n = ed_sink_records_count(p->recs);
    if (n * (size_t)p->ncols > p->vcap) {
        p->vcap = n * (size_t)p->ncols;
        p->vals = ed_realloc(p->vals, p->vcap * sizeof *p->vals);
    }
    if (n > p->rcap) {
        p->rcap = n;
        p->req_end = ed_realloc(p->req_end, p->rcap * sizeof *p->req_end);
    }
    size_t nreq = 0, in_req = 0, bytes = 0;
    const ed_rec_cell_t *prev = NULL;
    for (size_t r = 0; r < n; r++) {
        const ed_rec_cell_t *row = ed_sink_records_row(p->recs, r);
        size_t b = s_cs_bind_row(p, r, row);
        if (prev && (!s_cs_same_part(p, prev, row) || in_req >= (size_t)p->batch_rows ||
                     bytes + b > S_CS_BATCH_BYTES)) {
            p->req_end[nreq++] = r;
            in_req = 0, bytes = 0;
        }
        in_req++, bytes += b;
        prev = row;
    }
    if (n)
        p->req_end[nreq++] = n;
    char msg[512];
    size_t failed = 0;
    uint64_t sent = 0;
    int rc = ed_cql_write(p->cql, p->ins, p->vals, n, p->req_end, nreq, S_CS_INFLIGHT, &failed,
                          &sent, msg, sizeof msg);
    *statements += sent;
    if (rc != ED_CQL_OK) {
        char what[96];
        snprintf(what, sizeof what, "write (request %zu of %zu)", failed + 1, nreq);
        return s_cs_fail(p, rc, what, msg, errstr, errstr_size);
    }
    return ED_WRITE_OK;
}

static ed_write_result_t s_cs_write(void *ctx, const ed_sink_flush_t *flush, ed_sink_stats_t *stats,
                                    char *errstr, size_t errstr_size) {
    static const ed_sink_rows_ops_t ops = {s_cs_connect, s_cs_prepare, s_cs_txn};
    s_cs_t *p = ctx;
    return ed_sink_records_write(p->recs, flush, stats, &ops, ctx, errstr, errstr_size);
}

const ed_sink_type_t ed_sink_cassandra = {
    .conf = {.name = "cassandra",
             .desc = "upserts records into an Apache Cassandra table",
             .map = s_cs_map,
             .opts_size = sizeof(s_cs_opts_t),
             .caps = ED_CAP_RECORDS | ED_CAP_ALERTS | ED_CAP_REJECTS_OUT,
             .example = "cassandra: { contact_points: [127.0.0.1:9042], keyspace: eddy }",
             .validate = s_cs_validate,
             .link_records = s_cs_link_records},
    .init = s_cs_init,
    .write = s_cs_write,
    .destroy = s_cs_destroy,
};
