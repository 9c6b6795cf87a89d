/*
 * test_filter.c — linked into every cmocka test program (see the Makefile):
 * before main runs, EDDY_TEST_FILTER (set by `tests/run unit NAME:CASE`)
 * becomes cmocka's test filter, so one case of a program can run alone.
 * The pattern is cmocka's: '*' matches any run of characters, '?' one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

__attribute__((constructor)) static void s_filter(void) {
    const char *f = getenv("EDDY_TEST_FILTER");
    if (f && *f)
        cmocka_set_test_filter(f);
}
