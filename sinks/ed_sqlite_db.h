/*
 * ed_sqlite_db.h — what the sqlite sink (sinks/ed_sink_sqlite.c) and the
 * HTTP SQL routes (actors/http/ed_http_sql.c) share about a sink's SQLite
 * database (Debian libsqlite3, https://sqlite.org/c3ref/intro.html): where
 * it is, how a connection is opened, the SQL functions eddy adds.
 *
 * A sink's `path` is a file, or ":memory:": a database in memory shared
 * by the sink and the HTTP readers of the same process through SQLite's
 * memdb VFS (URI `file:/eddy-mem/<sink name>?vfs=memdb`; see
 * https://sqlite.org/src/file/src/memdb.c). It lives as long as one
 * connection to it is open: the sink keeps its connection for its whole
 * life, so the contents go when the process ends.
 *
 * Threads: the functions are pure or work on the connection given; a
 * connection is used by one thread at a time.
 */
#ifndef ED_SQLITE_DB_H
#define ED_SQLITE_DB_H

#include <sqlite3.h>
#include <stddef.h>

#include "config/ed_config.h"
#include "runtime/ed_buf.h"
#include "sinks/ed_sink_records.h"

/* The sink type name as configs write it. */
#define ED_SQLITE_TYPE "sqlite"

/* The options of a sqlite sink (its ed_conf_sink_t.opts), filled by the
 * config loader from the map in sinks/ed_sink_sqlite.c. */
typedef struct {
    char *path;              /* database file, or ":memory:" */
    int64_t busy_timeout_ms; /* how long a write waits for a lock another connection holds */
    char *table;             /* the table written; the link defaults it to the aggregation's */
    int64_t retention_ms;    /* windowed: windows ending this long before the newest window
                                end are deleted; 0 = kept */
    ed_sink_rec_opts_t rec;  /* records: mode, primary_key, columns */
} ed_sqlite_opts_t;

/* 1 if `sink` is a sqlite sink. */
int ed_sqlite_is_sink(const ed_conf_sink_t *sink);

/* The URI that opens sink `sink_name`'s database whose `path` option is
 * `path`: "file:/eddy-mem/<name>?vfs=memdb" for ":memory:", else
 * "file:<path>" with '%', '?' and '#' percent-encoded (a path relative to
 * the working directory stays relative). Written into buf (n bytes,
 * truncated); returns buf. *memdb (may be NULL) is set to 1 for ":memory:". */
const char *ed_sqlite_uri(const char *sink_name, const char *path, char *buf, size_t n,
                          int *memdb);

/* Registers on `db` the scalar functions GREATEST(x, …) and LEAST(x, …)
 * with PostgreSQL's semantics (NULL arguments ignored; NULL only when all
 * are NULL; numbers compared as numbers), which the upserts of min, max,
 * first and last use (actors/aggregate/ed_aggfn.c). Deterministic and
 * harmless, so the HTTP readers have them too. Returns an SQLite result
 * code (SQLITE_OK). */
int ed_sqlite_functions(sqlite3 *db);

/* Appends "name" to `out` as a quoted SQLite identifier (double quotes,
 * inner ones doubled), with `suffix` (may be NULL) appended to the name
 * first. */
void ed_sqlite_ident(ed_buf_t *out, const char *name, const char *suffix);

#endif
