/*
 * test_config_cassandra.c — the cassandra sink's options: a valid block
 * loads with its defaults; each misfit is refused naming file:line:col, the
 * sink and what to write instead (sinks/ed_sink_cassandra.c, docs/sinks.md).
 * No server: the sink connects only when it writes.
 */
#include "tests/unit/conf_fails.h"

#define S_REC "sources:\n  u: { directory: { path: /tmp/x }, format: json, to: c }\nsinks:\n"
#define S_COLS "primary_key: id, columns: { id: id bigint } }\n"

static void test_cassandra_ok(void **state) {
    ed_config_t *c = s_ok(S_REC "  c: { cassandra: { keyspace: eddy }, table: users, " S_COLS);
    assert_int_equal(c->nsinks, 1);
    assert_string_equal(c->sinks[0].type->name, "cassandra");
    ed_config_destroy(&c);
    c = s_ok(S_REC "  c: { cassandra: { keyspace: eddy, contact_points: [\"[::1]:9042\", "
                   "\"10.0.0.1:9042\"], consistency: one }, table: t, primary_key: [a, b, c], "
                   "partition_key: [a, b], columns: { a: a, b: \"b bigint\", c: c } }\n");
    ed_config_destroy(&c);
}

static void test_cassandra_errors(void **state) {
    s_fails(S_REC "  c: { cassandra: {}, table: t, " S_COLS, "t.yaml:4:19: ",
            "missing required key 'keyspace' in cassandra of sink 'c'");
    s_fails(S_REC "  c: { cassandra: { keyspace: \"my-ks\" }, table: t, " S_COLS, "t.yaml:4:31: ",
            "invalid keyspace name 'my-ks' in cassandra of sink 'c'");
    s_fails(S_REC "  c: { cassandra: { keyspace: k }, table: a.b, " S_COLS, "t.yaml:4:43: ",
            "invalid table name 'a.b' in sink 'c'");
    s_fails(S_REC "  c: { cassandra: { keyspace: k, contact_points: [localhost] }, table: t, " S_COLS,
            "t.yaml:4:50: ", "invalid contact point 'localhost' in cassandra of sink 'c'; "
                             "expected host:port");
    s_fails(S_REC "  c: { cassandra: { keyspace: k, consistency: strong }, table: t, " S_COLS,
            "t.yaml:4:47: ", "invalid value 'strong' for 'consistency' in cassandra of sink 'c'");
    s_fails(S_REC "  c: { cassandra: { keyspace: k }, table: t, mode: insert, " S_COLS,
            "t.yaml:4:52: ", "every Cassandra INSERT replaces the row of its primary key");
    s_fails(S_REC "  c: { cassandra: { keyspace: k }, table: t, columns: { id: id bigint } }\n",
            "t.yaml:4:46: ", "sink 'c' writes records to Cassandra and has no `primary_key`");
    s_fails(S_REC "  c: { cassandra: { keyspace: k }, table: t, primary_key: [a, b], "
                  "partition_key: b, columns: { a: a, b: b } }\n",
            "t.yaml:4:82: ", "'b' is not primary_key column 1");
    s_fails(S_REC "  c: { cassandra: { keyspace: k }, " S_COLS, "t.yaml:4:53: ",
            "sink 'c' writes records (`columns:`) and has no `table`");
    s_fails(S_REC "  c: { cassandra: { keyspace: k }, table: t }\n", "t.yaml:4:3: ",
            "writes them as rows only with `columns:`");
    s_fails("sources:\n  u: { directory: { path: /tmp/x }, format: json }\n"
            "aggregations:\n  a: { from: u, key: x, to: c }\n"
            "sinks:\n  c: { cassandra: { keyspace: k }, table: t, " S_COLS,
            "t.yaml:6:3: ", "cassandra sink 'c' takes records only, but aggregation 'a' sends "
                            "its changelog to it");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cassandra_ok),
        cmocka_unit_test(test_cassandra_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
