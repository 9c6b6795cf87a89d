/* test_kafka_stats.c — the per partition figures of the Kafka source:
 * librdkafka statistics documents parsed (ed_kafka_stats.h), and the
 * tables of a source's instances and keyers joined for the HTTP endpoint
 * (ed_http_source_parts, /metrics). No broker.
 *
 * The two documents in tests/unit/data were written by librdkafka 2.0.2
 * (Debian 12) for the two consumers of a group with `instances: 2` on a
 * 3-partition topic holding 100/200/300 messages, after
 * `scripts/kafka-topics group-reset` set the committed offsets of
 * partitions 0 and 1 to 10 and 150 (partition 2: none) and with a sink
 * down, so nothing was committed after. The expected figures below were
 * read from the documents with Python's json module, not with eddy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/harness.h"

#include "actors/http/ed_http_pipeline.h"
#include "actors/http/ed_metrics.h"
#include "actors/sources/ed_kafka_stats.h"
#include "actors/sources/ed_watermark.h"

static char *s_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repository root)", path);
    char *d = malloc(1 << 20);
    *len = fread(d, 1, (1 << 20) - 1, f);
    fclose(f);
    d[*len] = '\0';
    return d;
}

static void s_expect(const ed_part_fig_t *f, const char *topic, int32_t part, int64_t committed,
                     int64_t read, int64_t end, int64_t lag) {
    assert_string_equal(f->topic, topic);
    assert_int_equal(f->partition, part);
    assert_int_equal(f->committed, committed);
    assert_int_equal(f->read, read);
    assert_int_equal(f->end, end);
    assert_int_equal(f->lag, lag);
    assert_true(f->watermark_ms == ED_WATERMARK_NONE);
}

/* The partitions of a captured document (the count; *v owned). */
static int s_parse_file(const char *path, ed_part_fig_t **v) {
    size_t len;
    char *doc = s_slurp(path, &len);
    ed_json_t *json = ed_json_new();
    char err[256] = "";
    int n = ed_kafka_stats_parse(json, doc, len, 1, v, err, sizeof err);
    if (n < 0)
        fail_msg("%s: %s", path, err);
    ed_json_destroy(&json);
    free(doc);
    return n;
}

/* Consumer 1 was assigned partitions 0 and 1 ("desired": true); its
 * document also lists partition 2 (another member's) and -1, which are
 * left out. Consumer 2 has partition 2, with no committed offset:
 * committed and lag are not known (-1001 and -1 in the document). */
static void test_captured(void **state) {
    (void)state;
    ed_part_fig_t *v = NULL;
    assert_int_equal(s_parse_file("tests/unit/data/librdkafka-2.0.2-stats-1.json", &v), 2);
    s_expect(&v[0], "mx1", 0, 10, 100, 100, 90);
    s_expect(&v[1], "mx1", 1, 150, 200, 200, 50);
    free(v);
    assert_int_equal(s_parse_file("tests/unit/data/librdkafka-2.0.2-stats-2.json", &v), 1);
    s_expect(&v[0], "mx1", 2, -1, 300, 300, -1);
    free(v);
}

/* The end offset follows isolation.level: the last stable offset with
 * read_committed, the high watermark without; escaped topic names are
 * decoded; a document without topics has no partitions. */
static void test_end_offset_and_names(void **state) {
    (void)state;
    static const char doc[] =
        "{\"name\":\"c\",\"topics\":{\"a\\\"b\":{\"topic\":\"a\\\"b\",\"partitions\":{"
        "\"3\":{\"partition\":3,\"desired\":true,\"committed_offset\":5,\"app_offset\":7,"
        "\"hi_offset\":12,\"ls_offset\":9,\"consumer_lag\":4},"
        "\"-1\":{\"partition\":-1,\"desired\":true,\"committed_offset\":-1001}}}}}";
    ed_json_t *json = ed_json_new();
    ed_part_fig_t *v = NULL;
    char err[256] = "";
    assert_int_equal(ed_kafka_stats_parse(json, doc, sizeof doc - 1, 1, &v, err, sizeof err), 1);
    s_expect(&v[0], "a\"b", 3, 5, 7, 9, 4);
    free(v);
    assert_int_equal(ed_kafka_stats_parse(json, doc, sizeof doc - 1, 0, &v, err, sizeof err), 1);
    assert_int_equal(v[0].end, 12);
    free(v);
    static const char none[] = "{\"name\":\"c\",\"brokers\":{}}";
    assert_int_equal(ed_kafka_stats_parse(json, none, sizeof none - 1, 1, &v, err, sizeof err), 0);
    assert_null(v);
    ed_json_destroy(&json);
}

/* What cannot be read is an error that says what. */
static void test_errors(void **state) {
    (void)state;
    ed_json_t *json = ed_json_new();
    ed_part_fig_t *v = NULL;
    char err[256] = "";
    static const char bad[] = "{\"topics\": {\"t\": ";
    assert_int_equal(ed_kafka_stats_parse(json, bad, sizeof bad - 1, 1, &v, err, sizeof err),
                     ED_EINVAL);
    assert_non_null(strstr(err, "librdkafka statistics: incomplete JSON"));
    assert_null(v);
    static const char noparts[] = "{\"topics\": {\"t\": {\"topic\": \"t\"}}}";
    assert_int_equal(
        ed_kafka_stats_parse(json, noparts, sizeof noparts - 1, 1, &v, err, sizeof err),
        ED_EINVAL);
    assert_string_equal(err, "librdkafka statistics: topic 't' has no 'partitions' object");
    static const char arr[] = "{\"topics\": []}";
    assert_int_equal(ed_kafka_stats_parse(json, arr, sizeof arr - 1, 1, &v, err, sizeof err),
                     ED_EINVAL);
    assert_string_equal(err, "librdkafka statistics: 'topics' is not an object");
    ed_json_destroy(&json);
}

static ed_part_fig_t s_fig(const char *topic, int32_t part, int64_t committed, int64_t read,
                           int64_t end, int64_t lag, int64_t wm) {
    ed_part_fig_t f = {.partition = part, .committed = committed, .read = read, .end = end,
                       .lag = lag, .watermark_ms = wm};
    snprintf(f.topic, sizeof f.topic, "%s", topic);
    return f;
}

static void s_publish(ed_plan_t *plan, uint32_t actor, int which, const ed_part_fig_t *figs,
                      int n) {
    ed_part_fig_t *v = ed_malloc(sizeof *v * (size_t)n);
    memcpy(v, figs, sizeof *v * (size_t)n);
    ed_part_cell_publish(ed_plan_parts_cell(plan, actor, which), &v, n, 1796000000000 + actor);
    assert_null(v);
}

static const char s_yaml[] =
    "sources:\n"
    "  ev:\n"
    "    kafka: { brokers: \"127.0.0.1:1\", topic: t }\n"
    "    instances: 2\n"
    "    format: json\n"
    "    time: { field: ts, format: epoch_ms, max_out_of_orderness: 1s }\n"
    "aggregations:\n"
    "  n: { from: ev, key: [user], to: [out] }\n"
    "sinks:\n"
    "  out: { \"null\": {} }\n";

/* Two instances' tables are merged, sorted by topic and partition; a
 * partition both report (a rebalance in flight) appears once, the entry
 * read further; each partition's watermark is the lowest of the keyers
 * that saw it. /metrics has one sample per known figure. */
static void test_source_parts_joined(void **state) {
    (void)state;
    h_pipe_t p = h_pipe(s_yaml, 0);
    uint32_t a = ed_plan_source_id(p.plan, 0), b = ed_plan_source_id(p.plan, 1);
    ed_part_fig_t ka[] = {s_fig("t", 2, 40, 45, 50, 10, 0), s_fig("t", 0, 10, 100, 100, 90, 0)};
    ed_part_fig_t kb[] = {s_fig("t", 1, -1, 300, 300, -1, 0), s_fig("t", 2, 40, 41, 50, 10, 0)};
    s_publish(p.plan, a, ED_PARTS_OFFSETS, ka, 2);
    s_publish(p.plan, b, ED_PARTS_OFFSETS, kb, 2);
    /* keyers' tables: by (topic, partition); u/0 is another topic's
     * partition 0, not joined to t/0 */
    ed_part_fig_t wa[] = {s_fig("t", 0, -1, -1, -1, -1, 5000), s_fig("t", 2, -1, -1, -1, -1, 9000),
                          s_fig("u", 0, -1, -1, -1, -1, 1000)};
    ed_part_fig_t wb[] = {s_fig("t", 2, -1, -1, -1, -1, 7000)};
    s_publish(p.plan, a, ED_PARTS_WATERMARKS, wa, 3);
    s_publish(p.plan, b, ED_PARTS_WATERMARKS, wb, 1);

    ed_part_fig_t *v = NULL;
    int64_t at = 0;
    int n = ed_http_source_parts(p.plan, 0, &v, &at);
    assert_int_equal(n, 3);
    assert_int_equal(at, 1796000000000 + b);
    assert_int_equal(v[0].partition, 0);
    assert_int_equal(v[0].committed, 10);
    assert_true(v[0].watermark_ms == 5000);
    assert_int_equal(v[1].partition, 1);
    assert_int_equal(v[1].lag, -1);
    assert_true(v[1].watermark_ms == ED_WATERMARK_NONE);
    assert_int_equal(v[2].partition, 2);
    assert_int_equal(v[2].read, 45); /* instance a's, read further */
    assert_true(v[2].watermark_ms == 7000);
    free(v);

    ed_buf_t m = ED_BUF_INIT;
    ed_metrics_write(p.plan, &m);
    static const struct {
        const char *fam, *value; /* value NULL: no sample (not known) */
        int partition;
    } want[] = {
        {"lag_records", "90", 0},         {"committed_offset", "40", 2},
        {"read_offset", "45", 2},         {"end_offset", "300", 1},
        {"watermark_seconds", "7.000", 2}, {"lag_records", NULL, 1},
        {"watermark_seconds", NULL, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char line[256];
        snprintf(line, sizeof line,
                 "\neddy_source_partition_%s{source=\"ev\",topic=\"t\",partition=\"%d\"} %s",
                 want[i].fam, want[i].partition, want[i].value ? want[i].value : "");
        if (want[i].value)
            strcat(line, "\n");
        if ((strstr(m.data, line) != NULL) != (want[i].value != NULL))
            fail_msg("/metrics %s: %s", want[i].value ? "lacks" : "has", line + 1);
    }
    ed_buf_free(&m);

    /* an instance that closed publishes an empty table */
    ed_part_cell_publish(ed_plan_parts_cell(p.plan, a, ED_PARTS_OFFSETS), NULL, 0, 1);
    n = ed_http_source_parts(p.plan, 0, &v, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(v[1].read, 41);
    free(v);
    h_pipe_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captured),
        cmocka_unit_test(test_end_offset_and_names),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_source_parts_joined),
    };
    return cmocka_run_group_tests_name("kafka_stats", tests, NULL, NULL);
}
