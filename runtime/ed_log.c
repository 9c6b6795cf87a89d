/* ed_log.c — see ed_log.h. */
#define _GNU_SOURCE
#include "runtime/ed_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static ed_log_level_t s_log_level = ED_LOG_INFO;

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
