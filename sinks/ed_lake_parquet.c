/*
 * ed_lake_parquet.c — Parquet files for the lake sink through DuckDB's C
 * API. See ed_lake_parquet.h.
 */
#define _GNU_SOURCE
#include "sinks/ed_lake_parquet.h"

#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"
#include "sinks/ed_lake_files.h"

struct ed_lake_parquet {
    const char *sink;
    const ed_rec_col_t *cols;
    int ncols;
    const char *codec; /* COPY's COMPRESSION */
    duckdb_database db;
    duckdb_connection con;
    ed_sink_records_t *back; /* reads the stage's JSON lines back into cells */
    ed_conf_kvmap_t specs;   /* its columns: "name TYPE" */
    duckdb_appender app;     /* during a convert */
    int failed;
    char err[512];
};

static const char *s_sql_type(const ed_rec_col_t *c) {
    switch (c->type) {
    case ED_REC_BIGINT: return "BIGINT";
    case ED_REC_DOUBLE: return "DOUBLE";
    case ED_REC_BOOL: return "BOOLEAN";
    case ED_REC_TIME: return "TIMESTAMPTZ"; /* Parquet: isAdjustedToUTC=true */
    default: return "VARCHAR";
    }
}

static const char *s_spec_type(const ed_rec_col_t *c) {
    switch (c->type) {
    case ED_REC_BIGINT: return "bigint";
    case ED_REC_DOUBLE: return "double";
    case ED_REC_BOOL: return "boolean";
    case ED_REC_TIME: return "timestamptz";
    case ED_REC_JSON: return "jsonb";
    default: return "text";
    }
}

/* Runs one statement; 0, or -1 with errstr. */
static int s_exec(ed_lake_parquet_t *pq, const char *sql, char *errstr, size_t n) {
    duckdb_result res;
    int rc = 0;
    if (duckdb_query(pq->con, sql, &res) != DuckDBSuccess) {
        const char *e = duckdb_result_error(&res);
        rc = ed_seterr(errstr, n, ED_EIO, "DuckDB: %s", e ? e : "unknown error");
    }
    duckdb_destroy_result(&res);
    return rc < 0 ? -1 : 0;
}

ed_lake_parquet_t *ed_lake_parquet_new(const char *sink, const ed_rec_col_t *cols, int ncols,
                                       int compression, char *errstr, size_t errstr_size) {
    ed_lake_parquet_t *pq = ed_calloc(1, sizeof *pq);
    pq->sink = sink;
    pq->cols = cols;
    pq->ncols = ncols;
    pq->codec = compression == ED_LAKE_Z_SNAPPY ? "snappy"
                : compression == ED_LAKE_Z_GZIP ? "gzip"
                : compression == ED_LAKE_Z_NONE ? "uncompressed"
                                                : "zstd";
    if (duckdb_open(NULL, &pq->db) != DuckDBSuccess || duckdb_connect(pq->db, &pq->con) != DuckDBSuccess) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s': DuckDB (in memory) cannot start", sink);
        ed_lake_parquet_destroy(&pq);
        return NULL;
    }
    /* One thread: the sink has its own; memory bounded, the rest spills. */
    if (s_exec(pq, "SET threads = 1", errstr, errstr_size) != 0) {
        ed_lake_parquet_destroy(&pq);
        return NULL;
    }
    pq->specs.v = ed_calloc((size_t)ncols, sizeof *pq->specs.v);
    pq->specs.n = ncols;
    for (int i = 0; i < ncols; i++) {
        char spec[160];
        snprintf(spec, sizeof spec, "%s %s", cols[i].name, s_spec_type(&cols[i]));
        pq->specs.v[i].key = ed_strdup(cols[i].name);
        pq->specs.v[i].value = ed_strdup(spec);
    }
    ed_sink_records_conf_t rc = {.sink = sink, .table = "stage", .columns = &pq->specs};
    pq->back = ed_sink_records_new(&rc, errstr, errstr_size);
    if (!pq->back) {
        ed_lake_parquet_destroy(&pq);
        return NULL;
    }
    return pq;
}

void ed_lake_parquet_destroy(ed_lake_parquet_t **pq_p) {
    if (!pq_p || !*pq_p)
        return;
    ed_lake_parquet_t *pq = *pq_p;
    ed_sink_records_destroy(&pq->back);
    for (int i = 0; i < pq->specs.n; i++) {
        free(pq->specs.v[i].key);
        free(pq->specs.v[i].value);
    }
    free(pq->specs.v);
    if (pq->con)
        duckdb_disconnect(&pq->con);
    if (pq->db)
        duckdb_close(&pq->db);
    free(pq);
    *pq_p = NULL;
}

/* One frame of the stage: its lines into cells, appended. */
static int s_frame(void *arg, const char *data, size_t len) {
    ed_lake_parquet_t *pq = arg;
    ed_batch_t *b = ed_batch_new(ED_BATCH_RECORDS, len + 4096);
    for (const char *p = data, *end = data + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l)
            ed_batch_add_record(b, NULL, 0, p, (uint32_t)l, 0);
        p += l + 1;
    }
    ed_batch_t *bs[] = {b};
    ed_sink_flush_t f = {.records = bs, .nrecords = 1, .rows = b->count};
    size_t n = ed_sink_records_build(pq->back, &f);
    int rc = 0;
    if (ed_sink_records_nrejects(pq->back)) {
        const ed_sink_reject_t *rj = ed_sink_records_reject(pq->back, 0);
        snprintf(pq->err, sizeof pq->err, "a staged line does not fit column %s: %s",
                 rj->column ? rj->column : "?", rj->why);
        rc = -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const ed_rec_cell_t *row = ed_sink_records_row(pq->back, i);
        duckdb_state st = DuckDBSuccess;
        for (int c = 0; c < pq->ncols && st == DuckDBSuccess; c++) {
            const ed_rec_cell_t *v = &row[c];
            if (v->null) {
                st = duckdb_append_null(pq->app);
                continue;
            }
            switch (pq->cols[c].type) {
            case ED_REC_BIGINT: st = duckdb_append_int64(pq->app, v->i); break;
            case ED_REC_DOUBLE: st = duckdb_append_double(pq->app, v->d); break;
            case ED_REC_BOOL: st = duckdb_append_bool(pq->app, v->i != 0); break;
            case ED_REC_TIME:
                st = duckdb_append_timestamp(pq->app, (duckdb_timestamp){v->i * 1000});
                break;
            default: st = duckdb_append_varchar_length(pq->app, v->str, v->len); break;
            }
        }
        if (st == DuckDBSuccess)
            st = duckdb_appender_end_row(pq->app);
        if (st != DuckDBSuccess) {
            const char *e = duckdb_appender_error(pq->app);
            snprintf(pq->err, sizeof pq->err, "DuckDB appender: %s", e ? e : "unknown error");
            rc = -1;
        }
    }
    ed_batch_destroy(&b);
    return rc;
}

/* Appends s as a SQL string literal ('…', quotes doubled). */
static void s_lit(ed_buf_t *b, const char *s) {
    ed_buf_puts(b, "'");
    for (; *s; s++) {
        ed_buf_append(b, s, 1);
        if (*s == '\'')
            ed_buf_puts(b, "'");
    }
    ed_buf_puts(b, "'");
}

int ed_lake_parquet_convert(ed_lake_parquet_t *pq, const char *stage, const char *tmp,
                            char *errstr, size_t errstr_size) {
    ed_buf_t sql = ED_BUF_INIT;
    ed_buf_puts(&sql, "CREATE OR REPLACE TABLE stage (");
    for (int i = 0; i < pq->ncols; i++)
        ed_buf_printf(&sql, "%s\"%s\" %s", i ? ", " : "", pq->cols[i].name,
                      s_sql_type(&pq->cols[i]));
    ed_buf_puts(&sql, ")");
    char err[768] = "";
    int rc = s_exec(pq, sql.data, err, sizeof err);
    if (rc == 0 && duckdb_appender_create(pq->con, NULL, "stage", &pq->app) != DuckDBSuccess) {
        snprintf(err, sizeof err, "DuckDB: cannot create an appender");
        rc = -1;
    }
    if (rc == 0) {
        pq->err[0] = 0;
        rc = ed_lake_stage_read(stage, s_frame, pq, err, sizeof err);
        if (rc > 0 || (rc != 0 && pq->err[0]))
            snprintf(err, sizeof err, "%s", pq->err), rc = -1;
        if (duckdb_appender_destroy(&pq->app) != DuckDBSuccess && rc == 0) {
            snprintf(err, sizeof err, "DuckDB: the appender could not flush its rows");
            rc = -1;
        }
    }
    if (rc == 0) {
        ed_buf_reset(&sql);
        ed_buf_puts(&sql, "COPY stage TO ");
        s_lit(&sql, tmp);
        ed_buf_printf(&sql, " (FORMAT parquet, COMPRESSION %s)", pq->codec);
        rc = s_exec(pq, sql.data, err, sizeof err);
    }
    char ignored[256];
    s_exec(pq, "DROP TABLE IF EXISTS stage", ignored, sizeof ignored);
    ed_buf_free(&sql);
    if (rc != 0)
        return ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s': Parquet file %s from %s: %s",
                         pq->sink, tmp, stage, err);
    return 0;
}
