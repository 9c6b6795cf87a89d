/* ed_mariadb_url.c — see ed_mariadb_url.h. */
#include "sinks/ed_mariadb_url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

/* Percent-decodes n bytes of s into an owned string, or NULL if malformed. */
static char *s_pct_decode(const char *s, size_t n) {
    char *out = ed_malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
            !isxdigit((unsigned char)s[i + 2])) {
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

/* Replaces the string *dst by src (owned). */
static void s_set(char **dst, char *src) {
    free(*dst);
    *dst = src;
}

const char *ed_mariadb_url_parse(const char *url, char **user, char **password, char **host,
                                 int *port_p, char **database) {
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
        char *v;
        if (uend == p)
            return "the user is empty";
        if (!(v = s_pct_decode(p, (size_t)(uend - p))))
            return "a %-escape in the user is malformed";
        s_set(user, v);
        if (colon && !(v = s_pct_decode(colon + 1, (size_t)(at - colon - 1))))
            return "a %-escape in the password is malformed";
        if (colon)
            s_set(password, v);
    }
    const char *hend = slash, *port = NULL;
    if (*hp == '[') {
        const char *rb = memchr(hp, ']', (size_t)(slash - hp));
        if (!rb)
            return "an IPv6 host misses its ']'";
        s_set(host, ed_strndup(hp + 1, (size_t)(rb - hp - 1)));
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
            s_set(host, ed_strndup(hp, (size_t)(hend - hp)));
    }
    if (port) {
        int v = 0;
        if (port >= slash)
            return "the port is empty";
        for (const char *q = port; q < slash; q++)
            if (!isdigit((unsigned char)*q) || (v = v * 10 + (*q - '0')) > 65535)
                return "the port is not a number from 1 to 65535";
        if (v < 1)
            return "the port is not a number from 1 to 65535";
        *port_p = v;
    }
    char *db = s_pct_decode(slash + 1, strlen(slash + 1));
    if (!db)
        return "a %-escape in the database is malformed";
    s_set(database, db);
    return NULL;
}
