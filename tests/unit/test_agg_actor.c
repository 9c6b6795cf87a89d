/* test_agg_actor.c — aggregator barrier alignment, driven step by step
 * (tests/unit/harness.h): checkpoint n is flushed only when every sender
 * sent barrier n; data a sender sent before its barrier is in that flush;
 * data a sender sends after its barrier n waits until every sender sent n
 * (alignment), so flush n covers exactly the input before barrier n;
 * the barrier goes on to every sink after the changelog; alerts fire once
 * per crossing. Totals are checked against counts kept by the test. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "actors/aggregate/ed_agg_actor.h"
#include "actors/decode/ed_hash.h"
#include "tests/unit/harness.h"

/* One aggregator fed by two source actors; rows to `out`, alerts to `hot`. */
static const char *s_yaml = "runtime: { aggregators: 1 }\n"
                            "sources:\n"
                            "  g: { generator: {}, instances: 2 }\n"
                            "aggregations:\n"
                            "  counts:\n"
                            "    from: g\n"
                            "    key: [{k: \"@key\"}]\n"
                            "    compute: { n: count, total: \"sum(@value)\" }\n"
                            "    to: out\n"
                            "alerts:\n"
                            "  busy: { on: counts, when: n >= 3, to: hot }\n"
                            "sinks:\n"
                            "  out: { null: {} }\n"
                            "  hot: { null: {} }\n";

typedef struct {
    h_pipe_t p;
    ed_agg_actor_t *state;
    ed_actor_t *a;
    uint32_t up[2];  /* its senders: the two source actors */
    uint32_t out, hot;
} fx_t;

static fx_t *s_fx(void) {
    fx_t *f = calloc(1, sizeof *f);
    f->p = h_pipe(s_yaml, 0);
    uint32_t id = ed_plan_agg_id(f->p.plan, 0);
    assert_int_equal(h_senders(&f->p, id, f->up, 2), 2);
    assert_int_equal(f->up[0], ed_plan_source_id(f->p.plan, 0));
    assert_int_equal(f->up[1], ed_plan_source_id(f->p.plan, 1));
    f->out = ed_plan_sink_id(f->p.plan, 0);
    f->hot = ed_plan_sink_id(f->p.plan, 1);
    char err[256] = "";
    f->state = ed_agg_actor_new(f->p.plan, 0, err, sizeof err);
    assert_non_null(f->state);
    f->a = ed_actor_new_detached(&ed_agg_actor, "aggregator-0", f->state, id);
    assert_int_equal(ed_actor_step_init(f->a, err, sizeof err), 0);
    return f;
}

static void s_fx_free(fx_t *f) {
    ed_actor_destroy_detached(&f->a);
    ed_agg_actor_destroy(&f->state);
    assert_null(f->state);
    h_pipe_free(&f->p);
    free(f);
}

/* Sends one KEYED record per key in `keys` (a space-separated list), each
 * with @value 10, from sender `from`. */
static void s_keyed(fx_t *f, uint32_t from, const char *keys) {
    ed_batch_t *b = ed_batch_new(ED_BATCH_KEYED, 256);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", keys);
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        uint8_t key[64];
        size_t klen = 0;
        ed_key_append(key, &klen, w, strlen(w));
        double vals[2] = {0, 10};
        ed_batch_add_keyed(b, 0, 0, INT64_MIN, vals, 2, key, (uint32_t)klen, ed_hash64(key, klen));
    }
    h_deliver(f->a, h_batch_msg(&b, from));
}

static void s_barrier(fx_t *f, uint32_t from, uint64_t n, uint32_t flags) {
    h_deliver(f->a, h_msg(ED_MSG_BARRIER, n, flags, 0, from));
}

/* Reads the CHANGELOG message m: the count n and total of each key into
 * cnt[key[0]-'a'] (keys are one letter), delta counts into dcnt. */
static void s_rows(ed_msg_t *m, int64_t *cnt, int64_t *dcnt, double *total) {
    assert_non_null(m->batch);
    assert_int_equal(m->batch->kind, ED_BATCH_CHANGELOG);
    ed_batch_iter_t it;
    ed_batch_iter_init(&it, m->batch);
    const ed_change_t *c;
    while ((c = ed_batch_next_change(&it))) {
        const uint8_t *part;
        size_t plen;
        assert_int_equal(ed_key_part(ed_change_key(c), c->key_len, 0, &part, &plen), 0);
        assert_int_equal(plen, 1);
        int i = part[0] - 'a';
        cnt[i] = (int64_t)ed_change_value(c)[0];
        dcnt[i] = (int64_t)ed_change_delta(c)[0];
        total[i] = ed_change_value(c)[1];
        assert_int_equal(c->n, cnt[i]);
        assert_int_equal(c->delta_n, dcnt[i]);
    }
}

/* The next message is a changelog batch to `out`: read it (s_rows). */
static void s_take_rows(fx_t *f, int64_t *cnt, int64_t *dcnt, double *total) {
    ed_msg_t *m = h_expect(f->a, ED_MSG_BATCH, f->out, 0);
    s_rows(m, cnt, dcnt, total);
    ed_msg_destroy(&m);
}

static void test_flush_waits_for_every_sender(void **unused) {
    fx_t *f = s_fx();
    s_keyed(f, f->up[0], "a b a");
    s_barrier(f, f->up[0], 1, 0);
    h_expect_none(f->a); /* sender 1 has not reached checkpoint 1 */
    s_keyed(f, f->up[1], "b c");
    h_expect_none(f->a);
    s_barrier(f, f->up[1], 1, 0);
    /* Changelog first, then the barrier, to every sink the aggregator feeds. */
    int64_t cnt[3] = {0}, d[3] = {0};
    double tot[3] = {0};
    s_take_rows(f, cnt, d, tot);
    assert_int_equal(cnt[0], 2);
    assert_int_equal(cnt[1], 2);
    assert_int_equal(cnt[2], 1);
    assert_true(tot[0] == 20 && tot[1] == 20 && tot[2] == 10);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->out, 1);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->hot, 1);
    h_expect_none(f->a);
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->records, 5);
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->changes, 3);
    s_fx_free(f);
}

static void test_data_before_barrier_is_in_the_checkpoint(void **unused) {
    fx_t *f = s_fx();
    s_keyed(f, f->up[0], "a");
    s_barrier(f, f->up[0], 1, 0);
    s_barrier(f, f->up[1], 1, 0);
    int64_t cnt[3] = {0}, d[3] = {0};
    double tot[3] = {0};
    s_take_rows(f, cnt, d, tot);
    assert_int_equal(cnt[0], 1);
    assert_int_equal(h_discard(f->a), 2); /* the barriers */
    /* Checkpoint 2: deltas since checkpoint 1, totals since the start. */
    s_keyed(f, f->up[1], "a a");
    s_barrier(f, f->up[1], 2, 0);
    s_barrier(f, f->up[0], 2, 0);
    s_take_rows(f, cnt, d, tot);
    assert_int_equal(cnt[0], 3);
    assert_int_equal(d[0], 2);
    assert_true(tot[0] == 30);
    s_fx_free(f);
}

static void test_barrier_without_changes_still_flows(void **unused) {
    fx_t *f = s_fx();
    s_barrier(f, f->up[1], 1, 0);
    s_barrier(f, f->up[0], 1, 0);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->out, 1);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->hot, 1);
    h_expect_none(f->a);
    s_fx_free(f);
}

static void test_sender_ahead_aligns_on_the_slowest(void **unused) {
    fx_t *f = s_fx();
    /* Sender 1 runs two checkpoints ahead of sender 0. */
    s_barrier(f, f->up[1], 1, 0);
    s_barrier(f, f->up[1], 2, 0);
    s_barrier(f, f->up[1], 3, ED_MSG_F_FINAL);
    h_expect_none(f->a);
    s_barrier(f, f->up[0], 1, 0);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->out, 1);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->hot, 1);
    h_expect_none(f->a);
    /* Sender 0 jumps to 3: checkpoints 2 and 3 complete, in order, and only
     * the last carries the final flag. */
    s_barrier(f, f->up[0], 3, ED_MSG_F_FINAL);
    ed_msg_t *m = h_expect(f->a, ED_MSG_BARRIER, f->out, 2);
    assert_int_equal(m->flags, 0);
    ed_msg_destroy(&m);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->hot, 2);
    m = h_expect(f->a, ED_MSG_BARRIER, f->out, 3);
    assert_int_equal(m->flags, ED_MSG_F_FINAL);
    ed_msg_destroy(&m);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->hot, 3);
    h_expect_none(f->a);
    s_fx_free(f);
}

static void test_data_after_a_barrier_waits_for_the_other_senders(void **unused) {
    fx_t *f = s_fx();
    s_keyed(f, f->up[0], "a");
    s_barrier(f, f->up[0], 1, 0);
    s_keyed(f, f->up[0], "a a"); /* checkpoint 2's: held */
    s_barrier(f, f->up[0], 2, 0);
    s_keyed(f, f->up[0], "c"); /* checkpoint 3's: held */
    h_expect_none(f->a);
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->records, 1);
    s_keyed(f, f->up[1], "b");
    s_barrier(f, f->up[1], 1, 0);
    /* Flush 1 covers what both sent before barrier 1, nothing after. */
    int64_t cnt[3] = {0}, d[3] = {0};
    double tot[3] = {0};
    s_take_rows(f, cnt, d, tot);
    assert_int_equal(cnt[0], 1);
    assert_int_equal(cnt[1], 1);
    assert_int_equal(cnt[2], 0);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->out, 1);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->hot, 1);
    h_expect_none(f->a);
    /* Sender 0's checkpoint-2 data went in; its barrier 2 holds "c". */
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->records, 4);
    s_barrier(f, f->up[1], 2, 0);
    memset(cnt, 0, sizeof cnt);
    s_take_rows(f, cnt, d, tot);
    assert_int_equal(cnt[0], 3);
    assert_int_equal(d[0], 2);
    assert_int_equal(cnt[2], 0);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->out, 2);
    h_expect_drop(f->a, ED_MSG_BATCH, f->hot, 0); /* a crossed n >= 3 */
    h_expect_drop(f->a, ED_MSG_BARRIER, f->hot, 2);
    h_expect_none(f->a);
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->records, 5); /* "c" released */
    s_barrier(f, f->up[0], 3, ED_MSG_F_FINAL);
    s_barrier(f, f->up[1], 3, ED_MSG_F_FINAL);
    memset(cnt, 0, sizeof cnt);
    s_take_rows(f, cnt, d, tot);
    assert_int_equal(cnt[2], 1);
    ed_msg_t *m = h_expect(f->a, ED_MSG_BARRIER, f->out, 3);
    assert_int_equal(m->flags, ED_MSG_F_FINAL);
    ed_msg_destroy(&m);
    h_expect_drop(f->a, ED_MSG_BARRIER, f->hot, 3);
    h_expect_none(f->a);
    s_fx_free(f);
}

static void test_held_messages_are_freed_at_destroy(void **unused) {
    fx_t *f = s_fx();
    s_barrier(f, f->up[0], 1, 0);
    s_keyed(f, f->up[0], "a b"); /* held, never released (the sanitizer build checks the free) */
    s_barrier(f, f->up[0], 2, 0);
    h_expect_none(f->a);
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->records, 0);
    s_fx_free(f);
}

static void test_alert_once_per_crossing(void **unused) {
    fx_t *f = s_fx(); /* busy: n >= 3 */
    int alerts = 0;
    const char *rounds[] = {"a a", "a", "a a", "b b b"};
    for (int r = 0; r < 4; r++) {
        s_keyed(f, f->up[0], rounds[r]);
        s_barrier(f, f->up[0], (uint64_t)r + 1, 0);
        s_barrier(f, f->up[1], (uint64_t)r + 1, 0);
        ed_msg_t *m;
        while ((m = ed_actor_take_sent(f->a))) {
            if (m->to == f->hot && m->type == ED_MSG_BATCH) {
                assert_int_equal(m->batch->kind, ED_BATCH_RECORDS);
                ed_batch_iter_t it;
                ed_batch_iter_init(&it, m->batch);
                const ed_record_t *rec;
                while ((rec = ed_batch_next_record(&it))) {
                    const char *v = (const char *)ed_record_val(rec);
                    /* a crosses in round 2 (n = 3), b in round 4 */
                    assert_non_null(memmem(v, rec->val_len, r == 1 ? "\"k\":\"a\"" : "\"k\":\"b\"", 7));
                    assert_true(r == 1 || r == 3);
                    alerts++;
                }
            }
            ed_msg_destroy(&m);
        }
    }
    assert_int_equal(alerts, 2); /* a stays above 3 in round 3: no second alert */
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->alerts, 2);
    s_fx_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_waits_for_every_sender),
        cmocka_unit_test(test_data_before_barrier_is_in_the_checkpoint),
        cmocka_unit_test(test_barrier_without_changes_still_flows),
        cmocka_unit_test(test_sender_ahead_aligns_on_the_slowest),
        cmocka_unit_test(test_data_after_a_barrier_waits_for_the_other_senders),
        cmocka_unit_test(test_held_messages_are_freed_at_destroy),
        cmocka_unit_test(test_alert_once_per_crossing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
