/*
 * test_http_static.c — the dashboard's file serving rules
 * (actors/http/ed_http_static.h): which names are safe, their content
 * types, where the web directory is found (config, EDDY_WEB_DIR), and the
 * pattern /v1/leaderboard makes of a redis sink's zset template.
 * Serving itself is tested over HTTP in tests/integration/t_dashboard.sh.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "actors/http/ed_http_leaderboard.h"
#include "actors/http/ed_http_static.h"
#include "runtime/ed_common.h"

static void test_safe_names(void **state) {
    const char *ok[] = {"index.html", "dashboard.js", "uplot/uPlot.iife.min.js", "a-b_c.d/e.f",
                        "x", "LICENSE"};
    const char *bad[] = {"", "..", "../x", "a/../b", "a/..", "/etc/passwd", ".hidden",
                         "a/.git/config", "a//b", "a/", "a b", "a\\b", "a%2e", "é.js", "a:b",
                         "a?b"};
    for (size_t i = 0; i < ED_ARRAY_SIZE(ok); i++)
        assert_true(ed_http_static_safe(ok[i]));
    for (size_t i = 0; i < ED_ARRAY_SIZE(bad); i++) {
        if (ed_http_static_safe(bad[i]))
            fail_msg("'%s' must not be served", bad[i]);
    }
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_false(ed_http_static_safe(longname));
}

static void test_content_types(void **state) {
    assert_string_equal(ed_http_static_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(ed_http_static_type("uplot/uPlot.iife.min.js"),
                        "text/javascript; charset=utf-8");
    assert_string_equal(ed_http_static_type("a.css"), "text/css; charset=utf-8");
    assert_string_equal(ed_http_static_type("a.svg"), "image/svg+xml");
    assert_string_equal(ed_http_static_type("a.json"), "application/json");
    assert_string_equal(ed_http_static_type("LICENSE"), "application/octet-stream");
    assert_string_equal(ed_http_static_type("v1.2/LICENSE"), "application/octet-stream");
    assert_string_equal(ed_http_static_type("a.HTML"), "application/octet-stream");
}

static void test_web_dir(void **state) {
    char tmp[] = "/tmp/ed_web_XXXXXX", out[8192], file[256];
    assert_non_null(mkdtemp(tmp));
    ed_conf_http_t conf = {0};
    /* The configured directory without index.html: not found, and the
     * message names it (EDDY_WEB_DIR is not consulted then). */
    setenv("EDDY_WEB_DIR", "/nonexistent-env", 1);
    conf.web_dir = tmp;
    assert_int_equal(ed_http_web_dir(&conf, out, sizeof out), ED_ENOENT);
    assert_string_equal(out, tmp);
    snprintf(file, sizeof file, "%s/index.html", tmp);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(ed_http_web_dir(&conf, out, sizeof out), 0);
    char real[4096];
    assert_non_null(realpath(tmp, real));
    assert_string_equal(out, real);
    /* Not configured: EDDY_WEB_DIR. */
    conf.web_dir = NULL;
    assert_int_equal(ed_http_web_dir(&conf, out, sizeof out), ED_ENOENT);
    assert_string_equal(out, "/nonexistent-env");
    setenv("EDDY_WEB_DIR", tmp, 1);
    assert_int_equal(ed_http_web_dir(&conf, out, sizeof out), 0);
    assert_string_equal(out, real);
    /* Neither: beside the binary (this test's build/tests/: no web/ there). */
    unsetenv("EDDY_WEB_DIR");
    assert_int_equal(ed_http_web_dir(&conf, out, sizeof out), ED_ENOENT);
    assert_non_null(strstr(out, "/../web, "));
    assert_non_null(strstr(out, "/../share/eddy/web"));
    unlink(file);
    rmdir(tmp);
}

static void test_zset_pattern(void **state) {
    char out[256];
    assert_int_equal(ed_http_zset_pattern("top:words", out, sizeof out), 0);
    assert_string_equal(out, "top:words");
    assert_int_equal(ed_http_zset_pattern("top:products:{window_start}", out, sizeof out), 1);
    assert_string_equal(out, "top:products:*");
    assert_int_equal(ed_http_zset_pattern("t:{doc}:{window_end}", out, sizeof out), 1);
    assert_string_equal(out, "t:*:*");
    /* glob characters of the literal text stay literal */
    assert_int_equal(ed_http_zset_pattern("a*b?[c]\\{x}", out, sizeof out), 1);
    assert_string_equal(out, "a\\*b\\?\\[c\\]\\\\*");
    /* cut to fit, still terminated */
    assert_int_equal(ed_http_zset_pattern("abcdefghij", out, 6), 0);
    assert_true(strlen(out) < 6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safe_names),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_web_dir),
        cmocka_unit_test(test_zset_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
