/*
 * ed_redis_conn.h — Redis addresses and connections (hiredis 0.14), shared by
 * the redis sink (sinks/ed_sink_redis.c) and `eddy top` (actors/top/).
 *
 * A URL is redis://[[user]:password@]host[:port][/db] ("host:port" is also
 * accepted; IPv6 as [::1]:6379). With a user, AUTH is sent as `AUTH user
 * password` (Redis 6 ACL users); without, as `AUTH password` (the default
 * user, requirepass). The password is kept out of every message: `addr`
 * names the server as "redis HOST:PORT/DB".
 */
#ifndef ED_REDIS_CONN_H
#define ED_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stddef.h>

typedef struct {
    char host[256]; /* host name or address, without brackets */
    int port;       /* TCP port; 6379 when the URL names none */
    int db;         /* database selected after connecting; 0 by default */
    char user[128]; /* ACL user name; "" when the URL names none (the default user) */
    char *password; /* owned; NULL when the URL carries none */
    char addr[320]; /* "redis 127.0.0.1:6379/0", for messages (no password) */
} ed_redis_addr_t;

/* Parses `url` into `*a` (which it overwrites; call ed_redis_addr_clear to
 * free what it holds). `what` names the setting in messages ("redis.url",
 * "-r"). Returns 0, or ED_EINVAL with errstr naming the URL (its password
 * shown as "***") and the expected form (TLS, unix sockets and other schemes
 * are refused by name). A user name longer than 127 bytes is refused. */
int ed_redis_addr_parse(ed_redis_addr_t *a, const char *url, const char *what, char *errstr,
                        size_t errstr_size);

/* Frees the password; `a` may be parsed again afterwards. NULL is a no-op. */
void ed_redis_addr_clear(ed_redis_addr_t *a);

/* Connects to `a` with `timeout_ms` for the connect and for every later
 * command (so no call blocks longer than that), enables TCP keep-alive, then
 * sends AUTH [user] password (when the URL has a password), CLIENT SETNAME `client_name`
 * (may be NULL: not sent; characters Redis refuses become '_') and SELECT
 * (db > 0). Returns an owned context (free it with redisFree), or NULL with
 * errstr saying what failed without naming the server ("cannot connect:
 * Connection refused", "AUTH failed: WRONGPASS …"): callers prefix their
 * own name and a->addr. */
redisContext *ed_redis_open(const ed_redis_addr_t *a, const char *client_name, int timeout_ms,
                            char *errstr, size_t errstr_size);

/* hiredis writes with write(2): if the server closed the connection (killed,
 * restarted) while a command is being sent, the kernel raises SIGPIPE, whose
 * default action ends the whole process. The runtime does not ignore it, so
 * a caller blocks it on its thread while it talks to Redis and the one its
 * write raised is discarded — what libpq did before MSG_NOSIGNAL. The write
 * then fails with EPIPE and is handled like any lost connection. */
typedef struct {
    sigset_t old;    /* the thread's mask before */
    int was_pending; /* a SIGPIPE was pending before: not ours to discard */
} ed_redis_sigpipe_t;

/* Blocks SIGPIPE on the calling thread; *sp keeps what to restore. */
void ed_redis_sigpipe_block(ed_redis_sigpipe_t *sp);

/* Discards a SIGPIPE raised since ed_redis_sigpipe_block (unless one was
 * pending before) and restores the thread's mask. */
void ed_redis_sigpipe_restore(ed_redis_sigpipe_t *sp);

#endif
