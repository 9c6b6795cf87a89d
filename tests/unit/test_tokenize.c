/* test_tokenize.c — the words tokenizer against hand-made cases and, on
 * pseudo-random bytes, against the real `tr` pipeline it must match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "actors/decode/ed_tokenize.h"

/* Collected words, joined by '\n' (a separator never inside a word). */
typedef struct {
    char *buf;
    size_t len, cap;
    size_t nwords;
} words_t;

static void on_word(void *ud, const char *w, size_t len) {
    words_t *ws = ud;
    assert_true(len > 0);
    if (ws->len + len + 1 > ws->cap) {
        ws->cap = (ws->len + len + 1) * 2;
        ws->buf = realloc(ws->buf, ws->cap);
        assert_non_null(ws->buf);
    }
    memcpy(ws->buf + ws->len, w, len);
    ws->len += len;
    ws->buf[ws->len++] = '\n';
    ws->nwords++;
}

/* Tokenizes `len` bytes and returns the words as "w1\nw2\n…" (owned). */
static char *tokenize(const char *s, size_t len, size_t *nwords) {
    words_t ws = {0};
    char *scratch = malloc(len ? len : 1);
    size_t n = ed_tokenize_words(s, len, scratch, on_word, &ws);
    free(scratch);
    assert_int_equal(n, ws.nwords);
    if (nwords)
        *nwords = n;
    char *out = malloc(ws.len + 1);
    if (ws.len)
        memcpy(out, ws.buf, ws.len);
    out[ws.len] = '\0';
    free(ws.buf);
    return out;
}

static void check(const char *in, size_t len, const char *want, size_t want_n) {
    size_t n;
    char *got = tokenize(in, len, &n);
    assert_string_equal(got, want);
    assert_int_equal(n, want_n);
    free(got);
}
#define CHECK(lit, want, n) check(lit, sizeof(lit) - 1, want, n)

static void test_ascii(void **state) {
    CHECK("hello world", "hello\nworld\n", 2);
    CHECK("  leading and trailing  ", "leading\nand\ntrailing\n", 3);
    CHECK("one\ttwo\nthree\r\nfour", "one\ntwo\nthree\nfour\n", 4);
}

static void test_punctuation(void **state) {
    CHECK("don't stop-me, now! (ok) [x] {y} a_b a.b@c",
          "don\nt\nstop\nme\nnow\nok\nx\ny\na\nb\na\nb\nc\n", 13);
    CHECK("~`!@#$%^&*()-_=+[]{}\\|;:'\",.<>/?", "", 0);
}

static void test_digits(void **state) {
    CHECK("route 66, 2024-05-01 v1.2.3 0x1F", "route\n66\n2024\n05\n01\nv1\n2\n3\n0x1f\n", 9);
}

static void test_mixed_case(void **state) {
    CHECK("Hello WORLD MiXeD caSE AZaz", "hello\nworld\nmixed\ncase\nazaz\n", 5);
    /* The bytes just outside A-Z and a-z are separators. */
    CHECK("@A[Z`a{z", "a\nz\na\nz\n", 4);
}

static void test_utf8_words(void **state) {
    /* UTF-8 bytes stay whole and are not lowercased (only ASCII A-Z is). */
    CHECK("Ünïcödé façade", "Ünïcödé\nfaçade\n", 2);
    CHECK("ÉCOLE École", "École\nÉcole\n", 2);
    CHECK("日本語 テキスト", "日本語\nテキスト\n", 2);
    CHECK("emoji😀joined", "emoji😀joined\n", 1);
}

static void test_invalid_utf8(void **state) {
    /* Bytes ≥ 0x80 are word bytes whether or not they form valid UTF-8. */
    CHECK("a\x80\xff"
          "b \xc3 \xfe\xfe!\x80",
          "a\x80\xff"
          "b\n\xc3\n\xfe\xfe\n\x80\n",
          4);
}

static void test_nul_and_controls(void **state) {
    static const char in[] = {'a', 'b', 0, 'C', 1, 2, 0x1f, 'd', 0x7f, 'E', 0};
    check(in, sizeof in, "ab\nc\nd\ne\n", 4);
}

static void test_empty_and_separators(void **state) {
    check("", 0, "", 0);
    check(NULL, 0, "", 0);
    CHECK(" \t\n\r.,;:!?-_()[]{}<>\"'/\\|", "", 0);
    static const char zeros[16] = {0};
    check(zeros, sizeof zeros, "", 0);
}

static void test_word_at_end(void **state) {
    CHECK("x", "x\n", 1);
    CHECK("first last", "first\nlast\n", 2);
    CHECK(".Z", "z\n", 1);
    CHECK("\xe9", "\xe9\n", 1);
    /* Only `len` bytes are read: "abc" of "abcdef". */
    check("abcdef", 3, "abc\n", 1);
}

/* The obvious byte-at-a-time tokenizer, as a reference for the fast one. */
static char *reference(const char *s, size_t len) {
    char *out = malloc(2 * len + 1);
    size_t o = 0;
    int in_word = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int w =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (w) {
            out[o++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            in_word = 1;
        } else if (in_word) {
            out[o++] = '\n';
            in_word = 0;
        }
    }
    if (in_word)
        out[o++] = '\n';
    out[o] = '\0';
    return out;
}

static void test_block_boundaries(void **state) {
    /* The tokenizer works 64 bytes at a time with a byte loop for the rest:
     * words that end exactly at, straddle, or span whole blocks, inputs of
     * every length around the block size, at every alignment. */
    enum { N = 600 };
    char *buf = malloc(N + 8);
    uint32_t x = 12345;
    for (int i = 0; i < N + 8; i++) {
        x = x * 1103515245u + 12345u;
        unsigned r = (x >> 16) & 0xff;
        /* mostly letters in long runs, some separators and high bytes */
        buf[i] = (r < 20)    ? ' '
                 : (r < 30)  ? (char)r
                 : (r < 50)  ? (char)(0x80 | r)
                 : (r < 150) ? 'Q'
                             : 'q';
    }
    memset(buf + 100, 'W', 200); /* one word spanning several blocks */
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len <= N; len += (len < 200 ? 1 : 7)) {
            char *want = reference(buf + off, len);
            char *got = tokenize(buf + off, len, NULL);
            if (strcmp(got, want) != 0)
                fail_msg("mismatch at offset %zu length %zu", off, len);
            free(got);
            free(want);
        }
    }
    char all[192];
    memset(all, 'A', sizeof all); /* a word still open at the end of the blocks */
    char want[194];
    memset(want, 'a', 192);
    want[192] = '\n';
    want[193] = '\0';
    check(all, 192, want, 1);
    all[63] = ' '; /* a word ending exactly at a block's last byte */
    all[64] = ' ';
    check(all, 128,
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
          2);
    free(buf);
}

/* Splits "w1\nw2\n…" as produced by tr into the same form (drops empty
 * lines, which tr emits for leading separators). */
static char *normalize_tr_output(const char *s, size_t len) {
    char *out = malloc(len + 1);
    size_t o = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '\n') {
            if (i > start) {
                memcpy(out + o, s + start, i - start);
                o += i - start;
                out[o++] = '\n';
            }
            start = i + 1;
        }
    }
    out[o] = '\0';
    return out;
}

static void test_oracle_tr(void **state) {
    /* 64 KiB of pseudo-random bytes (xorshift, fixed seed) covering all 256
     * values, biased toward letters so that words are of varied length. */
    enum { N = 64 * 1024 - 37 }; /* not a multiple of the 64-byte block */
    char *in = malloc(N);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned r = (unsigned)(x >> 24);
        in[i] = (r & 0x300) ? (char)(r & 0xff) : (char)("aZq9\xc3\xa9 X"[r & 7]);
    }
    for (int b = 0; b < 256; b++) /* every byte value for sure */
        in[b * 97] = (char)b;

    char path[] = "/tmp/test_tokenize_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, in, N), N);
    close(fd);

    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "LC_ALL=C tr -cs 'A-Za-z0-9\\200-\\377' '\\n' < %s | LC_ALL=C tr 'A-Z' 'a-z'", path);
    FILE *pp = popen(cmd, "r");
    assert_non_null(pp);
    size_t cap = 2 * N, len = 0;
    char *trout = malloc(cap);
    size_t r;
    while ((r = fread(trout + len, 1, cap - len, pp)) > 0) {
        len += r;
        if (len == cap) {
            char *bigger = realloc(trout, cap *= 2);
            assert_non_null(bigger);
            trout = bigger;
        }
    }
    assert_int_equal(pclose(pp), 0);
    unlink(path);

    char *want = normalize_tr_output(trout, len);
    size_t n;
    char *got = tokenize(in, N, &n);
    assert_true(n > 1000);
    assert_int_equal(strlen(got), strlen(want));
    assert_memory_equal(got, want, strlen(want));
    free(got);
    free(want);
    free(trout);
    free(in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii),
        cmocka_unit_test(test_punctuation),
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_mixed_case),
        cmocka_unit_test(test_utf8_words),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_and_controls),
        cmocka_unit_test(test_empty_and_separators),
        cmocka_unit_test(test_word_at_end),
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_oracle_tr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
