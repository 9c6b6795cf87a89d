/* ed_http.c — see ed_http.h. */
#define _GNU_SOURCE
#include "actors/http/ed_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "runtime/ed_common.h"

typedef struct {
    char *prefix;
    size_t len;
    int tree; /* prefix ends in '/': matches what starts with it */
    ed_http_handler_fn fn;
    void *ud;
} ed_route_t;

struct ed_http {
    const ed_conf_http_t *conf; /* borrowed */
    ed_route_t *routes;         /* fixed once started */
    int nroutes;
    struct MHD_Daemon *d;
    int port;
    struct ed_http_kept { /* what ed_http_keep handed over, freed last */
        void *ud;
        void (*free_fn)(void *);
    } *kept;
    int nkept;
};

struct ed_http_req {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *rest;
};

/* Per-connection request state between the calls of one request. */
typedef struct {
    int body; /* the request had a body */
} ed_req_state_t;

const char *ed_http_req_method(const ed_http_req_t *req) { return req->method; }
const char *ed_http_req_path(const ed_http_req_t *req) { return req->path; }
const char *ed_http_req_rest(const ed_http_req_t *req) { return req->rest; }

const char *ed_http_req_arg(const ed_http_req_t *req, const char *name) {
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v)
        return v;
    /* A name without '=' has no value; MHD reports it as present with NULL. */
    return MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name),
                                         NULL, NULL) == MHD_YES
               ? ""
               : NULL;
}

const char *ed_http_req_header(const ed_http_req_t *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void ed_http_error(ed_http_resp_t *resp, int status, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    resp->status = status;
    resp->content_type = "application/json";
    ed_buf_reset(&resp->body);
    ed_buf_puts(&resp->body, "{\"error\":");
    ed_buf_json_str(&resp->body, msg, strlen(msg));
    ed_buf_puts(&resp->body, "}\n");
}

ed_http_t *ed_http_new(const ed_conf_http_t *conf) {
    ed_http_t *h = ed_calloc(1, sizeof *h);
    h->conf = conf;
    return h;
}

int ed_http_route(ed_http_t *h, const char *prefix, ed_http_handler_fn fn, void *ud) {
    if (h->d || !prefix || prefix[0] != '/' || !fn)
        return ED_EINVAL;
    for (int i = 0; i < h->nroutes; i++)
        if (!strcmp(h->routes[i].prefix, prefix))
            return ED_EINVAL;
    h->routes = ed_realloc(h->routes, sizeof *h->routes * (size_t)(h->nroutes + 1));
    size_t n = strlen(prefix);
    h->routes[h->nroutes++] = (ed_route_t){.prefix = ed_strdup(prefix),
                                           .len = n,
                                           .tree = n > 1 && prefix[n - 1] == '/',
                                           .fn = fn,
                                           .ud = ud};
    return 0;
}

void ed_http_keep(ed_http_t *h, void *ud, void (*free_fn)(void *)) {
    h->kept = ed_realloc(h->kept, sizeof *h->kept * (size_t)(h->nkept + 1));
    h->kept[h->nkept++] = (struct ed_http_kept){.ud = ud, .free_fn = free_fn};
}

/* The route for path: an exact one, else the longest tree prefix; NULL. */
static const ed_route_t *s_match(const ed_http_t *h, const char *path) {
    const ed_route_t *best = NULL;
    for (int i = 0; i < h->nroutes; i++) {
        const ed_route_t *r = &h->routes[i];
        if (r->tree ? !strncmp(path, r->prefix, r->len) : !strcmp(path, r->prefix))
            if (!best || r->len > best->len || (!r->tree && best->tree && r->len == best->len))
                best = r;
    }
    return best;
}

/* Constant-time comparison of the Authorization header with the token: how
 * long it takes does not tell how much of a guess was right. */
static int s_authorized(const ed_http_t *h, struct MHD_Connection *conn) {
    const char *tok = h->conf->token;
    if (!tok)
        return 1;
    const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!a || strncasecmp(a, "Bearer ", 7) != 0)
        return 0;
    a += 7;
    size_t la = strlen(a), lt = strlen(tok);
    unsigned char diff = la != lt;
    for (size_t i = 0; i < lt; i++)
        diff |= (unsigned char)(tok[i] ^ (i < la ? a[i] : 0));
    return diff == 0;
}

/* Queues resp (body taken) on conn; returns MHD's result. */
static enum MHD_Result s_send(struct MHD_Connection *conn, ed_http_resp_t *resp, int www_auth) {
    size_t n = resp->body.len;
    char *data = resp->body.data ? resp->body.data : ed_strdup("");
    resp->body = (ed_buf_t)ED_BUF_INIT;
    struct MHD_Response *r = MHD_create_response_from_buffer(n, data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (www_auth)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"eddy\"");
    if (resp->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return rc;
}

/* The 404 answer: what is served here. */
static void s_not_found(const ed_http_t *h, const char *path, ed_http_resp_t *resp) {
    resp->status = 404;
    resp->content_type = "application/json";
    ed_buf_puts(&resp->body, "{\"error\":");
    char msg[600];
    snprintf(msg, sizeof msg, "no such path: %.500s", path);
    ed_buf_json_str(&resp->body, msg, strlen(msg));
    ed_buf_puts(&resp->body, ",\"paths\":[");
    for (int i = 0; i < h->nroutes; i++) {
        if (i)
            ed_buf_puts(&resp->body, ",");
        ed_buf_json_str(&resp->body, h->routes[i].prefix, h->routes[i].len);
    }
    ed_buf_puts(&resp->body, "]}\n");
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **req_cls) {
    ed_http_t *h = cls;
    ed_req_state_t *st = *req_cls;
    ed_http_resp_t resp = {.status = 200, .content_type = "text/plain; charset=utf-8"};
    if (!st) {
        /* First call: headers only. Refuse early what will not be served, so
         * a client does not send a body for nothing. */
        st = ed_calloc(1, sizeof *st);
        *req_cls = st;
        if (!s_authorized(h, conn)) {
            ed_http_error(&resp, 401, "missing or wrong bearer token; send Authorization: "
                                      "Bearer TOKEN (runtime.http token)");
            return s_send(conn, &resp, 1);
        }
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
            ed_http_error(&resp, 405, "method %.32s not allowed; expected GET or HEAD", method);
            return s_send(conn, &resp, 0);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        /* No route takes a body: it is discarded, and refused at its end
         * (libmicrohttpd answers only once the upload is complete). */
        *upload_size = 0;
        st->body = 1;
        return MHD_YES;
    }
    if (st->body) {
        ed_http_error(&resp, 413, "a request body is not expected on %.200s", url);
        return s_send(conn, &resp, 0);
    }
    const ed_route_t *r = s_match(h, url);
    if (!r) {
        s_not_found(h, url, &resp);
        return s_send(conn, &resp, 0);
    }
    ed_http_req_t req = {.conn = conn, .method = method, .path = url, .rest = url + r->len};
    if (!r->tree)
        req.rest = "";
    r->fn(r->ud, &req, &resp);
    return s_send(conn, &resp, 0);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                        enum MHD_RequestTerminationCode toe) {
    free(*req_cls);
    *req_cls = NULL;
}

/* libmicrohttpd's own errors (cannot accept, out of memory), into eddy's log. */
static void s_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = 0;
    ED_LOG_W("http", "%s", msg);
}

int ed_http_start(ed_http_t *h, char *errstr, size_t errstr_size) {
    const ed_conf_http_t *c = h->conf;
    struct sockaddr_storage ss = {0};
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (strchr(c->host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)c->port);
        if (inet_pton(AF_INET6, c->host, &a6->sin6_addr) != 1)
            return ed_seterr(errstr, errstr_size, ED_EINVAL, "http: bad address %s", c->host);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)c->port);
        if (inet_pton(AF_INET, c->host, &a4->sin_addr) != 1)
            return ed_seterr(errstr, errstr_size, ED_EINVAL, "http: bad address %s", c->host);
    }
    /* The server's threads take no signals: the process handles SIGINT and
     * SIGTERM on one thread (ed_plan_run), and a signal delivered to a
     * thread that does not block it would end the process. Threads inherit
     * the mask of their creator. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    h->d = MHD_start_daemon(flags, (uint16_t)c->port, NULL, NULL, s_access, h,
                            MHD_OPTION_EXTERNAL_LOGGER, s_log, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)ED_HTTP_THREADS,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)ED_HTTP_MAX_CONNS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ED_HTTP_TIMEOUT_S,
                            MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!h->d)
        return ed_seterr(errstr, errstr_size, ED_ERR,
                         "cannot serve HTTP on %s (runtime.http listen): the address is in use "
                         "or not local; choose another port or stop what listens there",
                         c->listen);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : c->port;
    return 0;
}

int ed_http_port(const ed_http_t *h) { return h->d ? h->port : 0; }

void ed_http_destroy(ed_http_t **h_p) {
    ed_http_t *h = *h_p;
    if (!h)
        return;
    if (h->d)
        MHD_stop_daemon(h->d);
    for (int i = 0; i < h->nroutes; i++)
        free(h->routes[i].prefix);
    free(h->routes);
    for (int i = 0; i < h->nkept; i++)
        if (h->kept[i].free_fn)
            h->kept[i].free_fn(h->kept[i].ud);
    free(h->kept);
    free(h);
    *h_p = NULL;
}
