/* fuzz_words.c — libFuzzer target: the word tokenizer of the `words`
 * format (actors/decode/ed_tokenize.h) on arbitrary bytes.
 *
 * Each word the tokenizer gives is compared with an independent split of
 * the same bytes written here from the header's definition (maximal runs of
 * ASCII letters, digits and bytes >= 0x80, ASCII letters lowercased, as
 * `tr -cs 'A-Za-z0-9\200-\377' '\n' | tr A-Z a-z`): same words, same order,
 * same count. The input and the scratch buffer have exactly the input's
 * size, so a read or write past either is an ASan report. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_tokenize.h"
#include "tests/fuzz/fuzz.h"

typedef struct {
    const unsigned char *in;
    size_t len;
    size_t pos;   /* where the next expected word is searched from */
    size_t words; /* words seen */
} s_ref_t;

static int s_in_word(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static void s_on_word(void *ud, const char *word, size_t len) {
    s_ref_t *r = ud;
    while (r->pos < r->len && !s_in_word(r->in[r->pos]))
        r->pos++;
    size_t start = r->pos;
    while (r->pos < r->len && s_in_word(r->in[r->pos]))
        r->pos++;
    if (len == 0 || len != r->pos - start)
        abort();
    for (size_t i = 0; i < len; i++) {
        unsigned char c = r->in[start + i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((unsigned char)word[i] != c)
            abort();
    }
    r->words++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *in = malloc(size ? size : 1);
    char *scratch = malloc(size ? size : 1);
    memcpy(in, data, size);
    s_ref_t r = {.in = (const unsigned char *)in, .len = size};
    size_t n = ed_tokenize_words(in, size, scratch, s_on_word, &r);
    /* no word left over after the last one the tokenizer gave */
    while (r.pos < r.len && !s_in_word(r.in[r.pos]))
        r.pos++;
    if (n != r.words || r.pos != r.len)
        abort();
    free(scratch);
    free(in);
    return 0;
}
