/* ed_common.c — see ed_common.h. */
#define _GNU_SOURCE
#include "runtime/ed_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static ed_log_level_t s_log_level = ED_LOG_INFO;

const char *ed_err_name(int err) {
    switch (err) {
    case ED_OK: return "ED_OK";
    case ED_ERR: return "ED_ERR";
    case ED_ENOMEM: return "ED_ENOMEM";
    case ED_EINVAL: return "ED_EINVAL";
    case ED_EAGAIN: return "ED_EAGAIN";
    case ED_EIO: return "ED_EIO";
    case ED_ENOENT: return "ED_ENOENT";
    case ED_ESTOP: return "ED_ESTOP";
    default: return "ED_E?";
    }
}

int ed_seterr(char *errstr, size_t errstr_size, int err, const char *fmt, ...) {
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

void ed_log_set_level(ed_log_level_t level) { s_log_level = level; }

void ed_log(ed_log_level_t level, const char *who, const char *fmt, ...) {
    if (level > s_log_level)
        return;
    static const char *names[8] = {"", "", "", "ERROR", "WARN", "", "INFO", "DEBUG"};
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "eddy: %04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s%s%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level & 7], who ? "[" : "",
                     who ? who : "", who ? "] " : "");
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    /* One write(2) per line so lines from different workers never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

static void s_oom(size_t size) {
    fprintf(stderr, "eddy: ERROR out of memory allocating %zu bytes; exiting\n", size);
    abort();
}

void *ed_malloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p)
        s_oom(size);
    return p;
}
void *ed_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        s_oom(n * size);
    return p;
}
void *ed_realloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q)
        s_oom(size);
    return q;
}
char *ed_strdup(const char *s) {
    char *p = strdup(s);
    if (!p)
        s_oom(strlen(s));
    return p;
}
char *ed_strndup(const char *s, size_t n) {
    char *p = strndup(s, n);
    if (!p)
        s_oom(n);
    return p;
}
