/*
 * ed_utf8.h — UTF-8 validation (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF).
 */
#ifndef ED_UTF8_H
#define ED_UTF8_H

#include <stddef.h>

/* Length (1–4) of the valid UTF-8 sequence at the start of the n ≥ 1 bytes
 * at s, or 0 if they do not start with one. */
size_t ed_utf8_seq(const unsigned char *s, size_t n);

/* Returns 1 if the n bytes at s are valid UTF-8, else 0. */
int ed_utf8_valid(const char *s, size_t n);

#endif
