/*
 * ed_mariadb_conn.c — a mariadb sink's connection options, TLS and
 * retryable errors (see ed_mariadb_conn.h).
 */
#include "sinks/ed_mariadb_conn.h"

#include <errmsg.h>
#include <errno.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <string.h>

#include "runtime/ed_err.h"

const ed_conf_choice_t ed_my_tls_yesno[] = {
    {"true", ED_MY_TLS_YES, 0}, {"false", ED_MY_TLS_NO, 0}, {NULL, 0, 0}};

int ed_mariadb_tls_on(const ed_my_tls_opts_t *tls) {
    if (tls->ssl)
        return tls->ssl == ED_MY_TLS_YES;
    return tls->ssl_ca || tls->ssl_cert || tls->ssl_key;
}

int ed_mariadb_tls_validate(ed_conf_check_t *ck, const ed_my_tls_opts_t *tls) {
    const char *w = ed_conf_check_where(ck, "ssl");
    int rc = 0;
    const char *file = tls->ssl_ca ? "ssl_ca" : tls->ssl_cert ? "ssl_cert" : tls->ssl_key ? "ssl_key" : NULL;
    if (tls->ssl == ED_MY_TLS_NO && file)
        rc = ed_conf_check_err(ck, "ssl",
                               "ssl: false in %s beside %s, which needs TLS; remove one of them",
                               w, file);
    if (!!tls->ssl_cert != !!tls->ssl_key)
        rc = ed_conf_check_err(ck, tls->ssl_cert ? "ssl_cert" : "ssl_key",
                               "%s is given without %s in %s; a client certificate needs both "
                               "ssl_cert and ssl_key",
                               tls->ssl_cert ? "ssl_cert" : "ssl_key",
                               tls->ssl_cert ? "ssl_key" : "ssl_cert", w);
    if (tls->ssl_verify_server_cert && !ed_mariadb_tls_on(tls) && !rc)
        rc = ed_conf_check_err(ck, "ssl_verify_server_cert",
                               "ssl_verify_server_cert in %s applies to TLS connections, and TLS "
                               "is off; set ssl: true (or ssl_ca), or remove it",
                               w);
    return rc;
}

int ed_mariadb_tls_check_files(const ed_my_tls_opts_t *tls, const char *sink, char *errstr,
                               size_t errstr_size) {
    const struct {
        const char *key, *path, *what;
    } files[] = {
        {"ssl_ca", tls->ssl_ca, "the CA certificate file (PEM) that signed the server's certificate"},
        {"ssl_cert", tls->ssl_cert, "the client certificate file (PEM)"},
        {"ssl_key", tls->ssl_key, "the client certificate's private key file (PEM)"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (!files[i].path)
            continue;
        FILE *f = fopen(files[i].path, "r");
        if (!f)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "sink '%s': mariadb.%s: cannot read '%s': %s; give %s", sink,
                             files[i].key, files[i].path, strerror(errno), files[i].what);
        fclose(f);
    }
    return 0;
}

void ed_mariadb_conn_options(MYSQL *my, const ed_my_tls_opts_t *tls) {
    unsigned int connect_timeout = 5, io_timeout = 10;
    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
    mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
    mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* On every (re)connect: window bounds are DATETIME(3) in UTC, and the
     * session's NOW(), CURRENT_TIMESTAMP and TIMESTAMP columns (updated_at)
     * read in UTC too, whatever the server's time zone. */
    mysql_options(my, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    if (!ed_mariadb_tls_on(tls))
        return;
    /* Enforced: a server that offers no TLS is an error, not a silent
     * plain-text connection. */
    my_bool on = 1, verify = tls->ssl_verify_server_cert != ED_MY_TLS_NO;
    mysql_options(my, MYSQL_OPT_SSL_ENFORCE, &on);
    mysql_options(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    if (tls->ssl_ca)
        mysql_options(my, MYSQL_OPT_SSL_CA, tls->ssl_ca);
    if (tls->ssl_cert)
        mysql_options(my, MYSQL_OPT_SSL_CERT, tls->ssl_cert);
    if (tls->ssl_key)
        mysql_options(my, MYSQL_OPT_SSL_KEY, tls->ssl_key);
}

const char *ed_mariadb_hint(unsigned int err) {
    if (err == CR_SSL_CONNECTION_ERROR)
        return ", TLS: the server's certificate must be signed by the CA in ssl_ca and name the "
               "host; a client certificate needs ssl_cert and ssl_key signed by the server's CA";
    return "";
}

int ed_mariadb_retryable(unsigned int err) {
    if (err >= CR_MIN_ERROR && err <= CR_MAX_ERROR)
        return 1;
    switch (err) {
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_NO_SUCH_TABLE: /* dropped under us: CREATE it again on the retry */
    case ER_CON_COUNT_ERROR:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case ER_QUERY_INTERRUPTED:
    case ER_DISK_FULL:
    case ER_RECORD_FILE_FULL:
    case ER_OUT_OF_RESOURCES:
    case ER_OUTOFMEMORY:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_OPTION_PREVENTS_STATEMENT: /* read-only server (failover in progress) */
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_BAD_DB_ERROR:
        return 1;
    default:
        return 0;
    }
}
