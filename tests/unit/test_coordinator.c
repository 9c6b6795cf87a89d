/* test_coordinator.c — the checkpoint coordinator, driven step by step with a
 * fake clock (tests/unit/harness.h): barriers on the flush interval, commits
 * only after every sink acked and every source reported, pause when too many
 * flushes are in flight and resume, drain on a stop request, at the end of
 * input and after --exit-when-idle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "actors/ed_coordinator.h"
#include "tests/unit/harness.h"

/* Two source actors (instances of one generator), two sinks. */
static const char *s_yaml = "runtime: { flush_interval: 500ms, max_inflight: 2 }\n"
                            "sources:\n"
                            "  g: { generator: {}, instances: 2, to: [s1, s2] }\n"
                            "sinks:\n"
                            "  s1: { null: {} }\n"
                            "  s2: { null: {} }\n";

typedef struct {
    h_pipe_t p;
    ed_coordinator_t *state;
    ed_actor_t *a;
    uint32_t src[2], sink[2];
} fx_t;

static fx_t *s_fx(int64_t idle_ms) {
    fx_t *f = calloc(1, sizeof *f);
    f->p = h_pipe(s_yaml, idle_ms);
    assert_int_equal(ed_plan_nsources(f->p.plan), 2);
    for (int i = 0; i < 2; i++) {
        f->src[i] = ed_plan_source_id(f->p.plan, i);
        f->sink[i] = ed_plan_sink_id(f->p.plan, i);
    }
    f->state = ed_coordinator_new(f->p.plan);
    f->a = ed_actor_new_detached(&ed_coordinator_actor, "coordinator", f->state,
                                 ed_plan_coordinator(f->p.plan));
    char err[256];
    assert_int_equal(ed_actor_step_init(f->a, err, sizeof err), 0);
    return f;
}

static void s_fx_free(fx_t *f) {
    ed_actor_destroy_detached(&f->a);
    ed_coordinator_destroy(&f->state);
    assert_null(f->state);
    h_pipe_free(&f->p);
    free(f);
}

/* The coordinator sent `type` for checkpoint n with `flags` and `value` to
 * both sources, in source order. */
static void s_expect_both(fx_t *f, ed_msg_type_t type, uint64_t n, uint32_t flags,
                          int64_t value) {
    for (int i = 0; i < 2; i++) {
        ed_msg_t *m = h_expect(f->a, type, f->src[i], n);
        assert_int_equal(m->flags, flags);
        assert_int_equal(m->value, value);
        ed_msg_destroy(&m);
    }
}

/* Every sink acks n and every source reports `inputs` inputs (flags) for n. */
static void s_complete(fx_t *f, uint64_t n, int64_t inputs, uint32_t flags) {
    for (int i = 0; i < 2; i++)
        h_deliver(f->a, h_msg(ED_MSG_ACK, n, 0, 0, f->sink[i]));
    for (int i = 0; i < 2; i++)
        h_deliver(f->a, h_msg(ED_MSG_SOURCE_STATUS, n, flags, inputs, f->src[i]));
}

static void test_barrier_every_flush_interval(void **unused) {
    fx_t *f = s_fx(0);
    /* Init asks for a tick within 100 ms, to notice signals. */
    assert_int_equal(ed_actor_wake_time(f->a), H_T0 + 100);
    h_tick(f->a, H_T0 + 100);
    h_tick(f->a, H_T0 + 499);
    h_expect_none(f->a);
    h_tick(f->a, H_T0 + 500);
    s_expect_both(f, ED_MSG_BARRIER, 1, 0, 0);
    h_expect_none(f->a);
    assert_true(ed_actor_wake_time(f->a) <= H_T0 + 600);
    h_tick(f->a, H_T0 + 999);
    h_expect_none(f->a);
    h_tick(f->a, H_T0 + 1000);
    s_expect_both(f, ED_MSG_BARRIER, 2, 0, 0);
    s_fx_free(f);
}

static void test_commit_after_every_ack_and_status(void **unused) {
    fx_t *f = s_fx(0);
    h_tick(f->a, H_T0 + 500);
    s_expect_both(f, ED_MSG_BARRIER, 1, 0, 0);
    /* One sink acked, both sources reported: not durable everywhere yet. */
    h_deliver(f->a, h_msg(ED_MSG_ACK, 1, 0, 10, f->sink[0]));
    for (int i = 0; i < 2; i++)
        h_deliver(f->a, h_msg(ED_MSG_SOURCE_STATUS, 1, 0, 5, f->src[i]));
    h_expect_none(f->a);
    /* A duplicate or stale ack changes nothing. */
    h_deliver(f->a, h_msg(ED_MSG_ACK, 7, 0, 0, f->sink[1]));
    h_expect_none(f->a);
    h_deliver(f->a, h_msg(ED_MSG_ACK, 1, 0, 10, f->sink[1]));
    s_expect_both(f, ED_MSG_COMMIT, 1, 0, 0);
    assert_int_equal(ed_plan_run_stats(f->p.plan)->checkpoints, 1);
    /* Acks first, statuses last: completes on the last status. */
    h_tick(f->a, H_T0 + 1000);
    s_expect_both(f, ED_MSG_BARRIER, 2, 0, 0);
    for (int i = 0; i < 2; i++)
        h_deliver(f->a, h_msg(ED_MSG_ACK, 2, 0, 0, f->sink[i]));
    h_deliver(f->a, h_msg(ED_MSG_SOURCE_STATUS, 2, 0, 0, f->src[0]));
    h_expect_none(f->a);
    h_deliver(f->a, h_msg(ED_MSG_SOURCE_STATUS, 2, 0, 0, f->src[1]));
    s_expect_both(f, ED_MSG_COMMIT, 2, 0, 0);
    assert_int_equal(ed_plan_run_stats(f->p.plan)->checkpoints, 2);
    s_fx_free(f);
}

static void test_completes_in_order(void **unused) {
    fx_t *f = s_fx(0);
    h_tick(f->a, H_T0 + 500);
    h_tick(f->a, H_T0 + 1000);
    assert_int_equal(h_discard(f->a), 4);
    s_complete(f, 2, 0, 0); /* 2 is ready before 1: held */
    h_expect_none(f->a);
    s_complete(f, 1, 0, 0);
    s_expect_both(f, ED_MSG_COMMIT, 1, 0, 0);
    s_expect_both(f, ED_MSG_COMMIT, 2, 0, 0);
    s_fx_free(f);
}

static void test_pause_when_inflight_then_resume(void **unused) {
    fx_t *f = s_fx(0); /* max_inflight: 2 */
    h_tick(f->a, H_T0 + 500);
    h_tick(f->a, H_T0 + 1000);
    assert_int_equal(h_discard(f->a), 4);
    /* A third flush would exceed max_inflight: no barrier, pause instead. */
    h_tick(f->a, H_T0 + 1500);
    s_expect_both(f, ED_MSG_PAUSE, 0, 0, 1);
    h_expect_none(f->a);
    h_tick(f->a, H_T0 + 2000); /* still full: no second pause, no barrier */
    h_expect_none(f->a);
    s_complete(f, 1, 3, 0);
    s_expect_both(f, ED_MSG_COMMIT, 1, 0, 0);
    s_expect_both(f, ED_MSG_PAUSE, 0, 0, 0); /* resume */
    h_expect_none(f->a);
    h_tick(f->a, H_T0 + 2500);
    s_expect_both(f, ED_MSG_BARRIER, 3, 0, 0);
    s_fx_free(f);
}

/* A final barrier was sent at the end of input (ED_MSG_F_INPUT_END: every
 * window closes): COMMITTED of it from both sources exits 0. */
static void s_expect_drain(fx_t *f, uint64_t n) {
    s_expect_both(f, ED_MSG_BARRIER, n, ED_MSG_F_FINAL | ED_MSG_F_INPUT_END, 0);
    h_expect_none(f->a);
    s_complete(f, n, 0, 0);
    s_expect_both(f, ED_MSG_COMMIT, n, ED_MSG_F_FINAL, 0);
    int code = -1;
    h_deliver(f->a, h_msg(ED_MSG_COMMITTED, n, ED_MSG_F_FINAL, 0, f->src[0]));
    assert_false(ed_actor_shutdown_requested(f->a, &code));
    h_deliver(f->a, h_msg(ED_MSG_COMMITTED, n, ED_MSG_F_FINAL, 0, f->src[1]));
    assert_true(ed_actor_shutdown_requested(f->a, &code));
    assert_int_equal(code, 0);
}

static void test_stop_request_drains(void **unused) {
    fx_t *f = s_fx(0);
    h_tick(f->a, H_T0 + 500);
    assert_int_equal(h_discard(f->a), 2);
    ed_plan_request_stop(f->p.plan);
    h_tick(f->a, H_T0 + 600);
    s_expect_both(f, ED_MSG_BARRIER, 2, ED_MSG_F_FINAL, 0);
    /* Draining: no more checkpoints on the interval. */
    h_tick(f->a, H_T0 + 5000);
    h_expect_none(f->a);
    s_complete(f, 1, 4, 0);
    s_expect_both(f, ED_MSG_COMMIT, 1, 0, 0);
    s_complete(f, 2, 0, 0);
    s_expect_both(f, ED_MSG_COMMIT, 2, ED_MSG_F_FINAL, 0);
    h_deliver(f->a, h_msg(ED_MSG_COMMITTED, 2, ED_MSG_F_FINAL, 0, f->src[0]));
    h_deliver(f->a, h_msg(ED_MSG_COMMITTED, 2, ED_MSG_F_FINAL, 0, f->src[1]));
    int code = -1;
    assert_true(ed_actor_shutdown_requested(f->a, &code));
    assert_int_equal(code, 0);
    s_fx_free(f);
}

/* A source that could not commit the final checkpoint (COMMITTED value -1:
 * e.g. its state file's disk is full) makes the exit status 1, once both
 * answered; a failed commit before the final one changes nothing. */
static void test_final_commit_failed_exits_1(void **unused) {
    fx_t *f = s_fx(0);
    h_tick(f->a, H_T0 + 500);
    assert_int_equal(h_discard(f->a), 2);
    s_complete(f, 1, 4, 0);
    s_expect_both(f, ED_MSG_COMMIT, 1, 0, 0);
    h_deliver(f->a, h_msg(ED_MSG_COMMITTED, 1, 0, -1, f->src[0]));
    int code = -1;
    assert_false(ed_actor_shutdown_requested(f->a, &code));
    ed_plan_request_stop(f->p.plan);
    h_tick(f->a, H_T0 + 600);
    s_expect_both(f, ED_MSG_BARRIER, 2, ED_MSG_F_FINAL, 0);
    s_complete(f, 2, 0, 0);
    s_expect_both(f, ED_MSG_COMMIT, 2, ED_MSG_F_FINAL, 0);
    h_deliver(f->a, h_msg(ED_MSG_COMMITTED, 2, ED_MSG_F_FINAL, -1, f->src[0]));
    assert_false(ed_actor_shutdown_requested(f->a, &code));
    h_deliver(f->a, h_msg(ED_MSG_COMMITTED, 2, ED_MSG_F_FINAL, 0, f->src[1]));
    assert_true(ed_actor_shutdown_requested(f->a, &code));
    assert_int_equal(code, 1);
    s_fx_free(f);
}

static void test_stop_while_paused_resumes_first(void **unused) {
    fx_t *f = s_fx(0);
    h_tick(f->a, H_T0 + 500);
    h_tick(f->a, H_T0 + 1000);
    h_tick(f->a, H_T0 + 1500);
    assert_int_equal(h_discard(f->a), 6); /* two barriers and a pause, to both */
    ed_plan_request_stop(f->p.plan);
    h_tick(f->a, H_T0 + 1600);
    /* Paused sources could not reach the final barrier's end: resume them. */
    s_expect_both(f, ED_MSG_PAUSE, 0, 0, 0);
    s_expect_both(f, ED_MSG_BARRIER, 3, ED_MSG_F_FINAL, 0);
    s_fx_free(f);
}

static void test_exit_when_idle(void **unused) {
    fx_t *f = s_fx(1000);
    h_tick(f->a, H_T0 + 500);
    assert_int_equal(h_discard(f->a), 2);
    s_complete(f, 1, 0, 0); /* no input during checkpoint 1: idle from now */
    assert_int_equal(h_discard(f->a), 2);
    h_tick(f->a, H_T0 + 1000);
    assert_int_equal(h_discard(f->a), 2); /* barrier 2 */
    /* Input in checkpoint 2: idleness starts again when a later one is empty. */
    s_complete(f, 2, 7, 0);
    assert_int_equal(h_discard(f->a), 2);
    h_tick(f->a, H_T0 + 1500);
    assert_int_equal(h_discard(f->a), 2); /* barrier 3 */
    ed_clock_fake(H_T0 + 1600);
    s_complete(f, 3, 0, 0);
    assert_int_equal(h_discard(f->a), 2);
    h_tick(f->a, H_T0 + 2000);
    assert_int_equal(h_discard(f->a), 2); /* barrier 4, not a drain */
    s_complete(f, 4, 0, 0);
    assert_int_equal(h_discard(f->a), 2);
    h_tick(f->a, H_T0 + 2500);
    assert_int_equal(h_discard(f->a), 2); /* barrier 5: idle 900 ms */
    s_complete(f, 5, 0, 0);
    assert_int_equal(h_discard(f->a), 2);
    h_tick(f->a, H_T0 + 2599); /* 999 ms idle: not yet */
    h_expect_none(f->a);
    h_tick(f->a, H_T0 + 2600); /* 1000 ms without input, everything acked */
    s_expect_drain(f, 6);
    s_fx_free(f);
}

static void test_not_ready_source_is_not_idle(void **unused) {
    fx_t *f = s_fx(1000);
    int64_t t = H_T0;
    for (uint64_t n = 1; n <= 4; n++) {
        t += 500;
        h_tick(f->a, t);
        assert_int_equal(h_discard(f->a), 2);
        s_complete(f, n, 0, ED_MSG_F_NOT_READY); /* e.g. Kafka: no partitions yet */
        assert_int_equal(h_discard(f->a), 2);
    }
    h_tick(f->a, t + 10); /* 2 s without input, but not ready: no drain */
    h_expect_none(f->a);
    s_fx_free(f);
}

static void test_end_of_input_drains(void **unused) {
    fx_t *f = s_fx(0);
    /* A source at its end asks for a checkpoint at once. */
    h_deliver(f->a, h_msg(ED_MSG_SOURCE_STATUS, 0, ED_MSG_F_EOF, 0, f->src[0]));
    h_tick(f->a, H_T0 + 10);
    s_expect_both(f, ED_MSG_BARRIER, 1, 0, 0);
    for (int i = 0; i < 2; i++)
        h_deliver(f->a, h_msg(ED_MSG_ACK, 1, 0, 0, f->sink[i]));
    h_deliver(f->a, h_msg(ED_MSG_SOURCE_STATUS, 1, ED_MSG_F_EOF, 3, f->src[0]));
    h_deliver(f->a, h_msg(ED_MSG_SOURCE_STATUS, 1, 0, 3, f->src[1]));
    assert_int_equal(h_discard(f->a), 2); /* commit 1; one source still reads */
    h_tick(f->a, H_T0 + 510);
    assert_int_equal(h_discard(f->a), 2); /* barrier 2 */
    for (int i = 0; i < 2; i++)
        h_deliver(f->a, h_msg(ED_MSG_ACK, 2, 0, 0, f->sink[i]));
    for (int i = 0; i < 2; i++)
        h_deliver(f->a, h_msg(ED_MSG_SOURCE_STATUS, 2, ED_MSG_F_EOF, 0, f->src[i]));
    assert_int_equal(h_discard(f->a), 2); /* commit 2 */
    h_tick(f->a, H_T0 + 520);
    s_expect_drain(f, 3);
    s_fx_free(f);
}

static void test_latency_from_produce_times(void **unused) {
    fx_t *f = s_fx(0);
    h_tick(f->a, H_T0 + 500);
    assert_int_equal(h_discard(f->a), 2);
    for (int i = 0; i < 2; i++)
        h_deliver(f->a, h_msg(ED_MSG_ACK, 1, 0, 0, f->sink[i]));
    for (int i = 0; i < 2; i++) {
        ed_batch_t *times = NULL;
        ed_batch_add_time(&times, H_T0 + 100, 3); /* produced 100 ms after start */
        ed_msg_t *m = h_msg(ED_MSG_SOURCE_STATUS, 1, 0, 3, f->src[i]);
        m->batch = times;
        ed_clock_fake(H_T0 + 700);
        h_deliver(f->a, m);
    }
    assert_int_equal(h_discard(f->a), 2);
    const ed_hist_t *h = &ed_plan_run_stats(f->p.plan)->latency;
    assert_int_equal(h->total, 6);
    assert_int_equal(h->max, 600); /* durable at +700 (the last status) */
    assert_int_equal(ed_hist_percentile(h, 50), 600);
    s_fx_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_barrier_every_flush_interval),
        cmocka_unit_test(test_commit_after_every_ack_and_status),
        cmocka_unit_test(test_completes_in_order),
        cmocka_unit_test(test_pause_when_inflight_then_resume),
        cmocka_unit_test(test_stop_request_drains),
        cmocka_unit_test(test_final_commit_failed_exits_1),
        cmocka_unit_test(test_stop_while_paused_resumes_first),
        cmocka_unit_test(test_exit_when_idle),
        cmocka_unit_test(test_not_ready_source_is_not_idle),
        cmocka_unit_test(test_end_of_input_drains),
        cmocka_unit_test(test_latency_from_produce_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
