/*
 * ed_lake_parquet.c — Parquet files for the lake sink through DuckDB's C
 * API, streamed by a writer thread per file from a table function fed by
 * the sink. See ed_lake_parquet.h.
 */
#define _GNU_SOURCE
#include "sinks/ed_lake_parquet.h"

#include <duckdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"
#include "sinks/ed_lake_files.h"

#define S_FN "eddy_lake_rows" /* the table function the COPY reads */
#define S_QMAX 32             /* batches queued per file: 32 × 2048 rows */

struct ed_lake_parquet {
    const char *sink;
    const ed_rec_col_t *cols;
    int ncols;
    const char *codec; /* COPY's COMPRESSION */
    duckdb_database db;
    duckdb_connection con;   /* registers the table function */
    idx_t vsize;             /* rows of a DuckDB vector (2048) */
    ed_sink_records_t *back; /* reads the stage's JSON lines back into cells */
    ed_conf_kvmap_t specs;   /* its columns: "name TYPE" */
};

/* Rows of one output chunk, by column: a value per cell (int64, double
 * bits, bool, or offset << 32 | length into bytes for text), a null flag. */
typedef struct s_batch {
    struct s_batch *next;
    idx_t n;
    uint64_t *val;  /* ncols × vsize */
    uint8_t *null;  /* ncols × vsize */
    ed_buf_t bytes; /* text of the batch */
} s_batch_t;

struct ed_lake_pqfile {
    ed_lake_parquet_t *pq;
    char *path;
    duckdb_connection con;
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    s_batch_t *head, *tail; /* queued for the writer */
    int queued;
    s_batch_t *spare; /* emptied batches, reused */
    s_batch_t *cur;   /* being filled (sink thread) */
    int eof;          /* no more rows (sink side) */
    int done;         /* the COPY ended (writer side) */
    int failed;       /* … with an error in err */
    char err[768];
};

static duckdb_type s_dtype(const ed_rec_col_t *c) {
    switch (c->type) {
    case ED_REC_BIGINT: return DUCKDB_TYPE_BIGINT;
    case ED_REC_DOUBLE: return DUCKDB_TYPE_DOUBLE;
    case ED_REC_BOOL: return DUCKDB_TYPE_BOOLEAN;
    case ED_REC_TIME: return DUCKDB_TYPE_TIMESTAMP_TZ; /* Parquet: isAdjustedToUTC=true */
    default: return DUCKDB_TYPE_VARCHAR;
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

/* Runs one statement on con; 0, or -1 with errstr. */
static int s_exec(duckdb_connection con, const char *sql, char *errstr, size_t n) {
    duckdb_result res;
    int rc = 0;
    if (duckdb_query(con, sql, &res) != DuckDBSuccess) {
        const char *e = duckdb_result_error(&res);
        snprintf(errstr, n, "DuckDB: %s", e ? e : "unknown error");
        rc = -1;
    }
    duckdb_destroy_result(&res);
    return rc;
}

/* ------------------------------------------------------ table function */

static void s_fn_bind(duckdb_bind_info info) {
    ed_lake_parquet_t *pq = duckdb_bind_get_extra_info(info);
    duckdb_value v = duckdb_bind_get_parameter(info, 0);
    ed_lake_pqfile_t *f = (ed_lake_pqfile_t *)(uintptr_t)duckdb_get_int64(v);
    duckdb_destroy_value(&v);
    for (int c = 0; c < pq->ncols; c++) {
        duckdb_logical_type t = duckdb_create_logical_type(s_dtype(&pq->cols[c]));
        duckdb_bind_add_result_column(info, pq->cols[c].name, t);
        duckdb_destroy_logical_type(&t);
    }
    duckdb_bind_set_bind_data(info, f, NULL);
}

static void s_fn_init(duckdb_init_info info) { duckdb_init_set_max_threads(info, 1); }

/* Hands DuckDB the next queued batch (waits for one), or ends the scan. */
static void s_fn_rows(duckdb_function_info info, duckdb_data_chunk out) {
    ed_lake_pqfile_t *f = duckdb_function_get_bind_data(info);
    ed_lake_parquet_t *pq = f->pq;
    pthread_mutex_lock(&f->mu);
    while (!f->head && !f->eof)
        pthread_cond_wait(&f->cv, &f->mu);
    s_batch_t *b = f->head;
    if (b) {
        f->head = b->next;
        if (!f->head)
            f->tail = NULL;
        f->queued--;
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    if (!b) {
        duckdb_data_chunk_set_size(out, 0);
        return;
    }
    idx_t vs = pq->vsize;
    for (int c = 0; c < pq->ncols; c++) {
        duckdb_vector vec = duckdb_data_chunk_get_vector(out, (idx_t)c);
        const uint64_t *val = b->val + (size_t)c * vs;
        const uint8_t *nul = b->null + (size_t)c * vs;
        void *data = duckdb_vector_get_data(vec);
        uint64_t *validity = NULL;
        for (idx_t r = 0; r < b->n; r++) {
            if (nul[r]) {
                if (!validity) {
                    duckdb_vector_ensure_validity_writable(vec);
                    validity = duckdb_vector_get_validity(vec);
                }
                duckdb_validity_set_row_invalid(validity, r);
                continue;
            }
            switch (pq->cols[c].type) {
            case ED_REC_BIGINT:
            case ED_REC_DOUBLE:
            case ED_REC_TIME: ((uint64_t *)data)[r] = val[r]; break;
            case ED_REC_BOOL: ((bool *)data)[r] = val[r] != 0; break;
            default:
                duckdb_vector_assign_string_element_len(vec, r, b->bytes.data + (val[r] >> 32),
                                                        (idx_t)(val[r] & 0xffffffffu));
                break;
            }
        }
    }
    duckdb_data_chunk_set_size(out, b->n);
    b->n = 0;
    ed_buf_reset(&b->bytes);
    pthread_mutex_lock(&f->mu);
    b->next = f->spare;
    f->spare = b;
    pthread_mutex_unlock(&f->mu);
}

/* ------------------------------------------------------------ writer set */

ed_lake_parquet_t *ed_lake_parquet_new(const char *sink, const ed_rec_col_t *cols, int ncols,
                                       int compression, char *errstr, size_t errstr_size) {
    ed_lake_parquet_t *pq = ed_calloc(1, sizeof *pq);
    pq->sink = sink;
    pq->cols = cols;
    pq->ncols = ncols;
    pq->vsize = duckdb_vector_size();
    pq->codec = compression == ED_LAKE_Z_SNAPPY ? "snappy"
                : compression == ED_LAKE_Z_GZIP ? "gzip"
                : compression == ED_LAKE_Z_NONE ? "uncompressed"
                                                : "zstd";
    char err[768];
    if (duckdb_open(NULL, &pq->db) != DuckDBSuccess || duckdb_connect(pq->db, &pq->con) != DuckDBSuccess) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s': DuckDB (in memory) cannot start", sink);
        ed_lake_parquet_destroy(&pq);
        return NULL;
    }
    /* One thread per query: each file's COPY runs in its own writer thread. */
    if (s_exec(pq->con, "SET threads = 1", err, sizeof err) != 0) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s': %s", sink, err);
        ed_lake_parquet_destroy(&pq);
        return NULL;
    }
    duckdb_table_function fn = duckdb_create_table_function();
    duckdb_table_function_set_name(fn, S_FN);
    duckdb_logical_type bt = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_table_function_add_parameter(fn, bt);
    duckdb_destroy_logical_type(&bt);
    duckdb_table_function_set_extra_info(fn, pq, NULL);
    duckdb_table_function_set_bind(fn, s_fn_bind);
    duckdb_table_function_set_init(fn, s_fn_init);
    duckdb_table_function_set_function(fn, s_fn_rows);
    duckdb_state st = duckdb_register_table_function(pq->con, fn);
    duckdb_destroy_table_function(&fn);
    if (st != DuckDBSuccess) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s': DuckDB: cannot register %s", sink,
                  S_FN);
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

/* --------------------------------------------------------------- a file */

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

static void *s_writer(void *arg) {
    ed_lake_pqfile_t *f = arg;
    ed_buf_t sql = ED_BUF_INIT;
    ed_buf_printf(&sql, "COPY (SELECT * FROM " S_FN "(%lld)) TO ", (long long)(uintptr_t)f);
    s_lit(&sql, f->path);
    ed_buf_printf(&sql, " (FORMAT parquet, COMPRESSION %s)", f->pq->codec);
    char err[768] = "";
    int rc = s_exec(f->con, sql.data, err, sizeof err);
    ed_buf_free(&sql);
    pthread_mutex_lock(&f->mu);
    f->done = 1;
    if (rc != 0 || !f->eof) { /* a scan ends only at eof: anything else is a failure */
        f->failed = 1;
        snprintf(f->err, sizeof f->err, "%s", rc != 0 ? err : "the COPY ended early");
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void s_batches_free(s_batch_t *b) {
    while (b) {
        s_batch_t *next = b->next;
        free(b->val);
        free(b->null);
        ed_buf_free(&b->bytes);
        free(b);
        b = next;
    }
}

static void s_file_free(ed_lake_pqfile_t *f) {
    s_batches_free(f->head);
    s_batches_free(f->spare);
    s_batches_free(f->cur);
    if (f->con)
        duckdb_disconnect(&f->con);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f->path);
    free(f);
}

ed_lake_pqfile_t *ed_lake_parquet_open(ed_lake_parquet_t *pq, const char *tmp, char *errstr,
                                       size_t errstr_size) {
    ed_lake_pqfile_t *f = ed_calloc(1, sizeof *f);
    f->pq = pq;
    f->path = ed_strdup(tmp);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (duckdb_connect(pq->db, &f->con) != DuckDBSuccess) {
        s_file_free(f);
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s': DuckDB: cannot connect for %s",
                  pq->sink, tmp);
        return NULL;
    }
    int e = pthread_create(&f->th, NULL, s_writer, f);
    if (e != 0) {
        s_file_free(f);
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s': cannot start the writer of %s: %s",
                  pq->sink, tmp, strerror(e));
        return NULL;
    }
    f->started = 1;
    return f;
}

const char *ed_lake_parquet_path(const ed_lake_pqfile_t *f) { return f->path; }

/* Queues f->cur (waiting while the queue is full); 0, or -1 if the writer
 * has ended. */
static int s_push(ed_lake_pqfile_t *f) {
    pthread_mutex_lock(&f->mu);
    while (f->queued >= S_QMAX && !f->done)
        pthread_cond_wait(&f->cv, &f->mu);
    int rc = f->done ? -1 : 0;
    if (rc == 0 && f->cur) {
        f->cur->next = NULL;
        if (f->tail)
            f->tail->next = f->cur;
        else
            f->head = f->cur;
        f->tail = f->cur;
        f->queued++;
        f->cur = NULL;
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int ed_lake_parquet_add(ed_lake_pqfile_t *f, const ed_rec_cell_t *row) {
    ed_lake_parquet_t *pq = f->pq;
    idx_t vs = pq->vsize;
    if (!f->cur) {
        pthread_mutex_lock(&f->mu);
        int failed = f->done;
        s_batch_t *b = f->spare;
        if (b)
            f->spare = b->next;
        pthread_mutex_unlock(&f->mu);
        if (failed)
            return -1;
        if (!b) {
            b = ed_calloc(1, sizeof *b);
            b->val = ed_malloc((size_t)pq->ncols * vs * sizeof *b->val);
            b->null = ed_malloc((size_t)pq->ncols * vs);
        }
        b->next = NULL;
        f->cur = b;
    }
    s_batch_t *b = f->cur;
    idx_t r = b->n;
    for (int c = 0; c < pq->ncols; c++) {
        const ed_rec_cell_t *v = &row[c];
        size_t k = (size_t)c * vs + r;
        b->null[k] = (uint8_t)(v->null != 0);
        if (v->null) {
            b->val[k] = 0;
            continue;
        }
        switch (pq->cols[c].type) {
        case ED_REC_BIGINT:
        case ED_REC_BOOL: b->val[k] = (uint64_t)v->i; break;
        case ED_REC_TIME: b->val[k] = (uint64_t)(v->i * 1000); break; /* ms → µs */
        case ED_REC_DOUBLE: memcpy(&b->val[k], &v->d, sizeof v->d); break;
        default: {
            size_t len = v->len > 0xffffffffu ? 0xffffffffu : v->len;
            b->val[k] = (uint64_t)b->bytes.len << 32 | len;
            ed_buf_append(&b->bytes, v->str, len);
            break;
        }
        }
    }
    if (++b->n == vs || b->bytes.len > (1u << 30))
        return s_push(f);
    return 0;
}

/* Ends the rows (eof after what is queued) and joins the thread. */
static void s_end(ed_lake_pqfile_t *f, int abort) {
    if (!f->started)
        return;
    if (!abort && f->cur && f->cur->n)
        s_push(f);
    pthread_mutex_lock(&f->mu);
    if (abort) { /* drop what is queued: the scan ends at once */
        s_batches_free(f->head);
        f->head = f->tail = NULL;
        f->queued = 0;
    }
    f->eof = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    f->started = 0;
}

int ed_lake_parquet_close(ed_lake_pqfile_t **f_p, char *errstr, size_t errstr_size) {
    ed_lake_pqfile_t *f = *f_p;
    s_end(f, 0);
    int rc = 0;
    if (f->failed) {
        rc = ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s': Parquet file %s: %s",
                       f->pq->sink, f->path, f->err);
        unlink(f->path);
    }
    s_file_free(f);
    *f_p = NULL;
    return rc < 0 ? -1 : 0;
}

void ed_lake_parquet_abort(ed_lake_pqfile_t **f_p) {
    if (!f_p || !*f_p)
        return;
    ed_lake_pqfile_t *f = *f_p;
    s_end(f, 1);
    unlink(f->path);
    s_file_free(f);
    *f_p = NULL;
}

/* ------------------------------------------------------ from a stage */

typedef struct {
    ed_lake_parquet_t *pq;
    ed_lake_pqfile_t *f;
    char err[512];
} s_conv_t;

/* One frame of the stage: its lines into cells, added to the file. */
static int s_frame(void *arg, const char *data, size_t len) {
    s_conv_t *cv = arg;
    ed_lake_parquet_t *pq = cv->pq;
    ed_batch_t *b = ed_batch_new(ED_BATCH_RECORDS, len + 4096);
    for (const char *p = data, *end = data + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l)
            ed_batch_add_record(b, NULL, 0, p, (uint32_t)l, 0);
        p += l + 1;
    }
    ed_batch_t *bs[] = {b};
    ed_sink_flush_t fl = {.records = bs, .nrecords = 1, .rows = b->count};
    size_t n = ed_sink_records_build(pq->back, &fl);
    int rc = 0;
    if (ed_sink_records_nrejects(pq->back)) {
        const ed_sink_reject_t *rj = ed_sink_records_reject(pq->back, 0);
        snprintf(cv->err, sizeof cv->err, "a staged line does not fit column %s: %s",
                 rj->column ? rj->column : "?", rj->why);
        rc = -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (ed_lake_parquet_add(cv->f, ed_sink_records_row(pq->back, i)) != 0)
            rc = -1; /* the writer failed: ed_lake_parquet_close says why */
    ed_batch_destroy(&b);
    return rc;
}

int ed_lake_parquet_convert(ed_lake_parquet_t *pq, const char *stage, const char *tmp,
                            char *errstr, size_t errstr_size) {
    s_conv_t cv = {.pq = pq};
    char err[1024] = "";
    cv.f = ed_lake_parquet_open(pq, tmp, err, sizeof err);
    if (!cv.f) {
        ed_seterr(errstr, errstr_size, ED_EIO, "%s", err);
        return -1;
    }
    int rc = ed_lake_stage_read(stage, s_frame, &cv, err, sizeof err);
    if (rc != 0 && cv.err[0]) { /* a line that does not fit: the file is not made */
        ed_lake_parquet_abort(&cv.f);
        snprintf(err, sizeof err, "%s", cv.err);
    } else if (ed_lake_parquet_close(&cv.f, err, sizeof err) != 0) {
        rc = -1; /* err: why the writer failed */
    }
    if (rc != 0) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s': Parquet file %s from %s: %s",
                  pq->sink, tmp, stage, err);
        return -1;
    }
    return 0;
}
