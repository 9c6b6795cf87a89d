/* test_runtime.c — the actor runtime, batches and buffers (no servers).
 * Runs real worker threads but asserts only on outcomes, never on timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actors/ed_checkpoint.h"
#include "actors/ed_payload.h"
#include "runtime/ed_actor.h"
#include "runtime/ed_batch.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_utf8.h"
#include "runtime/ed_hist.h"

/* ---- mailboxes: FIFO across workers under backpressure ---- */

#define N_MSGS 20000

typedef struct {
    uint32_t peer;
    int sent;
    int received;
    int64_t next_expected;
    int out_of_order;
    int blocked_seen;
} pp_state_t;

static int producer_tick(ed_actor_t *a, int64_t now) {
    pp_state_t *s = ed_actor_state(a);
    /* Send in bursts far beyond the HWM: the outbox must absorb and order them. */
    for (int i = 0; i < 500 && s->sent < N_MSGS; i++) {
        ed_batch_t *b = ed_batch_new(ED_BATCH_RECORDS, 64);
        int64_t seq = s->sent++;
        ed_batch_add_record(b, "k", 1, &seq, sizeof seq, 0);
        ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, &b);
        ed_actor_send(a, s->peer, &m);
        assert_null(m);
    }
    if (ed_actor_blocked(a))
        s->blocked_seen = 1;
    if (s->sent < N_MSGS)
        ed_actor_wake_now(a);
    return 0;
}

static int consumer_msg(ed_actor_t *a, ed_msg_t **msg_p) {
    pp_state_t *s = ed_actor_state(a);
    ed_batch_iter_t it;
    ed_batch_iter_init(&it, (*msg_p)->batch);
    const ed_record_t *r = ed_batch_next_record(&it);
    int64_t seq;
    memcpy(&seq, ed_record_val(r), sizeof seq);
    if (seq != s->next_expected)
        s->out_of_order++;
    s->next_expected = seq + 1;
    if (++s->received == N_MSGS)
        ed_runtime_shutdown(ed_actor_runtime(a), 0, "done");
    return 0; /* runtime frees the message */
}

static int wake_init(ed_actor_t *a, char *e, size_t n) {
    ed_actor_wake_now(a);
    return 0;
}

static const ed_actor_type_t producer_t = {.name = "producer", .init = wake_init, .on_tick = producer_tick};
static const ed_actor_type_t consumer_t = {.name = "consumer", .on_message = consumer_msg};

static void test_fifo_backpressure(void **unused) {
    char err[256];
    ed_runtime_t *rt = ed_runtime_new(2, 4, err, sizeof err);
    assert_non_null(rt);
    pp_state_t prod = {0}, cons = {0};
    ed_actor_t *p = ed_runtime_add(rt, &producer_t, "producer", &prod, 0);
    ed_actor_t *c = ed_runtime_add(rt, &consumer_t, "consumer", &cons, 1);
    prod.peer = ed_actor_id(c);
    assert_int_equal(ed_actor_worker(p), 0);
    assert_int_equal(ed_actor_worker(c), 1);
    assert_int_equal(ed_runtime_start(rt, err, sizeof err), 0);
    assert_int_equal(ed_runtime_wait(rt), 0);
    ed_runtime_destroy(&rt);
    assert_null(rt);
    assert_int_equal(cons.received, N_MSGS);
    assert_int_equal(cons.out_of_order, 0);
    assert_int_equal(prod.blocked_seen, 1); /* the HWM of 4 was hit and held the sender */
}

/* Same-worker delivery goes through the worker's own mailbox too. */
static void test_same_worker(void **unused) {
    char err[256];
    ed_runtime_t *rt = ed_runtime_new(1, 8, err, sizeof err);
    pp_state_t prod = {0}, cons = {0};
    ed_runtime_add(rt, &producer_t, "producer", &prod, -1);
    ed_actor_t *c = ed_runtime_add(rt, &consumer_t, "consumer", &cons, -1);
    prod.peer = ed_actor_id(c);
    assert_int_equal(ed_runtime_start(rt, err, sizeof err), 0);
    assert_int_equal(ed_runtime_wait(rt), 0);
    ed_runtime_destroy(&rt);
    assert_int_equal(cons.received, N_MSGS);
    assert_int_equal(cons.out_of_order, 0);
}

/* ---- supervision ---- */

typedef struct {
    int inits, stops, fail_first;
} flaky_t;

static int flaky_init(ed_actor_t *a, char *e, size_t n) {
    flaky_t *f = ed_actor_state(a);
    f->inits++;
    if (f->inits <= f->fail_first)
        return ed_seterr(e, n, ED_EIO, "simulated failure %d", f->inits);
    ed_runtime_shutdown(ed_actor_runtime(a), 0, "recovered");
    return 0;
}
static void flaky_stop(ed_actor_t *a) { ((flaky_t *)ed_actor_state(a))->stops++; }
static const ed_actor_type_t flaky_t_type = {.name = "flaky", .init = flaky_init, .stop = flaky_stop};

static void test_restart_then_recover(void **unused) {
    char err[256];
    ed_runtime_t *rt = ed_runtime_new(1, 8, err, sizeof err);
    flaky_t f = {.fail_first = 2};
    ed_runtime_add(rt, &flaky_t_type, "flaky", &f, -1);
    assert_int_equal(ed_runtime_start(rt, err, sizeof err), 0);
    assert_int_equal(ed_runtime_wait(rt), 0);
    ed_runtime_destroy(&rt);
    assert_int_equal(f.inits, 3);     /* two failures, then success */
    assert_int_equal(f.stops, 3);     /* stop after each failed init + at shutdown */
}

static void test_repeated_failure_stops_process(void **unused) {
    char err[256];
    ed_runtime_t *rt = ed_runtime_new(1, 8, err, sizeof err);
    flaky_t f = {.fail_first = 1000};
    ed_runtime_add(rt, &flaky_t_type, "flaky", &f, -1);
    assert_int_equal(ed_runtime_start(rt, err, sizeof err), 0);
    assert_int_equal(ed_runtime_wait(rt), 1); /* non-zero exit */
    ed_runtime_destroy(&rt);
    assert_int_equal(f.inits, ED_ACTOR_MAX_RESTARTS + 1);
}

/* ---- batches and keys ---- */

static void test_batch_roundtrip(void **unused) {
    ed_batch_t *b = ed_batch_new(ED_BATCH_KEYED, 16); /* forces growth */
    uint8_t key[64];
    size_t klen = 0;
    ed_key_append(key, &klen, "doc1", 4);
    ed_key_append(key, &klen, "", 0);
    ed_key_append(key, &klen, "word", 4);
    for (int i = 0; i < 1000; i++) {
        double v[2] = {i, -i};
        ed_batch_add_keyed(b, (uint16_t)(i % 3), i * 10, INT64_MIN, v, 2, key, (uint32_t)klen, (uint64_t)i);
    }
    assert_int_equal(b->count, 1000);
    ed_batch_iter_t it;
    ed_batch_iter_init(&it, b);
    const ed_keyed_t *e;
    int i = 0;
    while ((e = ed_batch_next_keyed(&it))) {
        assert_int_equal(e->agg, i % 3);
        assert_int_equal(e->ts_ms, i * 10);
        assert_int_equal(e->hash, (uint64_t)i);
        assert_true(ed_keyed_vals(e)[0] == i && ed_keyed_vals(e)[1] == -i);
        assert_int_equal(ed_key_nparts(ed_keyed_key(e), e->key_len), 3);
        const uint8_t *p;
        size_t pl;
        assert_int_equal(ed_key_part(ed_keyed_key(e), e->key_len, 2, &p, &pl), 0);
        assert_int_equal(pl, 4);
        assert_memory_equal(p, "word", 4);
        assert_int_equal(ed_key_part(ed_keyed_key(e), e->key_len, 1, &p, &pl), 0);
        assert_int_equal(pl, 0);
        assert_int_equal(ed_key_part(ed_keyed_key(e), e->key_len, 3, &p, &pl), ED_ENOENT);
        i++;
    }
    assert_int_equal(i, 1000);
    ed_batch_destroy(&b);
    assert_null(b);
}

static void test_json_escape(void **unused) {
    ed_buf_t b = ED_BUF_INIT;
    ed_buf_json_str(&b, "a\"b\\c\n\x01", 7);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
    ed_buf_reset(&b);
    ed_buf_json_str(&b, "caf\xc3\xa9 \xff", 7); /* valid UTF-8 kept, stray byte escaped */
    assert_string_equal(b.data, "\"caf\xc3\xa9 \\u00ff\"");
    ed_buf_reset(&b);
    ed_buf_json_num(&b, 42);
    ed_buf_puts(&b, ",");
    ed_buf_json_num(&b, 0.5);
    ed_buf_puts(&b, ",");
    ed_buf_json_num(&b, 0.0 / 0.0);
    assert_string_equal(b.data, "42,0.5,null");
    ed_buf_free(&b);
    assert_true(ed_utf8_valid("\xe2\x82\xac", 3));
    assert_false(ed_utf8_valid("\xe2\x82", 2));
    assert_false(ed_utf8_valid("\xc0\xaf", 2));     /* overlong */
    assert_false(ed_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
}

/* ---- latency histogram: percentiles within 1.6 % of an exact sort ---- */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_hist_percentiles(void **unused) {
    static ed_hist_t h; /* 20 KiB: keep it off the stack */
    memset(&h, 0, sizeof h);
    enum { N = 100000 };
    int64_t *v = malloc(sizeof *v * N);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        /* heavy tail: mostly < 1 s, some up to ~100 s */
        v[i] = (i % 10 == 0) ? (int64_t)(x % 100000) : (int64_t)(x % 1000);
        ed_hist_add(&h, v[i], 1);
    }
    qsort(v, N, sizeof *v, cmp_i64);
    const double ps[] = {50, 90, 99, 99.9, 100};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        size_t rank = (size_t)(ps[i] / 100.0 * N + 0.5);
        int64_t exact = v[(rank ? rank : 1) - 1];
        int64_t got = ed_hist_percentile(&h, ps[i]);
        assert_true(got >= exact);
        assert_true((double)got <= (double)exact * 1.016 + 1);
    }
    assert_int_equal(h.total, N);
    assert_int_equal(h.max, v[N - 1]);
    assert_int_equal(ed_hist_percentile(&h, 100), v[N - 1]);
    free(v);
    ed_batch_t *b = NULL;
    ed_batch_add_time(&b, 5, 1);
    ed_batch_add_time(&b, 5, 2);
    ed_batch_add_time(&b, 0, 1); /* unknown: ignored */
    ed_batch_add_time(&b, 7, 1);
    assert_int_equal(b->count, 2);
    ed_batch_iter_t it;
    ed_batch_iter_init(&it, b);
    const ed_tscount_t *t = ed_batch_next_time(&it);
    assert_int_equal(t->ts_ms, 5);
    assert_int_equal(t->count, 3);
    t = ed_batch_next_time(&it);
    assert_int_equal(t->ts_ms, 7);
    assert_int_equal(t->count, 1);
    assert_null(ed_batch_next_time(&it));
    ed_batch_destroy(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_backpressure),
        cmocka_unit_test(test_same_worker),
        cmocka_unit_test(test_restart_then_recover),
        cmocka_unit_test(test_repeated_failure_stops_process),
        cmocka_unit_test(test_batch_roundtrip),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_hist_percentiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
