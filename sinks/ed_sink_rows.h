/*
 * ed_sink_rows.h — the changelog rows of one flush as the SQL upsert sinks
 * (postgres, mariadb) write them, and the table columns they go to.
 *
 * A row's identity is its (window, key): the key alone for a cumulative
 * aggregation, (window_start, window_end, key) for a windowed one. A flush
 * may hold the same identity more than once (two changelog batches from
 * different flush rounds); one INSERT … ON CONFLICT / ON DUPLICATE KEY UPDATE
 * may not touch a row twice, so duplicates are merged first: deltas summed,
 * min/max combined, avg kept as (sum, n) through the deltas and delta_n.
 * Rows are then sorted by (window_start, window_end, key bytes) so that
 * concurrent writers (several eddy processes in one consumer group) lock
 * rows in the same order and do not deadlock.
 *
 * The table of an aggregation has, for a windowed aggregation, the columns
 * window_start and window_end, then one column per key part (these leading
 * columns are the primary key), then per compute the columns its function
 * declares (actors/aggregate/ed_aggfn.h: its value, then companions such as
 * <avg>_sum, <avg>_n or <last>_ts), then updated_at; a plugin maps the
 * column kinds to its SQL dialect and writes each function's merge
 * expression with ed_sink_col_merge.
 *
 * Threads: an ed_sink_rows_t belongs to one sink instance and is used on its
 * worker thread only.
 */
#ifndef ED_SINK_ROWS_H
#define ED_SINK_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "actors/aggregate/ed_aggfn.h"
#include "runtime/ed_buf.h"
#include "sinks/ed_sink.h"

/* One merged row: a distinct (window, key) of the flush. */
typedef struct {
    const uint8_t *key;  /* composite key; borrowed from the flush's batch */
    uint32_t key_len;    /* bytes of key */
    int64_t window_start_ms; /* window start, ms since the epoch; 0 for cumulative */
    int64_t window_end_ms;   /* window end (exclusive), ms since the epoch; 0 for cumulative */
    int64_t delta_n;     /* records since the last flush, summed over merged rows */
    int64_t n;           /* records so far (the largest of the merged rows) */
    const double *delta; /* ncompute deltas (ed_change_t), merged */
    const double *value; /* ncompute values (ed_change_t), the newest / min / max */
} ed_sink_row_t;

/* What a table column holds. */
typedef enum {
    ED_SINK_COL_KEY,    /* key part `idx` */
    ED_SINK_COL_VALUE,  /* a column of compute `idx` (its value or a companion: def) */
    ED_SINK_COL_WINDOW, /* the window's start (idx 0) or end (idx 1) */
} ed_sink_col_role_t;

/* The SQL kind of a column; each plugin names the type in its dialect. */
typedef enum {
    ED_SINK_SQL_KEY = 0,                             /* key bytes; NOT NULL, in the primary key */
    ED_SINK_SQL_BIGINT = ED_AGGFN_BIGINT,            /* integer, NOT NULL DEFAULT 0 */
    ED_SINK_SQL_DOUBLE_SUM = ED_AGGFN_DOUBLE_SUM,    /* double, NOT NULL DEFAULT 0 */
    ED_SINK_SQL_DOUBLE = ED_AGGFN_DOUBLE,            /* double, nullable */
    ED_SINK_SQL_TIME = 15, /* a window bound: a UTC point in time with milliseconds, NOT NULL,
                              in the primary key (beyond the aggfn kinds, which may grow) */
} ed_sink_sql_t;

/* One column of the table, in statement order. */
typedef struct {
    ed_sink_col_role_t role;
    int idx;                   /* key part, compute index, or window bound (0 start, 1 end) */
    const ed_aggfn_t *fn;      /* the compute's function; NULL for a key part or bound */
    const ed_aggfn_col_t *def; /* the function's column; NULL for a key part or bound */
    ed_sink_sql_t sql;         /* what the column holds */
    const char *name;          /* key column, compute name (borrowed from the config) or
                                  "window_start" / "window_end" */
    const char *suffix;        /* "_sum", "_ts", … or NULL: the column is name + suffix */
} ed_sink_col_t;

/* Returns NULL if a key part (`len` bytes) can be written, else why not: a
 * static sentence for the rejection log. */
typedef const char *(*ed_sink_part_check_fn)(const uint8_t *part, size_t len);

/* What a row set is created from. Strings and `agg` are borrowed and must
 * outlive the row set (the config is immutable while the runtime runs). */
typedef struct {
    const ed_conf_aggregation_t *agg; /* the aggregation feeding the sink */
    const char *sink;                 /* sink name, for logs */
    const char *type;                 /* sink type ("postgres"), for logs */
    const char *table;                /* table name, for logs */
    size_t max_key;                   /* most bytes of all key parts together; 0 = no limit */
    ed_sink_part_check_fn check;      /* per key part; NULL = every part is fine */
} ed_sink_rows_conf_t;

typedef struct ed_sink_rows ed_sink_rows_t;

/* Creates an empty row set for `conf` (copied; see ed_sink_rows_conf_t for
 * what it borrows), with the table's columns laid out. Caller owns the
 * result; free it with ed_sink_rows_destroy. OOM aborts. */
ed_sink_rows_t *ed_sink_rows_new(const ed_sink_rows_conf_t *conf);

/* Frees the row set and NULLs *rs_p. NULL-safe. */
void ed_sink_rows_destroy(ed_sink_rows_t **rs_p);

/* Returns the table's columns (*ncols of them): window_start and
 * window_end for a windowed aggregation, key parts in key order, then per
 * compute its value (avg: then _sum and _n). Borrowed; valid until
 * ed_sink_rows_destroy. updated_at is not among them. */
const ed_sink_col_t *ed_sink_rows_cols(const ed_sink_rows_t *rs, int *ncols);

/* How many leading columns of ed_sink_rows_cols form the primary key (the
 * conflict target of the upsert): the key parts, plus the two window bounds
 * of a windowed aggregation. The columns after them are the ones an upsert
 * merges. */
int ed_sink_rows_npk(const ed_sink_rows_t *rs);

/* The plugin's part of one write, called in this order while each returns
 * OK; `ctx` is the plugin instance. Each returns OK, RETRY or DROP, filling
 * errstr on RETRY/DROP as for ed_sink_type_t.write. Also the ops of a
 * sink writing records (sinks/ed_sink_records.h). */
typedef struct ed_sink_rows_ops {
    /* Connects if not connected; counts a reconnect in stats->reconnects. */
    ed_write_result_t (*connect)(void *ctx, ed_sink_stats_t *stats, char *errstr,
                                 size_t errstr_size);
    /* Creates the table and prepares the upsert where this connection has
     * not done so yet. */
    ed_write_result_t (*prepare)(void *ctx, char *errstr, size_t errstr_size);
    /* Upserts all ed_sink_rows_count() rows in one transaction, adding the
     * statements it ran to *statements. */
    ed_write_result_t (*txn)(void *ctx, uint64_t *statements, char *errstr, size_t errstr_size);
} ed_sink_rows_ops_t;

/* Does one ed_sink_type_t.write for a SQL upsert sink: collects, checks,
 * merges and sorts the changelog rows of `flush` (borrowed for the call);
 * counts the refused rows and records in stats->rows_rejected and logs them
 * once per checkpoint, not again on a retry; then, if any row is left, calls
 * ops->connect, ->prepare and ->txn with `ctx` and counts the outcome in
 * `stats`: statements and rows_written on OK, rows_rejected on DROP.
 * Returns what the last op returned, or OK if there was nothing to write. */
ed_write_result_t ed_sink_rows_write(ed_sink_rows_t *rs, const ed_sink_flush_t *flush,
                                     ed_sink_stats_t *stats, const ed_sink_rows_ops_t *ops,
                                     void *ctx, char *errstr, size_t errstr_size);

/* The write after the rows are collected, shared by changelog rows and
 * records: if nrows > 0, runs ops->connect, ->prepare and ->txn with ctx;
 * on OK adds the statements and `accepted` to stats->rows_written, on DROP
 * adds `accepted` to stats->rows_rejected. Returns what the last op
 * returned, or OK for no rows. */
ed_write_result_t ed_sink_ops_run(const ed_sink_rows_ops_t *ops, void *ctx, size_t nrows,
                                  uint64_t accepted, ed_sink_stats_t *stats, char *errstr,
                                  size_t errstr_size);

/* Number of merged rows of the current flush (distinct (window, key)s
 * accepted). */
size_t ed_sink_rows_count(const ed_sink_rows_t *rs);

/* Row `i` (< ed_sink_rows_count) of the current flush, in (window, key)
 * order.
 * Borrowed; for the ops during ed_sink_rows_write only (keys point into the
 * flush's batches). */
const ed_sink_row_t *ed_sink_rows_get(const ed_sink_rows_t *rs, size_t i);

/* The number column `c` (sql BIGINT) of row `r` writes (its function's
 * `insert`: records since the last flush for count, delta_n for <avg>_n,
 * the time for <first>_ts), rounded; 0 if not finite. */
long long ed_sink_row_int(const ed_sink_row_t *r, const ed_sink_col_t *c);

/* The number column `c` (sql DOUBLE or DOUBLE_SUM) of row `r` writes: its
 * function's `insert` of the row's merged delta and value (the delta for
 * sum, the value for min/max/first/last, what the row adds on average for
 * avg). May be NaN or infinite: the plugin decides how to write those. */
double ed_sink_row_num(const ed_sink_row_t *r, const ed_sink_col_t *c);

/* The window bound column `c` (sql TIME) of row `r` holds, in ms since the
 * epoch. */
int64_t ed_sink_row_time(const ed_sink_row_t *r, const ed_sink_col_t *c);

/* Writes ms (since the epoch, UTC; may be negative) as "YYYY-MM-DD
 * HH:MM:SS.mmm" into buf (at least 32 bytes; n its size), the text both
 * SQL dialects read as a timestamp. Returns the length. */
size_t ed_sink_time_text(int64_t ms, char *buf, size_t n);

/* Writes a reference to column name + suffix (suffix may be NULL) of the
 * table into `out`: its current value (incoming = 0) or the value being
 * inserted (incoming = 1), in the plugin's dialect. */
typedef void (*ed_sink_ref_fn)(void *ctx, ed_buf_t *out, int incoming, const char *name,
                               const char *suffix);

/* Appends the merge expression of column `c` (role VALUE) to `out`: its
 * function's template (ed_aggfn_col_t.merge, or merge_mariadb when
 * `mariadb` and the function has one) with every column reference written
 * by `ref`. */
void ed_sink_col_merge(const ed_sink_col_t *c, int mariadb, ed_sink_ref_fn ref, void *ctx,
                       ed_buf_t *out);

/* Returns the name of a column that two of `agg`'s table columns (with
 * updated_at, and window_start/window_end when it is windowed) would
 * share, or NULL. `buf` (n bytes) is scratch and holds the
 * name; the result points into it. `nocase`: names compare ignoring ASCII
 * case (MariaDB). */
const char *ed_sink_cols_dup(const ed_conf_aggregation_t *agg, int nocase, char *buf, size_t n);

/* For the init of a SQL sink (postgres, mariadb, sqlite) of type `type`:
 * 0 if it has something to write (an aggregation feeds it, or `records`:
 * it writes records) and, for a changelog, no two columns of the
 * aggregation's table share a name (ed_sink_cols_dup; `nocase`: ignoring
 * ASCII case, `quote` the character the message quotes the name with);
 * else ED_EINVAL with errstr naming the sink and what to change. */
int ed_sink_sql_init_check(const ed_sink_ctx_t *sc, const char *type, int records, int nocase,
                           char quote, char *errstr, size_t errstr_size);

/* Prepares an empty open-addressing index for up to `entries` entries:
 * *slots_p becomes a power-of-two array of at least 16 and at least
 * 2 × entries slots (load ≤ 0.5), all 0 (= empty), reusing the old array
 * when it is large enough. *slots_p is owned by the caller (free()). */
void ed_sink_slots_reset(uint32_t **slots_p, size_t *nslots, size_t entries);

#endif
