/*
 * ed_pg_conn.h — the connection of a postgres sink: its TLS options
 * (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`, named as libpq names
 * them), their checks, and the libpq keyword/value arrays built from the
 * DSN, those options and eddy's defaults (bounded timeouts, keepalives,
 * UTF8, application name "eddy").
 *
 * A TLS option may be given in the sink or in the DSN, not in both. The
 * combinations that would not do what they seem to are refused:
 * a certificate or key with `sslmode: disable`, `sslcert` without
 * `sslkey` (or the reverse), `sslrootcert` with a mode that never checks
 * the server (`allow`, `prefer`, or no mode: libpq's default `prefer`),
 * and `verify-ca` / `verify-full` without `sslrootcert`.
 */
#ifndef ED_PG_CONN_H
#define ED_PG_CONN_H

#include <libpq-fe.h>
#include <stddef.h>

#include "config/ed_conf_map.h"
#include "runtime/ed_buf.h"

/* Values of `sslmode` (0: not given in the sink). */
enum {
    ED_PG_SSL_DISABLE = 1,
    ED_PG_SSL_ALLOW,
    ED_PG_SSL_PREFER,
    ED_PG_SSL_REQUIRE,
    ED_PG_SSL_VERIFY_CA,
    ED_PG_SSL_VERIFY_FULL,
};

/* The TLS options of a postgres sink, read by ED_PG_TLS_ROWS. */
typedef struct {
    int sslmode;       /* ED_PG_SSL_*, 0 = not given */
    char *sslrootcert; /* CA certificate file (PEM) that signed the server's certificate */
    char *sslcert;     /* client certificate file (PEM), with sslkey */
    char *sslkey;      /* the client certificate's private key file */
} ed_pg_tls_opts_t;

extern const ed_conf_choice_t ed_pg_sslmodes[];

/* Config-map rows of the TLS options, for a struct T whose field f is an
 * ed_pg_tls_opts_t. */
#define ED_PG_TLS_ROWS(T, f)                                                                       \
    {ED_CONF_ENUM, "sslmode", NULL, offsetof(T, f.sslmode), 0,                                     \
     "TLS to the server, as libpq's sslmode: `verify-full` (TLS, the certificate signed by "      \
     "`sslrootcert` and naming the host), `verify-ca` (signed, any name), `require` (TLS, "      \
     "unverified), `prefer`, `allow`, `disable`",                                                 \
     .choices = ed_pg_sslmodes, .doc_def = "the DSN's, else libpq's `prefer`"},                    \
        {ED_CONF_STR, "sslrootcert", NULL, offsetof(T, f.sslrootcert), 0,                          \
         "CA certificate file (PEM) that verifies the server's certificate; needs sslmode "       \
         "`verify-full`, `verify-ca` or `require`",                                                \
         .expect = "a file name"},                                                                 \
        {ED_CONF_STR, "sslcert", NULL, offsetof(T, f.sslcert), 0,                                  \
         "client certificate file (PEM) sent to the server (`cert` authentication), with "        \
         "`sslkey`",                                                                               \
         .expect = "a file name"},                                                                 \
        {ED_CONF_STR, "sslkey", NULL, offsetof(T, f.sslkey), 0,                                    \
         "private key file of `sslcert` (PEM, mode 0600 or stricter, as libpq requires)",         \
         .expect = "a file name"}

/* The validate part of the TLS options: records an error (at the option)
 * for each refused combination of tls and the DSN's own ssl* keywords
 * (dsn may be NULL, or one libpq cannot parse: then only tls is checked;
 * init reports the DSN). Returns 0 or ED_EINVAL. */
int ed_pg_tls_validate(ed_conf_check_t *ck, const ed_pg_tls_opts_t *tls, const char *dsn);

/* Appends " sslmode=… sslrootcert=…" for the TLS options that are set (the
 * sink's or the DSN's ci, which may be NULL): file names, never a secret. */
void ed_pg_tls_describe(const ed_pg_tls_opts_t *tls, const PQconninfoOption *ci, ed_buf_t *out);

/* Connection parameters of one sink. */
typedef struct {
    const char **kw;        /* keywords, NULL-terminated, for PQconnectdbParams */
    const char **val;       /* their values */
    PQconninfoOption *opts; /* the parsed DSN: owns most strings of kw/val */
    char addr[256];         /* "postgres host=… port=…", for messages (never the password) */
} ed_pg_params_t;

/* Builds *pp from dsn (borrowed) and tls (borrowed; must outlive *pp):
 * the DSN's keywords, the TLS options, then eddy's defaults where neither
 * set one. Checks again what ed_pg_tls_validate checks (the DSN may come
 * from the environment of the run) and that each file named is readable.
 * Returns 0, or ED_EINVAL with errstr naming sink `sink`, the option and
 * what to do (never the DSN's password); *pp is then empty. */
int ed_pg_params_init(ed_pg_params_t *pp, const char *sink, const char *dsn,
                      const ed_pg_tls_opts_t *tls, char *errstr, size_t errstr_size);

/* Frees what ed_pg_params_init made; NULL-safe, idempotent. */
void ed_pg_params_free(ed_pg_params_t *pp);

/* The value of keyword kw in pp (borrowed), or NULL. */
const char *ed_pg_params_get(const ed_pg_params_t *pp, const char *kw);

/* A hint to write after libpq's connection error msg: for a certificate
 * that failed verification, which option to check; else "". Static. */
const char *ed_pg_conn_hint(const char *msg);

#endif
