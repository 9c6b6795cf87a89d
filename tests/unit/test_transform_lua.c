/* test_transform_lua.c — the `lua:` transform step
 * (actors/decode/ed_transform_lua.c): records in and out of a function,
 * nil drops, the sandbox (no io, os, require, load, dofile, loadfile,
 * debug, print, string.dump; no bytecode), the instruction and memory
 * limits making rejects from which the state recovers, runtime errors as
 * rejects, and syntax errors as config errors naming the script's line. */
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

#include "actors/decode/ed_transform.h"
#include "runtime/ed_common.h"
#include "conf_fails.h"

static char s_dir[] = "/tmp/eddy-lua-XXXXXX";

static int s_setup(void **state) {
    (void)state;
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes script `name` into the test directory; returns its path (static). */
static const char *s_script(const char *name, const char *code) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(code, f);
    fclose(f);
    return path;
}

/* The YAML of a source with one lua step (extra: more options). */
static void s_yaml(char *buf, size_t size, const char *path, const char *fn, const char *extra) {
    snprintf(buf, size,
             "sources:\n"
             "  o:\n"
             "    directory: { path: /tmp }\n"
             "    format: json\n"
             "    to: [n]\n"
             "    transforms:\n"
             "      - lua: { file: \"%s\", function: %s%s }\n"
             "sinks:\n  n: { kafka: { brokers: b, topic: t } }\n",
             path, fn, extra ? extra : "");
}

static ed_config_t *s_conf;

static ed_xrun_t *s_runner(const char *name, const char *code, const char *fn, const char *extra) {
    char y[2048];
    s_yaml(y, sizeof y, s_script(name, code), fn, extra);
    s_conf = s_ok(y);
    ed_xrun_t *r = NULL;
    char err[512];
    if (ed_xrun_new(s_conf->sources[0].transforms, &r, err, sizeof err) != 0)
        fail_msg("runner: %s", err);
    return r;
}

static void s_done(ed_xrun_t **r) {
    ed_xrun_destroy(r);
    ed_config_destroy(&s_conf);
}

static ed_xr_t s_apply(ed_xrun_t *r, const char *in, char *out, size_t out_size, char *why,
                       size_t why_size) {
    const char *o = NULL;
    size_t n = 0;
    why[0] = '\0';
    ed_xr_t x = ed_xrun_apply(r, in, strlen(in), &o, &n, why, why_size);
    if (x == ED_XR_PASS)
        snprintf(out, out_size, "%.*s", (int)n, o);
    return x;
}

static void test_records_in_and_out(void **state) {
    (void)state;
    ed_xrun_t *r = s_runner("score.lua",
                            "local bonus = 2\n"
                            "function score(rec)\n"
                            "  if rec.skip then return nil end\n"
                            "  rec.score = #rec.text + bonus\n"
                            "  rec.big = rec.id * 2\n"
                            "  rec.half = rec.id / 2\n"
                            "  rec.tags[#rec.tags + 1] = 'seen'\n"
                            "  rec.n = nil\n"
                            "  return rec\n"
                            "end\n",
                            "score", NULL);
    char out[1024], why[512];
    assert_int_equal(s_apply(r,
                             "{\"id\":9007199254740993,\"text\":\"h\\u00e9\",\"tags\":[],"
                             "\"empty\":[],\"n\":null,\"o\":{}}",
                             out, sizeof out, why, sizeof why),
                     ED_XR_PASS);
    /* The input's members keep their order; added ones follow. */
    const char *head = "{\"id\":9007199254740993,\"text\":\"h\xc3\xa9\",\"tags\":[\"seen\"],"
                       "\"empty\":[],\"o\":{},";
    if (strncmp(out, head, strlen(head)))
        fail_msg("order: %s", out);
    /* Compare the values via Python's json. */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(d != "
             "{\"id\":9007199254740993,\"text\":\"h\\u00e9\",\"tags\":[\"seen\"],\"empty\":[],"
             "\"o\":{},\"score\":5,\"big\":18014398509481986,\"half\":4503599627370496.5})' '%s'",
             out);
    if (system(cmd) != 0)
        fail_msg("unexpected record %s", out);
    assert_int_equal(s_apply(r, "{\"skip\":true}", out, sizeof out, why, sizeof why),
                     ED_XR_FILTERED);
    assert_int_equal(s_apply(r, "{\"id\":1}", out, sizeof out, why, sizeof why), ED_XR_REJECT);
    if (!strstr(why, "transform 1 (lua, line 7): lua error: ") ||
        !strstr(why, "score.lua:4: attempt to get length of a nil value (field 'text')"))
        fail_msg("why: %s", why);
    s_done(&r);
}

static void test_sandbox(void **state) {
    (void)state;
    char code[1024];
    snprintf(code, sizeof code,
             "function f(rec)\n"
             "  local found = {}\n"
             "  for _, n in ipairs({'io','os','require','load','dofile','loadfile','debug',"
             "'package','print','collectgarbage'}) do\n"
             "    if _G[n] ~= nil then found[#found + 1] = n end\n"
             "  end\n"
             "  if string.dump ~= nil then found[#found + 1] = 'string.dump' end\n"
             "  rec.found = table.concat(found, ',')\n"
             "  rec.math = math.floor(2.5) .. utf8.char(233) .. string.upper('x')\n"
             "  return rec\n"
             "end\n"
             "function escape(rec) return io.open('/etc/passwd') end\n");
    ed_xrun_t *r = s_runner("sandbox.lua", code, "f", NULL);
    char out[1024], why[512];
    assert_int_equal(s_apply(r, "{}", out, sizeof out, why, sizeof why), ED_XR_PASS);
    assert_non_null(strstr(out, "\"found\":\"\""));
    assert_non_null(strstr(out, "\"math\":\"2éX\""));
    s_done(&r);
    r = s_runner("sandbox.lua", code, "escape", NULL);
    assert_int_equal(s_apply(r, "{}", out, sizeof out, why, sizeof why), ED_XR_REJECT);
    assert_non_null(strstr(why, "attempt to index a nil value (global 'io')"));
    s_done(&r);
}

static void test_instruction_limit(void **state) {
    (void)state;
    ed_xrun_t *r = s_runner("loop.lua",
                            "function f(rec)\n"
                            "  if rec.forever then while true do end end\n"
                            "  local s = 0\n"
                            "  for i = 1, rec.n do s = s + i end\n"
                            "  rec.s = s\n"
                            "  return rec\n"
                            "end\n",
                            "f", ", max_instructions: 10000");
    char out[1024], why[512];
    assert_int_equal(s_apply(r, "{\"forever\":true}", out, sizeof out, why, sizeof why),
                     ED_XR_REJECT);
    assert_non_null(strstr(why, "hit the instruction limit of 10000"));
    /* The limit is per record: the next call starts afresh. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s_apply(r, "{\"n\":1000}", out, sizeof out, why, sizeof why), ED_XR_PASS);
        assert_non_null(strstr(out, "\"s\":500500"));
        assert_non_null(strstr(out, "\"n\":1000"));
    }
    assert_int_equal(s_apply(r, "{\"n\":100000}", out, sizeof out, why, sizeof why), ED_XR_REJECT);
    assert_non_null(strstr(why, "instruction limit"));
    s_done(&r);
}

static void test_memory_limit(void **state) {
    (void)state;
    ed_xrun_t *r = s_runner("mem.lua",
                            "keep = {}\n"
                            "function f(rec)\n"
                            "  if rec.hog then\n"
                            "    local t = {}\n"
                            "    for i = 1, 1e7 do t[i] = string.rep('x', 100) .. i end\n"
                            "  end\n"
                            "  rec.ok = true\n"
                            "  return rec\n"
                            "end\n",
                            "f", ", max_memory: 2MiB, max_instructions: 1G");
    char out[1024], why[512];
    assert_int_equal(s_apply(r, "{\"hog\":true}", out, sizeof out, why, sizeof why), ED_XR_REJECT);
    assert_non_null(strstr(why, "hit the memory limit of 2097152 bytes"));
    /* The garbage is collected: later records pass. */
    assert_int_equal(s_apply(r, "{\"a\":1}", out, sizeof out, why, sizeof why), ED_XR_PASS);
    assert_non_null(strstr(out, "\"ok\":true"));
    s_done(&r);
}

static void test_bad_results(void **state) {
    (void)state;
    ed_xrun_t *r = s_runner("bad.lua",
                            "function f(rec)\n"
                            "  if rec.k == 1 then return 'text' end\n"
                            "  if rec.k == 2 then rec.f = print or function() end return rec end\n"
                            "  if rec.k == 3 then local t = {} t.self = t return t end\n"
                            "  if rec.k == 4 then rec.x = 0/0 return rec end\n"
                            "  error({})\n"
                            "end\n",
                            "f", NULL);
    char out[1024], why[512];
    static const struct {
        const char *in, *why;
    } cases[] = {
        {"{\"k\":1}", "f returned string; expected a table (the new record) or nil"},
        {"{\"k\":2}", "a function cannot be written as JSON"},
        {"{\"k\":3}", "nested deeper than 64 levels"},
        {"{\"k\":4}", "cannot be written as JSON (not finite)"},
        {"{\"k\":5}", "an error object that is not a string"},
    };
    for (size_t i = 0; i < ED_ARRAY_SIZE(cases); i++) {
        assert_int_equal(s_apply(r, cases[i].in, out, sizeof out, why, sizeof why), ED_XR_REJECT);
        if (!strstr(why, cases[i].why))
            fail_msg("%s: why '%s' lacks '%s'", cases[i].in, why, cases[i].why);
    }
    s_done(&r);
}

static void test_load_errors(void **state) {
    (void)state;
    char y[2048];
    const char *p = s_script("syntax.lua", "function f(rec)\n  local x = = 1\nend\n");
    s_yaml(y, sizeof y, p, "f", NULL);
    char want[512];
    snprintf(want, sizeof want, "syntax error: %s:2: unexpected symbol near '='", p);
    s_fails(y, "t.yaml:7:22: ", want);
    p = s_script("nofn.lua", "function g(rec) return rec end\n");
    s_yaml(y, sizeof y, p, "f", NULL);
    s_fails(y, "t.yaml:7:22: ", "function 'f' is not defined by");
    p = s_script("top.lua", "error('at the top')\n");
    s_yaml(y, sizeof y, p, "f", NULL);
    s_fails(y, "t.yaml:7:22: ", "top.lua:1: at the top");
    p = s_script("toploop.lua", "while true do end\n");
    s_yaml(y, sizeof y, p, "f", ", max_instructions: 5000");
    s_fails(y, "t.yaml:7:22: ", "hit the instruction limit of 5000");
    /* Precompiled chunks are refused (text only). */
    p = s_script("binary.lua", "\x1bLua\x54\x00");
    s_yaml(y, sizeof y, p, "f", NULL);
    s_fails(y, "t.yaml:7:22: ", "attempt to load a binary chunk");
    s_yaml(y, sizeof y, p, "f", ", max_memory: 1k");
    s_fails(y, "t.yaml:7:", "max_memory");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_in_and_out), cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_instruction_limit),  cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_bad_results),        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
