/*
 * ed_lake_parquet.h — Parquet files for the lake sink, written by DuckDB
 * (its C API, libduckdb from `make deps`) as a stream: each open file has a
 * writer thread running `COPY (SELECT * FROM <rows fed by eddy>) TO 'file'
 * (FORMAT parquet, COMPRESSION …)`; the sink thread hands it rows (copied
 * into column batches of DuckDB's vector size) through a bounded queue, and
 * DuckDB encodes and writes a row group each time it has one. Memory per
 * open file is bounded by the queue and DuckDB's row group (122,880 rows),
 * not by the file's size; a full queue makes ed_lake_parquet_add wait (the
 * sink's backpressure).
 *
 * Column types in the Parquet file: string → BYTE_ARRAY (UTF8), int64 →
 * INT64, double → DOUBLE, bool → BOOLEAN, timestamp → INT64
 * TIMESTAMP(isAdjustedToUTC=true, MICROS) (a DuckDB TIMESTAMPTZ column: an
 * instant, read as UTC by pyarrow, Spark, DuckDB whatever the reader's or the
 * writer's time zone), json → BYTE_ARRAY (UTF8, the JSON text).
 *
 * Threads: a writer set (ed_lake_parquet_t) and its files belong to one
 * sink instance (one worker thread); each open file adds one thread of its
 * own, started and joined here.
 */
#ifndef ED_LAKE_PARQUET_H
#define ED_LAKE_PARQUET_H

#include <stddef.h>

#include "sinks/ed_sink_records.h"

/* Compression of the files' column chunks. */
enum { ED_LAKE_Z_ZSTD = 1, ED_LAKE_Z_SNAPPY, ED_LAKE_Z_GZIP, ED_LAKE_Z_NONE };

typedef struct ed_lake_parquet ed_lake_parquet_t;

/* One Parquet file being written by its thread. */
typedef struct ed_lake_pqfile ed_lake_pqfile_t;

/* Creates a writer set for ncols columns `cols` (borrowed; must outlive it)
 * of sink `sink` (borrowed, for messages), compression ED_LAKE_Z_*. Returns
 * it (owned), or NULL with errstr (DuckDB cannot start). */
ed_lake_parquet_t *ed_lake_parquet_new(const char *sink, const ed_rec_col_t *cols, int ncols,
                                       int compression, char *errstr, size_t errstr_size);

/* Starts writing the Parquet file `tmp` (created, truncated). Returns it
 * (owned: ed_lake_parquet_close or _abort), or NULL with errstr. */
ed_lake_pqfile_t *ed_lake_parquet_open(ed_lake_parquet_t *pq, const char *tmp, char *errstr,
                                       size_t errstr_size);

/* Appends one row (ncols cells, copied) to the file. May wait for the
 * writer thread (bounded queue). Returns 0, or -1 once the writer has
 * failed (disk full, …; ed_lake_parquet_close says why): the caller then
 * makes the file again from its stage. */
int ed_lake_parquet_add(ed_lake_pqfile_t *f, const ed_rec_cell_t *row);

/* The path given to ed_lake_parquet_open. */
const char *ed_lake_parquet_path(const ed_lake_pqfile_t *f);

/* Ends the file: the last rows and the footer are written, the thread is
 * joined, *f_p freed and NULLed. The file is complete (not fsynced) when 0
 * is returned; -1 with errstr naming the file otherwise (the file is then
 * removed). */
int ed_lake_parquet_close(ed_lake_pqfile_t **f_p, char *errstr, size_t errstr_size);

/* Stops the file's thread, removes the file, frees *f_p and NULLs it.
 * NULL-safe. */
void ed_lake_parquet_abort(ed_lake_pqfile_t **f_p);

/* Writes the Parquet file `tmp` from the stage file `stage` (its JSON
 * lines' columns by name; a column missing from a line is NULL), streaming
 * as above. Returns 0, or -1 with errstr naming the file. */
int ed_lake_parquet_convert(ed_lake_parquet_t *pq, const char *stage, const char *tmp,
                            char *errstr, size_t errstr_size);

/* Frees the writer set and NULLs *pq_p (its files must be closed or
 * aborted first). NULL-safe. */
void ed_lake_parquet_destroy(ed_lake_parquet_t **pq_p);

#endif
