/*
 * it_sink_kafka.c — the kafka sink plugin against the real broker
 * (scripts/services; the runner exports `scripts/services env`): the sink
 * contract (sink_contract.h), then alerts and changelog rows of two
 * aggregations consumed back with librdkafka, a broker that is down, and a
 * config mistake.
 *
 * Topics of the contract are created by the test with the Admin API (so
 * the sink's first write finds a leader); the one of the drop test with
 * max.message.bytes 100, which refuses every message for good.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "tests/integration/sink_contract.h"

#define S_WAIT_MS 30000 /* longest wait for the broker to do what it was asked */

/* ------------------------------------------------------------ the broker */

static void s_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK)
        fail_msg("kafka property %s=%s: %s", name, value, err);
}

/* A client of the test's own (producer: admin requests, metadata). */
static rd_kafka_t *s_client(rd_kafka_type_t type, const char *group) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    s_conf_set(conf, "bootstrap.servers", sc_env("EDDY_KAFKA"));
    if (group) {
        s_conf_set(conf, "group.id", group);
        s_conf_set(conf, "enable.auto.commit", "false");
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk)
        fail_msg("cannot create a kafka client: %s", err);
    return rk;
}

/* Waits for the result of an admin request on q; returns its event. */
static rd_kafka_event_t *s_admin_result(rd_kafka_queue_t *q, const char *what) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, S_WAIT_MS);
    if (!ev)
        fail_msg("%s: no answer from the broker within %d ms", what, S_WAIT_MS);
    if (rd_kafka_event_error(ev))
        fail_msg("%s: %s", what, rd_kafka_event_error_string(ev));
    return ev;
}

/* Waits until the broker reports a leader for every partition of topic. */
static void s_wait_leader(rd_kafka_t *rk, const char *topic) {
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    int64_t deadline = ed_now_ms() + S_WAIT_MS;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int ready = 0;
        if (rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const struct rd_kafka_metadata_topic *mt = &md->topics[0];
            ready = !mt->err && mt->partition_cnt > 0;
            for (int i = 0; ready && i < mt->partition_cnt; i++)
                ready = mt->partitions[i].leader >= 0;
            rd_kafka_metadata_destroy(md);
        }
        if (ready)
            break;
        if (ed_now_ms() > deadline)
            fail_msg("topic %s has no leader after %d ms", topic, S_WAIT_MS);
    }
    rd_kafka_topic_destroy(t);
}

/* Creates topic (1 partition) with config name=value (name NULL: none);
 * a topic that exists already is fine. Returns once it has a leader. */
static void s_topic_create(const char *topic, const char *name, const char *value) {
    rd_kafka_t *rk = s_client(RD_KAFKA_PRODUCER, NULL);
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 1, 1, err, sizeof err);
    assert_non_null(nt);
    if (name)
        assert_int_equal(rd_kafka_NewTopic_set_config(nt, name, value), 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = s_admin_result(q, "CreateTopics");
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    assert_int_equal(n, 1);
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[0]);
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        fail_msg("cannot create topic %s: %s", topic, rd_kafka_topic_result_error_string(res[0]));
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    s_wait_leader(rk, topic);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

/* Calls fn for every message of topic (1 partition), from the start to the
 * high watermark as the broker reports it now: what is durable. */
static void s_consume_all(const char *topic, void (*fn)(void *ud, const rd_kafka_message_t *m),
                          void *ud) {
    char group[160];
    snprintf(group, sizeof group, "eddy-it-%s", topic);
    rd_kafka_t *rk = s_client(RD_KAFKA_CONSUMER, group);
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, S_WAIT_MS);
    if (e)
        fail_msg("watermarks of %s[0]: %s", topic, rd_kafka_err2str(e));
    assert_int_equal(lo, 0);
    if (hi > 0) {
        rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(tl, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(rd_kafka_assign(rk, tl), 0);
        rd_kafka_topic_partition_list_destroy(tl);
        int64_t next = 0, deadline = ed_now_ms() + S_WAIT_MS;
        while (next < hi) {
            if (ed_now_ms() > deadline)
                fail_msg("consumed %lld of %lld messages of %s within %d ms", (long long)next,
                         (long long)hi, topic, S_WAIT_MS);
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
            if (!m)
                continue;
            if (!m->err && m->offset < hi) {
                fn(ud, m);
                next = m->offset + 1;
            }
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* ---------------------------------------------------------------- contract */

static void s_server(char *host, size_t size, int *port) {
    const char *b = sc_env("EDDY_KAFKA");
    const char *colon = strrchr(b, ':');
    if (!colon)
        fail_msg("EDDY_KAFKA=%s is not host:port", b);
    snprintf(host, size, "%.*s", (int)(colon - b), b);
    *port = atoi(colon + 1);
}

static void s_body(char *out, size_t size, const char *target, const char *host, int port) {
    snprintf(out, size, "kafka: { brokers: \"%s:%d\", topic: %s }, batch_rows: 2", host, port,
             target);
}

static void s_where(char *out, size_t size, const char *target, const char *host, int port) {
    snprintf(out, size, "(kafka brokers=%s:%d topic=%s)", host, port, target);
}

/* Topic names carry the run's pid and start time, so they are fresh: a
 * reset only makes sure the topic exists with a leader. */
static void s_reset(const char *target) {
    s_topic_create(target, NULL, NULL);
}

/* A changelog message: key "doc:word", value {…,"delta":{"count":N,…},…}. */
static void s_read_msg(void *ud, const rd_kafka_message_t *m) {
    const char *k = m->key, *colon = k ? memchr(k, ':', m->key_len) : NULL;
    char val[1024];
    snprintf(val, sizeof val, "%.*s", (int)m->len, (const char *)m->payload);
    const char *delta = strstr(val, "\"delta\":{\"count\":");
    if (!colon || !delta)
        fail_msg("not a changelog message of the contract: key=%.*s value=%s", (int)m->key_len,
                 k ? k : "", val);
    sc_totals_add(ud, k, (size_t)(colon - k), colon + 1, m->key_len - (size_t)(colon - k) - 1,
                  atof(delta + strlen("\"delta\":{\"count\":")));
}

static void s_read(const char *target, sc_totals_t *t) {
    s_consume_all(target, s_read_msg, t);
}

/* A windowed changelog message: key "doc:word", value
 * {…,"key":{…},"window_start":WS,"window_end":WE,…,"delta":{"count":N,…},…}. */
static void s_read_wmsg(void *ud, const rd_kafka_message_t *m) {
    const char *k = m->key, *colon = k ? memchr(k, ':', m->key_len) : NULL;
    char val[1024];
    snprintf(val, sizeof val, "%.*s", (int)m->len, (const char *)m->payload);
    const char *ws = strstr(val, "},\"window_start\":"), *we = strstr(val, ",\"window_end\":");
    const char *delta = strstr(val, "\"delta\":{\"count\":");
    if (!colon || !ws || !we || !delta)
        fail_msg("not a windowed changelog message of the contract: key=%.*s value=%s",
                 (int)m->key_len, k ? k : "", val);
    sc_wtotals_add(ud, atoll(ws + strlen("},\"window_start\":")),
                   atoll(we + strlen(",\"window_end\":")), k, (size_t)(colon - k), colon + 1,
                   m->key_len - (size_t)(colon - k) - 1,
                   atof(delta + strlen("\"delta\":{\"count\":")));
}

static void s_read_windows(const char *target, sc_wtotals_t *t) {
    s_consume_all(target, s_read_wmsg, t);
}

/* Every message of the flush is larger than the topic takes. */
static int s_poison(const char *target) {
    s_topic_create(target, "max.message.bytes", "100");
    return 3;
}

static const sc_plugin_t s_plugin = {
    .type = "kafka",
    .server = s_server,
    .body = s_body,
    .where = s_where,
    .reset = s_reset,
    .read = s_read,
    .poison = s_poison,
    .read_windows = s_read_windows,
};

/* ------------------------------------------------------------------- tests */

/* Alert records and changelog rows of two aggregations, consumed back. */
typedef struct {
    const char *(*want)[2];
    int got[7], ngot;
} s_produced_t;

static void s_match(void *ud, const rd_kafka_message_t *m) {
    s_produced_t *p = ud;
    int match = -1;
    for (int i = 0; i < 7; i++)
        if (m->key_len == strlen(p->want[i][0]) &&
            (!m->key_len || !memcmp(m->key, p->want[i][0], m->key_len)) &&
            m->len == strlen(p->want[i][1]) && !memcmp(m->payload, p->want[i][1], m->len) &&
            !p->got[i])
            match = i;
    if (match < 0) { /* a duplicate from a retry too */
        fail_msg("unexpected message key=%.*s value=%.*s", (int)m->key_len, (const char *)m->key,
                 (int)m->len, (const char *)m->payload);
        return; /* not reached: fail_msg jumps out */
    }
    if (strlen(p->want[match][0]) == 0)
        assert_null(m->key); /* empty key → no key */
    p->got[match] = 1;
    p->ngot++;
}

static void test_kafka_produce(void **state) {
    (void)state;
    char topic[128], yaml[2048], err[1024] = "";
    snprintf(topic, sizeof topic, "%s", sc_run("eddy.it.sinks.{run}"));
    /* Two aggregations feed this sink, so it has no single one: each row
     * names its aggregation. */
    snprintf(yaml, sizeof yaml,
             "sources:\n"
             "  docs: { directory: { path: /nonexistent/eddy-sink-contract }, format: json }\n"
             "aggregations:\n"
             "  word_counts:\n"
             "    from: docs\n"
             "    key: [doc, word]\n"
             "    compute: { count: count, total: \"sum(x)\", lo: \"min(x)\", hi: \"max(x)\", "
             "mean: \"avg(x)\" }\n"
             "    to: [kafka_out]\n"
             "  doc_totals: { from: docs, key: [doc], compute: { docs: count }, to: [kafka_out] }\n"
             "sinks:\n"
             "  kafka_out: { kafka: { brokers: \"%s\", topic: %s } }\n",
             sc_env("EDDY_KAFKA"), topic);
    sc_sink_t s;
    assert_int_equal(sc_sink_open_yaml(&s, yaml, "kafka_out", err, sizeof err), 0);
    assert_null(s.sc.agg);

    static const char *alerts[3][2] = {
        {"the", "{\"alert\":\"hot_word\",\"key\":{\"word\":\"the\"},\"count\":1000}"},
        {"", "{\"alert\":\"no_key\"}"},
        {"日本", "{\"alert\":\"hot_word\",\"key\":{\"word\":\"日本\"},\"count\":1200}"},
    };
    ed_batch_t *recs = ed_batch_new(ED_BATCH_RECORDS, 1024);
    for (int i = 0; i < 3; i++)
        ed_batch_add_record(recs, alerts[i][0], (uint32_t)strlen(alerts[i][0]), alerts[i][1],
                            (uint32_t)strlen(alerts[i][1]), 0);
    sc_state_t st[K_N];
    sc_states(st);
    ed_batch_t *rows = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_emit(rows, &st[K_THE], (double[]){1, 2, 3}, 3);
    sc_emit(rows, &st[K_THE], (double[]){1.5}, 1);
    sc_emit(rows, &st[K_BADUTF8], (double[]){8}, 1);
    uint8_t dkey[16];
    size_t dlen = 0;
    ed_key_append(dkey, &dlen, "d9", 2);
    ed_change_t dh = {.agg = 1, .nvals = 1, .key_len = (uint32_t)dlen, .n = 12, .delta_n = 2};
    ed_batch_add_change(rows, &dh, (double[]){2}, (double[]){12}, dkey);
    ed_sink_flush_t f = {.checkpoint = 7,
                         .changes = &rows,
                         .nchanges = 1,
                         .records = &recs,
                         .nrecords = 1,
                         .rows = 7};
    ed_sink_stats_t stats = {0};
    ed_write_result_t r;
    int64_t deadline = ed_now_ms() + S_WAIT_MS;
    /* A new topic may take a moment to get a leader: the same checkpoint is
     * offered again, as the sink actor would, and nothing is produced twice. */
    while ((r = sc_sink_write(&s, &f, &stats, err, sizeof err)) == ED_WRITE_RETRY &&
           ed_now_ms() < deadline)
        ;
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(stats.rows_written, 7);
    assert_int_equal(stats.statements, 7);
    sc_sink_close(&s);
    ed_batch_destroy(&recs);
    ed_batch_destroy(&rows);

    static const char *want[7][2] = {
        {"the", NULL},
        {"", NULL},
        {"日本", NULL},
        {"d1:the", "{\"aggregation\":\"word_counts\",\"key\":{\"doc\":\"d1\",\"word\":\"the\"},"
                   "\"count\":3,\"total\":6,\"lo\":1,\"hi\":3,\"mean\":2,\"delta\":{\"count\":3,"
                   "\"total\":6,\"lo\":1,\"hi\":3,\"mean\":6},\"n\":3}"},
        {"d1:the", "{\"aggregation\":\"word_counts\",\"key\":{\"doc\":\"d1\",\"word\":\"the\"},"
                   "\"count\":4,\"total\":7.5,\"lo\":1,\"hi\":3,\"mean\":1.875,\"delta\":{"
                   "\"count\":1,\"total\":1.5,\"lo\":1,\"hi\":3,\"mean\":1.5},\"n\":4}"},
        {"d2:\xff\xfe",
         "{\"aggregation\":\"word_counts\",\"key\":{\"doc\":\"d2\",\"word\":"
         "\"\\u00ff\\u00fe\"},\"count\":1,\"total\":8,\"lo\":8,\"hi\":8,\"mean\":8,"
         "\"delta\":{\"count\":1,\"total\":8,\"lo\":8,\"hi\":8,\"mean\":8},\"n\":1}"},
        {"d9", "{\"aggregation\":\"doc_totals\",\"key\":{\"doc\":\"d9\"},\"docs\":12,\"delta\":{"
               "\"docs\":2},\"n\":12}"},
    };
    for (int i = 0; i < 3; i++)
        want[i][1] = alerts[i][1];

    /* Everything up to the high watermark, and nothing more (no duplicates
     * from the retries above). */
    s_produced_t p = {.want = want};
    s_consume_all(topic, s_match, &p);
    if (p.ngot != 7)
        fail_msg("consumed %d of 7 messages from topic %s", p.ngot, topic);
}

/* Beyond the contract's down test: bounded, and a retry of the same
 * checkpoint produces nothing new. */
static void test_kafka_down_retries(void **state) {
    (void)state;
    char err[1024] = "";
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "kafka_down",
                                  "kafka: { brokers: \"127.0.0.1:1\", topic: eddy.it.down }", err,
                                  sizeof err),
                     0);
    ed_batch_t *recs = ed_batch_new(ED_BATCH_RECORDS, 1024);
    ed_batch_add_record(recs, "k", 1, "v", 1, 0);
    ed_batch_add_record(recs, "k", 1, "w", 1, 0);
    ed_sink_flush_t f = {.checkpoint = 1, .records = &recs, .nrecords = 1, .rows = 2};
    ed_sink_stats_t st = {0};
    int64_t t0 = ed_now_ms();
    ed_write_result_t r = sc_sink_write(&s, &f, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_true(ed_now_ms() - t0 < 3000); /* bounded */
    ASSERT_HAS(err, "sink 'kafka_down' (kafka brokers=127.0.0.1:1 topic=eddy.it.down): ");
    ASSERT_HAS(err, "; retrying");
    assert_int_equal(st.statements, 2);
    /* The same checkpoint again: keep waiting, produce nothing new. */
    r = sc_sink_write(&s, &f, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_int_equal(st.statements, 2);
    assert_int_equal(st.rows_written, 0);
    sc_sink_close(&s);
    ed_batch_destroy(&recs);
}

/* Config mistakes the plugin finds in init(), without a broker. */
static void test_kafka_init_errors(void **state) {
    (void)state;
    char err[1024] = "";
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, "kafka_bad",
                                  "kafka: { brokers: \"127.0.0.1:1\", topic: t, properties: { "
                                  "no.such.property: \"1\" } }",
                                  err, sizeof err),
                     ED_EINVAL);
    ASSERT_HAS(err, "no.such.property");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        SC_CONTRACT_TESTS(&s_plugin),
        SC_WINDOWS_TEST(&s_plugin),
        cmocka_unit_test(test_kafka_init_errors),
        cmocka_unit_test(test_kafka_produce),
        cmocka_unit_test(test_kafka_down_retries),
    };
    return cmocka_run_group_tests_name("it_sink_kafka", tests, NULL, NULL);
}
