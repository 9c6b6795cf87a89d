/*
 * ed_common.h — error codes, error-string helpers, logging and allocation
 * shared by every eddy module; includes the clocks (runtime/ed_clock.h).
 *
 * Conventions (see STYLE.md): functions return 0 on success or a negative
 * ed_err_t; anything that can fail on user input also fills a caller-provided
 * `char *errstr, size_t errstr_size` with one sentence naming what failed,
 * where (file:line:col, sink name, topic/partition/offset) and what to do.
 */
#ifndef ED_COMMON_H
#define ED_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/ed_clock.h"

/* Error codes: always negative so `if (rc < 0)` catches every one. */
typedef enum {
    ED_OK = 0,
    ED_ERR = -1,       /* generic failure; errstr says what */
    ED_ENOMEM = -2,    /* allocation failed */
    ED_EINVAL = -3,    /* invalid argument or input (bad config, bad record) */
    ED_EAGAIN = -4,    /* would block: mailbox full, retry later */
    ED_EIO = -5,       /* I/O or server error; usually retryable */
    ED_ENOENT = -6,    /* not found */
    ED_ESTOP = -7,     /* the actor or runtime is stopping */
} ed_err_t;

/* Returns a static, human-readable name of an ed_err_t ("ED_EAGAIN"). */
const char *ed_err_name(int err);

/* Formats into errstr (truncating safely) and returns `err`, so callers can
 * write `return ed_seterr(errstr, size, ED_EINVAL, "…", …);`.
 * errstr may be NULL (then nothing is written). */
int ed_seterr(char *errstr, size_t errstr_size, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Log levels, as in syslog. */
typedef enum { ED_LOG_ERROR = 3, ED_LOG_WARN = 4, ED_LOG_INFO = 6, ED_LOG_DEBUG = 7 } ed_log_level_t;

/* Sets the process-wide log threshold (default ED_LOG_INFO; env EDDY_LOG=debug
 * raises it). Call before the runtime starts; read-only afterwards. */
void ed_log_set_level(ed_log_level_t level);

/* Writes one line "eddy: <UTC ISO-8601 time> <LEVEL> [<who>] <message>" to stderr, atomically
 * (one write(2) per line). `who` names the actor or module; may be NULL. */
void ed_log(ed_log_level_t level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ED_LOG_E(who, ...) ed_log(ED_LOG_ERROR, who, __VA_ARGS__)
#define ED_LOG_W(who, ...) ed_log(ED_LOG_WARN, who, __VA_ARGS__)
#define ED_LOG_I(who, ...) ed_log(ED_LOG_INFO, who, __VA_ARGS__)
#define ED_LOG_D(who, ...) ed_log(ED_LOG_DEBUG, who, __VA_ARGS__)

/* Allocation that aborts the process with a message on failure: eddy treats
 * out-of-memory as fatal rather than threading ENOMEM through every path. */
void *ed_malloc(size_t size);
void *ed_calloc(size_t n, size_t size);
void *ed_realloc(void *p, size_t size);
char *ed_strdup(const char *s);
char *ed_strndup(const char *s, size_t n);

#define ED_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
