/*
 * ed_lake_files.h — the files of the lake sink (sinks/ed_sink_lake.c):
 * stage files that make records durable at each checkpoint, and their
 * publication as visible files by an atomic rename. Knows no record
 * layout and no Parquet: a stage holds zstd frames of JSON lines, and a
 * Parquet file is made from it by the caller's convert function.
 *
 * Names (all below the lake's root, in the partition's directory):
 *   part-<UTC yyyymmddThhmmssmmm>-<8 hex>-<seq>.<ext>   the visible file
 *   .part-….<ext>.stage     records of acked checkpoints, one zstd frame
 *                           (RFC 8878) per checkpoint, fsynced before the ack
 *   .part-….parquet.tmp     a Parquet file being written from its stage
 * where <ext> is "jsonl.zst" or "parquet". Readers that skip names starting
 * with '.' (Spark, Hive, pyarrow datasets, DuckDB globs of *.parquet) never
 * see a stage or a partial file.
 *
 * Publishing "jsonl.zst": fsync the stage and rename it to the visible name
 * (a concatenation of zstd frames is a valid zstd stream). "parquet": convert
 * the stage into the .tmp, fsync, rename it to the visible name, fsync the
 * directory, then remove the stage. Recovery (at the first write after a
 * start) completes what a crash left: a stage's torn last frame (a write cut
 * short) is cut off, and the stage is published — or only removed if its
 * visible file already exists (the crash came between rename and unlink);
 * a .tmp is removed (its stage is still there and is published again).
 *
 * Threads: a lake belongs to one sink instance (one worker thread).
 */
#ifndef ED_LAKE_FILES_H
#define ED_LAKE_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Makes the Parquet file `tmp` from the stage `stage` (both paths); returns
 * 0 or -1 with errstr. `arg` is the caller's. */
typedef int (*ed_lake_convert_fn)(void *arg, const char *stage, const char *tmp, char *errstr,
                                  size_t errstr_size);

/* One open stage file. */
typedef struct ed_lake_file ed_lake_file_t;

/* Takes the lake's lock (`<root>/.eddy-lake.lock`, flock: one eddy process
 * per lake path) into *lock_fd, creating root. Returns 0, or -1 with errstr
 * (another process holds it; root cannot be created). */
int ed_lake_lock(const char *root, int *lock_fd, char *errstr, size_t errstr_size);

/* Completes or removes every stage and temporary file under root (see
 * above); convert makes Parquet files (NULL: .parquet stages are an error).
 * *published and *removed count what it did. Returns 0, or -1 with errstr
 * naming the file (the rest is left for the next try). */
int ed_lake_recover(const char *root, ed_lake_convert_fn convert, void *arg, int *published,
                    int *removed, char *errstr, size_t errstr_size);

/* Opens a new stage file in directory root/dir (created with its parents)
 * for a visible file with extension ext ("jsonl.zst", "parquet"). Returns
 * it (owned; ed_lake_file_publish or _close), or NULL with errstr. */
ed_lake_file_t *ed_lake_file_open(const char *root, const char *dir, const char *ext,
                                  char *errstr, size_t errstr_size);

/* Appends len bytes as one zstd frame (compression level `level`) and
 * fsyncs the file. On failure the file is cut back to where it was and -1
 * returned with errstr (e.g. the disk is full). */
int ed_lake_file_append(ed_lake_file_t *f, const void *data, size_t len, int level,
                        char *errstr, size_t errstr_size);

/* Cuts the file back to where it was before the last successful append
 * (one step only). For a flush that failed after some of its partitions
 * were appended. Returns 0 or -1. */
int ed_lake_file_undo(ed_lake_file_t *f);

/* Bytes in the stage file (compressed), and the wall time it was opened
 * (ms since the epoch). */
uint64_t ed_lake_file_bytes(const ed_lake_file_t *f);
int64_t ed_lake_file_opened_ms(const ed_lake_file_t *f);

/* The visible file's path, relative to root ("dt=…/part-….parquet"). */
const char *ed_lake_file_name(const ed_lake_file_t *f);

/* The path of the Parquet file made from this stage before its rename
 * (root/dir/.part-….parquet.tmp: the `tmp` given to convert at
 * publication), into buf; returns buf. */
const char *ed_lake_file_tmp(const ed_lake_file_t *f, char *buf, size_t n);

/* The stage file's full path (borrowed: valid until the file is freed). */
const char *ed_lake_file_stage(const ed_lake_file_t *f);

/* Publishes the file (see above) and frees it, NULLing *f_p. An empty stage
 * is removed instead. On failure (convert failed, disk full) the stage
 * stays, *f_p is still freed, -1 is returned with errstr: publish it later
 * with ed_lake_stage_publish (else the next start's recovery does). */
int ed_lake_file_publish(ed_lake_file_t **f_p, ed_lake_convert_fn convert, void *arg,
                         char *errstr, size_t errstr_size);

/* Publishes the complete stage file at path `stage` whose publication
 * failed before (ed_lake_file_publish: the same steps). Idempotent: a stage
 * whose visible file exists is only removed. Returns 0, or -1 with errstr
 * (the stage stays, to be tried again). */
int ed_lake_stage_publish(const char *stage, ed_lake_convert_fn convert, void *arg, char *errstr,
                          size_t errstr_size);

/* Reads the JSON lines of a stage file frame by frame: calls fn with each
 * frame's bytes (borrowed for the call; lines end in '\n'). Stops at a torn
 * frame. Returns 0, the first non-zero return of fn, or -1 with errstr. */
int ed_lake_stage_read(const char *stage, int (*fn)(void *arg, const char *data, size_t len),
                       void *arg, char *errstr, size_t errstr_size);

#endif
