/* ed_conf_http.c — runtime.http: the rows of the HTTP endpoint's config and
 * the checks that need several of them (see ed_conf_sections.h).
 *
 * The endpoint is safe by default: it listens on loopback; another address
 * needs `allow_remote: true`, and that needs a bearer token. The token is
 * never written in the YAML itself (a config file is shared, committed,
 * printed): it comes from a file (`token_file`) or from the environment
 * (`token: "${VAR}"`, nothing else in the value). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"

/* Longest token accepted (a bearer token is a few dozen characters). */
#define S_MAX_TOKEN 4096

/* Frees the token, wiping it first: it should not linger in freed memory. */
static void s_free_token(void *field) {
    char **t = field;
    if (!*t)
        return;
    explicit_bzero(*t, strlen(*t));
    free(*t);
    *t = NULL;
}

const ed_conf_map_t ed_conf_http_map[] = {
    {ED_CONF_STR, "listen", "127.0.0.1:9464", offsetof(ed_conf_http_t, listen), 0,
     "address and port to serve on: IPv4 `A.B.C.D:PORT`, IPv6 `[ADDR]:PORT` or "
     "`localhost:PORT`; loopback unless allow_remote",
     .expect = "HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464"},
    {ED_CONF_BOOL, "allow_remote", "false", offsetof(ed_conf_http_t, allow_remote), 0,
     "allow a listen address other than loopback; requires a bearer token (token_file or "
     "token)", .expect = "true or false"},
    {ED_CONF_STR, "token_file", NULL, offsetof(ed_conf_http_t, token_file), 0,
     "file holding the bearer token that every request must send (`Authorization: Bearer "
     "TOKEN`); surrounding white space is ignored",
     .expect = "a path, e.g. /etc/eddy/http.token"},
    {ED_CONF_CUSTOM, "token", NULL, offsetof(ed_conf_http_t, token), ED_CONF_SECRET,
     "the bearer token, only as an environment variable: `token: \"${EDDY_HTTP_TOKEN}\"` (a "
     "literal token is refused)",
     .doc_type = "`\"${VAR}\"`", .free = s_free_token},
    {ED_CONF_STR, "web_dir", NULL, offsetof(ed_conf_http_t, web_dir), 0,
     "directory of the dashboard's files served at `/` (docs/http.md#dashboard); default: "
     "`EDDY_WEB_DIR`, else `web/` beside the binary (`BIN/../web`, `BIN/../share/eddy/web`)",
     .expect = "a path, e.g. /usr/share/eddy/web"},
    {0}};

/* 1 if raw scalar text is exactly one ${NAME} reference (no default, no
 * literal text around it). */
static int s_only_var(const ed_node_t *v) {
    const char *s = v->text;
    size_t n = v->len;
    if (n < 4 || s[0] != '$' || s[1] != '{' || s[n - 1] != '}')
        return 0;
    for (size_t i = 2; i < n - 1; i++)
        if (!ed_conf_is_name_char((unsigned char)s[i], i == 2))
            return 0;
    return 1;
}

/* Trims white space at both ends of s in place; returns its new length. */
static size_t s_trim(char *s) {
    size_t n = strlen(s), b = 0;
    while (n && strchr(" \t\r\n", s[n - 1]))
        s[--n] = 0;
    while (b < n && strchr(" \t\r\n", s[b]))
        b++;
    memmove(s, s + b, n - b + 1);
    return n - b;
}

/* Reads the token of h->token_file into h->token; an error at node v. */
static int s_read_token_file(ed_conf_ctx_t *cx, const ed_node_t *v, ed_conf_http_t *h) {
    FILE *f = fopen(h->token_file, "rb");
    if (!f)
        return ed_conf_err(cx, v,
                           "cannot read token_file '%s' of runtime.http: %s; expected a "
                           "readable file holding the bearer token",
                           h->token_file, strerror(errno));
    char *buf = ed_calloc(1, S_MAX_TOKEN + 2);
    size_t n = fread(buf, 1, S_MAX_TOKEN + 1, f);
    fclose(f);
    int rc = 0;
    if (n > S_MAX_TOKEN)
        rc = ed_conf_err(cx, v, "token_file '%s' of runtime.http is longer than %d bytes; "
                                "expected one bearer token", h->token_file, S_MAX_TOKEN);
    else if (memchr(buf, 0, n) || s_trim(buf) == 0 || strpbrk(buf, " \t\r\n"))
        rc = ed_conf_err(cx, v,
                         "token_file '%s' of runtime.http holds no token; expected one bearer "
                         "token (printable, no white space inside) in the file",
                         h->token_file);
    if (rc < 0) {
        explicit_bzero(buf, S_MAX_TOKEN + 2);
        free(buf);
        return rc;
    }
    h->token = buf;
    return 0;
}

/* Parses h->listen into host, port and loopback; an error at node v. */
static int s_parse_listen(ed_conf_ctx_t *cx, const ed_node_t *v, ed_conf_http_t *h) {
    const char *s = h->listen, *colon = strrchr(s, ':');
    char host[sizeof h->host];
    size_t hl = colon ? (size_t)(colon - s) : 0;
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || hl == 0 || hl >= sizeof host || !colon[1] || *end || port < 1 || port > 65535)
        goto bad;
    memcpy(host, s, hl);
    host[hl] = 0;
    if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1) {
        h->loopback = a[0] == 127;
    } else if (s > h->listen && inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char one[16] = {[15] = 1};
        h->loopback = !memcmp(a, one, 16);
    } else {
        goto bad;
    }
    snprintf(h->host, sizeof h->host, "%s", host);
    h->port = (int)port;
    return 0;
bad:
    return ed_conf_err(cx, v,
                       "invalid value '%s' for 'listen' in runtime.http; expected HOST:PORT with "
                       "a numeric address or localhost and a port from 1 to 65535, e.g. "
                       "127.0.0.1:9464 or [::1]:9464",
                       h->listen);
}

int ed_conf_check_http(ed_conf_ctx_t *cx, const ed_node_t *hk, const ed_node_t *hv,
                       ed_conf_http_t *h) {
    h->enabled = 1;
    const ed_node_t *m = hv && !ed_node_is_null(hv) ? hv : NULL;
    const ed_node_t *lv = ed_node_given(m, "listen"), *tv = ed_node_given(m, "token");
    const ed_node_t *fv = ed_node_given(m, "token_file"), *rk = ed_node_getk(m, "allow_remote");
    int rc = 0;
    if (s_parse_listen(cx, lv ? lv : hk, h) < 0)
        rc = ED_EINVAL;
    if (tv && fv)
        return ed_conf_err(cx, tv, "runtime.http has both 'token' and 'token_file'; expected "
                                   "one of them");
    if (tv) {
        if (tv->type != ED_NODE_SCALAR || !s_only_var(tv))
            return ed_conf_err(cx, tv,
                               "'token' in runtime.http must come from the environment, not be "
                               "written in the file; expected token: \"${VAR}\" (one variable, "
                               "no default) or token_file: PATH");
        char *t = NULL;
        if (ed_conf_scalar(cx, tv, "token", "runtime.http", "a bearer token", 0, &t) < 0)
            return ED_EINVAL;
        if (strpbrk(t, " \t\r\n")) {
            s_free_token(&t);
            return ed_conf_err(cx, tv, "the token of runtime.http (from %.*s) holds white space; "
                                       "expected one bearer token", (int)tv->len, tv->text);
        }
        h->token = t;
    } else if (fv && s_read_token_file(cx, fv, h) < 0) {
        return ED_EINVAL;
    }
    if (rc == 0 && !h->loopback && !h->allow_remote)
        rc = ed_conf_err(cx, lv ? lv : hk,
                         "runtime.http listens on %s, which is not a loopback address; expected "
                         "127.0.0.1:PORT, or allow_remote: true with a bearer token (token_file: "
                         "PATH or token: \"${VAR}\") to serve other hosts",
                         h->listen);
    if (h->allow_remote && !h->token)
        rc = ed_conf_err(cx, rk,
                         "allow_remote in runtime.http needs a bearer token; expected token_file: "
                         "PATH or token: \"${VAR}\" beside it");
    return rc;
}
