/* test_config_avro.c — `format: avro` in the config: the schema file read
 * relative to the config, compiled at load, fields checked against it,
 * framing and schema_id, and what an Avro source refuses, each at
 * file:line:col. */
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
#include "config/ed_config.h"
#include "runtime/ed_common.h"
#include "tests/unit/conf_fails.h"

static char s_dir[64];
static char s_conf[128]; /* a config "file" name in s_dir: schema paths resolve beside it */

static const char *s_avsc =
    "{\"type\":\"record\",\"name\":\"Order\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"ts\",\"type\":\"long\"},"
    "{\"name\":\"amount\",\"type\":\"double\"},"
    "{\"name\":\"customer\",\"type\":{\"type\":\"record\",\"name\":\"C\",\"fields\":["
    "{\"name\":\"country\",\"type\":[\"null\",\"string\"]}]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}]}";

static int setup(void **state) {
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/eddy-avro-conf-XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_conf, sizeof s_conf, "%s/p.yaml", s_dir);
    char path[128];
    snprintf(path, sizeof path, "%s/orders.avsc", s_dir);
    FILE *f = fopen(path, "w");
    fputs(s_avsc, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/broken.avsc", s_dir);
    f = fopen(path, "w");
    fputs("{\"type\":\"record\",\"name\":\"X\",\"fields\":[{\"name\":\"a\",\"type\":\"lng\"}]}", f);
    fclose(f);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

#define SRC(extra)                                                                            \
    "sources:\n  o: { kafka: { brokers: b, topic: t }, format: avro, schema: orders.avsc" extra \
    " }\n"
#define AGG(key)                                                                              \
    "aggregations:\n  a: { from: o, key: [" key "], compute: { n: count, s: sum(amount) }, "  \
    "to: [k] }\nsinks:\n  k: { null: {} }\n"

/* An error at LINE:COL of the config "file" s_conf. */
static void fails(const char *text, const char *where, const char *phrase) {
    char prefix[192];
    snprintf(prefix, sizeof prefix, "%s:%s: ", s_conf, where);
    s_fails_as(text, s_conf, prefix, phrase);
}

static void test_loads(void **state) {
    (void)state;
    ed_config_t *c = NULL;
    char err[4096];
    const char *text = SRC(", framing: confluent, schema_id: 17, time: { field: ts }")
        AGG("customer.country");
    int rc = ed_config_load_string(text, s_conf, ed_registry(), &c, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    const ed_conf_source_t *s = &c->sources[0];
    assert_int_equal(s->format, ED_FMT_AVRO);
    assert_non_null(s->avro);
    assert_string_equal(s->schema_file, "orders.avsc");
    char want[160];
    snprintf(want, sizeof want, "%s/orders.avsc", s_dir);
    assert_string_equal(s->schema_path, want);
    assert_int_equal(s->framing, 1);
    assert_int_equal(s->schema_id, 17);
    ed_config_destroy(&c);

    assert_int_equal(ed_config_load_string(SRC("") AGG("id"), s_conf, ed_registry(), &c, err,
                                           sizeof err),
                     0);
    assert_int_equal(c->sources[0].framing, 0);
    assert_int_equal(c->sources[0].schema_id, -1);
    ed_config_destroy(&c);
}

static void test_errors(void **state) {
    (void)state;
    fails(SRC("") AGG("customer.cuntry"), "4:23",
          "field 'customer.cuntry' in key column 'customer_cuntry' of aggregation 'a' is not in the Avro schema "
          "orders.avsc of source 'o': record C has no field 'cuntry'; its fields are: country");
    fails(SRC(", time: { field: tss }") AGG("id"), "2:91", "record Order has no field 'tss'");
    fails(SRC("") AGG("tags.x"), "4:23", "elements of arrays cannot be addressed");
    fails("sources:\n  o: { kafka: { brokers: b, topic: t }, format: avro }\n" AGG("id"), "2:49",
          "needs 'schema'");
    fails("sources:\n  o: { kafka: { brokers: b, topic: t }, format: avro, schema: nope.avsc }\n"
          AGG("id"),
          "2:63", "cannot read");
    fails("sources:\n  o: { kafka: { brokers: b, topic: t }, format: avro, schema: broken.avsc }\n"
          AGG("id"),
          "2:63", "is not a valid Avro schema");
    fails(SRC(", framing: confluent") AGG("id"), "2:85", "needs 'schema_id'");
    fails(SRC(", schema_id: 3") AGG("id"), "2:87", "checked only with 'framing: confluent'");
    fails(SRC(", framing: magic") AGG("id"), "2:85", "expected one of: none, confluent");
    fails("sources:\n  o: { kafka: { brokers: b, topic: t }, format: json, schema: orders.avsc }\n"
          AGG("id"),
          "2:63", "is for `format: avro`");
    fails("sources:\n  o: { directory: { path: /tmp }, format: avro, schema: orders.avsc }\n"
          AGG("id"),
          "2:43", "a directory source splits files into lines");
    fails(SRC(", to: k") "sinks:\n  k: { null: {} }\n", "2:76",
          "pass-through 'to' of source 'o' is not implemented for format: avro");
    fails(SRC(", transforms: [ { where: 'id > 1' } ]") AGG("id"), "2:76",
          "need 'format: json'");
    fails(SRC("") "alerts:\n  big: { on: o, where: 'amount > 5', to: k }\nsinks:\n  k: { null: {} }\n",
          "4:14", "per-record alerts on a format: avro source are not implemented yet");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
