/*
 * test_config.c — config/ed_config.c: a full valid pipeline, defaults,
 * resolved indexes, ${VAR} interpolation, and one test per kind of error,
 * each checking the exact FILE:LINE:COL prefix and a key phrase.
 */
#define _GNU_SOURCE
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

/* The value of option `name` of a source or sink, as `eddy check` shows it. */
static char s_optbuf[8][512];
static int s_optn;
#define OPT(e, name)                                                                               \
    (ed_conf_map_get((e)->type->map, (e)->opts, (name), s_optbuf[s_optn++ % 8], 512))

static const char *s_full =
    "runtime:\n"                                                                 /* 1 */
    "  workers: 3\n"                                                             /* 2 */
    "  flush_interval: 250ms\n"                                                  /* 3 */
    "  mailbox_hwm: 64\n"                                                        /* 4 */
    "sources:\n"                                                                 /* 5 */
    "  docs:\n"                                                                  /* 6 */
    "    kafka: { brokers: \"${ED_TEST_KAFKA:-127.0.0.1:9092}\", topic: docs,\n" /* 7 */
    "             properties: { fetch.min.bytes: 1 } }\n"                        /* 8 */
    "    format: words\n"                                                        /* 9 */
    "    rejects: dead\n"                                                        /* 10 */
    "  orders:\n"                                                                /* 11 */
    "    directory: { path: /tmp/orders/ }\n"                                    /* 12 */
    "    format: json\n"                                                         /* 13 */
    "    time: { field: ts, format: epoch_ms }\n"                                /* 14 */
    "    to: raw\n"                                                              /* 15 */
    "    batch_size: 512\n"                                                      /* 16 */
    "    linger: 2s\n"                                                           /* 17 */
    "  gen:\n"                                                                   /* 18 */
    "    generator: { events: 2M, keys: 10k, rate: 1.5k, seed: 7 }\n"            /* 19 */
    "aggregations:\n"                                                            /* 20 */
    "  word_counts:\n"                                                           /* 21 */
    "    from: docs\n"                                                           /* 22 */
    "    key: [{doc: \"@key\"}, word]\n"                                         /* 23 */
    "    compute: { count: count() }\n"                                          /* 24 */
    "    to: [pg_words, redis_top]\n"                                            /* 25 */
    "  order_totals:\n"                                                          /* 26 */
    "    from: orders\n"                                                         /* 27 */
    "    key: customer.id\n"                                                     /* 28 */
    "    compute: { n: count, total: \"sum(amount)\", low: min(amount),\n"       /* 29 */
    "               high: max( amount ), avg_amount: avg(amount) }\n"            /* 30 */
    "    window: none\n"                                                         /* 31 */
    "    to: [maria_orders, raw]\n"                                              /* 32 */
    "  gen_counts:\n"                                                            /* 33 */
    "    from: gen\n"                                                            /* 34 */
    "    key: [{k: \"@key\"}]\n"                                                 /* 35 */
    "    to: [dead]\n"                                                           /* 36 */
    "alerts:\n"                                                                  /* 37 */
    "  hot_word:\n"                                                              /* 38 */
    "    on: word_counts\n"                                                      /* 39 */
    "    when: count >= 1000\n"                                                  /* 40 */
    "    to: alerts_out\n"                                                       /* 41 */
    "  big_spender:\n"                                                           /* 42 */
    "    on: order_totals\n"                                                     /* 43 */
    "    when: \"total>1e6\"\n"                                                  /* 44 */
    "    to: [alerts_out, dead]\n"                                               /* 45 */
    "sinks:\n"                                                                   /* 46 */
    "  pg_words: { postgres: { dsn: \"dbname=eddy\" }, table: word_counts_t }\n" /* 47 */
    "  redis_top: { redis: {}, zset: \"top:{doc}\", keep_top: 100 }\n"           /* 48 */
    "  maria_orders:\n"                                                          /* 49 */
    "    mariadb: { url: \"mysql://app:s%40cret@db.local:3307/shop\" }\n"        /* 50 */
    "    batch_rows: 200\n"                                                      /* 51 */
    "    retry_max: 1m\n"                                                        /* 52 */
    "  alerts_out: { kafka: { brokers: k:9092, topic: streaming.alerts } }\n"    /* 53 */
    "  raw: { kafka: { brokers: k:9092, topic: raw } }\n"                        /* 54 */
    "  dead: { null: {} }\n";                                                    /* 55 */

static void test_full_config(void **state) {
    (void)state;
    unsetenv("ED_TEST_KAFKA");
    ed_config_t *c = NULL;
    char err[512] = "";
    int rc = ed_config_load_string(s_full, "full.yaml", ed_registry(), &c, err, sizeof err);
    if (rc)
        fail_msg("load failed: %s", err);
    assert_non_null(c);
    assert_string_equal(c->path, "full.yaml");

    /* runtime */
    assert_int_equal(c->runtime.workers, 3);
    assert_int_equal(c->runtime.aggregators, 8);
    assert_int_equal(c->runtime.flush_interval_ms, 250);
    assert_int_equal(c->runtime.mailbox_hwm, 64);
    assert_int_equal(c->runtime.max_inflight, 4);

    /* sources */
    assert_int_equal(c->nsources, 3);
    const ed_conf_source_t *docs = &c->sources[0];
    assert_string_equal(docs->name, "docs");
    assert_int_equal(docs->pos.line, 6);
    assert_int_equal(docs->pos.col, 3);
    assert_string_equal(docs->pos.file, "full.yaml");
    assert_string_equal(docs->type->name, "kafka");
    assert_string_equal(OPT(docs, "brokers"), "127.0.0.1:9092");
    assert_string_equal(OPT(docs, "topics"), "docs");
    assert_string_equal(OPT(docs, "group"), "eddy-docs");
    assert_string_equal(OPT(docs, "start"), "earliest");
    assert_string_equal(OPT(docs, "properties"), "{fetch.min.bytes=1}");
    assert_int_equal(docs->format, ED_FMT_WORDS);
    assert_null(docs->time_field);
    assert_int_equal(docs->time_format, ED_TIME_NONE);
    assert_int_equal(docs->nto, 0);
    assert_string_equal(docs->rejects, "dead");
    assert_int_equal(docs->batch_size, 1024);
    assert_int_equal(docs->linger_ms, 5);

    const ed_conf_source_t *orders = &c->sources[1];
    assert_string_equal(orders->type->name, "directory");
    assert_string_equal(OPT(orders, "path"), "/tmp/orders/");
    assert_string_equal(OPT(orders, "pattern"), "*");
    assert_string_equal(OPT(orders, "state_file"), "/tmp/orders/.eddy-orders.state");
    assert_int_equal(orders->format, ED_FMT_JSON);
    assert_string_equal(orders->time_field, "ts");
    assert_int_equal(orders->time_format, ED_TIME_EPOCH_MS);
    assert_int_equal(orders->nto, 1);
    assert_string_equal(orders->to[0], "raw");
    assert_null(orders->rejects);
    assert_int_equal(orders->batch_size, 512);
    assert_int_equal(orders->linger_ms, 2000);

    const ed_conf_source_t *gen = &c->sources[2];
    assert_string_equal(gen->type->name, "generator");
    assert_string_equal(OPT(gen, "events"), "2000000");
    assert_string_equal(OPT(gen, "keys"), "10000");
    assert_string_equal(OPT(gen, "rate"), "1500");
    assert_string_equal(OPT(gen, "seed"), "7");
    assert_int_equal(gen->format, ED_FMT_LINES);

    /* aggregations */
    assert_int_equal(c->naggregations, 3);
    const ed_conf_aggregation_t *wc = &c->aggregations[0];
    assert_string_equal(wc->name, "word_counts");
    assert_string_equal(wc->from, "docs");
    assert_int_equal(wc->from_idx, 0);
    assert_int_equal(wc->nkey, 2);
    assert_string_equal(wc->key[0].column, "doc");
    assert_string_equal(wc->key[0].field, "@key");
    assert_string_equal(wc->key[1].column, "word");
    assert_string_equal(wc->key[1].field, "word");
    assert_int_equal(wc->ncompute, 1);
    assert_string_equal(wc->compute[0].name, "count");
    assert_string_equal(wc->compute[0].fn->name, "count");
    assert_null(wc->compute[0].field);
    assert_int_equal(wc->window.kind, ED_WIN_NONE);
    assert_int_equal(wc->nto, 2);
    assert_int_equal(wc->to_idx[0], 0);
    assert_int_equal(wc->to_idx[1], 1);

    const ed_conf_aggregation_t *ot = &c->aggregations[1];
    assert_int_equal(ot->from_idx, 1);
    assert_int_equal(ot->nkey, 1);
    assert_string_equal(ot->key[0].column, "customer_id");
    assert_string_equal(ot->key[0].field, "customer.id");
    assert_int_equal(ot->ncompute, 5);
    assert_string_equal(ot->compute[1].name, "total");
    assert_string_equal(ot->compute[1].fn->name, "sum");
    assert_string_equal(ot->compute[1].field, "amount");
    assert_string_equal(ot->compute[2].fn->name, "min");
    assert_string_equal(ot->compute[3].fn->name, "max");
    assert_string_equal(ot->compute[3].field, "amount");
    assert_string_equal(ot->compute[4].fn->name, "avg");
    assert_string_equal(ot->compute[4].name, "avg_amount");
    assert_int_equal(ot->window.kind, ED_WIN_NONE);
    assert_int_equal(ot->to_idx[0], 2);
    assert_int_equal(ot->to_idx[1], 4);

    const ed_conf_aggregation_t *gc = &c->aggregations[2];
    assert_int_equal(gc->ncompute, 1); /* default {count: count} */
    assert_string_equal(gc->compute[0].name, "count");
    assert_string_equal(gc->compute[0].fn->name, "count");
    assert_string_equal(gc->key[0].column, "k");
    assert_string_equal(gc->key[0].field, "@key");

    /* alerts */
    assert_int_equal(c->nalerts, 2);
    const ed_conf_alert_t *hot = &c->alerts[0];
    assert_string_equal(hot->on, "word_counts");
    assert_int_equal(hot->on_idx, 0);
    assert_string_equal(hot->when, "count >= 1000");
    assert_string_equal(hot->metric, "count");
    assert_int_equal(hot->metric_idx, 0);
    assert_int_equal(hot->op, ED_OP_GE);
    assert_true(hot->threshold == 1000.0);
    assert_int_equal(hot->nto, 1);
    assert_int_equal(hot->to_idx[0], 3);
    const ed_conf_alert_t *big = &c->alerts[1];
    assert_int_equal(big->on_idx, 1);
    assert_int_equal(big->metric_idx, 1);
    assert_int_equal(big->op, ED_OP_GT);
    assert_true(big->threshold == 1e6);
    assert_int_equal(big->to_idx[1], 5);

    /* sinks */
    assert_int_equal(c->nsinks, 6);
    const ed_conf_sink_t *pg = &c->sinks[0];
    assert_string_equal(pg->name, "pg_words");
    assert_int_equal(pg->pos.line, 47);
    assert_int_equal(pg->pos.col, 3);
    assert_string_equal(pg->type->name, "postgres");
    assert_string_equal(OPT(pg, "dsn"), "dbname=eddy");
    assert_string_equal(OPT(pg, "table"), "word_counts_t");
    assert_int_equal(pg->from_agg, 0);
    assert_int_equal(pg->nfeeds, 1);
    assert_int_equal(pg->batch_rows, 1000);
    assert_int_equal(pg->retry_max_ms, 1000);

    const ed_conf_sink_t *rd = &c->sinks[1];
    assert_string_equal(rd->type->name, "redis");
    assert_string_equal(OPT(rd, "url"), "redis://127.0.0.1:6379");
    assert_string_equal(OPT(rd, "zset"), "top:{doc}");
    assert_string_equal(OPT(rd, "member"), "{word}"); /* key columns not in zset */
    assert_string_equal(OPT(rd, "score"), "count");   /* first compute */
    assert_string_equal(OPT(rd, "keep_top"), "100");
    assert_int_equal(rd->from_agg, 0);
    assert_null(OPT(rd, "table"));

    const ed_conf_sink_t *my = &c->sinks[2];
    assert_string_equal(my->type->name, "mariadb");
    assert_string_equal(OPT(my, "host"), "db.local");
    assert_string_equal(OPT(my, "port"), "3307");
    assert_string_equal(OPT(my, "user"), "app");
    assert_string_equal(OPT(my, "password"), "s@cret");
    assert_string_equal(OPT(my, "database"), "shop");
    assert_string_equal(OPT(my, "table"), "order_totals"); /* default: aggregation name */
    assert_int_equal(my->from_agg, 1);
    assert_int_equal(my->batch_rows, 200);
    assert_int_equal(my->retry_max_ms, 60000);

    const ed_conf_sink_t *ka = &c->sinks[3];
    assert_string_equal(ka->type->name, "kafka");
    assert_string_equal(OPT(ka, "brokers"), "k:9092");
    assert_string_equal(OPT(ka, "topic"), "streaming.alerts");
    assert_int_equal(ka->from_agg, -1);
    assert_int_equal(ka->nfeeds, 2); /* two alerts */

    const ed_conf_sink_t *raw = &c->sinks[4];
    assert_int_equal(raw->from_agg, 1);
    assert_int_equal(raw->nfeeds, 2); /* order_totals + source orders */

    const ed_conf_sink_t *dead = &c->sinks[5];
    assert_string_equal(dead->type->name, "null");
    assert_int_equal(dead->from_agg, 2);
    assert_int_equal(dead->nfeeds, 3); /* gen_counts, big_spender, docs rejects */

    /* lookups */
    assert_int_equal(ed_config_source_idx(c, "gen"), 2);
    assert_int_equal(ed_config_source_idx(c, "nope"), -1);
    assert_int_equal(ed_config_sink_idx(c, "raw"), 4);
    assert_int_equal(ed_config_sink_idx(c, "nope"), -1);
    assert_int_equal(ed_config_aggregation_idx(c, "order_totals"), 1);
    assert_int_equal(ed_config_aggregation_idx(c, "nope"), -1);

    ed_config_destroy(&c);
    assert_null(c);
    ed_config_destroy(&c); /* NULL-safe */
    ed_config_destroy(NULL);
}

/* The smallest config: one generator, nothing else; runtime defaults. */
static void test_minimal_defaults(void **state) {
    (void)state;
    ed_config_t *c = NULL;
    char err[512] = "";
    int rc =
        ed_config_load_string("sources:\n  g: { generator: }\n", "min.yaml", ed_registry(), &c, err, sizeof err);
    if (rc)
        fail_msg("load failed: %s", err);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(c->runtime.workers, cpus < 1 ? 1 : cpus > 1024 ? 1024 : cpus);
    assert_int_equal(c->runtime.aggregators, 8);
    assert_int_equal(c->runtime.flush_interval_ms, 500);
    assert_string_equal(OPT(&c->sources[0], "events"), "0");
    assert_string_equal(OPT(&c->sources[0], "keys"), "1000");
    assert_string_equal(OPT(&c->sources[0], "rate"), "0");
    assert_string_equal(OPT(&c->sources[0], "seed"), "1");
    assert_int_equal(c->sources[0].instances, 1);
    assert_int_equal(c->sources[0].decoders, 0);
    assert_int_equal(c->naggregations, 0);
    assert_int_equal(c->nalerts, 0);
    assert_int_equal(c->nsinks, 0);
    ed_config_destroy(&c);
}


static void test_interpolation(void **state) {
    (void)state;
    setenv("ED_TEST_BROKERS", "b1:9092,b2:9092", 1);
    setenv("ED_TEST_EMPTY", "", 1);
    unsetenv("ED_TEST_UNSET");
    setenv("ED_TEST_WORKERS", "6", 1);
    ed_config_t *c = s_ok("runtime: { workers: \"${ED_TEST_WORKERS}\" }\n"
                          "sources:\n"
                          "  k:\n"
                          "    kafka:\n"
                          "      brokers: ${ED_TEST_BROKERS}\n"
                          "      topic: t-${ED_TEST_UNSET:-dflt}-${ED_TEST_EMPTY:-e}\n"
                          "      group: \"g$$1 cost$5 ${ED_TEST_EMPTY}x$${NOT_A_VAR}\"\n"
                          "      properties: { client.id: \"${ED_TEST_UNSET:-}\" }\n");
    assert_int_equal(c->runtime.workers, 6);
    assert_string_equal(OPT(&c->sources[0], "brokers"), "b1:9092,b2:9092");
    assert_string_equal(OPT(&c->sources[0], "topics"), "t-dflt-e");
    assert_string_equal(OPT(&c->sources[0], "group"), "g$1 cost$5 x${NOT_A_VAR}");
    assert_string_equal(OPT(&c->sources[0], "properties"), "{client.id=}");
    ed_config_destroy(&c);

    /* Unset, no default: points at the ${ itself (line 3, column 24). */
    s_fails("sources:\n"
            "  k:\n"
            "    kafka: { brokers: \"x,${ED_TEST_UNSET}\", topic: t }\n",
            "t.yaml:3:26: ",
            "environment variable ED_TEST_UNSET is not set; set it or write "
            "${ED_TEST_UNSET:-default}");
    /* Second reference in a plain multi-word scalar. */
    s_fails("sources:\n  k:\n    kafka:\n"
            "      brokers: ${ED_TEST_BROKERS} ${ED_TEST_UNSET}\n      topic: t\n",
            "t.yaml:4:35: ", "ED_TEST_UNSET is not set");
    /* In a folded block scalar, on its second line. */
    s_fails("sources:\n  k:\n    kafka:\n      topic: t\n      brokers: >\n"
            "        a,\n        $$, ${ED_TEST_UNSET}\n",
            "t.yaml:7:13: ", "ED_TEST_UNSET is not set");
    /* Unterminated reference. */
    s_fails("sources:\n  k:\n    kafka: { brokers: \"${ED_TEST_BROKERS\", topic: t }\n",
            "t.yaml:3:24: ", "invalid variable reference '${ED_TEST_BROKERS'");
    unsetenv("ED_TEST_BROKERS");
    unsetenv("ED_TEST_EMPTY");
    unsetenv("ED_TEST_WORKERS");
}

static void test_parse_duration(void **state) {
    (void)state;
    int64_t ms = -1;
    assert_int_equal(ed_config_parse_duration("500ms", &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(ed_config_parse_duration("2s", &ms), 0);
    assert_int_equal(ms, 2000);
    assert_int_equal(ed_config_parse_duration("1m", &ms), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(ed_config_parse_duration("1h", &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(ed_config_parse_duration("250", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(ed_config_parse_duration("1.5s", &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(ed_config_parse_duration("0", &ms), 0);
    assert_int_equal(ms, 0);
    const char *bad[] = {"",
                         "ms",
                         "-1s",
                         "1.5ms",
                         "5x",
                         "1 s",
                         " 1s",
                         "1s ",
                         "1.s",
                         "1d",
                         "99999999999999999999",
                         "9999999999999999h",
                         NULL};
    for (int i = 0; bad[i]; i++)
        if (ed_config_parse_duration(bad[i], &ms) != ED_EINVAL)
            fail_msg("'%s' should be invalid", bad[i]);
    assert_int_equal(ed_config_parse_duration(NULL, &ms), ED_EINVAL);
}

/* A base that the error cases below modify: one source, one aggregation. */
#define S_SRC "sources:\n  docs: { kafka: { brokers: b, topic: t }, format: words }\n"

/* `where:` on aggregations and per-record alerts: compiled at load, errors
 * at the token's position (one column further inside a quoted scalar). */
static void test_where(void **state) {
    (void)state;
    const char *j = "sources:\n  o: { directory: { path: /tmp/x }, format: json }\n";
    char text[1024];
    snprintf(text, sizeof text,
             "%saggregations:\n  a: { from: o, where: 'status == \"failed\"', key: [k], to: [n] }\n"
             "alerts:\n  c: { on: o, where: amount > 10, to: [n] }\n"
             "sinks:\n  n: { null: {} }\n",
             j);
    ed_config_t *c = s_ok(text);
    assert_non_null(c->aggregations[0].where);
    assert_string_equal(ed_where_text(c->aggregations[0].where), "status == \"failed\"");
    assert_int_equal(c->alerts[0].source_idx, 0);
    assert_int_equal(c->alerts[0].on_idx, -1);
    assert_string_equal(ed_where_field(c->alerts[0].where, 0), "amount");
    ed_config_destroy(&c);
    /* quoted: the text starts at column 25, 'AND' at 25 + 19 */
    snprintf(text, sizeof text,
             "%saggregations:\n  a: { from: o, where: 'status == \"failed\" AND x', key: [k], "
             "to: [n] }\nsinks:\n  n: { null: {} }\n",
             j);
    s_fails(text, "t.yaml:4:44: ", "in 'where' of aggregation 'a': found 'AND'; expected 'and'");
    /* plain: the text starts at column 30 */
    snprintf(text, sizeof text,
             "%salerts:\n  c: { on: o, where: amount >, to: [n] }\nsinks:\n  n: { null: {} }\n", j);
    s_fails(text, "t.yaml:4:30: ", "in 'where' of alert 'c': found the end of the expression");
    snprintf(text, sizeof text,
             "sources:\n  w: { directory: { path: /tmp/x }, format: words }\n"
             "alerts:\n  c: { on: w, where: 'word == \"x\"', to: [n] }\nsinks:\n  n: { null: {} }\n");
    s_fails(text, "t.yaml:4:12: ", "per-record alerts on a words source are not implemented yet");
    snprintf(text, sizeof text,
             "%saggregations:\n  a: { from: o, key: [k], to: [n] }\n"
             "alerts:\n  c: { on: a, when: count > 1, where: 'x == 1', to: [n] }\n"
             "sinks:\n  n: { null: {} }\n",
             j);
    s_fails(text, "t.yaml:6:32: ",
            "'where' in alert 'c' is not implemented for alerts on an aggregation");
}

static void test_mariadb_and_misc(void **state) {
    (void)state;
    ed_config_t *c = s_ok(S_SRC "aggregations:\n  wc: { from: docs, key: word, to: m }\n"
                                "sinks:\n  m: { mariadb: { database: eddy, password: \"\" } }\n");
    assert_string_equal(OPT(&c->sinks[0], "host"), "127.0.0.1");
    assert_string_equal(OPT(&c->sinks[0], "port"), "3306");
    assert_string_equal(OPT(&c->sinks[0], "user"), "root");
    assert_string_equal(OPT(&c->sinks[0], "password"), "");
    assert_string_equal(OPT(&c->sinks[0], "table"), "wc");
    ed_config_destroy(&c);

    c = s_ok("sources:\n  d:\n    kafka: { brokers: b, topics: [x, y], group: g, start: latest }\n"
             "  files: { directory: { path: /data, pattern: \"*.log\", state_file: /s } }\n");
    assert_string_equal(OPT(&c->sources[0], "topics"), "x,y");
    assert_string_equal(OPT(&c->sources[0], "group"), "g");
    assert_string_equal(OPT(&c->sources[0], "start"), "latest");
    assert_string_equal(OPT(&c->sources[1], "pattern"), "*.log");
    assert_string_equal(OPT(&c->sources[1], "state_file"), "/s");
    ed_config_destroy(&c);

    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word, to: m }\n"
                  "sinks:\n  m: { mariadb: { url: \"mysql://u:p@h:99999/db\" } }\n",
            "t.yaml:6:24: ", "invalid 'url' in mariadb of sink 'm': the port is not a number");
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: word, to: m }\n"
                  "sinks:\n  m: { mariadb: { url: \"mysql://u@h\", host: x } }\n",
            "t.yaml:6:39: ", "'host' cannot be combined with 'url'");
    s_fails("sources:\n  d: { kafka: { brokers: b, topic: t, topics: [u] } }\n",
            "t.yaml:2:39: ", "has both 'topic' and 'topics'");
    s_fails("sources:\n  d: { kafka: { brokers: b, topic: t, start: first } }\n",
            "t.yaml:2:46: ", "expected one of: earliest, latest");
    s_fails("runtime: { metrics: { listen: localhost } }\n" S_SRC, "t.yaml:1:12: ",
            "'metrics' in runtime is not implemented yet (a Prometheus metrics endpoint); use "
            "`http: { listen: 127.0.0.1:9464 }`: its /metrics path serves them");
}

/* Anchors and aliases reuse a node; positions are the anchor's. */
static void test_aliases(void **state) {
    (void)state;
    ed_config_t *c = s_ok("sources:\n"
                          "  a: { kafka: &k { brokers: b, topic: t } }\n"
                          "  b: { kafka: *k, format: json }\n");
    assert_string_equal(OPT(&c->sources[1], "brokers"), "b");
    assert_string_equal(OPT(&c->sources[1], "group"), "eddy-b");
    ed_config_destroy(&c);
}

/* Merge keys: `<<: *x` adds the keys a mapping does not set itself; in a
 * list, earlier mappings win; a cycle and a non-mapping are errors. */
static void test_merge_keys(void **state) {
    (void)state;
    ed_config_t *c = s_ok("sources:\n"
                          "  a: { kafka: &k { brokers: b, topic: t, group: g1 }, format: json }\n"
                          "  b:\n"
                          "    kafka: { <<: *k, topic: u }\n"
                          "  c:\n"
                          "    kafka: { <<: [{ topic: v, start: latest }, *k] }\n");
    assert_string_equal(OPT(&c->sources[1], "brokers"), "b");
    assert_string_equal(OPT(&c->sources[1], "topics"), "u");
    assert_string_equal(OPT(&c->sources[1], "group"), "g1");
    assert_string_equal(OPT(&c->sources[2], "topics"), "v");
    assert_string_equal(OPT(&c->sources[2], "start"), "latest");
    assert_string_equal(OPT(&c->sources[2], "group"), "g1");
    ed_config_destroy(&c);
    s_fails("sources:\n  a: { kafka: { <<: 5, topic: t } }\n", "t.yaml:2:21: ",
            "the merge key '<<' takes a single value here; expected a mapping");
    s_fails("sources:\n  a: { kafka: &s { <<: *s, topic: t } }\n", "t.yaml:2:15: ",
            "this mapping merges itself");
}

/* Independent errors are all reported, in file order, each with its
 * position; follow-on errors of a bad entry are not. */
static void test_errors_in_file_order(void **state) {
    (void)state;
    ed_config_t *c = NULL;
    char err[8192] = "";
    const char *text = "sinks:\n"                                         /* 1 */
                       "  pg: { postgres: {}, tabel: t }\n"               /* 2 */
                       "runtime: { workers: lots }\n"                     /* 3 */
                       "sources:\n"                                       /* 4 */
                       "  docs: { kafka: { brokers: b, topc: t } }\n"     /* 5 */
                       "aggregations:\n"                                  /* 6 */
                       "  wc: { from: docs, key: [word], to: [pg] }\n"    /* 7 */
                       "  ghost: { from: nowhere, key: [x], to: [pg] }\n" /* 8 */
                       "alerts:\n"                                        /* 9 */
                       "  hot: { on: wc, when: \"cnt > 1\", to: pg }\n";  /* 10 */
    assert_int_equal(ed_config_load_string(text, "t.yaml", ed_registry(), &c, err, sizeof err),
                     ED_EINVAL);
    const char *want[] = {
        "t.yaml:2:19: missing required key 'dsn' in postgres of sink 'pg'",
        "t.yaml:2:23: unknown key 'tabel' in sink 'pg'",
        "t.yaml:3:21: invalid value 'lots' for 'workers' in runtime",
        "t.yaml:5:18: missing required key 'topic' in kafka of source 'docs'",
        "t.yaml:5:32: unknown key 'topc' in kafka of source 'docs'",
        "t.yaml:8:18: unknown source 'nowhere' in 'from' of aggregation 'ghost'",
        "t.yaml:10:24: 'cnt' in 'when' of alert 'hot' is not computed by aggregation 'wc'",
        NULL};
    const char *p = err;
    int n = 0;
    for (; want[n]; n++) {
        if (strncmp(p, want[n], strlen(want[n])))
            fail_msg("error %d: expected '%s…'; got all of:\n%s", n + 1, want[n], err);
        p = strchr(p, '\n');
        if (!p && want[n + 1])
            fail_msg("only %d errors:\n%s", n + 1, err);
        p = p ? p + 1 : "";
    }
    if (*p)
        fail_msg("more errors than expected (after %d):\n%s", n, err);

    /* Past the limit, one line counts the rest. */
    ed_buf_t b = ED_BUF_INIT;
    ed_buf_puts(&b, "sources:\n  g: { generator: {}, to: n }\nsinks:\n  n: { null: {} }\nruntime:\n");
    for (int i = 0; i < ED_CONFIG_MAX_ERRORS + 5; i++)
        ed_buf_printf(&b, "  bogus%d: 1\n", i);
    assert_int_equal(ed_config_load_string(b.data, "t.yaml", ed_registry(), &c, err, sizeof err),
                     ED_EINVAL);
    int lines = 1;
    for (const char *q = err; *q; q++)
        lines += *q == '\n';
    assert_int_equal(lines, ED_CONFIG_MAX_ERRORS + 1);
    assert_non_null(strstr(err, "\nt.yaml: 5 more errors not shown; fix these first"));
    ed_buf_free(&b);
}

/* Each source type gives its own meta fields; any other is refused with a
 * hint, at load time. */
static void test_meta_fields(void **state) {
    (void)state;
    s_fails(S_SRC "aggregations:\n  wc: { from: docs, key: [{doc: \"@kee\"}, word], to: n }\n"
                  "sinks:\n  n: { null: {} }\n",
            "t.yaml:4:33: ",
            "meta field '@kee' in key column 'doc' of aggregation 'wc' is not given by source "
            "'docs' (kafka); expected one of: @key, @topic, @partition, @offset, @timestamp; did "
            "you mean '@key'?");
    s_fails("sources:\n  d: { directory: { path: /tmp/x } }\n"
            "aggregations:\n  a: { from: d, key: [{p: \"@partition\"}], to: n }\n"
            "sinks:\n  n: { null: {} }\n",
            "t.yaml:4:27: ",
            "meta field '@partition' in key column 'p' of aggregation 'a' is not given by source "
            "'d' (directory); expected one of: @key, @file, @offset, @timestamp");
    s_fails("sources:\n  g: { generator: {} }\n"
            "aggregations:\n  a: { from: g, key: [{k: \"@key\"}], compute: { t: sum(amount) }, "
            "to: n }\nsinks:\n  n: { null: {} }\n",
            "t.yaml:4:51: ",
            "field 'amount' in compute 't' of aggregation 'a' is not produced by source 'g': a "
            "generator source has only the meta fields @key, @value, @offset, @timestamp");
    s_fails("sources:\n  d: { kafka: { brokers: b, topic: t }, time: { field: \"@time\" } }\n",
            "t.yaml:2:56: ", "meta field '@time' in 'time' of source 'd'");
    ed_config_t *c = s_ok("sources:\n  g: { generator: {} }\n"
                          "aggregations:\n  a: { from: g, key: [{k: \"@key\"}], "
                          "compute: { v: sum(@value), o: max(@offset) }, to: n }\n"
                          "sinks:\n  n: { null: {} }\n");
    ed_config_destroy(&c);
}

/* approx_distinct loads (it was planned) and takes one field, as sum does. */
static void test_approx_distinct(void **state) {
    (void)state;
    ed_config_t *c = s_ok(S_SRC "aggregations:\n  a: { from: docs, key: word, compute: { d: "
                                "\"approx_distinct( word )\" }, to: n }\n"
                                "sinks:\n  n: { null: {} }\n");
    assert_string_equal(c->aggregations[0].compute[0].fn->name, "approx_distinct");
    assert_string_equal(c->aggregations[0].compute[0].field, "word");
    ed_config_destroy(&c);
    s_fails(S_SRC "aggregations:\n  a: { from: docs, key: word, compute: { d: approx_distinct }, "
                  "to: n }\nsinks:\n  n: { null: {} }\n",
            "t.yaml:4:45: ",
            "invalid aggregate 'approx_distinct' for 'd' in compute of aggregation 'a'; expected "
            "count, sum(FIELD), min(FIELD), max(FIELD), avg(FIELD), first(FIELD), last(FIELD) "
            "or approx_distinct(FIELD)");
}

/* Keys, types and values planned by later work are refused by name, never
 * as unknown. */
static void test_not_implemented(void **state) {
    (void)state;
    static const struct {
        const char *text, *prefix, *phrase;
    } cases[] = {
        /* format: avro is built: its errors are in test_config_avro.c */
        {S_SRC "aggregations:\n  a: { from: docs, key: word, window: { session: 5m }, to: n }\n"
               "sinks:\n  n: { null: {} }\n",
         "t.yaml:4:31: ", "session windows support 'emit: on_close' only"},
        {S_SRC "aggregations:\n  a: { from: docs, key: word, window: { session: 5m, emit: "
               "on_update }, to: n }\nsinks:\n  n: { null: {} }\n",
         "t.yaml:4:60: ", "session windows support 'emit: on_close' only"},
        {S_SRC "aggregations:\n  a: { from: docs, key: word, window: { session: 5m, slide: 1m, "
               "emit: on_close }, to: n }\nsinks:\n  n: { null: {} }\n",
         "t.yaml:4:54: ", "'slide' in window of aggregation 'a' applies to hopping windows only"},
        {S_SRC "aggregations:\n  a: { from: docs, key: word, window: { session: 5m, tumbling: "
               "1m }, to: n }\nsinks:\n  n: { null: {} }\n",
         "t.yaml:4:41: ", "has both 'tumbling' and 'session'"},
        {S_SRC "aggregations:\n  a: { from: docs, key: word, window: { session: 0s, emit: "
               "on_close }, to: n }\nsinks:\n  n: { null: {} }\n",
         "t.yaml:4:", "session"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_fails(cases[i].text, cases[i].prefix, cases[i].phrase);
}

/* The example pipeline shares its connection settings with anchors and a
 * merge key; what it gives is what four copies would. */
static void test_merge_in_sinks(void **state) {
    (void)state;
    ed_config_t *c = s_ok(S_SRC "aggregations:\n"
                                "  a: { from: docs, key: [{doc: \"@key\"}, word], to: [r1, r2] }\n"
                                "sinks:\n"
                                "  r1: &r { redis: { url: \"redis://h:1/2\" }, zset: top, "
                                "keep_top: 5 }\n"
                                "  r2: { <<: *r, zset: \"top:{doc}\" }\n");
    assert_string_equal(OPT(&c->sinks[1], "url"), "redis://h:1/2");
    assert_string_equal(OPT(&c->sinks[1], "keep_top"), "5");
    assert_string_equal(OPT(&c->sinks[1], "zset"), "top:{doc}");
    assert_string_equal(OPT(&c->sinks[1], "member"), "{word}");
    assert_string_equal(OPT(&c->sinks[0], "member"), "{doc}:{word}");
    ed_config_destroy(&c);
}

/* What `eddy check` shows of each source and sink never holds a secret:
 * not a DSN's or URL's password, not a credential property. */
static void test_describe_hides_secrets(void **state) {
    (void)state;
    ed_config_t *c = s_ok(
        "sources:\n  k: { kafka: { brokers: b, topic: t, properties: { sasl.password: S3CRET, "
        "fetch.min.bytes: 1 } }, format: words }\n"
        "aggregations:\n  a: { from: k, key: word, to: [p, m, r] }\n"
        "sinks:\n  p: { postgres: { dsn: \"host=h dbname=d user=u password=S3CRET\" } }\n"
        "  m: { mariadb: { url: \"mysql://u:S3CRET@h:3307/db\" } }\n"
        "  r: { redis: { url: \"redis://:S3CRET@h:1/2\" }, zset: z }\n");
    const char *want[] = {"host=h dbname=d user=u table=a",
                          "host=h port=3307 user=u database=db table=a",
                          "url=redis://h:1/2 zset=z member={word} score=count score_mode=increment "
                          "keep_top=0 ttl=0ms"};
    for (int i = 0; i < 4; i++) {
        ed_buf_t b = ED_BUF_INIT;
        const ed_conf_plugin_t *t = i < 3 ? c->sinks[i].type : c->sources[0].type;
        ed_conf_plugin_describe(t, i < 3 ? c->sinks[i].opts : c->sources[0].opts, &b);
        if (strstr(b.data, "S3CRET"))
            fail_msg("a secret in: %s", b.data);
        if (i < 3)
            assert_string_equal(b.data, want[i]);
        else
            assert_non_null(strstr(b.data, "properties={sasl.password=***,fetch.min.bytes=1}"));
        ed_buf_free(&b);
    }
    ed_config_destroy(&c);
}

static void test_load_file(void **state) {
    (void)state;
    char path[] = "/tmp/ed_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "sources:\n  g: { generator: { events: 10 } }\n"
                       "sinks:\n  n: { null: {} }\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ed_config_t *c = NULL;
    char err[512] = "";
    /* An unused sink, reported against the real file name. */
    assert_int_equal(ed_config_load(path, ed_registry(), &c, err, sizeof err), ED_EINVAL);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s:4:3: sink 'n' is not used", path);
    if (strncmp(err, prefix, strlen(prefix)))
        fail_msg("got '%s', expected prefix '%s'", err, prefix);

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("sources:\n  g: { generator: { events: 10 }, to: n }\nsinks:\n  n: { null: {} }\n", f);
    fclose(f);
    assert_int_equal(ed_config_load(path, ed_registry(), &c, err, sizeof err), 0);
    assert_string_equal(c->path, path);
    assert_string_equal(c->sinks[0].pos.file, path);
    assert_int_equal(c->sinks[0].nfeeds, 1);
    assert_int_equal(c->sinks[0].from_agg, -1);
    ed_config_destroy(&c);
    unlink(path);

    assert_int_equal(ed_config_load("/nonexistent/pipeline.yaml", ed_registry(), &c, err, sizeof err), ED_EIO);
    assert_null(c);
    assert_string_equal(err, "cannot read /nonexistent/pipeline.yaml: No such file or directory");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_where),
        cmocka_unit_test(test_mariadb_and_misc),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_merge_keys),
        cmocka_unit_test(test_errors_in_file_order),
        cmocka_unit_test(test_meta_fields),
        cmocka_unit_test(test_approx_distinct),
        cmocka_unit_test(test_not_implemented),
        cmocka_unit_test(test_merge_in_sinks),
        cmocka_unit_test(test_describe_hides_secrets),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
