/*
 * ed_val.h — the value of one field of a decoded record, as the decoders
 * give it, and its conversion to a number.
 */
#ifndef ED_VAL_H
#define ED_VAL_H

#include <stddef.h>

typedef enum {
    ED_VAL_MISSING = 0, /* the record has no such field */
    ED_VAL_STRING,      /* ptr/len: the string contents, JSON escapes decoded */
    ED_VAL_NUMBER,      /* num: the value; ptr/len: its text */
    ED_VAL_BOOL,        /* num: 0 or 1; ptr/len: "true"/"false" */
    ED_VAL_NULL,        /* JSON null */
    ED_VAL_OTHER,       /* object or array; ptr/len: its raw JSON text */
} ed_val_type_t;

/* A field value; ptr is borrowed (valid during the emit call only). */
typedef struct {
    ed_val_type_t type;
    const char *ptr;
    size_t len;
    double num;
} ed_val_t;

/* Converts a value to a number: NUMBER and BOOL as they are, STRING if its
 * whole text parses with strtod (in the C locale) to a finite number.
 * Returns 0 and *out, or ED_EINVAL (MISSING, NULL, OTHER, empty or
 * non-numeric text, inf/nan). */
int ed_val_to_num(const ed_val_t *v, double *out);

/* strtod(3) in the C locale whatever the process locale is, so a
 * setlocale() elsewhere cannot turn "1.5" into 1. s is NUL-terminated; *end
 * (if end is not NULL) as strtod sets it. Thread-safe. */
double ed_val_strtod(const char *s, char **end);

#endif
