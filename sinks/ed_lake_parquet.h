/*
 * ed_lake_parquet.h — Parquet files for the lake sink, written by DuckDB
 * (its C API, libduckdb from `make deps`): the JSON lines of a stage file
 * (sinks/ed_lake_files.h) are read back into typed columns
 * (sinks/ed_sink_records.h), appended to an in-memory DuckDB table, and
 * written with `COPY … TO 'file' (FORMAT parquet, COMPRESSION …)`.
 *
 * Column types in the Parquet file: string → BYTE_ARRAY (UTF8), int64 →
 * INT64, double → DOUBLE, bool → BOOLEAN, timestamp → INT64
 * TIMESTAMP(isAdjustedToUTC=true, MICROS) (a DuckDB TIMESTAMPTZ column: an
 * instant, read as UTC by pyarrow, Spark, DuckDB whatever the reader's or the
 * writer's time zone), json → BYTE_ARRAY (UTF8, the JSON text).
 *
 * Threads: a writer belongs to one sink instance (one worker thread).
 */
#ifndef ED_LAKE_PARQUET_H
#define ED_LAKE_PARQUET_H

#include <stddef.h>

#include "sinks/ed_sink_records.h"

/* Compression of the files' column chunks. */
enum { ED_LAKE_Z_ZSTD = 1, ED_LAKE_Z_SNAPPY, ED_LAKE_Z_GZIP, ED_LAKE_Z_NONE };

typedef struct ed_lake_parquet ed_lake_parquet_t;

/* Creates a writer for ncols columns `cols` (borrowed; must outlive it) of
 * sink `sink` (borrowed, for messages), compression ED_LAKE_Z_*. Returns it
 * (owned), or NULL with errstr (DuckDB cannot start). */
ed_lake_parquet_t *ed_lake_parquet_new(const char *sink, const ed_rec_col_t *cols, int ncols,
                                       int compression, char *errstr, size_t errstr_size);

/* Writes the Parquet file `tmp` from the stage file `stage` (its records'
 * columns by name; a column missing from a line is NULL). Returns 0, or -1
 * with errstr naming the file. */
int ed_lake_parquet_convert(ed_lake_parquet_t *pq, const char *stage, const char *tmp,
                            char *errstr, size_t errstr_size);

/* Frees the writer and NULLs *pq_p. NULL-safe. */
void ed_lake_parquet_destroy(ed_lake_parquet_t **pq_p);

#endif
