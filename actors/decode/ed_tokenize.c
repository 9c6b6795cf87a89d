/* ed_tokenize.c — see ed_tokenize.h. */
#include "actors/decode/ed_tokenize.h"

#include <stdint.h>

/* One table does both jobs of the byte loop: s_map[c] is 0 for a separator
 * and the lowercased byte for a word byte. No word byte maps to 0 (NUL is a
 * separator), so "is a word byte" and "what to write" are one load.
 * Word bytes: A-Z (lowercased), a-z, 0-9, 0x80-0xFF (kept). */
#define R4(b) (b), (b) + 1, (b) + 2, (b) + 3
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)
static const uint8_t s_map[256] = {
    /* 0x00-0x2F: controls, space, punctuation */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    /* 0x30: '0'-'9', then : ; < = > ? */
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 0, 0, 0, 0, 0, 0,
    /* 0x40: '@', 'A'-'O' → 'a'-'o' */
    0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    /* 0x50: 'P'-'Z' → 'p'-'z', then [ \ ] ^ _ */
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, 0,
    /* 0x60: '`', 'a'-'o' */
    0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    /* 0x70: 'p'-'z', then { | } ~ DEL */
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, 0,
    /* 0x80-0xFF: kept as they are, so UTF-8 sequences stay whole */
    R64(0x80), R64(0xC0)};
#undef R64
#undef R16
#undef R4

#ifdef __SSE2__
#include <emmintrin.h>

/* Lowercases 64 bytes from in to out and returns the word-byte mask (bit k
 * set if in[k] is a word byte). Per 16 bytes: bytes ≥ 0x80 are the sign bit;
 * digits are (c - '0') ≤ 9 and letters ((c | 0x20) - 'a') ≤ 25, as unsigned
 * bytes (x ≤ k ⇔ min(x, k) == x); uppercase gets 0x20 added. */
static inline uint64_t s_block64(const uint8_t *in, uint8_t *out) {
    const __m128i c0 = _mm_set1_epi8('0'), c9 = _mm_set1_epi8(9), ca = _mm_set1_epi8('a'),
                  cA = _mm_set1_epi8('A'), c25 = _mm_set1_epi8(25), c20 = _mm_set1_epi8(0x20);
    uint64_t m = 0;
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(in + 16 * k));
        __m128i d = _mm_sub_epi8(v, c0);
        __m128i is_digit = _mm_cmpeq_epi8(_mm_min_epu8(d, c9), d);
        __m128i l = _mm_sub_epi8(_mm_or_si128(v, c20), ca);
        __m128i is_letter = _mm_cmpeq_epi8(_mm_min_epu8(l, c25), l);
        __m128i u = _mm_sub_epi8(v, cA);
        __m128i is_upper = _mm_cmpeq_epi8(_mm_min_epu8(u, c25), u);
        _mm_storeu_si128((__m128i *)(void *)(out + 16 * k),
                         _mm_add_epi8(v, _mm_and_si128(is_upper, c20)));
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_or_si128(is_digit, is_letter)) |
                        (unsigned)_mm_movemask_epi8(v);
        m |= (uint64_t)bits << (16 * k);
    }
    return m;
}
#endif

size_t ed_tokenize_words(const char *s, size_t len, char *scratch, ed_word_fn fn, void *ud) {
    const uint8_t *in = (const uint8_t *)s;
    uint8_t *out = (uint8_t *)scratch;
    size_t nwords = 0, i = 0;
    size_t start = 0; /* offset of the word in progress */
    int open = 0;     /* a word is in progress */

    /* Each word is lowercased in place at its own offset in scratch, so
     * scratch needs exactly len bytes. */
#ifdef __SSE2__
    /* 64 bytes at a time: classify and lowercase with SIMD, then walk the
     * runs of set bits with ctz, so the cost is per word, not per byte. */
    for (; i + 64 <= len; i += 64) {
        uint64_t words = s_block64(in + i, out + i);
        uint64_t seps = ~words;
        for (;;) {
            if (!open) {
                if (!words)
                    break;
                int b = __builtin_ctzll(words);
                start = i + (size_t)b;
                open = 1;
                seps &= ~0ull << b;
            } else {
                if (!seps)
                    break;
                int e = __builtin_ctzll(seps);
                fn(ud, (const char *)out + start, i + (size_t)e - start);
                nwords++;
                open = 0;
                words &= ~0ull << e;
            }
        }
    }
#endif
    /* The rest (or all, without SSE2), one byte at a time. */
    for (; i < len; i++) {
        uint8_t c = s_map[in[i]];
        out[i] = c;
        if (c && !open) {
            start = i;
            open = 1;
        } else if (!c && open) {
            fn(ud, (const char *)out + start, i - start);
            nwords++;
            open = 0;
        }
    }
    if (open) {
        fn(ud, (const char *)out + start, len - start);
        nwords++;
    }
    return nwords;
}
