/*
 * ed_http_sql.h — read-only SQL over the sqlite sinks' databases on the
 * HTTP endpoint (docs/http.md, "SQL over the sqlite sinks"):
 *
 *   /v1/sql?q=SELECT…[&db=SINK][&limit=N]  {"columns": [...], "rows": [[...], ...],
 *                                           "row_count": n, "truncated": bool, "db": "SINK"}
 *   /a/<table>[?db=SINK]   every row of a table, as [{"col": value, …}, …]
 *   /c/<sql>[?db=SINK]     the query in the path, as [{"col": value, …}, …]
 *                          (the time-bucket counter tutorial's two paths)
 *
 * Each request opens its own connection to the database with
 * SQLITE_OPEN_READONLY, and SQLite itself refuses anything but reading: an
 * authorizer (sqlite3_set_authorizer) allows only SELECT, reads of tables
 * and columns, function calls (not load_extension) and recursive CTEs, so
 * writes, ATTACH, PRAGMA and transactions fail to prepare; only one
 * statement, which must be read-only (sqlite3_stmt_readonly). A progress
 * handler interrupts a query after ED_HTTP_SQL_TIMEOUT_MS; at most
 * ED_HTTP_SQL_MAX_ROWS rows (or `limit`) and ED_HTTP_SQL_MAX_BYTES of JSON
 * come back, `truncated` says when more were there. An invalid query gets
 * 400 with SQLite's message.
 *
 * Threads: handlers run on the HTTP server's threads, never on the
 * actors' workers; a file database is in WAL mode, so a reader never
 * blocks the sink that writes it (a ":memory:" database, shared through
 * the memdb VFS, has no WAL: a reader holds its read lock only while its
 * query runs, bounded by the time limit, and the sink waits for it within
 * its busy_timeout).
 */
#ifndef ED_HTTP_SQL_H
#define ED_HTTP_SQL_H

#include "actors/http/ed_http.h"
#include "config/ed_config.h"

#define ED_HTTP_SQL_TIMEOUT_MS 2000        /* a query is interrupted after this */
#define ED_HTTP_SQL_MAX_ROWS 10000         /* rows per answer, at most */
#define ED_HTTP_SQL_MAX_BYTES (8u << 20)   /* bytes of JSON rows per answer, about */
#define ED_HTTP_SQL_MAX_QUERY 65536        /* bytes of SQL text */

typedef struct ed_http_sql ed_http_sql_t;

/* The SQL routes' state for the sqlite sinks of `conf` (borrowed; must
 * outlive the result). Returns NULL when conf has no sqlite sink (then
 * there is nothing to route). Free with ed_http_sql_destroy. */
ed_http_sql_t *ed_http_sql_new(const ed_config_t *conf);

/* Adds /v1/sql, /a/ and /c/ to h, served from s (borrowed; must outlive
 * the server). Returns 0 or ED_EINVAL (a route already taken). */
int ed_http_sql_routes(ed_http_t *h, ed_http_sql_t *s);

/* Frees s and NULLs *s_p. NULL-safe. Destroy the server first. */
void ed_http_sql_destroy(ed_http_sql_t **s_p);

#endif
