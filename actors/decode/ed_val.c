/* ed_val.c — see ed_val.h. */
#define _GNU_SOURCE /* strtod_l, newlocale */
#include "actors/decode/ed_val.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

/* The C locale for strtod_l; created once at load time (before any thread),
 * then read-only. */
static locale_t s_c_locale;
__attribute__((constructor)) static void s_init_c_locale(void) {
    s_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

double ed_val_strtod(const char *s, char **end) {
    return s_c_locale ? strtod_l(s, end, s_c_locale) : strtod(s, end);
}

int ed_val_to_num(const ed_val_t *v, double *out) {
    switch (v->type) {
    case ED_VAL_NUMBER:
    case ED_VAL_BOOL:
        *out = v->num;
        return 0;
    case ED_VAL_STRING:
        break;
    default:
        return ED_EINVAL;
    }
    if (v->len == 0)
        return ED_EINVAL;
    char small[64];
    char *buf = v->len < sizeof small ? small : ed_malloc(v->len + 1);
    memcpy(buf, v->ptr, v->len);
    buf[v->len] = '\0';
    char *end;
    double x = ed_val_strtod(buf, &end);
    int ok = end == buf + v->len && isfinite(x);
    if (buf != small)
        free(buf);
    if (!ok)
        return ED_EINVAL; /* not a number, or inf/nan, which would poison aggregates */
    *out = x;
    return 0;
}
