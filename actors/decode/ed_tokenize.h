/*
 * ed_tokenize.h — the word tokenizer of the `words` format.
 *
 * A word is a maximal run of bytes that are ASCII letters, ASCII digits, or
 * bytes ≥ 0x80 (so UTF-8 words stay whole); ASCII letters are lowercased,
 * other bytes are kept as they are. On any input the words are exactly those
 * of `LC_ALL=C tr -cs 'A-Za-z0-9\200-\377' '\n' | tr 'A-Z' 'a-z'` (minus
 * empty lines).
 */
#ifndef ED_TOKENIZE_H
#define ED_TOKENIZE_H

#include <stddef.h>

/* Called per word; `word` (lowercased, not NUL-terminated) is borrowed for the call. */
typedef void (*ed_word_fn)(void *ud, const char *word, size_t len);

/* Splits `len` bytes at `s` into words and calls fn for each, in order.
 * `scratch` must have room for `len` bytes (lowercased copies are written
 * there). Returns the number of words. */
size_t ed_tokenize_words(const char *s, size_t len, char *scratch, ed_word_fn fn, void *ud);

#endif
