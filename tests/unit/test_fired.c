/* test_fired.c — the set of fired windowed alerts (ed_fired.h): a mark is
 * new once, distinct in alert, window and key, survives growth, and goes
 * when its window expires (only its aggregation's, only ended windows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "actors/aggregate/ed_fired.h"

static int s_mark(ed_fired_t *f, int alert, uint16_t agg, int64_t ws, int64_t we, const char *k) {
    return ed_fired_mark(f, alert, agg, ws, we, (const uint8_t *)k, (uint32_t)strlen(k));
}

static void test_once_and_distinct(void **unused) {
    ed_fired_t *f = ed_fired_new();
    assert_int_equal(s_mark(f, 0, 0, 0, 10, "a"), 1);
    assert_int_equal(s_mark(f, 0, 0, 0, 10, "a"), 0);
    assert_int_equal(s_mark(f, 1, 0, 0, 10, "a"), 1);  /* another alert */
    assert_int_equal(s_mark(f, 0, 0, 10, 20, "a"), 1); /* another window */
    assert_int_equal(s_mark(f, 0, 0, 0, 10, "b"), 1);  /* another key */
    assert_int_equal(s_mark(f, 0, 0, 0, 10, ""), 1);   /* the empty key */
    assert_int_equal(ed_fired_count(f), 5);
    ed_fired_destroy(&f);
    assert_null(f);
    ed_fired_destroy(&f);
}

static void test_grow_and_expire(void **unused) {
    ed_fired_t *f = ed_fired_new();
    char k[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(s_mark(f, 0, (uint16_t)(i % 3), (i % 10) * 10, (i % 10) * 10 + 10, k), 1);
    }
    assert_int_equal(ed_fired_count(f), 3000);
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(s_mark(f, 0, (uint16_t)(i % 3), (i % 10) * 10, (i % 10) * 10 + 10, k), 0);
    }
    /* Aggregation 1, windows ending at or before 50: ends 10..50, half of its 1000. */
    ed_fired_expire(f, 1, 50);
    assert_int_equal(ed_fired_count(f), 2500);
    ed_fired_expire(f, 7, 1000); /* no marks of aggregation 7: nothing */
    assert_int_equal(ed_fired_count(f), 2500);
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        int gone = i % 3 == 1 && (i % 10) * 10 + 10 <= 50;
        assert_int_equal(s_mark(f, 0, (uint16_t)(i % 3), (i % 10) * 10, (i % 10) * 10 + 10, k),
                         gone);
    }
    assert_int_equal(ed_fired_count(f), 3000);
    ed_fired_destroy(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once_and_distinct),
        cmocka_unit_test(test_grow_and_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
