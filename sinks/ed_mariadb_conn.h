/*
 * ed_mariadb_conn.h — the connection of a mariadb sink: its TLS options
 * (`ssl`, `ssl_ca`, `ssl_cert`, `ssl_key`, `ssl_verify_server_cert`, after
 * MariaDB Connector/C's MYSQL_OPT_SSL_* options and the client's
 * --ssl-* flags), their checks, the options every connection gets
 * (timeouts, utf8mb4, UTC), and which errors are worth a retry.
 *
 * TLS is on when `ssl: true` or any of `ssl_ca`, `ssl_cert`, `ssl_key` is
 * given; it is then enforced (a server without TLS is refused) and, unless
 * `ssl_verify_server_cert: false`, the server's certificate must be
 * signed by `ssl_ca` (else by the system's CAs) and name the host.
 * Refused: `ssl: false` beside a certificate or key, `ssl_cert` without
 * `ssl_key` (or the reverse), `ssl_verify_server_cert` without TLS.
 */
#ifndef ED_MARIADB_CONN_H
#define ED_MARIADB_CONN_H

#include <mysql.h>
#include <stddef.h>

#include "config/ed_conf_map.h"

/* Values of the yes/no TLS options (0: not given). */
enum { ED_MY_TLS_YES = 1, ED_MY_TLS_NO };

/* The TLS options of a mariadb sink, read by ED_MARIADB_TLS_ROWS. */
typedef struct {
    int ssl;      /* ED_MY_TLS_*, 0 = not given */
    char *ssl_ca; /* CA certificate file (PEM) that verifies the server */
    char *ssl_cert; /* client certificate file (PEM), with ssl_key */
    char *ssl_key;  /* its private key file (PEM) */
    int ssl_verify_server_cert; /* ED_MY_TLS_*, 0 = not given (yes with TLS) */
} ed_my_tls_opts_t;

extern const ed_conf_choice_t ed_my_tls_yesno[];

/* Config-map rows of the TLS options, for a struct T whose field f is an
 * ed_my_tls_opts_t. */
#define ED_MARIADB_TLS_ROWS(T, f)                                                                  \
    {ED_CONF_ENUM, "ssl", NULL, offsetof(T, f.ssl), 0,                                             \
     "connect with TLS, and refuse a server without it (MYSQL_OPT_SSL_ENFORCE); on by itself "    \
     "when `ssl_ca`, `ssl_cert` or `ssl_key` is given",                                            \
     .choices = ed_my_tls_yesno, .doc_def = "`false`"},                                            \
        {ED_CONF_STR, "ssl_ca", NULL, offsetof(T, f.ssl_ca), 0,                                    \
         "CA certificate file (PEM) that must have signed the server's certificate (else the "    \
         "system's CAs)",                                                                          \
         .expect = "a file name"},                                                                 \
        {ED_CONF_STR, "ssl_cert", NULL, offsetof(T, f.ssl_cert), 0,                                \
         "client certificate file (PEM) sent to the server (a user created `REQUIRE X509`), "     \
         "with `ssl_key`",                                                                         \
         .expect = "a file name"},                                                                 \
        {ED_CONF_STR, "ssl_key", NULL, offsetof(T, f.ssl_key), 0,                                  \
         "private key file (PEM) of `ssl_cert`", .expect = "a file name"},                         \
        {ED_CONF_ENUM, "ssl_verify_server_cert", NULL, offsetof(T, f.ssl_verify_server_cert), 0,   \
         "with TLS: check that the server's certificate is signed by `ssl_ca` and names `host`; "  \
         "`false` encrypts without checking who answers (with `ssl_ca` given, Connector/C still "  \
         "checks the chain)",                                                                      \
         .choices = ed_my_tls_yesno, .doc_def = "`true` with TLS"}

/* 1 if the options turn TLS on. */
int ed_mariadb_tls_on(const ed_my_tls_opts_t *tls);

/* The validate part of the TLS options: records an error at the option
 * for each refused combination. Returns 0 or ED_EINVAL. */
int ed_mariadb_tls_validate(ed_conf_check_t *ck, const ed_my_tls_opts_t *tls);

/* For init: checks that each file the options name can be read. Returns
 * 0, or ED_EINVAL with errstr naming sink `sink`, the option, the file
 * and what it should hold. */
int ed_mariadb_tls_check_files(const ed_my_tls_opts_t *tls, const char *sink, char *errstr,
                               size_t errstr_size);

/* Sets the options of a new connection my (from mysql_init) before
 * mysql_real_connect: connect/read/write timeouts, utf8mb4, a UTC
 * session, and the TLS options of tls (borrowed; the library copies
 * them). */
void ed_mariadb_conn_options(MYSQL *my, const ed_my_tls_opts_t *tls);

/* A hint for a connection that failed with error number err, to write
 * after it ("" or ", …": TLS errors say which options to check). Static. */
const char *ed_mariadb_hint(unsigned int err);

/* 1 if a failure with error number err (mysql_errno) is connection-level
 * or passing trouble that a retry may cure: the client library's own
 * errors (2000–2999: server gone, lost, timeouts, TLS), deadlocks, lock
 * timeouts, a read-only or shutting-down server, refused logins. */
int ed_mariadb_retryable(unsigned int err);

#endif
