/* it_source_kafka.c — the Kafka source driver against the real broker at
 * $EDDY_KAFKA (scripts/services start kafka): offsets are committed only by
 * commit(), uncommitted input is re-delivered, pause/resume, config errors.
 * Every test uses a fresh 3-partition topic and consumer group. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors/ed_registry.h"
#include "actors/sources/ed_source.h"
#include "config/ed_config.h"

extern const ed_source_type_t ed_source_kafka;
static const ed_source_type_t *T = &ed_source_kafka;

#define PARTS 3
#define WAIT_MS 60000 /* group join + fetch on a cold broker can take seconds */

static const char *s_broker(void) {
    const char *b = getenv("EDDY_KAFKA");
    if (!b || !*b)
        fail_msg("EDDY_KAFKA is not set: start the broker with `scripts/services start kafka` and "
                 "export EDDY_KAFKA=127.0.0.1:29092 (or eval \"$(scripts/services env)\")");
    return b;
}

/* ------------------------------------------------------------ producer -- */

static int s_dr_errors;

static void s_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
        s_dr_errors++;
    }
}

static rd_kafka_t *s_producer(void) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", s_broker(), err, sizeof err) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err))
        fail_msg("producer conf: %s", err);
    rd_kafka_conf_set_dr_msg_cb(conf, s_dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk)
        fail_msg("producer: %s", err);
    return rk;
}

/* Creates `topic` with PARTS partitions and waits for the result. */
static void s_create_topic(const char *topic) {
    rd_kafka_t *rk = s_producer();
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, PARTS, 1, err, sizeof err);
    assert_non_null(nt);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (!ev)
        fail_msg("CreateTopics %s: no answer from %s in 30 s", topic, s_broker());
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    assert_non_null(res);
    if (rd_kafka_event_error(ev))
        fail_msg("CreateTopics %s: %s", topic, rd_kafka_event_error_string(ev));
    size_t cnt;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
    assert_int_equal(cnt, 1);
    if (rd_kafka_topic_result_error(tr[0]))
        fail_msg("CreateTopics %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
}

/* Produces values "v<from>" … "v<to-1>" with keys "k<i>" to partition i % PARTS. */
static void s_produce(const char *topic, int from, int to) {
    rd_kafka_t *rk = s_producer();
    s_dr_errors = 0;
    for (int i = from; i < to; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "v%d", i);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % PARTS),
                                      RD_KAFKA_V_KEY(key, strlen(key)),
                                      RD_KAFKA_V_VALUE(val, strlen(val)),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        if (e)
            fail_msg("produce: %s", rd_kafka_err2str(e));
    }
    if (rd_kafka_flush(rk, 30000))
        fail_msg("produce to %s: not delivered in 30 s", topic);
    assert_int_equal(s_dr_errors, 0);
    rd_kafka_destroy(rk);
}

/* ------------------------------------------------------------ consumer -- */

typedef struct {
    int value; /* i of "v<i>" */
    int32_t partition;
    int64_t offset;
} krec_t;

typedef struct {
    krec_t r[4096];
    size_t n;
    const char *topic;
} krecs_t;

static void s_collect(void *ud, const ed_input_t *in) {
    krecs_t *rs = ud;
    assert_true(rs->n < ED_ARRAY_SIZE(rs->r));
    assert_non_null(in->topic);
    assert_string_equal(in->topic, rs->topic);
    assert_true(in->partition >= 0 && in->partition < PARTS);
    assert_true(in->len > 1 && in->len < 16 && in->data[0] == 'v');
    char buf[16];
    memcpy(buf, in->data, in->len);
    buf[in->len] = '\0';
    int v = atoi(buf + 1);
    /* key "k<i>" with the same i, partition i % PARTS */
    char key[16];
    int kl = snprintf(key, sizeof key, "k%d", v);
    assert_int_equal(in->key_len, (size_t)kl);
    assert_memory_equal(in->key, key, (size_t)kl);
    assert_int_equal(in->partition, v % PARTS);
    assert_true(in->ts_ms > 1600000000000LL);
    assert_null(in->file);
    rs->r[rs->n].value = v;
    rs->r[rs->n].partition = in->partition;
    rs->r[rs->n].offset = in->offset;
    rs->n++;
}

typedef struct {
    char topic[128];
    char group[160];
    const char *brokers; /* kafka options of the source… */
    const char *props;   /* …as the YAML of `properties:`, or NULL */
    ed_config_t *conf;   /* the config last built from them */
    void *ctx;
    krecs_t recs;
} kfx_t;

static int s_setup(void **state) {
    static int seq;
    kfx_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->topic, sizeof fx->topic, "eddy-it-src-%d-%ld-%d", (int)getpid(), (long)time(NULL),
             ++seq);
    snprintf(fx->group, sizeof fx->group, "%s-group", fx->topic);
    fx->brokers = s_broker();
    fx->recs.topic = fx->topic;
    *state = fx;
    return 0;
}

static int s_teardown(void **state) {
    kfx_t *fx = *state;
    T->close(&fx->ctx);
    ed_config_destroy(&fx->conf);
    free(fx);
    return 0;
}

/* The source as eddy builds it: from YAML with the options of fx. */
static const ed_conf_source_t *s_src(kfx_t *fx) {
    char yaml[1024], err[1024];
    snprintf(yaml, sizeof yaml,
             "sources:\n  kin:\n    kafka:\n      brokers: \"%s\"\n      topic: \"%s\"\n"
             "      group: \"%s\"\n      start: earliest\n%s%s%s    to: n\n"
             "sinks:\n  n: { null: {} }\n",
             fx->brokers, fx->topic, fx->group, fx->props ? "      properties: " : "",
             fx->props ? fx->props : "", fx->props ? "\n" : "");
    ed_config_destroy(&fx->conf);
    if (ed_config_load_string(yaml, "kin.yaml", ed_registry(), &fx->conf, err, sizeof err))
        fail_msg("config: %s", err);
    return &fx->conf->sources[0];
}

static void s_open(kfx_t *fx) {
    fx->brokers = s_broker();
    char err[512] = "";
    int rc = T->open(&fx->ctx, NULL, s_src(fx), err, sizeof err);
    if (rc)
        fail_msg("open: %s", err);
    assert_true(T->fd(fx->ctx) >= 0);
}

/* Reads until `want` records have arrived, then for `quiet_ms` more to catch
 * extra ones. Reads only when fd() is readable (or read() returned max), so
 * this also checks that the fd signals. */
static void s_consume(kfx_t *fx, size_t want, int quiet_ms) {
    int fd = T->fd(fx->ctx);
    int64_t deadline = ed_now_ms() + WAIT_MS, quiet_until = 0;
    char err[512];
    for (;;) {
        int eof = 0;
        int n = T->read(fx->ctx, 64, s_collect, &fx->recs, &eof, err, sizeof err);
        if (n < 0)
            fail_msg("read: %s", err);
        assert_int_equal(eof, 0);
        if (n == 64)
            continue;
        int64_t now = ed_now_ms();
        if (fx->recs.n >= want) {
            if (!quiet_until)
                quiet_until = now + quiet_ms;
            if (now >= quiet_until)
                break;
        } else if (now >= deadline) {
            fail_msg("topic %s: %zu of %zu messages arrived in %d s", fx->topic, fx->recs.n, want,
                     WAIT_MS / 1000);
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        poll(&pfd, 1, (int)((fx->recs.n >= want ? quiet_until : deadline) - now));
    }
    if (fx->recs.n != want)
        fail_msg("topic %s: expected %zu messages, got %zu", fx->topic, want, fx->recs.n);
}

/* Each value in [from, to) arrived exactly once, with distinct offsets. */
static void s_expect_values(const krecs_t *rs, int from, int to) {
    assert_int_equal(rs->n, (size_t)(to - from));
    static unsigned char seen[4096];
    memset(seen, 0, sizeof seen);
    int64_t last[PARTS] = {-1, -1, -1};
    for (size_t i = 0; i < rs->n; i++) {
        int v = rs->r[i].value;
        if (v < from || v >= to)
            fail_msg("unexpected value v%d (expected v%d..v%d)", v, from, to - 1);
        if (seen[v]++)
            fail_msg("v%d delivered twice", v);
        /* in order within a partition */
        assert_true(rs->r[i].offset > last[rs->r[i].partition]);
        last[rs->r[i].partition] = rs->r[i].offset;
    }
}

/* A fresh topic holding v0..v<n-1>, and the consumer of fx that has read
 * them all (nothing committed). */
static void s_start(kfx_t *fx, int n) {
    s_create_topic(fx->topic);
    s_produce(fx->topic, 0, n);
    s_open(fx);
    s_consume(fx, (size_t)n, 0);
}

/* A second consumer in fx's group; its records go to *rb (reset). */
static void *s_open_second(kfx_t *fx, krecs_t *rb) {
    void *b = NULL;
    char err[512] = "";
    if (T->open(&b, NULL, s_src(fx), err, sizeof err))
        fail_msg("open second consumer: %s", err);
    *rb = (krecs_t){.topic = fx->topic};
    return b;
}

/* Calls read() on the paused consumer of fx for ms milliseconds (waking on
 * its fd): every call must emit nothing. */
static void s_read_paused(kfx_t *fx, int ms) {
    int64_t until = ed_now_ms() + ms;
    char err[256];
    while (ed_now_ms() < until) {
        int eof = 0;
        struct pollfd pfd = {.fd = T->fd(fx->ctx), .events = POLLIN};
        poll(&pfd, 1, 200);
        assert_int_equal(T->read(fx->ctx, 64, s_collect, &fx->recs, &eof, err, sizeof err), 0);
    }
}

/* ------------------------------------------------------------- tests -- */

static void test_commit_then_only_new_arrive(void **state) {
    kfx_t *fx = *state;
    s_start(fx, 300);
    s_expect_values(&fx->recs, 0, 300);
    assert_int_equal(T->checkpoint(fx->ctx, 1), 0);
    char err[512] = "";
    if (T->commit(fx->ctx, 1, err, sizeof err))
        fail_msg("commit: %s", err);
    T->close(&fx->ctx);
    assert_null(fx->ctx);

    s_produce(fx->topic, 300, 390);
    fx->recs.n = 0;
    s_open(fx);
    s_consume(fx, 90, 3000); /* and nothing else for 3 s */
    s_expect_values(&fx->recs, 300, 390);
}

static void test_uncommitted_are_redelivered(void **state) {
    kfx_t *fx = *state;
    s_start(fx, 60);
    char err[512] = "";
    T->checkpoint(fx->ctx, 1);
    if (T->commit(fx->ctx, 1, err, sizeof err))
        fail_msg("commit: %s", err);

    s_produce(fx->topic, 60, 90);
    fx->recs.n = 0;
    s_consume(fx, 30, 0);
    s_expect_values(&fx->recs, 60, 90);
    krecs_t first = fx->recs;
    T->checkpoint(fx->ctx, 2); /* flush 2 is never acked */
    T->close(&fx->ctx);

    fx->recs.n = 0;
    s_open(fx);
    s_consume(fx, 30, 3000);
    s_expect_values(&fx->recs, 60, 90);
    /* the same messages: same partitions and offsets */
    for (size_t i = 0; i < first.n; i++) {
        int found = 0;
        for (size_t j = 0; j < fx->recs.n; j++)
            if (fx->recs.r[j].value == first.r[i].value) {
                assert_int_equal(fx->recs.r[j].partition, first.r[i].partition);
                assert_int_equal(fx->recs.r[j].offset, first.r[i].offset);
                found = 1;
            }
        assert_true(found);
    }
}

static void test_commit_merges_checkpoints(void **state) {
    kfx_t *fx = *state;
    s_start(fx, 30);
    T->checkpoint(fx->ctx, 1);
    s_produce(fx->topic, 30, 33); /* one more per partition */
    fx->recs.n = 0;
    s_consume(fx, 3, 0);
    T->checkpoint(fx->ctx, 2);
    T->checkpoint(fx->ctx, 3); /* nothing advanced */
    char err[512] = "";
    if (T->commit(fx->ctx, 3, err, sizeof err)) /* covers 1 and 2 */
        fail_msg("commit: %s", err);
    T->close(&fx->ctx);
    s_produce(fx->topic, 33, 36);
    fx->recs.n = 0;
    s_open(fx);
    s_consume(fx, 3, 3000);
    s_expect_values(&fx->recs, 33, 36);
}

/* Reads from both consumers once (64 at most each). */
static void s_read_both(void *a, krecs_t *ra, void *b, krecs_t *rb) {
    char err[512];
    int eof = 0;
    if (T->read(a, 64, s_collect, ra, &eof, err, sizeof err) < 0)
        fail_msg("read (first consumer): %s", err);
    if (b && T->read(b, 64, s_collect, rb, &eof, err, sizeof err) < 0)
        fail_msg("read (second consumer): %s", err);
    usleep(20000);
}

/* Commit on revoke: a consumer that has read (not committed) everything is
 * joined by a second one; the first holds its revoked partitions, asks for a
 * checkpoint, and releases them only after committing it. Then nothing old
 * is delivered again, to either, and new messages arrive exactly once. */
static void test_commit_on_revoke(void **state) {
    kfx_t *fx = *state;
    s_start(fx, 300);
    s_expect_values(&fx->recs, 0, 300);

    static krecs_t rb;
    void *b = s_open_second(fx, &rb);
    char err[512] = "";
    fx->recs.n = 0;
    int64_t deadline = ed_now_ms() + WAIT_MS;
    while (!T->wants_checkpoint(fx->ctx)) { /* the revoke reaches the first consumer */
        if (ed_now_ms() > deadline)
            fail_msg("the first consumer never asked for a checkpoint after the second joined");
        s_read_both(fx->ctx, &fx->recs, b, &rb);
    }
    assert_int_equal(T->checkpoint(fx->ctx, 1), 0);
    if (T->commit(fx->ctx, 1, err, sizeof err)) /* synchronous; releases the partitions */
        fail_msg("commit: %s", err);
    while (!T->ready(b)) { /* the rebalance completes */
        if (ed_now_ms() > deadline)
            fail_msg("the second consumer got no partitions");
        s_read_both(fx->ctx, &fx->recs, b, &rb);
    }
    s_produce(fx->topic, 300, 330);
    while (fx->recs.n + rb.n < 30 && ed_now_ms() < deadline)
        s_read_both(fx->ctx, &fx->recs, b, &rb);
    for (int i = 0; i < 100; i++) /* 2 s more: nothing else may arrive */
        s_read_both(fx->ctx, &fx->recs, b, &rb);
    krecs_t all = fx->recs;
    for (size_t i = 0; i < rb.n; i++)
        all.r[all.n++] = rb.r[i];
    s_expect_values(&all, 300, 330); /* no v0..v299 again, v300..v329 once */
    assert_true(rb.n > 0); /* the second consumer took partitions over */
    T->close(&b);
}

/* The fallback: when no checkpoint commits the revoked partitions (a sink is
 * down, say), the consumer still releases them after its wait, so the group
 * is not held up for good; the next owner then re-reads the uncommitted
 * messages (at-least-once). */
static void test_revoke_released_without_checkpoint(void **state) {
    kfx_t *fx = *state;
    s_start(fx, 60);
    static krecs_t rb;
    void *b = s_open_second(fx, &rb);
    fx->recs.n = 0;
    int64_t t0 = ed_now_ms(), deadline = t0 + WAIT_MS, asked = 0;
    /* no checkpoint, no commit: the first consumer must give up on its own */
    while (!T->ready(b) || rb.n == 0) {
        if (ed_now_ms() > deadline)
            fail_msg("the second consumer got no re-delivered messages in %d s (asked for a "
                     "checkpoint: %s)",
                     WAIT_MS / 1000, asked ? "yes" : "no");
        s_read_both(fx->ctx, &fx->recs, b, &rb);
        if (!asked && T->wants_checkpoint(fx->ctx))
            asked = ed_now_ms();
    }
    for (int i = 0; i < 50; i++)
        s_read_both(fx->ctx, &fx->recs, b, &rb);
    assert_true(asked > 0);
    print_message("released after %.1f s; the second consumer re-read %zu messages\n",
                  (double)(ed_now_ms() - asked) / 1000, rb.n);
    unsigned char seen[60] = {0};
    for (size_t i = 0; i < rb.n; i++) { /* only the uncommitted v0..v59, each once */
        int v = rb.r[i].value;
        assert_true(v >= 0 && v < 60);
        if (seen[v]++)
            fail_msg("v%d re-delivered twice to the second consumer", v);
    }
    T->close(&b);
}

static void test_pause_and_resume(void **state) {
    kfx_t *fx = *state;
    s_start(fx, 30);
    T->pause(fx->ctx, 1);
    s_produce(fx->topic, 30, 60);
    s_read_paused(fx, 3000); /* serves the consumer, emits nothing */
    assert_int_equal(fx->recs.n, 30);
    T->pause(fx->ctx, 0);
    fx->recs.n = 0;
    s_consume(fx, 30, 1000);
    s_expect_values(&fx->recs, 30, 60);
}

/* Paused before the group is even joined: the partitions assigned later
 * start paused, and resume reads them from the start. */
static void test_paused_before_assignment(void **state) {
    kfx_t *fx = *state;
    s_create_topic(fx->topic);
    s_produce(fx->topic, 0, 30);
    s_open(fx);
    T->pause(fx->ctx, 1);
    s_read_paused(fx, 4000);
    T->pause(fx->ctx, 0);
    s_consume(fx, 30, 1000);
    s_expect_values(&fx->recs, 0, 30);
}

static void test_config_errors(void **state) {
    kfx_t *fx = *state;
    fx->brokers = s_broker();
    fx->props = "{ no.such.property: 1 }";
    char err[512] = "";
    assert_int_equal(T->open(&fx->ctx, NULL, s_src(fx), err, sizeof err), ED_EINVAL);
    assert_null(fx->ctx);
    assert_non_null(strstr(err, "no.such.property"));
    assert_non_null(strstr(err, "'kin'"));

    fx->props = "{ enable.auto.commit: \"true\" }";
    assert_int_equal(T->open(&fx->ctx, NULL, s_src(fx), err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "enable.auto.commit"));

    fx->props = "{ session.timeout.ms: banana }";
    assert_int_equal(T->open(&fx->ctx, NULL, s_src(fx), err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "session.timeout.ms"));

    fx->props = "{ session.timeout.ms: 10000 }";
    assert_int_equal(T->open(&fx->ctx, NULL, s_src(fx), err, sizeof err), 0);
    T->close(&fx->ctx);
}

static void test_unreachable_broker_opens(void **state) {
    kfx_t *fx = *state;
    s_broker(); /* still required: integration tests never skip */
    fx->brokers = "127.0.0.1:1";
    char err[512] = "";
    assert_int_equal(T->open(&fx->ctx, NULL, s_src(fx), err, sizeof err), 0);
    int64_t until = ed_now_ms() + 1500;
    while (ed_now_ms() < until) { /* errors are logged (once), never returned */
        int eof = 0;
        struct pollfd pfd = {.fd = T->fd(fx->ctx), .events = POLLIN};
        poll(&pfd, 1, 100);
        assert_int_equal(T->read(fx->ctx, 64, s_collect, &fx->recs, &eof, err, sizeof err), 0);
    }
    assert_int_equal(T->checkpoint(fx->ctx, 1), 0);
    assert_int_equal(T->commit(fx->ctx, 1, err, sizeof err), 0);
    T->close(&fx->ctx);
}

int main(void) {
    if (!getenv("EDDY_KAFKA") || !*getenv("EDDY_KAFKA"))
        fprintf(stderr, "it_source_kafka: EDDY_KAFKA is not set; every test will fail. Start the "
                        "broker with `scripts/services start kafka` and export "
                        "EDDY_KAFKA=127.0.0.1:29092\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_on_revoke, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_revoke_released_without_checkpoint, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_commit_then_only_new_arrive, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_uncommitted_are_redelivered, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_commit_merges_checkpoints, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pause_and_resume, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_paused_before_assignment, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_broker_opens, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("source_kafka", tests, NULL, NULL);
}
