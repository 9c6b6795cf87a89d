/* test_redis_addr.c — Redis URLs (sinks/ed_redis_conn.h): host, port, db,
 * an ACL user and a password are parsed; a URL that cannot be parsed is an
 * error naming it with its password shown as "***", never the password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sinks/ed_redis_conn.h"

static void test_parts(void **unused) {
    ed_redis_addr_t a;
    char err[512];
    assert_int_equal(ed_redis_addr_parse(&a, "redis://127.0.0.1:8379/3", "url", err, sizeof err), 0);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 8379);
    assert_int_equal(a.db, 3);
    assert_string_equal(a.user, "");
    assert_null(a.password);
    assert_string_equal(a.addr, "redis 127.0.0.1:8379/3");
    ed_redis_addr_clear(&a);
    assert_int_equal(ed_redis_addr_parse(&a, "redis://:pw@h", "url", err, sizeof err), 0);
    assert_string_equal(a.user, "");
    assert_string_equal(a.password, "pw");
    assert_int_equal(a.port, 6379);
    ed_redis_addr_clear(&a);
    /* an ACL user; the password may hold '@' and ':' (the last '@' ends it) */
    assert_int_equal(ed_redis_addr_parse(&a, "redis://alice:p@s:s@[::1]:7000", "url", err, sizeof err),
                     0);
    assert_string_equal(a.user, "alice");
    assert_string_equal(a.password, "p@s:s");
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 7000);
    assert_null(strstr(a.addr, "p@s"));
    ed_redis_addr_clear(&a);
    assert_null(a.password);
}

static void test_errors_hide_the_password(void **unused) {
    const char *bad[] = {"redis://bob:hunter2@host:99999", "rediss://bob:hunter2@host",
                         "redis://:hunter2@host:port", "redis://bob:hunter2@", NULL};
    for (int i = 0; bad[i]; i++) {
        ed_redis_addr_t a;
        char err[512] = "";
        assert_int_not_equal(ed_redis_addr_parse(&a, bad[i], "redis.url", err, sizeof err), 0);
        assert_non_null(strstr(err, "redis.url"));
        assert_null(strstr(err, "hunter2"));
        assert_non_null(strstr(err, ":***@"));
        assert_null(a.password);
    }
    ed_redis_addr_t a;
    char err[512], longuser[300];
    memset(longuser, 'u', sizeof longuser);
    snprintf(longuser + 200, sizeof longuser - 200, ":pw@h");
    char url[400];
    snprintf(url, sizeof url, "redis://%s", longuser);
    assert_int_not_equal(ed_redis_addr_parse(&a, url, "url", err, sizeof err), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_errors_hide_the_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
