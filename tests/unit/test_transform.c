/* test_transform.c — `transforms:` of a source (actors/decode/ed_transform.c):
 * the arithmetic of `set` (actors/decode/ed_expr.c) against an independent
 * evaluator in Python over random expressions and records
 * (tests/tools/expr_cases.py), its parse errors, the JSON editor
 * (actors/decode/ed_json_edit.c) case by case, whole step lists loaded from
 * YAML and applied, and their config errors. The Lua step is in
 * test_transform_lua.c. */
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

#include "actors/decode/ed_expr.h"
#include "actors/decode/ed_json.h"
#include "actors/decode/ed_json_edit.h"
#include "actors/decode/ed_json_fields.h"
#include "actors/decode/ed_transform.h"
#include "runtime/ed_common.h"
#include "oracle_cases.h"
#include "conf_fails.h"

/* --------------------------------------------------------- Python oracle */

#define ORACLE_EXPRS 3000
#define ORACLE_RECORDS 40
#define ORACLE_SEED 20261202

/* Does eddy's result (rc, v) match the oracle's token `want`? */
static int s_matches(int rc, const ed_val_t *v, const char *want) {
    if (want[0] == 'X')
        return rc < 0;
    if (rc < 0)
        return 0;
    switch (want[0]) {
    case 'N': return v->type == ED_VAL_NUMBER && v->num == strtod(want + 2, NULL);
    case 'Z': return v->type == ED_VAL_NULL;
    case 'B': return v->type == ED_VAL_BOOL && (int)v->num == want[2] - '0';
    case 'O': return v->type == ED_VAL_OTHER;
    default: {
        char s[256];
        size_t n = s_unhex(want + 2, s);
        return v->type == ED_VAL_STRING && v->len == n && !memcmp(v->ptr, s, n);
    }
    }
}

static void test_expr_against_python(void **state) {
    (void)state;
    FILE *f = s_oracle_cases("expr_cases.py", ORACLE_EXPRS, ORACLE_RECORDS, ORACLE_SEED);
    char *recs[ORACLE_RECORDS];
    size_t rec_len[ORACLE_RECORDS];
    int nrec = 0, nexpr = 0, bad = 0, nums = 0, strs = 0, fails = 0;
    char *line = NULL;
    size_t cap = 0;
    ed_json_t *json = ed_json_new();
    ed_buf_t scratch = ED_BUF_INIT;
    while (getline(&line, &cap, f) > 0) {
        if (s_oracle_record(line, recs, rec_len, &nrec, ORACLE_RECORDS))
            continue;
        char *text = malloc(strlen(line));
        s_unhex(line + 2, text);
        nexpr++;
        ed_expr_t *e = NULL;
        char err[1024];
        if (ed_expr_parse(text, NULL, &e, err, sizeof err) != 0) {
            if (bad++ < 10)
                print_message("# does not parse: %s\n#   %s\n", text, err);
            free(text);
            continue;
        }
        int nf = ed_expr_nfields(e);
        const char **names = calloc((size_t)nf + 1, sizeof *names);
        for (int i = 0; i < nf; i++)
            names[i] = ed_expr_field(e, i);
        ed_json_fields_t *jf = ed_json_fields_new(names, nf);
        ed_val_t vals[16];
        char *tok = strchr(line + 2, ' ');
        for (int i = 0; i < nrec; i++) {
            assert_non_null(tok);
            char want[512];
            assert_int_equal(sscanf(tok, " %511s", want), 1);
            tok = strchr(tok + 1, ' ');
            assert_int_equal(ed_json_parse(json, recs[i], rec_len[i], err, sizeof err), 0);
            ed_json_fields_get(jf, ed_json_tape(json), recs[i], vals);
            ed_val_t out;
            char why[256];
            int rc = ed_expr_eval(e, vals, &scratch, &out, why, sizeof why);
            nums += rc == 0 && out.type == ED_VAL_NUMBER;
            strs += rc == 0 && out.type == ED_VAL_STRING;
            fails += rc < 0;
            if (!s_matches(rc, &out, want) && bad++ < 10)
                print_message("# %s\n#   on %s: eddy %s (%s %.17g), oracle %s\n", text, recs[i],
                              rc < 0 ? "fails" : "gives", rc < 0 ? why : "", out.num, want);
        }
        ed_json_fields_destroy(&jf);
        free(names);
        ed_expr_destroy(&e);
        free(text);
    }
    free(line);
    fclose(f);
    ed_json_destroy(&json);
    ed_buf_free(&scratch);
    for (int i = 0; i < nrec; i++)
        free(recs[i]);
    print_message("# %d expressions over %d records: %d numbers, %d strings, %d failures\n",
                  nexpr, nrec, nums, strs, fails);
    assert_int_equal(nexpr, ORACLE_EXPRS);
    assert_true(nums > 10000 && strs > 2000 && fails > 10000);
    assert_int_equal(bad, 0);
}

/* ---------------------------------------------------------- parse errors */

static void s_expr_fails(const char *text, const char *want) {
    ed_expr_t *e = NULL;
    char err[1024] = "";
    ed_where_origin_t o = {"p.yaml", 3, 10, "'eur' of transform 1"};
    assert_int_equal(ed_expr_parse(text, &o, &e, err, sizeof err), ED_EINVAL);
    assert_null(e);
    if (!strstr(err, want))
        fail_msg("'%s': error '%s' lacks '%s'", text, err, want);
}

static void test_expr_errors(void **state) {
    (void)state;
    s_expr_fails("price *", "p.yaml:3:17: in 'eur' of transform 1: found the end of the expression");
    s_expr_fails("(price * 2", "p.yaml:3:20: in 'eur' of transform 1: found the end");
    s_expr_fails("price 2", "p.yaml:3:16: in 'eur' of transform 1: found '2'; expected an operator");
    s_expr_fails("price = 2", "did you mean '=='?");
    s_expr_fails("@key + 1", "meta field '@key' in a transform is not implemented yet");
    s_expr_fails("a + and", "found 'and'; expected a value");
    s_expr_fails("\"open", "unterminated string");
    char deep[200] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "(");
    s_expr_fails(deep, "nesting deeper than 64 levels");
    ed_expr_t *e = NULL;
    char err[256];
    assert_int_equal(ed_expr_parse("a -1", NULL, &e, err, sizeof err), 0); /* a minus 1 */
    ed_val_t v = {.type = ED_VAL_NUMBER, .num = 5}, out;
    ed_buf_t b = ED_BUF_INIT;
    assert_int_equal(ed_expr_eval(e, &v, &b, &out, err, sizeof err), 0);
    assert_true(out.num == 4);
    ed_expr_destroy(&e);
    assert_int_equal(ed_expr_parse("a / 0", NULL, &e, err, sizeof err), 0);
    assert_int_equal(ed_expr_eval(e, &v, &b, &out, err, sizeof err), -1);
    assert_string_equal(err, "division by zero");
    ed_expr_destroy(&e);
    assert_int_equal(ed_expr_parse("qty * s", NULL, &e, err, sizeof err), 0);
    ed_val_t two[2] = {{.type = ED_VAL_NUMBER, .num = 2}, {.type = ED_VAL_STRING, .ptr = "x", .len = 1}};
    assert_int_equal(ed_expr_eval(e, two, &b, &out, err, sizeof err), -1);
    assert_string_equal(err, "'*' needs two numbers; its right operand (field 's') is a string");
    two[0].type = ED_VAL_MISSING;
    assert_int_equal(ed_expr_eval(e, two, &b, &out, err, sizeof err), -1);
    assert_string_equal(err, "field 'qty' is missing");
    ed_expr_destroy(&e);
    ed_buf_free(&b);
}

/* ------------------------------------------------------------ JSON edits */

typedef struct {
    const char *in;
    const char *set[3]; /* "path=JSON-ish literal": s: string, n: number, d: drop */
    const char *out;    /* NULL: the edit fails */
} s_edit_case_t;

static void test_json_edit(void **state) {
    (void)state;
    static const s_edit_case_t cases[] = {
        {"{\"a\":1,\"b\":2}", {"a=n5"}, "{\"a\":5,\"b\":2}"},
        {"{\"a\":1,\"b\":2}", {"c=sx"}, "{\"a\":1,\"b\":2,\"c\":\"x\"}"},
        {"{\"a\":1,\"b\":2}", {"a=d"}, "{\"b\":2}"},
        {"{\"a\":1,\"b\":2}", {"b=d", "a=d"}, "{}"},
        {"{}", {"x.y.z=n1"}, "{\"x\":{\"y\":{\"z\":1}}}"},
        {"{}", {"x.a=n1", "x.b=n2"}, "{\"x\":{\"a\":1,\"b\":2}}"},
        {"{\"x\":{\"a\":1,\"k\":[1,{\"q\":2}]}}", {"x.b=n2", "x.a=d"},
         "{\"x\":{\"k\":[1,{\"q\":2}],\"b\":2}}"},
        {"{\"a\":1,\"a\":2,\"b\":3}", {"a=n9"}, "{\"a\":9,\"b\":3}"},
        {"{\"a\":1,\"a\":2}", {"a=d"}, "{}"},
        {" { \"s\" : \"x\\\"y\\u00e9\" , \"n\" : 12345678901234567890 } ", {"t=sq"},
         "{\"s\":\"x\\\"y\\u00e9\",\"n\":12345678901234567890,\"t\":\"q\"}"},
        {"{\"caf\\u00e9\":1}", {"café=n2"}, "{\"café\":2}"},
        {"{\"a\":\"str\"}", {"a.b=n1"}, NULL},
        {"{\"a\":\"str\"}", {"a.b=d"}, "{\"a\":\"str\"}"},
        {"{\"a\":null}", {"z=d"}, "{\"a\":null}"},
    };
    ed_json_t *json = ed_json_new();
    for (size_t c = 0; c < ED_ARRAY_SIZE(cases); c++) {
        const s_edit_case_t *k = &cases[c];
        char err[256];
        assert_int_equal(ed_json_parse(json, k->in, strlen(k->in), err, sizeof err), 0);
        ed_json_edit_t edits[3];
        ed_val_t vals[3];
        char paths[3][64];
        int n = 0;
        for (; n < 3 && k->set[n]; n++) {
            const char *eq = strchr(k->set[n], '=');
            snprintf(paths[n], sizeof paths[n], "%.*s", (int)(eq - k->set[n]), k->set[n]);
            if (eq[1] == 's')
                vals[n] = (ed_val_t){.type = ED_VAL_STRING, .ptr = eq + 2, .len = strlen(eq + 2)};
            else
                vals[n] = (ed_val_t){.type = ED_VAL_NUMBER, .num = atof(eq + 2)};
            edits[n] = (ed_json_edit_t){paths[n], eq[1] == 'd' ? NULL : &vals[n]};
        }
        ed_buf_t out = ED_BUF_INIT;
        char why[256] = "";
        int rc = ed_json_edit(ed_json_tape(json), k->in, edits, n, &out, why, sizeof why);
        if (!k->out) {
            assert_int_equal(rc, -1);
            assert_string_equal(why, "cannot set 'a.b': 'a' is a string, not an object");
        } else {
            assert_int_equal(rc, 0);
            if (strcmp(out.data, k->out))
                fail_msg("case %zu: %s → %s; expected %s", c, k->in, out.data, k->out);
            /* The output is JSON again. */
            assert_int_equal(ed_json_parse(json, out.data, out.len, err, sizeof err), 0);
        }
        ed_buf_free(&out);
    }
    ed_json_destroy(&json);
}

/* -------------------------------------------------------- loaded steps */

static const char *s_head =
    "sources:\n"
    "  o:\n"
    "    directory: { path: /tmp }\n"
    "    format: json\n"
    "    to: [n]\n"
    "    transforms:\n";
static const char *s_tail = "sinks:\n  n: { kafka: { brokers: b, topic: t } }\n";

static ed_config_t *s_load(const char *steps) {
    char text[4096];
    snprintf(text, sizeof text, "%s%s%s", s_head, steps, s_tail);
    return s_ok(text);
}

static void s_apply(ed_xrun_t *r, const char *in, ed_xr_t want, const char *out_want) {
    const char *out = NULL;
    size_t n = 0;
    char why[768] = "";
    ed_xr_t got = ed_xrun_apply(r, in, strlen(in), &out, &n, why, sizeof why);
    if (got != want)
        fail_msg("%s: result %d, expected %d (%s)", in, got, want, why);
    if (want == ED_XR_PASS && strncmp(out, out_want, n))
        fail_msg("%s → %.*s; expected %s", in, (int)n, out, out_want);
    if (want == ED_XR_REJECT && !strstr(why, out_want))
        fail_msg("%s: why '%s' lacks '%s'", in, why, out_want);
}

static void test_steps(void **state) {
    (void)state;
    ed_config_t *c = s_load("      - where: 'not (status == \"test\")'\n"
                            "      - set: { eur: \"price * 0.908\", label: 'cat + \"/\" + sku', "
                            "price: \"price * 2\" }\n"
                            "      - drop: [internal, meta.trace]\n"
                            "      - where: 'eur > 1'\n"
                            "      - set: { double_eur: eur * 2 }\n");
    ed_xrun_t *r = NULL;
    char err[512];
    assert_int_equal(ed_xrun_new(c->sources[0].transforms, &r, err, sizeof err), 0);
    s_apply(r,
            "{\"price\":10,\"cat\":\"a\",\"sku\":\"k1\",\"internal\":true,"
            "\"meta\":{\"trace\":1,\"keep\":2}}",
            ED_XR_PASS,
            "{\"price\":20,\"cat\":\"a\",\"sku\":\"k1\",\"meta\":{\"keep\":2},\"eur\":9.08,"
            "\"label\":\"a/k1\",\"double_eur\":18.16}");
    s_apply(r, "{\"price\":10,\"status\":\"test\"}", ED_XR_FILTERED, NULL);
    s_apply(r, "{\"price\":1,\"cat\":\"a\",\"sku\":\"k\"}", ED_XR_FILTERED, NULL); /* eur 0.908 */
    s_apply(r, "{\"cat\":\"a\",\"sku\":\"k\"}", ED_XR_REJECT,
            "transform 2 (set, line 8): field 'price' is missing (setting 'eur')");
    s_apply(r, "{\"price\":\"10\",\"cat\":\"a\",\"sku\":\"k\"}", ED_XR_REJECT,
            "'*' needs two numbers; its left operand (field 'price') is a string");
    s_apply(r, "{\"price\":", ED_XR_REJECT, "incomplete JSON");
    ed_xrun_destroy(&r);
    ed_config_destroy(&c);
}

static void test_step_errors(void **state) {
    (void)state;
    char text[4096];
#define FAILS(steps, prefix, phrase)                                                   \
    do {                                                                               \
        snprintf(text, sizeof text, "%s%s%s", s_head, steps, s_tail);                  \
        s_fails(text, prefix, phrase);                                                 \
    } while (0)
    FAILS("      - set: { eur: \"price *\" }\n", "t.yaml:7:29: ",
          "in 'eur' of transform 1 of source 'o': found the end of the expression");
    FAILS("      - where: 'a === 1'\n", "t.yaml:7:21: ", "'where' of transform 1 of source 'o'");
    FAILS("      - where: 'a == 1 and @key == \"x\"'\n", "t.yaml:7:28: ",
          "meta field '@key' in a transform is not implemented yet");
    FAILS("      - map: { a: b }\n", "t.yaml:7:9: ", "unknown key 'map'");
    FAILS("      - { set: { a: b }, drop: c }\n", "t.yaml:7:9: ", "several keys");
    FAILS("      - set: { a: b, a.c: d }\n", "t.yaml:7:14: ", "one contains the other");
    FAILS("      - drop: ['@key']\n", "t.yaml:7:15: ", "meta field '@key' cannot be written");
    FAILS("      - set: [a]\n", "t.yaml:7:14: ", "expected a mapping of fields to expressions");
    FAILS("      - lua: { file: /nonexistent/x.lua, function: f }\n", "t.yaml:7:22: ",
          "cannot read Lua script /nonexistent/x.lua");
    FAILS("      - lua: { file: x.lua }\n", "t.yaml:7:14: ", "function");
    s_fails("sources:\n  o:\n    directory: { path: /tmp }\n    transforms: [ { drop: a } ]\n"
            "    to: [n]\n" "sinks:\n  n: { kafka: { brokers: b, topic: t } }\n",
            "t.yaml:4:5: ", "need 'format: json'");
    s_fails("sources:\n  g: { generator: { rate: 1 }, transforms: [ { drop: a } ] }\n"
            "aggregations:\n  a: { from: g, key: ['@key'], to: [p] }\n"
            "sinks:\n  p: { postgres: { dsn: x }, table: t }\n",
            "t.yaml:2:32: ", "has no record to transform");
#undef FAILS
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expr_against_python),
        cmocka_unit_test(test_expr_errors),
        cmocka_unit_test(test_json_edit),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_step_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
