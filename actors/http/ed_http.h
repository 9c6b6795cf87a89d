/*
 * ed_http.h — eddy's embedded HTTP server (libmicrohttpd) and its route
 * table: the endpoint of `runtime.http` (docs/http.md).
 *
 * The server knows no pipeline: it listens where runtime.http says, checks
 * the bearer token when one is configured, answers GET and HEAD, and hands
 * each request to the route whose path prefix matches. Routes are added
 * before ed_http_start and are fixed afterwards. The pipeline's routes
 * (/healthz, /readyz, /metrics, /v1/pipeline) are in ed_http_pipeline.h;
 * another module adds its own the same way:
 *
 *   static void s_sql(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
 *       const char *q = ed_http_req_arg(req, "q");
 *       if (!q)
 *           return ed_http_error(resp, 400, "expected ?q=SELECT …");
 *       resp->content_type = "application/json";
 *       ed_buf_puts(&resp->body, "[]");
 *   }
 *   ed_http_route(http, "/v1/sql", s_sql, db);   // exactly /v1/sql
 *   ed_http_route(http, "/a/", s_table, db);     // /a/<anything>: ed_http_req_rest()
 *
 * Requests:
 *   - methods other than GET and HEAD get 405 (HEAD answers as GET, no body);
 *   - a request with a body gets 413 (no route takes one);
 *   - with a token configured, every path needs `Authorization: Bearer
 *     TOKEN` (compared in constant time); otherwise 401 with
 *     `WWW-Authenticate: Bearer`; the token is never logged;
 *   - a path no route matches gets 404 with a JSON list of the paths served;
 *   - at most ED_HTTP_MAX_CONNS connections at once, each closed after
 *     ED_HTTP_TIMEOUT_S seconds of inactivity.
 *
 * Threads: the server runs its own threads (a pool of ED_HTTP_THREADS, off
 * the actors' workers). Handlers run on them, possibly several at once, and
 * must only read what is safe to read from any thread (the plan's live
 * figures: ed_plan.h, Threads).
 */
#ifndef ED_HTTP_H
#define ED_HTTP_H

#include <stddef.h>

#include "config/ed_config.h"
#include "runtime/ed_buf.h"

#define ED_HTTP_THREADS 2
#define ED_HTTP_MAX_CONNS 64
#define ED_HTTP_TIMEOUT_S 10

typedef struct ed_http ed_http_t;
typedef struct ed_http_req ed_http_req_t;

/* What a handler answers. The server sets status 200, content type
 * "text/plain; charset=utf-8" and an empty body before the call. */
typedef struct {
    int status;               /* HTTP status code */
    const char *content_type; /* a static string (borrowed), e.g. "application/json" */
    ed_buf_t body;            /* the body; the server frees it */
} ed_http_resp_t;

/* A route's handler: fills *resp for req (both borrowed for the call). ud
 * is the pointer given to ed_http_route. Runs on a server thread. */
typedef void (*ed_http_handler_fn)(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp);

/* A server for `conf` (borrowed; must outlive the server), not listening
 * yet. Never NULL. */
ed_http_t *ed_http_new(const ed_conf_http_t *conf);

/* Adds a route before ed_http_start. `prefix` (copied) ending in '/'
 * matches every path that starts with it ("/a/" matches "/a/words");
 * otherwise, and for "/" itself, it matches that path only. The longest matching prefix wins.
 * Returns 0, or ED_EINVAL for a prefix not starting with '/' or already
 * routed, or after start. */
int ed_http_route(ed_http_t *h, const char *prefix, ed_http_handler_fn fn, void *ud);

/* Hands `ud` to the server: ed_http_destroy calls free_fn(ud) after the
 * server stopped (for what a route's handler reads, e.g. its directories).
 * free_fn may be NULL (nothing to free then). */
void ed_http_keep(ed_http_t *h, void *ud, void (*free_fn)(void *));

/* Starts listening on conf->host:conf->port. Returns 0, or ED_ERR with
 * errstr (the address is in use, not local, …). */
int ed_http_start(ed_http_t *h, char *errstr, size_t errstr_size);

/* The port it listens on (after ed_http_start), else 0. */
int ed_http_port(const ed_http_t *h);

/* Stops the server (waits for handlers running now) and frees it; NULLs
 * *h_p. NULL-safe. */
void ed_http_destroy(ed_http_t **h_p);

/* ---- reading a request (in a handler; results borrowed for the call) ---- */

/* "GET" or "HEAD". */
const char *ed_http_req_method(const ed_http_req_t *req);

/* The path, percent-decoded, without the query: "/a/words". */
const char *ed_http_req_path(const ed_http_req_t *req);

/* The path after the route's prefix: "words" for prefix "/a/"; "" for an
 * exact route. */
const char *ed_http_req_rest(const ed_http_req_t *req);

/* Query argument `name`, percent-decoded ("q" of "?q=SELECT%201"), "" for
 * a name without value, NULL if absent. */
const char *ed_http_req_arg(const ed_http_req_t *req, const char *name);

/* Request header `name` (case-insensitive), or NULL. */
const char *ed_http_req_header(const ed_http_req_t *req, const char *name);

/* ---- writing an answer ---- */

/* Sets status, content type application/json and the body
 * {"error": "<message>"} (escaped with ed_buf_json_str). */
void ed_http_error(ed_http_resp_t *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
