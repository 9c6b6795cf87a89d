/* test_sink_actor.c — the sink actor around a test plugin defined here,
 * driven step by step with a fake clock (tests/unit/harness.h): a flush is
 * written once every sender sent its barrier, strictly in checkpoint order;
 * RETRY backs off 100 ms doubling to retry_max; DROP is counted and acked;
 * the ack goes out only after the plugin returned OK (or DROP). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sinks/ed_sink_actor.h"
#include "tests/unit/harness.h"

/* ---- the test plugin: records every write, answers from a script ---- */

#define TP_MAX 64

static struct {
    int inits, destroys;
    int calls;
    uint64_t ckpt[TP_MAX];  /* checkpoint of each write call */
    uint64_t rows[TP_MAX];  /* rows offered */
    int nchanges[TP_MAX];   /* CHANGELOG batches offered */
    int nrecords[TP_MAX];   /* RECORDS batches offered */
    ed_write_result_t script[TP_MAX]; /* answer of call i (default OK) */
} T;

static int tp_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    T.inits++;
    *ctx_p = &T;
    return 0;
}

static ed_write_result_t tp_write(void *ctx, const ed_sink_flush_t *f, ed_sink_stats_t *st,
                                  char *errstr, size_t errstr_size) {
    assert_ptr_equal(ctx, &T);
    int i = T.calls++;
    assert_true(i < TP_MAX);
    T.ckpt[i] = f->checkpoint;
    T.rows[i] = f->rows;
    T.nchanges[i] = f->nchanges;
    T.nrecords[i] = f->nrecords;
    ed_write_result_t r = T.script[i];
    if (r == ED_WRITE_OK)
        st->rows_written += f->rows;
    else if (r == ED_WRITE_DROP)
        st->rows_rejected += f->rows;
    if (r != ED_WRITE_OK)
        snprintf(errstr, errstr_size, "test sink: scripted %s",
                 r == ED_WRITE_RETRY ? "RETRY" : "DROP");
    return r;
}

static void tp_destroy(void **ctx_p) {
    T.destroys++;
    *ctx_p = NULL;
}

static const ed_sink_type_t s_test_sink = {
    .conf = {.name = "test"}, .init = tp_init, .write = tp_write, .destroy = tp_destroy};

/* ---- fixture: sink `out` fed by 2 aggregators and a pass-through source ---- */

static const char *s_yaml = "runtime: { aggregators: 2 }\n"
                            "sources:\n"
                            "  g: { generator: {}, to: out }\n"
                            "aggregations:\n"
                            "  counts: { from: g, key: [{k: \"@key\"}], to: out }\n"
                            "sinks:\n"
                            "  out: { null: {}, retry_max: 300ms }\n";

typedef struct {
    h_pipe_t p;
    ed_sink_actor_t *state;
    ed_actor_t *a;
    uint32_t up[3]; /* its senders: both aggregators and the source */
    uint32_t coord;
} fx_t;

static fx_t *s_fx(void) {
    memset(&T, 0, sizeof T);
    fx_t *f = calloc(1, sizeof *f);
    f->p = h_pipe(s_yaml, 0);
    uint32_t id = ed_plan_sink_id(f->p.plan, 0);
    assert_int_equal(h_senders(&f->p, id, f->up, 3), 3);
    f->coord = ed_plan_coordinator(f->p.plan);
    char err[256];
    f->state = ed_sink_actor_new(f->p.plan, 0, &s_test_sink, err, sizeof err);
    assert_non_null(f->state);
    f->a = ed_actor_new_detached(&ed_sink_actor, "out", f->state, id);
    assert_int_equal(ed_actor_step_init(f->a, err, sizeof err), 0);
    assert_int_equal(T.inits, 1);
    return f;
}

static void s_fx_free(fx_t *f) {
    ed_actor_destroy_detached(&f->a); /* stop(): the plugin instance goes */
    assert_int_equal(T.destroys, 1);
    ed_sink_actor_destroy(&f->state);
    assert_null(f->state);
    h_pipe_free(&f->p);
    free(f);
}

/* Sends `rows` changelog rows from sender `from` (in its current checkpoint). */
static void s_changes(fx_t *f, uint32_t from, int rows) {
    ed_batch_t *b = ed_batch_new(ED_BATCH_CHANGELOG, 256);
    for (int i = 0; i < rows; i++) {
        uint8_t key[16];
        size_t klen = 0;
        ed_key_append(key, &klen, "k", 1);
        ed_change_t h = {.agg = 0, .nvals = 1, .key_len = (uint32_t)klen, .n = 1, .delta_n = 1};
        double one = 1;
        ed_batch_add_change(b, &h, &one, &one, key);
    }
    h_deliver(f->a, h_batch_msg(&b, from));
}

static void s_records(fx_t *f, uint32_t from, int n) {
    ed_batch_t *b = ed_batch_new(ED_BATCH_RECORDS, 256);
    for (int i = 0; i < n; i++)
        ed_batch_add_record(b, "k", 1, "v", 1, 0);
    h_deliver(f->a, h_batch_msg(&b, from));
}

static void s_barrier(fx_t *f, uint32_t from, uint64_t n, uint32_t flags) {
    h_deliver(f->a, h_msg(ED_MSG_BARRIER, n, flags, 0, from));
}

/* Every sender sends barrier n. */
static void s_barrier_all(fx_t *f, uint64_t n, uint32_t flags) {
    for (int i = 0; i < 3; i++)
        s_barrier(f, f->up[i], n, flags);
}

/* The sink acked checkpoint n (value = rows) to the coordinator. */
static void s_expect_ack(fx_t *f, uint64_t n, int64_t rows, uint32_t flags) {
    ed_msg_t *m = h_expect(f->a, ED_MSG_ACK, f->coord, n);
    assert_int_equal(m->value, rows);
    assert_int_equal(m->flags, flags);
    ed_msg_destroy(&m);
}

static void test_writes_when_every_sender_sent_its_barrier(void **unused) {
    fx_t *f = s_fx();
    s_changes(f, f->up[0], 3);
    s_changes(f, f->up[1], 2);
    s_records(f, f->up[2], 4);
    s_barrier(f, f->up[0], 1, 0);
    s_barrier(f, f->up[1], 1, 0);
    assert_int_equal(T.calls, 0); /* the source's barrier is missing */
    h_expect_none(f->a);
    s_barrier(f, f->up[2], 1, 0);
    assert_int_equal(T.calls, 1);
    assert_int_equal(T.ckpt[0], 1);
    assert_int_equal(T.rows[0], 9);
    assert_int_equal(T.nchanges[0], 2);
    assert_int_equal(T.nrecords[0], 1);
    s_expect_ack(f, 1, 9, 0);
    h_expect_none(f->a);
    assert_int_equal(ed_plan_sink_stats(f->p.plan, 0)->rows_written, 9);
    s_fx_free(f);
}

static void test_data_after_a_barrier_is_the_next_flush(void **unused) {
    fx_t *f = s_fx();
    s_changes(f, f->up[0], 1);
    s_barrier(f, f->up[0], 1, 0);
    s_changes(f, f->up[0], 5); /* checkpoint 2 from this sender */
    s_barrier(f, f->up[1], 1, 0);
    s_barrier(f, f->up[2], 1, 0);
    assert_int_equal(T.calls, 1);
    assert_int_equal(T.rows[0], 1);
    s_expect_ack(f, 1, 1, 0);
    s_barrier_all(f, 2, ED_MSG_F_FINAL);
    assert_int_equal(T.calls, 2);
    assert_int_equal(T.rows[1], 5);
    s_expect_ack(f, 2, 5, ED_MSG_F_FINAL); /* the final flag travels to the ack */
    s_fx_free(f);
}

static void test_flushes_in_checkpoint_order(void **unused) {
    fx_t *f = s_fx();
    /* Senders 1 and 2 finish checkpoints 1 and 2; sender 0 is behind. */
    for (int i = 1; i < 3; i++) {
        s_changes(f, f->up[i], 1);
        s_barrier(f, f->up[i], 1, 0);
        s_changes(f, f->up[i], 2);
        s_barrier(f, f->up[i], 2, 0);
    }
    s_barrier(f, f->up[0], 1, 0);
    assert_int_equal(T.calls, 1);
    assert_int_equal(T.ckpt[0], 1);
    assert_int_equal(T.rows[0], 2);
    s_expect_ack(f, 1, 2, 0);
    h_expect_none(f->a);
    s_barrier(f, f->up[0], 2, 0);
    assert_int_equal(T.calls, 2);
    assert_int_equal(T.ckpt[1], 2);
    assert_int_equal(T.rows[1], 4);
    s_expect_ack(f, 2, 4, 0);
    s_fx_free(f);
}

static void test_retry_backoff_doubles_to_retry_max(void **unused) {
    fx_t *f = s_fx(); /* retry_max: 300ms */
    for (int i = 0; i < 5; i++)
        T.script[i] = ED_WRITE_RETRY;
    s_changes(f, f->up[0], 2);
    s_barrier_all(f, 1, 0);
    assert_int_equal(T.calls, 1);
    h_expect_none(f->a); /* no ack without a durable write */
    /* Attempt k+1 comes backoff[k] after attempt k: 100, 200, 300 (cap), 300. */
    const int64_t backoff[] = {100, 200, 300, 300, 300};
    int64_t t = H_T0;
    for (int k = 0; k < 5; k++) {
        assert_int_equal(ed_actor_wake_time(f->a), t + backoff[k]);
        h_tick(f->a, t + backoff[k] - 1); /* early tick: nothing written */
        assert_int_equal(T.calls, k + 1);
        assert_int_equal(ed_actor_wake_time(f->a), t + backoff[k]);
        t += backoff[k];
        h_tick(f->a, t);
        assert_int_equal(T.calls, k + 2);
        assert_int_equal(T.ckpt[k + 1], 1);
        if (k < 4)
            h_expect_none(f->a);
    }
    s_expect_ack(f, 1, 2, 0); /* the 6th attempt returned OK */
    /* After success the backoff starts again at 100 ms. */
    T.script[6] = ED_WRITE_RETRY;
    s_changes(f, f->up[1], 1);
    s_barrier_all(f, 2, 0);
    assert_int_equal(T.calls, 7);
    assert_int_equal(ed_actor_wake_time(f->a), t + 100);
    s_fx_free(f);
}

static void test_retry_holds_later_flushes(void **unused) {
    fx_t *f = s_fx();
    T.script[0] = ED_WRITE_RETRY;
    s_changes(f, f->up[0], 1);
    s_barrier_all(f, 1, 0);
    s_changes(f, f->up[0], 2);
    s_barrier_all(f, 2, 0);
    assert_int_equal(T.calls, 1); /* flush 2 waits behind the failing flush 1 */
    h_expect_none(f->a);
    h_tick(f->a, H_T0 + 100);
    assert_int_equal(T.calls, 3);
    assert_int_equal(T.ckpt[1], 1);
    assert_int_equal(T.ckpt[2], 2);
    s_expect_ack(f, 1, 1, 0);
    s_expect_ack(f, 2, 2, 0);
    s_fx_free(f);
}

static void test_drop_is_counted_and_acked(void **unused) {
    fx_t *f = s_fx();
    T.script[0] = ED_WRITE_DROP;
    s_records(f, f->up[2], 3);
    s_barrier_all(f, 1, 0);
    assert_int_equal(T.calls, 1);
    s_expect_ack(f, 1, 3, 0); /* acked, not retried */
    assert_int_equal(ed_plan_sink_stats(f->p.plan, 0)->rows_rejected, 3);
    assert_int_equal(ed_plan_sink_stats(f->p.plan, 0)->rows_written, 0);
    h_tick(f->a, H_T0 + 10000);
    assert_int_equal(T.calls, 1);
    /* The next flush is written normally. */
    s_records(f, f->up[2], 1);
    s_barrier_all(f, 2, 0);
    assert_int_equal(T.calls, 2);
    s_expect_ack(f, 2, 1, 0);
    s_fx_free(f);
}

static void test_empty_flush_acked_without_write(void **unused) {
    fx_t *f = s_fx();
    s_barrier_all(f, 1, 0);
    assert_int_equal(T.calls, 0);
    s_expect_ack(f, 1, 0, 0);
    s_fx_free(f);
}

static void test_unexpected_sender_ignored(void **unused) {
    fx_t *f = s_fx();
    /* The coordinator is no sender of the sink: its barrier counts for nothing. */
    s_barrier(f, f->coord, 1, 0);
    s_barrier(f, f->up[0], 1, 0);
    s_barrier(f, f->up[1], 1, 0);
    h_expect_none(f->a);
    s_barrier(f, f->up[2], 1, 0);
    s_expect_ack(f, 1, 0, 0);
    s_fx_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_when_every_sender_sent_its_barrier),
        cmocka_unit_test(test_data_after_a_barrier_is_the_next_flush),
        cmocka_unit_test(test_flushes_in_checkpoint_order),
        cmocka_unit_test(test_retry_backoff_doubles_to_retry_max),
        cmocka_unit_test(test_retry_holds_later_flushes),
        cmocka_unit_test(test_drop_is_counted_and_acked),
        cmocka_unit_test(test_empty_flush_acked_without_write),
        cmocka_unit_test(test_unexpected_sender_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
