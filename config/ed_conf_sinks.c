/*
 * ed_conf_sinks.c — the `sinks:` section: one entry per sink, its type
 * block (postgres, mariadb, redis, kafka, null) and the common sink keys.
 * Checks against the feeding aggregation run later, in ed_conf_graph.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"


/* Percent-decodes n bytes of s into an owned string, or NULL if malformed. */
static char *s_pct_decode(const char *s, size_t n) {
    char *out = ed_malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        if (i + 2 >= n) {
            free(out);
            return NULL;
        }
        if (!isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2])) {
            free(out);
            return NULL;
        }
        char hex[3] = {s[i + 1], s[i + 2], 0};
        *o++ = (char)strtol(hex, NULL, 16);
        i += 2;
    }
    *o = 0;
    return out;
}

/* Parses "mysql://user[:password]@host[:port]/database" (or mariadb://) into
 * s->mariadb. Returns NULL, or what is wrong (never echoing the password). */
static const char *s_parse_mysql_url(const char *url, ed_conf_sink_t *s) {
    const char *p;
    if (!strncmp(url, "mysql://", 8))
        p = url + 8;
    else if (!strncmp(url, "mariadb://", 10))
        p = url + 10;
    else
        return "it does not start with mysql://";
    /* The password may hold '/' or '@': the host starts after the last '@'. */
    const char *at = strrchr(p, '@');
    const char *hp = at ? at + 1 : p;
    const char *slash = strchr(hp, '/');
    if (!slash || !slash[1])
        return "the database is missing";
    if (strchr(slash + 1, '?') || strchr(slash + 1, '/'))
        return "the database name contains '?' or '/' (URL options are not supported)";
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon ? colon : at;
        if (uend == p)
            return "the user is empty";
        if (!(s->mariadb.user = s_pct_decode(p, (size_t)(uend - p))))
            return "a %-escape in the user is malformed";
        if (colon && !(s->mariadb.password = s_pct_decode(colon + 1, (size_t)(at - colon - 1))))
            return "a %-escape in the password is malformed";
    }
    const char *hend = slash, *port = NULL;
    if (*hp == '[') {
        const char *rb = memchr(hp, ']', (size_t)(slash - hp));
        if (!rb)
            return "an IPv6 host misses its ']'";
        s->mariadb.host = ed_strndup(hp + 1, (size_t)(rb - hp - 1));
        if (rb + 1 < slash) {
            if (rb[1] != ':')
                return "the host is malformed";
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(hp, ':', (size_t)(slash - hp));
        if (colon) {
            hend = colon;
            port = colon + 1;
        }
        if (hend > hp)
            s->mariadb.host = ed_strndup(hp, (size_t)(hend - hp));
    }
    if (port) {
        int v = 0;
        if (port >= slash)
            return "the port is empty";
        for (const char *q = port; q < slash; q++) {
            if (!isdigit((unsigned char)*q) || (v = v * 10 + (*q - '0')) > 65535)
                return "the port is not a number from 1 to 65535";
        }
        if (v < 1)
            return "the port is not a number from 1 to 65535";
        s->mariadb.port = v;
    }
    if (!(s->mariadb.database = s_pct_decode(slash + 1, strlen(slash + 1))))
        return "a %-escape in the database is malformed";
    return NULL;
}

static int s_sink_mariadb(ed_conf_ctx_t *cx, const ed_node_t *m, const char *w, ed_conf_sink_t *s) {
    static const char *const keys[] = {"url", "host", "port", "user", "password", "database", NULL};
    int rc = ed_conf_keys(cx, m, w, keys);
    if (rc < 0)
        return rc;
    s->mariadb.port = 3306;
    const ed_node_t *urln = ed_node_given(m, "url");
    if (urln) {
        for (int i = 1; keys[i]; i++) {
            const ed_node_t *k = ed_node_getk(m, keys[i]);
            if (k)
                return ed_conf_err(cx, k,
                             "'%s' cannot be combined with 'url' in %s; expected either url: "
                             "mysql://user:password@host:port/database or host, port, user, "
                             "password and database",
                             keys[i], w);
        }
        char *url;
        if ((rc = ed_conf_scalar(cx, urln, "url", w, "mysql://user:password@host:port/database", 0,
                           &url)) < 0)
            return rc;
        const char *why = s_parse_mysql_url(url, s);
        free(url);
        if (why)
            return ed_conf_err(cx, urln,
                         "invalid 'url' in %s: %s; expected "
                         "mysql://user[:password]@host[:port]/database",
                         w, why);
    } else {
        int64_t port;
        if ((rc = ed_conf_get_str(cx, m, "host", w, "a host name or address", 0, NULL,
                            &s->mariadb.host)) < 0 ||
            (rc = ed_conf_get_int(cx, m, "port", w, 3306, 1, 65535, &port)) < 0 ||
            (rc = ed_conf_get_str(cx, m, "user", w, "a user name", 0, NULL, &s->mariadb.user)) < 0 ||
            (rc = ed_conf_get_str(cx, m, "password", w, "a password", ED_CR_EMPTY_OK, NULL,
                            &s->mariadb.password)) < 0 ||
            (rc = ed_conf_get_str(cx, m, "database", w, "a database name", ED_CR_REQ, NULL,
                            &s->mariadb.database)) < 0)
            return rc;
        s->mariadb.port = (int)port;
    }
    if (!s->mariadb.host)
        s->mariadb.host = ed_strdup("127.0.0.1");
    if (!s->mariadb.user)
        s->mariadb.user = ed_strdup("root");
    if (!s->mariadb.password)
        s->mariadb.password = ed_strdup("");
    return 0;
}

/* Checks a redis template ("top:{doc}"): braces balanced around names. */
static int s_check_template(ed_conf_ctx_t *cx, const ed_node_t *n, const char *t, const char *key,
                            const char *where) {
    for (const char *p = t; *p; p++) {
        if (*p == '}')
            return ed_conf_err(cx, n, "'%s' in %s has a '}' without '{'; expected {COLUMN} placeholders",
                         key, where);
        if (*p != '{')
            continue;
        const char *close = strchr(p, '}');
        if (!close || !ed_conf_valid_ident(p + 1, (size_t)(close - p - 1)))
            return ed_conf_err(cx, n,
                         "'%s' in %s has a malformed placeholder; expected {COLUMN} with COLUMN a "
                         "key column of the aggregation",
                         key, where);
        p = close;
    }
    return 0;
}

/* Which sink kinds a common sink key applies to (bit per ed_sink_kind_t). */
#define S_KBIT(k) (1u << (k))
typedef struct {
    const char *key;
    unsigned kinds;
    const char *for_what;
} s_applies_t;

static const s_applies_t s_sink_applies[] = {
    {"table", S_KBIT(ED_SINK_POSTGRES) | S_KBIT(ED_SINK_MARIADB), "postgres and mariadb sinks"},
    {"zset", S_KBIT(ED_SINK_REDIS), "redis sinks"},
    {"member", S_KBIT(ED_SINK_REDIS), "redis sinks"},
    {"score", S_KBIT(ED_SINK_REDIS), "redis sinks"},
    {"keep_top", S_KBIT(ED_SINK_REDIS), "redis sinks"},
};

int ed_conf_read_sink(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                      ed_conf_sink_t *s, ed_conf_sinkx_t *x) {
    static const char *const keys[] = {"postgres",   "mariadb",   "redis",  "kafka", "null",
                                       "table",      "zset",      "member", "score", "keep_top",
                                       "batch_rows", "retry_max", NULL};
    static const char *const kinds[] = {"postgres", "mariadb", "redis", "kafka", "null", NULL};
    s->name = ed_strdup(kn->text);
    s->pos = ed_conf_pos(cx, kn);
    s->from_agg = -1;
    char w[300], sw[340];
    snprintf(w, sizeof w, "sink '%s'", s->name);
    int rc, which;
    if ((rc = ed_conf_keys(cx, body, w, keys)) < 0 ||
        (rc = ed_conf_one_of(cx, kn, body, "sink", kinds, &which)) < 0)
        return rc;
    s->kind = (ed_sink_kind_t)(which + 1);
    const char *kname = kinds[which];
    const ed_node_t *m = ed_node_get(body, kname);
    snprintf(sw, sizeof sw, "%s of sink '%s'", kname, s->name);
    switch (s->kind) {
    case ED_SINK_POSTGRES: {
        static const char *const pk[] = {"dsn", NULL};
        if ((rc = ed_conf_want_map(cx, m, kname, w,
                             "postgres: { dsn: \"host=127.0.0.1 dbname=eddy\" }")) < 0 ||
            (rc = ed_conf_keys(cx, m, sw, pk)) < 0 ||
            (rc = ed_conf_get_str(cx, m, "dsn", sw, "a libpq connection string", ED_CR_REQ, NULL, &s->dsn)) <
                0)
            return rc;
        break;
    }
    case ED_SINK_MARIADB:
        if ((rc = ed_conf_want_map(cx, m, kname, w, "mariadb: { database: eddy }")) < 0 ||
            (rc = s_sink_mariadb(cx, m, sw, s)) < 0)
            return rc;
        break;
    case ED_SINK_REDIS: {
        static const char *const rk[] = {"url", NULL};
        if ((rc = ed_conf_want_map(cx, m, kname, w, "redis: { url: \"redis://127.0.0.1:6379\" }")) < 0 ||
            (rc = ed_conf_keys(cx, m, sw, rk)) < 0 ||
            (rc = ed_conf_get_str(cx, m, "url", sw, "redis://host:port[/db]", 0, "redis://127.0.0.1:6379",
                            &s->url)) < 0)
            return rc;
        if (strncmp(s->url, "redis://", 8))
            return ed_conf_err(cx, ed_node_get(m, "url"),
                         "invalid 'url' in %s; expected redis://host:port[/db]", sw);
        break;
    }
    case ED_SINK_KAFKA: {
        static const char *const kk[] = {"brokers", "topic", "properties", NULL};
        if ((rc = ed_conf_want_map(cx, m, kname, w,
                             "kafka: { brokers: \"127.0.0.1:9092\", topic: alerts }")) < 0 ||
            (rc = ed_conf_keys(cx, m, sw, kk)) < 0 ||
            (rc = ed_conf_get_str(cx, m, "brokers", sw, "host:port[,host:port…]", ED_CR_REQ, NULL,
                            &s->kafka.brokers)) < 0 ||
            (rc = ed_conf_get_str(cx, m, "topic", sw, "a topic name", ED_CR_REQ, NULL, &s->kafka.topic)) <
                0 ||
            (rc = ed_conf_get_props(cx, m, "properties", sw, &s->kafka.props, &s->kafka.nprops)) < 0)
            return rc;
        break;
    }
    case ED_SINK_NULL:
        if (!ed_node_is_null(m) && !(m->type == ED_NODE_MAP && m->npairs == 0) &&
            !(m->type == ED_NODE_SCALAR && !strcmp(m->text, "true")))
            return ed_conf_err(cx, m, "'null' in %s takes no settings; expected null: {} (or null: ~)",
                         w);
        break;
    }
    for (size_t i = 0; i < ED_ARRAY_SIZE(s_sink_applies); i++) {
        const ed_node_t *k = ed_node_getk(body, s_sink_applies[i].key);
        if (k && !(s_sink_applies[i].kinds & S_KBIT(s->kind)))
            return ed_conf_err(cx, k,
                         "key '%s' in %s does not apply to a %s sink; expected it in %s only",
                         s_sink_applies[i].key, w, kname, s_sink_applies[i].for_what);
    }
    if ((rc = ed_conf_get_str(cx, body, "table", w, "a table name", 0, NULL, &s->table)) < 0 ||
        (rc = ed_conf_get_str(cx, body, "zset", w, "a sorted-set key, e.g. top:words:{doc}", 0, NULL,
                        &s->zset)) < 0 ||
        (rc = ed_conf_get_str(cx, body, "member", w, "a member template, e.g. {word}", 0, NULL,
                        &s->member)) < 0 ||
        (rc = ed_conf_get_str(cx, body, "score", w, "a compute name of the aggregation", 0, NULL,
                        &s->score)) < 0 ||
        (rc = ed_conf_get_intv(cx, body, "keep_top", w, 0, 0, INT_MAX, &s->keep_top)) < 0 ||
        (rc = ed_conf_get_intv(cx, body, "batch_rows", w, 1000, 1, 1000000, &s->batch_rows)) < 0 ||
        (rc = ed_conf_get_dur(cx, body, "retry_max", w, 5000, 10, &s->retry_max_ms)) < 0)
        return rc;
    x->table = ed_node_given(body, "table");
    x->zset = ed_node_given(body, "zset");
    x->member = ed_node_given(body, "member");
    x->score = ed_node_given(body, "score");
    if (s->table && !ed_conf_valid_table(s->table))
        return ed_conf_err(cx, x->table,
                     "invalid table name '%s' in %s; expected a SQL identifier (letters, digits, "
                     "'_'; at most %d characters), optionally schema-qualified",
                     s->table, w, ED_CONF_MAX_IDENT);
    if (s->kind == ED_SINK_REDIS && !s->zset)
        return ed_conf_err(cx, kn,
                     "missing required key 'zset' in %s; expected zset: <sorted-set key, e.g. "
                     "top:words or top:words:{doc}>",
                     w);
    if (s->zset && (rc = s_check_template(cx, x->zset, s->zset, "zset", w)) < 0)
        return rc;
    if (s->member && (rc = s_check_template(cx, x->member, s->member, "member", w)) < 0)
        return rc;
    return 0;
}
