/*
 * test_config_http.c — runtime.http (config/ed_conf_http.c): defaults,
 * listen addresses, where the bearer token may come from, and every
 * refusal with its FILE:LINE:COL. (Apart from test_config.c, which is past
 * the size a file should have.)
 */
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

#include "actors/ed_registry.h"
#include "config/ed_config.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"

#define S_REST "sources:\n  g: { generator: { events: 1 }, to: [n] }\nsinks:\n  n: { \"null\": {} }\n"

/* Loads `runtime: { http: HTTP }` plus a minimal pipeline; returns the
 * loader's result, the config in *c (or NULL) and its errors in err. */
static int s_load(const char *http, ed_config_t **c, char *err, size_t size) {
    char text[2048];
    snprintf(text, sizeof text, "runtime:\n  http: %s\n" S_REST, http);
    *c = NULL;
    err[0] = 0;
    return ed_config_load_string(text, "h.yaml", ed_registry(), c, err, size);
}

/* `http` loads; returns the config (the caller destroys it). */
static ed_config_t *s_good(const char *http) {
    ed_config_t *c;
    char err[2048];
    if (s_load(http, &c, err, sizeof err) != 0)
        fail_msg("runtime.http %s: %s", http, err);
    return c;
}

/* `http` is refused with an error starting "h.yaml:2:COL: " and holding `phrase`. */
static void s_bad(const char *http, int col, const char *phrase) {
    ed_config_t *c;
    char err[2048], want[32];
    assert_int_equal(s_load(http, &c, err, sizeof err), ED_EINVAL);
    assert_null(c);
    snprintf(want, sizeof want, "h.yaml:2:%d: ", col);
    if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, phrase))
        fail_msg("runtime.http %s:\n%s\nexpected '%s…%s'", http, err, want, phrase);
}

static void test_off_by_default(void **state) {
    ed_config_t *c = NULL;
    char err[512];
    assert_int_equal(ed_config_load_string(S_REST, "h.yaml", ed_registry(), &c, err, sizeof err), 0);
    assert_int_equal(c->runtime.http.enabled, 0);
    assert_null(c->runtime.http.token);
    ed_config_destroy(&c);
}

static void test_defaults_and_addresses(void **state) {
    ed_config_t *c = s_good("");
    const ed_conf_http_t *h = &c->runtime.http;
    assert_int_equal(h->enabled, 1);
    assert_string_equal(h->listen, "127.0.0.1:9464");
    assert_string_equal(h->host, "127.0.0.1");
    assert_int_equal(h->port, 9464);
    assert_int_equal(h->loopback, 1);
    assert_int_equal(h->allow_remote, 0);
    assert_null(h->token);
    ed_config_destroy(&c);
    static const struct {
        const char *http, *host;
        int port;
    } ok[] = {{"{ listen: \"[::1]:8080\" }", "::1", 8080},
              {"{ listen: \"localhost:1\" }", "127.0.0.1", 1},
              {"{ listen: \"127.3.4.5:65535\" }", "127.3.4.5", 65535}};
    for (size_t i = 0; i < ED_ARRAY_SIZE(ok); i++) {
        c = s_good(ok[i].http);
        assert_string_equal(c->runtime.http.host, ok[i].host);
        assert_int_equal(c->runtime.http.port, ok[i].port);
        assert_int_equal(c->runtime.http.loopback, 1);
        ed_config_destroy(&c);
    }
}

static void test_bad_listen(void **state) {
    s_bad("{ listen: \"127.0.0.1\" }", 19, "invalid value '127.0.0.1' for 'listen' in runtime.http");
    s_bad("{ listen: \"127.0.0.1:0\" }", 19, "a port from 1 to 65535");
    s_bad("{ listen: \"127.0.0.1:99999\" }", 19, "for 'listen'");
    s_bad("{ listen: \"example.com:80\" }", 19, "a numeric address or localhost");
    s_bad("{ listen: \"::1:80\" }", 19, "e.g. 127.0.0.1:9464 or [::1]:9464");
    s_bad("{ lisen: x }", 11, "unknown key 'lisen' in http of runtime");
    s_bad("{ allow_remote: maybe }", 25, "allow_remote");
    s_bad("[1]", 9, "'http' in runtime is a list");
}

static void test_remote_needs_allow_and_token(void **state) {
    s_bad("{ listen: \"0.0.0.0:9464\" }", 19,
          "runtime.http listens on 0.0.0.0:9464, which is not a loopback address");
    s_bad("{ listen: \"[::]:9464\" }", 19, "not a loopback address");
    s_bad("{ listen: \"10.1.2.3:9464\", allow_remote: true }", 36,
          "allow_remote in runtime.http needs a bearer token");
    setenv("ED_T_TOKEN", "tok-123", 1);
    ed_config_t *c = s_good("{ listen: \"0.0.0.0:9464\", allow_remote: true, token: \"${ED_T_TOKEN}\" }");
    assert_int_equal(c->runtime.http.loopback, 0);
    assert_string_equal(c->runtime.http.token, "tok-123");
    ed_config_destroy(&c);
}

static void test_token_sources(void **state) {
    /* A literal, a default inside ${…} or text around the variable is refused. */
    s_bad("{ token: s3cret }", 18, "'token' in runtime.http must come from the environment");
    s_bad("{ token: \"${ED_T_TOKEN:-s3cret}\" }", 18, "must come from the environment");
    s_bad("{ token: \"x${ED_T_TOKEN}\" }", 18, "must come from the environment");
    unsetenv("ED_T_UNSET");
    s_bad("{ token: \"${ED_T_UNSET}\" }", 19, "environment variable ED_T_UNSET is not set");
    setenv("ED_T_EMPTY", "", 1);
    s_bad("{ token: \"${ED_T_EMPTY}\" }", 18, "'token' in runtime.http is empty");
    setenv("ED_T_SPACE", "a b", 1);
    s_bad("{ token: \"${ED_T_SPACE}\" }", 18, "holds white space");

    char path[] = "/tmp/ed_test_token_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "  abc.DEF-1\n", 12), 12);
    close(fd);
    char http[256];
    snprintf(http, sizeof http, "{ token_file: \"%s\" }", path);
    ed_config_t *c = s_good(http);
    assert_string_equal(c->runtime.http.token, "abc.DEF-1");
    assert_string_equal(c->runtime.http.token_file, path);
    ed_config_destroy(&c);
    setenv("ED_T_TOKEN", "t", 1);
    snprintf(http, sizeof http, "{ token_file: \"%s\", token: \"${ED_T_TOKEN}\" }", path);
    s_bad(http, (int)strlen(path) + 34, "runtime.http has both 'token' and 'token_file'");
    FILE *f = fopen(path, "w");
    fputs(" \n\n", f);
    fclose(f);
    snprintf(http, sizeof http, "{ token_file: \"%s\" }", path);
    s_bad(http, 23, "holds no token");
    f = fopen(path, "w");
    fputs("two words\n", f);
    fclose(f);
    s_bad(http, 23, "holds no token");
    unlink(path);
    s_bad(http, 23, "cannot read token_file");
}

/* Neither the token nor its file's content shows in `eddy check`'s view. */
static void test_token_never_described(void **state) {
    setenv("ED_T_TOKEN", "S3CRET-TOKEN", 1);
    ed_config_t *c = s_good("{ token: \"${ED_T_TOKEN}\" }");
    ed_buf_t b = ED_BUF_INIT;
    extern const ed_conf_map_t ed_conf_http_map[];
    ed_conf_map_describe(ed_conf_http_map, &c->runtime.http, &b);
    assert_non_null(b.data);
    assert_null(strstr(b.data, "S3CRET"));
    assert_non_null(strstr(b.data, "listen=127.0.0.1:9464"));
    ed_buf_free(&b);
    ed_config_destroy(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_by_default),
        cmocka_unit_test(test_defaults_and_addresses),
        cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_remote_needs_allow_and_token),
        cmocka_unit_test(test_token_sources),
        cmocka_unit_test(test_token_never_described),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
