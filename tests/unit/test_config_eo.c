/*
 * test_config_eo.c — runtime.delivery (config/ed_conf_graph.c and the
 * redis sink's score_mode check): what exactly_once takes, and every
 * refusal by name with its FILE:LINE:COL. (Apart from test_config.c, which
 * is near the size a file should have.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/ed_config.h"
#include "tests/unit/conf_fails.h"

#define S_SRC "sources:\n  docs: { kafka: { brokers: b, topic: t }, format: words }\n"

/* runtime.delivery: exactly_once loads with SQL and redis sinks and a Kafka source;
 * what it does not cover yet is refused by name, each at its place. */
static void test_delivery(void **state) {
    (void)state;
#define S_EO_AGG "aggregations:\n  a: { from: docs, key: word, to: q }\n"
#define S_EO_SQ "  q: { sqlite: { path: x.db } }\n"
#define S_EO_RD "  q: { redis: { url: \"redis://h:1\" }, zset: z"
    ed_config_t *c = s_ok("runtime: { delivery: exactly_once }\n" S_SRC S_EO_AGG "sinks:\n" S_EO_SQ);
    assert_int_equal(c->runtime.delivery, ED_DELIVERY_EXACTLY_ONCE);
    ed_config_destroy(&c);
    c = s_ok(S_SRC S_EO_AGG "sinks:\n" S_EO_SQ);
    assert_int_equal(c->runtime.delivery, ED_DELIVERY_AT_LEAST_ONCE);
    ed_config_destroy(&c);
    c = s_ok("runtime: { delivery: exactly_once }\n" S_SRC S_EO_AGG "sinks:\n" S_EO_RD " }\n");
    ed_config_destroy(&c); /* redis: count with increment (auto), and max with set */
    c = s_ok("runtime: { delivery: exactly_once }\n" S_SRC "aggregations:\n  a: { from: docs, "
             "key: word, compute: { m: \"max(@offset)\" }, to: q }\nsinks:\n" S_EO_RD " }\n");
    ed_config_destroy(&c);
    static const struct {
        const char *text, *prefix, *phrase;
    } cases[] = {
        {"runtime: { delivery: exactly_once }\n" S_SRC
         "aggregations:\n  a: { from: docs, key: word, to: [q, n] }\nsinks:\n" S_EO_SQ
         "  n: { null: {} }\n",
         "t.yaml:8:3: ", "sink 'n': a null sink cannot do runtime.delivery: exactly_once yet"},
        {"runtime: { delivery: exactly_once, state_dir: /tmp/x }\n" S_SRC S_EO_AGG
         "sinks:\n" S_EO_SQ,
         "t.yaml:1:1: ", "exactly_once with runtime.state_dir is not built yet"},
        {"runtime: { delivery: exactly_once }\n"
         "sources:\n  docs: { kafka: { brokers: b, topic: t }, format: words, instances: 2 }\n"
         S_EO_AGG "sinks:\n" S_EO_SQ,
         "t.yaml:3:3: ", "instances: 2 with runtime.delivery: exactly_once is not built yet"},
        {"runtime: { delivery: exactly_once }\n"
         "sources:\n  docs: { directory: { path: /tmp }, format: words }\n" S_EO_AGG
         "sinks:\n" S_EO_SQ,
         "t.yaml:3:3: ", "a directory source cannot do runtime.delivery: exactly_once yet"},
        {"runtime: { delivery: exactly_once }\n" S_SRC
         "aggregations:\n  a: { from: docs, key: word, window: { tumbling: 1m }, to: q }\n"
         "sinks:\n" S_EO_SQ,
         "t.yaml:5:3: ", "aggregation 'a': windows with runtime.delivery: exactly_once"},
        {"runtime: { delivery: exactly_once }\n" S_SRC S_EO_AGG "sinks:\n" S_EO_RD
         ", score_mode: set }\n",
         "t.yaml:7:60: ", "score_mode 'set' of sink 'q' with runtime.delivery: exactly_once is built "
                      "for max and min scores only, not count"},
        {"runtime: { delivery: at_most_once }\n" S_SRC S_EO_AGG "sinks:\n" S_EO_SQ,
         "t.yaml:1:22: ", "expected one of: at_least_once, exactly_once"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_fails(cases[i].text, cases[i].prefix, cases[i].phrase);
#undef S_EO_AGG
#undef S_EO_SQ
#undef S_EO_RD
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivery),
    };
    return cmocka_run_group_tests_name("config_eo", tests, NULL, NULL);
}
