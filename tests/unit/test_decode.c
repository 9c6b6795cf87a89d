/* test_decode.c — lines/words/json decoders, value conversion, event time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actors/decode/ed_decode.h"
#include "actors/decode/ed_time.h"
#include "runtime/ed_common.h"

/* Records seen by the emit callback: per record, per field, a copy. */
#define MAXREC 16
#define MAXF 8
typedef struct {
    ed_val_type_t type;
    char text[256];
    size_t len;
    double num;
} val_copy_t;

typedef struct {
    int nfields;
    int nrec;
    val_copy_t v[MAXREC][MAXF];
} seen_t;

static void on_record(void *ud, const ed_val_t *vals) {
    seen_t *s = ud;
    assert_true(s->nrec < MAXREC);
    for (int f = 0; f < s->nfields; f++) {
        val_copy_t *c = &s->v[s->nrec][f];
        c->type = vals[f].type;
        c->len = vals[f].len;
        c->num = vals[f].num;
        assert_true(vals[f].len < sizeof c->text);
        if (vals[f].len)
            memcpy(c->text, vals[f].ptr, vals[f].len);
        c->text[vals[f].len] = '\0';
    }
    s->nrec++;
}

static ed_decoder_t *mkdec(ed_format_t fmt, const char *const *fields, int n) {
    ed_decoder_t *dec = NULL;
    char err[256] = "";
    int rc = ed_decoder_new(&dec, fmt, fields, n, err, sizeof err);
    if (rc != 0)
        fail_msg("ed_decoder_new: %s", err);
    assert_non_null(dec);
    return dec;
}

/* Decodes `in` (strlen) and returns the return code; records into *s. */
static int run(ed_decoder_t *dec, int nfields, const char *in, size_t len, seen_t *s, char *err,
               size_t errsz) {
    memset(s, 0, sizeof *s);
    s->nfields = nfields;
    return ed_decoder_decode(dec, in, len, on_record, s, err, errsz);
}

static void expect_str(const val_copy_t *c, const char *want, size_t want_len) {
    assert_int_equal(c->type, ED_VAL_STRING);
    assert_int_equal(c->len, want_len);
    assert_memory_equal(c->text, want, want_len);
}
#define EXPECT_STR(c, lit) expect_str(c, lit, sizeof(lit) - 1)

/* ------------------------------------------------------------ lines */

static void test_lines(void **state) {
    const char *fields[] = {"line", "@key"};
    ed_decoder_t *dec = mkdec(ED_FMT_LINES, fields, 2);
    seen_t s;
    char err[128];

    assert_int_equal(run(dec, 2, "hello world", 11, &s, err, sizeof err), 1);
    assert_int_equal(s.nrec, 1);
    EXPECT_STR(&s.v[0][0], "hello world");
    assert_int_equal(s.v[0][1].type, ED_VAL_MISSING);

    assert_int_equal(run(dec, 2, "crlf line\r", 10, &s, err, sizeof err), 1);
    EXPECT_STR(&s.v[0][0], "crlf line");
    assert_int_equal(run(dec, 2, "crlf line\r\n", 11, &s, err, sizeof err), 1);
    EXPECT_STR(&s.v[0][0], "crlf line");
    /* Only one trailing \r is removed; inner ones stay. */
    assert_int_equal(run(dec, 2, "a\rb\r\r", 5, &s, err, sizeof err), 1);
    EXPECT_STR(&s.v[0][0], "a\rb\r");
    /* An empty line is still a record. */
    assert_int_equal(run(dec, 2, "", 0, &s, err, sizeof err), 1);
    EXPECT_STR(&s.v[0][0], "");
    ed_decoder_destroy(&dec);
    assert_null(dec);
    ed_decoder_destroy(&dec); /* NULL-safe */
}

static void test_unknown_fields(void **state) {
    ed_decoder_t *dec = NULL;
    char err[256] = "";
    const char *bad[] = {"text"};
    assert_int_equal(ed_decoder_new(&dec, ED_FMT_LINES, bad, 1, err, sizeof err), ED_EINVAL);
    assert_null(dec);
    assert_non_null(strstr(err, "'text'"));
    assert_non_null(strstr(err, "'line'"));
    assert_int_equal(ed_decoder_new(&dec, ED_FMT_WORDS, bad, 1, err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "'word'"));
    const char *badpath[] = {"a..b"};
    assert_int_equal(ed_decoder_new(&dec, ED_FMT_JSON, badpath, 1, err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "a..b"));
    const char *trail[] = {"a."};
    assert_int_equal(ed_decoder_new(&dec, ED_FMT_JSON, trail, 1, err, sizeof err), ED_EINVAL);
    const char *empty[] = {""};
    assert_int_equal(ed_decoder_new(&dec, ED_FMT_JSON, empty, 1, err, sizeof err), ED_EINVAL);
    assert_null(dec);
}

/* ------------------------------------------------------------ words */

static void test_words(void **state) {
    const char *fields[] = {"word"};
    ed_decoder_t *dec = mkdec(ED_FMT_WORDS, fields, 1);
    seen_t s;
    char err[128];
    const char *in = "The quick, BROWN fox's Ünïcödé";
    assert_int_equal(run(dec, 1, in, strlen(in), &s, err, sizeof err), 6);
    assert_int_equal(s.nrec, 6);
    EXPECT_STR(&s.v[0][0], "the");
    EXPECT_STR(&s.v[1][0], "quick");
    EXPECT_STR(&s.v[2][0], "brown");
    EXPECT_STR(&s.v[3][0], "fox");
    EXPECT_STR(&s.v[4][0], "s");
    EXPECT_STR(&s.v[5][0], "Ünïcödé");
    assert_int_equal(run(dec, 1, " ...\t", 5, &s, err, sizeof err), 0);
    assert_int_equal(s.nrec, 0);
    /* A bigger payload afterwards (scratch grows). */
    char big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = i % 10 == 9 ? ' ' : 'A';
    assert_int_equal(run(dec, 1, big, 9, &s, err, sizeof err), 1);
    EXPECT_STR(&s.v[0][0], "aaaaaaaaa");
    ed_decoder_destroy(&dec);
}

static size_t s_count_words;
static void count_words(void *ud, const ed_val_t *v) {
    s_count_words++;
    assert_int_equal(v[0].len, 9);
}

static void test_words_many(void **state) {
    const char *fields[] = {"word"};
    ed_decoder_t *dec = mkdec(ED_FMT_WORDS, fields, 1);
    char big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = i % 10 == 9 ? ' ' : 'A';
    s_count_words = 0;
    assert_int_equal(ed_decoder_decode(dec, big, sizeof big, count_words, NULL, NULL, 0), 500);
    assert_int_equal(s_count_words, 500);
    ed_decoder_destroy(&dec);
}

/* ------------------------------------------------------------ json */

static void test_json_fields(void **state) {
    const char *fields[] = {"user",    "amount", "customer.id", "customer.address.city",
                            "missing", "ok",     "none",        "customer"};
    ed_decoder_t *dec = mkdec(ED_FMT_JSON, fields, 8);
    seen_t s;
    char err[256];
    const char *in = "{\"skip\": {\"user\": \"nested-decoy\", \"x\": [1, {\"user\": 2}]},"
                     " \"user\": \"alice\", \"amount\": 12.5, \"ok\": true, \"none\": null,"
                     " \"customer\": {\"id\": 42, \"address\": {\"city\": \"Paris\"}}}";
    assert_int_equal(run(dec, 8, in, strlen(in), &s, err, sizeof err), 1);
    assert_int_equal(s.nrec, 1);
    EXPECT_STR(&s.v[0][0], "alice");
    assert_int_equal(s.v[0][1].type, ED_VAL_NUMBER);
    assert_true(s.v[0][1].num == 12.5);
    assert_string_equal(s.v[0][1].text, "12.5");
    assert_int_equal(s.v[0][2].type, ED_VAL_NUMBER);
    assert_true(s.v[0][2].num == 42);
    EXPECT_STR(&s.v[0][3], "Paris");
    assert_int_equal(s.v[0][4].type, ED_VAL_MISSING);
    assert_int_equal(s.v[0][5].type, ED_VAL_BOOL);
    assert_true(s.v[0][5].num == 1);
    assert_string_equal(s.v[0][5].text, "true");
    assert_int_equal(s.v[0][6].type, ED_VAL_NULL);
    assert_int_equal(s.v[0][7].type, ED_VAL_OTHER);
    assert_string_equal(s.v[0][7].text, "{\"id\": 42, \"address\": {\"city\": \"Paris\"}}");

    /* Same decoder, next record: fields that are absent or of the wrong
     * shape are missing; an array value is OTHER. */
    const char *in2 = "{\"user\":false,\"customer\":[1,2],\"amount\":-0}";
    assert_int_equal(run(dec, 8, in2, strlen(in2), &s, err, sizeof err), 1);
    assert_int_equal(s.v[0][0].type, ED_VAL_BOOL);
    assert_true(s.v[0][0].num == 0);
    assert_int_equal(s.v[0][1].type, ED_VAL_NUMBER);
    assert_true(s.v[0][1].num == 0);
    assert_int_equal(s.v[0][2].type, ED_VAL_MISSING); /* customer is an array */
    assert_int_equal(s.v[0][3].type, ED_VAL_MISSING);
    assert_int_equal(s.v[0][7].type, ED_VAL_OTHER);
    assert_string_equal(s.v[0][7].text, "[1,2]");

    /* Empty object: everything missing. Leading/trailing whitespace is fine. */
    assert_int_equal(run(dec, 8, " \n{ }\r\n ", 8, &s, err, sizeof err), 1);
    for (int f = 0; f < 8; f++)
        assert_int_equal(s.v[0][f].type, ED_VAL_MISSING);
    ed_decoder_destroy(&dec);
}

static void test_json_escapes(void **state) {
    const char *fields[] = {"a", "b", "c", "d", "e", "key with \"quote\"", "plain"};
    ed_decoder_t *dec = mkdec(ED_FMT_JSON, fields, 7);
    seen_t s;
    char err[256];
    const char *in = "{\"a\": \"line\\nbreak \\\"q\\\" back\\\\slash \\/ \\b\\f\\r\\t\","
                     " \"b\": \"caf\\u00e9 \\u20AC\","
                     " \"c\": \"\\ud83d\\ude00 smile\","
                     " \"d\": \"lone \\ud800 x\","
                     " \"e\": \"\\u0041\\u0000z\","
                     " \"key with \\\"quote\\\"\": 7,"
                     " \"plain\": \"no escapes\"}";
    assert_int_equal(run(dec, 7, in, strlen(in), &s, err, sizeof err), 1);
    EXPECT_STR(&s.v[0][0], "line\nbreak \"q\" back\\slash / \b\f\r\t");
    EXPECT_STR(&s.v[0][1], "caf\xc3\xa9 \xe2\x82\xac");
    EXPECT_STR(&s.v[0][2], "\xf0\x9f\x98\x80 smile");
    EXPECT_STR(&s.v[0][3], "lone \xef\xbf\xbd x");
    EXPECT_STR(&s.v[0][4], "A\0z");
    assert_int_equal(s.v[0][5].type, ED_VAL_NUMBER);
    assert_true(s.v[0][5].num == 7);
    EXPECT_STR(&s.v[0][6], "no escapes");
    ed_decoder_destroy(&dec);
}

static void test_json_numbers(void **state) {
    const char *fields[] = {"n"};
    ed_decoder_t *dec = mkdec(ED_FMT_JSON, fields, 1);
    seen_t s;
    char err[256];
    static const struct {
        const char *text;
        double want;
    } cases[] = {
        {"0", 0},
        {"-1", -1},
        {"123456789", 123456789},
        {"3.14159", 3.14159},
        {"-0.000123", -0.000123},
        {"1e3", 1000},
        {"1E-2", 0.01},
        {"2.5e+2", 250},
        {"9007199254740993", 9007199254740993.0}, /* > 15 digits: strtod path */
        {"1e300", 1e300},
        {"123.456e-30", 123.456e-30},
        {"0.1", 0.1},
        {"17.99", 17.99},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char in[128];
        snprintf(in, sizeof in, "{\"n\":%s}", cases[i].text);
        assert_int_equal(run(dec, 1, in, strlen(in), &s, err, sizeof err), 1);
        assert_int_equal(s.v[0][0].type, ED_VAL_NUMBER);
        if (s.v[0][0].num != cases[i].want)
            fail_msg("%s: got %.17g want %.17g", cases[i].text, s.v[0][0].num, cases[i].want);
        assert_string_equal(s.v[0][0].text, cases[i].text);
    }
    ed_decoder_destroy(&dec);
}

static int s_many_seen;
static void on_many(void *ud, const ed_val_t *v) {
    s_many_seen++;
    assert_int_equal(v[0].type, ED_VAL_STRING);
    assert_int_equal(v[0].len, 3);
    assert_memory_equal(v[0].ptr, "end", 3);
    assert_int_equal(v[1].type, ED_VAL_OTHER);
    assert_int_equal(v[1].len, *(size_t *)ud);
    assert_int_equal(v[1].ptr[0], '[');
    assert_int_equal(v[1].ptr[v[1].len - 1], ']');
    assert_int_equal(v[2].type, ED_VAL_NUMBER);
    assert_true(v[2].num == 1999);
}

static void test_json_many_tokens(void **state) {
    /* Far more tokens than the initial array (and deeper nesting than the
     * first stack): the arrays must grow, and lookups must step over the big
     * subtree to find the fields after it. */
    const char *fields[] = {"last", "arr", "deep.a.b.c.d.e.f.g.h"};
    ed_decoder_t *dec = mkdec(ED_FMT_JSON, fields, 3);
    size_t cap = 1 << 16, len = 0;
    char *in = malloc(cap);
    len += (size_t)snprintf(in + len, cap - len, "{\"arr\":");
    size_t arr_start = len;
    len += (size_t)snprintf(in + len, cap - len, "[");
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(in + len, cap - len, "%s{\"k\":%d,\"l\":[[[]]]}", i ? "," : "", i);
    len += (size_t)snprintf(in + len, cap - len, "]");
    size_t arr_len = len - arr_start;
    len += (size_t)snprintf(in + len, cap - len,
                            ",\"last\":\"end\",\"deep\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":"
                            "{\"f\":{\"g\":{\"h\":1999}}}}}}}}}");
    char err[256] = "";
    s_many_seen = 0;
    int rc = ed_decoder_decode(dec, in, len, on_many, &arr_len, err, sizeof err);
    if (rc != 1)
        fail_msg("rc %d: %s", rc, err);
    assert_int_equal(s_many_seen, 1);
    /* Again with the grown arrays. */
    assert_int_equal(ed_decoder_decode(dec, in, len, on_many, &arr_len, err, sizeof err), 1);
    assert_int_equal(s_many_seen, 2);
    ed_decoder_destroy(&dec);
    free(in);
}

static int s_emitted;
static void count_emit(void *ud, const ed_val_t *v) {
    s_emitted++;
}

static void expect_bad(ed_decoder_t *dec, const char *in, size_t len, const char *want_in_err) {
    char err[256] = "";
    s_emitted = 0;
    int rc = ed_decoder_decode(dec, in, len, count_emit, NULL, err, sizeof err);
    if (rc != ED_EINVAL)
        fail_msg("'%.*s': rc %d, want ED_EINVAL", (int)len, in, rc);
    assert_int_equal(s_emitted, 0);
    if (!strstr(err, want_in_err))
        fail_msg("'%.*s': error '%s' lacks '%s'", (int)len, in, err, want_in_err);
}
#define BAD(dec, lit, want) expect_bad(dec, lit, sizeof(lit) - 1, want)

static void test_json_malformed(void **state) {
    const char *fields[] = {"a"};
    ed_decoder_t *dec = mkdec(ED_FMT_JSON, fields, 1);
    /* truncated */
    BAD(dec, "{\"a\": 1", "incomplete JSON (truncated at byte 7)");
    BAD(dec, "{\"a\": \"abc", "incomplete JSON");
    BAD(dec, "{\"a\": [1, 2", "incomplete JSON");
    BAD(dec, "{", "incomplete JSON");
    BAD(dec, "", "incomplete JSON");
    BAD(dec, "   ", "incomplete JSON");
    /* trailing garbage */
    BAD(dec, "{\"a\": 1}x", "invalid JSON at byte 8: unexpected character 'x'");
    BAD(dec, "{\"a\": 1} {\"a\": 2}", "invalid JSON at byte 9");
    BAD(dec, "{\"a\": 1}}", "invalid JSON at byte 8");
    BAD(dec, "{\"a\": 1} 5", "invalid JSON at byte 9");
    /* garbage bytes */
    BAD(dec, "\x01\x02garbage", "invalid JSON at byte 0: unexpected byte 0x01");
    BAD(dec, "{\"a\": \xff}", "invalid JSON at byte 6");
    BAD(dec, "{\"a\": x}", "invalid JSON at byte 6");
    BAD(dec, "{\"a\"\0: 1}", "NUL byte");
    BAD(dec, "{\"a\": 1}\0", "invalid JSON at byte 8");
    /* grammar errors jsmn alone lets through */
    BAD(dec, "{\"a\": 1 \"b\": 2}",
        "invalid JSON at byte 8: unexpected character '\"', expected ',' or '}'");
    BAD(dec, "{\"a\": 1,}",
        "invalid JSON at byte 8: unexpected character '}', expected a string key");
    BAD(dec, "{\"a\": [1,]}", "invalid JSON at byte 9: unexpected character ']', expected a value");
    BAD(dec, "{,\"a\": 1}", "invalid JSON at byte 1");
    BAD(dec, "{\"a\": 1,, \"b\": 2}", "invalid JSON at byte 8");
    BAD(dec, "{\"a\" 1}", "invalid JSON at byte 5");
    BAD(dec, "{\"a\": 1\xff}", "invalid JSON at byte 6: invalid literal");
    BAD(dec, "{\"a\" \"b\"}", "invalid JSON at byte 5: unexpected character '\"', expected ':'");
    BAD(dec, "{\"a\": }", "expected a value");
    BAD(dec, "{\"a\"}", "invalid JSON at byte 4");
    BAD(dec, "{\"a\": [1 2]}", "expected ',' or ']'");
    BAD(dec, "{\"a\": tru}", "invalid literal 'tru'");
    BAD(dec, "{\"a\": 1.2.3}", "invalid literal");
    BAD(dec, "{\"a\": 01}", "invalid literal");
    BAD(dec, "{\"a\": -}", "invalid literal");
    BAD(dec, "{\"a\": 1.}", "invalid literal");
    BAD(dec, "{\"a\": nullx}", "invalid literal");
    BAD(dec, "{\"a\": \"bad \\q escape\"}",
        "invalid JSON at byte 11: invalid escape sequence in string: backslash followed by "
        "character 'q'");
    BAD(dec, "{\"a\": \"x\\", "incomplete JSON");
    BAD(dec, "{\"a\": \"\\u12", "incomplete JSON");
    BAD(dec, "{\"a\": tr", "incomplete JSON");
    BAD(dec, "{\"a\": {\"b\": [1, {\"c\": [}]}}", "invalid JSON at byte 23: unexpected character '}', expected a value or ']'");
    BAD(dec, "{\"a\": 1 }  \n x", "invalid JSON at byte 13: unexpected character 'x', expected end of input");
    BAD(dec, "{\"a\": \"\\u12g4\"}", "invalid JSON");
    BAD(dec, "{\"a\": [1}", "invalid JSON");
    BAD(dec, "{1: 2}", "invalid JSON at byte 1");
    BAD(dec, "{\"a\": \"tab\there\"}", "invalid JSON at byte 10: unescaped control character 0x09");
    BAD(dec, "{\"k\x01\": 1}", "invalid JSON at byte 3: unescaped control character 0x01");
    /* not an object */
    BAD(dec, "[1, 2]", "top-level JSON value is not an object");
    BAD(dec, "  \"str\"", "top-level JSON value is not an object");
    BAD(dec, "42", "top-level JSON value is not an object");
    BAD(dec, "null", "top-level JSON value is not an object");

    /* The decoder still works after errors. */
    seen_t s;
    char err[256];
    assert_int_equal(run(dec, 1, "{\"a\":\"fine\"}", 12, &s, err, sizeof err), 1);
    EXPECT_STR(&s.v[0][0], "fine");
    ed_decoder_destroy(&dec);
}

static void test_json_duplicate_and_escaped_keys(void **state) {
    const char *fields[] = {"k", "a\\b", "é"};
    ed_decoder_t *dec = mkdec(ED_FMT_JSON, fields, 3);
    seen_t s;
    char err[256];
    const char *in = "{\"k\":1,\"k\":2,\"a\\\\b\":\"bs\",\"\\u00e9\":\"e-acute\"}";
    assert_int_equal(run(dec, 3, in, strlen(in), &s, err, sizeof err), 1);
    assert_true(s.v[0][0].num == 1); /* first occurrence wins */
    EXPECT_STR(&s.v[0][1], "bs");
    EXPECT_STR(&s.v[0][2], "e-acute");
    /* A key whose raw text equals the field but which decodes differently. */
    const char *in2 = "{\"a\\\\b\":1}";
    const char *f2[] = {"a\\\\b"};
    ed_decoder_t *dec2 = mkdec(ED_FMT_JSON, f2, 1);
    assert_int_equal(run(dec2, 1, in2, strlen(in2), &s, err, sizeof err), 1);
    assert_int_equal(s.v[0][0].type, ED_VAL_MISSING);
    ed_decoder_destroy(&dec2);
    ed_decoder_destroy(&dec);
}

/* ------------------------------------------------------------ values */

static ed_val_t sval(const char *s) {
    return (ed_val_t){.type = ED_VAL_STRING, .ptr = s, .len = strlen(s)};
}
static ed_val_t nval(double x) {
    return (ed_val_t){.type = ED_VAL_NUMBER, .num = x};
}

static void test_val_to_num(void **state) {
    double x = -1;
    ed_val_t v = nval(2.5);
    assert_int_equal(ed_val_to_num(&v, &x), 0);
    assert_true(x == 2.5);
    v = (ed_val_t){.type = ED_VAL_BOOL, .num = 1, .ptr = "true", .len = 4};
    assert_int_equal(ed_val_to_num(&v, &x), 0);
    assert_true(x == 1);
    v = sval("42");
    assert_int_equal(ed_val_to_num(&v, &x), 0);
    assert_true(x == 42);
    v = sval("-1.5e3");
    assert_int_equal(ed_val_to_num(&v, &x), 0);
    assert_true(x == -1500);
    /* Not NUL-terminated: only len bytes count. */
    v = (ed_val_t){.type = ED_VAL_STRING, .ptr = "123abc", .len = 3};
    assert_int_equal(ed_val_to_num(&v, &x), 0);
    assert_true(x == 123);
    const char *bad[] = {"", "12abc", "abc", "1.2.3", "nan", "inf", "1e999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = sval(bad[i]);
        x = -7;
        assert_int_equal(ed_val_to_num(&v, &x), ED_EINVAL);
        assert_true(x == -7);
    }
    /* A long numeric string (heap copy). */
    char longnum[200];
    memset(longnum, '0', sizeof longnum - 2);
    longnum[0] = '7';
    longnum[sizeof longnum - 2] = '\0';
    longnum[sizeof longnum - 1] = '\0';
    v = sval(longnum);
    assert_int_equal(ed_val_to_num(&v, &x), 0);
    assert_true(x == 7e197);
    ed_val_t miss = {.type = ED_VAL_MISSING};
    ed_val_t null = {.type = ED_VAL_NULL, .ptr = "null", .len = 4};
    ed_val_t other = {.type = ED_VAL_OTHER, .ptr = "[1]", .len = 3};
    assert_int_equal(ed_val_to_num(&miss, &x), ED_EINVAL);
    assert_int_equal(ed_val_to_num(&null, &x), ED_EINVAL);
    assert_int_equal(ed_val_to_num(&other, &x), ED_EINVAL);
}

/* ------------------------------------------------------------ time */

static int64_t t_ok(ed_val_t v, ed_time_format_t fmt) {
    int64_t ms = -12345;
    int rc = ed_time_parse(&v, fmt, &ms);
    if (rc != 0)
        fail_msg("ed_time_parse('%.*s', %d) = %d", (int)v.len, v.ptr ? v.ptr : "", (int)fmt, rc);
    return ms;
}
static void t_bad(ed_val_t v, ed_time_format_t fmt) {
    int64_t ms = -12345;
    if (ed_time_parse(&v, fmt, &ms) != ED_EINVAL)
        fail_msg("ed_time_parse('%.*s', %d) accepted: %lld", (int)v.len, v.ptr ? v.ptr : "",
                 (int)fmt, (long long)ms);
    assert_true(ms == -12345);
}

static void test_time_epoch(void **state) {
    /* 2024-05-01T12:00:00Z, computed the slow way: whole years, then months. */
    int64_t days = 0;
    for (int y = 1970; y < 2024; y++)
        days += (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365;
    days += 31 + 29 + 31 + 30;
    int64_t want = (days * 86400 + 12 * 3600) * 1000;
    assert_true(want == 1714564800000LL);

    assert_true(t_ok(nval(1714564800), ED_TIME_EPOCH_S) == 1714564800000LL);
    assert_true(t_ok(nval(1714564800.123), ED_TIME_EPOCH_S) == 1714564800123LL);
    assert_true(t_ok(nval(1714564800123.0), ED_TIME_EPOCH_MS) == 1714564800123LL);
    assert_true(t_ok(sval("1714564800"), ED_TIME_EPOCH_S) == 1714564800000LL);
    assert_true(t_ok(sval("1714564800123"), ED_TIME_EPOCH_MS) == 1714564800123LL);
    /* auto: < 1e11 is seconds, else ms */
    assert_true(t_ok(nval(1714564800), ED_TIME_AUTO) == 1714564800000LL);
    assert_true(t_ok(nval(1714564800.5), ED_TIME_AUTO) == 1714564800500LL);
    assert_true(t_ok(nval(1714564800123.0), ED_TIME_AUTO) == 1714564800123LL);
    assert_true(t_ok(sval("1714564800123"), ED_TIME_AUTO) == 1714564800123LL);
    assert_true(t_ok(sval("1714564800"), ED_TIME_AUTO) == 1714564800000LL);
    assert_true(t_ok(nval(0), ED_TIME_AUTO) == 0);

    t_bad(sval("soon"), ED_TIME_EPOCH_S);
    t_bad(sval("2024-05-01"), ED_TIME_EPOCH_MS);
    t_bad((ed_val_t){.type = ED_VAL_BOOL, .num = 1}, ED_TIME_EPOCH_S);
    t_bad((ed_val_t){.type = ED_VAL_MISSING}, ED_TIME_AUTO);
    t_bad((ed_val_t){.type = ED_VAL_NULL}, ED_TIME_AUTO);
    t_bad(nval(1e300), ED_TIME_EPOCH_S);
    t_bad(nval(1714564800), ED_TIME_NONE);
}

static void test_time_iso(void **state) {
    const int64_t base = 1714564800000LL; /* 2024-05-01T12:00:00Z */
    static const struct {
        const char *s;
        int64_t delta_ms; /* from base */
    } ok[] = {
        {"2024-05-01T12:00:00Z", 0},
        {"2024-05-01T12:00:00z", 0},
        {"2024-05-01t12:00:00Z", 0},
        {"2024-05-01 12:00:00Z", 0},
        {"2024-05-01T12:00:00", 0}, /* no zone: UTC */
        {"2024-05-01T12:00Z", 0},   /* no seconds */
        {"2024-05-01T12:00:00.123Z", 123},
        {"2024-05-01T12:00:00.1Z", 100},
        {"2024-05-01T12:00:00,25Z", 250},
        {"2024-05-01T12:00:00.123456789Z", 123},
        {"2024-05-01T14:00:00+02:00", 0},
        {"2024-05-01T14:00:00+0200", 0},
        {"2024-05-01T14:00:00+02", 0},
        {"2024-05-01T06:30:00-05:30", 0},
        {"2024-05-01T06:30:00.5-0530", 500},
        {"2024-05-01T00:00:00Z", -12 * 3600000LL},
        {"2024-05-01", -12 * 3600000LL},
        {"2024-05-02T01:59:59.999+14:00", -1},
        {"2024-04-30T23:00:00-13:00", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = t_ok(sval(ok[i].s), ED_TIME_ISO8601);
        if (ms != base + ok[i].delta_ms)
            fail_msg("%s: got %lld want %lld", ok[i].s, (long long)ms,
                     (long long)(base + ok[i].delta_ms));
        assert_true(t_ok(sval(ok[i].s), ED_TIME_AUTO) == base + ok[i].delta_ms);
    }
    /* Independent anchors. */
    assert_true(t_ok(sval("1970-01-01T00:00:00Z"), ED_TIME_ISO8601) == 0);
    assert_true(t_ok(sval("1969-12-31T23:59:59Z"), ED_TIME_ISO8601) == -1000);
    assert_true(t_ok(sval("2000-01-01T00:00:00Z"), ED_TIME_ISO8601) == 946684800000LL);
    assert_true(t_ok(sval("2000-02-29"), ED_TIME_ISO8601) == 951782400000LL);
    assert_true(t_ok(sval("2038-01-19T03:14:08Z"), ED_TIME_ISO8601) == 2147483648000LL);
    assert_true(t_ok(sval("1900-03-01"), ED_TIME_ISO8601) == -2203891200000LL);
    assert_true(t_ok(sval("2100-12-31T23:59:59.999Z"), ED_TIME_ISO8601) == 4133980799999LL);

    t_bad(sval("2024"), ED_TIME_ISO8601); /* (AUTO reads it as epoch seconds) */
    const char *bad[] = {"",
                         "2024-5-01",
                         "2024-05-1",
                         "2024-13-01",
                         "2024-00-10",
                         "2024-02-30",
                         "2023-02-29",
                         "1900-02-29",
                         "2024-05-01T",
                         "2024-05-01T25:00:00Z",
                         "2024-05-01T12:60:00Z",
                         "2024-05-01T12:00:61Z",
                         "2024-05-01T12:00:00.Z",
                         "2024-05-01T12:00:00+2:00",
                         "2024-05-01T12:00:00+02:",
                         "2024-05-01T12:00:00+24:00",
                         "2024-05-01T12:00:00Zjunk",
                         "2024-05-01X12:00:00Z",
                         " 2024-05-01",
                         "May 1 2024"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t_bad(sval(bad[i]), ED_TIME_ISO8601);
        t_bad(sval(bad[i]), ED_TIME_AUTO);
    }
    t_bad(nval(1714564800), ED_TIME_ISO8601);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_words_many),
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_json_numbers),
        cmocka_unit_test(test_json_many_tokens),
        cmocka_unit_test(test_json_malformed),
        cmocka_unit_test(test_json_duplicate_and_escaped_keys),
        cmocka_unit_test(test_val_to_num),
        cmocka_unit_test(test_time_epoch),
        cmocka_unit_test(test_time_iso),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
