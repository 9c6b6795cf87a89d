/*
 * ed_pg_conn.c — a postgres sink's connection parameters and TLS options
 * (see ed_pg_conn.h).
 */
#include "sinks/ed_pg_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_err.h"
#include "runtime/ed_alloc.h"

const ed_conf_choice_t ed_pg_sslmodes[] = {
    {"disable", ED_PG_SSL_DISABLE, 0},     {"allow", ED_PG_SSL_ALLOW, 0},
    {"prefer", ED_PG_SSL_PREFER, 0},       {"require", ED_PG_SSL_REQUIRE, 0},
    {"verify-ca", ED_PG_SSL_VERIFY_CA, 0}, {"verify-full", ED_PG_SSL_VERIFY_FULL, 0},
    {NULL, 0, 0}};

/* The TLS keywords, in the order of ed_pg_tls_opts_t's fields. */
static const char *const s_tls_kw[] = {"sslmode", "sslrootcert", "sslcert", "sslkey"};
enum { S_MODE, S_ROOT, S_CERT, S_KEY, S_NTLS };

static const char *s_mode_name(int mode) {
    for (const ed_conf_choice_t *c = ed_pg_sslmodes; c->name; c++)
        if (c->value == mode)
            return c->name;
    return NULL;
}

/* The sink's value of TLS keyword i, or NULL. */
static const char *s_tls_val(const ed_pg_tls_opts_t *tls, int i) {
    switch (i) {
    case S_MODE: return s_mode_name(tls->sslmode);
    case S_ROOT: return tls->sslrootcert;
    case S_CERT: return tls->sslcert;
    default: return tls->sslkey;
    }
}

static const char *s_ci_val(const PQconninfoOption *ci, const char *kw) {
    for (; ci && ci->keyword; ci++)
        if (ci->val && !strcmp(ci->keyword, kw))
            return ci->val;
    return NULL;
}

/* The first refused combination of the merged TLS settings v (sink's or
 * DSN's), as a sentence in buf; *key_i is the keyword it is about. NULL if
 * none. */
static const char *s_problem(const char *const v[S_NTLS], int *key_i, char *buf, size_t n) {
    const char *mode = v[S_MODE];
    if (!!v[S_CERT] != !!v[S_KEY]) {
        *key_i = v[S_CERT] ? S_CERT : S_KEY;
        snprintf(buf, n, "%s is given without %s; a client certificate needs both sslcert and "
                 "sslkey", s_tls_kw[*key_i], s_tls_kw[*key_i == S_CERT ? S_KEY : S_CERT]);
        return buf;
    }
    if (mode && !strcmp(mode, "disable")) {
        for (int i = S_ROOT; i < S_NTLS; i++)
            if (v[i]) {
                *key_i = i;
                snprintf(buf, n, "%s is given with sslmode disable, which never uses TLS; remove "
                         "it, or set sslmode: verify-full", s_tls_kw[i]);
                return buf;
            }
        return NULL;
    }
    int verify = mode && (!strcmp(mode, "verify-ca") || !strcmp(mode, "verify-full"));
    if (verify && !v[S_ROOT]) {
        *key_i = S_MODE;
        snprintf(buf, n, "sslmode %s checks the server's certificate, but sslrootcert is not "
                 "given; set sslrootcert to the CA certificate file (PEM) that signed it", mode);
        return buf;
    }
    if (v[S_ROOT] && !verify && !(mode && !strcmp(mode, "require"))) {
        *key_i = S_ROOT;
        snprintf(buf, n, "sslrootcert is given with sslmode %s, which never checks the server's "
                 "certificate; set sslmode: verify-full (or verify-ca)", mode ? mode : "prefer "
                 "(libpq's default)");
        return buf;
    }
    return NULL;
}

int ed_pg_tls_validate(ed_conf_check_t *ck, const ed_pg_tls_opts_t *tls, const char *dsn) {
    PQconninfoOption *ci = dsn ? PQconninfoParse(dsn, NULL) : NULL;
    const char *v[S_NTLS];
    int rc = 0;
    for (int i = 0; i < S_NTLS; i++) {
        const char *mine = s_tls_val(tls, i), *theirs = s_ci_val(ci, s_tls_kw[i]);
        if (mine && theirs)
            rc = ed_conf_check_err(ck, s_tls_kw[i],
                                   "%s is given both here and in the dsn of %s; give it once",
                                   s_tls_kw[i], ed_conf_check_where(ck, "dsn"));
        v[i] = mine ? mine : theirs;
    }
    char buf[400];
    int key_i = 0;
    if (!rc && s_problem(v, &key_i, buf, sizeof buf)) {
        /* At the sink's option when it gave it, else at the DSN. */
        const char *at = "dsn";
        if (s_tls_val(tls, key_i))
            at = s_tls_kw[key_i];
        else
            for (int i = 0; i < S_NTLS; i++)
                if (s_tls_val(tls, i)) {
                    at = s_tls_kw[i];
                    break;
                }
        rc = ed_conf_check_err(ck, at, "invalid TLS settings in %s: %s",
                               ed_conf_check_where(ck, "dsn"), buf);
    }
    PQconninfoFree(ci);
    return rc;
}

void ed_pg_tls_describe(const ed_pg_tls_opts_t *tls, const PQconninfoOption *ci, ed_buf_t *out) {
    for (int i = 0; i < S_NTLS; i++) {
        const char *v = s_tls_val(tls, i);
        if (!v)
            v = s_ci_val(ci, s_tls_kw[i]);
        if (v)
            ed_buf_printf(out, "%s%s=%s", out->len ? " " : "", s_tls_kw[i], v);
    }
}

const char *ed_pg_params_get(const ed_pg_params_t *pp, const char *kw) {
    for (int i = 0; pp->kw && pp->kw[i]; i++)
        if (!strcmp(pp->kw[i], kw))
            return pp->val[i];
    return NULL;
}

void ed_pg_params_free(ed_pg_params_t *pp) {
    PQconninfoFree(pp->opts);
    free(pp->kw);
    free(pp->val);
    *pp = (ed_pg_params_t){0};
}

/* What each file keyword holds, for the error of one that cannot be read. */
static const char *const s_file_what[] = {
    [S_ROOT] = "the CA certificate file (PEM) that signed the server's certificate",
    [S_CERT] = "the client certificate file (PEM)",
    [S_KEY] = "the client certificate's private key file (PEM)",
};

int ed_pg_params_init(ed_pg_params_t *pp, const char *sink, const char *dsn,
                      const ed_pg_tls_opts_t *tls, char *errstr, size_t errstr_size) {
    *pp = (ed_pg_params_t){0};
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    if (!opts) {
        int err = ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': invalid postgres.dsn: %s",
                            sink, perr ? perr : "out of memory");
        PQfreemem(perr);
        return err;
    }
    pp->opts = opts;
    int n = 0;
    for (PQconninfoOption *ci = opts; ci->keyword; ci++)
        n++;
    pp->kw = ed_calloc((size_t)n + 12, sizeof *pp->kw);
    pp->val = ed_calloc((size_t)n + 12, sizeof *pp->val);
    int k = 0;
    for (PQconninfoOption *ci = opts; ci->keyword; ci++)
        if (ci->val) {
            pp->kw[k] = ci->keyword;
            pp->val[k++] = ci->val;
        }

    const char *v[S_NTLS];
    for (int i = 0; i < S_NTLS; i++) {
        const char *mine = s_tls_val(tls, i), *theirs = ed_pg_params_get(pp, s_tls_kw[i]);
        if (mine && theirs) {
            ed_pg_params_free(pp);
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "sink '%s': postgres.%s is given both in the sink and in its dsn; "
                             "give it once",
                             sink, s_tls_kw[i]);
        }
        v[i] = mine ? mine : theirs;
        if (mine) {
            pp->kw[k] = s_tls_kw[i];
            pp->val[k++] = mine;
        }
    }
    char buf[400];
    int key_i = 0;
    if (s_problem(v, &key_i, buf, sizeof buf)) {
        ed_pg_params_free(pp);
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': invalid postgres TLS "
                         "settings: %s", sink, buf);
    }
    /* A missing file would otherwise be a connection failure retried for
     * ever; it is the config's fault, so the run does not start. */
    for (int i = S_ROOT; i < S_NTLS; i++) {
        if (!v[i])
            continue;
        FILE *f = fopen(v[i], "r");
        if (!f) {
            int e = errno;
            ed_pg_params_free(pp);
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "sink '%s': postgres.%s: cannot read '%s': %s; give %s", sink,
                             s_tls_kw[i], v[i], strerror(e), s_file_what[i]);
        }
        fclose(f);
    }

    /* eddy's defaults where the DSN does not say otherwise: bounded
     * timeouts, keepalives, and UTF8 (the key checks assume it). */
    static const char *const defaults[][2] = {
        {"connect_timeout", "5"},
        {"client_encoding", "UTF8"},
        {"keepalives", "1"},
        {"keepalives_idle", "10"},
        {"keepalives_interval", "3"},
        {"keepalives_count", "3"},
        {"fallback_application_name", "eddy"},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (!ed_pg_params_get(pp, defaults[i][0])) {
            pp->kw[k] = defaults[i][0];
            pp->val[k++] = defaults[i][1];
        }

    const char *host = ed_pg_params_get(pp, "host"), *hostaddr = ed_pg_params_get(pp, "hostaddr");
    const char *port = ed_pg_params_get(pp, "port");
    if (!host)
        host = hostaddr ? hostaddr : getenv("PGHOST");
    if (!port)
        port = getenv("PGPORT");
    snprintf(pp->addr, sizeof pp->addr, "postgres host=%s port=%s",
             host ? host : "(local socket)", port ? port : "5432");
    return 0;
}

const char *ed_pg_conn_hint(const char *msg) {
    if (strstr(msg, "certificate verify failed"))
        return " (the server's certificate is not signed by the CA in sslrootcert)";
    if (strstr(msg, "does not match host name"))
        return " (sslmode verify-full: connect by a name the certificate holds)";
    return "";
}
