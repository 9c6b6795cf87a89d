/* test_eo.c — the exactly-once books (actors/ed_eo.h): where a restart
 * starts, which replay checkpoints it places with which ids, the ids after
 * them, and the positions handed from sources to sinks. No server: the
 * sinks' stored rows are given by hand (ed_eo_sink_at). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "actors/ed_eo.h"

static ed_config_t s_conf(int nsinks) {
    ed_config_t c;
    memset(&c, 0, sizeof c);
    static char path[] = "/x/wordcount.yaml";
    c.path = path;
    c.nsinks = nsinks;
    return c;
}

/* Sinks at ids 5, 3 and 4: start at 3's positions; replay 4 then 5 at their
 * positions; new checkpoints from 6. */
static void test_sinks_apart(void **state) {
    (void)state;
    ed_config_t c = s_conf(3);
    ed_eo_t *eo = ed_eo_new(&c, 1);
    assert_string_equal(ed_eo_pipeline(eo), "wordcount");
    ed_eo_sink_at(eo, 0, 5, "docs\tt\t0\t50\ndocs\tt\t1\t9\n");
    ed_eo_sink_at(eo, 1, 3, "docs\tt\t0\t30\nother\tu\t0\t2\n");
    ed_eo_sink_at(eo, 2, 4, "docs\tt\t0\t40\n");
    ed_eo_plan(eo);
    char *start = ed_eo_start_for(eo, "docs");
    assert_string_equal(start, "t\t0\t30\n");
    free(start);
    start = ed_eo_start_for(eo, "other");
    assert_string_equal(start, "u\t0\t2\n");
    free(start);
    assert_int_equal(ed_eo_nreplay(eo), 2);
    assert_int_equal(ed_eo_id(eo, 1), 4);
    assert_int_equal(ed_eo_id(eo, 2), 5);
    assert_int_equal(ed_eo_id(eo, 3), 6);
    assert_int_equal(ed_eo_id(eo, 10), 13);
    char *t = NULL;
    assert_int_equal(ed_eo_target_for(eo, 1, "docs", &t), 1);
    assert_string_equal(t, "t\t0\t40\n");
    free(t);
    assert_int_equal(ed_eo_target_for(eo, 2, "docs", &t), 1);
    assert_string_equal(t, "t\t0\t50\nt\t1\t9\n");
    free(t);
    assert_int_equal(ed_eo_target_for(eo, 2, "other", &t), 1); /* none: read nothing of it */
    assert_string_equal(t, "");
    free(t);
    assert_int_equal(ed_eo_target_for(eo, 3, "docs", &t), 0);
    assert_null(t);
    ed_eo_destroy(&eo);
    assert_null(eo);
}

/* A sink without a row: from the committed offsets (no seek), and every
 * stored id is a replay checkpoint, the lowest too. */
static void test_sink_without_row(void **state) {
    (void)state;
    ed_config_t c = s_conf(3);
    ed_eo_t *eo = ed_eo_new(&c, 1);
    ed_eo_sink_at(eo, 0, 7, "s\tt\t0\t70\n");
    ed_eo_sink_at(eo, 1, 0, NULL);
    ed_eo_sink_at(eo, 2, 7, "s\tt\t0\t70\n");
    ed_eo_plan(eo);
    assert_null(ed_eo_start_for(eo, "s"));
    assert_int_equal(ed_eo_nreplay(eo), 1); /* ids 7 and 7: one checkpoint */
    assert_int_equal(ed_eo_id(eo, 1), 7);
    assert_int_equal(ed_eo_id(eo, 2), 8);
    ed_eo_destroy(&eo);
}

/* First run and every sink at the same id: no replay. */
static void test_no_replay(void **state) {
    (void)state;
    ed_config_t c = s_conf(2);
    ed_eo_t *eo = ed_eo_new(&c, 1);
    ed_eo_plan(eo);
    assert_int_equal(ed_eo_nreplay(eo), 0);
    assert_null(ed_eo_start_for(eo, "s"));
    assert_int_equal(ed_eo_id(eo, 1), 1);
    ed_eo_sink_at(eo, 0, 9, "s\tt\t0\t5\n");
    ed_eo_sink_at(eo, 1, 9, "s\tt\t0\t5\n");
    ed_eo_plan(eo);
    assert_int_equal(ed_eo_nreplay(eo), 0);
    char *start = ed_eo_start_for(eo, "s");
    assert_string_equal(start, "t\t0\t5\n");
    free(start);
    assert_int_equal(ed_eo_id(eo, 1), 10);
    ed_eo_destroy(&eo);
}

/* A Redis sink complete at 4 with flush 6 applied in part, a SQL sink at
 * 5: start at 4's positions (not the partial one's), replay 5 and 6 each at
 * its positions, so flush 6 covers its input exactly again; new ids from 7.
 * A partial flush whose id another sink stored is one replay checkpoint. */
static void test_pending(void **state) {
    (void)state;
    ed_config_t c = s_conf(2);
    ed_eo_t *eo = ed_eo_new(&c, 1);
    ed_eo_sink_at(eo, 0, 4, "s\tt\t0\t40\n");
    ed_eo_sink_pending(eo, 0, 6, "s\tt\t0\t60\n");
    ed_eo_sink_at(eo, 1, 5, "s\tt\t0\t50\n");
    ed_eo_plan(eo);
    static const uint64_t ids[] = {5, 6, 7};
    static const char *const at[] = {"t\t0\t50\n", "t\t0\t60\n"};
    char *t = ed_eo_start_for(eo, "s");
    assert_string_equal(t, "t\t0\t40\n");
    free(t);
    assert_int_equal(ed_eo_nreplay(eo), 2);
    for (uint64_t n = 1; n <= 3; n++) {
        assert_int_equal(ed_eo_id(eo, n), ids[n - 1]);
        assert_int_equal(ed_eo_target_for(eo, n, "s", &t), n < 3);
        if (n < 3)
            assert_string_equal(t, at[n - 1]);
        free(t);
    }
    ed_eo_sink_pending(eo, 0, 5, "s\tt\t0\t50\n");
    ed_eo_plan(eo);
    assert_int_equal(ed_eo_nreplay(eo), 1);
    assert_int_equal(ed_eo_id(eo, 1), 5);
    assert_int_equal(ed_eo_id(eo, 2), 6);
    ed_eo_sink_pending(eo, 0, 0, NULL); /* no partial flush: as before */
    ed_eo_sink_at(eo, 0, 0, NULL);      /* and no row: from the committed offsets */
    ed_eo_sink_pending(eo, 0, 3, "s\tt\t0\t30\n");
    ed_eo_plan(eo);
    assert_null(ed_eo_start_for(eo, "s"));
    assert_int_equal(ed_eo_nreplay(eo), 2);
    assert_int_equal(ed_eo_id(eo, 1), 3);
    assert_int_equal(ed_eo_id(eo, 2), 5);
    ed_eo_destroy(&eo);
}

/* Sources put their positions at each barrier; a sink's flush n gets every
 * source's latest at or before n; release keeps the latest. */
static void test_positions(void **state) {
    (void)state;
    ed_config_t c = s_conf(1);
    ed_eo_t *eo = ed_eo_new(&c, 2);
    ed_eo_put(eo, 0, "a", 1, "t\t0\t10\n");
    ed_eo_put(eo, 1, "b", 1, "u\t0\t3\nu\t1\t4\n");
    ed_eo_put(eo, 0, "a", 2, "t\t0\t20\n");
    char *p = ed_eo_positions(eo, 1);
    assert_string_equal(p, "a\tt\t0\t10\nb\tu\t0\t3\nb\tu\t1\t4\n");
    free(p);
    p = ed_eo_positions(eo, 2);
    assert_string_equal(p, "a\tt\t0\t20\nb\tu\t0\t3\nb\tu\t1\t4\n");
    free(p);
    ed_eo_release(eo, 2);
    p = ed_eo_positions(eo, 3);
    assert_string_equal(p, "a\tt\t0\t20\nb\tu\t0\t3\nb\tu\t1\t4\n");
    free(p);
    ed_eo_destroy(&eo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sinks_apart),
        cmocka_unit_test(test_sink_without_row),
        cmocka_unit_test(test_no_replay),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_pending),
    };
    return cmocka_run_group_tests_name("eo", tests, NULL, NULL);
}
