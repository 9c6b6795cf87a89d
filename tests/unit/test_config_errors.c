/*
 * test_config_errors.c — configuration errors: every kind of mistake a user
 * can make in a pipeline file is refused with file:line:col and what was
 * expected (unknown keys, wrong types, missing required keys, bad durations,
 * unknown references, bad conditions and templates, YAML syntax, window
 * specs, identifiers). Split from test_config.c (file size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "actors/ed_registry.h"
#include "actors/aggregate/ed_aggfn.h"
#include "actors/decode/ed_where.h"
#include "config/ed_config.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"
#include "tests/unit/conf_fails.h"

/* A minimal valid source, for configs that test something else. */
#define S_SRC "sources:\n  docs: { kafka: { brokers: b, topic: t }, format: words }\n"


static void test_error_unknown_key(void **state) {
    (void)state;
    s_fails(S_SRC "aggregations:\n"
                  "  wc: { from: docs, key: [word], to: [pg_words] }\n"
                  "sinks:\n"
                  "  pg_words:\n"
                  "    postgres: { dsn: x }\n"
                  "    tabel: words\n",
            "t.yaml:8:5: ",
            "unknown key 'tabel' in sink 'pg_words'; expected one of: postgres, mariadb, redis, "
            "kafka, cassandra, null, sqlite, lake, table, mode, primary_key, columns, zset, "
            "member, score, score_mode, keep_top, ttl, partition_key, retention, raw, batch_rows, "
            "retry_max; did you mean 'table'?");
    s_fails("runtim: {}\n" S_SRC, "t.yaml:1:1: ", "unknown key 'runtim' in the top level");
    s_fails("sources:\n  d: { directory: { path: /tmp/x }, instances: 2, to: k }\nsinks:\n  k: { null: {} }\n",
            "t.yaml:2:48: ", "'instances' must be 1 for a directory source");
    s_fails("sources:\n  g: { generator: { events: 1 }, instances: 2, to: k }\nsinks:\n  k: { null: {} }\n",
            "t.yaml:2:45: ", "has 2 instances but only 1 events");
    s_fails("sources:\n  g: { generator: { events: 10 }, instances: 0, to: k }\nsinks:\n  k: { null: {} }\n",
            "t.yaml:2:46: ", "expected an integer from 1 to 64");
    s_fails("sources:\n  d: { directory: { path: /tmp/x }, decoders: 2, to: k }\nsinks:\n  k: { null: {} }\n",
            "t.yaml:2:47: ",
            "source 'd' has 'decoders: 2' but no aggregation, per-record alert or transform reads "
            "it");
    s_fails("sources:\n  d: { directory: { path: /tmp/x }, decoders: 65 }\n",
            "t.yaml:2:47: ", "expected an integer from 0 to 64");
    s_fails("sources:\n  g: { generator: { events: 10 }, decoders: 1 }\n"
            "aggregations:\n  a: { from: g, key: [{k: '@key'}], to: [k] }\nsinks:\n  k: { null: {} }\n",
            "t.yaml:2:45: ", "source 'g' is a generator source, whose events need no decoding");
    s_fails("sources:\n  d: { kafka: { brokers: b, topic: t, grup: g } }\n",
            "t.yaml:2:39: ", "unknown key 'grup' in kafka of source 'd'");
    s_fails(S_SRC "runtime: { workers: 2, workers: 3 }\n",
            "t.yaml:3:24: ", "duplicate key 'workers' in runtime");
}

static void test_error_wrong_type(void **state) {
    (void)state;
    s_fails("runtime:\n  workers: many\n" S_SRC, "t.yaml:2:12: ",
            "invalid value 'many' for 'workers' in runtime; expected an integer from 1 to 1024");
    s_fails("runtime:\n  aggregators: 2000\n" S_SRC,
            "t.yaml:2:16: ", "expected an integer from 1 to 1024");
    s_fails("sources:\n  d: { kafka: { brokers: [a, b], topic: t } }\n",
            "t.yaml:2:26: ", "'brokers' in kafka of source 'd' is a list; expected host:port");
    s_fails("sources:\n  d: { generator: { events: lots } }\n",
            "t.yaml:2:29: ", "invalid value 'lots' for 'events' in generator of source 'd'");
    s_fails("sources:\n  d: { generator: {}, format: csv }\n", "t.yaml:2:31: ",
            "invalid value 'csv' for 'format' in source 'd'; expected one of: lines, words, json");
    s_fails("sources:\n  d: { kafka: { brokers: b, topic: t }, time: { field: ts } }\n",
            "t.yaml:2:56: ",
            "field 'ts' in 'time' of source 'd' is not produced by source 'd' (format: lines)");
    s_fails("sources: [a, b]\n", "t.yaml:1:10: ", "'sources' is a list; expected a mapping");
}

static void test_error_missing_required(void **state) {
    (void)state;
    s_fails("sources:\n  d: { kafka: { topic: t } }\n",
            "t.yaml:2:15: ", "missing required key 'brokers' in kafka of source 'd'");
    s_fails("sources:\n  d: { format: json }\n", "t.yaml:2:3: ",
            "source 'd' has no type; expected exactly one of: kafka, directory, generator");
    s_fails("runtime: { workers: 2 }\n", "t.yaml:1:1: ", "no sources are defined");
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, to: [n] }\nsinks:\n  n: { null: {} }\n",
            "t.yaml:4:7: ", "missing required key 'key' in aggregation 'wc'");
    s_fails(S_SRC "sinks:\n  m: { mariadb: { host: h } }\n",
            "t.yaml:4:17: ", "missing required key 'database' in mariadb of sink 'm'");
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word }\n",
            "t.yaml:4:7: ", "aggregation 'wc' sends its results nowhere");
    /* An aggregation that only an alert watches needs no `to:`; an alert on
     * another aggregation does not excuse it. */
    ed_config_t *c = s_ok(S_SRC "aggregations:\n  wc: { from: docs, key: word }\n"
                                "alerts:\n  hot: { on: wc, when: \"count > 5\", to: n }\n"
                                "sinks:\n  n: { null: {} }\n");
    assert_int_equal(c->aggregations[0].nto, 0);
    ed_config_destroy(&c);
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word }\n"
                  "  w2: { from: docs, key: word, to: n }\n"
                  "alerts:\n  hot: { on: w2, when: \"count > 5\", to: n }\n"
                  "sinks:\n  n: { null: {} }\n",
            "t.yaml:4:7: ", "aggregation 'wc' sends its results nowhere");
}

static void test_error_bad_duration(void **state) {
    (void)state;
    s_fails("runtime:\n  flush_interval: 5 seconds\n" S_SRC, "t.yaml:2:19: ",
            "invalid duration '5 seconds' for 'flush_interval' in runtime; expected a duration "
            "such as 500ms");
    s_fails("runtime:\n  flush_interval: 5ms\n" S_SRC,
            "t.yaml:2:19: ", "'flush_interval' in runtime is 5ms; expected at least 10ms");
}

static void test_error_unknown_source(void **state) {
    (void)state;
    s_fails(S_SRC
            "aggregations:\n  wc: { from: doc, key: word, to: n }\nsinks:\n  n: { null: ~ }\n",
            "t.yaml:4:15: ",
            "unknown source 'doc' in 'from' of aggregation 'wc'; expected one of the sources: "
            "docs; did you mean 'docs'?");
}

static void test_error_unknown_sink(void **state) {
    (void)state;
    s_fails(S_SRC "aggregations:\n"
                  "  wc:\n"
                  "    from: docs\n"
                  "    key: word\n"
                  "    to: [pg, pgg]\n"
                  "sinks:\n"
                  "  pg: { postgres: { dsn: x } }\n",
            "t.yaml:7:14: ",
            "unknown sink 'pgg' in 'to' of aggregation 'wc'; expected one of the sinks: pg");
    s_fails("sources:\n  d: { generator: {}, rejects: nowhere }\n", "t.yaml:2:32: ",
            "unknown sink 'nowhere' in 'rejects' of source 'd'; no sinks are defined");
}

static void test_error_bad_when(void **state) {
    (void)state;
    const char *fmt = S_SRC "aggregations:\n  wc: { from: docs, key: word, to: n }\n"
                            "alerts:\n  hot:\n    on: wc\n    when: %s\n    to: n\n"
                            "sinks:\n  n: { null: true }\n";
    char text[1024];
    snprintf(text, sizeof text, fmt, "count => 5");
    s_fails(text, "t.yaml:8:11: ",
            "cannot parse 'when: count => 5' in alert 'hot'; expected METRIC OP NUMBER, e.g. "
            "count >= 1000");
    snprintf(text, sizeof text, fmt, "count >= lots");
    s_fails(text, "t.yaml:8:11: ", "cannot parse 'when: count >= lots'");
    snprintf(text, sizeof text, fmt, "cnt >= 5");
    s_fails(text, "t.yaml:8:11: ",
            "'cnt' in 'when' of alert 'hot' is not computed by aggregation 'wc'; expected one of "
            "its compute names: count");
    snprintf(text, sizeof text, fmt, "count < -2.5");
    ed_config_t *c = s_ok(text);
    assert_int_equal(c->alerts[0].op, ED_OP_LT);
    assert_true(c->alerts[0].threshold == -2.5);
    ed_config_destroy(&c);
}

static void test_error_redis_placeholder(void **state) {
    (void)state;
    s_fails(S_SRC "aggregations:\n"
                  "  wc: { from: docs, key: [{doc: \"@key\"}, word], to: r }\n"
                  "sinks:\n"
                  "  r:\n"
                  "    redis: { url: \"redis://127.0.0.1:6390\" }\n"
                  "    zset: \"top:{document}\"\n",
            "t.yaml:8:11: ",
            "placeholder '{document}' in 'zset' of sink 'r' is not a key column of aggregation "
            "'wc'; expected one of: doc, word");
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word, to: r }\n"
                  "sinks:\n  r: { redis: {}, zset: top, score: cnt }\n",
            "t.yaml:6:37: ", "score 'cnt' of sink 'r' is not computed by aggregation 'wc'");
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word, to: r }\n"
                  "sinks:\n  r: { redis: {} }\n",
            "t.yaml:6:3: ", "missing required key 'zset' in sink 'r'");
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word, to: r }\n"
                  "sinks:\n  r: { redis: {}, zset: \"top:{word\" }\n",
            "t.yaml:6:25: ", "'zset' in sink 'r' has a malformed placeholder");
}

static void test_error_sink_two_aggregations(void **state) {
    (void)state;
    s_fails(S_SRC "aggregations:\n"
                  "  a: { from: docs, key: word, to: pg }\n"
                  "  b: { from: docs, key: \"@key\", to: pg }\n"
                  "sinks:\n"
                  "  pg: { postgres: { dsn: x } }\n",
            "t.yaml:5:25: ", "key column '@key' in aggregation 'b' is not a valid SQL identifier");
    s_fails(S_SRC "aggregations:\n"
                  "  a: { from: docs, key: word, to: pg }\n"
                  "  b: { from: docs, key: {doc: \"@key\"}, to: pg }\n"
                  "sinks:\n"
                  "  pg: { postgres: { dsn: x } }\n",
            "t.yaml:5:25: ", "'key' in aggregation 'b' is a mapping");
    s_fails(
        S_SRC "aggregations:\n"
              "  a: { from: docs, key: word, to: pg }\n"
              "  b: { from: docs, key: [{doc: \"@key\"}], to: pg }\n"
              "sinks:\n"
              "  pg: { postgres: { dsn: x } }\n",
        "t.yaml:7:3: ",
        "postgres sink 'pg' is fed by aggregations 'a' and 'b'; define one sink per aggregation");
}

static void test_error_sink_feeds(void **state) {
    (void)state;
    s_fails(S_SRC "aggregations:\n  a: { from: docs, key: word, to: n }\n"
                  "sinks:\n  n: { null: {} }\n  spare: { kafka: { brokers: b, topic: t } }\n",
            "t.yaml:7:3: ", "sink 'spare' is not used by any aggregation, alert or source");
    s_fails(S_SRC "aggregations:\n  a: { from: docs, key: word, to: pg }\n"
                  "alerts:\n  hot: { on: a, when: count > 1, to: pg }\n"
                  "sinks:\n  pg: { postgres: { dsn: x } }\n",
            "t.yaml:8:3: ",
            "postgres sink 'pg' is sent records, and writes them as rows only with `columns:`");
    s_fails(
        "sources:\n  d: { generator: {}, rejects: m }\n"
        "sinks:\n  m: { mariadb: { database: x } }\n",
        "t.yaml:4:3: ", "mariadb sink 'm' is sent records, and writes them as rows only with");
    s_fails(
        "sources:\n  d: { generator: {}, to: r }\n"
        "sinks:\n  r: { redis: {}, zset: z }\n",
        "t.yaml:4:3: ", "redis sink 'r' takes changelog rows only, but source 'd' sends records");
    s_fails(S_SRC "sinks:\n  pg: { postgres: { dsn: x }, zset: z }\n", "t.yaml:4:31: ",
            "key 'zset' in sink 'pg' does not apply to a postgres sink; expected it in redis sinks "
            "only");
    s_fails(S_SRC "sinks:\n  pg: { postgres: { dsn: x }, null: {} }\n",
            "t.yaml:4:31: ", "sink 'pg' has both 'postgres' and 'null'; expected exactly one of");
}

static void test_error_yaml_syntax(void **state) {
    (void)state;
    s_fails("sources:\n  d: { generator: {}\n",
            "t.yaml:3:1: ", "YAML syntax error: did not find expected ',' or '}'");
    s_fails("sources:\n  d:\n    generator: {}\n   format: json\n",
            "t.yaml:4:4: ", "YAML syntax error:");
    s_fails("sources:\n  d: { generator: {} }\n---\nsources: {}\n",
            "t.yaml:4:1: ", "a second YAML document starts here");
    s_fails("", "t.yaml:1:1: ", "the file is empty");
    s_fails("sources:\n  d: \xff\n", "t.yaml:2:6: ", "invalid leading UTF-8 octet (byte 0xff");
    s_fails("- a\n- b\n", "t.yaml:1:1: ", "the file is a list; expected a mapping");
}

static void test_error_window(void **state) {
    (void)state;
    const char *fmt = S_SRC "aggregations:\n  wc:\n    from: docs\n    key: word\n"
                            "    window: %s\n    to: n\nsinks:\n  n: { null: {} }\n";
    char text[1024];
    snprintf(text, sizeof text, fmt, "{ tumbling: 1m }");
    ed_config_t *w = s_ok(text);
    assert_int_equal(w->aggregations[0].window.kind, ED_WIN_TUMBLING);
    assert_int_equal(w->aggregations[0].window.size_ms, 60000);
    assert_int_equal(w->aggregations[0].window.slide_ms, 60000);
    assert_int_equal(w->aggregations[0].window.emit, ED_EMIT_ON_UPDATE);
    assert_int_equal(w->aggregations[0].window.late, ED_WLATE_DROP);
    ed_config_destroy(&w);
    snprintf(text, sizeof text, fmt,
             "{ hopping: 1m, slide: 10s, allowed_lateness: 5s, late: update, emit: on_update }");
    w = s_ok(text);
    assert_int_equal(w->aggregations[0].window.kind, ED_WIN_HOPPING);
    assert_int_equal(w->aggregations[0].window.slide_ms, 10000);
    assert_int_equal(w->aggregations[0].window.allowed_lateness_ms, 5000);
    assert_int_equal(w->aggregations[0].window.late, ED_WLATE_UPDATE);
    ed_config_destroy(&w);
    snprintf(text, sizeof text, fmt, "{ hopping: 1m, slide: 7s }");
    s_fails(text, "t.yaml:7:35: ",
            "'slide' in window of aggregation 'wc' does not divide the hopping size (60000 ms by "
            "7000 ms)");
    snprintf(text, sizeof text, fmt, "{ tumbling: 0s }");
    s_fails(text, "t.yaml:7:25: ", "'tumbling'");
    snprintf(text, sizeof text, fmt, "{ hopping: 1m, slide: 0 }");
    s_fails(text, "t.yaml:7:35: ", "'slide' in window of aggregation 'wc' is 0");
    snprintf(text, sizeof text, fmt, "{ hopping: 1h, slide: 1ms }");
    s_fails(text, "t.yaml:7:35: ", "puts each record in 3600000 windows; expected at most 10000");
    snprintf(text, sizeof text, fmt, "{ tumbling: 1m, emit: on_close }");
    w = s_ok(text);
    assert_int_equal(w->aggregations[0].window.emit, ED_EMIT_ON_CLOSE);
    ed_config_destroy(&w);
    snprintf(text, sizeof text, fmt, "{ tumbling: 1m, emit: sometimes }");
    s_fails(text, "t.yaml:7:35: ", "invalid 'emit' 'sometimes'");
    snprintf(text, sizeof text, fmt, "{ tumbling: 1m, late: n }");
    s_fails(text, "t.yaml:7:35: ",
            "'late: n' in aggregation 'wc': routing too-late records to a sink is not implemented "
            "for a words source");
    snprintf(text, sizeof text, fmt, "{ hopping: 1m }");
    s_fails(text, "t.yaml:7:13: ", "missing required key 'slide' in window of aggregation 'wc'");
    snprintf(text, sizeof text, fmt, "{ tumbling: 1m, slide: 10s }");
    s_fails(text, "t.yaml:7:29: ",
            "'slide' in window of aggregation 'wc' applies to hopping windows only");
    snprintf(text, sizeof text, fmt, "{ tumbling: soon }");
    s_fails(text, "t.yaml:7:25: ", "invalid duration 'soon' for 'tumbling'");
    snprintf(text, sizeof text, fmt, "none");
    ed_config_t *c = s_ok(text);
    assert_int_equal(c->aggregations[0].window.kind, ED_WIN_NONE);
    ed_config_destroy(&c);
}

/* `late: SINK`: the sink exists, takes records, and the source has one
 * record per input. */
static void test_error_late_sink(void **state) {
    (void)state;
    const char *fmt = "sources:\n  o: { kafka: { brokers: b, topic: t }, format: json, time: "
                      "{ field: ts } }\naggregations:\n  a:\n    from: o\n    key: k\n"
                      "    window: { tumbling: 1m, late: %s }\n    to: n\nsinks:\n"
                      "  n: { null: {} }\n  dlq: %s\n";
    char text[1024];
    snprintf(text, sizeof text, fmt, "dlq", "{ kafka: { brokers: b, topic: d } }");
    ed_config_t *c = s_ok(text);
    assert_int_equal(c->aggregations[0].window.late, ED_WLATE_SINK);
    assert_string_equal(c->aggregations[0].window.late_sink, "dlq");
    assert_int_equal(c->aggregations[0].window.late_idx, 1);
    assert_int_equal(c->sinks[1].nfeeds, 1);
    ed_config_destroy(&c);
    snprintf(text, sizeof text, fmt, "dql", "{ kafka: { brokers: b, topic: d } }");
    s_fails(text, "t.yaml:7:35: ",
            "unknown sink 'dql' in 'late' of window of aggregation 'a'; expected one of the "
            "sinks: n, dlq; did you mean 'dlq'?");
    snprintf(text, sizeof text, fmt, "dlq", "{ redis: {}, zset: z }");
    s_fails(text, "t.yaml:7:35: ",
            "'late: dlq' in window of aggregation 'a': redis sink 'dlq' takes changelog rows "
            "only, but too-late records go to it unchanged; expected a sink that takes records");
    /* A SQL sink takes records as rows with `columns:` only. */
    snprintf(text, sizeof text, fmt, "dlq", "{ postgres: { dsn: x } }");
    s_fails(text, "t.yaml:11:3: ",
            "postgres sink 'dlq' is sent records, and writes them as rows only with `columns:`");
}

/* More than ED_CONF_MAX_COMPUTE values per record is refused. */
static void test_error_too_many_computes(void **state) {
    (void)state;
    char compute[4096] = "{ c0: count";
    for (int i = 1; i <= ED_CONF_MAX_COMPUTE; i++)
        snprintf(compute + strlen(compute), sizeof compute - strlen(compute), ", c%d: count", i);
    strcat(compute, " }");
    char text[8192];
    snprintf(text, sizeof text, S_SRC "aggregations:\n  wc:\n    from: docs\n    key: word\n"
                                      "    compute: %s\n    to: n\nsinks:\n  n: { null: {} }\n",
             compute);
    s_fails(text, "t.yaml:7:14: ",
            "'compute' in aggregation 'wc' has 65 entries; expected at most 64");
}

static void test_error_invalid_identifier(void **state) {
    (void)state;
    const char *fmt = S_SRC "aggregations:\n  wc:\n    from: docs\n    key: %s\n"
                            "    compute: %s\n    to: n\nsinks:\n  n: { null: {} }\n";
    char text[1024];
    snprintf(text, sizeof text, fmt, "[word]", "{ 2total: count }");
    s_fails(text, "t.yaml:7:16: ",
            "compute name '2total' in aggregation 'wc' is not a valid SQL identifier");
    snprintf(text, sizeof text, fmt, "[word, {Word: \"@key\"}]", "{ n: count }");
    s_fails(text, "t.yaml:6:18: ", "column 'Word' is defined twice in aggregation 'wc'");
    snprintf(text, sizeof text, fmt, "[word]", "{ word: count }");
    s_fails(text, "t.yaml:7:16: ", "column 'word' is defined twice");
    snprintf(text, sizeof text, fmt, "[word]", "{ total: summ(x) }");
    s_fails(text, "t.yaml:7:23: ",
            "invalid aggregate 'summ(x)' for 'total' in compute of aggregation 'wc'; expected "
            "count, sum(FIELD)");
    /* first/last come from the function table: they take a field. */
    snprintf(text, sizeof text, fmt, "[word]", "{ f: last }");
    s_fails(text, "t.yaml:7:19: ", "invalid aggregate 'last' for 'f'");
    snprintf(text, sizeof text, fmt, "[word]", "{ f: frist(word) }");
    s_fails(text, "t.yaml:7:19: ", "last(FIELD) or approx_distinct(FIELD); did you mean 'first'?");
    snprintf(text, sizeof text, fmt, "[word]", "{ f: first(word), l: LAST( word ) }");
    ed_config_t *c = s_ok(text);
    assert_int_equal(c->aggregations[0].ncompute, 2);
    assert_string_equal(c->aggregations[0].compute[0].fn->name, "first");
    assert_string_equal(c->aggregations[0].compute[1].fn->name, "last");
    assert_string_equal(c->aggregations[0].compute[1].field, "word");
    ed_config_destroy(&c);
    snprintf(text, sizeof text, fmt, "[customer.id]", "{ n: count }");
    s_fails(text, "t.yaml:6:11: ",
            "field 'customer.id' in key column 'customer_id' of aggregation 'wc' is not produced "
            "by source 'docs' (format: words); expected 'word'");
    s_fails("sources:\n  \"bad name\": { generator: {} }\n",
            "t.yaml:2:3: ", "invalid source name 'bad name'");
    s_fails(S_SRC "aggregations:\n  word-counts: { from: docs, key: word, to: pg }\n"
                  "sinks:\n  pg: { postgres: { dsn: x } }\n",
            "t.yaml:6:3: ", "would use the aggregation name 'word-counts' as its table");
}

/* The sqlite sink: retention needs a windowed aggregation; a table of its
 * own database only. */
static void test_error_sqlite(void **state) {
    (void)state;
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word, to: s }\n"
                  "sinks:\n  s: { sqlite: { path: x.db }, retention: 1h }\n",
            "t.yaml:6:43: ", "'retention' in sink 's' deletes old windows, but aggregation 'wc' "
                             "has no window");
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word, to: s }\n"
                  "sinks:\n  s: { sqlite: { path: x.db }, table: main.t }\n",
            "t.yaml:6:", "table 'main.t' in sink 's' names a schema");
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word, to: s }\n"
                  "sinks:\n  s: { sqlite: { path: \"\" } }\n",
            "t.yaml:6:24: ", "'path' in sqlite of sink 's' is empty");
    ed_config_t *c = s_ok(S_SRC "aggregations:\n  wc: { from: docs, key: word, window: { "
                                "tumbling: 20s }, to: s }\n"
                                "sinks:\n  s: { sqlite: { path: \":memory:\" }, retention: 10m }\n");
    ed_config_destroy(&c);
}

/* TLS options of the SQL sinks (sinks/ed_pg_conn.h, sinks/ed_mariadb_conn.h):
 * combinations that would not do what they seem to are refused at the
 * option; the DSN's own ssl* keywords count as given. */
#define S_TLS_AGG S_SRC "aggregations:\n  wc: { from: docs, key: word, to: k }\nsinks:\n  k:\n"
static void test_error_tls(void **state) {
    (void)state;
    s_fails(S_TLS_AGG "    postgres: { dsn: x, sslmode: verify-full, sslrootcert: ca, sslkey: k }\n",
            "t.yaml:7:", "sslkey is given without sslcert");
    s_fails(S_TLS_AGG "    postgres: { dsn: x, sslmode: disable, sslcert: c, sslkey: k }\n",
            "t.yaml:7:", "sslcert is given with sslmode disable, which never uses TLS");
    s_fails(S_TLS_AGG "    postgres: { dsn: x, sslmode: allow, sslrootcert: ca }\n",
            "t.yaml:7:54: ", "sslrootcert is given with sslmode allow, which never checks");
    s_fails(S_TLS_AGG "    postgres: { dsn: \"host=h sslmode=verify-ca\" }\n", "t.yaml:7:22: ",
            "invalid TLS settings in postgres of sink 'k': sslmode verify-ca checks the server's "
            "certificate, but sslrootcert is not given");
    s_fails(S_TLS_AGG "    postgres: { dsn: \"host=h sslrootcert=ca\", sslrootcert: ca2, "
                      "sslmode: require }\n",
            "t.yaml:7:", "sslrootcert is given both here and in the dsn");
    s_fails(S_TLS_AGG "    mariadb: { database: d, ssl: false, ssl_cert: c, ssl_key: k }\n",
            "t.yaml:7:", "ssl: false in mariadb of sink 'k' beside ssl_cert");
    s_fails(S_TLS_AGG "    mariadb: { database: d, ssl_cert: c }\n", "t.yaml:7:",
            "ssl_cert is given without ssl_key");
    s_fails(S_TLS_AGG "    mariadb: { database: d, ssl: false, ssl_verify_server_cert: false }\n",
            "t.yaml:7:", "ssl_verify_server_cert in mariadb of sink 'k' applies to TLS");
    s_fails(S_TLS_AGG "    mariadb: { database: d, ssl: yes }\n", "t.yaml:7:", "expected one of: true, false");
    static const char *const ok[] = {
        "    postgres: { dsn: \"host=h sslmode=verify-full\", sslrootcert: ca }\n",
        "    postgres: { dsn: x, sslmode: require, sslrootcert: ca }\n",
        "    postgres: { dsn: x, sslmode: require, sslcert: c, sslkey: k }\n",
        "    postgres: { dsn: x, sslmode: disable }\n",
        "    mariadb: { url: \"mysql://u:p@h/d\", ssl_ca: ca, ssl_cert: c, ssl_key: k }\n",
        "    mariadb: { database: d, ssl: true, ssl_verify_server_cert: false }\n",
    };
    for (size_t i = 0; i < ED_ARRAY_SIZE(ok); i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", S_TLS_AGG, ok[i]);
        ed_config_t *c = s_ok(text);
        ed_config_destroy(&c);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_wrong_type),
        cmocka_unit_test(test_error_missing_required),
        cmocka_unit_test(test_error_bad_duration),
        cmocka_unit_test(test_error_unknown_source),
        cmocka_unit_test(test_error_unknown_sink),
        cmocka_unit_test(test_error_bad_when),
        cmocka_unit_test(test_error_redis_placeholder),
        cmocka_unit_test(test_error_sink_two_aggregations),
        cmocka_unit_test(test_error_sink_feeds),
        cmocka_unit_test(test_error_yaml_syntax),
        cmocka_unit_test(test_error_window),
        cmocka_unit_test(test_error_late_sink),
        cmocka_unit_test(test_error_too_many_computes),
        cmocka_unit_test(test_error_invalid_identifier),
        cmocka_unit_test(test_error_sqlite),
        cmocka_unit_test(test_error_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
