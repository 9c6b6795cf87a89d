/*
 * ed_buf.h — a growable byte buffer for building SQL statements, JSON and
 * Redis arguments. Always NUL-terminated (data[len] == 0) so it can be passed
 * to C string APIs; may still hold embedded NULs when binary data is appended.
 */
#ifndef ED_BUF_H
#define ED_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes used, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
} ed_buf_t;

#define ED_BUF_INIT {NULL, 0, 0}

/* Appends `n` bytes. OOM aborts (see ed_malloc). */
void ed_buf_append(ed_buf_t *b, const void *p, size_t n);
/* Appends a NUL-terminated string. */
void ed_buf_puts(ed_buf_t *b, const char *s);
/* Appends printf-formatted text. */
void ed_buf_printf(ed_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `n` bytes as a JSON string literal with quotes, escaping per
 * RFC 8259 §7 (", \, control characters as \u00XX). Bytes ≥ 0x80 are copied
 * as they are when they form valid UTF-8 and written as \u00XX (Latin-1
 * reading) when they do not, so the output is always valid UTF-8 JSON. */
void ed_buf_json_str(ed_buf_t *b, const char *s, size_t n);
/* Appends a double as JSON: integers without a fraction ("42"), others with
 * up to 17 significant digits; NaN and infinities as null. */
void ed_buf_json_num(ed_buf_t *b, double v);
/* Sets len to 0, keeping the allocation. */
void ed_buf_reset(ed_buf_t *b);
/* Frees the data; the buffer can be reused (it is reset to ED_BUF_INIT). */
void ed_buf_free(ed_buf_t *b);

#endif
