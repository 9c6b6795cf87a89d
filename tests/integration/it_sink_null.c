/*
 * it_sink_null.c — the null sink plugin: the part of the sink contract
 * (sink_contract.h) that applies to a sink without a server: every flush is
 * OK at once and its rows are counted as written, none as rejected.
 */
#include <stdio.h>

#include "tests/integration/sink_contract.h"

static void s_body(char *out, size_t size, const char *target, const char *host, int port) {
    (void)target;
    (void)host;
    (void)port;
    snprintf(out, size, "null: {}");
}

static const sc_plugin_t s_plugin = {.type = "null", .body = s_body};

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(sc_test_durable, (void *)&s_plugin),
    };
    return cmocka_run_group_tests_name("it_sink_null", tests, NULL, NULL);
}
