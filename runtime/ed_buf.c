/* ed_buf.c — see ed_buf.h. */
#include "runtime/ed_buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"
#include "runtime/ed_utf8.h"

static void s_grow(ed_buf_t *b, size_t need) {
    if (b->len + need + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + need + 1)
        cap *= 2;
    b->data = ed_realloc(b->data, cap);
    b->cap = cap;
}

void ed_buf_append(ed_buf_t *b, const void *p, size_t n) {
    s_grow(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void ed_buf_puts(ed_buf_t *b, const char *s) { ed_buf_append(b, s, strlen(s)); }

void ed_buf_printf(ed_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        ed_buf_append(b, tmp, (size_t)n);
        return;
    }
    s_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ed_buf_json_str(ed_buf_t *b, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    s_grow(b, n + 2);
    ed_buf_append(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ed_buf_append(b, e, 2);
            i++;
        } else if (c < 0x20) {
            ed_buf_printf(b, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            ed_buf_append(b, &p[i], 1);
            i++;
        } else {
            size_t l = ed_utf8_seq(p + i, n - i);
            if (l) {
                ed_buf_append(b, &p[i], l);
                i += l;
            } else {
                ed_buf_printf(b, "\\u%04x", c);
                i++;
            }
        }
    }
    ed_buf_append(b, "\"", 1);
}

void ed_buf_json_num(ed_buf_t *b, double v) {
    if (!isfinite(v)) {
        ed_buf_puts(b, "null");
    } else if (v == (double)(int64_t)v && fabs(v) < 9.007199254740992e15) {
        ed_buf_printf(b, "%lld", (long long)(int64_t)v);
    } else {
        ed_buf_printf(b, "%.17g", v);
    }
}

void ed_buf_reset(ed_buf_t *b) {
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void ed_buf_free(ed_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
