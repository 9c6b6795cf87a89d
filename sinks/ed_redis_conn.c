/*
 * ed_redis_conn.c — Redis URLs and connections with timeouts (see the header).
 */
#include "sinks/ed_redis_conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "runtime/ed_common.h"

/* `url` for a message: the password (between the user's ':' and the last
 * '@') replaced by "***", so that no error repeats it. */
static const char *s_shown(const char *url, char *buf, size_t n) {
    const char *at = strrchr(url, '@');
    const char *from = strstr(url, "://");
    from = from && (!at || from < at) ? from + 3 : url;
    const char *colon = at ? memchr(from, ':', (size_t)(at - from)) : NULL;
    if (!colon)
        snprintf(buf, n, "%s", url);
    else
        snprintf(buf, n, "%.*s***%s", (int)(colon + 1 - url), url, at);
    return buf;
}

int ed_redis_addr_parse(ed_redis_addr_t *a, const char *url, const char *what, char *errstr,
                        size_t errstr_size) {
    char shown[512];
    memset(a, 0, sizeof *a);
    const char *p = url;
    if (!strncmp(p, "redis://", 8))
        p += 8;
    else if (strstr(p, "://"))
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "%s \"%s\" must look like redis://host:port[/db] "
                         "(TLS and unix sockets are not supported)",
                         what, s_shown(url, shown, sizeof shown));
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon && at > colon + 1)
            a->password = ed_strndup(colon + 1, (size_t)(at - colon - 1));
        size_t ulen = (size_t)((colon ? colon : at) - p);
        if (ulen >= sizeof a->user)
            goto bad;
        memcpy(a->user, p, ulen);
        a->user[ulen] = 0;
        p = at + 1;
    }
    const char *end = p + strcspn(p, "/");
    const char *host = p, *hend;
    const char *port = NULL;
    if (*p == '[') { /* [::1]:6379 */
        host = p + 1;
        hend = memchr(p, ']', (size_t)(end - p));
        if (!hend)
            goto bad;
        if (hend + 1 < end && hend[1] == ':')
            port = hend + 2;
    } else {
        hend = memchr(p, ':', (size_t)(end - p));
        if (hend)
            port = hend + 1;
        else
            hend = end;
    }
    if (hend == host || (size_t)(hend - host) >= sizeof a->host)
        goto bad;
    memcpy(a->host, host, (size_t)(hend - host));
    a->host[hend - host] = 0;
    a->port = 6379;
    if (port) {
        char *e;
        long v = strtol(port, &e, 10);
        if (e != end || v <= 0 || v > 65535)
            goto bad;
        a->port = (int)v;
    }
    a->db = 0;
    if (*end == '/' && end[1]) {
        char *e;
        long v = strtol(end + 1, &e, 10);
        if (*e || v < 0 || v > 1000000)
            goto bad;
        a->db = (int)v;
    }
    snprintf(a->addr, sizeof a->addr, "redis %s:%d/%d", a->host, a->port, a->db);
    return 0;
bad:
    ed_redis_addr_clear(a);
    return ed_seterr(errstr, errstr_size, ED_EINVAL,
                     "cannot parse %s \"%s\"; expected redis://[[user]:password@]host:port[/db]",
                     what, s_shown(url, shown, sizeof shown));
}

void ed_redis_addr_clear(ed_redis_addr_t *a) {
    if (!a)
        return;
    free(a->password);
    a->password = NULL;
}

/* Runs one command; 0 if the reply is not an error, else -1 with msg set. */
static int s_simple(redisContext *c, int argc, const char **argv, char *msg, size_t n) {
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
    if (!rep) {
        snprintf(msg, n, "%s", c->errstr[0] ? c->errstr : "I/O error");
        return -1;
    }
    int rc = rep->type == REDIS_REPLY_ERROR ? -1 : 0;
    if (rc)
        snprintf(msg, n, "%s", rep->str ? rep->str : "error");
    freeReplyObject(rep);
    return rc;
}

redisContext *ed_redis_open(const ed_redis_addr_t *a, const char *client_name, int timeout_ms,
                            char *errstr, size_t errstr_size) {
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(a->host, a->port, tv);
    if (!c || c->err) {
        ed_seterr(errstr, errstr_size, ED_EIO, "cannot connect: %s",
                  c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisEnableKeepAlive(c);
    char msg[256], db[16];
    int rc = 0;
    const char *what = "";
    if (a->password) {
        const char *argv[] = {"AUTH", a->user, a->password};
        what = "AUTH";
        rc = a->user[0] ? s_simple(c, 3, argv, msg, sizeof msg)
                        : s_simple(c, 2, (const char *[]){"AUTH", a->password}, msg, sizeof msg);
    }
    if (!rc && client_name) { /* names the connection in CLIENT LIST */
        char cname[128];
        snprintf(cname, sizeof cname, "%s", client_name);
        for (char *q = cname; *q; q++)
            if ((unsigned char)*q < 0x21 || (unsigned char)*q > 0x7e)
                *q = '_'; /* Redis refuses spaces and control characters */
        const char *argv[] = {"CLIENT", "SETNAME", cname};
        what = "CLIENT SETNAME";
        rc = s_simple(c, 3, argv, msg, sizeof msg);
    }
    if (!rc && a->db) {
        snprintf(db, sizeof db, "%d", a->db);
        const char *argv[] = {"SELECT", db};
        what = "SELECT";
        rc = s_simple(c, 2, argv, msg, sizeof msg);
    }
    if (rc) {
        ed_seterr(errstr, errstr_size, ED_EIO, "%s failed: %s", what, msg);
        redisFree(c);
        return NULL;
    }
    return c;
}

void ed_redis_sigpipe_block(ed_redis_sigpipe_t *sp) {
    sigset_t pipe, pend;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &sp->old);
    sp->was_pending = sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE) == 1;
}

void ed_redis_sigpipe_restore(ed_redis_sigpipe_t *sp) {
    sigset_t pipe, pend;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    if (!sp->was_pending && sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &sp->old, NULL);
}
