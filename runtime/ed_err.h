/*
 * ed_err.h — error codes and the error-string helper.
 *
 * Conventions (see STYLE.md): functions return 0 on success or a negative
 * ed_err_t; anything that can fail on user input also fills a caller-provided
 * `char *errstr, size_t errstr_size` with one sentence naming what failed,
 * where (file:line:col, sink name, topic/partition/offset) and what to do.
 */
#ifndef ED_ERR_H
#define ED_ERR_H

#include <stddef.h>

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

#endif
