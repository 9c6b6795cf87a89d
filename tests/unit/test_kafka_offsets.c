/* test_kafka_offsets.c — the Kafka source's offset book: positions,
 * checkpoints merged into commits, failed commits, revoked partitions. No
 * broker: partition lists are plain librdkafka data structures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "actors/sources/ed_kafka_offsets.h"

/* The offset of topic/partition in list, or -1 if absent. */
static int64_t s_off(const rd_kafka_topic_partition_list_t *l, const char *topic, int32_t part) {
    const rd_kafka_topic_partition_t *p =
        rd_kafka_topic_partition_list_find((rd_kafka_topic_partition_list_t *)l, topic, part);
    return p ? p->offset : -1;
}

static rd_kafka_topic_partition_list_t *s_parts(const char *topic, int32_t part) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, part);
    return l;
}

/* Checkpoints hold only partitions that advanced; a commit merges the
 * checkpoints <= n, later offsets winning, and leaves the later ones. */
static void test_checkpoints_merge(void **state) {
    (void)state;
    ed_kafka_offsets_t *o = ed_kafka_offsets_new();
    ed_kafka_offsets_checkpoint(o, 1); /* nothing read: nothing recorded */
    assert_null(ed_kafka_offsets_take(o, 1));

    ed_kafka_offsets_advance(o, "t", 0, 9);
    ed_kafka_offsets_advance(o, "t", 1, 4);
    ed_kafka_offsets_checkpoint(o, 2);
    ed_kafka_offsets_advance(o, "t", 0, 19);
    ed_kafka_offsets_checkpoint(o, 3);
    ed_kafka_offsets_advance(o, "u", 0, 0);
    ed_kafka_offsets_checkpoint(o, 4);

    rd_kafka_topic_partition_list_t *l = ed_kafka_offsets_take(o, 3);
    assert_non_null(l);
    assert_int_equal(l->cnt, 2);
    assert_int_equal(s_off(l, "t", 0), 20); /* checkpoint 3 wins over 2 */
    assert_int_equal(s_off(l, "t", 1), 5);
    rd_kafka_topic_partition_list_destroy(l);
    l = ed_kafka_offsets_take(o, 3); /* taken already */
    assert_null(l);
    l = ed_kafka_offsets_take(o, 10);
    assert_non_null(l);
    assert_int_equal(l->cnt, 1);
    assert_int_equal(s_off(l, "u", 0), 1);
    rd_kafka_topic_partition_list_destroy(l);
    ed_kafka_offsets_destroy(&o);
    assert_null(o);
}

/* A failed commit comes back in the next one, under newer checkpoints; a
 * failure reported for a partition without a position is ignored. */
static void test_failed_commits(void **state) {
    (void)state;
    ed_kafka_offsets_t *o = ed_kafka_offsets_new();
    ed_kafka_offsets_advance(o, "t", 0, 9);
    ed_kafka_offsets_advance(o, "t", 1, 4);
    ed_kafka_offsets_checkpoint(o, 1);
    rd_kafka_topic_partition_list_t *l = ed_kafka_offsets_take(o, 1);
    ed_kafka_offsets_requeue(o, &l);
    assert_null(l);
    assert_int_equal(ed_kafka_offsets_retry(o, "t", 1, 3), 1); /* lower: kept at 5 */
    assert_int_equal(ed_kafka_offsets_retry(o, "gone", 0, 7), 0);

    ed_kafka_offsets_advance(o, "t", 0, 29);
    ed_kafka_offsets_checkpoint(o, 2);
    l = ed_kafka_offsets_take(o, 2);
    assert_non_null(l);
    assert_int_equal(l->cnt, 2);
    assert_int_equal(s_off(l, "t", 0), 30);
    assert_int_equal(s_off(l, "t", 1), 5);
    assert_int_equal(s_off(l, "gone", 0), -1);
    rd_kafka_topic_partition_list_destroy(l);
    assert_null(ed_kafka_offsets_take(o, 2));
    ed_kafka_offsets_destroy(&o);
}

/* What is uncommitted, and what a revoke forgets. */
static void test_uncommitted_and_forget(void **state) {
    (void)state;
    ed_kafka_offsets_t *o = ed_kafka_offsets_new();
    rd_kafka_topic_partition_list_t *t0 = s_parts("t", 0), *t1 = s_parts("t", 1);
    assert_int_equal(ed_kafka_offsets_uncommitted(o, t0), 0);
    ed_kafka_offsets_advance(o, "t", 0, 9);
    assert_int_equal(ed_kafka_offsets_uncommitted(o, t0), 1); /* read, not checkpointed */
    ed_kafka_offsets_advance(o, "t", 1, 4);
    ed_kafka_offsets_checkpoint(o, 1);
    assert_int_equal(ed_kafka_offsets_uncommitted(o, t0), 1); /* checkpointed, not committed */

    ed_kafka_offsets_forget(o, t0);
    assert_int_equal(ed_kafka_offsets_uncommitted(o, t0), 0);
    assert_int_equal(ed_kafka_offsets_uncommitted(o, t1), 1);
    assert_int_equal(ed_kafka_offsets_retry(o, "t", 0, 10), 0); /* no position any more */
    rd_kafka_topic_partition_list_t *l = ed_kafka_offsets_take(o, 1);
    assert_non_null(l);
    assert_int_equal(l->cnt, 1);
    assert_int_equal(s_off(l, "t", 1), 5);
    rd_kafka_topic_partition_list_destroy(l);
    assert_int_equal(ed_kafka_offsets_uncommitted(o, t1), 0); /* committed */

    ed_kafka_offsets_advance(o, "t", 1, 8);
    ed_kafka_offsets_checkpoint(o, 2);
    ed_kafka_offsets_forget(o, NULL);
    assert_int_equal(ed_kafka_offsets_uncommitted(o, t1), 0);
    assert_null(ed_kafka_offsets_take(o, 2));
    rd_kafka_topic_partition_list_destroy(t0);
    rd_kafka_topic_partition_list_destroy(t1);
    ed_kafka_offsets_destroy(&o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoints_merge),
        cmocka_unit_test(test_failed_commits),
        cmocka_unit_test(test_uncommitted_and_forget),
    };
    return cmocka_run_group_tests_name("kafka_offsets", tests, NULL, NULL);
}
