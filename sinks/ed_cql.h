/*
 * ed_cql.h — a small C ABI over the ScyllaDB Rust driver (crate `scylla`
 * 1.x, CQL native protocol v4), for the cassandra sink. The wrapper is the
 * Rust crate in sinks/cassandra/ (src/lib.rs), built by the Makefile with
 * cargo into a static library; no C/C++ CQL driver is packaged for Debian.
 *
 * Each handle owns a tokio runtime (one worker thread) and one driver
 * session; every call blocks the calling thread until the request finished
 * or its timeout passed. A handle is used by one thread at a time.
 *
 * Errors: every fallible call returns ED_CQL_OK, ED_CQL_TRANSIENT (the
 * server or the network: connection refused or lost, timeouts, the node
 * unavailable, overloaded or bootstrapping: worth a retry) or
 * ED_CQL_PERMANENT (the request itself: CQL syntax, an invalid query, a
 * value the column's type does not take, missing permissions: the same
 * request fails again), and writes a NUL-terminated message into
 * err[0..errlen) (truncated to fit; err may be NULL when errlen is 0).
 * No Rust panic crosses this boundary: a panic inside the wrapper is
 * caught and reported as ED_CQL_PERMANENT with its message.
 */
#ifndef ED_CQL_H
#define ED_CQL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { ED_CQL_OK = 0, ED_CQL_TRANSIENT = 1, ED_CQL_PERMANENT = 2 };

typedef struct ed_cql ed_cql_t;           /* a connected session */
typedef struct ed_cql_stmt ed_cql_stmt_t; /* a statement prepared on one session */

/* How to connect. Strings are borrowed for the call. */
typedef struct {
    const char *contact_points;  /* comma-separated "host:port" (IPv6: "[::1]:9042"); the
                                    driver discovers the other nodes from these */
    const char *keyspace;        /* USE this keyspace (case-sensitive as written), or NULL */
    const char *consistency;     /* any, one, two, three, quorum, all, local_quorum,
                                    each_quorum, local_one (case-insensitive); NULL =
                                    local_quorum */
    uint32_t connect_timeout_ms; /* per TCP connect + handshake; 0 = 5000 */
    uint32_t request_timeout_ms; /* per request, retries inside the driver included;
                                    0 = 10000 */
} ed_cql_opts_t;

/* One bound value. */
typedef enum {
    ED_CQL_V_NULL = 0,   /* CQL null (a tombstone for a regular column) */
    ED_CQL_V_TEXT = 1,   /* text / varchar: str, len bytes of UTF-8 */
    ED_CQL_V_BIGINT = 2, /* bigint: i */
    ED_CQL_V_DOUBLE = 3, /* double: d */
    ED_CQL_V_BOOL = 4,   /* boolean: i (0 false, else true) */
    ED_CQL_V_TIME = 5,   /* timestamp: i = ms since the epoch, UTC */
} ed_cql_vtype_t;

typedef struct {
    int32_t type;    /* ed_cql_vtype_t */
    const char *str; /* TEXT: the bytes (not NUL-terminated; borrowed for the call) */
    size_t len;      /* TEXT: bytes of str */
    int64_t i;       /* BIGINT, BOOL, TIME */
    double d;        /* DOUBLE */
} ed_cql_value_t;

/* Connects to the cluster (resolving and reaching at least one contact
 * point, within connect_timeout_ms per attempt), with the consistency as
 * the default of every request and client-side monotonic write
 * timestamps (a late retry never overwrites a newer write).
 * On OK *out is the session (owned; ed_cql_close), else NULL. */
int ed_cql_connect(const ed_cql_opts_t *opts, ed_cql_t **out, char *err, size_t errlen);

/* Runs one unprepared statement without values (DDL: CREATE KEYSPACE,
 * CREATE TABLE …) and, for a schema change, waits until the nodes agree on
 * the schema. */
int ed_cql_query(ed_cql_t *c, const char *cql, char *err, size_t errlen);

/* Prepares `cql` (NUL-terminated) on the session; its `?` markers take the
 * values of ed_cql_write in order. On OK *out is the statement (owned;
 * ed_cql_stmt_free, before the session's ed_cql_close), else NULL. */
int ed_cql_prepare(ed_cql_t *c, const char *cql, ed_cql_stmt_t **out, char *err, size_t errlen);

/* Number of `?` markers of a prepared statement. */
size_t ed_cql_stmt_nparams(const ed_cql_stmt_t *s);

/* Executes prepared statement s for nrows rows of nparams values each
 * (vals[r * nparams + p], row-major; borrowed for the call), as nreq
 * requests: request k covers rows [req_end[k-1], req_end[k]) (req_end[-1]
 * = 0, req_end[nreq-1] = nrows, increasing). A one-row request is a plain
 * EXECUTE; a longer one an UNLOGGED BATCH of the statement per row (meant
 * for rows of one partition: such a batch is applied atomically on its
 * replica). Up to max_inflight requests (0 = 32) run concurrently. Returns
 * OK when every request succeeded; otherwise the worst outcome
 * (PERMANENT over TRANSIENT), the message of the first failed request, and
 * *failed_req (when not NULL) its index. Requests that succeeded before or
 * beside a failure stay written (each is an upsert; repeating them is
 * harmless). *requests (when not NULL) gets the number of requests sent. */
int ed_cql_write(ed_cql_t *c, const ed_cql_stmt_t *s, const ed_cql_value_t *vals, size_t nrows,
                 const size_t *req_end, size_t nreq, uint32_t max_inflight, size_t *failed_req,
                 uint64_t *requests, char *err, size_t errlen);

/* Frees a prepared statement. NULL-safe. */
void ed_cql_stmt_free(ed_cql_stmt_t *s);

/* Closes the session (its connections and runtime; waits for the runtime's
 * threads to stop, at most about a second). NULL-safe. */
void ed_cql_close(ed_cql_t *c);

#ifdef __cplusplus
}
#endif

#endif
