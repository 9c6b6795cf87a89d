/* ed_err.c — see ed_err.h. */
#include "runtime/ed_err.h"

#include <stdarg.h>
#include <stdio.h>

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
