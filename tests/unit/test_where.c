/* test_where.c — the `where:` language (actors/decode/ed_where.c): every
 * construct over records decoded by eddy's JSON decoder, precedence, the
 * missing/wrong-type counters, regex dialect, parse errors with their
 * positions, random mutations of valid expressions (no crash, an error that
 * names a position inside the text), and random expressions over random
 * records checked against an independent evaluator written in Python
 * (tests/tools/where_cases.py). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "actors/decode/ed_decode.h"
#include "actors/decode/ed_where.h"
#include "runtime/ed_common.h"
#include "oracle_cases.h"

/* ----------------------------------------------------------------- helpers */

typedef struct {
    ed_where_ctx_t *cx;
    int result;
    int emitted;
} s_run_t;

static void s_emit(void *ud, const ed_val_t *vals) {
    s_run_t *r = ud;
    r->emitted++;
    r->result = ed_where_eval(r->cx, vals);
}

static ed_where_t *s_parse_ok(const char *expr) {
    ed_where_t *w = NULL;
    char err[512] = "";
    int rc = ed_where_parse(expr, NULL, &w, err, sizeof err);
    if (rc != 0)
        fail_msg("'%s' should parse: %s", expr, err);
    return w;
}

/* Evaluates expr over one JSON record; *counts (if not NULL) gets the
 * counters of that one evaluation. */
static int s_eval_counts(const char *expr, const char *json, ed_where_counts_t *counts) {
    ed_where_t *w = s_parse_ok(expr);
    int nf = ed_where_nfields(w);
    const char **fields = calloc((size_t)nf, sizeof *fields);
    for (int i = 0; i < nf; i++)
        fields[i] = ed_where_field(w, i);
    ed_decoder_t *dec = NULL;
    char err[512];
    assert_int_equal(ed_decoder_new(&dec, ED_FMT_JSON, fields, nf, err, sizeof err), 0);
    s_run_t r = {.cx = ed_where_ctx_new(w)};
    if (ed_decoder_decode(dec, json, strlen(json), s_emit, &r, err, sizeof err) != 1)
        fail_msg("record %s: %s", json, err);
    assert_int_equal(r.emitted, 1);
    if (counts)
        *counts = *ed_where_ctx_counts(r.cx);
    ed_where_ctx_destroy(&r.cx);
    assert_null(r.cx);
    ed_decoder_destroy(&dec);
    free(fields);
    ed_where_destroy(&w);
    assert_null(w);
    return r.result;
}

static int s_eval(const char *expr, const char *json) {
    return s_eval_counts(expr, json, NULL);
}

#define PASS(expr, json)                                                                           \
    do {                                                                                           \
        if (s_eval(expr, json) != 1)                                                               \
            fail_msg("%s should pass %s", expr, json);                                             \
    } while (0)
#define FAIL(expr, json)                                                                           \
    do {                                                                                           \
        if (s_eval(expr, json) != 0)                                                               \
            fail_msg("%s should not pass %s", expr, json);                                         \
    } while (0)

/* Parses expr at origin (file "p.yaml", line 7, column col), expects an
 * error containing want; returns nothing. */
static void s_err_at(const char *expr, int col, const char *want) {
    ed_where_origin_t o = {.file = "p.yaml", .line = 7, .col = col, .what = "where of 'x'"};
    ed_where_t *w = NULL;
    char err[1024] = "";
    if (ed_where_parse(expr, &o, &w, err, sizeof err) != ED_EINVAL)
        fail_msg("'%s' should not parse", expr);
    assert_null(w);
    if (!strstr(err, want))
        fail_msg("error for '%s' is\n  %s\nwhich lacks\n  %s", expr, err, want);
}

/* ------------------------------------------------------------- constructs */

static void test_numbers(void **state) {
    (void)state;
    const char *r = "{\"amount\": 1500, \"neg\": -2.5, \"zero\": -0.0}";
    PASS("amount > 1000", r);
    PASS("amount >= 1500", r);
    FAIL("amount > 1500", r);
    PASS("amount == 1500", r);
    PASS("amount == 1.5e3", r);
    PASS("amount != 1499.999", r);
    PASS("amount < 1500.5", r);
    PASS("amount <= 1500", r);
    FAIL("amount < 1500", r);
    PASS("neg < -2", r);
    PASS("neg == -2.5", r);
    PASS("zero == 0", r);
    PASS("amount>1000", r); /* no spaces needed around operators */
}

/* FIELD % N CMP VALUE: Python's float % (the sign of the divisor), so the
 * Nexmark q2 filter `auction % 123 == 0` reads as in the spec. */
static void test_modulo(void **state) {
    (void)state;
    PASS("auction % 123 == 0", "{\"auction\": 246}");
    FAIL("auction % 123 == 0", "{\"auction\": 247}");
    PASS("auction%123==1", "{\"auction\": 247}");
    PASS("n % 3 == 2", "{\"n\": -7}");     /* floored, as Python: -7 % 3 = 2 */
    PASS("n % -3 == -2", "{\"n\": 7}");    /* the sign of the divisor */
    PASS("x % 2.5 == 0.5", "{\"x\": 5.5}");
    PASS("x % 2 > 1.5 and x % 2 < 2", "{\"x\": 7.75}");
    PASS("a % 10 == b", "{\"a\": 13, \"b\": 3}");
    PASS("not (auction % 2 == 0)", "{\"auction\": 5}");
    ed_where_counts_t c;
    assert_int_equal(s_eval_counts("s % 2 == 0", "{\"s\": \"4\"}", &c), 0);
    assert_int_equal(c.wrong_type, 1); /* a string is no number */
    assert_int_equal(s_eval_counts("s % 2 == 0", "{\"t\": 4}", &c), 0);
    assert_int_equal(c.missing, 1);
    s_err_at("a % 0 == 1", 1, "7:5: in where of 'x': found '0'; expected a number other than 0 after '%'");
    s_err_at("a % b == 1", 1, "7:5: in where of 'x': found 'b'; expected a number other than 0");
    s_err_at("a % 3", 1, "found the end of the expression; expected a comparison (==, !=, <, <=, >, "
                         ">=) after 'FIELD % N'");
    s_err_at("a % 3 in [1]", 1, "7:7: in where of 'x': found 'in'; expected a comparison");
}

static void test_strings(void **state) {
    (void)state;
    const char *r =
        "{\"status\": \"failed\", \"name\": \"caf\\u00e9\", \"q\": \"say \\\"hi\\\" \\\\ ok\"}";
    PASS("status == \"failed\"", r);
    PASS("status == 'failed'", r);
    FAIL("status != \"failed\"", r);
    PASS("status != \"paid\"", r);
    PASS("status < \"g\"", r);
    PASS("status > \"fail\"", r); /* a prefix sorts first */
    PASS("status >= \"failed\"", r);
    FAIL("status < \"Failed\"", r); /* bytewise: 'F' < 'f' */
    PASS("name == \"café\"", r);
    PASS("name > \"cafz\"", r); /* UTF-8 bytes: é (0xC3…) > z */
    PASS("q == 'say \"hi\" \\\\ ok'", r);
    PASS("q == \"say \\\"hi\\\" \\ ok\"", r); /* a lone backslash before a space stays */
    PASS("q contains '\"hi\"'", r);
}

static void test_bools_and_fields(void **state) {
    (void)state;
    const char *r = "{\"ok\": true, \"no\": false, \"a\": 3, \"b\": 5, \"s\": \"x\", \"t\": \"y\"}";
    PASS("ok == true", r);
    PASS("ok != false", r);
    PASS("no == false", r);
    FAIL("ok == 1", r); /* strict types: a boolean is not a number */
    PASS("a < b", r);   /* field against field */
    FAIL("a == b", r);
    PASS("s < t", r);
    FAIL("a < s", r); /* number against string: wrong type */
    PASS("ok == ok", r);
    FAIL("ok < no", r); /* booleans do not order */
}

static void test_logic_and_precedence(void **state) {
    (void)state;
    /* not > and > or: evaluate both readings over all 16 assignments. */
    const char *e = "not a == 1 or b == 1 and c == 1 or d == 1";
    for (int m = 0; m < 16; m++) {
        int a = m & 1, b = (m >> 1) & 1, c = (m >> 2) & 1, d = (m >> 3) & 1;
        char rec[128];
        snprintf(rec, sizeof rec, "{\"a\":%d,\"b\":%d,\"c\":%d,\"d\":%d}", a, b, c, d);
        int want = !a || (b && c) || d;
        assert_int_equal(s_eval(e, rec), want);
        assert_int_equal(s_eval("(not a == 1 or b == 1) and (c == 1 or d == 1)", rec),
                         (!a || b) && (c || d));
        assert_int_equal(s_eval("not (a == 1 or b == 1)", rec), !(a || b));
        assert_int_equal(s_eval("not not a == 1", rec), a);
        assert_int_equal(s_eval("a == 1 and not b == 1 and not not c == 1", rec), a && !b && c);
    }
    PASS("((((a == 1))))", "{\"a\":1}");
    /* and/or short-circuit: the right side is not evaluated (not counted). */
    ed_where_counts_t n;
    assert_int_equal(s_eval_counts("a == 1 or zz == 1", "{\"a\":1}", &n), 1);
    assert_int_equal(n.missing, 0);
    assert_int_equal(s_eval_counts("a == 2 and zz == 1", "{\"a\":1}", &n), 0);
    assert_int_equal(n.missing, 0);
    assert_int_equal(s_eval_counts("a == 2 or zz == 1", "{\"a\":1}", &n), 0);
    assert_int_equal(n.missing, 1);
    assert_int_equal(n.evals, 1);
    assert_int_equal(n.passed, 0);
}

static void test_in(void **state) {
    (void)state;
    const char *r = "{\"c\": \"books\", \"n\": 3, \"ok\": true}";
    PASS("c in [\"toys\", \"books\"]", r);
    PASS("c in ['books']", r);
    FAIL("c in [\"toys\", \"book\"]", r);
    PASS("c not in [\"toys\", \"games\"]", r);
    FAIL("c not in [\"books\"]", r);
    PASS("n in [1, 2, 3,]", r); /* a trailing comma */
    PASS("n in [\"3\", 3]", r); /* mixed list: the number 3 */
    FAIL("n in [\"3\"]", r);    /* no number in the list: wrong type */
    FAIL("n not in [\"3\"]", r);
    PASS("ok in [true]", r);
    FAIL("ok in [false, 1]", r);
    /* A long list is searched by bisection: every element and a few gaps. */
    char expr[8192] = "n in [";
    for (int i = 199; i >= 0; i--)
        snprintf(expr + strlen(expr), sizeof expr - strlen(expr), "%d%s", i * 2, i ? ", " : "]");
    for (int v = -1; v <= 400; v++) {
        char rec[64];
        snprintf(rec, sizeof rec, "{\"n\": %d}", v);
        assert_int_equal(s_eval(expr, rec), v >= 0 && v < 400 && v % 2 == 0);
    }
    char sexpr[8192] = "c in [";
    for (int i = 0; i < 100; i++)
        snprintf(sexpr + strlen(sexpr), sizeof sexpr - strlen(sexpr), "\"k%d\"%s", (i * 37) % 100,
                 i < 99 ? ", " : "]");
    for (int v = 0; v < 120; v++) {
        char rec[64];
        snprintf(rec, sizeof rec, "{\"c\": \"k%d\"}", v);
        assert_int_equal(s_eval(sexpr, rec), v < 100);
    }
    FAIL(sexpr, "{\"c\": \"k\"}");
}

static void test_missing(void **state) {
    (void)state;
    const char *r = "{\"a\": 1, \"z\": null, \"o\": {\"p\": 2}}";
    PASS("b is missing", r);
    PASS("z is missing", r); /* null counts as missing */
    FAIL("a is missing", r);
    PASS("a is not missing", r);
    PASS("o.p is not missing", r);
    PASS("o.q is missing", r);
    PASS("a.b is missing", r); /* a is a number, so a.b does not exist */
    ed_where_counts_t n;
    /* Missing makes a predicate false, != and not in included... */
    assert_int_equal(s_eval_counts("b != 1", r, &n), 0);
    assert_int_equal(n.missing, 1);
    assert_int_equal(s_eval_counts("z not in [1]", r, &n), 0);
    assert_int_equal(n.missing, 1);
    assert_int_equal(s_eval_counts("b contains 'x'", r, &n), 0);
    assert_int_equal(n.missing, 1);
    assert_int_equal(s_eval_counts("a < b", r, &n), 0); /* either side of field == field */
    assert_int_equal(n.missing, 1);
    /* ...while not (…) of a false predicate is true. */
    assert_int_equal(s_eval_counts("not (b == 1)", r, &n), 1);
    assert_int_equal(n.missing, 1);
    assert_int_equal(n.passed, 1);
    /* Wrong types are counted apart. */
    assert_int_equal(
        s_eval_counts("a == \"1\" or o > 1 or a contains \"1\" or a matches '1'", r, &n), 0);
    assert_int_equal(n.wrong_type, 4);
    assert_int_equal(n.missing, 0);
}

static void test_string_ops(void **state) {
    (void)state;
    const char *r = "{\"t\": \"I love Machine Learning and big data!\", \"e\": \"\", \"n\": 5}";
    PASS("t contains \"Machine\"", r);
    FAIL("t contains \"machine\"", r);
    PASS("t starts_with \"I love\"", r);
    FAIL("t starts_with \"love\"", r);
    PASS("t ends_with \"data!\"", r);
    FAIL("t ends_with \"data\"", r);
    PASS("t contains \"\"", r);
    PASS("e starts_with \"\"", r);
    FAIL("e contains \"x\"", r);
    FAIL("e ends_with \"x\"", r);
    FAIL("n contains \"5\"", r);
}

static void test_regex(void **state) {
    (void)state;
    const char *r =
        "{\"t\": \"Talking about DATA Science today\", \"u\": \"\\u00c9t\\u00e9 caf\\u00e9\", "
        "\"d\": \"order 12345\"}";
    FAIL("t matches \"data science\"", r);
    PASS("t matches \"(?i)data science\"", r);
    PASS("t matches '(?i)\\b(machine learning|data science|big data|ai)\\b'", r);
    FAIL("t matches '(?i)\\bscien\\b'", r);
    PASS("t matches \"^Talking\"", r);
    FAIL("t matches \"^about\"", r);
    PASS("u matches '(?i)^été'", r);    /* Unicode case folding: É/é */
    PASS("u matches '^\\w+ \\w+$'", r); /* \w is Unicode-aware (UCP) */
    PASS("u matches '^.{3} '", r);      /* . is one character, not one byte */
    PASS("d matches \"\\d{5}\"", r);    /* a lone backslash stays: \d */
    PASS("d matches \"\\\\d{5}\"", r);  /* and so does an escaped one */
    FAIL("d matches \"\\d{6}\"", r);

    /* Invalid UTF-8 in a subject (a Kafka key, say) does not break matching. */
    ed_where_t *w = s_parse_ok("k matches 'ab' or k matches '(?i)^x'");
    ed_where_ctx_t *cx = ed_where_ctx_new(w);
    ed_val_t v = {.type = ED_VAL_STRING,
                  .ptr = "x\xff\xfe"
                         "ab",
                  .len = 5};
    assert_int_equal(ed_where_eval(cx, &v), 1);
    v.ptr = "\xc3";
    v.len = 1;
    assert_int_equal(ed_where_eval(cx, &v), 0);
    assert_int_equal(ed_where_ctx_counts(cx)->regex_failed, 0);
    ed_where_ctx_destroy(&cx);
    ed_where_destroy(&w);

    /* Catastrophic backtracking hits the match limit: false, counted. */
    w = s_parse_ok("k matches '^(a|aa)+$'");
    cx = ed_where_ctx_new(w);
    char subject[80];
    memset(subject, 'a', 60);
    subject[60] = 'b';
    v = (ed_val_t){.type = ED_VAL_STRING, .ptr = subject, .len = 61};
    assert_int_equal(ed_where_eval(cx, &v), 0);
    assert_int_equal(ed_where_ctx_counts(cx)->regex_failed, 1);
    v.len = 60;
    assert_int_equal(ed_where_eval(cx, &v), 1);
    ed_where_ctx_destroy(&cx);
    ed_where_destroy(&w);
}

static void test_fields(void **state) {
    (void)state;
    ed_where_origin_t o = {.file = "p.yaml", .line = 3, .col = 10};
    ed_where_t *w = NULL;
    char err[256];
    assert_int_equal(ed_where_parse("b == 1 and a.x > 2 or\n  `odd-name` == b or @key == 'k'", &o,
                                    &w, err, sizeof err),
                     0);
    assert_int_equal(ed_where_nfields(w), 4); /* b once */
    assert_string_equal(ed_where_field(w, 0), "b");
    assert_string_equal(ed_where_field(w, 1), "a.x");
    assert_string_equal(ed_where_field(w, 2), "odd-name");
    assert_string_equal(ed_where_field(w, 3), "@key");
    int line, col;
    ed_where_field_pos(w, 1, &line, &col);
    assert_int_equal(line, 3);
    assert_int_equal(col, 21);
    ed_where_field_pos(w, 2, &line, &col);
    assert_int_equal(line, 4);
    assert_int_equal(col, 3);
    assert_string_equal(ed_where_text(w),
                        "b == 1 and a.x > 2 or\n  `odd-name` == b or @key == 'k'");
    /* Values arrive in that order (meta fields too: the caller fills them). */
    ed_where_ctx_t *cx = ed_where_ctx_new(w);
    ed_val_t vals[4] = {{.type = ED_VAL_NUMBER, .num = 0},
                        {.type = ED_VAL_MISSING},
                        {.type = ED_VAL_NUMBER, .num = 0},
                        {.type = ED_VAL_MISSING}};
    assert_int_equal(ed_where_eval(cx, vals), 1); /* odd-name == b */
    vals[2].num = 1;
    assert_int_equal(ed_where_eval(cx, vals), 0);
    vals[3] = (ed_val_t){.type = ED_VAL_STRING, .ptr = "k", .len = 1};
    assert_int_equal(ed_where_eval(cx, vals), 1);
    assert_int_equal(ed_where_ctx_counts(cx)->evals, 3);
    assert_int_equal(ed_where_ctx_counts(cx)->passed, 2);
    ed_where_ctx_destroy(&cx);
    ed_where_destroy(&w);
    ed_where_destroy(&w); /* NULL-safe */
    /* Keywords as field names need backquotes. */
    PASS("`in` == 1 and `not.and` == 2", "{\"in\": 1, \"not\": {\"and\": 2}}");
}

/* ------------------------------------------------------------------ errors */

static void test_errors(void **state) {
    (void)state;
    /* col is the column of the text's first character (the caller adds one
     * for a quoted scalar); each error names the token's own position. */
    static const struct {
        const char *expr;
        int col;
        const char *want;
    } cases[] = {
        {"status == \"failed\" AND amount > 1", 12,
         "p.yaml:7:31: in where of 'x': found 'AND'; expected 'and', 'or' or the end of the "
         "expression (keywords are lowercase)"},
        {"status = \"failed\"", 1, "p.yaml:7:8: in where of 'x': found '='; did you mean '=='?"},
        {"a == 1 && b == 2", 1, "p.yaml:7:8: in where of 'x': found '&&'; did you mean 'and'?"},
        {"a <> 1", 1, "7:3: in where of 'x': found '<>'; did you mean '!='?"},
        {"100 < orders", 5,
         "7:5: in where of 'x': found '100'; expected a field name (the field goes on the left"},
        {"amount >", 1, "7:9: in where of 'x': found the end of the expression; expected a value"},
        {"amount", 1,
         "7:7: in where of 'x': found the end of the expression; expected a comparison"},
        {"amount 5", 1, "7:8: in where of 'x': found '5'; expected a comparison (==, !="},
        {"", 4, "p.yaml:7:4: in where of 'x': empty expression"},
        {"   ", 4, "p.yaml:7:4: in where of 'x': empty expression"},
        {"s == \"abc", 1, "7:6: in where of 'x': unterminated string"},
        {"s == 'it\\'s", 1, "7:6: in where of 'x': unterminated string"},
        {"(a == 1 or b == 2", 1,
         "7:18: in where of 'x': found the end of the expression; expected ')' closing the '(' at "
         "7:1"},
        {"a == 1)", 1, "7:7: in where of 'x': found ')'; expected 'and', 'or'"},
        {"c in [\"a\" \"b\"]", 1, "7:11: in where of 'x': found '\"b\"'; expected ',' or ']'"},
        {"c in []", 1, "7:7: in where of 'x': found ']'; expected a value in the list"},
        {"c in \"a\"", 1, "7:6: in where of 'x': found '\"a\"'; expected '['"},
        {"c in [d]", 1, "7:7: in where of 'x': found 'd'; expected a value in the list"},
        {"c not [1]", 1, "7:7: in where of 'x': found '['; expected 'in' after 'not'"},
        {"c is nothing", 1,
         "7:6: in where of 'x': found 'nothing'; expected 'missing' or 'not missing'"},
        {"c is null", 1, "(to test for null write 'FIELD is missing')"},
        {"c contains 5", 1,
         "7:12: in where of 'x': found '5'; expected a \"string\" after 'contains'"},
        {"c matches d", 1,
         "7:11: in where of 'x': found 'd'; expected a \"string\" after 'matches'"},
        {"t matches \"(a\"", 3,
         "7:13: in where of 'x': invalid regular expression \"(a\": missing closing parenthesis at "
         "offset 2 of the pattern"},
        {"ok < true", 1,
         "7:4: in where of 'x': booleans compare with == and != only, not with '<'"},
        {"a == 12abc", 1, "7:6: in where of 'x': invalid number '12abc'"},
        {"a == 1e999", 1, "7:6: in where of 'x': number '1e999' is out of range"},
        {"a == 1.", 1, "7:6: in where of 'x': invalid number '1.'"},
        {"@ == 1", 1, "7:1: in where of 'x': '@' must be followed by a meta field name"},
        {"`a == 1", 1, "7:1: in where of 'x': unterminated `quoted field name`"},
        {"a == $x", 1, "7:6: in where of 'x': unexpected character '$'"},
        {"a == 1 and é", 1, "7:12: in where of 'x': unexpected character 'é'"},
        {"not", 1,
         "7:4: in where of 'x': found the end of the expression; expected a field name, 'not' or "
         "'('"},
        {"and a == 1", 1, "7:1: in where of 'x': found 'and'; expected a field name"},
        /* Columns count characters; a new line restarts them. */
        {"s == \"été\" or", 2, "7:15: in where of 'x': found the end of the expression"},
        {"a == 1\n  and\n   b ==", 9, "p.yaml:9:8: in where of 'x': found the end"},
        {"a == 1\n  or 2 == b", 9, "p.yaml:8:6: in where of 'x': found '2'; expected a field name"},
    };
    for (size_t i = 0; i < ED_ARRAY_SIZE(cases); i++)
        s_err_at(cases[i].expr, cases[i].col, cases[i].want);
    /* Nesting is bounded. */
    char deep[512] = "";
    for (int i = 0; i < ED_WHERE_MAX_DEPTH + 1; i++)
        strcat(deep, "(");
    strcat(deep, "a == 1");
    s_err_at(deep, 1, "in where of 'x': expression nested deeper than 64 levels");
    deep[0] = '\0';
    for (int i = 0; i < ED_WHERE_MAX_DEPTH; i++)
        strcat(deep, "(");
    strcat(deep, "a == 1");
    for (int i = 0; i < ED_WHERE_MAX_DEPTH; i++)
        strcat(deep, ")");
    PASS(deep, "{\"a\": 1}");
    /* Without an origin the error says "expression" and counts from 1:1. */
    ed_where_t *w = NULL;
    char err[256];
    assert_int_equal(ed_where_parse("a ==", NULL, &w, err, sizeof err), ED_EINVAL);
    assert_string_equal(err, "expression:1:5: found the end of the expression; expected a value (a "
                             "number, a \"string\", true or false) or a field");
}

/* Random byte mutations of valid expressions: each either parses (and
 * evaluates without crashing) or fails with an error naming line 1 and a
 * column inside the text (+1 for the end). Deterministic; run under ASan
 * this is a fuzz test of the lexer and parser. */
static void test_mutations(void **state) {
    (void)state;
    static const char *const seeds[] = {
        "status == \"failed\" and amount > 1000",
        "not (a in [1, 2, 'x',] or b is not missing) and `c-d`.e starts_with 'q\\'r'",
        "t matches \"(?i)\\b(data|ai)\\b\" or @key >= 'k' and x != -1.5e3",
        "((a < b)) or not not c ends_with \"\\\\\" and d not in [true, false]",
    };
    static const char alphabet[] = "()[],'\"`\\ \tn=!<>@.-+e0123456789aindorstmx_";
    uint64_t rng = 88172645463325252ull;
    int parsed = 0, failed = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char buf[256];
        const char *seed = seeds[iter % ED_ARRAY_SIZE(seeds)];
        size_t n = strlen(seed);
        memcpy(buf, seed, n + 1);
        int nmut = 1 + (int)(iter % 3);
        for (int m = 0; m < nmut; m++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t at = (size_t)(rng % (n + 1));
            int op = (int)((rng >> 32) % 3);
            char c = alphabet[(rng >> 40) % (sizeof alphabet - 1)];
            if (op == 0 && n > 0 && at < n) { /* delete */
                memmove(buf + at, buf + at + 1, n - at);
                n--;
            } else if (op == 1 && n + 1 < sizeof buf) { /* insert */
                memmove(buf + at + 1, buf + at, n - at + 1);
                buf[at] = c;
                n++;
            } else if (at < n) { /* replace */
                buf[at] = c;
            }
        }
        ed_where_t *w = NULL;
        char err[1024] = "";
        if (ed_where_parse(buf, NULL, &w, err, sizeof err) == 0) {
            parsed++;
            ed_where_ctx_t *cx = ed_where_ctx_new(w);
            ed_val_t *vals = calloc((size_t)ed_where_nfields(w), sizeof *vals);
            for (int i = 0; i < ed_where_nfields(w); i++)
                vals[i] = (i & 1) ? (ed_val_t){.type = ED_VAL_STRING, .ptr = "a1", .len = 2}
                                  : (ed_val_t){.type = ED_VAL_NUMBER, .num = 1};
            (void)ed_where_eval(cx, vals);
            free(vals);
            ed_where_ctx_destroy(&cx);
            ed_where_destroy(&w);
        } else {
            failed++;
            int line = 0, col = 0;
            if (sscanf(err, "expression:%d:%d: ", &line, &col) != 2 || line != 1 || col < 1 ||
                col > (int)n + 1)
                fail_msg("error for '%s' names no position inside it: %s", buf, err);
        }
    }
    assert_true(parsed > 100);
    assert_true(failed > 100);
}

/* --------------------------------------------------------- Python oracle */

#define ORACLE_EXPRS 4000
#define ORACLE_RECORDS 60
#define ORACLE_SEED 20261201

static void test_against_python(void **state) {
    (void)state;
    FILE *f = s_oracle_cases("where_cases.py", ORACLE_EXPRS, ORACLE_RECORDS, ORACLE_SEED);
    char *recs[ORACLE_RECORDS];
    size_t rec_len[ORACLE_RECORDS];
    int nrec = 0, nexpr = 0, bad = 0, ones = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (s_oracle_record(line, recs, rec_len, &nrec, ORACLE_RECORDS))
            continue;
        char *expr = malloc(strlen(line));
        s_unhex(line + 2, expr);
        char *rest = strchr(line + 2, ' ');
        assert_non_null(rest);
        char bits[ORACLE_RECORDS + 1];
        unsigned long long want_missing, want_wrong;
        assert_int_equal(sscanf(rest, " %60s %llu %llu", bits, &want_missing, &want_wrong), 3);
        assert_int_equal((int)strlen(bits), nrec);
        nexpr++;

        ed_where_t *w = NULL;
        char err[1024];
        if (ed_where_parse(expr, NULL, &w, err, sizeof err) != 0) {
            if (bad++ < 10)
                print_message("# does not parse: %s\n#   %s\n", expr, err);
            free(expr);
            continue;
        }
        int nf = ed_where_nfields(w);
        const char **fields = calloc((size_t)nf, sizeof *fields);
        for (int i = 0; i < nf; i++)
            fields[i] = ed_where_field(w, i);
        ed_decoder_t *dec = NULL;
        assert_int_equal(ed_decoder_new(&dec, ED_FMT_JSON, fields, nf, err, sizeof err), 0);
        s_run_t r = {.cx = ed_where_ctx_new(w)};
        int mism = 0;
        for (int i = 0; i < nrec; i++) {
            r.emitted = 0;
            /* An exactly sized copy: under ASan any read past the record fails. */
            char *exact = malloc(rec_len[i]);
            memcpy(exact, recs[i], rec_len[i]);
            int rc = ed_decoder_decode(dec, exact, rec_len[i], s_emit, &r, err, sizeof err);
            free(exact);
            assert_int_equal(rc, 1);
            ones += r.result;
            if (r.result != bits[i] - '0' && !mism++ && bad++ < 10)
                print_message("# %s\n#   on %s: eddy %d, oracle %c\n", expr, recs[i], r.result,
                              bits[i]);
        }
        const ed_where_counts_t *c = ed_where_ctx_counts(r.cx);
        if (!mism && (c->missing != want_missing || c->wrong_type != want_wrong ||
                      c->regex_failed != 0 || c->evals != (uint64_t)nrec)) {
            if (bad++ < 10)
                print_message("# %s\n#   counters: eddy missing %llu wrong %llu regex %llu, "
                              "oracle missing %llu wrong %llu\n",
                              expr, (unsigned long long)c->missing,
                              (unsigned long long)c->wrong_type,
                              (unsigned long long)c->regex_failed, want_missing, want_wrong);
        }
        ed_where_ctx_destroy(&r.cx);
        ed_decoder_destroy(&dec);
        free(fields);
        ed_where_destroy(&w);
        free(expr);
    }
    free(line);
    fclose(f);
    for (int i = 0; i < nrec; i++)
        free(recs[i]);
    assert_int_equal(nrec, ORACLE_RECORDS);
    assert_int_equal(nexpr, ORACLE_EXPRS);
    /* Both outcomes occur often enough for the comparison to mean something. */
    assert_true(ones > ORACLE_EXPRS * ORACLE_RECORDS / 10);
    assert_true(ones < ORACLE_EXPRS * ORACLE_RECORDS * 9 / 10);
    if (bad)
        fail_msg("%d of %d expressions disagree with the Python oracle", bad, nexpr);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_modulo),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_bools_and_fields),
        cmocka_unit_test(test_logic_and_precedence),
        cmocka_unit_test(test_in),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_string_ops),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_against_python),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
