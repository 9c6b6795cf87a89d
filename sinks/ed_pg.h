/*
 * ed_pg.h — the state of one postgres sink instance, shared by its files:
 * ed_sink_postgres.c (options, connection, the flush's transaction) and
 * ed_pg_sql.c (DDL and statements, parameters, running a statement). Not
 * used elsewhere: the type is found by name in the sink registry.
 *
 * Threads: an ed_pg_t belongs to one sink instance and is used on its
 * worker thread only.
 */
#ifndef ED_PG_H
#define ED_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/ed_buf.h"
#include "sinks/ed_pg_conn.h"
#include "sinks/ed_sink.h"
#include "sinks/ed_sink_eo.h"
#include "sinks/ed_sink_records.h"
#include "sinks/ed_sink_rows.h"

/* A btree index entry must fit in a third of a page (2704 bytes incl.
 * headers); longer keys would fail the whole statement, so they are rejected
 * up front, like invalid UTF-8. */
#define ED_PG_MAX_KEY_BYTES 2600

typedef struct {
    const ed_conf_sink_t *sink;
    const ed_conf_aggregation_t *agg;
    const char *name;  /* sink name, for logs */
    const char *table; /* unquoted table name (the `table` option or the aggregation's) */
    ed_pg_params_t cp; /* connection parameters; cp.addr: "postgres host=… port=…" for errors */
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
    size_t set_at;  /* offset in tail of the SET list (t."c" = … EXCLUDED."c" …); 0 = none */
    ed_buf_t pbuf;  /* scratch: the array parameters, NUL-terminated */
    size_t *poff;   /* scratch: offsets into pbuf, one per column */
    const char **pval;
    ed_sink_rows_t *rows; /* changelog: the current flush's rows, merged and sorted */
    ed_sink_records_t *recs; /* records (`columns:`), instead of rows */
    const ed_rec_col_t *rcols; /* records: the columns (ncols of them), borrowed from recs */
    const int *rpk;            /* records: the primary key's column indexes (npk of them) */
    int upsert;                /* records: ON CONFLICT (key) DO UPDATE; 0: plain INSERT */
    const ed_sink_eo_t *eo;    /* exactly_once of the flush being written, or NULL */
    int copy_rows; /* flushes of at least this many rows go through COPY; 0 = never */
    int staged;    /* COPY: the stage exists and copy/merge are built for this connection */
    ed_buf_t copy;  /* COPY: "COPY … FROM STDIN" (the stage, or the table for a plain insert) */
    ed_buf_t update; /* COPY: UPDATE the table's rows of the stage's keys (empty: none) */
    ed_buf_t insert; /* COPY: INSERT the stage's rows of keys not in the table (empty: none) */
} ed_pg_t;

/* ---- ed_sink_postgres.c ---- */

/* Closes p's connection (NULL-safe) and forgets what was built on it. */
void ed_pg_close(ed_pg_t *p);

/* ---- ed_pg_sql.c ---- */

/* Copies libpq message `msg` (NULL: "unknown error") into dst (n bytes,
 * NUL-terminated) on one line: newlines and tabs become single spaces. */
void ed_pg_msg(char *dst, size_t n, const char *msg);

/* Appends name + suffix (suffix may be NULL) to b as a quoted identifier
 * (PQescapeIdentifier on p's open connection). */
void ed_pg_ident(ed_pg_t *p, ed_buf_t *b, const char *name, const char *suffix);

/* Appends p's table to b, quoted: "schema"."table" for `schema.table`. */
void ed_pg_table(ed_pg_t *p, ed_buf_t *b);

/* Appends the CREATE TABLE IF NOT EXISTS of p's table to ddl and builds
 * p->head ("INSERT INTO … (cols) ") and p->tail (" ON CONFLICT …", or empty
 * for a plain insert). Needs p's open connection (identifiers). */
void ed_pg_build_sql(ed_pg_t *p, ed_buf_t *ddl);

/* How ed_pg_cell wrote a value. */
enum {
    ED_PG_BARE,   /* text in dst, written as is (numbers, booleans) */
    ED_PG_BYTES,  /* bytes in *part (keys, record text): must be quoted or escaped */
    ED_PG_QUOTED, /* text in dst holding a space (times): quoted in an array literal */
    ED_PG_NULL,   /* SQL NULL */
};

/* Value of column j of row i (< the flush's rows) in PostgreSQL's text
 * form: into dst (n bytes; 64 suffice) or *part (borrowed: key bytes or a
 * record's text), its length in *len. Returns ED_PG_*. */
int ed_pg_cell(ed_pg_t *p, size_t i, int j, char *dst, size_t n, const uint8_t **part,
               size_t *len);

/* Appends the upsert (p->head, SELECT * FROM unnest($1::type[], …),
 * p->tail) to b: one parameter per column, one row per array element. */
void ed_pg_sql_upsert(ed_pg_t *p, ed_buf_t *b);

/* The type of column j's values in statements (text, int8, float8, bool,
 * timestamptz, jsonb): the unnest arrays' elements, the COPY stage's
 * columns. Static storage. */
const char *ed_pg_elem_type(const ed_pg_t *p, int j);

/* Appends column j's name to b, quoted. */
void ed_pg_col(ed_pg_t *p, ed_buf_t *b, int j);

/* Fills p->pval (ncols array literals, into p->pbuf) with rows [from,
 * from + nrows) for the upsert. */
void ed_pg_params(ed_pg_t *p, size_t from, size_t nrows);

/* Takes res (owned; NULL = out of memory) of statement `what` ("upsert",
 * "CREATE TABLE", …): OK if it succeeded; else fills errstr (what failed,
 * SQLSTATE, what to do), rolls the transaction back or closes a broken
 * connection, and returns RETRY or DROP (ed_sink.h). */
ed_write_result_t ed_pg_run(ed_pg_t *p, PGresult *res, const char *what, char *errstr,
                            size_t errstr_size);

/* ---- ed_pg_copy.c ---- */

/* What ed_pg_run calls the COPY path's INSERT of new keys: a unique
 * violation there (another writer inserted the key) is RETRY, not DROP. */
#define ED_PG_NEW_KEYS "INSERT of the stage's new keys"


/* Outside a transaction, once per connection (after ed_pg_build_sql):
 * creates the session's COPY stage, a temporary table pg_temp.eddy_stage
 * with p's columns (ON COMMIT DELETE ROWS), unless the flush is a plain
 * insert, which COPYs straight into the table; builds p->copy and
 * p->merge. Returns OK, or RETRY/DROP with errstr (ed_pg_run). */
ed_write_result_t ed_pg_copy_prepare(ed_pg_t *p, char *errstr, size_t errstr_size);

/* Inside the flush's transaction: writes all `total` rows of the flush
 * with one COPY (text format, PQputCopyData) into the stage, one UPDATE …
 * FROM it for the keys the table has and one INSERT … SELECT of the others
 * (or one COPY into the table for a plain insert), counting the statements
 * in *statements. Returns OK, or
 * RETRY/DROP with errstr and the transaction rolled back (ed_pg_run). */
ed_write_result_t ed_pg_copy_rows(ed_pg_t *p, size_t total, uint64_t *statements, char *errstr,
                                  size_t errstr_size);

#endif
